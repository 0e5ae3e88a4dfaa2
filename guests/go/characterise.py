#!/usr/bin/env python3
"""Characterise every Go guest scenario, natively and in wasm.

Run through characterise.sh, which builds the artifacts and a venv with the
wasmtime Python bindings. Standalone:

    python3 characterise.py --native BIN [--native-nocgo BIN] [--wasm FILE]
                            [--engine cranelift|explicit|pulley ...]
                            [--json OUT.json] [--only NAME ...]

Native: each scenario is exec'd as `BIN <scenario> <arg>` with the report
pipe's write end inherited (FAULTBOX_REPORT_FD=<its number>); the script records the exit code or
signal, the runtime's key stderr lines and the report lines.

Wasm: a fresh instance per scenario, WASI preview 1 from wasmtime, stdout and
stderr to files, `fb.progress` and `fb.panic_message` recorded. `_initialize`
first, then `fb_<scenario>(arg)`, then `fb_health()` on the same instance to
see whether it can be called again. The store's memory limit is 256 MiB and
the wasm stack 512 KiB, faultbox's default limits.
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
RECOVERED_VALUE = 0x7EC07E7ED
GIB = 1 << 30
MIB = 1 << 20

def R(name, arg=0, rlimit_as=None, env=None, wasm=True):
    """One run: scenario, arg, native RLIMIT_AS in bytes (None: none),
    extra native environment, and whether wasm runs it too."""
    return {"name": name, "arg": arg, "rlimit_as": rlimit_as, "env": env or {}, "wasm": wasm}


RUNS = [
    R("clean_run"),
    R("go_plain_panic"),
    R("seed_low_address"),
    R("null_write"),
    R("wild_write"),
    R("wild_write_panic_on_fault"),
    R("recursion_small_frames"),
    R("recursion_small_frames", 64 * MIB),          # debug.SetMaxStack(64 MiB) first
    R("cgo_abort"),
    R("cgo_null_write"),
    R("goroutine_panic"),
    R("concurrent_map_writes"),
    R("deadlock"),
    R("go_out_of_memory", 1 * GIB, rlimit_as=1 * GIB),
    R("go_out_of_memory", 1 << 50, rlimit_as=1 * GIB),  # beyond maxAlloc
    # GOMEMLIMIT is a soft GC target, not a cap: natively this one succeeds.
    R("go_out_of_memory", 1 * GIB, env={"GOMEMLIMIT": "64MiB"}, wasm=False),
    # RLIMIT_AS below what the runtime reserves at start-up (~740 MB here).
    R("clean_run", 0, rlimit_as=256 * MIB, wasm=False),
    R("checked_div_zero"),
    R("checked_oob_index"),
    R("nil_map_write"),
    R("close_closed_channel"),
    R("unlock_unlocked_mutex"),
    R("go_os_exit"),
]

NATIVE_TIMEOUT_S = 10.0
WASM_TIMEOUT_S = 20.0
WASM_MEMORY_LIMIT = 256 * MIB
WASM_STACK = 512 * 1024
REPEAT_ROUNDS = 10

KEY_LINES = [
    r"^panic: .*",
    r"^fatal error: .*",
    r"^unexpected fault address .*",
    r"^\[signal .*\]",
    r"^SIG[A-Z]+: .*",
    r"^signal arrived during cgo execution",
    r"^runtime: goroutine stack exceeds .*",
    r"^runtime: out of memory.*",
    r"^runtime/cgo: .*",
    r"^runtime: wasmexport .*",
    r"^\s*call _initialize first",
]
KEY_RE = re.compile("|".join(KEY_LINES))


def key_lines(text, limit=6):
    out = []
    for line in text.splitlines():
        if KEY_RE.match(line) and line not in out:
            out.append(line.strip())
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------- native

def run_native(binary, name, arg, rlimit_as, extra_env=None):
    r, w = os.pipe()
    env = dict(os.environ, FAULTBOX_REPORT_FD=str(w))
    env.pop("GOMEMLIMIT", None)
    env.update(extra_env or {})
    env.pop("GOTRACEBACK", None)

    def child_setup():
        if rlimit_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, (rlimit_as, rlimit_as))

    start = time.monotonic()
    proc = subprocess.Popen(
        [binary, name, str(arg)], env=env, stdin=subprocess.DEVNULL,
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
    progress = [int(l.split()[1]) for l in lines if l.startswith("progress ")]
    facts = [l for l in lines if not l.startswith("progress ")]
    res = {
        "model": "native", "scenario": name, "arg": arg,
        "rlimit_as": rlimit_as, "env": extra_env or {}, "elapsed_s": round(elapsed, 3),
        "timed_out": timed_out,
        "exit_code": rc if rc is not None and rc >= 0 else None,
        "signal": signal.Signals(-rc).name if rc is not None and rc < 0 else None,
        "report": facts,
        "progress_reports": len(progress),
        "last_progress": progress[-1] if progress else None,
        "recovered": any(l.startswith("recovered ") for l in facts),
        "health": next((int(l.split()[1]) for l in facts if l.startswith("health ")), None),
        "stderr_key": key_lines(err.decode(errors="replace")),
        "stderr_bytes": len(err),
        "stdout": out.decode(errors="replace")[:200],
    }
    res["ending"] = native_ending(res)
    return res


def _read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def native_ending(r):
    if r["timed_out"]:
        return f"hung: killed at the {NATIVE_TIMEOUT_S:.0f} s deadline"
    if r["signal"]:
        return f"killed by {r['signal']}"
    if r["recovered"]:
        return f"recovered, exit {r['exit_code']}"
    if any(l.startswith("returned ") for l in r["report"]):
        return f"returned, exit {r['exit_code']}"
    return f"exit {r['exit_code']}"


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
        self.panic_messages = []
        wasi = wasmtime.WasiConfig()
        self.stdout_path = os.path.join(tmp, "stdout")
        self.stderr_path = os.path.join(tmp, "stderr")
        wasi.stdout_file = self.stdout_path
        wasi.stderr_file = self.stderr_path
        self.store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        i64, i32 = wasmtime.ValType.i64(), wasmtime.ValType.i32()
        linker.define_func("fb", "progress", wasmtime.FuncType([i64], []),
                           lambda v: self.progress.append(v))

        def panic_message(caller, ptr, n):
            mem = caller["memory"]
            data = mem.read(caller, ptr, ptr + n)
            self.panic_messages.append(bytes(data).decode(errors="replace"))
        linker.define_func("fb", "panic_message", wasmtime.FuncType([i32, i32], []),
                           panic_message, access_caller=True)
        self.instance = linker.instantiate(self.store, module)
        self.exports = self.instance.exports(self.store)

    def call(self, export, *args, timeout=WASM_TIMEOUT_S):
        """Calls an export; returns a dict describing how the call ended."""
        w = self.w
        self.store.set_epoch_deadline(1)
        timer = threading.Timer(timeout, self.engine.increment_epoch)
        timer.start()
        p0, m0 = len(self.progress), len(self.panic_messages)
        e0 = len(self.stderr())
        start = time.monotonic()
        try:
            value = self.exports[export](self.store, *args)
            res = {"kind": "returned", "value": value}
        except w.ExitTrap as e:
            res = {"kind": "proc_exit", "code": e.code, "message": str(e).splitlines()[0]}
        except w.Trap as e:
            code = e.trap_code
            res = {"kind": "trap",
                   "trap_code": code.name if code is not None else None,
                   "message": str(e).splitlines()[0]}
        except w.WasmtimeError as e:
            res = {"kind": "error", "message": str(e).splitlines()[0]}
        finally:
            timer.cancel()
        res["elapsed_s"] = round(time.monotonic() - start, 3)
        prog = self.progress[p0:]
        res["progress_reports"] = len(prog)
        res["last_progress"] = prog[-1] if prog else None
        res["panic_messages"] = self.panic_messages[m0:]
        res["stderr_key"] = key_lines(self.stderr()[e0:])
        return res

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""


def run_wasm(engine, module, kind, name, arg):
    export = f"fb_{name}"
    with tempfile.TemporaryDirectory() as tmp:
        run = WasmRun(engine, module, tmp)
        if export not in run.exports:
            return {"model": f"wasm-{kind}", "scenario": name, "arg": arg,
                    "ending": "n/a (no export: cgo is off in the wasm build)"}
        init = run.call("_initialize")
        call = run.call(export, arg) if init["kind"] == "returned" else None
        health = run.call("fb_health")
        health2 = run.call("fb_health") if health["kind"] == "returned" else None
        # Repeat (scenario, health) on the same instance: how many rounds
        # does it survive? A trap leaves Go's state (its SP global, the
        # current g) wherever the trap found it.
        rounds = []
        if call and health.get("value") == HEALTH_OK:
            for _ in range(REPEAT_ROUNDS):
                c2 = run.call(export, arg)
                h2 = run.call("fb_health")
                rounds.append({"call": _brief(c2), "health": _brief(h2)})
                if h2.get("value") != HEALTH_OK:
                    break
        err = run.stderr()
        res = {
            "model": f"wasm-{kind}", "scenario": name, "arg": arg,
            "initialize": init, "call": call, "health_after": health,
            "health_again": health2, "repeat_rounds": rounds,
            "stderr_key": key_lines(err), "stderr_bytes": len(err),
            "stdout": run.stdout()[:200],
        }
    c = call
    if c is None:
        res["ending"] = "initialize failed"
    elif c["kind"] == "returned" and c["panic_messages"]:
        res["ending"] = "recovered (fb.panic_message, RecoveredValue)"
    elif c["kind"] == "returned":
        res["ending"] = f"returned {c['value']}"
    elif c["kind"] == "proc_exit":
        res["ending"] = f"proc_exit({c['code']})"
    elif c["kind"] == "trap":
        res["ending"] = f"trap {c['trap_code']}"
    else:
        res["ending"] = f"error: {c['message']}"
    if rounds:
        ok = sum(1 for r in rounds if r["health"] == "returned 0x600df00d")
        res["repeat"] = f"{ok}/{REPEAT_ROUNDS} more rounds healthy" + (
            "" if ok == REPEAT_ROUNDS else f" (then {rounds[-1]['health']})")
    res["recovered"] = bool(c and c["kind"] == "returned" and c["panic_messages"])
    h = health
    if h["kind"] == "returned" and h["value"] == HEALTH_OK:
        res["reusable"] = "yes (fb_health = HEALTH_OK)"
    elif h["kind"] == "returned":
        res["reusable"] = f"no: fb_health returned {h['value']:#x}"
    elif h["kind"] == "trap":
        res["reusable"] = f"no: fb_health traps {h['trap_code']}"
    elif h["kind"] == "proc_exit":
        res["reusable"] = f"no: fb_health proc_exit({h['code']})"
    else:
        res["reusable"] = f"no: {h['message']}"
    return res


def _brief(r):
    if r["kind"] == "returned":
        v = r["value"]
        return f"returned {v:#x}" if isinstance(v, int) else "returned"
    if r["kind"] == "trap":
        return f"trap {r['trap_code']}"
    if r["kind"] == "proc_exit":
        return f"proc_exit({r['code']})"
    return r["message"]


def uninitialised_probe(engine, module):
    """What happens when an export is called before _initialize."""
    with tempfile.TemporaryDirectory() as tmp:
        run = WasmRun(engine, module, tmp)
        c = run.call("fb_clean_run", 0)
        c["stderr"] = run.stderr().strip().splitlines()
        init = run.call("_initialize")
        c["initialize_after"] = init
        c["clean_run_after"] = run.call("fb_clean_run", 0) if init["kind"] == "returned" else None
        return c


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--native")
    ap.add_argument("--native-nocgo")
    ap.add_argument("--wasm")
    ap.add_argument("--engine", action="append", choices=["cranelift", "explicit", "pulley"])
    ap.add_argument("--json")
    ap.add_argument("--only", action="append")
    a = ap.parse_args()
    engines = a.engine or ["cranelift"]
    results = {"runs": [], "meta": {}}

    if a.native:
        names = subprocess.run([a.native, "list"], capture_output=True, text=True, check=True).stdout.split()
        results["meta"]["native_scenarios"] = names
    runs = [r for r in RUNS if not a.only or r["name"] in a.only]

    wasm = {}
    if a.wasm:
        try:
            import wasmtime
            from importlib.metadata import version
            results["meta"]["wasmtime_py"] = version("wasmtime")
        except ImportError:
            print("wasmtime Python bindings missing: skipping wasm", file=sys.stderr)
            a.wasm = None
    if a.wasm:
        for kind in engines:
            eng = make_engine(kind)
            t0 = time.monotonic()
            mod = wasmtime.Module.from_file(eng, a.wasm)
            wasm[kind] = (eng, mod)
            results["meta"][f"compile_s_{kind}"] = round(time.monotonic() - t0, 2)
        eng, mod = wasm[engines[0]]
        exports = sorted(e.name[3:] for e in mod.exports if e.name.startswith("fb_"))
        imports = sorted({f"{i.module}.{i.name}" for i in mod.imports})
        results["meta"]["wasm_exports"] = exports
        results["meta"]["wasm_imports"] = imports
        if a.native:
            missing = sorted(set(names) - set(exports))
            results["meta"]["native_only"] = missing
            extra = sorted(set(exports) - set(names))
            if extra:
                print(f"exports without a table entry: {extra}", file=sys.stderr)
                sys.exit(1)
        results["meta"]["uninitialised_call"] = uninitialised_probe(eng, mod)

    for run in runs:
        name, arg, rlimit, extra_env = run["name"], run["arg"], run["rlimit_as"], run["env"]
        row = {"scenario": name, "arg": arg, "native_limits": _limits(rlimit, extra_env)}
        if a.native:
            row["native"] = run_native(a.native, name, arg, rlimit, extra_env)
            print(f"native   {name:28} {arg:>20} {row['native']['ending']}", file=sys.stderr)
        if a.native_nocgo and not name.startswith("cgo_"):
            row["native_nocgo"] = run_native(a.native_nocgo, name, arg, rlimit, extra_env)
            print(f"nocgo    {name:28} {arg:>20} {row['native_nocgo']['ending']}", file=sys.stderr)
        for kind, (eng, mod) in (wasm.items() if run["wasm"] else []):
            row[f"wasm_{kind}"] = run_wasm(eng, mod, kind, name, arg)
            print(f"wasm-{kind:9} {name:24} {arg:>20} {row[f'wasm_{kind}']['ending']}"
                  f" | reusable: {row[f'wasm_{kind}'].get('reusable')}", file=sys.stderr)
        results["runs"].append(row)

    text = json.dumps(results, indent=1, default=str)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print_table(results)


def _limits(rlimit, env):
    parts = []
    if rlimit:
        parts.append(f"RLIMIT_AS {rlimit // MIB} MiB")
    for k, v in (env or {}).items():
        parts.append(f"{k}={v}")
    return ", ".join(parts)


def _esc(x):
    return str(x).replace("|", "\\|")


def native_evidence(n):
    rec = [l for l in n.get("report", []) if l.startswith(("recovered", "fault_addr", "returned", "health"))]
    return "; ".join(n.get("stderr_key", [])[:3] + rec)


def wasm_evidence(w):
    c = w.get("call") or {}
    parts = list(c.get("stderr_key", [])[:3])
    parts += [f"panic_message: {m}" for m in c.get("panic_messages", [])]
    if c.get("kind") in ("trap", "proc_exit") and not parts:
        parts.append(f"{c['kind']} with nothing on stderr")
    if c.get("last_progress") is not None:
        parts.append(f"progress {c['last_progress']}")
    return "; ".join(parts)


def print_table(results):
    runs = results["runs"]
    m = results["meta"]
    print("<!-- generated by characterise.sh; do not edit -->")
    print(f"Native: exec per run, report pipe via FAULTBOX_REPORT_FD, {NATIVE_TIMEOUT_S:.0f} s deadline. "
          f"Wasm: wasmtime-py {m.get('wasmtime_py', '-')}, WASI preview 1, a fresh instance per row, "
          f"store memory limit {WASM_MEMORY_LIMIT // MIB} MiB, max_wasm_stack {WASM_STACK // 1024} KiB; "
          f"`_initialize`, the export, then `fb_health`, then {REPEAT_ROUNDS} more rounds of (export, `fb_health`) "
          "on the same instance.\n")
    print("## native\n")
    print("| scenario | arg | ending (cgo build) | evidence (stderr key lines; report lines) | recover ran? | CGO_ENABLED=0 build |")
    print("|---|---|---|---|---|---|")
    for row in runs:
        n = row.get("native")
        if not n:
            continue
        prog = f" @{n['last_progress']}" if n.get("last_progress") else ""
        nc = row.get("native_nocgo")
        ncs = "n/a" if nc is None else ("same" if nc["ending"] == n["ending"] else nc["ending"] + "; " + "; ".join(nc["stderr_key"][:2]))
        lim = f" [{row['native_limits']}]" if row.get("native_limits") else ""
        print(f"| {row['scenario']} | {row['arg']}{lim} | {n['ending']}{prog} ({n['elapsed_s']} s) | "
              f"{_esc(native_evidence(n))} | {'yes' if n['recovered'] else 'no'} | {_esc(ncs)} |")
    keys = []
    for row in runs:
        keys += [k for k in row if k.startswith("wasm_") and k not in keys]
    for key in keys:
        print(f"\n## {key.replace('_', '-')}\n")
        print("| scenario | arg | ending | evidence | recover ran? | instance reusable? (fb_health) | repeated on the same instance |")
        print("|---|---|---|---|---|---|---|")
        for row in runs:
            w = row.get(key)
            if not w:
                continue
            print(f"| {row['scenario']} | {row['arg']} | {w['ending']} | {_esc(wasm_evidence(w))} | "
                  f"{'yes' if w.get('recovered') else 'no'} | {_esc(w.get('reusable', ''))} | {_esc(w.get('repeat', ''))} |")


if __name__ == "__main__":
    main()
