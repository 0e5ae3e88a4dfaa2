//! `faultbox bench`: the fault-to-usable-again cycle of every execution
//! model, measured in one run so that the figures compare as ratios.
//!
//! The cycles run inside the workers (a wasm worker, the fork server), so
//! no protocol round trip is counted; the supervisor only computes the
//! statistics.

use crate::error::BadInput;
use crate::model::{ExecutionModel, EngineConfig};
use crate::protocol::{BenchRequest, BenchSamples, Message, Request, WasmConfig};
use crate::scenario::Scenario;
use crate::supervisor::Supervisor;
use crate::worker::WorkerKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Median, p99 and rate of a set of samples.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stats {
    pub samples: usize,
    pub median_us: f64,
    pub p99_us: f64,
    pub cycles_per_second: f64,
}

impl Stats {
    /// Statistics of `ns`, leaving out the first 5% (warm-up).
    pub fn of(ns: &[u64]) -> Stats {
        let skip = ns.len() / 20;
        let mut v: Vec<u64> = ns[skip..].to_vec();
        v.sort_unstable();
        let pick = |q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0) as f64 / 1000.0;
        let median_us = pick(0.5);
        Stats { samples: v.len(), median_us, p99_us: pick(0.99), cycles_per_second: if median_us > 0.0 { 1e6 / median_us } else { 0.0 } }
    }
}

/// One measured configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub name: String,
    pub description: String,
    pub cycle: Stats,
    /// Medians of the cycle's parts, µs.
    pub parts_median_us: BTreeMap<String, f64>,
    /// Fault classes observed (every cycle must fault the same way).
    pub classes: BTreeMap<String, u64>,
}

/// What `faultbox bench` prints; saved whole as a baseline
/// (`--save-baseline`). It holds measurements only: what counts as fast
/// enough is the reader's call, and a regression is judged against a
/// saved run of the same machine ([`compare_with_baseline`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    pub scenario: String,
    pub iterations: u32,
    pub configurations: Vec<Measured>,
    /// Median native (fork-server) cycle ÷ median wasm cycle, per wasm
    /// model: how many wasm cycles fit in one native cycle.
    pub native_over_wasm: BTreeMap<String, f64>,
    /// Median fork+exec cycle ÷ median fork-server cycle (absent without
    /// a native run).
    pub fork_exec_over_fork_server: Option<f64>,
    /// Median fork-server cycle ÷ median platform floor (`native-floor`:
    /// fork a child that faults at once, reap it).
    pub native_over_floor: Option<f64>,
    /// The wasm-explicit floor: the medians of its instantiation and its
    /// call to the trap, added, µs.
    pub wasm_explicit_floor_us: Option<f64>,
    /// Median wasm-explicit cycle ÷ the sum of the medians of its
    /// instantiation and its call to the trap: what classifying and
    /// handing the instance over add to the latency from one fault to a
    /// usable fresh instance.
    pub wasm_explicit_over_floor: Option<f64>,
    /// The same with the reaper's drop added to the cycle: the CPU one
    /// cycle costs in all, on whichever core.
    pub wasm_explicit_cpu_over_floor: Option<f64>,
    /// What backtrace capture adds to a wasm trap cycle, µs (median).
    pub backtrace_cost_us: f64,
    /// One-off module compile time per wasm model, ms (kept out of cycles;
    /// a model the worker sent no figure for is left out).
    pub compile_ms: BTreeMap<String, f64>,
    /// Loading the same module from faultbox's module cache, ms.
    pub cache_load_ms: BTreeMap<String, f64>,
    /// The platform's trap round trip without any runtime, median µs:
    /// `ud2` → SIGILL and an unmapped load → SIGSEGV, each caught by a
    /// handler and resumed. The kernel's share of a signals-based trap.
    pub platform_trap_us: BTreeMap<String, f64>,
    /// A full `compare` over the whole catalog and every model, ms
    /// (`bench --compare`).
    pub compare_ms: Option<f64>,
    pub compare_jobs: Option<usize>,
}

fn median_parts(parts: &BTreeMap<String, Vec<u64>>) -> BTreeMap<String, f64> {
    parts.iter().map(|(k, v)| (k.clone(), Stats::of(v).median_us)).collect()
}

