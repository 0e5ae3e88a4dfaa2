/* faultbox's C guest: one source, compiled twice (see README.md).
 *
 *   wasm:   clang --target=wasm32-wasi -mexec-model=reactor ... -> guest.wasm
 *   native: cc -fPIC -shared ...                                -> libguest.so
 *
 * Every fault goes through a pointer or operand the compiler cannot see
 * (a volatile global, or a value loaded through one), so clang cannot prove
 * the undefined behaviour and delete or rewrite the faulting instruction.
 * README.md lists what each scenario compiles to.
 */
#if !defined(__wasm__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* memfd_create (glibc >= 2.27), before any system header */
#endif
#include "scenarios.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef __wasm__
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#ifdef __wasm__
#define FB_EXPORT(name) __attribute__((export_name("fb_" #name), used))
__attribute__((import_module("fb"), import_name("progress"))) void fb_progress_import(int64_t value);
static void progress(int64_t value) { fb_progress_import(value); }
#else
#define FB_EXPORT(name) __attribute__((visibility("default"), used))
/* The native host assigns this after dlopen (dlsym "fb_progress_hook"). */
__attribute__((visibility("default"))) void (*volatile fb_progress_hook)(int64_t) = 0;
static void progress(int64_t value) {
    void (*hook)(int64_t) = fb_progress_hook;
    if (hook) hook(value);
}
/* The native host assigns this too (dlsym "fb_recovered_hook"): the guest
 * calls it, outside any signal handler, each time its own recovery brought
 * control back from a fault, with one line saying what it caught (NULL:
 * the report is dropped). It is how a C scenario tells the host "I caught
 * a fault and carried on", as a Go guest reports what its recover saw. */
__attribute__((visibility("default"))) void (*volatile fb_recovered_hook)(const char *) = 0;
#endif

#define NOINLINE __attribute__((noinline))

#ifndef __wasm__
/* The scenario names natively, NULL-terminated, for a host that wants to
 * enumerate them (in wasm the exports are the list). */
#define FB_NAME(name) #name,
__attribute__((visibility("default"))) const char *const fb_scenario_names[] = {
    FB_SCENARIOS(FB_NAME, FB_NAME) 0};
#endif

/* Opaque values: loads the optimiser must perform at run time. */
static volatile uintptr_t opaque_null = 0;
static volatile uintptr_t opaque_wild = 0xDEADBEE0u;
static volatile int64_t opaque_42 = 42;
static volatile int64_t opaque_zero = 0;
static volatile int64_t opaque_minus_one = -1;
static volatile int64_t opaque_int_min = INT64_MIN;
static volatile int64_t salt = 0x5A17;
/* Escapes: a pointer stored here may be read by anyone, so the writes
 * through it before an opaque call must really happen. */
static void *volatile sink;

/* ------------------------------------------------------------ health */

/* A pattern in static data. In wasm it lives in linear memory (the
 * .rodata segment, at the bottom, below .data, .bss and - by clang 14's
 * default layout - the shadow stack), where a stray write can reach it. */
static const uint64_t CANARY[4] = {
    0xFA17B0C5CA4A12E5ull, 0x0123456789ABCDEFull,
    0xFEDCBA9876543210ull, 0x5A5AA5A55A5AA5A5ull,
};

struct record {
    int32_t id;
    char tag[12];
    int64_t value;
};

FB_EXPORT(health) int64_t fb_health(void) {
    static const uint64_t want[4] = {
        0xFA17B0C5CA4A12E5ull, 0x0123456789ABCDEFull,
        0xFEDCBA9876543210ull, 0x5A5AA5A55A5AA5A5ull,
    };
    const volatile uint64_t *canary = CANARY;
    for (int i = 0; i < 4; i++)
        if (canary[i] != want[i]) return FB_HEALTH_CANARY_DAMAGED;

    /* A frame with an addressable array (in wasm: the shadow stack). */
    volatile uint8_t frame[64];
    for (int i = 0; i < 64; i++) frame[i] = (uint8_t)i;

    /* The allocator: an array of structs, grown once with realloc. */
    struct record *r = malloc(16 * sizeof *r);
    if (!r) return FB_HEALTH_NO_MEMORY;
    sink = r;
    for (int i = 0; i < 16; i++) {
        r[i].id = i;
        memcpy(r[i].tag, "record", 7);
        r[i].value = (int64_t)i * 3;
    }
    struct record *g = realloc(r, 64 * sizeof *g);
    if (!g) {
        free(r);
        return FB_HEALTH_NO_MEMORY;
    }
    sink = g;
    for (int i = 16; i < 64; i++) {
        g[i].id = i;
        memcpy(g[i].tag, "record", 7);
        g[i].value = (int64_t)i * 3;
    }
    int64_t sum = 0;
    for (int i = 0; i < 64; i++) {
        const volatile struct record *v = &g[i];
        if (v->id != i || v->tag[0] != 'r' || v->tag[6] != 0) {
            free(g);
            return FB_HEALTH_HEAP_BROKEN;
        }
        sum += v->value + frame[i];
    }
    free(g);
    sink = 0;
    if (sum != 3 * 63 * 64 / 2 + 63 * 64 / 2) return FB_HEALTH_HEAP_BROKEN;
    return FB_HEALTH_OK;
}

