/* Force-included (-include) into sqlite3.c and shell.c for the wasi/wasm build: what SQLite
   3.40's unix layer expects of a C library and wasi-libc (2022) lacks. WASI has no owners,
   permission bits or advisory locks, so the calls that manage them succeed without effect;
   the build also selects the "unix-none" VFS (no file locking: one process per database,
   which is all a WASI sandbox can be) and drops WAL (it needs shared memory) and mmap. */
#ifndef BOXPLAY_SQLITE_WASI_COMPAT_H
#define BOXPLAY_SQLITE_WASI_COMPAT_H

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>

/* Referenced (by address) from os_unix.c's syscall table even when unused. */
#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif
static inline int fchmod(int fd, mode_t mode) { (void)fd; (void)mode; return 0; }
static inline int chmod(const char *path, mode_t mode) { (void)path; (void)mode; return 0; }
static inline int fchown(int fd, uid_t uid, gid_t gid) { (void)fd; (void)uid; (void)gid; return 0; }
static inline uid_t geteuid(void) { return 0; }

#endif