/// The configurations that cycle in one worker, in column order: an
/// embedded family's all together, interleaved; an adapter's each in its
/// own (an adapter process serves one configuration). An adapter whose
/// runtime is missing is left out with a line on stderr, and is an error
/// under CI.
fn worker_groups() -> anyhow::Result<Vec<Vec<EngineConfig>>> {
    let mut groups: Vec<Vec<EngineConfig>> = Vec::new();
    for c in EngineConfig::ALL {
        match crate::worker::adapter::launcher(c) {
            None => match groups.last_mut() {
                Some(g) if g[0].family() == c.family() => g.push(c),
                _ => groups.push(vec![c]),
            },
            Some(Ok(_)) => groups.push(vec![c]),
            Some(Err(why @ crate::language::build::Unavailable::Missing { .. })) if std::env::var_os("CI").is_none() => {
                eprintln!("faultbox: bench leaves {c} out: {}", why.line());
            }
            Some(Err(why)) => anyhow::bail!("the {c} engine cannot run here: {}", why.line()),
        }
    }
    Ok(groups)
}

/// Runs the benchmark. `compare` is the catalog to time a full compare on.
pub fn run(supervisor: &Supervisor, s: &Scenario, iterations: u32, compare: Option<(&[&Scenario], usize)>) -> anyhow::Result<BenchReport> {
    let call = |kind: WorkerKind, req: BenchRequest| -> anyhow::Result<Vec<BenchSamples>> {
        // The cycles run in the worker, which reports how many are done.
        let progress = match &req {
            BenchRequest::WasmCycles { .. } => Some("wasm cycles"),
            BenchRequest::NativeCycles { .. } => Some("native cycles"),
            _ => None,
        }
        .map(|what| super::progress::WorkerProgress::new(what, iterations as u64));
        let answer = supervisor.pool().call(kind, &Request::Bench { job: req }, Duration::from_secs(3600));
        drop(progress);
        match answer.map_err(|e| anyhow::Error::from(e).context(format!("the benchmark's {} worker", kind.arg())))? {
            Message::Bench { samples } => Ok(samples),
            other => anyhow::bail!("{kind:?} answered {other:?}"),
        }
    };
    let w = Supervisor::wasm_request_of(s, EngineConfig::Cranelift)?;
    let measured = |name: &str, description: String, s: BenchSamples| Measured {
        name: name.into(),
        description,
        cycle: Stats::of(&s.cycles_ns),
        parts_median_us: median_parts(&s.parts_ns),
        classes: crate::classify::cycle_classes(&s.traps, &s.endings),
    };

    let groups = worker_groups()?;
    let wasm_models: Vec<EngineConfig> = groups.iter().flatten().copied().collect();
    let mut compile_ms = BTreeMap::new();
    let mut cache_load_ms = BTreeMap::new();
    for model in wasm_models {
        let compiled = call(WorkerKind::Wasm(model), BenchRequest::WasmCompile { model, module: w.module.clone(), wasm_stack_kib: w.limits.wasm_stack_kib })?;
        // The first figure of each part, in ms; a part the worker did not
        // send is left out rather than read out of bounds.
        let first_ms = |part: &str| Some(*compiled.first()?.parts_ns.get(part)?.first()? as f64 / 1e6);
        if let Some(ms) = first_ms("compile") {
            compile_ms.insert(model.name().to_string(), ms);
        }
        if let Some(ms) = first_ms("cache_load") {
            cache_load_ms.insert(model.name().to_string(), ms);
        }
    }

    // Every configuration of one engine family in one worker, interleaved
    // cycle by cycle: sharing a process with wasmtime's signal handlers
    // does not change what its explicit-checks and Pulley engines do, since
    // the cycle faults in guest code only. Families run one after another,
    // each in its own worker.
    let mut configurations = Vec::new();
    for group in &groups {
        let mut configs: Vec<WasmConfig> = group.iter().map(|&model| WasmConfig { model, backtraces: true }).collect();
        let Some(first) = configs.first().map(|c| c.model) else { continue };
        if first.capabilities().backtraces {
            configs.insert(1, WasmConfig { model: first, backtraces: false });
        }
        // An adapter measures with backtraces as its engine makes them.
        if first.row().start.adapter().is_some() {
            configs.truncate(1);
        }
        let samples = call(
            WorkerKind::Wasm(first),
            BenchRequest::WasmCycles {
                configs: configs.clone(),
                module: w.module.clone(),
                export: w.export.clone(),
                arg: w.arg,
                limits: w.limits.clone(),
                iterations,
            },
        )?;
        configurations.extend(configs.iter().zip(samples).map(|(c, samples)| {
            if c.backtraces || !c.model.capabilities().backtraces {
                let what = if c.model.family() == crate::registry::EngineFamily::Wasmtime {
                    "fresh pooled instance + fb_init, call, trap, classify, drop"
                } else {
                    "fresh instance + fb_init, call, trap, classify, drop (in the cycle)"
                };
                let d = format!("{}: {what}", crate::model::ExecutionModel::from(c.model).description());
                measured(c.model.name(), d, samples)
            } else {
                measured(&format!("{}-no-backtrace", c.model.name()), format!("as {}, with wasm backtrace capture off", c.model), samples)
            }
        }));
    }

    if s.runs_in(ExecutionModel::Native) {
        let n = Supervisor::native_request_of(s)?;
        let exe = supervisor.pool().exe().to_path_buf();
        let mut both = call(WorkerKind::Native, BenchRequest::NativeCycles { request: n, exe, iterations })?.into_iter();
        let (fork, exec, floor) = (both.next().unwrap_or_default(), both.next().unwrap_or_default(), both.next().unwrap_or_default());
        configurations.push(measured("native", "fork server: fork, scenario faults in the child, wait4, classify".into(), fork));
        configurations.push(measured("native-fork-exec", "fork+exec of a fresh faultbox worker per run, wait, classify".into(), exec));
        configurations.push(measured(
            "native-floor",
            "the platform's floor: the fork server forks a child that executes a trap at once, and reaps it".into(),
            floor,
        ));
    }
    let floor = call(WorkerKind::Native, BenchRequest::TrapFloor { iterations })?;
    let platform_trap_us = floor.first().map(|f| median_parts(&f.parts_ns)).unwrap_or_default();

    let find = |name: &str| configurations.iter().find(|c| c.name == name).map(|c| c.cycle.median_us);
    let mut native_over_wasm = BTreeMap::new();
    let native = find("native");
    if let Some(native) = native {
        for model in EngineConfig::ALL.map(|c| c.name()) {
            if let Some(w) = find(model).filter(|w| *w > 0.0) {
                native_over_wasm.insert(model.to_string(), native / w);
            }
        }
    }
    let fork_exec_over_fork_server = match (find("native-fork-exec"), native) {
        (Some(exec), Some(fork)) if fork > 0.0 => Some(exec / fork),
        _ => None,
    };
    let backtrace_cost_us = find("wasm").unwrap_or(0.0) - find("wasm-no-backtrace").unwrap_or(0.0);
    let native_over_floor = match (native, find("native-floor")) {
        (Some(n), Some(f)) if f > 0.0 => Some(n / f),
        _ => None,
    };
    let explicit = configurations.iter().find(|c| c.name == "wasm-explicit");
    let wasm_explicit_floor_us = explicit
        .and_then(|c| Some(c.parts_median_us.get("instantiate")? + c.parts_median_us.get("call_to_trap")?))
        .filter(|floor| *floor > 0.0);
    let over_floor = |extra: &str| {
        let (c, floor) = (explicit?, wasm_explicit_floor_us?);
        Some((c.cycle.median_us + c.parts_median_us.get(extra).copied().unwrap_or(0.0)) / floor)
    };
    // Latency: the cycle alone. CPU: the reaper's drop of the faulted
    // instance added, wherever it ran.
    let (wasm_explicit_over_floor, wasm_explicit_cpu_over_floor) = (over_floor(""), over_floor("reaper_drop"));

    let (compare_ms, compare_jobs) = match compare {
        Some((all, jobs)) => {
            let started = Instant::now();
            supervisor.run_all(all, &ExecutionModel::ALL, jobs)?;
            (Some(started.elapsed().as_secs_f64() * 1000.0), Some(jobs))
        }
        None => (None, None),
    };

    Ok(BenchReport {
        scenario: s.name.clone(),
        iterations,
        configurations,
        native_over_wasm,
        fork_exec_over_fork_server,
        native_over_floor,
        wasm_explicit_floor_us,
        wasm_explicit_over_floor,
        wasm_explicit_cpu_over_floor,
        backtrace_cost_us,
        compile_ms,
        cache_load_ms,
        platform_trap_us,
        compare_ms,
        compare_jobs,
    })
}

