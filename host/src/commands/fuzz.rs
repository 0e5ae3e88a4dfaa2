//! `faultbox fuzz`: random valid modules from wasm-smith, each run in the
//! wasm model under fuel and memory limits. Three rules: every run ends
//! classified, no worker dies, no run exceeds its deadline. A module that
//! breaks one is saved as a regression case.

use crate::classify::fuzz::{Judgement, judge};
use crate::model::EngineConfig;
use crate::protocol::{FuzzRequest, Message, Request};
use crate::supervisor::Supervisor;
use crate::worker::WorkerKind;
use crate::worker::client::CallError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The module generator's settings: Wasm 2.0 features (what the wasm model
/// enables by default and supports on every engine), no imports, every
/// item exported, bounded memories and tables.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        min_funcs: 1,
        export_everything: true,
        allow_start_export: true,
        max_memories: 1,
        max_memory32_bytes: 16 << 20,
        max_tables: 2,
        max_table_elements: 10_000,
        max_instructions: 500,
        memory64_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        relaxed_simd_enabled: false,
        tail_call_enabled: false,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// SplitMix64: the seed of module `index` expands into its random bytes.
fn random_bytes(seed: u64, index: u64, len: usize) -> Vec<u8> {
    let mut state = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Module number `index` of the run seeded with `seed`.
pub fn generate(seed: u64, index: u64) -> anyhow::Result<Vec<u8>> {
    let bytes = random_bytes(seed, index, 8 * 1024);
    let mut u = arbitrary::Unstructured::new(&bytes);
    let module = wasm_smith::Module::new(smith_config(), &mut u)?;
    Ok(module.to_bytes())
}

/// Settings of one fuzz run.
#[derive(Clone, Debug)]
pub struct FuzzSettings {
    pub modules: u64,
    pub seed: u64,
    pub model: EngineConfig,
    pub fuel: u64,
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    pub max_calls: u32,
    pub jobs: usize,
    /// Where rule breakers are saved.
    pub save_dir: PathBuf,
}

/// The whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FuzzSummary {
    pub model: String,
    /// The seed of generated modules; meaningless when `replayed`.
    pub seed: u64,
    /// The modules were saved ones run again (`--replay`), not generated.
    #[serde(default)]
    pub replayed: bool,
    pub modules: u64,
    /// Modules that instantiated (the rest trapped in their start function
    /// or segment initialisation).
    pub instantiated: u64,
    pub calls: u64,
    /// Fault class → steps (instantiations and calls).
    pub classes: BTreeMap<String, u64>,
    pub trap_codes: BTreeMap<String, u64>,
    pub workers_lost: u64,
    pub rule_breakers: Vec<RuleBreaker>,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleBreaker {
    pub index: u64,
    pub broken: Vec<String>,
    pub saved: Option<PathBuf>,
}

/// Saves a module that broke a rule, with a note saying how.
fn save(dir: &Path, seed: u64, index: u64, module: &[u8], broken: &[String]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("seed{seed}-module{index}.wasm"));
    std::fs::write(&path, module).ok()?;
    std::fs::write(path.with_extension("txt"), broken.join("\n") + "\n").ok()?;
    Some(path)
}

