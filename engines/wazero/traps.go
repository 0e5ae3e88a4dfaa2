package main

// From wazero's errors to faultbox's observations: the one table.
//
// wazero's trap values live in internal/wasmruntime (errors.go), a package
// an embedder cannot import, so errors.Is against them is impossible from
// here. The engines panic with one of those sentinels and the call engine
// wraps the recovered value (internal/wasmdebug/debug.go, FromRecovered):
//   - a *wasmruntime.Error:  fmt.Errorf("wasm error: %w\nwasm stack trace:...")
//   - a *sys.ExitError:      returned unwrapped
//   - a runtime.Error:       "%w (recovered by wazero)\nwasm stack trace:..." + Go stack
//   - another error value:   "%w (recovered by wazero)\nwasm stack trace:..."
//   - anything else:         "%v (recovered by wazero)\nwasm stack trace:..."
// So the table matches the unwrapped error's dynamic type
// (*wasmruntime.Error) and its exact text, which is the sentinel's.

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// trapTable: wazero v1.12.0 internal/wasmruntime/errors.go, sentinel text
// → faultbox code ("" = no faultbox code: reported as failed, never guessed).
var trapTable = []struct{ text, code string }{
	// ErrRuntimeStackOverflow: the compiler's stack passed callStackCeiling
	// (wazevo/call_engine.go), the interpreter's frames passed 2000
	// (interpreter/interpreter.go, pushFrame).
	{"stack overflow", "stack_overflow"},
	// ErrRuntimeInvalidConversionToInteger: trunc of NaN.
	{"invalid conversion to integer", "bad_conversion_to_integer"},
	// ErrRuntimeIntegerOverflow: INT_MIN / -1, and trunc of a float out of
	// the integer's range (wasmtime says "integer overflow" for it too).
	{"integer overflow", "integer_overflow"},
	// ErrRuntimeIntegerDivideByZero: div or rem by zero.
	{"integer divide by zero", "integer_division_by_zero"},
	// ErrRuntimeUnreachable: the unreachable instruction.
	{"unreachable", "unreachable_code_reached"},
	// ErrRuntimeOutOfBoundsMemoryAccess: loads, stores, bulk memory.
	{"out of bounds memory access", "memory_out_of_bounds"},
	// ErrRuntimeInvalidTableAccess: an index past the table AND a null
	// entry in call_indirect (wazevo/module_engine.go, interpreter.go:701):
	// wazero does not tell them apart, and faultbox's unspecific code says
	// so (it stands for table_out_of_bounds and indirect_call_to_null).
	{"invalid table access", "invalid_table_access"},
	// ErrRuntimeIndirectCallTypeMismatch: call_indirect's signature check.
	{"indirect call type mismatch", "bad_signature"},
	// ErrRuntimeUnalignedAtomic: an atomic access not naturally aligned.
	{"unaligned atomic", "heap_misaligned"},
	// ErrRuntimeExpectedSharedMemory: memory.atomic.wait on unshared memory.
	{"expected shared memory", "atomic_wait_non_shared_memory"},
	// ErrRuntimeTooManyWaiters: more than 2^32 waiters; faultbox has no code.
	{"too many waiters", ""},
	// ErrRuntimeUncaughtException: a throw no try_table caught.
	{"uncaught exception", "uncaught_exception"},
	// ErrRuntimeNullReference: call_ref / ref.as_non_null on null.
	{"null reference", "null_reference"},
}

// wasmErrorType is the %T of wazero's trap values.
const wasmErrorType = "*wasmruntime.Error"

// trapOf finds wazero's trap value in err's chain: its faultbox code, its
// text; ok false when err holds none.
func trapOf(err error) (code, text string, ok bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if fmt.Sprintf("%T", e) != wasmErrorType {
			continue
		}
		for _, row := range trapTable {
			if row.text == e.Error() {
				return row.code, row.text, true
			}
		}
		return "", e.Error(), true
	}
	return "", "", false
}

var dataSegmentOOB = regexp.MustCompile(`^data\[\d+\]: out of bounds memory access$`)

// hostOpError is a host function's refusal. A wazero host function has no
// error result: the way it fails is a panic with an error value, which
// wazero returns wrapped with %w (debug.go: "%w (recovered by wazero)").
type hostOpError struct{ msg string }

func (e *hostOpError) Error() string { return e.msg }

// recoveredSuffix is how wazero marks a Go panic it recovered in a call.
const recoveredSuffix = " (recovered by wazero)"

// endingOf reads how a call that returned err ended. cancelled says the
// watchdog cancelled the call's context.
func endingOf(err error, cancelled bool, modName string) ending {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		code := exit.ExitCode()
		if code == sys.ExitCodeContextCanceled || code == sys.ExitCodeDeadlineExceeded {
			if cancelled {
				return trapped("interrupt", "the call's budget ran out: faultbox cancelled its context and wazero closed the module ("+exit.Error()+"); the instance is dead, the runtime, its compiled modules and the process go on", nil)
			}
			return failedEnding(exit.Error())
		}
		// proc_exit(n): wazero closes the module with n (sys/error.go).
		return exited(int32(code))
	}
	var refused *hostOpError
	if errors.As(err, &refused) {
		return hostError(refused.msg)
	}
	if code, text, ok := trapOf(err); ok {
		if code == "" {
			return failedEnding("unrecognised trap: " + text)
		}
		return trapped(code, "wasm error: "+text, frames(err, modName))
	}
	msg := err.Error()
	if dataSegmentOOB.MatchString(msg) {
		// Not a trap value: instantiation's own error for an active data
		// segment that does not fit (internal/wasm/store.go applyData,
		// "%s[%d]: out of bounds memory access"), a trap by the spec.
		return trapped("memory_out_of_bounds", msg, nil)
	}
	if i := strings.Index(msg, recoveredSuffix); i >= 0 {
		// A Go panic in a host function (ours, or wazero's WASI), recovered
		// by wazero's call engine and returned as this error.
		return hostPanic(msg[:i])
	}
	return failedEnding(firstLine(msg))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// frames: function names of wazero's wasm stack trace, innermost first
