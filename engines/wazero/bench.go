package main

// `bench` (host/src/protocol/bench.rs): WasmCycles for this worker's own
// model, each cycle a fresh instance, the call, how it ended, the
// instance closed (run.rs cycle_once); WasmCompile, a compile's time.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
)

type benchReq struct {
	Job struct {
		Type    string `json:"type"`
		Configs []struct {
			Model      string `json:"model"`
			Backtraces bool   `json:"backtraces"`
		} `json:"configs"`
		Model        string     `json:"model"`
		Module       moduleWire `json:"module"`
		Export       string     `json:"export"`
		Arg          string     `json:"arg"`
		Limits       limitsWire `json:"limits"`
		Iterations   uint32     `json:"iterations"`
		WasmStackKib string     `json:"wasm_stack_kib"`
	} `json:"job"`
}

type cycleTrap struct {
	Trap          map[string]string `json:"trap"`
	GuestPanic    bool              `json:"guest_panic"`
	RefusedGrowth bool              `json:"refused_growth"`
}

type counted struct {
	Ending cycleTrap `json:"ending"`
	Count  string    `json:"count"`
}

type benchSamples struct {
	CyclesNs []string            `json:"cycles_ns"`
	PartsNs  map[string][]string `json:"parts_ns"`
	Traps    []counted           `json:"traps"`
	Endings  []any               `json:"endings"`
}

func (w *worker) bench(line []byte) {
	var r benchReq
	if err := json.Unmarshal(line, &r); err != nil {
		sendFailed("bench request does not parse: " + err.Error())
		return
	}
	j := r.Job
	switch j.Type {
	case "wasm_compile":
		if j.Model != w.model {
			sendFailed(fmt.Sprintf("a %s worker was asked to bench %s", w.model, j.Model))
			return
		}
		// A fresh compile, not the compilation cache's answer: a runtime of
		// its own, without the cache.
		bytes, _, err := moduleBytes(j.Module)
		if err != nil {
			sendFailed(err.Error())
			return
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, w.bareConfig())
		t := time.Now()
		_, err = rt.CompileModule(ctx, bytes)
		ns := uint64(time.Since(t).Nanoseconds())
		rt.Close(ctx)
		if err != nil {
			sendFailed(fmt.Sprintf("%s refused the bench module: %v", w.model, err))
			return
		}
		send("bench", map[string]any{"samples": []benchSamples{{CyclesNs: []string{}, PartsNs: map[string][]string{"compile": {decU(ns)}}, Traps: []counted{}, Endings: []any{}}}})
	case "wasm_cycles":
		w.benchCycles(&r)
	default:
		sendFailed(fmt.Sprintf("the %s worker does not run %s benches", w.model, j.Type))
	}
}

func (w *worker) benchCycles(r *benchReq) {
	j := r.Job
	arg, err := parseDec(j.Arg)
	if err != nil {
		sendFailed("arg: " + err.Error())
		return
	}
	l, err := j.Limits.parse()
	if err != nil {
		sendFailed(err.Error())
		return
	}
	// Each configuration cycles in its own runtime: this worker's for its
	// model, a second one built here for wazero's other configuration.
	var out []benchSamples
	var workers []*worker
	var entries []*compiledEntry
	for _, c := range j.Configs {
		cw, err := w.forModel(c.Model)
		if err != nil {
			sendFailed(err.Error())
			return
		}
		req := &wasmRequest{model: cw.model, module: j.Module, export: j.Export, arg: arg, limits: l}
		e, err := cw.prepare(req)
		if err != nil || e.refusal != "" {
			sendFailed(fmt.Sprintf("%s refused the bench module: %v%s", cw.model, err, e.refusal))
			return
		}
		workers, entries = append(workers, cw), append(entries, e)
		out = append(out, benchSamples{CyclesNs: []string{}, PartsNs: map[string][]string{}, Traps: []counted{}, Endings: []any{}})
	}
	budget := time.Duration(l.timeoutMs) * time.Millisecond
	lastProgress := time.Now()
	for i := uint32(0); i < j.Iterations; i++ {
		if i%256 == 0 && time.Since(lastProgress) >= 100*time.Millisecond {
			lastProgress = time.Now()
			send("progress", map[string]string{"done": decU(uint64(i))})
		}
		for k := range out {
			s := &out[k]
			t0 := time.Now()
			cw, e := workers[k], entries[k]
			req := &wasmRequest{model: cw.model, module: j.Module, export: j.Export, arg: arg, limits: l}
			inst, _, ok := cw.instantiate(req, e)
			if !ok {
				inst.close()
				sendFailed(cw.model + ": the module did not instantiate")
				return
			}
			if err := inst.checkEntry(j.Export); err != nil {
				inst.close()
				sendFailed(err.Error())
				return
			}
			t1 := time.Now()
			c := inst.call(arg, budget)
			t2 := time.Now()
			trap := map[string]string{"type": "returned"}
			switch c.end.kind() {
			case "completed":
			case "trapped":
				trap = map[string]string{"type": "trapped", "trap": c.end["trap"].(string)}
			default:
				trap = map[string]string{"type": "failed"}
			}
			ct := cycleTrap{trap, inst.st.guestPanic != nil, len(inst.st.refused) > 0}
			t3 := time.Now()
			inst.close()
			t4 := time.Now()
			s.CyclesNs = append(s.CyclesNs, decU(uint64(t4.Sub(t0).Nanoseconds())))
			found := false
			for n := range s.Traps {
				a := s.Traps[n].Ending
				if a.GuestPanic == ct.GuestPanic && a.RefusedGrowth == ct.RefusedGrowth && fmt.Sprint(a.Trap) == fmt.Sprint(ct.Trap) {
					v, _ := parseDecU(s.Traps[n].Count)
					s.Traps[n].Count = decU(v + 1)
					found = true
				}
			}
			if !found {
				s.Traps = append(s.Traps, counted{ct, "1"})
			}
			for name, d := range map[string]time.Duration{"instantiate": t1.Sub(t0), "call_to_trap": t2.Sub(t1), "classify": t3.Sub(t2), "drop": t4.Sub(t3)} {
				s.PartsNs[name] = append(s.PartsNs[name], decU(uint64(d.Nanoseconds())))
			}
		}
	}
	send("bench", map[string]any{"samples": out})
}

// forModel is this worker for its own model, or a worker for wazero's
// other configuration, made once.
func (w *worker) forModel(model string) (*worker, error) {
	if model == w.model {
		return w, nil
	}
	if o, ok := w.others[model]; ok {
		return o, nil
	}
	o, err := newWorker(model)
	if err != nil {
		return nil, fmt.Errorf("this wazero worker cannot bench %s: %v", model, err)
	}
	if w.others == nil {
		w.others = map[string]*worker{}
	}
	w.others[model] = o
	return o, nil
}
