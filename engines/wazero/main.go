// Command wazero-adapter is a faultbox worker (protocol v2) that runs
// guests in wazero: started as `wazero-adapter <model>`, one JSON object
// per line on stdin and stdout.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

func init() {
	// Every wasm call runs on the main goroutine, pinned to the main
	// thread, so that the watchdog can read that one thread's CPU clock.
	runtime.LockOSThread()
}

var (
	outMu sync.Mutex
	out   = bufio.NewWriterSize(os.Stdout, 1<<16)
)

// send writes one message line and flushes it: a message must be out
// before anything that may kill the process.
func send(typ string, v any) {
	line, err := tagged(typ, v)
	if err != nil {
		line, _ = tagged("failed", map[string]string{"message": "encoding a " + typ + " message: " + err.Error()})
	}
	outMu.Lock()
	defer outMu.Unlock()
	out.Write(line)
	out.WriteByte('\n')
	out.Flush()
}

func sendFailed(msg string) { send("failed", map[string]string{"message": msg}) }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wazero-adapter wazero|wazero-interp")
		os.Exit(2)
	}
	model := os.Args[1]
	// Go grows a goroutine's stack up to 1 GB by default before it dies of
	// "stack overflow": a host function recursing without end would take a
	// gigabyte of the machine first. 64 MiB is far above what the adapter
	// itself needs and still dies quickly.
	debug.SetMaxStack(64 << 20)
	w, err := newWorker(model)
	if err != nil {
		sendFailed(err.Error())
		os.Exit(1)
	}
	send("hello", w.hello())
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			w.serve(line)
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "reading stdin:", err)
			os.Exit(1)
		}
	}
}

// serve answers one request line with exactly one reply.
func (w *worker) serve(line []byte) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		sendFailed("request does not parse: " + err.Error())
		return
	}
	switch head.Type {
	case "wasm":
		var req wasmRequestWire
		if err := json.Unmarshal(line, &req); err != nil {
			sendFailed("wasm request does not parse: " + err.Error())
			return
		}
		r, err := req.parse()
		if err != nil {
			sendFailed("wasm request: " + err.Error())
			return
		}
		w.wasm(r)
	case "spec_begin", "spec_compile", "spec_judge", "spec_imports", "spec_instantiate", "spec_register", "spec_call", "spec_global":
		send("spec", map[string]any{"result": w.spec(head.Type, line)})
	case "bench":
		w.bench(line)
	default:
		sendFailed(fmt.Sprintf("the %s worker does not serve %q requests", w.model, head.Type))
	}
}
