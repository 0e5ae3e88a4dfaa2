package main

// The run sequence of host/src/wasm/run.rs: a fresh instance, the state
// snapshot, the call under its CPU budget, the diff and the health check
// on the same instance, further reuse rounds, and a fresh instance's cost.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const (
	healthExport = "fb_health"
	initExport   = "fb_init"
	reactorInit  = "_initialize"
	commandStart = "_start"
	stackPointer = "__stack_pointer"
	healthOK     = int64(0x600DF00D)
	wazeroPin    = "v1.12.0" // go.mod's pin, used only when build info lacks it
)

// features: wazero as it ships, Wasm 2.0 (api.CoreFeaturesV2, the
// default of wazero.NewRuntimeConfig*). Its experimental proposals
// (experimental/features.go: threads, tail calls, extended-const,
// exceptions, typed function references) are off, as in a plugin host
// that takes the defaults; with tail calls on, an unbounded tail-call
// loop could not be stopped, for wazero checks its context only at loop
// headers. faultbox's registry lists what this leaves out.
const features = api.CoreFeaturesV2

type worker struct {
	model       string
	interpreter bool
	version     string
	versionNote string
	cache       wazero.CompilationCache
	rt          wazero.Runtime
	hostSigs    map[string]map[string]api.FunctionDefinition
	compiled    map[string]*compiledEntry
	watchdog    *watchdog
	store       *specStore
	others      map[string]*worker // bench: wazero's other configuration
}

type compiledEntry struct {
	cm      wazero.CompiledModule
	globals []string // exported globals, in export order
	refusal string
}

func newWorker(model string) (*worker, error) {
	w := &worker{model: model, compiled: map[string]*compiledEntry{}, watchdog: newWatchdog()}
	switch model {
	case "wazero":
	case "wazero-interp":
		w.interpreter = true
	default:
		return nil, fmt.Errorf("unknown model %q: this adapter runs wazero and wazero-interp", model)
	}
	w.version, w.versionNote = wazeroVersion()
	// One cache for every runtime of this process: the scenario runtime
	// and each spec script's store compile a module once.
	w.cache = wazero.NewCompilationCache()
	ctx := context.Background()
	w.rt = wazero.NewRuntimeWithConfig(ctx, w.runtimeConfig())
	if err := defineFb(ctx, w.rt); err != nil {
		return nil, err
	}
	_, err := wasi_snapshot_preview1.Instantiate(ctx, w.rt)
	if err != nil {
		return nil, err
	}
	fb := w.rt.Module("fb")
	w.hostSigs = map[string]map[string]api.FunctionDefinition{
		"fb":                              fb.ExportedFunctionDefinitions(),
		wasi_snapshot_preview1.ModuleName: w.rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions(),
	}
	return w, nil
}

func (w *worker) runtimeConfig() wazero.RuntimeConfig {
	return w.bareConfig().WithCompilationCache(w.cache)
}

// bareConfig is the configuration without the compilation cache.
func (w *worker) bareConfig() wazero.RuntimeConfig {
	var c wazero.RuntimeConfig
	if w.interpreter {
		c = wazero.NewRuntimeConfigInterpreter()
	} else {
		c = wazero.NewRuntimeConfigCompiler()
	}
	// Budgets stop a guest by cancelling its call's context: with this,
	// wazero checks for it at loop headers and closes the module.
	return c.WithCloseOnContextDone(true).WithCoreFeatures(features)
}

func wazeroVersion() (string, string) {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/tetratelabs/wazero" {
				if m.Replace != nil {
					m = m.Replace
				}
				return strings.TrimPrefix(m.Version, "v"), ""
			}
		}
	}
	return strings.TrimPrefix(wazeroPin, "v"), " (version from go.mod's pin: the binary's build info does not name wazero)"
}