/* ----------------------------------------------------------- control */

/* The control scenario: allocation, formatting and arithmetic, no fault.
 * 100 strings "word0".."word99" are 590 bytes, like the Rust guest's. */
FB_EXPORT(clean_run) int64_t fb_clean_run(int64_t arg) {
    char *words[100];
    for (int i = 0; i < 100; i++) {
        words[i] = malloc(16);
        if (!words[i]) abort();
        snprintf(words[i], 16, "word%d", i);
    }
    sink = words;
    int64_t total = 0;
    for (int i = 0; i < 100; i++) {
        total += (int64_t)strlen(words[i]);
        free(words[i]);
    }
    return total + arg;
}

FB_EXPORT(explicit_abort) int64_t fb_explicit_abort(int64_t arg) {
    (void)arg;
    abort();
}

/* The architecture's trap instruction: wasm `unreachable`, x86 `ud2`. */
FB_EXPORT(trap_instruction) int64_t fb_trap_instruction(int64_t arg) {
    (void)arg;
    __builtin_trap();
}

/* ------------------------------------------------------------ memory */

FB_EXPORT(null_write) int64_t fb_null_write(int64_t arg) {
    (void)arg;
    volatile uint32_t *p = (volatile uint32_t *)opaque_null;
    *p = 0xDEADBEEFu;
    return *p;
}

FB_EXPORT(null_read) int64_t fb_null_read(int64_t arg) {
    (void)arg;
    volatile uint32_t *p = (volatile uint32_t *)opaque_null;
    return *p;
}

/* 0xDEADBEE0: a valid 32-bit wasm address far above any wasm memory the
 * host allows, and unmapped in a native process. */
FB_EXPORT(wild_write) int64_t fb_wild_write(int64_t arg) {
    (void)arg;
    volatile uint32_t *p = (volatile uint32_t *)opaque_wild;
    *p = 0x0BADF00Du;
    return *p;
}

struct adjacent {
    uint8_t buffer[16];
    uint8_t neighbour[16];
};

/* Writes 4 bytes past the end of `buffer`: into `neighbour`, inside the
 * same allocation, so no guard page and no allocator check can notice.
 * Returns what the neighbour now holds (0xEE: silently overwritten). */
FB_EXPORT(unchecked_oob_access) int64_t fb_unchecked_oob_access(int64_t arg) {
    (void)arg;
    struct adjacent *a = malloc(sizeof *a);
    if (!a) abort();
    memset(a->buffer, 0, sizeof a->buffer);
    memset(a->neighbour, 7, sizeof a->neighbour);
    sink = a;
    size_t i = 20 + (size_t)opaque_zero;
    ((volatile uint8_t *)a->buffer)[i] = 0xEE;
    int64_t seen = ((volatile uint8_t *)a->neighbour)[4];
    free(a);
    return seen;
}

/* Frees a block, lets the allocator hand the same size to a new owner,
 * then writes through the dangling pointer. Returns what the new owner
 * sees at index 4: 0xBAD when the block was reused, 0x5EC2E7 when not. */
FB_EXPORT(use_after_free) int64_t fb_use_after_free(int64_t arg) {
    (void)arg;
    uint64_t *dangling = malloc(8 * sizeof(uint64_t));
    if (!dangling) abort();
    for (int i = 0; i < 8; i++) dangling[i] = 0x11;
    sink = dangling;
    uintptr_t address = (uintptr_t)sink; /* the compiler loses track of it */
    free(dangling);
    uint64_t *new_owner = malloc(8 * sizeof(uint64_t));
    if (!new_owner) abort();
    for (int i = 0; i < 8; i++) new_owner[i] = 0x5EC2E7;
    sink = new_owner;
    volatile uint64_t *d = (volatile uint64_t *)address;
    d[4] = 0xBAD;
    int64_t seen = ((volatile uint64_t *)new_owner)[4];
    free(new_owner);
    return seen;
}

