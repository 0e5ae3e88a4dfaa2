/* The C guest's ABI, shared by scenarios.c and the native driver.
 *
 * wasm (wasm32-wasi reactor): every scenario is the export
 *   fb_<name>: (i64) -> i64, plus fb_health: () -> i64,
 * and progress goes out through the import fb.progress(i64).
 *
 * native (libguest.so): the same names are plain external symbols
 *   int64_t fb_<name>(int64_t arg);  int64_t fb_health(void);
 * and progress goes through the data symbol fb_progress_hook, a function
 * pointer the host assigns after dlopen (NULL: progress is dropped); a
 * recovery (sigsetjmp_recovery's handler brought control back) through
 * fb_recovered_hook, void (*)(const char *line), likewise.
 */
#ifndef FAULTBOX_GUEST_C_SCENARIOS_H
#define FAULTBOX_GUEST_C_SCENARIOS_H

#include <stdint.h>

/* What fb_health returns when the instance/process is sound (the Rust and
 * Go guests' HEALTH_OK). */
#define FB_HEALTH_OK 0x600DF00DLL
/* fb_health's failure values: the canary in static data was overwritten;
 * a fresh heap block did not hold what was written; the allocator returned
 * NULL for a small block. */
#define FB_HEALTH_CANARY_DAMAGED 0xBADCALL
#define FB_HEALTH_HEAP_BROKEN 0xBADEALL
#define FB_HEALTH_NO_MEMORY 0xBAD0ALL

/* What sigsetjmp_recovery returns when every fault it provoked came back
 * through the handler's siglongjmp (the Go guest's RecoveredValue). */
#define FB_RECOVERED 0x7EC07E7EDLL

/* sigsetjmp_recovery's arg: the low byte is the number of null writes to
 * provoke (0 means 1); the flags below change how it recovers. */
#define FB_SJ_NO_SAVEMASK 0x100 /* sigsetjmp(env, 0): siglongjmp keeps the handler's mask */
#define FB_SJ_NODEFER 0x200     /* SA_NODEFER: SIGSEGV is not blocked inside the handler */

/* The scenario names, in catalog order. X(name) for each; the wasm build
 * has no sigsetjmp_recovery and no sigbus_truncated_mapping (NATIVE_ONLY:
 * wasi-libc has no signals, setjmp or mmap). await_signal exists in both:
 * natively it catches the signal `arg` sent from outside, in wasm it only
 * spins. */
#define FB_SCENARIOS(X, NATIVE_ONLY) \
    X(clean_run)                     \
    X(null_write)                    \
    X(null_read)                     \
    X(wild_write)                    \
    X(recursion_small_frames)        \
    X(recursion_large_frames)        \
    X(hardware_div_zero)             \
    X(int_min_div_neg_one)           \
    X(explicit_abort)                \
    X(trap_instruction)              \
    X(double_free)                   \
    X(use_after_free)                \
    X(unchecked_oob_access)          \
    X(memory_bomb)                   \
    NATIVE_ONLY(sigsetjmp_recovery)  \
    X(await_signal)                  \
    NATIVE_ONLY(sigbus_truncated_mapping)

#endif
