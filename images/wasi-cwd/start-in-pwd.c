/* Linked into boxplay's WASI builds (hello, lua, sqlite): start the program in the directory
 * $PWD names. WASI preview 1 has no working directory: wasi-libc starts every program in "/",
 * so a runtime passes the one asked for (`-w`, the image's WorkingDir) as PWD, which boxplay's
 * wasi runtime does, and the program moves there before main. A program built without this
 * (the prebuilt python image) starts in "/" whatever PWD says. */
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void boxplay_start_in_pwd(void) {
  const char *pwd = getenv("PWD");
  if (pwd != NULL && pwd[0] == '/') (void)chdir(pwd); /* a missing directory leaves "/" */
}