/* Frees the same block twice, then allocates twice: an allocator without
 * checks may hand the same block to both. Returns 1 when it did (the two
 * are leaked then). Otherwise, with arg > 0, keeps allocating (and
 * leaking) up to arg more blocks of the same size and returns 1 + the index
 * of the first one that overlaps either of the two live blocks (an
 * allocator whose state the double free corrupted hands out memory that
 * is still in use), or 0 when none does. */
FB_EXPORT(double_free) int64_t fb_double_free(int64_t arg) {
    enum { SIZE = 4 * sizeof(uint64_t) };
    uint64_t *p = malloc(SIZE);
    if (!p) abort();
    for (int i = 0; i < 4; i++) p[i] = 7;
    sink = p;
    free((void *)sink);
    free((void *)sink);
    uint8_t *a = malloc(SIZE);
    uint8_t *b = malloc(SIZE);
    sink = a;
    sink = b;
    if (a == b) return 1;
    int64_t found = 0;
    void **chain = 0;
    for (int64_t i = 0; i < arg && !found; i++) {
        uint8_t *c = malloc(SIZE);
        if (!c) break;
        *(void **)c = chain; /* kept live until the check is done */
        chain = (void **)c;
        sink = c;
        if ((c < a + SIZE && a < c + SIZE) || (c < b + SIZE && b < c + SIZE)) found = 2 + i;
    }
    while (chain) {
        void **next = *chain;
        free(chain);
        chain = next;
    }
    if (found) return found; /* a and b are leaked: one of them is shared */
    free(a);
    free(b);
    return 0;
}

/* Allocates and touches `chunk` bytes at a time (default 1 MiB) and never
 * frees them; reports the MiB held after each. When malloc returns NULL it
 * does what the Rust guest's allocation failure does (Rust's
 * handle_alloc_error: "memory allocation of N bytes failed", then abort):
 * one line on stderr, then abort(). */
FB_EXPORT(memory_bomb) int64_t fb_memory_bomb(int64_t arg) {
    size_t chunk = arg > 0 ? (size_t)arg : (size_t)1 << 20;
    uint64_t held = 0;
    void **head = 0;
    for (;;) {
        void **block = malloc(chunk);
        if (!block) {
            fprintf(stderr, "memory_bomb: malloc(%zu) returned NULL with %llu MiB held\n",
                    chunk, (unsigned long long)(held >> 20));
            abort();
        }
        memset(block, 0xA5, chunk);
        block[0] = head; /* a chain the optimiser cannot drop */
        head = block;
        sink = head;
        held += chunk;
        progress((int64_t)(held >> 20));
    }
}

/* ------------------------------------------------------------- stack */

/* Recursion whose frames hold only scalars. In wasm they live in wasm
 * locals, so the engine's call stack (max_wasm_stack) runs out first. The
 * xor with a volatile load after the call keeps it out of tail position. */
static NOINLINE int64_t descend_small(int64_t depth, int64_t limit) {
    progress(depth);
    if (depth >= limit) return depth;
    return descend_small(depth + 1, limit) ^ salt;
}

/* arg > 0 stops at depth arg (a deep but finite recursion); 0 never stops.
 * The limit comes from arg, not from memory, so a stack that overflows into
 * the guest's data cannot change it. */
FB_EXPORT(recursion_small_frames) int64_t fb_recursion_small_frames(int64_t arg) {
    return descend_small(1, arg > 0 ? arg : INT64_MAX);
}

/* Recursion with a 1 KiB addressable array per frame, filled every level.
 * In wasm clang puts such an array on its shadow stack in linear memory
 * (the __stack_pointer global), not in the engine's stack. */
#define LARGE_FRAME 1024
static NOINLINE int64_t descend_large(int64_t depth, int64_t limit) {
    uint8_t frame[LARGE_FRAME];
    memset(frame, (int)(0xC0 | (depth & 0xF)), sizeof frame);
    sink = frame;
    progress(depth);
    if (depth >= limit) return frame[0];
    int64_t r = descend_large(depth + 1, limit) ^ salt;
    return r + ((volatile uint8_t *)frame)[depth & (LARGE_FRAME - 1)];
}

