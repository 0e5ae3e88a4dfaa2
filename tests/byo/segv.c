/* A native program for tests/bring_your_own.rs: says so on stdout, then
   writes through a null pointer (SIGSEGV). With the argument "ok" it exits 0
   instead, with "exit" it exits 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    printf("about to write through NULL\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "ok") == 0) return 0;
    if (argc > 1 && strcmp(argv[1], "exit") == 0) exit(3);
    volatile int *p = NULL;
    *p = 42;
    return 0;
}
