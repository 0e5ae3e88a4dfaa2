package main

// The spec-script steps: one store per script (a wazero runtime, sharing
// the worker's compilation cache), the `spectest` module, registrations
// through wazero's experimental.ImportResolver (wazero links imports by the
// name an instance was given, and an instance cannot be renamed).

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

type specModule struct {
	cm    wazero.CompiledModule
	bytes []byte
}

type specStore struct {
	rt         wazero.Runtime
	timeout    time.Duration
	modules    []specModule
	instances  []api.Module
	registered map[string]api.Module
	// Bytes of every memory of the script's store, as allowed so far, and
	// the first growth refused since the last step answered.
	memTotal uint64
	refused  string
}

// specMemoryCap is what all the memories of one script's store may take
// together: a scenario's default memory limit (limits.memory_mib, 256 MiB),
// as in faultbox's embedded engines (host/src/worker/wast/cap.rs). A step
// that asks for more fails, naming the cap.
const specMemoryCap = 256 << 20

// specAllocator backs the script's memories with Go slices counted
// against specMemoryCap: wazero asks it for every growth the memory's own
// maximum allows (as capAllocator for runs), and a nil is memory.grow's -1.
type specAllocator struct{ s *specStore }

func (a specAllocator) Allocate(capBytes, maxBytes uint64) experimental.LinearMemory {
	return &specMemory{s: a.s}
}

type specMemory struct {
	s       *specStore
	buf     []byte
	made    bool // the first Reallocate, the declared minimum, is done
	counted bool // buf is counted in s.memTotal
}

func (m *specMemory) Reallocate(size uint64) []byte {
	first := !m.made
	m.made = true
	held := uint64(0)
	if m.counted {
		held = uint64(len(m.buf))
	}
	if (!first && !m.counted) || m.s.memTotal-held+size > specMemoryCap {
		if m.s.refused == "" {
			m.s.refused = fmt.Sprintf("growth of a memory from %s to %s refused: a spec script's memories may take %s in all (faultbox's cap, a scenario's memory limit), and its store holds %s",
				humanBytes(uint64(len(m.buf))), humanBytes(size), humanBytes(specMemoryCap), humanBytes(m.s.memTotal))
		}
		if !first {
			return nil
		}
		// The declared minimum: wazero indexes the result at once
		// (NewMemoryInstance). Go hands a large slice out as untouched
		// pages, uncounted; the instance is closed at the end of its step.
		m.buf = make([]byte, size)
		return m.buf
	}
	m.counted = true
	m.s.memTotal = m.s.memTotal - held + size
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Amortised growth, bounded by the cap.
	nb := make([]byte, size, max(size, min(2*uint64(cap(m.buf)), specMemoryCap)))
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *specMemory) Free() {
	if m.counted {
		m.s.memTotal -= uint64(len(m.buf))
	}
	m.buf, m.counted = nil, false
}

var _ experimental.MemoryAllocator = specAllocator{}

// capped answers a step that asked for more than the store's cap with the
// cap's refusal: the step fails, whatever else it did.
func (s *specStore) capped(answer any) any {
	if s.refused == "" {
		return answer
	}
	why := s.refused
	s.refused = ""
	return specFailed(why)
}

type specValue struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value,omitempty"`
	Bits  json.RawMessage `json:"bits,omitempty"`
	Hex   string          `json:"hex,omitempty"`
	Heap  string          `json:"heap,omitempty"`
}

type specReq struct {
	TimeoutMs string          `json:"timeout_ms"`
	Module    json.RawMessage `json:"module"`
	Instance  *uint32         `json:"instance"`
	Name      string          `json:"name"`
	Args      []specValue     `json:"args"`
}

func rejected(msg string) map[string]any { return map[string]any{"type": "rejected", "message": msg} }
func unavailable(why string) map[string]any {
	return map[string]any{"type": "unavailable", "reason": why}
}
func specFailed(msg string) map[string]any { return map[string]any{"type": "failed", "message": msg} }
func accepted() map[string]any             { return map[string]any{"type": "accepted"} }