func (w *worker) hello() hello {
	var conf string
	if w.interpreter {
		conf = "wazero interpreter"
	} else {
		conf = "wazero optimizing compiler (wazevo)"
	}
	conf += ", traps by explicit checks that panic with wazero's error values, recovered at the call (no signal handlers); CPU budgets cancel the call's context (WithCloseOnContextDone), which closes the module, checked only at loop headers; Wasm 2.0 as wazero ships it (its experimental proposals off)" + w.versionNote
	return hello{
		Protocol: protocolVersion,
		Worker:   w.model,
		Engine: engineInfo{Family: "wazero", Version: w.version, Configuration: conf,
			Capabilities: []string{"wasi_p1", "backtraces", "interruption:cancel_context"}},
		Requests: []string{"wasm", "spec_begin", "spec_compile", "spec_judge", "spec_imports", "spec_instantiate", "spec_register", "spec_call", "spec_global", "bench"},
	}
}

// moduleBytes reads the request's module; the key is by path, size and
// mtime for files, by hash for bytes.
func moduleBytes(m moduleWire) (bytes []byte, key string, err error) {
	switch m.Type {
	case "path":
		if !strings.HasPrefix(m.Path, "/") {
			return nil, "", fmt.Errorf("a module path must be absolute, not %s", m.Path)
		}
		fi, err := os.Stat(m.Path)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read wasm module %s: %v", m.Path, err)
		}
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read wasm module %s: %v", m.Path, err)
		}
		return b, fmt.Sprintf("path:%s:%d:%d", m.Path, fi.Size(), fi.ModTime().UnixNano()), nil
	case "bytes":
		b, err := base64.StdEncoding.Strict().DecodeString(m.Base64)
		if err != nil {
			return nil, "", fmt.Errorf("invalid base64: %v", err)
		}
		return b, fmt.Sprintf("bytes:%x", sha256.Sum256(b)), nil
	}
	return nil, "", fmt.Errorf("unknown module type %q", m.Type)
}

// prepare compiles (once per module) and checks the module's imports
// against the host modules, as wasmtime's instantiate_pre links it.
func (w *worker) prepare(r *wasmRequest) (*compiledEntry, error) {
	bytes, key, err := moduleBytes(r.module)
	if err != nil {
		// An unreadable module is the module's doing (as wasmtime's backend).
		return &compiledEntry{refusal: err.Error()}, nil
	}
	key = fmt.Sprintf("%s:wasi=%v", key, r.wasi)
	if e, ok := w.compiled[key]; ok {
		return e, nil
	}
	e := &compiledEntry{}
	cm, err := w.rt.CompileModule(context.Background(), bytes)
	if err != nil {
		e.refusal = err.Error()
	} else {
		e.cm = cm
		e.globals = exportedGlobals(bytes)
		e.refusal = w.checkImports(cm, r.wasi)
	}
	w.compiled[key] = e
	return e, nil
}