/// The noise threshold `bench --baseline` uses unless told otherwise, in
/// percent of the baseline's median cycle. A median of thousands of cycles
/// moves by a few percent between two runs on one quiet machine (frequency
/// scaling, where the pool's slots land, what else runs); 10% stays clear
/// of that and still catches a cycle that lost a tenth of its speed.
pub const DEFAULT_NOISE_PERCENT: f64 = 10.0;

/// Where saved baselines live: `baselines/` in faultbox's cache directory,
/// the one the module cache uses (`$FAULTBOX_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/faultbox`, else `~/.cache/faultbox`). A
/// `FAULTBOX_CACHE_DIR` of `off` turns the module cache off, not the
/// baselines: they fall back to the XDG location.
pub fn baselines_dir() -> Option<PathBuf> {
    let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
    let root = match std::env::var_os("FAULTBOX_CACHE_DIR") {
        Some(v) if !(v.is_empty() || v == "off") => Some(PathBuf::from(v)),
        _ => absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache"))).map(|d| d.join("faultbox")),
    };
    root.map(|d| d.join("baselines"))
}

/// The file baseline `name` is kept in: `<baselines_dir>/NAME.json`. A
/// name holding a `/` or ending in `.json` is taken as the path of a
/// report itself (one `bench --export-json` or `--format json` wrote), so
/// that a baseline can also be kept next to the code.
pub fn baseline_path(name: &str) -> Result<PathBuf, BadInput> {
    if name.contains('/') || name.ends_with(".json") {
        return Ok(PathBuf::from(name));
    }
    if !is_baseline_name(name) {
        return Err(BadInput::new(format!(
            "baseline name `{name}`: use letters, digits, `.`, `_` and `-` (or give a path to a report ending in .json)"
        )));
    }
    let dir = baselines_dir()
        .ok_or_else(|| BadInput::new("no place for baselines: set FAULTBOX_CACHE_DIR, XDG_CACHE_HOME or HOME to an absolute path"))?;
    Ok(dir.join(format!("{name}.json")))
}

