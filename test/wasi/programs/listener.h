// Finds the listening socket a WASI server was handed (wasmtime's --tcplisten, boxplay's
// too): WASI preview1 has no socket(), bind() or listen(), so the host opens it and passes it
// as the first socket fd after the preopened directories. Built natively (for comparison
// benches) there is no such fd: the program listens itself on 127.0.0.1:PORT.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef __wasi__
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

static inline int find_listener(const char *native_port) {
  for (int fd = 3; fd < 64; fd++) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) return fd;
  }
#ifndef __wasi__
  if (native_port != NULL) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(native_port))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 128) != 0) {
      perror("listen");
      exit(125);
    }
    return s;
  }
#else
  (void)native_port;
#endif
  fprintf(stderr, "no listening socket: run with --tcplisten PORT\n");
  exit(2);
}

/** Sends all of buf (a socket may take less than asked). */
static inline int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, 0);
    if (n < 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}