func (w *worker) spec(typ string, line []byte) any {
	var r specReq
	if err := json.Unmarshal(line, &r); err != nil {
		return specFailed("spec request does not parse: " + err.Error())
	}
	if typ == "spec_begin" {
		ms, err := parseDecU(r.TimeoutMs)
		if err != nil {
			return specFailed("timeout_ms: " + err.Error())
		}
		return w.specBegin(time.Duration(ms) * time.Millisecond)
	}
	s := w.store
	if s == nil {
		return specFailed("no spec_begin before " + typ)
	}
	switch typ {
	case "spec_compile", "spec_judge":
		var m moduleWire
		if err := json.Unmarshal(r.Module, &m); err != nil {
			return specFailed("module: " + err.Error())
		}
		bytes, _, err := moduleBytes(m)
		if err != nil {
			return specFailed(err.Error())
		}
		cm, err := s.rt.CompileModule(context.Background(), bytes)
		if err != nil {
			if why := missingFeature(err.Error()); why != "" {
				return unavailable(why)
			}
			return rejected(err.Error())
		}
		if typ == "spec_judge" {
			cm.Close(context.Background())
			return accepted()
		}
		s.modules = append(s.modules, specModule{cm, bytes})
		return map[string]any{"type": "module", "id": len(s.modules) - 1}
	case "spec_imports", "spec_instantiate":
		var id uint32
		if err := json.Unmarshal(r.Module, &id); err != nil || int(id) >= len(s.modules) {
			return specFailed("no module " + string(r.Module))
		}
		m := s.modules[id]
		if typ == "spec_imports" {
			return map[string]any{"type": "imports", "modules": importModules(m.bytes)}
		}
		return w.specInstantiate(m)
	}
	if r.Instance == nil || int(*r.Instance) >= len(s.instances) {
		return specFailed("no such instance")
	}
	inst := s.instances[*r.Instance]
	switch typ {
	case "spec_register":
		s.registered[r.Name] = inst
		return accepted()
	case "spec_global":
		g := inst.ExportedGlobal(r.Name)
		if g == nil {
			return specFailed(fmt.Sprintf("no global export %q", r.Name))
		}
		v, ok := fromSlots(g.Type(), []uint64{g.Get()})
		if !ok {
			return specFailed(fmt.Sprintf("global %q: its type cannot be read through wazero's api.Global", r.Name))
		}
		return map[string]any{"type": "values", "values": []any{v}}
	case "spec_call":
		return s.capped(w.specCall(inst, r.Name, r.Args))
	}
	return specFailed("unknown step " + typ)
}

// missingFeature: wazero names a disabled proposal in its decode errors
// ("feature %q is disabled", internal/wasm/features.go RequireEnabled).
func missingFeature(msg string) string {
	if strings.Contains(msg, "is disabled") && strings.Contains(msg, "feature") {
		return "wazero lacks or does not enable a feature this module needs: " + msg
	}
	return ""
}

func (w *worker) specBegin(timeout time.Duration) any {
	ctx := context.Background()
	if w.store != nil {
		w.store.rt.Close(ctx)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, w.runtimeConfig())
	s := &specStore{rt: rt, timeout: timeout, registered: map[string]api.Module{}}
	if _, err := rt.InstantiateWithConfig(ctx, spectestModule(), wazero.NewModuleConfig().WithName("spectest").WithStartFunctions()); err != nil {
		return specFailed("spectest: " + err.Error())
	}
	w.store = s
	return accepted()
}

