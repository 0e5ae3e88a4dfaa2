//go:build wasip1

// The wasm guest: a WASI preview 1 reactor (-buildmode=c-shared). The host
// must call the `_initialize` export once before anything else; then each
// scenario is the export `fb_<name>` (i64) -> i64 and the health check is
// `fb_health` () -> i64. Imports come from module `fb` (the same module the
// Rust guest imports from) and from wasi_snapshot_preview1 (the Go runtime's
// own calls). See README.md.
//
// This file is written by hand, one export per table entry;
// characterise.py checks that the exports and `guest list` agree.
package main

import (
	"runtime"
	"unsafe"
)

//go:wasmimport fb progress
func fbProgress(value int64)

//go:wasmimport fb panic_message
func fbPanicMessage(ptr unsafe.Pointer, n uint32)

// progress is the scenarios' progress hook.
func progress(n int64) { fbProgress(n) }

// deferred is a no-op in wasm: there is no report fd (natively it reports
// `deferred <label>`).
func deferred(label string) {}

// RecoveredValue is what an export returns when its deferred recover
// caught a panic. The value is only a marker: the fact of recovery is the
// fb.panic_message call that precedes the return.
const RecoveredValue int64 = 0x7EC0_7E7ED

// exported runs a scenario under the same deferred recover as the native
// guest. On recovery it hands "<%T> <message>" to fb.panic_message (with
// " fault_addr=0x..." appended for a SetPanicOnFault fault) and returns
// RecoveredValue.
func exported(s Scenario, arg int64) int64 {
	o := guard(s, arg)
	if !o.recovered {
		return o.value
	}
	msg := o.panicType + " " + o.message
	if o.hasAddr {
		msg += " fault_addr=0x" + hex(uint64(o.addr))
	}
	fbPanicMessage(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
	return RecoveredValue
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

// main is not run in a c-shared build; the package still needs one.
func main() {}

//go:wasmexport fb_health
func fbHealth() int64 { return exported(func(int64) int64 { return health() }, 0) }

//go:wasmexport fb_clean_run
func fbCleanRun(arg int64) int64 { return exported(scenarios["clean_run"], arg) }

//go:wasmexport fb_go_plain_panic
func fbGoPlainPanic(arg int64) int64 { return exported(scenarios["go_plain_panic"], arg) }

//go:wasmexport fb_seed_low_address
func fbSeedLowAddress(arg int64) int64 { return exported(scenarios["seed_low_address"], arg) }

//go:wasmexport fb_null_write
func fbNullWrite(arg int64) int64 { return exported(scenarios["null_write"], arg) }

//go:wasmexport fb_wild_write
func fbWildWrite(arg int64) int64 { return exported(scenarios["wild_write"], arg) }

//go:wasmexport fb_wild_write_panic_on_fault
func fbWildWritePanicOnFault(arg int64) int64 {
	return exported(scenarios["wild_write_panic_on_fault"], arg)
}

//go:wasmexport fb_recursion_small_frames
func fbRecursionSmallFrames(arg int64) int64 {
	return exported(scenarios["recursion_small_frames"], arg)
}

//go:wasmexport fb_goroutine_panic
func fbGoroutinePanic(arg int64) int64 { return exported(scenarios["goroutine_panic"], arg) }

//go:wasmexport fb_concurrent_map_writes
func fbConcurrentMapWrites(arg int64) int64 { return exported(scenarios["concurrent_map_writes"], arg) }

//go:wasmexport fb_deadlock
func fbDeadlock(arg int64) int64 { return exported(scenarios["deadlock"], arg) }

//go:wasmexport fb_go_out_of_memory
func fbGoOutOfMemory(arg int64) int64 { return exported(scenarios["go_out_of_memory"], arg) }

//go:wasmexport fb_checked_div_zero
func fbCheckedDivZero(arg int64) int64 { return exported(scenarios["checked_div_zero"], arg) }

//go:wasmexport fb_checked_oob_index
func fbCheckedOobIndex(arg int64) int64 { return exported(scenarios["checked_oob_index"], arg) }

//go:wasmexport fb_nil_map_write
func fbNilMapWrite(arg int64) int64 { return exported(scenarios["nil_map_write"], arg) }

//go:wasmexport fb_close_closed_channel
func fbCloseClosedChannel(arg int64) int64 { return exported(scenarios["close_closed_channel"], arg) }

//go:wasmexport fb_unlock_unlocked_mutex
func fbUnlockUnlockedMutex(arg int64) int64 { return exported(scenarios["unlock_unlocked_mutex"], arg) }

//go:wasmexport fb_go_os_exit
func fbGoOsExit(arg int64) int64 { return exported(scenarios["go_os_exit"], arg) }

//go:wasmexport fb_await_signal
func fbAwaitSignal(arg int64) int64 { return exported(scenarios["await_signal"], arg) }
