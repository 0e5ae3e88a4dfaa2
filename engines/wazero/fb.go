package main

// The `fb` host module (the contract of host/src/wasm/*/imports.rs), the
// per-instance state its functions record into, the host operations as a
// Go host would really do them, and the memory allocator that enforces
// limits.memory_mib and records what it refused.

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// runState is one instance's: what the guest reported while it ran. It
// reaches the host functions through the call's context (one fb module
// per runtime serves every instance).
type runState struct {
	progress       *[2]int64 // last, reports
	guestPanic     *string
	hostCall       string // in flight; cleared when it returns normally
	output         tailBuffer
	stdout, stderr *tailBuffer // WASI only
	refused        []string
	memCap         uint64
	initOverCap    uint64 // pages of a declared minimum over the cap, if one was
	// readyWanted: the call's first progress report says `ready` (an
	// injected signal waits for it), once.
	readyWanted bool
}

type stateKey struct{}

func stateOf(ctx context.Context) *runState {
	st, _ := ctx.Value(stateKey{}).(*runState)
	if st == nil {
		// A host function called outside a run: a bug of this adapter.
		panic("fb host function called without run state")
	}
	return st
}

// refusalsKept: a guest that asks in a loop is not a log (as wasmtime's limiter).
const refusalsKept = 8

func humanBytes(n uint64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// capAllocator backs each linear memory with a Go slice that may not grow
// past memCap. wazero's own limit (RuntimeConfig.WithMemoryLimitPages)
// makes memory.grow return -1 without telling the embedder
// (internal/wasm/memory.go, Grow: `newPages > m.Max` → false); wazero asks
// an experimental.MemoryAllocator for every growth the module's own max
// allows, and a nil from Reallocate is the same -1, so a cap enforced here
// is the same limit, and it can say what it refused.
type capAllocator struct{ st *runState }

func (a capAllocator) Allocate(capBytes, maxBytes uint64) experimental.LinearMemory {
	return &linearMemory{st: a.st, max: maxBytes}
}

type linearMemory struct {
	st   *runState
	buf  []byte
	max  uint64
	made bool // the first Reallocate, the declared minimum, is done
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	first := !m.made
	m.made = true
	if size > m.st.memCap {
		if len(m.st.refused) < refusalsKept {
			m.st.refused = append(m.st.refused, fmt.Sprintf("growth of a linear memory from %s to %s refused by the store limit (%d MiB)",
				humanBytes(uint64(len(m.buf))), humanBytes(size), m.st.memCap>>20))
		}
		if !first {
			return nil
		}
		// The declared minimum: wazero indexes the result at once
		// (NewMemoryInstance), so it is allocated, and the run refuses the
		// instance after instantiation, as wasmtime refuses it.
		m.st.initOverCap = size / 65536
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Amortised growth, bounded by the cap and the memory's maximum.
	c := max(size, 2*uint64(cap(m.buf)))
	c = min(c, max(size, min(m.st.memCap, m.max)))
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *linearMemory) Free() { m.buf = nil }

var _ experimental.MemoryAllocator = capAllocator{}

// readGuest reads guest memory [ptr, ptr+len), at most limit bytes (less
// where the range leaves memory).
func readGuest(mod api.Module, ptr, n uint32, limit uint32) []byte {
	mem := mod.ExportedMemory("memory")
	if mem == nil {
		return nil
	}
	size := mem.Size()
	start := min(ptr, size)
	end := min(uint64(start)+uint64(min(n, limit)), uint64(size))
	b, _ := mem.Read(start, uint32(end)-start)
	return append([]byte(nil), b...)
}

// Host operations (guests/rust/src/host.rs HostOp).
var hostOpNames = []string{"echo", "fail", "panic", "stack_overflow", "bad_pointer"}

func mayKillHost(op int32) bool { return op == 2 || op == 3 || op == 4 }

func defineFb(ctx context.Context, rt wazero.Runtime) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	b := rt.NewHostModuleBuilder("fb")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
		st := stateOf(ctx)
		reports := int64(1)
		if st.progress != nil {
			reports = st.progress[1] + 1
		}
		st.progress = &[2]int64{int64(stack[0]), reports}
		if st.readyWanted {
			st.readyWanted = false
			send("ready", map[string]string{})
		}
	}), []api.ValueType{i64}, nil).Export("progress")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		st := stateOf(ctx)
		s := string([]rune(string(readGuest(mod, uint32(stack[0]), uint32(stack[1]), 4096))))
		st.guestPanic = &s
	}), []api.ValueType{i32, i32}, nil).Export("panic_message")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		st := stateOf(ctx)
		ptr, n := uint32(stack[0]), uint32(stack[1])
		keep := min(n, outputTailBytes)
		// Only the tail is copied; the rest is counted, as is any part of
		// the range outside memory.
		bytes := readGuest(mod, ptr+(n-keep), keep, keep)
		st.output.push(bytes)
		st.output.countSkipped(uint64(n) - uint64(len(bytes)))
	}), []api.ValueType{i32, i32}, nil).Export("write")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
		st := stateOf(ctx)
		op := int32(stack[0])
		if op < 0 || int(op) >= len(hostOpNames) {
			// The guest chose the number: its mistake ends its own call.
			panic(&hostOpError{fmt.Sprintf("unknown host operation %d", op)})
		}
		st.hostCall = hostOpNames[op]
		if mayKillHost(op) {
			send("host_call", map[string]string{"op": hostOpNames[op]})
		}
		stack[0] = uint64(perform(op))
		st.hostCall = ""
	}), []api.ValueType{i32}, []api.ValueType{i64}).Export("host_call")
	_, err := b.Instantiate(ctx)
	return err
}

// perform runs a host operation as a Go plugin host would.
func perform(op int32) int64 {
	switch op {
	case 1:
		// wazero host functions have no error result; failing is a panic
		// with an error value, which the call returns wrapped (%w).
		panic(&hostOpError{"host function refused the call: permission denied for this plugin"})
	case 2:
		panic("host function panicked while serving the guest")
	case 3:
		return int64(recurseInHost(0))
	case 4:
		return int64(readBadPointer())
	}
	return int64(op)
}

// recurseInHost recurses without end, with a frame big enough to reach
// the goroutine stack's limit (debug.SetMaxStack in main) quickly. Go
// grows the stack until the limit, then the runtime dies: "fatal error:
// stack overflow", which no recover catches.
//
//go:noinline
func recurseInHost(depth uint64) uint64 {
	var frame [64]uint64
	frame[depth%64] = depth
	return recurseInHost(depth+1) + frame[7]
}

// readBadPointer reads through a wild pointer. Go turns a fault at a
// non-nil address into "unexpected fault address", fatal (unless
// debug.SetPanicOnFault, which the adapter does not set: a Go plugin host
// does not either).
func readBadPointer() uint64 {
	var p *uint64
	// The address is written into the pointer's own bytes, so that no
	// integer-to-pointer conversion is needed.
	*(*uintptr)(unsafe.Pointer(&p)) = addrBad
	return *p
}

var addrBad uintptr = 0xDEADBEE0