func (w *worker) specInstantiate(m specModule) any {
	s := w.store
	ctx := experimental.WithImportResolver(context.Background(), func(name string) api.Module {
		if mod, ok := s.registered[name]; ok {
			return mod
		}
		return nil
	})
	ctx = experimental.WithMemoryAllocator(ctx, specAllocator{s})
	var mod api.Module
	c := w.watchdog.run(ctx, s.timeout, m.cm.Name(), func(ctx context.Context) error {
		var err error
		mod, err = s.rt.InstantiateModule(ctx, m.cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
		return err
	})
	if s.refused != "" {
		// Past the store's cap: the instance goes, and its memory with it.
		if mod != nil {
			mod.Close(context.Background())
		}
		return s.capped(nil)
	}
	if c.end != nil {
		return specEnding(c.end)
	}
	s.instances = append(s.instances, mod)
	return map[string]any{"type": "instance", "id": len(s.instances) - 1}
}

func specEnding(e ending) any {
	if e.kind() == "trapped" {
		return map[string]any{"type": "trapped", "trap": e["trap"], "message": e["message"]}
	}
	return specFailed(describe(e))
}

func (w *worker) specCall(inst api.Module, name string, args []specValue) any {
	f := inst.ExportedFunction(name)
	if f == nil {
		return specFailed(fmt.Sprintf("no function export %q", name))
	}
	d := f.Definition()
	params := d.ParamTypes()
	if len(params) != len(args) {
		return specFailed(fmt.Sprintf("%q takes %d arguments, not %d", name, len(params), len(args)))
	}
	var slots []uint64
	for _, a := range args {
		s, why := toSlots(a)
		if why != "" {
			return unavailable(why)
		}
		slots = append(slots, s...)
	}
	var res []uint64
	c := w.watchdog.run(context.Background(), w.store.timeout, "", func(ctx context.Context) error {
		var err error
		res, err = f.Call(ctx, slots...)
		return err
	})
	if c.end != nil {
		return specEnding(c.end)
	}
	values := []any{}
	for _, t := range d.ResultTypes() {
		n := 1
		if t == valueTypeV128 {
			n = 2
		}
		if len(res) < n {
			return specFailed("wazero returned fewer results than the signature has")
		}
		v, ok := fromSlots(t, res[:n])
		if !ok {
			return unavailable(fmt.Sprintf("a result of type %s cannot be read through wazero's API", api.ValueTypeName(t)))
		}
		values = append(values, v)
		res = res[n:]
	}
	return map[string]any{"type": "values", "values": values}
}

// wazero's uint64 encoding of values (api.EncodeI32 ...): integers and
// float bits as is, v128 as two slots (low, high), references as opaque
// uintptrs where 0 is null. An externref the script made as N travels as
// N+1, so that 0 stays null.
func toSlots(v specValue) ([]uint64, string) {
	num := func(raw json.RawMessage) (string, error) {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, nil
		}
		var n json.Number
		err := json.Unmarshal(raw, &n)
		return n.String(), err
	}
	switch v.Type {
	case "i32":
		s, _ := num(v.Value)
		n, err := strconv.ParseInt(s, 10, 32)
		return []uint64{uint64(uint32(int32(n)))}, errText(err)
	case "i64":
		s, _ := num(v.Value)
		n, err := parseDec(s)
		return []uint64{uint64(n)}, errText(err)
	case "f32":
		s, _ := num(v.Bits)
		n, err := strconv.ParseUint(s, 10, 32)
		return []uint64{n}, errText(err)
	case "f64":
		s, _ := num(v.Bits)
		n, err := parseDecU(s)
		return []uint64{n}, errText(err)
	case "v128":
		b, err := hex.DecodeString(v.Hex)
		if err != nil || len(b) != 16 {
			return nil, "v128 argument is not 32 hex digits"
		}
		return []uint64{binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[:8])}, ""
	case "ref_null":
		return []uint64{0}, ""
	case "externref":
		var n *uint32
		if err := json.Unmarshal(v.Value, &n); err != nil {
			return nil, "externref argument: " + err.Error()
		}
		if n == nil {
			return []uint64{0}, ""
		}
		return []uint64{uint64(*n) + 1}, ""
	case "funcref":
		return nil, "a non-null funcref argument cannot be made through wazero's API"
	}
	return nil, "unknown value type " + v.Type
}

func errText(err error) string {
	if err != nil {
		return "argument: " + err.Error()
	}
	return ""
}

