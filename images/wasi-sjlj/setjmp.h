/* setjmp/longjmp for wasm32-wasi, which the 2022 wasi-libc lacks. Code including this must
   be compiled with clang's `-mexception-handling -mllvm -wasm-enable-sjlj`: the compiler
   rewrites every setjmp call site into table bookkeeping (saveSetjmp/testSetjmp) and every
   longjmp into a wasm exception (__wasm_longjmp), all provided by sjlj-runtime.c. jmp_buf only
   has to hold the id saveSetjmp writes into its first word. */
#ifndef BOXPLAY_WASI_SETJMP_H
#define BOXPLAY_WASI_SETJMP_H
typedef unsigned long jmp_buf[2];
int setjmp(jmp_buf env);
_Noreturn void longjmp(jmp_buf env, int val);
#define _setjmp setjmp
#define _longjmp longjmp
#endif
