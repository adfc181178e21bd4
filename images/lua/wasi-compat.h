/* Force-included (-include) into every Lua source for the wasi/wasm build: fills the gaps
   between what Lua 5.4 expects of a C library and what wasi-libc (2022) offers. Behaviour in
   the gaps: os.tmpname() and io.tmpfile() fail with an error, os.execute() reports that
   there is no shell, the REPL asks isatty(0) whether stdin is interactive. */
#ifndef BOXPLAY_LUA_WASI_COMPAT_H
#define BOXPLAY_LUA_WASI_COMPAT_H

#include <stddef.h>
#include <unistd.h>

/* WASI has no tmpnam: make os.tmpname() fail with "unable to generate a unique filename". */
#define LUA_TMPNAMBUFSIZE 32
#define lua_tmpnam(b, e) { (b)[0] = '\0'; e = 1; }

/* Without LUA_USE_POSIX, lua.c assumes stdin is always a terminal. */
#define lua_stdin_is_tty() isatty(0)

/* Defined in wasi-compat.c: WASI cannot start processes or make anonymous temp files. */
int system(const char *command);

#endif