FB_EXPORT(recursion_large_frames) int64_t fb_recursion_large_frames(int64_t arg) {
    return descend_large(1, arg > 0 ? arg : INT64_MAX);
}

/* -------------------------------------------------------- arithmetic */

/* C does not check: the division instruction meets the operands. wasm's
 * i64.div_s traps; x86's idiv raises #DE, delivered as SIGFPE. */
FB_EXPORT(hardware_div_zero) int64_t fb_hardware_div_zero(int64_t arg) {
    (void)arg;
    return opaque_42 / opaque_zero;
}

FB_EXPORT(int_min_div_neg_one) int64_t fb_int_min_div_neg_one(int64_t arg) {
    (void)arg;
    return opaque_int_min / opaque_minus_one;
}

/* ---------------------------------------------- C's "recover" (native) */

#ifndef __wasm__
static sigjmp_buf recovery_point;
static volatile sig_atomic_t in_recovery;
/* The faulting address the handler saw, for the report after the jump. */
static void *volatile fault_address;

static void on_sigsegv(int sig, siginfo_t *info, void *uctx) {
    (void)sig, (void)uctx;
    fault_address = info ? info->si_addr : 0;
    if (!in_recovery) {
        /* Not ours: restore the default action and return, so the fault
         * repeats and kills the process as it would have. */
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    siglongjmp(recovery_point, 1);
}

static unsigned char alt_stack[64 * 1024];

/* Installs a SIGSEGV handler (sigaction, SA_SIGINFO | SA_ONSTACK, on a
 * sigaltstack) that siglongjmps back to a sigsetjmp, then performs
 * `faults` null writes (arg's low byte; 0 means 1), each recovered by the
 * handler. Reports progress(n) after the n-th recovery. Restores the old
 * handler and alternate stack before returning FB_RECOVERED.
 * FB_SJ_NO_SAVEMASK: sigsetjmp(env, 0), so siglongjmp does not restore the
 * mask and SIGSEGV stays blocked after the first recovery; FB_SJ_NODEFER:
 * SA_NODEFER, so the handler runs with SIGSEGV unblocked. */
FB_EXPORT(sigsetjmp_recovery) int64_t fb_sigsetjmp_recovery(int64_t arg) {
    volatile int faults = (int)(arg & 0xFF);
    if (faults == 0) faults = 1;
    int savemask = !(arg & FB_SJ_NO_SAVEMASK);

    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    stack_t old_ss;
    if (sigaltstack(&ss, &old_ss) != 0) return -1;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsegv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | ((arg & FB_SJ_NODEFER) ? SA_NODEFER : 0);
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_sa) != 0) return -2;

    volatile int recovered = 0;
    for (volatile int i = 0; i < faults; i++) {
        if (sigsetjmp(recovery_point, savemask) == 0) {
            in_recovery = 1;
            *(volatile uint32_t *)opaque_null = 0xDEADBEEFu;
            in_recovery = 0;
            /* Not reached: the store faulted. */
        } else {
            in_recovery = 0;
            recovered++;
            progress(recovered);
            void (*report)(const char *) = fb_recovered_hook;
            if (report) {
                char line[160];
                snprintf(line, sizeof line,
                         "SIGSEGV at %p (fault %d of %d): the handler siglongjmp'd back to sigsetjmp(env, %d)",
                         fault_address, (int)recovered, (int)faults, savemask);
                report(line);
            }
        }
    }
    sigaction(SIGSEGV, &old_sa, 0);
    if (!(old_ss.ss_flags & SS_ONSTACK)) sigaltstack(&old_ss, 0);
    return recovered == faults ? FB_RECOVERED : recovered;
}
#endif

/* ------------------------------------------- a signal sent from outside */

#ifdef __wasm__
/* wasi-libc has no signals: nothing to install. Ready, then loop forever;
 * what a signal does to the worker running this is the host's to observe.
 * The loop is empty (and, with no controlling expression, may not be
 * assumed to end): it touches no linear memory, so a sent signal never
 * finds the pc at an engine's memory trap site, where wasmtime's Cranelift
 * handler, which matches the pc alone, would take it for a wild access. */
