//go:build cgo

package main

/*
#include <stdlib.h>

static void fb_c_abort(void) {
	abort();
}

static int *volatile fb_c_null = 0;

static void fb_c_null_write(long long v) {
	*fb_c_null = (int)v;
}
*/
import "C"

func init() {
	scenarios["cgo_abort"] = cgoAbort
	scenarios["cgo_null_write"] = cgoNullWrite
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