func fromSlots(t api.ValueType, s []uint64) (any, bool) {
	switch t {
	case api.ValueTypeI32:
		return map[string]any{"type": "i32", "value": int32(uint32(s[0]))}, true
	case api.ValueTypeI64:
		return map[string]any{"type": "i64", "value": dec(int64(s[0]))}, true
	case api.ValueTypeF32:
		return map[string]any{"type": "f32", "bits": uint32(s[0])}, true
	case api.ValueTypeF64:
		return map[string]any{"type": "f64", "bits": decU(s[0])}, true
	case valueTypeV128:
		if len(s) < 2 {
			return nil, false
		}
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], s[1])
		binary.BigEndian.PutUint64(b[8:], s[0])
		return map[string]any{"type": "v128", "hex": hex.EncodeToString(b[:])}, true
	case valueTypeFuncref:
		if s[0] == 0 {
			return map[string]any{"type": "ref_null", "heap": "func"}, true
		}
		return map[string]any{"type": "funcref"}, true
	case api.ValueTypeExternref:
		if s[0] == 0 {
			return map[string]any{"type": "ref_null", "heap": "extern"}, true
		}
		return map[string]any{"type": "externref", "value": uint32(s[0] - 1)}, true
	}
	return nil, false
}

// spectestModule is the `spectest` module as wasmtime's wast crate
// provides it, as a binary: a wazero host module can export only
// functions, and this one also exports globals, a table and a memory.
func spectestModule() []byte {
	sec := func(id byte, body []byte) []byte {
		return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
	}
	str := func(s string) []byte { return append(uleb(uint64(len(s))), s...) }
	const i32, i64, f32, f64 = 0x7f, 0x7e, 0x7d, 0x7c
	sigs := [][]byte{{}, {i32}, {i64}, {f32}, {f64}, {i32, f32}, {f64, f64}}
	names := []string{"print", "print_i32", "print_i64", "print_f32", "print_f64", "print_i32_f32", "print_f64_f64"}
	types := uleb(uint64(len(sigs)))
	funcs := uleb(uint64(len(sigs)))
	code := uleb(uint64(len(sigs)))
	exports := []byte{}
	for i, p := range sigs {
		types = append(types, 0x60)
		types = append(types, uleb(uint64(len(p)))...)
		types = append(types, p...)
		types = append(types, 0)
		funcs = append(funcs, uleb(uint64(i))...)
		code = append(code, 2, 0, 0x0b)
		exports = append(exports, str(names[i])...)
		exports = append(exports, 0)
		exports = append(exports, uleb(uint64(i))...)
	}
	globals := []byte{4}
	globals = append(globals, i32, 0, 0x41, 0x9a, 0x05, 0x0b)
	globals = append(globals, i64, 0, 0x42, 0x9a, 0x05, 0x0b)
	globals = append(globals, f32, 0, 0x43)
	globals = binary.LittleEndian.AppendUint32(globals, math.Float32bits(666.6))
	globals = append(globals, 0x0b, f64, 0, 0x44)
	globals = binary.LittleEndian.AppendUint64(globals, math.Float64bits(666.6))
	globals = append(globals, 0x0b)
	for i, n := range []string{"global_i32", "global_i64", "global_f32", "global_f64"} {
		exports = append(exports, str(n)...)
		exports = append(exports, 3, byte(i))
	}
	exports = append(exports, str("table")...)
	exports = append(exports, 1, 0)
	exports = append(exports, str("memory")...)
	exports = append(exports, 2, 0)
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	out = append(out, sec(1, types)...)
	out = append(out, sec(3, funcs)...)
	out = append(out, sec(4, []byte{1, 0x70, 1, 10, 20})...)
	out = append(out, sec(5, []byte{1, 1, 1, 2})...)
	out = append(out, sec(6, globals)...)
	out = append(out, sec(7, append(uleb(uint64(len(names)+6)), exports...))...)
	out = append(out, sec(10, code)...)
	return out
}

// wazero's api names no constant for these two (internal/wasm/module.go
// does): the binary format's codes.
const (
	valueTypeV128    api.ValueType = 0x7b
	valueTypeFuncref api.ValueType = 0x70
)

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