/// A baseline's name is a name: one path component of letters, digits,
/// `.`, `_` and `-`, not starting with a dot.
fn is_baseline_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Refuses a `--save-baseline` that is not a baseline name (run before
/// the bench: bad input, exit 2, before anything runs).
pub fn check_save_name(name: &str) -> Result<(), BadInput> {
    if is_baseline_name(name) {
        return Ok(());
    }
    Err(BadInput::new(format!(
        "--save-baseline `{}`: a baseline name is one word of letters, digits, `.`, `_` and `-`, not a path",
        name.escape_debug()
    )))
}

/// Saves `report` as baseline `name` in [`baselines_dir`] (the whole
/// report, as JSON, written whole or not at all); returns the file. A name
/// is never a path: saving writes only into faultbox's own directory, and
/// only when that directory is private to this user, so no other file is
/// ever replaced.
pub fn save_baseline(report: &BenchReport, name: &str) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    check_save_name(name)?;
    let dir = baselines_dir()
        .ok_or_else(|| BadInput::new("no place for baselines: set FAULTBOX_CACHE_DIR, XDG_CACHE_HOME or HOME to an absolute path"))?;
    let dir = crate::trust::private_dir(&dir)
        .map_err(|why| BadInput::in_file(&dir, format!("not private to this user ({why}): no baseline is saved there")))?;
    let path = dir.join(format!("{name}.json"));
    let tmp = dir.join(format!(".{name}.json.{}.tmp", std::process::id()));
    let json = serde_json::to_string_pretty(report)? + "\n";
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(json.as_bytes())?;
        f.sync_all()?;
        // rename replaces the name itself: whatever was there (a symlink,
        // a FIFO) is unlinked, never written through.
        std::fs::rename(&tmp, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A saved run, as far as a comparison reads it: each configuration's
/// median cycle. Any other field is ignored, so a report of an earlier
/// version still serves.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub name: String,
    pub path: PathBuf,
    /// Configuration → median cycle, µs.
    pub medians_us: BTreeMap<String, f64>,
}

/// Reads baseline `name` ([`baseline_path`]). Run it before the bench, so
/// that a missing baseline is bad input at once (exit 2), one line naming
/// the file.
pub fn load_baseline(name: &str) -> Result<Baseline, BadInput> {
    #[derive(Deserialize)]
    struct Saved {
        configurations: Vec<SavedConfig>,
    }
    #[derive(Deserialize)]
    struct SavedConfig {
        name: String,
        cycle: SavedCycle,
    }
    #[derive(Deserialize)]
    struct SavedCycle {
        median_us: f64,
    }
    let path = baseline_path(name)?;
    if !path.exists() {
        return Err(BadInput::in_file(&path, format!("no baseline `{name}`: save one first with `faultbox bench --save-baseline {name}`")));
    }
    let bytes = crate::error::read_input(&path)?;
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| BadInput::in_file(&path, format!("not a bench report: {e}")))?;
    let medians_us: BTreeMap<String, f64> = saved.configurations.into_iter().map(|c| (c.name, c.cycle.median_us)).collect();
    if medians_us.is_empty() {
        return Err(BadInput::in_file(&path, "not a bench report: no configurations"));
    }
    Ok(Baseline { name: name.to_string(), path, medians_us })
}

