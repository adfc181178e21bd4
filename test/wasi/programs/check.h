// A tiny assertion kit for the WASI conformance programs: each CHECK prints "ok NAME" or
// "FAIL NAME: …" with errno, and the program exits with the number of failures.
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(name, cond)                                                            \
  do {                                                                               \
    errno = 0;                                                                       \
    if (cond) printf("ok %s\n", name);                                               \
    else {                                                                           \
      printf("FAIL %s: %s (errno %d %s) at line %d\n", name, #cond, errno,          \
             strerror(errno), __LINE__);                                             \
      failures++;                                                                    \
    }                                                                                \
  } while (0)
/* Expect a call to fail with a given errno. */
#define CHECK_ERR(name, call, err)                                                   \
  do {                                                                               \
    errno = 0;                                                                       \
    long r_ = (long)(call);                                                          \
    int e_ = errno;                                                                  \
    if (r_ == -1 && e_ == (err)) printf("ok %s\n", name);                            \
    else {                                                                           \
      printf("FAIL %s: %s returned %ld errno %d (%s), wanted %s at line %d\n", name, \
             #call, r_, e_, strerror(e_), #err, __LINE__);                           \
      failures++;                                                                    \
    }                                                                                \
  } while (0)
#define DONE() (printf("failures %d\n", failures), failures)
