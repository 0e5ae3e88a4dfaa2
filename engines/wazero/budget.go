package main

// The CPU budget. wazero stops a guest only through its call's context
// (RuntimeConfig.WithCloseOnContextDone: compiled code and the interpreter
// check the module's close flag at loop headers only: wazevo/frontend/lower.go
// and interpreter/compiler.go at OpcodeLoop), so a watchdog
// goroutine cancels that context when the calling thread's CPU time
// reaches the budget, or the wall clock its backstop.
//
// Which clock: the calling goroutine is locked to the main thread (main.go
// init), and the watchdog reads that thread's own CPU clock from outside
// with clock_gettime on the thread's clock id (what faultbox's watchdog
// does with pthread_getcpuclockid). getrusage(RUSAGE_THREAD) would need
// the guest's thread itself to ask, which it cannot while in wasm;
// RUSAGE_SELF minus a baseline would also charge the guest for the GC's
// and the watchdog's own threads.

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// threadCPUClock is Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED).
func threadCPUClock(tid int) int32 {
	return int32((^uint32(tid))<<3 | 4 | 2)
}

func cpuTime(clock int32) time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(clock), uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// stuck says on stderr, once, that a cancelled call goes on: wazero looks
// at the close flag only at loop headers (wazevo/frontend/lower.go,
// OpcodeLoop; interpreter/compiler.go), so code that never enters a loop
// (unbounded tail calls, a long straight run of calls) cannot be stopped
// from outside. The process stays as a Go host would be: busy in the call
// until killed.
func stuck(done <-chan struct{}) {
	select {
	case <-done:
	case <-time.After(time.Second):
		fmt.Fprintln(os.Stderr, "wazero-adapter: the call went on 1 s after its context was cancelled: wazero checks for cancellation only at loop headers, and this code enters none")
	}
}

// wallBackstop is limits.rs's: a guest that is not running at all.
func wallBackstop(cpu time.Duration) time.Duration { return cpu*10 + 5*time.Second }

type watchdog struct {
	clock int32
}

func newWatchdog() *watchdog {
	return &watchdog{clock: threadCPUClock(syscall.Gettid())}
}

// run calls f with a context the watchdog cancels when the budget runs
// out; c.end is nil when f returned no error.
func (w *watchdog) run(base context.Context, budget time.Duration, modName string, f func(context.Context) error) called {
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	started := time.Now()
	cpu0 := cpuTime(w.clock)
	wallUntil := started.Add(wallBackstop(budget))
	done := make(chan struct{})
	fired := make(chan string, 1)
	go func() {
		for {
			used := cpuTime(w.clock) - cpu0
			now := time.Now()
			switch {
			case used >= budget:
				fired <- "cpu"
				cancel()
				stuck(done)
				return
			case !now.Before(wallUntil):
				fired <- "wall"
				cancel()
				stuck(done)
				return
			}
			// A thread cannot use more CPU than wall time passes: sleeping
			// what is left of the budget never overshoots it.
			wait := max(min(budget-used, wallUntil.Sub(now)), time.Millisecond)
			select {
			case <-done:
				fired <- ""
				return
			case <-time.After(wait):
			}
		}
	}()
	err := f(ctx)
	close(done)
	cpuUs := uint64((cpuTime(w.clock) - cpu0).Microseconds())
	wallUs := uint64(time.Since(started).Microseconds())
	var deadline *string
	if d := <-fired; d != "" {
		deadline = &d
	}
	c := called{deadline: deadline, wallUs: wallUs, cpuUs: cpuUs}
	if err != nil {
		c.end = endingOf(err, deadline != nil, modName)
	}
	return c
}
