// A tiny HTTP/1.1 server on a preopened listening socket (--tcplisten), serving many
// connections at once with poll() and keep-alive. GET /bytes/N answers N bytes of 'x';
// anything else answers "hello from wasi\n". Built natively (bench anchor) it listens on
// 127.0.0.1:$PORT itself.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include "listener.h"
#ifndef __wasi__
#include <netinet/tcp.h>
#endif

#define MAX_CLIENTS 64
#define REQ_MAX 8192

struct client {
  char req[REQ_MAX];
  size_t len;
};

static struct client clients[MAX_CLIENTS + 1];
static char body[1 << 20];
static char response[(1 << 20) + 160];

/** Answers every complete request in the buffer; -1 to close the connection. */
static int answer(int fd, struct client *c) {
  for (;;) {
    char *end = NULL;
    for (size_t i = 0; i + 3 < c->len; i++) {
      if (memcmp(c->req + i, "\r\n\r\n", 4) == 0) { end = c->req + i + 4; break; }
    }
    if (end == NULL) return c->len == REQ_MAX ? -1 : 0;
    size_t reqlen = (size_t)(end - c->req);
    int close_after = 0;
    for (size_t i = 0; i + 17 <= reqlen; i++) {
      if (strncasecmp(c->req + i, "connection: close", 17) == 0) close_after = 1;
    }
    size_t n = 16;
    const char *payload = "hello from wasi\n";
    if (strncmp(c->req, "GET /bytes/", 11) == 0) {
      n = (size_t)atol(c->req + 11);
      if (n > sizeof body) n = sizeof body;
      payload = body;
    }
    // Head and body in one send: two small writes would meet Nagle and delayed ACKs.
    int hl = snprintf(response, 160, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n", n,
                      close_after ? "Connection: close\r\n" : "");
    memcpy(response + hl, payload, n);
    if (send_all(fd, response, (size_t)hl + n) != 0) return -1;
    memmove(c->req, end, c->len - reqlen);
    c->len -= reqlen;
    if (close_after) return -1;
  }
}

int main(void) {
  memset(body, 'x', sizeof body);
  int l = find_listener(getenv("PORT"));
  fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK);
  struct pollfd fds[MAX_CLIENTS + 1];
  int n = 1;
  fds[0] = (struct pollfd){.fd = l, .events = POLLIN};
  printf("serving\n");
  fflush(stdout);
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) { perror("poll"); return 1; }
    for (int i = n - 1; i >= 1; i--) {
      if (!fds[i].revents) continue;
      struct client *c = &clients[i];
      ssize_t r = recv(fds[i].fd, c->req + c->len, REQ_MAX - c->len, 0);
      if (r > 0) {
        c->len += (size_t)r;
        if (answer(fds[i].fd, c) == 0) continue;
      }
      close(fds[i].fd);
      fds[i] = fds[n - 1];
      clients[i] = clients[n - 1];
      n--;
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        int fd = accept(l, NULL, NULL);
        if (fd < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK) { perror("accept"); return 1; }
          break;
        }
        if (n == MAX_CLIENTS + 1) { close(fd); continue; }
#ifndef __wasi__
        int one = 1;  // as boxplay's host side sets on the sockets it accepts
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#endif
        fds[n] = (struct pollfd){.fd = fd, .events = POLLIN};
        clients[n].len = 0;
        n++;
      }
    }
  }
}