func (w *worker) checkImports(cm wazero.CompiledModule, wasi bool) string {
	for _, imp := range cm.ImportedFunctions() {
		m, n, _ := imp.Import()
		if m == wasi_snapshot_preview1.ModuleName && !wasi {
			return fmt.Sprintf("unknown import: `%s::%s` has not been defined", m, n)
		}
		host, ok := w.hostSigs[m]
		var def api.FunctionDefinition
		if ok {
			def, ok = host[n]
		}
		if !ok {
			return fmt.Sprintf("unknown import: `%s::%s` has not been defined", m, n)
		}
		if !sameTypes(def.ParamTypes(), imp.ParamTypes()) || !sameTypes(def.ResultTypes(), imp.ResultTypes()) {
			return fmt.Sprintf("incompatible import type for `%s::%s`", m, n)
		}
	}
	for _, imp := range cm.ImportedMemories() {
		m, n, _ := imp.Import()
		return fmt.Sprintf("unknown import: `%s::%s` (memory) has not been defined", m, n)
	}
	return ""
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (w *worker) wasm(r *wasmRequest) {
	if r.model != w.model {
		sendFailed(fmt.Sprintf("a %s worker was asked to run %s", w.model, r.model))
		return
	}
	// A request that breaks the protocol is refused as a whole, before any
	// module is read: the wire's rules, not the module's doing.
	if r.module.Type == "path" && !strings.HasPrefix(r.module.Path, "/") {
		sendFailed(fmt.Sprintf("bad request: a module path must be absolute, not %s", r.module.Path))
		return
	}
	started := time.Now()
	e, err := w.prepare(r)
	send("compiled", map[string]string{"us": decU(uint64(time.Since(started).Microseconds()))})
	if err != nil {
		sendFailed(err.Error())
		return
	}
	if e.refusal != "" {
		send("refused", map[string]string{"message": e.refusal})
		return
	}
	obs, err := w.run(r, e)
	if err != nil {
		sendFailed(err.Error())
		return
	}
	send("wasm", obs)
}

// instance is one live wazero module instance with its run state.
type instance struct {
	w   *worker
	mod api.Module
	st  *runState
	ctx context.Context
	e   *compiledEntry
	fn  api.Function
	cmd bool
}

// called is how one call ended, with its budget's facts.
type called struct {
	end      ending
	deadline *string
	wallUs   uint64
	cpuUs    uint64
	value    int64
}

func newState(r *wasmRequest) *runState {
	st := &runState{memCap: r.limits.memoryMib << 20}
	if r.wasi {
		st.stdout, st.stderr = &tailBuffer{}, &tailBuffer{}
	}
	return st
}

// instantiate makes a fresh instance and runs its start function,
// `_initialize` and `fb_init` under one budget (as wasmtime's one
// watchdog arming). ready false: how that ended is in c.
func (w *worker) instantiate(r *wasmRequest, e *compiledEntry) (inst *instance, c called, ready bool) {
	st := newState(r)
	base := context.WithValue(context.Background(), stateKey{}, st)
	base = experimental.WithMemoryAllocator(base, capAllocator{st})
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().WithArgs(r.args...)
	if r.wasi {
		cfg = cfg.WithStdout(st.stdout).WithStderr(st.stderr)
	}
	inst = &instance{w: w, st: st, ctx: base, e: e}
	c = w.watchdog.run(base, time.Duration(r.limits.timeoutMs)*time.Millisecond, e.cm.Name(), func(ctx context.Context) error {
		mod, err := w.rt.InstantiateModule(ctx, e.cm, cfg)
		if err != nil {
			return err
		}
		inst.mod = mod
		if st.initOverCap > 0 {
			return fmt.Errorf("memory minimum size of %d pages exceeds memory limits", st.initOverCap)
		}
		for _, name := range []string{reactorInit, initExport} {
			if f := mod.ExportedFunction(name); f != nil && len(f.Definition().ParamTypes()) == 0 && len(f.Definition().ResultTypes()) == 0 {
				if _, err := f.Call(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return inst, c, c.end == nil
}

func (i *instance) close() {
	if i.mod != nil {
		i.mod.Close(context.Background())
	}
}

func (i *instance) checkEntry(export string) error {
	f := i.mod.ExportedFunction(export)
	if f == nil {
		return fmt.Errorf("failed to find function export `%s`", export)
	}
	d := f.Definition()
	want := []api.ValueType{api.ValueTypeI64}
	if export == commandStart {
		want = nil
		i.cmd = true
	}
	if !sameTypes(d.ParamTypes(), want) || !sameTypes(d.ResultTypes(), want) {
		return fmt.Errorf("type mismatch: export `%s` is not %s", export, map[bool]string{true: "() -> ()", false: "(i64) -> i64"}[i.cmd])
	}
	i.fn = f
	return nil
}

func (i *instance) call(arg int64, budget time.Duration) called {
	var value int64
	c := i.w.watchdog.run(i.ctx, budget, i.e.cm.Name(), func(ctx context.Context) error {
		if i.cmd {
			_, err := i.fn.Call(ctx)
			return err
		}
		res, err := i.fn.Call(ctx, uint64(arg))
		if err == nil {
			value = int64(res[0])
		}
		return err
	})
	if c.end == nil {
		if i.cmd {
			// A command that returns from `_start` exits with 0 (WASI).
			c.end = exited(0)
		} else {
			c.end = completed(value)
		}
	}
	return c
}

func (i *instance) health(budget time.Duration) healthWire {
	f := i.mod.ExportedFunction(healthExport)
	if f == nil {
		return healthWire{"type": "missing"}
	}
	d := f.Definition()
	if len(d.ParamTypes()) != 0 || !sameTypes(d.ResultTypes(), []api.ValueType{api.ValueTypeI64}) {
		return healthWire{"type": "failed", "message": healthExport + " cannot be called as () -> i64"}
	}
	var value int64
	c := i.w.watchdog.run(i.ctx, budget, i.e.cm.Name(), func(ctx context.Context) error {
		res, err := f.Call(ctx)
		if err == nil {
			value = int64(res[0])
		}
		return err
	})
	if c.end != nil {
		return healthWire{"type": "failed", "message": healthFailure(c.end)}
	}
	return healthWire{"type": "returned", "value": dec(value)}
}

func healthFailure(e ending) string {
	switch e.kind() {
	case "trapped":
		return "trapped: " + e["trap"].(string)
	case "host_panic":
		return "host panic: " + e["message"].(string)
	case "exited":
		return fmt.Sprintf("proc_exit(%d)", e["code"])
	}
	m, _ := e["message"].(string)
	return m
}

// describe is backend.rs's one phrase for how a call ended.
func describe(e ending) string {
	switch e.kind() {
	case "completed":
		v, _ := parseDec(e["value"].(string))
		return fmt.Sprintf("returned %#x", uint64(v))
	case "trapped":
		return "trapped: " + e["trap"].(string)
	case "exited":
		return fmt.Sprintf("proc_exit(%d)", e["code"])
	}
	m, _ := e["message"].(string)
	return m
}

func (st *runState) outputTail() outputTail {
	fb := st.output.finish()
	if st.stdout == nil {
		return fb
	}
	so := st.stdout.finish()
	if so.TotalBytes == "0" {
		return fb
	}
	if fb.TotalBytes == "0" {
		return so
	}
	// Both: fb.write's then stdout's, as merged_output.
	var both tailBuffer
	both.countSkipped(st.output.total - uint64(len(st.output.buf)))
	both.push(st.output.buf)
	both.countSkipped(st.stdout.total - uint64(len(st.stdout.buf)))
	both.push(st.stdout.buf)
	return both.finish()
}

func (st *runState) stderrTail() outputTail {
	if st.stderr == nil {
		return outputTail{"0", "0", ""}
	}
	return st.stderr.finish()
}

func (st *runState) fill(obs *observation) {
	if st.progress != nil {
		obs.Progress = &progressWire{dec(st.progress[0]), dec(st.progress[1])}
	}
	obs.GuestPanic = st.guestPanic
	obs.RefusedGrowth = append([]string{}, st.refused...)
	if st.hostCall != "" {
		h := st.hostCall
		obs.HostCall = &h
	}
	obs.Output = st.outputTail()
	obs.Stderr = st.stderrTail()
}

func (w *worker) run(r *wasmRequest, e *compiledEntry) (*observation, error) {
	budget := time.Duration(r.limits.timeoutMs) * time.Millisecond
	inst, c, ready := w.instantiate(r, e)
	if !ready {
		inst.close()
		obs := &observation{Ending: c.end, Deadline: c.deadline, InstantiateUs: decU(c.wallUs), CallUs: "0"}
		inst.st.fill(obs)
		return obs, nil
	}
	instantiateUs := c.wallUs
	if err := inst.checkEntry(r.export); err != nil {
		inst.close()
		return nil, fmt.Errorf("export `%s`: %v", r.export, err)
	}
	var before *snapshot
	if r.checkReuse {
		before = inst.snapshot()
	}
	inst.st.readyWanted = r.inject
	c = inst.call(r.arg, budget)
	inst.st.readyWanted = false
	obs := &observation{Ending: c.end, Deadline: c.deadline, InstantiateUs: decU(instantiateUs), CallUs: decU(c.wallUs), CallCpuUs: decP(c.cpuUs)}
	inst.st.fill(obs)
	if before == nil {
		inst.close()
		return obs, nil
	}
	facts := inst.compare(before)
	t := time.Now()
	facts.Health = inst.health(budget)
	obs.HealthUs = decP(uint64(time.Since(t).Microseconds()))
	// Only a call that did not return is repeated (run.rs).
	unwound := c.end.kind() != "completed"
	if !inst.cmd && r.reuseRounds > 0 && unwound && facts.Health["type"] == "returned" && facts.Health["value"] == dec(healthOK) {
		healthy, broke, stopped := inst.reuseRounds(r.arg, r.reuseRounds, budget)
		facts.RoundsHealthy, facts.RoundsBroke, facts.RoundsStopped = &healthy, broke, stopped
	}
	obs.Reuse = facts
	before = nil
	inst.close()

	// What a plugin host that discards the instance would pay instead.
	t = time.Now()
	if fresh, _, ok := w.instantiate(r, e); ok {
		fresh.health(budget)
		obs.FreshContextUs = decP(uint64(time.Since(t).Microseconds()))
		fresh.close()
	} else {
		fresh.close()
	}
	return obs, nil
}

// keyLines: lines a dying runtime writes to stderr that say why (run.rs KEY_LINES).
var keyLines = []string{"panic: ", "fatal error: ", "runtime: ", "unexpected fault address ", "[signal "}

func keyLine(text string) string {
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		for _, k := range keyLines {
			if strings.HasPrefix(l, k) {
				return l
			}
		}
	}
	return ""
}

// roundStopped: a round whose scenario call ran into its budget stops the
// rounds without a verdict (faultbox's wasm/run.rs reuse_rounds, the same
// sentence): the cancelled context closed the module from outside, which
// says nothing of what the fault did to the instance.
func roundStopped(round uint32, deadline string) *string {
	budget := "CPU budget"
	if deadline == "wall" {
		budget = "wall-clock backstop"
	}
	s := fmt.Sprintf("round %d: the scenario call ran into its %s and was stopped from outside, which says nothing of what the fault did to the instance", round, budget)
	return &s
}

func (i *instance) reuseRounds(arg int64, rounds uint32, budget time.Duration) (uint32, *string, *string) {
	for round := uint32(1); round <= rounds; round++ {
		var stderrBefore uint64
		if i.st.stderr != nil {
			stderrBefore = i.st.stderr.total
		}
		c := i.call(arg, budget)
		if c.deadline != nil {
			return round - 1, nil, roundStopped(round, *c.deadline)
		}
		scenario := describe(c.end)
		h := i.health(budget)
		var how string
		switch h["type"] {
		case "returned":
			if h["value"] == dec(healthOK) {
				continue
			}
			v, _ := parseDec(h["value"].(string))
			how = fmt.Sprintf("%s returned %#x", healthExport, uint64(v))
		case "failed":
			how = fmt.Sprintf("%s failed: %s", healthExport, h["message"])
		default:
			return round - 1, nil, nil
		}
		broke := fmt.Sprintf("round %d: %s (the scenario call before it: %s)", round, how, scenario)
		if se := i.st.stderr; se != nil && se.total > stderrBefore {
			tail := string(se.buf)
			n := min(se.total-stderrBefore, uint64(len(tail)))
			if line := keyLine(tail[len(tail)-int(n):]); line != "" {
				broke += "; stderr: " + line
			}
		}
		return round - 1, &broke, nil
	}
	return rounds, nil, nil
}