/// Runs one module through a worker and judges it.
pub fn run_one(supervisor: &Supervisor, s: &FuzzSettings, index: u64, module: Vec<u8>) -> (Judgement, bool, Vec<u8>) {
    let failed = |why: String| Judgement {
        index,
        broken: vec![why],
        classes: vec![],
        trap_codes: vec![],
        calls: 0,
        instantiated: false,
    };
    let request = FuzzRequest {
        module,
        fuel: s.fuel,
        memory_bytes: s.memory_bytes,
        timeout_ms: s.timeout_ms,
        max_calls: s.max_calls,
    };
    // The module's own deadline: instantiation and every call, each under
    // a CPU budget whose wall-clock backstop is the most it may take, plus
    // the compile; the worker is declared hung well after it.
    let per_step = crate::limits::wall_backstop(Duration::from_millis(s.timeout_ms));
    let deadline_us = (per_step * (s.max_calls + 1) + Duration::from_secs(5)).as_micros() as u64;
    let kind = WorkerKind::Wasm(s.model);
    // Compiling has its own budget, in time and in memory, as for a run;
    // the module's deadline starts once it is compiled.
    let budget = crate::supervisor::compile_budget();
    let answer = supervisor.pool().call_phased(kind, &Request::Fuzz(request.clone()), Some(budget), Duration::from_micros(deadline_us * 2));
    let module = request.module;
    match answer {
        Ok(Message::Fuzz(report)) => (judge(index, &report, deadline_us), false, module),
        Ok(other) => (failed(format!("unexpected answer {other:?}")), false, module),
        // Named, and no worker death of the module's making: faultbox
        // stopped the compile.
        Err(CallError::Lost(lost)) if lost.compiling && (lost.over_memory.is_some() || lost.hung) => {
            let why = match &lost.over_memory {
                Some(over) => format!("not run: the module did not compile within its memory bound: {over}"),
                None => format!("not run: the module did not compile within its {} ms compile budget", budget.as_millis()),
            };
            (failed(why), false, module)
        }
        Err(CallError::Lost(lost)) => {
            let why = if let Some(over) = &lost.over_memory {
                format!("the worker was stopped: {over}")
            } else if lost.hung {
                "the worker stopped answering (hung)".to_string()
            } else {
                format!("the worker died ({:?}): {}", lost.signal.map(|s| s.name()), lost.stderr.tail.lines().last().unwrap_or_default())
            };
            (failed(why), true, module)
        }
        Err(e) => (failed(format!("faultbox failed: {:#}", anyhow::Error::from(e))), false, module),
    }
}

/// Generates and runs `s.modules` modules, or with `replay`, runs those
/// saved modules instead (regression cases).
pub fn run(supervisor: &Supervisor, s: &FuzzSettings, replay: &[(PathBuf, Vec<u8>)]) -> anyhow::Result<FuzzSummary> {
    let started = std::time::Instant::now();
    let count = if replay.is_empty() { s.modules } else { replay.len() as u64 };
    let indices: Vec<u64> = (0..count).collect();
    let progress = crate::commands::progress::Progress::new("modules", count);
    let results = crate::supervisor::parallel_map(&indices, s.jobs, |&i| {
        let module = match replay.get(i as usize) {
            Some((_, bytes)) => bytes.clone(),
            None => generate(s.seed, i)?,
        };
        // Once faultbox is stopping, every module left would fail to run:
        // none of that is the module's doing.
        if crate::worker::client::stopping() {
            return Err(crate::worker::client::Interrupted.into());
        }
        let judged = run_one(supervisor, s, i, module);
        progress.inc();
        anyhow::Ok(judged)
    });
    drop(progress);
    if crate::worker::client::stopping() {
        return Err(crate::worker::client::Interrupted.into());
    }
    let mut sum = FuzzSummary {
        model: s.model.name().into(),
        seed: s.seed,
        replayed: !replay.is_empty(),
        modules: count,
        ..Default::default()
    };
    for r in results {
        let (j, lost, module) = r?;
        sum.workers_lost += lost as u64;
        sum.calls += j.calls as u64;
        sum.instantiated += j.instantiated as u64;
        for c in &j.classes {
            *sum.classes.entry(c.name().to_string()).or_default() += 1;
        }
        for t in &j.trap_codes {
            *sum.trap_codes.entry(t.name().to_string()).or_default() += 1;
        }
        if !j.broken.is_empty() {
            let saved = match replay.get(j.index as usize) {
                Some((path, _)) => Some(path.clone()),
                None => save(&s.save_dir, s.seed, j.index, &module, &j.broken),
            };
            sum.rule_breakers.push(RuleBreaker { index: j.index, broken: j.broken, saved });
        }
    }
    sum.seconds = started.elapsed().as_secs_f64();
    Ok(sum)
}

impl FuzzSummary {
    /// No module broke a rule.
    pub fn ok(&self) -> bool {
        self.rule_breakers.is_empty()
    }
}
