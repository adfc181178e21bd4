// Clocks, random, args and environ, poll_oneoff, sleeping, sockets' errno, proc_exit.
// argv[1] is the host's realtime in seconds, to compare CLOCK_REALTIME against.
#include "check.h"
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  CHECK("argc", argc == 4);
  CHECK("argv-utf8", argc > 2 && strcmp(argv[2], "héllo wörld") == 0);
  CHECK("environ", getenv("GREETING") != NULL && strcmp(getenv("GREETING"), "grüezi") == 0);
  CHECK("environ-missing", getenv("NOT_SET") == NULL);

  struct timespec t;
  CHECK("realtime", clock_gettime(CLOCK_REALTIME, &t) == 0 && labs((long)t.tv_sec - atol(argv[1])) < 30);
  double a = mono();
  double b = mono();
  CHECK("monotonic-nondecreasing", b >= a);
  CHECK("clock-res", clock_getres(CLOCK_MONOTONIC, &t) == 0 && t.tv_sec == 0 && t.tv_nsec > 0);
  CHECK("process-cputime", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0);
  __wasi_timestamp_t ts;
  CHECK("clock-bad-id", __wasi_clock_time_get(99, 1, &ts) == __WASI_ERRNO_INVAL);

  unsigned char r1[64] = {0}, r2[64] = {0};
  CHECK("random", getentropy(r1, 64) == 0 && getentropy(r2, 64) == 0 && memcmp(r1, r2, 64) != 0);

  // sleeping: relative and absolute deadlines take about as long as asked
  a = mono();
  struct timespec half = {0, 300000000};
  nanosleep(&half, NULL);
  b = mono();
  CHECK("nanosleep-300ms", b - a >= 0.29 && b - a < 1.5); /* not early; not busy-waiting for seconds */
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_nsec += 200000000;
  if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
  a = mono();
  CHECK("clock_nanosleep-abstime", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == 0);
  b = mono();
  CHECK("abstime-200ms", b - a >= 0.19 && b - a < 1.5);

  // poll_oneoff with two clocks: the earlier one fires, alone
  __wasi_subscription_t subs[2];
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 1;
  subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[0].u.u.clock.timeout = 400000000;
  subs[1].userdata = 2;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = 100000000;
  __wasi_event_t ev[2];
  __wasi_size_t n = 0;
  a = mono();
  CHECK("poll-two-clocks", __wasi_poll_oneoff(subs, ev, 2, &n) == 0 && n == 1 && ev[0].userdata == 2);
  b = mono();
  CHECK("poll-two-clocks-timing", b - a >= 0.09 && b - a < 0.35);
  // a clock and a regular file: the file is ready at once
  subs[1].u.tag = __WASI_EVENTTYPE_FD_WRITE;
  subs[1].u.u.fd_write.file_descriptor = 1;
  CHECK("poll-fd-write-ready", __wasi_poll_oneoff(subs, ev, 2, &n) == 0 && n == 1 && ev[0].userdata == 2 && ev[0].type == __WASI_EVENTTYPE_FD_WRITE);
  subs[1].u.u.fd_write.file_descriptor = 77;
  CHECK("poll-bad-fd", __wasi_poll_oneoff(subs, ev, 2, &n) == 0 && n == 1 && ev[0].error == __WASI_ERRNO_BADF);
  CHECK("poll-zero-subs", __wasi_poll_oneoff(subs, ev, 0, &n) == __WASI_ERRNO_INVAL);
  // stdin at EOF (no stdin given) is readable at once, with a hangup
  struct pollfd p = {.fd = 0, .events = POLLIN};
  CHECK("poll-stdin-eof", poll(&p, 1, 1000) == 1 && (p.revents & (POLLIN | POLLHUP)));

  // sockets: errno, never a crash
  CHECK("sock-accept-badf", __wasi_sock_accept(55, 0, (__wasi_fd_t *)r1) == __WASI_ERRNO_BADF);
  CHECK("sock-accept-not-socket", __wasi_sock_accept(1, 0, (__wasi_fd_t *)r1) == __WASI_ERRNO_NOTSOCK);
  CHECK("sock-shutdown-not-socket", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR) == __WASI_ERRNO_NOTSOCK);

  CHECK("sched-yield", sched_yield() == 0);
  fflush(stdout);
  int failed = DONE();
  fflush(stdout);
  __wasi_proc_exit(failed ? 1 : 42);
}
