/* The native driver the characterisation uses (not the faultbox host):
 *
 *   driver LIBGUEST.so <scenario> <arg> [rounds]
 *
 * dlopens the library, points fb_progress_hook at a function that reports
 * `progress N`, calls fb_<scenario>(arg), then fb_health(), then `rounds`
 * more times (fb_<scenario>(arg), fb_health()) - the same sequence the
 * wasm characterisation runs on one instance. Reports go, one line per
 * write(2), to the file descriptor in FAULTBOX_REPORT_FD (nothing when it
 * is unset), so they survive the process dying mid-run:
 *
 *   started <scenario> <arg>
 *   progress <n>
 *   returned <n>            the scenario returned
 *   health <n>              fb_health() (1611526157 = 0x600DF00D = healthy)
 *   sigsegv_blocked <0|1>   SIGSEGV in the signal mask after the call
 *   round <i>               a repeat round starts
 *   finished
 *
 * Exit 0 after `finished`; 64 for usage errors or a missing symbol.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report_fd = -1;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void report(const char *fmt, ...) {
    if (report_fd < 0) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t ignored = write(report_fd, line, (size_t)n);
    (void)ignored;
}

static void on_progress(int64_t n) { report("progress %" PRId64, n); }

static int sigsegv_blocked(void) {
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    return sigismember(&cur, SIGSEGV);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LIBGUEST.so SCENARIO ARG [ROUNDS]\n", argv[0]);
        return 64;
    }
    const char *fd = getenv("FAULTBOX_REPORT_FD");
    if (fd && *fd) report_fd = atoi(fd);
    int64_t arg = strtoll(argv[3], 0, 0);
    int rounds = argc > 4 ? atoi(argv[4]) : 0;

    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 64;
    }
    char sym[128];
    snprintf(sym, sizeof sym, "fb_%s", argv[2]);
    int64_t (*scenario)(int64_t) = (int64_t (*)(int64_t))dlsym(lib, sym);
    int64_t (*health)(void) = (int64_t (*)(void))dlsym(lib, "fb_health");
    void (**hook)(int64_t) = (void (**)(int64_t))dlsym(lib, "fb_progress_hook");
    if (!scenario || !health || !hook) {
        fprintf(stderr, "missing symbol: %s\n", !scenario ? sym : !health ? "fb_health" : "fb_progress_hook");
        return 64;
    }
    *hook = on_progress;

    report("started %s %" PRId64, argv[2], arg);
    for (int r = 0; r <= rounds; r++) {
        if (r > 0) report("round %d", r);
        int64_t v = scenario(arg);
        report("returned %" PRId64, v);
        report("sigsegv_blocked %d", sigsegv_blocked());
        report("health %" PRId64, health());
    }
    report("finished");
    return 0;
}
