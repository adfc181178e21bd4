// Directories and paths: mkdir/rmdir errors, readdir with cookies over many entries,
// rename's POSIX cases, symlinks and readlink, and copy-on-write of the image.
#include "check.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int count_entries(const char *path) {
  DIR *d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n++;
  closedir(d);
  return n;
}

int main(void) {
  CHECK("mkdir", mkdir("/tmp/d", 0755) == 0);
  CHECK_ERR("mkdir-exists", mkdir("/tmp/d", 0755), EEXIST);
  CHECK_ERR("mkdir-missing-parent", mkdir("/tmp/x/y", 0755), ENOENT);
  CHECK_ERR("mkdir-under-file", mkdir("/etc/fixed/y", 0755), ENOTDIR);
  char name[64];
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "/tmp/d/file-with-a-longish-name-%03d", i);
    int fd = open(name, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) { printf("FAIL create %s\n", name); failures++; break; }
    close(fd);
  }
  CHECK("readdir-many-cookies", count_entries("/tmp/d") == 302);
  struct stat st;
  CHECK("dir-nlink", stat("/tmp", &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink >= 3);
  CHECK_ERR("rmdir-not-empty", rmdir("/tmp/d"), ENOTEMPTY);
  CHECK_ERR("rmdir-file", rmdir("/etc/fixed"), ENOTDIR);
  CHECK_ERR("rmdir-missing", rmdir("/tmp/none"), ENOENT);
  CHECK("mkdir-empty", mkdir("/tmp/e", 0755) == 0);
  CHECK("rmdir", rmdir("/tmp/e") == 0 && stat("/tmp/e", &st) == -1 && errno == ENOENT);

  // rename
  int fd = open("/tmp/r1", O_CREAT | O_WRONLY, 0644);
  write(fd, "one", 3);
  close(fd);
  fd = open("/tmp/r2", O_CREAT | O_WRONLY, 0644);
  write(fd, "twotwo", 6);
  close(fd);
  CHECK("rename-replaces-file", rename("/tmp/r1", "/tmp/r2") == 0 && stat("/tmp/r2", &st) == 0 && st.st_size == 3);
  CHECK("rename-source-gone", stat("/tmp/r1", &st) == -1 && errno == ENOENT);
  CHECK_ERR("rename-missing", rename("/tmp/r1", "/tmp/r3"), ENOENT);
  CHECK("rename-across-dirs", rename("/tmp/r2", "/tmp/d/moved") == 0 && stat("/tmp/d/moved", &st) == 0);
  mkdir("/tmp/m1", 0755);
  mkdir("/tmp/m2", 0755);
  CHECK("rename-dir-over-empty-dir", rename("/tmp/m1", "/tmp/m2") == 0);
  CHECK_ERR("rename-dir-over-nonempty", rename("/tmp/m2", "/tmp/d"), ENOTEMPTY);
  CHECK_ERR("rename-dir-into-itself", rename("/tmp/m2", "/tmp/m2/sub"), EINVAL);
  CHECK_ERR("rename-file-over-dir", rename("/tmp/d/moved", "/tmp/m2"), EISDIR);
  CHECK_ERR("rename-dir-over-file", rename("/tmp/m2", "/tmp/d/moved"), ENOTDIR);
  CHECK("rename-image-file", rename("/etc/fixed", "/etc/renamed") == 0 && stat("/etc/renamed", &st) == 0);

  // symlinks
  CHECK("symlink", symlink("/etc/renamed", "/tmp/ln") == 0);
  char target[64] = {0};
  CHECK("readlink", readlink("/tmp/ln", target, sizeof target) == 12 && memcmp(target, "/etc/renamed", 12) == 0);
  char small[4] = {0};
  CHECK("readlink-truncates", readlink("/tmp/ln", small, sizeof small) == 4 && memcmp(small, "/etc", 4) == 0);
  CHECK_ERR("readlink-not-link", readlink("/etc/renamed", target, sizeof target), EINVAL);
  CHECK("stat-follows", stat("/tmp/ln", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 6);
  CHECK("lstat-not-follow", lstat("/tmp/ln", &st) == 0 && S_ISLNK(st.st_mode));
  fd = open("/tmp/ln", O_RDONLY);
  char buf[16] = {0};
  CHECK("open-through-symlink", fd >= 0 && read(fd, buf, 16) == 6 && memcmp(buf, "fixed\n", 6) == 0);
  close(fd);
  CHECK("relative-symlink", symlink("d/moved", "/tmp/rel") == 0 && stat("/tmp/rel", &st) == 0 && st.st_size == 3);
  CHECK("image-symlink-dir", stat("/lib/hard1", &st) == 0 && st.st_size == 5);
  CHECK_ERR("symlink-exists", symlink("x", "/tmp/ln"), EEXIST);
  symlink("/tmp/loop2", "/tmp/loop1");
  symlink("/tmp/loop1", "/tmp/loop2");
  CHECK_ERR("symlink-loop", open("/tmp/loop1", O_RDONLY), ELOOP);
  symlink("/nowhere", "/tmp/dangle");
  CHECK_ERR("dangling-symlink", stat("/tmp/dangle", &st), ENOENT);
  CHECK("lstat-dangling", lstat("/tmp/dangle", &st) == 0 && S_ISLNK(st.st_mode));
  CHECK("unlink-symlink-keeps-target", unlink("/tmp/ln") == 0 && stat("/etc/renamed", &st) == 0);
  CHECK("dotdot-stays-in-root", stat("/../../etc/renamed", &st) == 0);
  CHECK("getcwd-root", getcwd(buf, sizeof buf) != NULL && strcmp(buf, "/") == 0);
  return DONE();
}
