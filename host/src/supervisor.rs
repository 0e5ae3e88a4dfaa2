//! The supervisor: the CLI process. It never runs guest code; it hands each
//! (scenario, execution model) run to a worker process and classifies what
//! comes back, including a worker that does not come back.

use crate::classify;
use crate::model::{ExecutionModel, WasmEngine};
use crate::outcome::Outcome;
use crate::scenario::{Guest, Scenario};
use crate::worker::WorkerKind;
use crate::worker::client::{CallError, WorkerPool};
use crate::protocol::{Message, ModuleSource, NativeRequest, Request, WasmRequest};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Beyond its runs' own deadlines, how long a worker may take to answer
/// (compiling a module on first use, starting, answering).
const ANSWER_GRACE: Duration = Duration::from_secs(30);

/// How long compiling a wasm run's module may take (on first use; the
/// result is cached): `$FAULTBOX_COMPILE_BUDGET_MS`, else two minutes.
pub fn compile_budget() -> Duration {
    std::env::var("FAULTBOX_COMPILE_BUDGET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(120), Duration::from_millis)
}

pub struct Supervisor {
    pool: WorkerPool,
    /// Let native children print Rust's full panic backtraces
    /// (`run --native-backtrace`): off by default, it costs the guest's
    /// abort path ~150 ms of symbolization.
    native_backtrace: bool,
}

impl Supervisor {
    /// `exe` is the faultbox binary whose `worker` subcommand runs workers.
    pub fn new(exe: PathBuf) -> Supervisor {
        Supervisor { pool: WorkerPool::new(exe), native_backtrace: false }
    }

    /// Native children print full panic backtraces.
    pub fn with_native_backtrace(mut self, on: bool) -> Supervisor {
        self.native_backtrace = on;
        self
    }

    /// The supervisor of the running faultbox binary.
    pub fn for_current_exe() -> anyhow::Result<Supervisor> {
        Ok(Supervisor::new(std::env::current_exe()?))
    }

    pub fn pool(&self) -> &WorkerPool {
        &self.pool
    }

    /// The request that runs `s` in `model`.
    pub fn request(s: &Scenario, model: ExecutionModel) -> Request {
        match model.wasm_engine() {
            Some(engine) => Request::Wasm(Self::wasm_request(s, engine)),
            None => Request::Native(Self::native_request(s)),
        }
    }

    /// The request that runs `s` in a wasm worker with `engine`.
    pub fn wasm_request(s: &Scenario, engine: WasmEngine) -> WasmRequest {
        let guest = &s.guest;
        WasmRequest {
            model: engine,
            // The module the manifest's load validated, not the file
            // again: it may have changed, or be something else by now.
            module: match (guest, s.wat_module()) {
                (Guest::Wat { .. }, Some(bytes)) => ModuleSource::Bytes(bytes.to_vec()),
                (Guest::Wat { path, .. }, None) => ModuleSource::Wat(path.clone()),
                (Guest::Rust { .. }, _) => ModuleSource::Guest,
            },
            export: guest.export_name(),
            arg: s.arg,
            limits: s.limits.clone(),
            check_reuse: true,
            wasi: false,
            reuse_rounds: 0,
        }
    }

    /// The request that runs `s` in a forked child of the fork server.
    pub fn native_request(s: &Scenario) -> NativeRequest {
        NativeRequest { entry: s.guest.entry().to_string(), arg: s.arg, limits: s.limits.clone(), backtrace: false }
    }

    /// Runs one scenario in one model. `Err` only for failures of faultbox
    /// itself (a worker that cannot start, a malformed answer); every guest
    /// fault is an `Ok` outcome.
    pub fn run(&self, s: &Scenario, model: ExecutionModel) -> anyhow::Result<Outcome> {
        if !s.runs_in(model) {
            return Ok(classify::not_applicable(s, model));
        }
        let started = Instant::now();
        // Budgets are CPU time and enforced inside the worker; the
        // supervisor only guards against a worker that stops answering, in
        // wall time. A wasm run may legitimately use its backstop four
        // times: the instantiation, the call, the health check on the same
        // instance and the one on a fresh instance.
        let deadline = s.limits.wall_backstop() * 4 + ANSWER_GRACE;
        let mut request = Self::request(s, model);
        if let Request::Native(native) = &mut request {
            native.backtrace = self.native_backtrace;
        }
        // Compiling the module is not the guest's time: it has a budget of
        // its own, and the run's deadline starts once it is compiled.
        let budget = model.is_wasm().then(compile_budget);
        let answer = self.pool.call_phased(WorkerKind::for_model(model), &request, budget, deadline);
        let wall_us = started.elapsed().as_micros() as u64;
        match answer {
            // Only a compile that ran out of its budget is "not compiled":
            // a worker that died or was stopped while compiling is lost,
            // with its signal and its last words, like any other.
            Err(CallError::Lost(lost)) if lost.compiling && lost.hung => {
                Ok(classify::not_compiled(s, model, budget.unwrap_or_default(), wall_us))
            }
            // A hostile native guest could kill the fork server too; the
            // next run starts a new one.
            Err(CallError::Lost(lost)) => Ok(classify::worker_lost(s, model, &lost, wall_us)),
            Err(e) => Err(anyhow::Error::from(e).context(format!("{model} could not run {}", s.name))),
            Ok(Message::Refused { message }) => Ok(classify::refused(s, model, &message, wall_us)),
            Ok(Message::Wasm(obs)) => classify::wasm(s, model, &obs, wall_us),
            Ok(Message::Native(obs)) => Ok(classify::native(s, &obs, wall_us)),
            Ok(other) => anyhow::bail!("{model} worker answered {} with {other:?}", s.name),
        }
    }

    /// Runs every (scenario, model) pair on `jobs` threads. The result is
    /// in input order: scenarios outer, models inner.
    pub fn run_all(&self, scenarios: &[&Scenario], models: &[ExecutionModel], jobs: usize) -> anyhow::Result<Vec<Outcome>> {
        let pairs: Vec<(&Scenario, ExecutionModel)> =
            scenarios.iter().flat_map(|s| models.iter().map(move |m| (*s, *m))).collect();
        parallel_map(&pairs, jobs, |(s, m)| self.run(s, *m)).into_iter().collect()
    }
}

impl Supervisor {
    /// Runs the trap directives of one spec script in `model`. A worker
    /// that dies is reported in the file's result, not as an error.
    pub fn run_wast(&self, path: &std::path::Path, model: WasmEngine) -> anyhow::Result<crate::classify::wast::FileReport> {
        let text = crate::worker::wast::script::check(path)?;
        self.run_wast_text(path, text, model)
    }

    /// [`Supervisor::run_wast`] for a script already read and checked:
    /// the worker runs `text` and never reads the file again.
    pub fn run_wast_text(&self, path: &std::path::Path, text: String, model: WasmEngine) -> anyhow::Result<crate::classify::wast::FileReport> {
        use crate::classify::wast::FileReport;
        let request = Request::Wast(crate::protocol::WastRequest { path: path.to_path_buf(), timeout_ms: 10_000, text: Some(text) });
        match self.pool.call(WorkerKind::Wasm(model), &request, Duration::from_secs(600)) {
            Ok(Message::Wast(obs)) => Ok(FileReport::new(path.to_path_buf(), &obs)),
            Ok(other) => anyhow::bail!("{model} worker answered {} with {other:?}", path.display()),
            Err(CallError::Lost(lost)) => {
                let how = lost.signal.map_or_else(|| format!("exit {}", lost.exit_code.unwrap_or(-1)), |s| s.name());
                Ok(FileReport::lost(path.to_path_buf(), format!("{how}: {}", lost.stderr.tail.lines().last().unwrap_or_default())))
            }
            Err(e) => Err(anyhow::Error::from(e).context(format!("{model} could not run {}", path.display()))),
        }
    }
}

/// Runs `f` over `items` on `jobs` threads; results in input order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: std::sync::Mutex<Vec<Option<R>>> = std::sync::Mutex::new((0..items.len()).map(|_| None).collect());
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = f(item);
            slots.lock().unwrap()[i] = Some(r);
        }
    };
    std::thread::scope(|scope| {
        let mut started = 0;
        for _ in 0..jobs.max(1).min(items.len().max(1)) {
            // Fewer threads than asked (a process limit, little address
            // space) means less parallelism, not a panic.
            match std::thread::Builder::new().name("fb-job".into()).spawn_scoped(scope, work) {
                Ok(_) => started += 1,
                Err(_) => break,
            }
        }
        if started == 0 {
            work();
        }
    });
    slots.into_inner().unwrap().into_iter().map(|r| r.expect("every item ran")).collect()
}

/// Default parallelism: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
