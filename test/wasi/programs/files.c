// Files: open/create/read/write, seek/tell, pread/pwrite, append, truncate, fstat sizes,
// timestamps, link counts, O_EXCL, and the POSIX errors of open.
#include "check.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

int main(void) {
  int fd = open("/tmp/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK("open-create", fd >= 0);
  CHECK("write", write(fd, "hello world", 11) == 11);
  CHECK("tell-after-write", lseek(fd, 0, SEEK_CUR) == 11);
  CHECK("seek-set", lseek(fd, 6, SEEK_SET) == 6);
  char buf[64] = {0};
  CHECK("read-after-seek", read(fd, buf, sizeof buf) == 5 && memcmp(buf, "world", 5) == 0);
  CHECK("read-at-eof", read(fd, buf, sizeof buf) == 0);
  CHECK("seek-end", lseek(fd, -5, SEEK_END) == 6);
  CHECK_ERR("seek-negative", lseek(fd, -100, SEEK_SET), EINVAL);
  memset(buf, 0, sizeof buf);
  CHECK("pread", pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0);
  CHECK("pread-keeps-offset", lseek(fd, 0, SEEK_CUR) == 6);
  CHECK("pwrite", pwrite(fd, "HELLO", 5, 0) == 5);
  CHECK("pwrite-keeps-offset", lseek(fd, 0, SEEK_CUR) == 6);
  CHECK("pwrite-past-end", pwrite(fd, "!", 1, 20) == 1);
  struct stat st;
  CHECK("fstat-size", fstat(fd, &st) == 0 && st.st_size == 21 && S_ISREG(st.st_mode));
  memset(buf, 1, sizeof buf);
  CHECK("hole-reads-zeros", pread(fd, buf, 21, 0) == 21 && memcmp(buf, "HELLO world", 11) == 0 && buf[11] == 0 && buf[19] == 0 && buf[20] == '!');
  CHECK("ftruncate-shrink", ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5);
  CHECK("ftruncate-grow", ftruncate(fd, 8) == 0 && fstat(fd, &st) == 0 && st.st_size == 8);
  CHECK("close", close(fd) == 0);
  CHECK_ERR("close-twice", close(fd), EBADF);

  int ap = open("/tmp/a.txt", O_WRONLY | O_APPEND);
  CHECK("open-append", ap >= 0);
  CHECK("append-write", write(ap, "XY", 2) == 2);
  CHECK("append-lands-at-end", stat("/tmp/a.txt", &st) == 0 && st.st_size == 10);
  CHECK("fcntl-getfl-append", (fcntl(ap, F_GETFL) & O_APPEND) != 0);
  CHECK_ERR("read-on-write-only", read(ap, buf, 1), EBADF);
  close(ap);
  int ro = open("/tmp/a.txt", O_RDONLY);
  CHECK_ERR("write-on-read-only", write(ro, "x", 1), EBADF);
  close(ro);

  CHECK_ERR("excl-existing", open("/tmp/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  CHECK_ERR("open-missing", open("/tmp/nope.txt", O_RDONLY), ENOENT);
  CHECK_ERR("open-through-file", open("/tmp/a.txt/x", O_RDONLY), ENOTDIR);
  CHECK_ERR("open-dir-for-write", open("/tmp", O_WRONLY), EISDIR);
  CHECK_ERR("open-file-as-dir", open("/tmp/a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
  CHECK_ERR("create-in-missing-dir", open("/nodir/x", O_CREAT | O_WRONLY, 0644), ENOENT);
  int tr = open("/tmp/a.txt", O_WRONLY | O_TRUNC);
  CHECK("o-trunc", tr >= 0 && fstat(tr, &st) == 0 && st.st_size == 0);
  close(tr);

  // timestamps: set, then read back exactly; writes move mtime to now
  struct timespec times[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
  CHECK("utimensat", utimensat(AT_FDCWD, "/tmp/a.txt", times, 0) == 0);
  CHECK("stat-atime", stat("/tmp/a.txt", &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789);
  CHECK("stat-mtime", st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 987654321);
  int w = open("/tmp/a.txt", O_WRONLY);
  write(w, "z", 1);
  close(w);
  time_t now = time(NULL);
  CHECK("write-updates-mtime", stat("/tmp/a.txt", &st) == 0 && st.st_mtim.tv_sec >= now - 5 && st.st_mtim.tv_sec <= now + 5);
  CHECK("stat-image-file-mtime", stat("/etc/fixed", &st) == 0 && st.st_mtim.tv_sec == 1234567890 && st.st_size == 6);

  // link counts
  CHECK("nlink-one", stat("/tmp/a.txt", &st) == 0 && st.st_nlink == 1);
  CHECK("link", link("/tmp/a.txt", "/tmp/b.txt") == 0);
  CHECK("nlink-two", stat("/tmp/a.txt", &st) == 0 && st.st_nlink == 2);
  struct stat st2;
  CHECK("link-same-inode", stat("/tmp/b.txt", &st2) == 0 && st2.st_ino == st.st_ino);
  CHECK_ERR("link-exists", link("/tmp/a.txt", "/tmp/b.txt"), EEXIST);
  CHECK("unlink", unlink("/tmp/b.txt") == 0);
  CHECK("nlink-back-to-one", stat("/tmp/a.txt", &st) == 0 && st.st_nlink == 1);
  CHECK("image-hardlinks", stat("/etc/hard1", &st) == 0 && st.st_nlink == 2 && stat("/etc/hard2", &st2) == 0 && st.st_ino == st2.st_ino);
  CHECK_ERR("unlink-missing", unlink("/tmp/b.txt"), ENOENT);
  CHECK_ERR("unlink-dir", unlink("/tmp"), EISDIR);

  // fd_renumber and fd_fdstat
  int f1 = open("/tmp/a.txt", O_RDONLY), f2 = open("/etc/fixed", O_RDONLY);
  CHECK("fd_renumber", __wasi_fd_renumber(f2, f1) == 0);
  memset(buf, 0, sizeof buf);
  CHECK("renumbered-reads-new-file", read(f1, buf, 6) == 6 && memcmp(buf, "fixed\n", 6) == 0);
  CHECK("renumber-closes-source", __wasi_fd_renumber(f2, f1) == __WASI_ERRNO_BADF);
  __wasi_fdstat_t fst;
  CHECK("fdstat-regular", __wasi_fd_fdstat_get(f1, &fst) == 0 && fst.fs_filetype == __WASI_FILETYPE_REGULAR_FILE);
  CHECK("fdstat-bad-fd", __wasi_fd_fdstat_get(999, &fst) == __WASI_ERRNO_BADF);
  close(f1);
  return DONE();
}
