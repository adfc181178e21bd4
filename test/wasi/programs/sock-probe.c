// Socket semantics on a preopened listener, checked from inside (check.h) while the test
// drives one client from outside, step by step:
//   the listener is a socket; a non-blocking accept with nobody waiting is EAGAIN; poll()
//   says readable once a client connects; MSG_PEEK leaves bytes; MSG_WAITALL waits for all;
//   a non-blocking recv with nothing there is EAGAIN; shutdown(SHUT_WR) sends end of stream
//   while the client can still send to us (half-close); then close, and errors on the wrong fds.
#include <poll.h>
#include <string.h>
#include "check.h"
#include "listener.h"

static void say(const char *s) {
  printf("%s\n", s);
  fflush(stdout);
}

int main(void) {
  int l = find_listener(NULL);
  struct stat st;
  CHECK("listener is a socket", fstat(l, &st) == 0 && S_ISSOCK(st.st_mode));
  CHECK("set listener non-blocking", fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK) == 0);
  CHECK("listener reports O_NONBLOCK", (fcntl(l, F_GETFL) & O_NONBLOCK) != 0);
  CHECK_ERR("accept with nobody waiting", accept(l, NULL, NULL), EAGAIN);
  struct pollfd p = {.fd = l, .events = POLLIN};
  CHECK("poll on an idle listener times out", poll(&p, 1, 50) == 0);
  say("waiting");  // the test connects now
  CHECK("poll says the listener is readable", poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
  int c = accept(l, NULL, NULL);
  CHECK("accept", c >= 0);
  CHECK("accepted socket is blocking", (fcntl(c, F_GETFL) & O_NONBLOCK) == 0);
  CHECK("accepted socket is a socket", fstat(c, &st) == 0 && S_ISSOCK(st.st_mode));

  char buf[64] = {0};
  CHECK("MSG_PEEK sees hello", recv(c, buf, 5, MSG_PEEK) == 5 && memcmp(buf, "hello", 5) == 0);
  send_all(c, "peeked hello\n", 13);  // the client sends " world" only after reading this
  memset(buf, 0, sizeof buf);
  CHECK("MSG_WAITALL waits for all 11 bytes", recv(c, buf, 11, MSG_WAITALL) == 11 && memcmp(buf, "hello world", 11) == 0);

  CHECK("set connection non-blocking", fcntl(c, F_SETFL, O_NONBLOCK) == 0);
  CHECK_ERR("non-blocking recv with nothing there", recv(c, buf, sizeof buf, 0), EAGAIN);
  CHECK("set connection blocking again", fcntl(c, F_SETFL, 0) == 0);

  send_all(c, "bye\n", 4);
  CHECK("shutdown(SHUT_WR)", shutdown(c, SHUT_WR) == 0);
  CHECK_ERR("send after SHUT_WR", send(c, "x", 1, 0), EPIPE);
  // The client saw our end of stream, and answers on its still-open side.
  memset(buf, 0, sizeof buf);
  size_t got = 0;
  for (;;) {
    ssize_t n = recv(c, buf + got, sizeof buf - 1 - got, 0);
    if (n <= 0) break;
    got += (size_t)n;
  }
  CHECK("half-close: read the client's reply after our FIN", strcmp(buf, "after-fin\n") == 0);
  CHECK("recv at end of stream is 0", recv(c, buf, sizeof buf, 0) == 0);
  CHECK("close the connection", close(c) == 0);
  CHECK_ERR("recv on a closed fd", recv(c, buf, sizeof buf, 0), EBADF);
  CHECK_ERR("recv on the listener", recv(l, buf, sizeof buf, 0), ENOTCONN);
  CHECK_ERR("send on stdout", send(1, "x", 1, 0), ENOTSOCK);
  CHECK_ERR("accept on stdout", accept(1, NULL, NULL), ENOTSOCK);
  CHECK("close the listener", close(l) == 0);
  say("done");
  return failures;
}
