// Package main is faultbox's Go guest: one source, built twice.
//
//   - natively (`go build`, cgo on): `guest <scenario> <arg>`, see main_native.go;
//   - for wasm (`GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`):
//     a reactor exporting `fb_<scenario>` (int64) int64, see exports_wasip1.go.
//
// Every scenario is a func(int64) int64 registered in one table by name. The
// cgo scenarios live in scenarios_cgo.go (build constraint `cgo`), so the
// wasm build, where cgo is off, has no entry for them.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"unsafe"
)

// Scenario is one fault scenario. The argument comes from the host.
type Scenario func(arg int64) int64

// scenarios is the one table, by name. scenarios_cgo.go (cgo),
// scenarios_signal.go (native) and scenarios_sigbus.go (linux) add their
// entries from init.
var scenarios = map[string]Scenario{
	"clean_run":                 cleanRun,
	"health":                    func(int64) int64 { return health() },
	"go_plain_panic":            goPlainPanic,
	"seed_low_address":          seedLowAddress,
	"null_write":                nullWrite,
	"wild_write":                wildWrite,
	"wild_write_panic_on_fault": wildWritePanicOnFault,
	"recursion_small_frames":    recursionSmallFrames,
	"goroutine_panic":           goroutinePanic,
	"concurrent_map_writes":     concurrentMapWrites,
	"deadlock":                  deadlock,
	"go_out_of_memory":          goOutOfMemory,
	"checked_div_zero":          checkedDivZero,
	"checked_oob_index":         checkedOOBIndex,
	"nil_map_write":             nilMapWrite,
	"close_closed_channel":      closeClosedChannel,
	"unlock_unlocked_mutex":     unlockUnlockedMutex,
	"go_os_exit":                goOSExit,
	"await_signal":              awaitSignal,
}

// scenarioNames lists the table in a stable order.
func scenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HealthOK is what health returns when the runtime still works; the same
// constant as the Rust guest's HEALTH_OK.
const HealthOK int64 = 0x600D_F00D

// Values health returns when one of its checks fails.
const (
	HealthHeapBroken      int64 = 0xBAD_EA
	HealthGoroutineBroken int64 = 0xBAD_60
	HealthMapBroken       int64 = 0xBAD_3A
)

// sink keeps results alive so the compiler cannot drop the work.
var sink any

// health exercises the allocator, a goroutine (with a channel, so the
// scheduler must switch) and a map, and returns HealthOK when all agree.
func health() int64 {
	heap := make([]int64, 4096)
	for i := range heap {
		heap[i] = int64(i) * 3
	}
	sink = heap
	var sum int64
	for _, v := range heap {
		sum += v
	}
	if sum != 3*4095*4096/2 {
		return HealthHeapBroken
	}
	ch := make(chan int64)
	go func() {
		var s int64
		for i := int64(1); i <= 100; i++ {
			s += i
		}
		ch <- s
	}()
	if <-ch != 5050 {
		return HealthGoroutineBroken
	}
	m := make(map[string]int, 64)
	for i := 0; i < 64; i++ {
		m[fmt.Sprintf("k%d", i)] = i
	}
	if len(m) != 64 || m["k42"] != 42 {
		return HealthMapBroken
	}
	return HealthOK
}

// cleanRun does some honest work and returns a deterministic value: the
// total length of "word0".."word99" (590, like the Rust guest) plus arg.
func cleanRun(arg int64) int64 {
	words := make([]string, 0, 100)
	for i := 0; i < 100; i++ {
		words = append(words, fmt.Sprintf("word%d", i))
	}
	sink = words
	total := 0
	for _, w := range words {
		total += len(w)
	}
	return int64(total) + arg
}

func goPlainPanic(arg int64) int64 {
	panic(fmt.Sprintf("go_plain_panic: deliberate panic with arg %d", arg))
}

// seedLowAddress is the article's own example, verbatim.
func seedLowAddress(int64) int64 {
	*(*int)(unsafe.Pointer(uintptr(0x1))) = 42
	return 1
}

// nilTarget is a package-level nil pointer, so the compiler cannot prove
// the store below faults and fold it away.
var nilTarget *int64

func nullWrite(arg int64) int64 {
	*nilTarget = 0xDEADBEEF
	return arg
}

// wildAddress is a variable so the compiler does not see a constant pointer.
var wildAddress uintptr = 0xdeadbee0

func wildWrite(int64) int64 {
	*(*int64)(unsafe.Pointer(wildAddress)) = 42
	return 1
}

func wildWritePanicOnFault(arg int64) int64 {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	return wildWrite(arg)
}

// descend recurses without bound; every 1024 levels it reports its depth.
// The local array and the use of the result keep the call from becoming a
// loop (Go does no tail-call elimination anyway).
//
//go:noinline
func descend(depth int64) int64 {
	var frame [2]int64
	frame[0] = depth
	if depth%1024 == 0 {
		progress(depth)
	}
	frame[1] = descend(depth+1) ^ frame[0]
	return frame[1]
}

