package main

// Wire types of faultbox worker protocol v2 (host/src/protocol). Every
// 64-bit integer travels as a decimal string (a JSON number would pass
// through a double on some readers), 32-bit ones as numbers.

import (
	"encoding/json"
	"fmt"
	"strconv"
)

const protocolVersion = 2

// outputTailBytes is OUTPUT_TAIL_BYTES: the most guest output kept per stream.
const outputTailBytes = 64 * 1024

func dec(v int64) string   { return strconv.FormatInt(v, 10) }
func decU(v uint64) string { return strconv.FormatUint(v, 10) }

// decP is an optional u64 field.
func decP(v uint64) *string { s := decU(v); return &s }

// parseDec is the strict form the Rust side accepts: optional '-', digits.
func parseDec(s string) (int64, error) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if d == "" {
		return 0, fmt.Errorf("%q is not a decimal string", s)
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal string", s)
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func parseDecU(s string) (uint64, error) {
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an unsigned decimal string", s)
		}
	}
	if s == "" {
		return 0, fmt.Errorf("empty decimal string")
	}
	return strconv.ParseUint(s, 10, 64)
}

type moduleWire struct {
	Type   string `json:"type"`
	Path   string `json:"path,omitempty"`
	Base64 string `json:"base64,omitempty"`
}

type limitsWire struct {
	TimeoutMs      string `json:"timeout_ms"`
	MemoryMib      string `json:"memory_mib"`
	WasmStackKib   string `json:"wasm_stack_kib"`
	NativeStackKib string `json:"native_stack_kib"`
}

type limits struct {
	timeoutMs, memoryMib, wasmStackKib, nativeStackKib uint64
}

func (l limitsWire) parse() (limits, error) {
	var out limits
	var err error
	for _, f := range []struct {
		s string
		p *uint64
	}{{l.TimeoutMs, &out.timeoutMs}, {l.MemoryMib, &out.memoryMib}, {l.WasmStackKib, &out.wasmStackKib}, {l.NativeStackKib, &out.nativeStackKib}} {
		if *f.p, err = parseDecU(f.s); err != nil {
			return out, fmt.Errorf("limits: %v", err)
		}
	}
	return out, nil
}

type wasmRequestWire struct {
	Model       string     `json:"model"`
	Module      moduleWire `json:"module"`
	Export      string     `json:"export"`
	Arg         string     `json:"arg"`
	Limits      limitsWire `json:"limits"`
	CheckReuse  bool       `json:"check_reuse"`
	Wasi        bool       `json:"wasi"`
	ReuseRounds uint32     `json:"reuse_rounds"`
	Args        []string   `json:"args"`
	Inject      *string    `json:"inject"`
}

type wasmRequest struct {
	model       string
	module      moduleWire
	export      string
	arg         int64
	limits      limits
	checkReuse  bool
	wasi        bool
	reuseRounds uint32
	args        []string
	// A signal the supervisor sends this process once the guest first
	// reports progress in the call: say `ready` then.
	inject bool
}

func (w wasmRequestWire) parse() (*wasmRequest, error) {
	arg, err := parseDec(w.Arg)
	if err != nil {
		return nil, fmt.Errorf("arg: %v", err)
	}
	l, err := w.Limits.parse()
	if err != nil {
		return nil, err
	}
	return &wasmRequest{w.Model, w.Module, w.Export, arg, l, w.CheckReuse, w.Wasi, w.ReuseRounds, w.Args, w.Inject != nil}, nil
}

// ending is WasmEnding: a tagged object, so a map.
type ending map[string]any

func completed(v int64) ending { return ending{"type": "completed", "value": dec(v)} }
func trapped(code, msg string, frames []string) ending {
	if frames == nil {
		frames = []string{}
	}
	return ending{"type": "trapped", "trap": code, "message": msg, "frames": frames}
}
func hostError(msg string) ending    { return ending{"type": "host_error", "message": msg} }
func hostPanic(msg string) ending    { return ending{"type": "host_panic", "message": msg} }
func failedEnding(msg string) ending { return ending{"type": "failed", "message": msg} }
func exited(code int32) ending       { return ending{"type": "exited", "code": code} }

