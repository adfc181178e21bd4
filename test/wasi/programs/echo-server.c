// An echo server on a preopened listening socket (--tcplisten).
//   echo-server [N]         serves N connections one after another (0 or none: forever)
//   echo-server --poll [N]  serves connections concurrently with poll() until N have closed
// Prints "conn K: B bytes" as each connection ends, and "served N" at exit.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include "listener.h"

#define MAX_CLIENTS 32

static int serve_one(int c) {
  char buf[4096];
  int total = 0;
  for (;;) {
    ssize_t n = recv(c, buf, sizeof buf, 0);
    if (n < 0) { perror("recv"); break; }
    if (n == 0) break;
    if (send_all(c, buf, (size_t)n) != 0) { perror("send"); break; }
    total += (int)n;
  }
  close(c);
  return total;
}

static int serial(int l, int want) {
  int served = 0;
  while (want == 0 || served < want) {
    int c = accept(l, NULL, NULL);
    if (c < 0) { perror("accept"); return 1; }
    int bytes = serve_one(c);
    printf("conn %d: %d bytes\n", ++served, bytes);
    fflush(stdout);
  }
  fprintf(stderr, "served %d\n", served);
  return 0;
}

static int concurrent(int l, int want) {
  fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK);
  struct pollfd fds[MAX_CLIENTS + 1];
  int bytes[MAX_CLIENTS + 1];
  int n = 1, closed = 0;
  fds[0] = (struct pollfd){.fd = l, .events = POLLIN};
  while (want == 0 || closed < want) {
    if (poll(fds, (nfds_t)n, -1) < 0) { perror("poll"); return 1; }
    for (int i = n - 1; i >= 1; i--) {
      if (!fds[i].revents) continue;
      char buf[4096];
      ssize_t r = recv(fds[i].fd, buf, sizeof buf, 0);
      if (r > 0 && send_all(fds[i].fd, buf, (size_t)r) == 0) {
        bytes[i] += (int)r;
        continue;
      }
      close(fds[i].fd);
      printf("conn %d: %d bytes\n", ++closed, bytes[i]);
      fflush(stdout);
      fds[i] = fds[n - 1];
      bytes[i] = bytes[n - 1];
      n--;
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) {
          if (errno != EAGAIN) { perror("accept"); return 1; }
          break;
        }
        if (n == MAX_CLIENTS + 1) { close(c); continue; }
        fds[n] = (struct pollfd){.fd = c, .events = POLLIN};
        bytes[n++] = 0;
      }
    }
  }
  fprintf(stderr, "served %d\n", closed);
  return 0;
}

int main(int argc, char **argv) {
  int poll_mode = argc > 1 && strcmp(argv[1], "--poll") == 0;
  int want = argc > 1 + poll_mode ? atoi(argv[1 + poll_mode]) : 0;
  int l = find_listener(getenv("PORT"));
  return poll_mode ? concurrent(l, want) : serial(l, want);
}
