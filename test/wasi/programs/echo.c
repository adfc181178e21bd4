// Interactive stdin: prints a prompt, then echoes each line until EOF, then how many.
// With "poll" as argv[1] it first polls stdin with a 200 ms timeout and reports the result.
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "poll") == 0) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = poll(&p, 1, 200);
    printf("poll %d\n", r);
    fflush(stdout);
  }
  printf("ready\n");
  fflush(stdout);
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, stdin)) {
    printf("got: %s", line);
    fflush(stdout);
    n++;
  }
  fprintf(stderr, "lines %d\n", n);
  return n;
}