func (e ending) kind() string { s, _ := e["type"].(string); return s }

type progressWire struct {
	Last    string `json:"last"`
	Reports string `json:"reports"`
}

type outputTail struct {
	TotalBytes string `json:"total_bytes"`
	KeptBytes  string `json:"kept_bytes"`
	Tail       string `json:"tail"`
}

type healthWire map[string]any

type reuseFacts struct {
	Health                healthWire  `json:"health"`
	StackPointer          *[2]uint32  `json:"stack_pointer"`
	GlobalsChanged        []string    `json:"globals_changed"`
	MemoryChangedBytes    string      `json:"memory_changed_bytes"`
	MemoryChangedRuns     [][2]uint32 `json:"memory_changed_runs"`
	DeadStackChangedBytes string      `json:"dead_stack_changed_bytes"`
	DeadStackChangedRuns  [][2]uint32 `json:"dead_stack_changed_runs"`
	MemorySize            *[2]string  `json:"memory_size"`
	RoundsHealthy         *uint32     `json:"rounds_healthy"`
	RoundsBroke           *string     `json:"rounds_broke"`
	RoundsStopped         *string     `json:"rounds_stopped"`
}

type observation struct {
	Ending         ending        `json:"ending"`
	Progress       *progressWire `json:"progress"`
	GuestPanic     *string       `json:"guest_panic"`
	RefusedGrowth  []string      `json:"refused_growth"`
	HostCall       *string       `json:"host_call"`
	FaultDetail    *string       `json:"fault_detail"`
	Reuse          *reuseFacts   `json:"reuse"`
	Deadline       *string       `json:"deadline"`
	InstantiateUs  string        `json:"instantiate_us"`
	CallUs         string        `json:"call_us"`
	CallCpuUs      *string       `json:"call_cpu_us"`
	HealthUs       *string       `json:"health_us"`
	FreshContextUs *string       `json:"fresh_context_us"`
	Output         outputTail    `json:"output"`
	Stderr         outputTail    `json:"stderr"`
}

type engineInfo struct {
	Family        string   `json:"family"`
	Version       string   `json:"version"`
	Configuration string   `json:"configuration"`
	Capabilities  []string `json:"capabilities"`
}

type hello struct {
	Protocol int        `json:"protocol"`
	Worker   string     `json:"worker"`
	Engine   engineInfo `json:"engine"`
	Requests []string   `json:"requests"`
}

// tagged marshals v (a struct or map) with "type" as its first field.
func tagged(typ string, v any) ([]byte, error) {
	t, _ := json.Marshal(typ)
	if v == nil {
		return []byte(`{"type":` + string(t) + `}`), nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("cannot tag %s", body)
	}
	out := []byte(`{"type":` + string(t))
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// tailBuffer is TailBuffer: keeps the last outputTailBytes, counts all.
type tailBuffer struct {
	buf   []byte
	total uint64
}

func (t *tailBuffer) push(b []byte) {
	t.total += uint64(len(b))
	if len(b) >= outputTailBytes {
		t.buf = append(t.buf[:0], b[len(b)-outputTailBytes:]...)
		return
	}
	if over := len(t.buf) + len(b) - outputTailBytes; over > 0 {
		// Compacting in place keeps the buffer at twice the tail at most.
		n := copy(t.buf, t.buf[over:])
		t.buf = t.buf[:n]
	}
	t.buf = append(t.buf, b...)
}

func (t *tailBuffer) countSkipped(n uint64) { t.total += n }

// Write lets WASI write into it; every write is accepted, as wasmtime's
// captured streams accept it.
func (t *tailBuffer) Write(p []byte) (int, error) { t.push(p); return len(p), nil }

func (t *tailBuffer) finish() outputTail {
	return outputTail{decU(t.total), decU(uint64(len(t.buf))), lossyUTF8(t.buf)}
}

// lossyUTF8 is String::from_utf8_lossy: each maximal invalid sequence
// becomes U+FFFD (Go's range over a string yields one per bad byte, which
// differs from Rust for truncated multi-byte sequences; close enough for
// tails, and exact for valid text).
func lossyUTF8(b []byte) string {
	return string([]rune(string(b)))
}
