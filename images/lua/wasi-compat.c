/* Stand-ins for C library functions wasi-libc (2022) does not provide and Lua calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* os.execute(): there is no shell to run commands in under WASI. system(NULL) == 0 makes
   os.execute() with no command answer false ("no shell available"); a command fails. */
int system(const char *command) {
  if (command == NULL) return 0;
  errno = ENOSYS;
  return -1;
}

/* io.tmpfile(): no anonymous temporary files under WASI; Lua reports the errno. */
FILE *tmpfile(void) {
  errno = ENOTSUP;
  return NULL;
}
