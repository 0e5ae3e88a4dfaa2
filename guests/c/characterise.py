#!/usr/bin/env python3
"""Characterise every C guest scenario, natively and in wasm.

Run through characterise.sh, which builds the artifacts and a venv with the
wasmtime Python bindings. Standalone:

    python3 characterise.py --driver BIN --lib LIBGUEST.so [--wasm FILE]
                            [--wasm-stack-first FILE]
                            [--engine cranelift|explicit|pulley ...]
                            [--json OUT.json] [--only NAME ...]

Native: each row is one fresh process, `driver LIB <scenario> <arg> 10`
(dlopen, fb_progress_hook, the scenario, fb_health, then 10 more rounds of
both), with the report pipe's write end inherited (FAULTBOX_REPORT_FD) and
RLIMIT_AS 256 MiB; the script records the exit code or signal, stderr, the
report lines.

Wasm: a fresh instance per row, WASI preview 1 from wasmtime (no preopens,
args or env), stdout and stderr to files, `fb.progress` recorded.
`_initialize` first, then `fb_<scenario>(arg)`, then `fb_health()`, then 10
more rounds of (export, fb_health) on the same instance. The store's memory
limit is 256 MiB and the wasm stack 512 KiB, faultbox's default limits. The
exported `__stack_pointer` (clang's shadow-stack pointer) is read before and
after each call.
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

HEALTH_OK = 0x600DF00D
HEALTH_NAMES = {0x600DF00D: "HEALTH_OK", 0xBADCA: "CANARY_DAMAGED", 0xBADEA: "HEAP_BROKEN",
                0xBAD0A: "NO_MEMORY"}
RECOVERED = 0x7EC07E7ED
MIB = 1 << 20


def R(name, arg=0, wasm=True, note=""):
    return {"name": name, "arg": arg, "wasm": wasm, "note": note}


RUNS = [
    R("clean_run"),
    R("null_write"),
    R("null_read"),
    R("wild_write"),
    R("recursion_small_frames"),
    R("recursion_large_frames"),
    R("hardware_div_zero"),
    R("int_min_div_neg_one"),
    R("explicit_abort"),
    R("trap_instruction"),
    R("double_free"),
    R("double_free", 1000000, note="then 1,000,000 more blocks, checked for overlap with the live ones"),
    R("use_after_free"),
    R("unchecked_oob_access"),
    R("memory_bomb"),
    R("sigsetjmp_recovery", 1, note="one fault, sigsetjmp(env, 1)"),
    R("sigsetjmp_recovery", 2, note="two faults, sigsetjmp(env, 1)"),
    R("sigsetjmp_recovery", 0x101, note="one fault, sigsetjmp(env, 0)"),
    R("sigsetjmp_recovery", 0x102, note="two faults, sigsetjmp(env, 0)"),
    R("sigsetjmp_recovery", 0x302, note="two faults, sigsetjmp(env, 0), SA_NODEFER"),
]

NATIVE_TIMEOUT_S = 20.0
NATIVE_RLIMIT_AS = 256 * MIB
WASM_TIMEOUT_S = 30.0
WASM_MEMORY_LIMIT = 256 * MIB
WASM_STACK = 512 * 1024
REPEAT_ROUNDS = 10

KEY_RE = re.compile(r"^(free\(\)|malloc\(\)|double free|corrupted|memory_bomb:|munmap_chunk|realloc\(\)|\*\*\*).*")


def key_lines(text, limit=4):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and KEY_RE.match(line) and line not in out:
            out.append(line)
        if len(out) >= limit:
            break
    return out


def hname(v):
    if v is None:
        return "-"
    return HEALTH_NAMES.get(v, f"{v:#x}")


# ---------------------------------------------------------------- native

def run_native(driver, lib, name, arg):
    r, w = os.pipe()
    env = dict(os.environ, FAULTBOX_REPORT_FD=str(w))

    def child_setup():
        resource.setrlimit(resource.RLIMIT_AS, (NATIVE_RLIMIT_AS, NATIVE_RLIMIT_AS))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    start = time.monotonic()
    proc = subprocess.Popen(
        [driver, lib, name, str(arg), str(REPEAT_ROUNDS)], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(w,),
        preexec_fn=child_setup, start_new_session=True)
    os.close(w)
    report = []
    reader = threading.Thread(target=lambda: report.append(_read_all(r)))
    reader.start()
    timed_out = False
    try:
        out, err = proc.communicate(timeout=NATIVE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    elapsed = time.monotonic() - start
    reader.join()
    os.close(r)
    lines = report[0].decode(errors="replace").splitlines() if report else []
    rc = proc.returncode
    # Split the report into the first call and the repeat rounds.
    calls, cur = [], None
    progress_total = 0
    for l in lines:
        if l.startswith("started") or l.startswith("round "):
            cur = {"progress": 0, "last_progress": None}
            calls.append(cur)
        elif l.startswith("progress ") and cur is not None:
            cur["progress"] += 1
            cur["last_progress"] = int(l.split()[1])
            progress_total += 1
        elif cur is not None and " " in l:
            k, v = l.split(" ", 1)
            cur[k] = int(v)
    first = calls[0] if calls else {}
    res = {
        "model": "native", "scenario": name, "arg": arg, "elapsed_s": round(elapsed, 3),
        "timed_out": timed_out,
        "exit_code": rc if rc is not None and rc >= 0 else None,
        "signal": signal.Signals(-rc).name if rc is not None and rc < 0 else None,
        "first_call": first,
        "calls": calls,
        "finished": "finished" in lines,
        "stderr_key": key_lines(err.decode(errors="replace")),
        "stderr": err.decode(errors="replace")[:2000],
        "stdout": out.decode(errors="replace")[:200],
    }
    if timed_out:
        ending = f"hung: killed at {NATIVE_TIMEOUT_S:.0f} s"
    elif "returned" in first:
        ending = f"returned {first['returned']:#x}" if first["returned"] > 0xFFFF else f"returned {first['returned']}"
    elif res["signal"]:
        ending = f"killed by {res['signal']}"
    else:
        ending = f"exit {res['exit_code']}"
    res["ending"] = ending
    # After the first call: health, and how the repeat rounds went.
    if "health" in first:
        res["health"] = hname(first["health"])
        done = sum(1 for c in calls[1:] if c.get("health") == HEALTH_OK)
        tail = ""
        if done < REPEAT_ROUNDS:
            last = calls[-1] if len(calls) > 1 else None
            died = f"killed by {res['signal']}" if res["signal"] else f"exit {res['exit_code']}"
            if last is not None and "returned" not in last:
                tail = f" (round {len(calls) - 1}: {died} in the scenario)"
            elif last is not None:
                tail = f" (round {len(calls) - 1}: health {hname(last.get('health'))}, {died})"
        res["repeat"] = f"{done}/{REPEAT_ROUNDS} more rounds healthy{tail}"
        res["sigsegv_blocked_after"] = first.get("sigsegv_blocked")
    else:
        res["health"] = "- (process died)"
        res["repeat"] = ""
    return res


def _read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


# ------------------------------------------------------------------ wasm

def make_engine(kind):
    import wasmtime
    cfg = wasmtime.Config()
    cfg.epoch_interruption = True
    cfg.max_wasm_stack = WASM_STACK
    if kind == "explicit":
        cfg.signals_based_traps = False
    elif kind == "pulley":
        cfg.target = "pulley64"
    return wasmtime.Engine(cfg)


class WasmRun:
    def __init__(self, engine, module, tmp):
        import wasmtime
        self.w = wasmtime
        self.engine = engine
        self.store = wasmtime.Store(engine)
        self.store.set_limits(memory_size=WASM_MEMORY_LIMIT)
        self.store.set_epoch_deadline(1)
        self.progress = []
        wasi = wasmtime.WasiConfig()
        self.stdout_path = os.path.join(tmp, "stdout")
        self.stderr_path = os.path.join(tmp, "stderr")
        wasi.stdout_file = self.stdout_path
        wasi.stderr_file = self.stderr_path
        self.store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        i64 = wasmtime.ValType.i64()
        linker.define_func("fb", "progress", wasmtime.FuncType([i64], []),
                           lambda v: self.progress.append(v))
        self.instance = linker.instantiate(self.store, module)
        self.exports = self.instance.exports(self.store)

    def sp(self):
        g = self.exports.get("__stack_pointer") if hasattr(self.exports, "get") else None
        if g is None:
            try:
                g = self.exports["__stack_pointer"]
            except KeyError:
                return None
        return g.value(self.store)

    def pages(self):
        return self.exports["memory"].size(self.store)

    def call(self, export, *args, timeout=WASM_TIMEOUT_S):
        w = self.w
        self.store.set_epoch_deadline(1)
        timer = threading.Timer(timeout, self.engine.increment_epoch)
        timer.start()
        p0 = len(self.progress)
        e0 = self.stderr_size()
        sp0 = self.sp()
        start = time.monotonic()
        try:
            value = self.exports[export](self.store, *args)
            res = {"kind": "returned", "value": value}
        except w.ExitTrap as e:
            res = {"kind": "proc_exit", "code": e.code, "message": str(e).splitlines()[0]}
        except w.Trap as e:
            code = e.trap_code
            res = {"kind": "trap", "trap_code": code.name if code is not None else None,
                   "message": str(e).splitlines()[0], "backtrace": _frames(str(e))}
        except w.WasmtimeError as e:
            res = {"kind": "error", "message": str(e).splitlines()[0]}
        finally:
            timer.cancel()
        res["elapsed_s"] = round(time.monotonic() - start, 3)
        prog = self.progress[p0:]
        res["progress_reports"] = len(prog)
        res["last_progress"] = prog[-1] if prog else None
        new = self.stderr_since(e0)
        res["stderr_key"] = key_lines(new)
        res["stderr_new"] = new[:500]
        res["sp_before"], res["sp_after"] = sp0, self.sp()
        res["pages_after"] = self.pages()
        return res

    def stderr_size(self):
        try:
            return os.path.getsize(self.stderr_path)
        except FileNotFoundError:
            return 0

    def stderr_since(self, offset, limit=64 * 1024):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(offset)
                return f.read(limit).decode(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


def _frames(text):
    return [m.group(1) for m in re.finditer(r"^\s*\d+: .*?!(\S+)", text, re.M)][:6]


def _brief(r):
    if r["kind"] == "returned":
        v = r["value"]
        return f"returned {hname(v)}" if v in HEALTH_NAMES else f"returned {v:#x}"
    if r["kind"] == "trap":
        return f"trap {r['trap_code']}"
    if r["kind"] == "proc_exit":
        return f"proc_exit({r['code']})"
    return r["message"]


def run_wasm(engine, module, kind, name, arg):
    export = f"fb_{name}"
    with tempfile.TemporaryDirectory() as tmp:
        run = WasmRun(engine, module, tmp)
        if export not in run.exports:
            return {"model": f"wasm-{kind}", "scenario": name, "arg": arg,
                    "ending": "n/a (no export: not in the wasm build)"}
        init = run.call("_initialize")
        call = run.call(export, arg) if init["kind"] == "returned" else None
        health = run.call("fb_health")
        rounds = []
        if call:
            for _ in range(REPEAT_ROUNDS):
                c2 = run.call(export, arg)
                h2 = run.call("fb_health")
                rounds.append({"call": _brief(c2), "health": _brief(h2), "sp_after": h2["sp_after"]})
                if h2.get("value") != HEALTH_OK:
                    break
        res = {"model": f"wasm-{kind}", "scenario": name, "arg": arg, "initialize": init,
               "call": call, "health_after": health, "repeat_rounds": rounds,
               "stderr": run.stderr()[:2000]}
    c = call
    if c is None:
        res["ending"] = "initialize failed"
    elif c["kind"] == "returned":
        v = c["value"]
        res["ending"] = f"returned {v:#x}" if abs(v) > 0xFFFF else f"returned {v}"
    elif c["kind"] == "proc_exit":
        res["ending"] = f"proc_exit({c['code']})"
    elif c["kind"] == "trap":
        res["ending"] = f"trap {c['trap_code']}"
    else:
        res["ending"] = f"error: {c['message']}"
    res["health"] = _brief(health)
    if call:
        ok = sum(1 for r in rounds if r["health"] == "returned HEALTH_OK")
        tail = "" if ok == REPEAT_ROUNDS else f" (round {len(rounds)}: scenario {rounds[-1]['call']}, health {rounds[-1]['health']})" if rounds else ""
        res["repeat"] = f"{ok}/{REPEAT_ROUNDS} more rounds healthy{tail}"
    return res


def trap_leak_probe(engine, module, limit=100000):
    """Calls fb_memory_bomb(0) on one instance over and over (after the
    first call fills memory, each call's malloc fails at once and abort()
    traps `unreachable`), with fb_health after each: the trap skips the
    epilogue that would give the export's shadow-stack frame back, so
    __stack_pointer creeps down a frame per trap. Reports when fb_health
    first fails."""
    with tempfile.TemporaryDirectory() as tmp:
        run = WasmRun(engine, module, tmp)
        run.call("_initialize")
        sp0 = run.sp()
        leak = None
        for n in range(1, limit + 1):
            c = run.call("fb_memory_bomb", 0)
            if n == 2:
                leak = sp_prev - run.sp()
            sp_prev = run.sp()
            h = run.call("fb_health")
            if h.get("value") != HEALTH_OK:
                return {"sp_initial": sp0, "leak_per_trap": leak, "calls": n, "last_call": _brief(c),
                        "sp_before_health": sp_prev, "health": _brief(h),
                        "clean_run": _brief(run.call("fb_clean_run", 0)),
                        "stderr_tail": run.stderr_since(max(0, run.stderr_size() - 300)).strip().splitlines()[-1:]}
        return {"sp_initial": sp0, "leak_per_trap": leak, "calls": limit, "health": "still HEALTH_OK"}


def sp_reset_probe(engine, module):
    """recursion_large_frames, then the host puts __stack_pointer back to
    its value after _initialize (what a host could do after any trap), then
    fb_health, fb_clean_run and fb_use_after_free on the same instance."""
    with tempfile.TemporaryDirectory() as tmp:
        run = WasmRun(engine, module, tmp)
        run.call("_initialize")
        sp0 = run.sp()
        c = run.call("fb_recursion_large_frames", 0)
        sp1 = run.sp()
        run.exports["__stack_pointer"].set_value(run.store, sp0)
        after = [_brief(run.call("fb_health")), _brief(run.call("fb_clean_run", 0)),
                 _brief(run.call("fb_use_after_free", 0))]
        healthy = sum(1 for _ in range(REPEAT_ROUNDS) if run.call("fb_health").get("value") == HEALTH_OK)
        return {"call": _brief(c), "sp_after_trap": sp1, "sp_reset_to": sp0,
                "health": after[0], "clean_run": after[1], "use_after_free": after[2],
                "health_rounds": f"{healthy}/{REPEAT_ROUNDS}"}


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver")
    ap.add_argument("--lib")
    ap.add_argument("--wasm")
    ap.add_argument("--wasm-stack-first")
    ap.add_argument("--engine", action="append", choices=["cranelift", "explicit", "pulley"])
    ap.add_argument("--json")
    ap.add_argument("--only", action="append")
    a = ap.parse_args()
    engines = a.engine or ["cranelift"]
    results = {"runs": [], "meta": {}}
    runs = [r for r in RUNS if not a.only or r["name"] in a.only]

    native_names = None
    if a.lib:
        import ctypes
        lib = ctypes.CDLL(os.path.abspath(a.lib))
        # a NULL-terminated array of names; 64 is more than the table holds
        arr = (ctypes.c_char_p * 64).in_dll(lib, "fb_scenario_names")
        native_names = []
        for p in arr:
            if p is None:
                break
            native_names.append(p.decode())
        results["meta"]["native_scenarios"] = native_names

    wasm = {}
    if a.wasm or a.wasm_stack_first:
        import wasmtime
        from importlib.metadata import version
        results["meta"]["wasmtime_py"] = version("wasmtime")
        modules = []
        if a.wasm:
            modules += [(k, k, a.wasm) for k in engines]
        if a.wasm_stack_first:
            modules.append(("cranelift-stack-first", "cranelift", a.wasm_stack_first))
        for label, kind, path in modules:
            eng = make_engine(kind)
            t0 = time.monotonic()
            mod = wasmtime.Module.from_file(eng, path)
            wasm[label] = (eng, mod, kind)
            results["meta"][f"compile_s_{label}"] = round(time.monotonic() - t0, 3)
        eng, mod, _ = next(iter(wasm.values()))
        results["meta"]["wasm_exports"] = sorted(e.name for e in mod.exports)
        results["meta"]["wasm_imports"] = sorted(f"{i.module}.{i.name}" for i in mod.imports)
        if native_names is not None:
            exported = {e.name[3:] for e in mod.exports if e.name.startswith("fb_")} - {"health"}
            results["meta"]["native_only"] = sorted(set(native_names) - exported)
            if exported - set(native_names):
                print(f"wasm exports without a table entry: {sorted(exported - set(native_names))}", file=sys.stderr)
                sys.exit(1)
        if not a.only:
            for label, (eng, mod, kind) in wasm.items():
                if kind == "cranelift":
                    results["meta"][f"sp_reset_{label}"] = p = sp_reset_probe(eng, mod)
                    print(f"sp reset probe ({label}): {p}", file=sys.stderr)
        if a.wasm and not a.only:
            for k in engines[:1]:
                eng, mod, _ = wasm[k]
                results["meta"][f"trap_leak_{k}"] = p = trap_leak_probe(eng, mod)
                print(f"trap leak probe ({k}): {p}", file=sys.stderr)

    for run in runs:
        name, arg = run["name"], run["arg"]
        row = {"scenario": name, "arg": arg, "note": run["note"]}
        if a.driver:
            row["native"] = n = run_native(a.driver, a.lib, name, arg)
            print(f"native {name:24} {arg:>6} {n['ending']} | health {n['health']} | {n['repeat']}", file=sys.stderr)
        for label, (eng, mod, kind) in (wasm.items() if run["wasm"] else []):
            row[f"wasm_{label}"] = w = run_wasm(eng, mod, kind, name, arg)
            print(f"wasm-{label:10} {name:24} {arg:>6} {w['ending']} | health {w.get('health')} | {w.get('repeat')}",
                  file=sys.stderr)
        results["runs"].append(row)

    if a.json:
        with open(a.json, "w") as f:
            f.write(json.dumps(results, indent=1, default=str) + "\n")
    print_tables(results)


def _esc(x):
    return str(x).replace("|", "\\|").replace("\n", " ")


def _arg(row):
    a = row["arg"]
    return f"{a:#x}" if row["scenario"] == "sigsetjmp_recovery" and a >= 0x100 else str(a)


def print_tables(results):
    runs, m = results["runs"], results["meta"]
    print("<!-- generated by characterise.sh; do not edit -->")
    print(f"Native: `driver libguest.so <scenario> <arg> {REPEAT_ROUNDS}`, one process per row, "
          f"RLIMIT_AS {NATIVE_RLIMIT_AS // MIB} MiB, report pipe via FAULTBOX_REPORT_FD, "
          f"{NATIVE_TIMEOUT_S:.0f} s deadline. Wasm: wasmtime-py {m.get('wasmtime_py', '-')}, "
          f"WASI preview 1 (no preopens), a fresh instance per row, store memory limit "
          f"{WASM_MEMORY_LIMIT // MIB} MiB, max_wasm_stack {WASM_STACK // 1024} KiB; `_initialize`, "
          f"the export, `fb_health`, then {REPEAT_ROUNDS} more rounds of (export, `fb_health`) on the "
          "same instance (process, natively).\n")
    if m.get("wasm_imports"):
        print("Module imports: " + ", ".join(f"`{i}`" for i in m["wasm_imports"]) + "\n")
        print("Module exports: " + ", ".join(f"`{e}`" for e in m["wasm_exports"]) + "\n")
        comp = ", ".join(f"{k[10:]} {v} s" for k, v in m.items() if k.startswith("compile_s_"))
        print(f"Module compile times: {comp}\n")
    if m.get("native_scenarios"):
        print("libguest.so `fb_scenario_names`: " + ", ".join(f"`{n}`" for n in m["native_scenarios"])
              + "; native only: " + (", ".join(f"`{n}`" for n in m.get("native_only", [])) or "none") + "\n")
    leaks = [(k[10:], v) for k, v in m.items() if k.startswith("trap_leak_")]
    if leaks:
        print("## Repeated traps on one instance: the shadow stack leaks\n")
        print("`fb_memory_bomb(0)` called again and again on one instance (after the first call fills the "
              "256 MiB, each call's first malloc fails and `abort()` traps `unreachable`), `fb_health` after each.\n")
        print("| engine | `__stack_pointer` at start | leaked per trap (bytes) | trapped calls until fb_health failed | that call | fb_health | then fb_clean_run | last stderr line |")
        print("|---|---|---|---|---|---|---|---|")
        for k, p in leaks:
            print(f"| {k} | {p['sp_initial']} | {p['leak_per_trap']} | {p['calls']} (sp then {p.get('sp_before_health')}) | "
                  f"{p.get('last_call', '')} | {p['health']} | {p.get('clean_run', '')} | {_esc(' '.join(p.get('stderr_tail', [])))} |")
        print()
    resets = [(k[9:], v) for k, v in m.items() if k.startswith("sp_reset_")]
    if resets:
        print("## After the shadow stack overflowed: put `__stack_pointer` back, then?\n")
        print("`fb_recursion_large_frames(0)` on a fresh instance; then the host sets the exported "
              "`__stack_pointer` back to its value after `_initialize`; then calls on the same instance.\n")
        print("| module (engine) | scenario | `__stack_pointer` after the trap → reset to | fb_health | fb_clean_run | fb_use_after_free | fb_health × 10 |")
        print("|---|---|---|---|---|---|---|")
        for k, p in resets:
            print(f"| {k} | {p['call']} | {p['sp_after_trap']} → {p['sp_reset_to']} | {p['health']} | "
                  f"{p['clean_run']} | {p['use_after_free']} | {p['health_rounds']} |")
        print()
    print("## native\n")
    print("| scenario | arg | ending | stderr | progress | health after | SIGSEGV blocked after | repeated in the same process |")
    print("|---|---|---|---|---|---|---|---|")
    for row in runs:
        n = row.get("native")
        if not n:
            continue
        f = n["first_call"]
        prog = f"{f.get('progress', 0)} reports, last {f.get('last_progress')}" if f.get("progress") else ""
        blk = {None: "-", 0: "no", 1: "**yes**"}[n.get("sigsegv_blocked_after")]
        print(f"| {row['scenario']} | {_arg(row)} | {n['ending']} ({n['elapsed_s']} s) | "
              f"{_esc('; '.join(n['stderr_key']))} | {prog} | {n['health']} | {blk} | {_esc(n['repeat'])} |")
    keys = []
    for row in runs:
        keys += [k for k in row if k.startswith("wasm_") and k not in keys]
    for key in keys:
        print(f"\n## {key.replace('_', '-', 1)}\n")
        print("| scenario | arg | ending | evidence | progress | `__stack_pointer` before → after | fb_health after | repeated on the same instance |")
        print("|---|---|---|---|---|---|---|---|")
        for row in runs:
            w = row.get(key)
            if not w:
                continue
            c = w.get("call") or {}
            ev = "; ".join(c.get("stderr_key", []) + ([" ← ".join(c["backtrace"][:4])] if c.get("backtrace") else []))
            prog = f"{c['progress_reports']} reports, last {c['last_progress']}" if c.get("progress_reports") else ""
            sp = f"{c.get('sp_before')} → {c.get('sp_after')}" if c else ""
            print(f"| {row['scenario']} | {_arg(row)} | {w['ending']} | {_esc(ev)} | {prog} | {sp} | "
                  f"{_esc(w.get('health', ''))} | {_esc(w.get('repeat', ''))} |")


if __name__ == "__main__":
    main()
