/* <pwd.h> for wasm32-wasi, which has no users: the sqlite3 shell asks for the home directory
   this way first, then falls back to $HOME (the image sets HOME=/root). */
#ifndef BOXPLAY_WASI_PWD_H
#define BOXPLAY_WASI_PWD_H
#include <sys/types.h>
struct passwd {
  char *pw_name;
  char *pw_dir;
};
static inline struct passwd *getpwuid(uid_t uid) { (void)uid; return 0; }
static inline uid_t getuid(void) { return 0; }
#endif
