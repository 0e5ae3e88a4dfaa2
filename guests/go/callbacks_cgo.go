//go:build cgo

package main

// A file with //export may only have declarations in its preamble (the
// preamble is copied into _cgo_export.h and compiled twice): the C
// definitions are in faults_cgo.c.

/*
#include "faults_cgo.h"
*/
import "C"

// goCallbackPanic is called from C (fb_call_go_callback_panic), itself
// called from Go under guard: the panic has C frames between it and the
// recover.
//
//export goCallbackPanic
func goCallbackPanic() {
	defer deferred("callback")
	panic("panic in a Go callback called from C")
}

// goLongjmpCallback is called from C (fb_setjmp_then_call_go) and calls C
// again (fb_longjmp_back), which longjmps to the setjmp in the outer C
// frame: across this function's frame and the runtime's callback frames
// (undefined in Go). Its deferred call is there to show whether it runs.
//
//export goLongjmpCallback
func goLongjmpCallback() {
	defer deferred("callback")
	C.fb_longjmp_back()
}
