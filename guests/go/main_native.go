//go:build !wasip1

// The native guest: `guest <scenario> <arg>` runs one scenario under a
// deferred recover and reports to the fd named by FAULTBOX_REPORT_FD
// (see README.md, "Report protocol"). `guest list` prints the scenario
// names, one a line.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// reportFD is the inherited report descriptor, or -1: no reports.
var reportFD = func() int {
	v, ok := syscall.Getenv("FAULTBOX_REPORT_FD")
	if !ok {
		return -1
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return -1
	}
	return fd
}()

// report writes one line with a single raw write(2): no buffering, no
// locks, no allocation beyond the line itself, so it still works while
// other goroutines are dying. Errors are ignored (the reader may be gone).
func report(line []byte) {
	if reportFD < 0 {
		return
	}
	line = append(line, '\n')
	for len(line) > 0 {
		n, err := syscall.Write(reportFD, line)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		line = line[n:]
	}
}

func reportInt(word string, n int64) {
	var buf [48]byte
	b := append(buf[:0], word...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n, 10)
	report(b)
}

// progress is the scenarios' progress hook (wasm: the fb.progress import).
func progress(n int64) { reportInt("progress", n) }

// deferred reports `deferred <label>`: a deferred function ran. Deferred
// functions call it first, before anything else they do (wasm: a no-op).
func deferred(label string) {
	var buf [64]byte
	report(append(append(buf[:0], "deferred "...), label...))
}

// handledSignal is set once a scenario's signal.Notify channel received a
// signal: the process went on after it, so its health is checked as after a
// recovery.
var handledSignal bool

// handled reports `handled <SIGNAME>`: a signal.Notify channel received sig.
func handled(sig os.Signal) {
	handledSignal = true
	var buf [64]byte
	report(append(append(buf[:0], "handled "...), sigName(sig)...))
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "list" {
		for _, n := range scenarioNames() {
			fmt.Println(n)
		}
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: guest <scenario> <arg> | guest list")
		os.Exit(64)
	}
	name := os.Args[1]
	arg, err := strconv.ParseInt(os.Args[2], 0, 64)
	s, ok := scenarios[name]
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "guest: unknown scenario %q or bad arg %q\n", name, os.Args[2])
		os.Exit(64)
	}
	report([]byte("started " + name + " " + strconv.FormatInt(arg, 10)))
	o := guard(s, arg)
	if o.recovered {
		report([]byte("recovered " + o.panicType + " " + o.message))
		if o.hasAddr {
			report([]byte("fault_addr 0x" + strconv.FormatUint(uint64(o.addr), 16)))
		}
		reportInt("health", health())
	} else {
		reportInt("returned", o.value)
		if handledSignal {
			reportInt("health", health())
		}
	}
	report([]byte("finished"))
	os.Exit(0)
}