FB_EXPORT(await_signal) int64_t fb_await_signal(int64_t arg) {
    (void)arg;
    progress(1);
    for (;;) {
    }
}
#else
/* A volatile counter: every store is a real memory access the optimiser
 * must keep, so the spin burns CPU without a syscall or a sleep. */
static volatile uint64_t spins;
static sigjmp_buf signal_point;
static volatile sig_atomic_t awaiting;
static volatile sig_atomic_t caught_signal;

static void on_injected(int sig, siginfo_t *info, void *uctx) {
    (void)info, (void)uctx;
    if (!awaiting) {
        /* Not armed yet (or any more): the default action, as if no
         * handler had been installed. The signal is blocked inside the
         * handler, so raise() leaves it pending until the handler returns,
         * and it is then delivered with SIG_DFL. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    awaiting = 0;
    caught_signal = sig;
    siglongjmp(signal_point, 1);
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGCHLD: return "SIGCHLD";
    case SIGCONT: return "SIGCONT";
    case SIGSTOP: return "SIGSTOP";
    case SIGTSTP: return "SIGTSTP";
    case SIGXCPU: return "SIGXCPU";
    case SIGSYS: return "SIGSYS";
    default: return "?";
    }
}

/* The guest for a signal injected from outside: installs a handler for
 * signal `arg` (sigaction, SA_SIGINFO | SA_ONSTACK, on its own
 * sigaltstack, as sigsetjmp_recovery does) that siglongjmps back to a
 * sigsetjmp(env, 1), reports progress 1 (ready: the host sends the signal
 * now), then spins. When the handler brings control back it reports the
 * recovery through fb_recovered_hook, restores the old handler and
 * alternate stack, and returns arg. When sigaction refuses the signal
 * (SIGKILL, SIGSTOP, or no such signal) nothing is installed and the
 * scenario just spins: the kernel's action is what is observed. */
FB_EXPORT(await_signal) int64_t fb_await_signal(int64_t arg) {
    int sig = (int)arg;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_injected;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    awaiting = 0;
    if (arg <= 0 || arg > 64 || sigaction(sig, &sa, &old_sa) != 0) {
        progress(1);
        for (;;) spins++;
    }
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    stack_t old_ss;
    if (sigaltstack(&ss, &old_ss) != 0) {
        sigaction(sig, &old_sa, 0);
        return -1;
    }
    if (sigsetjmp(signal_point, 1) == 0) {
        awaiting = 1;
        progress(1);
        for (;;) spins++;
    }
    /* Back from the handler: siglongjmp restored the mask sigsetjmp saved,
     * so the signal is unblocked again. */
    sigaction(sig, &old_sa, 0);
    if (!(old_ss.ss_flags & SS_ONSTACK)) sigaltstack(&old_ss, 0);
    void (*report)(const char *) = fb_recovered_hook;
    if (report) {
        char line[160];
        snprintf(line, sizeof line, "signal %d (%s) caught: the handler siglongjmp'd back to sigsetjmp(env, 1)",
                 (int)caught_signal, signal_name((int)caught_signal));
        report(line);
    }
    return arg;
}

/* -------------------------------------- SIGBUS: a mapping cut under us */

/* A file mapping whose file shrinks under it: memfd_create (an anonymous
 * file in memory, so no writable filesystem is needed), ftruncate to 2
 * pages, mmap MAP_SHARED read/write, ftruncate to 0, progress 1, then a
 * store to the first page. The page lies wholly beyond the file's end, so
 * the fault has no page to map: the kernel sends SIGBUS (BUS_ADRERR). No
 * handler is installed. Native only: WASI preview 1 has no mmap. Returns
 * what the page holds if the store survives; -1..-3 when the setup fails. */
FB_EXPORT(sigbus_truncated_mapping) int64_t fb_sigbus_truncated_mapping(int64_t arg) {
    (void)arg;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    int fd = memfd_create("faultbox-sigbus", MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (ftruncate(fd, 2 * page) != 0) {
        close(fd);
        return -2;
    }
    void *map = mmap(0, (size_t)(2 * page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return -3;
    }
    if (ftruncate(fd, 0) != 0) {
        munmap(map, (size_t)(2 * page));
        close(fd);
        return -2;
    }
    sink = map;
    progress(1);
    volatile uint32_t *p = (volatile uint32_t *)map;
    *p = 0x5B05u; /* SIGBUS here */
    int64_t seen = *p;
    munmap(map, (size_t)(2 * page));
    close(fd);
    return seen;
}
#endif