// (at most wasmdebug.MaxFrames = 30), module name dropped, Rust symbols
// demangled as wasmtime's backtrace shows them.
func frames(err error, modName string) []string {
	msg := err.Error()
	i := strings.Index(msg, "wasm stack trace:\n")
	if i < 0 {
		return []string{}
	}
	out := []string{}
	for _, line := range strings.Split(msg[i+len("wasm stack trace:\n"):], "\n") {
		if !strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "\t\t") {
			if line == "" || !strings.HasPrefix(line, "\t") {
				break
			}
			continue
		}
		name := strings.TrimPrefix(line, "\t")
		if strings.HasPrefix(name, "...") {
			break
		}
		if p := strings.IndexByte(name, '('); p >= 0 {
			name = name[:p]
		}
		// wazero writes "<module>.<func>" (wasmdebug.FuncName), the module
		// named by its name section, and "$<index>" for a nameless function.
		name = strings.TrimPrefix(name, modName+".")
		if strings.HasPrefix(name, "$") {
			name = "func[" + name[1:] + "]"
		}
		if k := strings.Index(name, ".llvm."); k > 0 {
			name = name[:k]
		}
		out = append(out, shortName(name))
	}
	return out
}

// shortName demangles a legacy Rust symbol (_ZN...E) without its hash and
// drops the guest crate's prefix, as wasmtime's backend shows frames.
func shortName(name string) string {
	if strings.HasPrefix(name, "_R") {
		if d, ok := demangleV0(name[2:]); ok {
			return strings.TrimPrefix(d, "faultbox_guests::")
		}
		return name
	}
	if !strings.HasPrefix(name, "_ZN") {
		return name
	}
	s := name[3:]
	var parts []string
	for len(s) > 0 && s[0] != 'E' {
		n := 0
		for len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
			n = n*10 + int(s[0]-'0')
			s = s[1:]
		}
		if n == 0 || n > len(s) {
			return name
		}
		parts = append(parts, s[:n])
		s = s[n:]
	}
	if k := len(parts); k > 0 && len(parts[k-1]) == 17 && parts[k-1][0] == 'h' {
		parts = parts[:k-1]
	}
	r := strings.NewReplacer("$LT$", "<", "$GT$", ">", "$u20$", " ", "$RF$", "&", "$C$", ",", "$u7b$", "{", "$u7d$", "}", "..", "::", "$BP$", "*")
	for i := range parts {
		parts[i] = r.Replace(parts[i])
	}
	joined := strings.Join(parts, "::")
	return strings.TrimPrefix(joined, "faultbox_guests::")
}

// demangleV0 reads the part of Rust's v0 mangling that guest symbols use
// (crate roots, nested value/type paths, closures, back-references), as
// rustc_demangle's "{:#}" prints it; anything else is not demangled.
func demangleV0(s string) (string, bool) {
	var path func(i int, depth int) (string, int, bool)
	base62 := func(i int) (int, int, bool) {
		if i < len(s) && s[i] == '_' {
			return 0, i + 1, true
		}
		v := 0
		for ; i < len(s) && s[i] != '_'; i++ {
			c := s[i]
			switch {
			case c >= '0' && c <= '9':
				v = v*62 + int(c-'0')
			case c >= 'a' && c <= 'z':
				v = v*62 + int(c-'a') + 10
			case c >= 'A' && c <= 'Z':
				v = v*62 + int(c-'A') + 36
			default:
				return 0, i, false
			}
		}
		if i >= len(s) {
			return 0, i, false
		}
		return v + 1, i + 1, true
	}
	disamb := func(i int) (int, int, bool) {
		if i < len(s) && s[i] == 's' {
			return base62(i + 1)
		}
		return 0, i, true
	}
	ident := func(i int) (string, int, bool) {
		n := 0
		j := i
		for ; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
			n = n*10 + int(s[j]-'0')
		}
		if j == i {
			return "", i, false
		}
		if j < len(s) && s[j] == '_' {
			j++
		}
		if j+n > len(s) {
			return "", i, false
		}
		return s[j : j+n], j + n, true
	}
	path = func(i int, depth int) (string, int, bool) {
		if i >= len(s) || depth > 32 {
			return "", i, false
		}
		switch s[i] {
		case 'C':
			_, j, ok := disamb(i + 1)
			if !ok {
				return "", i, false
			}
			return ident(j)
		case 'N':
			if i+1 >= len(s) {
				return "", i, false
			}
			ns := s[i+1]
			inner, j, ok := path(i+2, depth+1)
			if !ok {
				return "", i, false
			}
			d, j, ok := disamb(j)
			if !ok {
				return "", i, false
			}
			name, j, ok := ident(j)
			if !ok {
				return "", i, false
			}
			if ns == 'C' {
				return fmt.Sprintf("%s::{closure#%d}", inner, d), j, true
			}
			if ns >= 'A' && ns <= 'Z' && name == "" {
				return fmt.Sprintf("%s::{%c#%d}", inner, ns, d), j, true
			}
			return inner + "::" + name, j, true
		case 'B':
			at, j, ok := base62(i + 1)
			if !ok {
				return "", i, false
			}
			// Back-references count from after "_R"; base62 adds one.
			p, _, ok := path(at-1, depth+1)
			return p, j, ok
		}
		return "", i, false
	}
	out, _, ok := path(0, 0)
	return out, ok
}
