//! `faultbox fuzz`: random valid modules from wasm-smith, each run in the
//! wasm model under fuel and memory limits. Three rules: every run ends
//! classified, no worker dies, no run exceeds its deadline. A module that
//! breaks one is saved as a regression case.

use crate::model::ExecutionModel;
use crate::outcome::{FaultClass, TrapCode};
use crate::supervisor::Supervisor;
use crate::worker::WorkerKind;
use crate::worker::protocol::{Message, Request};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Supervisor → wasm worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FuzzRequest {
    pub module: Vec<u8>,
    /// Fuel for instantiation and for each call.
    pub fuel: u64,
    pub memory_bytes: u64,
    /// Deadline for instantiation and for each call, ms.
    pub timeout_ms: u64,
    /// At most this many exported functions are called.
    pub max_calls: u32,
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FuzzEnding {
    Completed,
    Trapped(TrapCode),
    /// Not a trap: a failure faultbox cannot classify.
    Error(String),
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FuzzReport {
    /// Set when the module did not compile: why.
    pub compile_error: Option<String>,
    pub instantiate: Option<FuzzEnding>,
    /// (export, ending) for each call.
    pub calls: Vec<(String, FuzzEnding)>,
    pub wall_us: u64,
}

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

/// What one module did, judged against the rules.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    pub index: u64,
    /// Broken rules; empty when the module behaved.
    pub broken: Vec<String>,
    /// Fault classes of its steps.
    pub classes: Vec<FaultClass>,
    pub trap_codes: Vec<TrapCode>,
    pub calls: usize,
    /// Instantiation completed (no trap in the start function or segments).
    pub instantiated: bool,
}

fn class_of(e: &FuzzEnding) -> Option<FaultClass> {
    match e {
        FuzzEnding::Completed => Some(FaultClass::None),
        FuzzEnding::Trapped(t) => Some(t.fault_class()),
        FuzzEnding::Error(_) => None,
    }
}

/// Checks one report against the rules.
pub fn judge(index: u64, report: &FuzzReport, deadline_us: u64) -> Judgement {
    let mut j = Judgement {
        index,
        broken: Vec::new(),
        classes: Vec::new(),
        trap_codes: Vec::new(),
        calls: report.calls.len(),
        instantiated: report.instantiate == Some(FuzzEnding::Completed),
    };
    if let Some(why) = &report.compile_error {
        j.broken.push(format!("a valid module did not compile: {why}"));
    }
    let steps = report.instantiate.iter().map(|e| ("instantiation".to_string(), e)).chain(report.calls.iter().map(|(n, e)| (format!("call {n}"), e)));
    for (step, e) in steps {
        match class_of(e) {
            Some(c) => j.classes.push(c),
            None => j.broken.push(format!("{step} ended unclassified: {e:?}")),
        }
        if let FuzzEnding::Trapped(t) = e {
            j.trap_codes.push(*t);
        }
    }
    if report.wall_us > deadline_us {
        j.broken.push(format!("ran {} ms, past its {} ms deadline", report.wall_us / 1000, deadline_us / 1000));
    }
    j
}

/// Settings of one fuzz run.
#[derive(Clone, Debug)]
pub struct FuzzSettings {
    pub modules: u64,
    pub seed: u64,
    pub model: ExecutionModel,
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
    let answer = supervisor.pool().call(kind, &Request::Fuzz(request.clone()), Duration::from_micros(deadline_us * 2));
    let module = request.module;
    match answer {
        Ok(Ok(Message::Fuzz(report))) => (judge(index, &report, deadline_us), false, module),
        Ok(Ok(other)) => (failed(format!("unexpected answer {other:?}")), false, module),
        Ok(Err(lost)) => {
            let why = if lost.hung {
                "the worker stopped answering (hung)".to_string()
            } else {
                format!("the worker died ({:?}): {}", lost.signal.map(|s| s.name()), lost.stderr.tail.lines().last().unwrap_or_default())
            };
            (failed(why), true, module)
        }
        Err(e) => (failed(format!("faultbox failed: {e:#}")), false, module),
    }
}

/// Generates and runs `s.modules` modules, or with `replay`, runs those
/// saved modules instead (regression cases).
pub fn run(supervisor: &Supervisor, s: &FuzzSettings, replay: &[(PathBuf, Vec<u8>)]) -> anyhow::Result<FuzzSummary> {
    let started = std::time::Instant::now();
    let count = if replay.is_empty() { s.modules } else { replay.len() as u64 };
    let indices: Vec<u64> = (0..count).collect();
    let progress = crate::report::progress::Progress::new("modules", count);
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
    pub fn ok(&self) -> bool {
        self.rule_breakers.is_empty()
    }

    pub fn text(&self) -> String {
        let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        // A `timeout` is fuel running out or the CPU budget: the trap
        // codes line (out_of_fuel, interrupt) says which.
        let classes: Vec<String> = self.classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let traps: Vec<String> = self.trap_codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let steps: u64 = self.classes.values().sum();
        let mut out = format!(
            "fuzz: {} in {}, {:.1} s\n  \
             {} instantiated, {} trapped while instantiating (start function or segment initialisation)\n  \
             {} into the instantiated modules\n  \
             fault classes over the {} (instantiations and calls): {}\n  \
             trap codes: {}\n  \
             workers lost: {}\n",
            if self.replayed {
                format!("{} (replayed)", plural(self.modules, "saved module", "saved modules"))
            } else {
                format!("{} (seed {})", plural(self.modules, "random module", "random modules"), self.seed)
            },
            self.model,
            self.seconds,
            self.instantiated,
            self.modules - self.instantiated.min(self.modules),
            plural(self.calls, "call", "calls"),
            plural(steps, "step", "steps"),
            if classes.is_empty() { "none".to_string() } else { classes.join(", ") },
            if traps.is_empty() { "none".to_string() } else { traps.join(", ") },
            self.workers_lost
        );
        if self.rule_breakers.is_empty() {
            out.push_str("every step ended classified, no worker died, and no module ran past its wall-clock deadline\n");
        } else {
            out.push_str(&format!("{} broke a rule:\n", if self.rule_breakers.len() == 1 { "1 module".to_string() } else { format!("{} modules", self.rule_breakers.len()) }));
            for b in &self.rule_breakers {
                let saved = b.saved.as_ref().map(|p| format!(" (saved as {})", p.display())).unwrap_or_default();
                out.push_str(&format!("  module {}: {}{saved}\n", b.index, b.broken.join("; ")));
            }
        }
        out
    }
}
