/* hello: one small C program, built for linux/386 (static) and wasi/wasm, that shows what the
   process it runs in can see. The same source runs in all three boxplay runtimes, so the
   differences in its output ARE the lesson: a VM's own kernel, a container's namespaces,
   WASI's capability sandbox.

   Usage: hello [ACTION | ARG]...
   With no action, prints its facts. Actions run left to right:
     --facts            print the facts: one "key: value" line each (see print_facts)
     --echo, cat        copy stdin to stdout until end of input
     --write PATH TEXT  write TEXT and a newline to PATH (created or truncated)
     --read PATH        copy the file at PATH to stdout
     --stderr TEXT      write TEXT and a newline to stderr
     --sleep MS         sleep MS milliseconds
     --exit N           exit at once with status N
     --help             print this usage
   Anything else is an ordinary argument, shown by the facts. Errors go to stderr and
   exit with status 1 (2 for bad usage). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__wasi__)
#define PLATFORM "wasi/wasm"
#else
#define PLATFORM "linux/386"
#endif

extern char **environ;

static const char usage[] =
    "usage: hello [ACTION | ARG]...\n"
    "With no action, prints what this process sees. Actions run left to right:\n"
    "  --facts            print the facts (args, env, cwd, pid, hostname, ...)\n"
    "  --echo, cat        copy stdin to stdout until end of input\n"
    "  --write PATH TEXT  write TEXT and a newline to PATH\n"
    "  --read PATH        copy the file at PATH to stdout\n"
    "  --stderr TEXT      write TEXT and a newline to stderr\n"
    "  --sleep MS         sleep MS milliseconds\n"
    "  --exit N           exit at once with status N\n";

static void fail(const char *what, const char *path) {
  fflush(stdout);
  fprintf(stderr, "hello: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(1); /* stdout is gone (closed pipe): nothing useful left to say */
    }
    buf += n;
    len -= (size_t)n;
  }
}

/* Copies fd to stdout with plain read/write, so interactive input is echoed as it comes. */
static void copy_to_stdout(int fd, const char *name) {
  char buf[65536];
  fflush(stdout);
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read", name);
    }
    write_all(1, buf, (size_t)n);
  }
}

static void print_facts(int argc, char **argv) {
  char cwd[4096];
  struct utsname u;
  printf("hello from boxplay (%s)\n", PLATFORM);
  printf("argc: %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]: %s\n", i, argv[i]);
  for (char **e = environ; e && *e; e++) printf("env: %s\n", *e);
  printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "(unknown)");
#if defined(__wasi__)
  /* WASI has no processes, users or hostnames to ask about: say so instead of inventing. */
  printf("pid: (none in WASI)\n");
  printf("uid: (none in WASI)\n");
#else
  printf("pid: %d\n", (int)getpid());
  printf("ppid: %d\n", (int)getppid());
  printf("uid: %d\n", (int)getuid());
  printf("gid: %d\n", (int)getgid());
#endif
  if (uname(&u) == 0) {
    printf("hostname: %s\n", u.nodename);
    printf("kernel: %s %s %s\n", u.sysname, u.release, u.machine);
  } else {
    printf("hostname: (unknown)\n");
  }
  printf("stdin: %s\n", isatty(0) ? "terminal" : "not a terminal");
  fflush(stdout);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("cannot create", path);
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1) fail("cannot write", path);
  if (close(fd) != 0) fail("cannot close", path);
}

static void read_file(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) fail("cannot open", path);
  copy_to_stdout(fd, path);
  close(fd);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static long number_arg(const char *option, const char *text) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) {
    fprintf(stderr, "hello: %s wants a whole number >= 0, not \"%s\"\n", option, text);
    exit(2);
  }
  return value;
}

static void need(int argc, int i, int count, const char *option) {
  if (i + count >= argc) {
    fprintf(stderr, "hello: %s needs %d argument%s\n%s", option, count, count == 1 ? "" : "s", usage);
    exit(2);
  }
}

int main(int argc, char **argv) {
  int actions = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--facts") == 0) {
      print_facts(argc, argv);
    } else if (strcmp(a, "--echo") == 0 || strcmp(a, "cat") == 0) {
      copy_to_stdout(0, "stdin");
    } else if (strcmp(a, "--write") == 0) {
      need(argc, i, 2, a);
      write_file(argv[i + 1], argv[i + 2]);
      i += 2;
    } else if (strcmp(a, "--read") == 0) {
      need(argc, i, 1, a);
      read_file(argv[++i]);
    } else if (strcmp(a, "--stderr") == 0) {
      need(argc, i, 1, a);
      fflush(stdout);
      fprintf(stderr, "%s\n", argv[++i]);
    } else if (strcmp(a, "--sleep") == 0) {
      need(argc, i, 1, a);
      sleep_ms(number_arg(a, argv[++i]));
    } else if (strcmp(a, "--exit") == 0) {
      need(argc, i, 1, a);
      long code = number_arg(a, argv[++i]);
      fflush(stdout);
      exit((int)(code & 255));
    } else if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
    } else {
      continue; /* an ordinary argument */
    }
    actions++;
  }
  if (actions == 0) print_facts(argc, argv);
  return 0;
}