// recursionSmallFrames recurses until the runtime stops it. A positive arg
// lowers the goroutine stack limit first (debug.SetMaxStack(arg)); 0 keeps
// the default (1 GB on 64-bit platforms, wasm included).
func recursionSmallFrames(arg int64) int64 {
	if arg > 0 {
		old := debug.SetMaxStack(int(arg))
		defer debug.SetMaxStack(old)
	}
	return descend(1)
}

// goroutinePanic panics, unrecovered, in a second goroutine while the
// calling goroutine (the one with the deferred recover) waits for it.
func goroutinePanic(arg int64) int64 {
	done := make(chan int64)
	go func() {
		panic(fmt.Sprintf("goroutine_panic: unrecovered panic in another goroutine (arg %d)", arg))
	}()
	return <-done
}

// concurrentMapWrites has two goroutines write one map without a lock,
// started together on a barrier.
//
// Natively (GOMAXPROCS 2: two threads, whatever the machine or its cgroup
// gives) they write until the runtime catches one in the middle of the
// other's write: internal/runtime/maps throws `concurrent map writes`, in
// milliseconds once both threads run at the same time. Nothing else ends
// them: on a machine that never runs the two at once, the CPU budget does,
// and the run is a timeout, never a quiet success.
//
// In wasm Go has one thread and does not preempt (wasip1 has no threads
// and no signals): a goroutine runs until it blocks or yields, so two
// writes can never overlap however many there are. There each writer
// writes arg times (0: 32768), yielding every 4096 writes so that the two
// interleave, and the call returns the map's size if the runtime did not
// notice.
func concurrentMapWrites(arg int64) int64 {
	n := arg
	if n <= 0 {
		n = 32768
	}
	runtime.GOMAXPROCS(2)
	untilCaught := runtime.GOARCH != "wasm"
	m := make(map[int64]int64)
	var barrier, done sync.WaitGroup
	barrier.Add(2)
	for w := int64(0); w < 2; w++ {
		done.Add(1)
		go func(w int64) {
			defer done.Done()
			barrier.Done()
			barrier.Wait()
			for i := int64(0); untilCaught || i < n; i++ {
				m[i%4096] = i + w
				if i%4096 == 4095 {
					runtime.Gosched()
				}
			}
		}(w)
	}
	done.Wait()
	return int64(len(m))
}

// deadlock blocks the calling goroutine on a channel nobody will ever send
// on, with no other goroutine alive.
func deadlock(int64) int64 {
	never := make(chan int64)
	return <-never
}

// goOutOfMemory makes one slice of arg bytes (0: 1<<40) and touches it.
func goOutOfMemory(arg int64) int64 {
	n := arg
	if n <= 0 {
		n = 1 << 40
	}
	b := make([]byte, n)
	for i := int64(0); i < n; i += 4096 {
		b[i] = 1
	}
	sink = b
	return int64(len(b))
}

// zero is a variable so the division is not a compile-time error.
var zero int64

func checkedDivZero(arg int64) int64 {
	return (arg + 7) / zero
}

var oobSlice = []int64{1, 2, 3}

func checkedOOBIndex(arg int64) int64 {
	i := arg + 5
	return oobSlice[i]
}

func nilMapWrite(arg int64) int64 {
	var m map[string]int64
	m["faultbox"] = arg
	return int64(len(m))
}

func closeClosedChannel(int64) int64 {
	ch := make(chan int64)
	close(ch)
	close(ch)
	return 1
}

func unlockUnlockedMutex(int64) int64 {
	var mu sync.Mutex
	mu.Unlock()
	return 1
}

func goOSExit(int64) int64 {
	os.Exit(3)
	return 0
}

// spinState is what the busy loops work on: a package-level variable, so
// the compiler cannot drop the loop.
var spinState uint64

// spin burns CPU with no system call and no sleep. Every 10,000 iterations
// it asks poll (if not nil) whether to stop, and every 100,000 it calls
// runtime.Gosched so other goroutines (os/signal's, the GC's) can run.
// With a nil poll it never returns.
func spin(poll func() bool) {
	for i := uint64(1); ; i++ {
		spinState = spinState*6364136223846793005 + i
		if i%10_000 == 0 {
			if poll != nil && poll() {
				return
			}
			if i%100_000 == 0 {
				runtime.Gosched()
			}
		}
	}
}

// awaitSignal is the guest for an injected signal: it reports progress 1
// (ready: the host may send the signal now), then loops until the signal
// or the host's CPU budget ends it. arg is the signal number (unused here:
// no handler is installed beyond the Go runtime's own). The loop is empty
// on purpose: compiled to wasm it touches no linear memory, so a signal
// that lands while it runs never finds the pc at one of the engine's
// memory trap sites (wasmtime's Cranelift handler matches the pc alone, and
// would take a sent SIGSEGV there for a wild access of the guest's).
func awaitSignal(arg int64) int64 {
	progress(1)
	for {
	}
}