/// How one configuration moved since the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Slower by more than the noise threshold.
    Regressed,
    /// Faster by more than the noise threshold.
    Improved,
    WithinNoise,
}

/// One configuration measured in both runs.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub name: String,
    pub baseline_median_us: f64,
    pub median_us: f64,
    /// (this run − baseline) ÷ baseline, percent: positive is slower.
    pub change_percent: f64,
    pub verdict: Verdict,
}

/// This run against a saved one, configuration by configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub baseline: String,
    pub baseline_file: PathBuf,
    pub noise_percent: f64,
    pub changes: Vec<Change>,
    /// Measured now, absent from the baseline (not judged).
    pub new: Vec<String>,
    /// In the baseline, not measured now (not judged).
    pub missing: Vec<String>,
}

/// Compares each configuration's median cycle with the baseline's: a
/// change beyond `noise_percent` either way is a regression or an
/// improvement, anything within it is noise.
pub fn compare_with_baseline(report: &BenchReport, baseline: &Baseline, noise_percent: f64) -> Comparison {
    let mut changes = Vec::new();
    let mut new = Vec::new();
    for c in &report.configurations {
        let Some(&before) = baseline.medians_us.get(&c.name) else {
            new.push(c.name.clone());
            continue;
        };
        let change_percent = 100.0 * (c.cycle.median_us - before) / before.max(f64::MIN_POSITIVE);
        let verdict = if change_percent > noise_percent {
            Verdict::Regressed
        } else if change_percent < -noise_percent {
            Verdict::Improved
        } else {
            Verdict::WithinNoise
        };
        changes.push(Change { name: c.name.clone(), baseline_median_us: before, median_us: c.cycle.median_us, change_percent, verdict });
    }
    let missing = baseline.medians_us.keys().filter(|n| !report.configurations.iter().any(|c| &c.name == *n)).cloned().collect();
    Comparison { baseline: baseline.name.clone(), baseline_file: baseline.path.clone(), noise_percent, changes, new, missing }
}

impl Comparison {
    /// The configurations slower than the baseline beyond the noise.
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.verdict == Verdict::Regressed)
    }

    pub fn regressed(&self) -> bool {
        self.regressions().next().is_some()
    }
}
