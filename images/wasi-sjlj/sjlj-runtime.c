/* The runtime clang 14's wasm setjmp/longjmp lowering (-mllvm -wasm-enable-sjlj) calls into.
   Emscripten ships one; wasi-libc 2022 does not, so this is ours.

   How the lowering works: a function that calls setjmp keeps a table of {id, label} pairs.
   Each setjmp call gets a fresh id (stored in the jmp_buf) recorded with a label for that call
   site (saveSetjmp). longjmp throws a wasm exception with the __c_longjmp tag carrying
   {env, val} (__wasm_longjmp). Every function with a table catches that tag around its
   calls, asks testSetjmp whether the env's id is one of its own, and if so jumps to that
   label with val; otherwise it rethrows. getTempRet0 hands back the table's new size, which
   saveSetjmp cannot return alongside the (possibly reallocated) table pointer. */
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

struct setjmp_entry {
  uintptr_t id;
  uint32_t label;
};

static uint32_t temp_ret0;
static uintptr_t last_setjmp_id;

uint32_t getTempRet0(void) { return temp_ret0; }
void setTempRet0(uint32_t value) { temp_ret0 = value; }

struct setjmp_entry *saveSetjmp(uintptr_t *env, uint32_t label, struct setjmp_entry *table, uint32_t size) {
  uint32_t i = 0;
  *env = ++last_setjmp_id;
  while (i < size && table[i].id != 0) i++;
  if (i == size) {
    /* Full: double it. The table always keeps one spare slot for its 0 terminator. */
    size *= 2;
    table = realloc(table, sizeof(struct setjmp_entry) * (size + 1));
    if (table == NULL) abort();
  }
  table[i].id = *env;
  table[i].label = label;
  table[i + 1].id = 0;
  temp_ret0 = size;
  return table;
}

uint32_t testSetjmp(uintptr_t id, struct setjmp_entry *table, uint32_t size) {
  for (uint32_t i = 0; i < size && table[i].id != 0; i++)
    if (table[i].id == id) return table[i].label;
  return 0;
}

struct longjmp_args {
  void *env;
  int val;
};
static struct longjmp_args longjmp_args;

_Noreturn void __wasm_longjmp(void *env, int val) {
  longjmp_args.env = env;
  longjmp_args.val = val == 0 ? 1 : val; /* longjmp(env, 0) makes setjmp return 1 */
  __builtin_wasm_throw(1, &longjmp_args); /* tag 1 is __c_longjmp */
}

/* Calling setjmp here makes the lowering define the __c_longjmp tag in this object: clang 14
   refuses to compile __builtin_wasm_throw against a tag it would otherwise leave undefined
   ("undefined tag symbol cannot be weak"). Never called. */
int boxplay_sjlj_define_tag(jmp_buf env) { return setjmp(env); }
