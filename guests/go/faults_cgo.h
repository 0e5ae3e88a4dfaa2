// Declarations of the C side of the cgo scenarios (defined in faults_cgo.c).
// Only declarations: callbacks_cgo.go, which has //export, includes this.
#ifndef FAULTBOX_FAULTS_CGO_H
#define FAULTBOX_FAULTS_CGO_H

// cgo_callback_panic: calls the exported Go function goCallbackPanic.
void fb_call_go_callback_panic(void);

// cgo_sigbus: a 2-page MAP_SHARED mapping of a memfd already truncated to
// 0, or NULL (errno set) on a setup failure; then the store into it.
void *fb_c_truncated_mapping(void);
void fb_c_store(void *p, int v);

// cgo_longjmp_across_go: setjmp, then call the exported Go function
// goLongjmpCallback, which calls fb_longjmp_back: longjmp across Go frames.
// Returns 1 when setjmp returned through the longjmp, 0 otherwise.
int fb_setjmp_then_call_go(void);
void fb_longjmp_back(void);

// cgo_longjmp_within_c: setjmp, then a C helper longjmps back, all within
// one cgo call. Returns 1 on the longjmp path.
int fb_setjmp_longjmp_within_c(void);

// A trivial C function: a plain cgo call after the longjmp.
int fb_c_add_one(int x);

#endif
