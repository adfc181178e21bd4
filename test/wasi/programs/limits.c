// Runaway programs: "spin" loops forever, "alloc" grabs memory until malloc fails,
// "trap" executes unreachable, "write PATH TEXT" writes a file and exits.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "spin") == 0) {
    volatile unsigned long i = 0;
    for (;;) i++;
  }
  if (strcmp(mode, "alloc") == 0) {
    size_t total = 0;
    static char *volatile last; /* the blocks escape, so the compiler cannot drop the mallocs */
    for (;;) {
      char *p = malloc(1 << 20);
      if (!p) break;
      memset(p, 1, 1 << 20);
      last = p;
      total += 1 << 20;
    }
    fprintf(stderr, "out of memory after %zu MiB\n", total >> 20);
    return 1;
  }
  if (strcmp(mode, "trap") == 0) __builtin_trap();
  if (strcmp(mode, "write") == 0 && argc > 3) {
    FILE *f = fopen(argv[2], "w");
    if (!f) { perror(argv[2]); return 2; }
    fputs(argv[3], f);
    fclose(f);
    FILE *r = fopen(argv[2], "r");
    char buf[128] = {0};
    fread(buf, 1, sizeof buf - 1, r);
    printf("%s\n", buf);
    return 0;
  }
  fprintf(stderr, "usage: limits spin|alloc|trap|write PATH TEXT\n");
  return 64;
}
