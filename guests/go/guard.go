package main

import (
	"fmt"
	"strings"
)

// outcome is how one guarded scenario call ended in Go's terms.
type outcome struct {
	value     int64  // the scenario's return value (when not recovered)
	recovered bool   // the deferred recover caught a panic
	panicType string // %T of the recovered value, e.g. runtime.boundsError
	message   string // fmt.Sprint of the recovered value, on one line
	addr      uintptr
	hasAddr   bool // the recovered value has Addr() (a SetPanicOnFault fault)
}

// maxMessage bounds a recovered message so a report line stays well below
// PIPE_BUF (4096) and is written atomically.
const maxMessage = 1000

// guard runs s(arg) inside `defer func() { r := recover() ... }()`, the
// mechanism whose reach faultbox measures. The scenario is called through a
// wrapper frame with its own deferred call, so every scenario has a defer
// below the recover; both report `deferred <label>` as the first thing they
// do (natively; a no-op in wasm), so the host sees which defers ran. A panic
// in s still unwinds through the wrapper (running its defer) to the recover.
func guard(s Scenario, arg int64) (o outcome) {
	defer func() {
		deferred("recover")
		r := recover()
		if r == nil {
			return
		}
		o.recovered = true
		o.panicType = fmt.Sprintf("%T", r)
		o.message = oneLine(fmt.Sprint(r))
		if a, ok := r.(interface{ Addr() uintptr }); ok {
			o.addr, o.hasAddr = a.Addr(), true
		}
	}()
	func() {
		defer deferred("scenario")
		o.value = s(arg)
	}()
	return o
}

// oneLine escapes backslashes and line breaks and truncates to maxMessage.
func oneLine(s string) string {
	s = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(s)
	if len(s) > maxMessage {
		s = s[:maxMessage]
	}
	return s
}
