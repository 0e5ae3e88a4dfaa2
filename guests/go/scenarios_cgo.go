//go:build cgo

package main

/*
#include <stdlib.h>
#include "faults_cgo.h"

static void fb_c_abort(void) {
	abort();
}

static int *volatile fb_c_null = 0;

static void fb_c_null_write(long long v) {
	*fb_c_null = (int)v;
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
)

func init() {
	scenarios["cgo_abort"] = cgoAbort
	scenarios["cgo_null_write"] = cgoNullWrite
	scenarios["cgo_callback_panic"] = cgoCallbackPanic
	scenarios["cgo_sigbus"] = cgoSigbus
	scenarios["cgo_longjmp_across_go"] = cgoLongjmpAcrossGo
	scenarios["cgo_longjmp_within_c"] = cgoLongjmpWithinC
}

// cgoAbort calls C's abort() through cgo.
func cgoAbort(int64) int64 {
	C.fb_c_abort()
	return 1
}

// cgoNullWrite has C code store through a NULL pointer.
func cgoNullWrite(arg int64) int64 {
	C.fb_c_null_write(C.longlong(arg))
	return 1
}

// cgoCallbackPanic calls C, which calls the exported Go function
// goCallbackPanic (callbacks_cgo.go), which panics: guard's recover sits
// above the C frames.
func cgoCallbackPanic(int64) int64 {
	C.fb_call_go_callback_panic()
	return 1
}

// cgoSigbus is sigbus_truncated_mapping done in C: C maps a 2-page memfd
// MAP_SHARED and truncates it to 0 (one cgo call), progress 1, then C
// stores to the first page (a second cgo call): SIGBUS while in C.
// A setup failure returns -1 (message on stderr).
func cgoSigbus(arg int64) int64 {
	p, err := C.fb_c_truncated_mapping()
	if p == nil {
		fmt.Fprintln(os.Stderr, "cgo_sigbus: setup:", err)
		return -1
	}
	progress(1)
	C.fb_c_store(p, C.int(arg|1))
	return 1
}

// exerciseRuntime checks, after a longjmp, that the runtime still works:
// a goroutine and a channel (progress 3), a GC (progress 4), another cgo
// call (progress 5), an allocation (progress 6).
func exerciseRuntime() {
	ch := make(chan int64)
	go func() { ch <- 42 }()
	if v := <-ch; v != 42 {
		fmt.Fprintln(os.Stderr, "exerciseRuntime: goroutine sent", v)
	}
	progress(3)
	runtime.GC()
	progress(4)
	if v := C.fb_c_add_one(41); v != 42 {
		fmt.Fprintln(os.Stderr, "exerciseRuntime: fb_c_add_one(41) =", v)
	}
	progress(5)
	b := make([]byte, 1<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	sink = b
	progress(6)
}

// cgoLongjmpAcrossGo: C setjmp, C calls the exported Go goLongjmpCallback,
// which calls C fb_longjmp_back, which longjmps to the setjmp: the jump
// skips the Go callback's frames and the runtime's cgocallback frames
// (undefined in Go). progress 1 before the C call, 2 once it returned,
// then exerciseRuntime (3-6). Returns 1 if setjmp returned through the
// longjmp. Whatever happens is the observation.
func cgoLongjmpAcrossGo(int64) int64 {
	progress(1)
	r := C.fb_setjmp_then_call_go()
	progress(2)
	exerciseRuntime()
	return int64(r)
}

// cgoLongjmpWithinC: setjmp and longjmp within one cgo call (supported),
// then the same exercise; returns 1 on the longjmp path.
func cgoLongjmpWithinC(int64) int64 {
	progress(1)
	r := C.fb_setjmp_longjmp_within_c()
	progress(2)
	exerciseRuntime()
	return int64(r)
}
