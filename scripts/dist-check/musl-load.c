/* Loads a shared object with musl's dynamic loader, resolving every symbol now: proof that a
 * musl system can load it (all NEEDED libraries, every libc symbol). The host program's own
 * symbols (napi_* or Py*) are stand-ins, generated into stubs.c by scripts/test-dist.sh: no
 * musl Node or CPython is installable here, so the stand-ins only satisfy the relocations.
 * Usage: musl-load FILE ENTRY_SYMBOL */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  void *handle = dlopen(argv[1], RTLD_NOW);
  if (!handle) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  void *entry = dlsym(handle, argv[2]);
  printf("loaded by musl; %s %s\n", argv[2], entry ? "found" : "missing");
  return entry ? 0 : 1;
}
