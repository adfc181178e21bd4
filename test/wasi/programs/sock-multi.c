// Several preopened listeners and stdin in one poll(): lists the socket fds it was given,
// then answers each connection on the fd it came in on ("fd N: LINE") and echoes stdin lines
// ("stdin: LINE"), until stdin ends.
#include <poll.h>
#include <string.h>
#include "listener.h"

int main(void) {
  struct pollfd fds[16];
  int n = 0;
  fds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
  printf("sockets:");
  for (int fd = 3; fd < 64 && n < 16; fd++) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
      printf(" %d", fd);
      fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
  }
  printf("\n");
  fflush(stdout);
  char line[256];
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) { perror("poll"); return 1; }
    if (fds[0].revents) {
      ssize_t r = read(0, line, sizeof line - 1);
      if (r <= 0) break;
      line[r] = 0;
      printf("stdin: %s", line);
      fflush(stdout);
    }
    for (int i = 1; i < n; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      int c = accept(fds[i].fd, NULL, NULL);
      if (c < 0) { perror("accept"); return 1; }
      ssize_t r = recv(c, line, sizeof line - 1, 0);
      if (r < 0) r = 0;
      line[r] = 0;
      char reply[300];
      int k = snprintf(reply, sizeof reply, "fd %d: %s", fds[i].fd, line);
      send_all(c, reply, (size_t)k);
      close(c);
      printf("accepted on fd %d\n", fds[i].fd);
      fflush(stdout);
    }
  }
  printf("stdin ended\n");
  return 0;
}
