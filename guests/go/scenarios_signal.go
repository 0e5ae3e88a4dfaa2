//go:build !wasip1

package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func init() {
	scenarios["await_signal_notified"] = awaitSignalNotified
}

// awaitSignalNotified is awaitSignal with a signal.Notify channel for
// signal arg, installed before progress 1. It spins, polling the channel
// without blocking; on receipt it reports `handled <SIGNAME>`, stops the
// notification and returns arg. (SIGKILL and SIGSTOP can be passed to
// Notify but are never delivered: then it spins until killed.)
func awaitSignalNotified(arg int64) int64 {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.Signal(arg))
	progress(1)
	spin(func() bool {
		select {
		case sig := <-ch:
			handled(sig)
			signal.Stop(ch)
			return true
		default:
			return false
		}
	})
	return arg
}

// sigNames maps signals to their SIG* names (syscall.Signal's String is
// the prose, e.g. "terminated").
var sigNames = map[syscall.Signal]string{
	syscall.SIGHUP:    "SIGHUP",
	syscall.SIGINT:    "SIGINT",
	syscall.SIGQUIT:   "SIGQUIT",
	syscall.SIGILL:    "SIGILL",
	syscall.SIGTRAP:   "SIGTRAP",
	syscall.SIGABRT:   "SIGABRT",
	syscall.SIGBUS:    "SIGBUS",
	syscall.SIGFPE:    "SIGFPE",
	syscall.SIGKILL:   "SIGKILL",
	syscall.SIGUSR1:   "SIGUSR1",
	syscall.SIGSEGV:   "SIGSEGV",
	syscall.SIGUSR2:   "SIGUSR2",
	syscall.SIGPIPE:   "SIGPIPE",
	syscall.SIGALRM:   "SIGALRM",
	syscall.SIGTERM:   "SIGTERM",
	syscall.SIGCHLD:   "SIGCHLD",
	syscall.SIGCONT:   "SIGCONT",
	syscall.SIGSTOP:   "SIGSTOP",
	syscall.SIGTSTP:   "SIGTSTP",
	syscall.SIGTTIN:   "SIGTTIN",
	syscall.SIGTTOU:   "SIGTTOU",
	syscall.SIGURG:    "SIGURG",
	syscall.SIGXCPU:   "SIGXCPU",
	syscall.SIGXFSZ:   "SIGXFSZ",
	syscall.SIGVTALRM: "SIGVTALRM",
	syscall.SIGPROF:   "SIGPROF",
	syscall.SIGWINCH:  "SIGWINCH",
	syscall.SIGIO:     "SIGIO",
	syscall.SIGSYS:    "SIGSYS",
}

// sigName is sig's SIG* name; an unnamed signal number n is "SIG<n>".
func sigName(sig os.Signal) string {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return "SIG?"
	}
	if n, ok := sigNames[s]; ok {
		return n
	}
	return "SIG" + strconv.Itoa(int(s))
}
