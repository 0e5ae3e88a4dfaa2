//! The supervisor: the CLI process. It never runs guest code; it hands each
//! (scenario, execution model) run to a worker process and classifies what
//! comes back, including a worker that does not come back.

use crate::classify;
use crate::model::{ExecutionModel, EngineConfig};
use crate::outcome::{InjectionTarget, Outcome};
use crate::scenario::{Guest, Scenario};
use crate::worker::WorkerKind;
use crate::worker::client::{CallError, WorkerPool};
use crate::language::build::Artifacts;
use crate::protocol::{ExecGuest, Message, ModuleSource, NativeRequest, Request, WasmRequest};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Beyond its runs' own deadlines, how long a worker may take to answer
/// (compiling a module on first use, starting, answering).
const ANSWER_GRACE: Duration = Duration::from_secs(30);

/// How long compiling a wasm run's module may take (on first use; the
/// result is cached): `$FAULTBOX_COMPILE_BUDGET_MS`, else two minutes. The
/// CLI refuses a bad value when it starts (`cli::check_environment`), so
/// the default stands in only for a library caller that did not check.
pub fn compile_budget() -> Duration {
    crate::limits::COMPILE_BUDGET_VAR.get().ok().flatten().unwrap_or(Duration::from_secs(120))
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

    /// The supervisor of the running faultbox binary. It makes this
    /// process undumpable: a native guest running as the same user (when
    /// faultbox is not root) cannot trace it or read its memory.
    pub fn for_current_exe() -> anyhow::Result<Supervisor> {
        crate::process::make_undumpable()?;
        Ok(Supervisor::new(std::env::current_exe()?))
    }

    pub fn pool(&self) -> &WorkerPool {
        &self.pool
    }

    /// The request that runs `s` in `model`, or — when the language's
    /// artifacts cannot run it here — the outcome that says why (`Err`).
    /// A missing toolchain is `skipped`, except under `CI`, where it is an
    /// error: CI never skips silently.
    pub fn request(s: &Scenario, model: ExecutionModel) -> anyhow::Result<Result<Request, Outcome>> {
        let artifacts = match &s.guest {
            Guest::Built { language, .. } => {
                let d = crate::language::descriptor(*language);
                let sources = crate::language::sources_dir(s.manifest.parent().unwrap_or(std::path::Path::new(".")), d);
                match crate::language::artifacts(d, &sources) {
                    Ok(a) => Some(a),
                    // A missing toolchain is bad input under CI (exit 2):
                    // CI never skips silently.
                    Err(why @ crate::language::build::Unavailable::Missing { .. }) if std::env::var_os("CI").is_some() => {
                        return Err(crate::error::BadInput::new(format!(
                            "{language} guests cannot run and CI is set, so they may not be skipped: {}",
                            why.line()
                        ))
                        .into());
                    }
                    Err(why @ crate::language::build::Unavailable::Missing { .. }) => {
                        return Ok(Err(classify::skipped(s, model, &why.line())));
                    }
                    // The toolchain is there and the build failed: a
                    // failure to report, never a skip.
                    Err(why) => anyhow::bail!("{language} guests: {}", why.line()),
                }
            }
            _ => None,
        };
        // An adapter's engine needs its runtime (node, go) on this
        // machine: the same rule as a language's toolchain.
        if let Some(engine) = model.wasm_engine()
            && let Some(Err(why)) = crate::worker::adapter::launcher(engine)
        {
            use crate::language::build::Unavailable;
            return match why {
                Unavailable::Missing { .. } if std::env::var_os("CI").is_some() => Err(crate::error::BadInput::new(format!(
                    "the {engine} engine cannot run and CI is set, so it may not be skipped: {}",
                    why.line()
                ))
                .into()),
                Unavailable::Missing { .. } => Ok(Err(classify::skipped(s, model, &why.line()))),
                Unavailable::BuildFailed { .. } => anyhow::bail!("the {engine} engine's adapter: {}", why.line()),
            };
        }
        Ok(Ok(match model.wasm_engine() {
            Some(engine) => match Self::wasm_request(s, engine, artifacts.as_ref())? {
                Ok(r) => Request::Wasm(r),
                Err(why) => return Ok(Err(classify::no_entry(s, model, why))),
            },
            None => match Self::native_request(s, artifacts.as_ref()) {
                Ok(r) => Request::Native(r),
                Err(why) => return Ok(Err(classify::no_entry(s, model, why))),
            },
        }))
    }

    /// The language's artifacts for `s`, if it is a built language; an
    /// error when they cannot be had (for jobs that run one scenario on
    /// request, where there is no matrix cell to say `skipped` in).
    pub fn artifacts_of(s: &Scenario) -> anyhow::Result<Option<Artifacts>> {
        match &s.guest {
            Guest::Built { language, .. } => {
                let d = crate::language::descriptor(*language);
                let sources = crate::language::sources_dir(s.manifest.parent().unwrap_or(std::path::Path::new(".")), d);
                crate::language::artifacts(d, &sources).map(Some).map_err(|why| anyhow::anyhow!("{language} guests cannot run: {}", why.line()))
            }
            _ => Ok(None),
        }
    }

    /// [`Supervisor::wasm_request`] with the artifacts looked up.
    pub fn wasm_request_of(s: &Scenario, engine: EngineConfig) -> anyhow::Result<WasmRequest> {
        Self::wasm_request(s, engine, Self::artifacts_of(s)?.as_ref())?.map_err(|why| anyhow::anyhow!("{} ({}): {why}", s.name, s.language))
    }

    /// [`Supervisor::native_request`] with the artifacts looked up.
    pub fn native_request_of(s: &Scenario) -> anyhow::Result<NativeRequest> {
        Self::native_request(s, Self::artifacts_of(s)?.as_ref()).map_err(|why| anyhow::anyhow!("{} ({}): {why}", s.name, s.language))
    }

    /// The request that runs `s` in a wasm worker with `engine`; the inner
    /// `Err` says why the language's wasm artifact cannot, the outer one is
    /// faultbox's failure (the Rust guest's module could not be written
    /// out, a `.wat` file could not be parsed).
    pub fn wasm_request(s: &Scenario, engine: EngineConfig, artifacts: Option<&Artifacts>) -> anyhow::Result<Result<WasmRequest, String>> {
        let guest = &s.guest;
        let d = crate::language::descriptor(s.language);
        // Only a path or bytes cross the wire: the embedded guest becomes a
        // file, a `.wat` its binary.
        let module = match (guest, s.wat_module(), artifacts) {
            // The module the manifest's load validated, not the file
            // again: it may have changed, or be something else by now.
            (Guest::Wat { .. }, Some(bytes), _) => ModuleSource::Bytes(bytes.to_vec()),
            (Guest::Wat { path, .. }, None, _) => ModuleSource::Bytes(
                wat::parse_file(path).map_err(|e| anyhow::anyhow!("{}: not a valid wat module: {e}", path.display()))?,
            ),
            // An entry the Rust guest compiles natively only (it needs the
            // OS) has no export: the module says so, not a list.
            (Guest::Rust { entry }, _, _) if !rust_wasm_exports().iter().any(|e| *e == format!("fb_{entry}")) => {
                return Ok(Err(format!("the Rust guest's wasm module exports no fb_{entry}")));
            }
            (Guest::Rust { .. }, _, _) => guest_module()?,
            (Guest::Built { language, entry }, _, Some(a)) => {
                let Some(path) = &a.wasm else { return Ok(Err(format!("the {language} build made no wasm module"))) };
                if !a.wasm_entries.contains(entry) {
                    return Ok(Err(format!("the {language} wasm module ({}) exports no fb_{entry}", path.display())));
                }
                ModuleSource::File(absolute(path)?)
            }
            // The file, as checked when the scenario was made: the worker
            // reads it (a module sent inline would travel with every run).
            (Guest::Prebuilt { module: Some(m), .. }, _, _) => ModuleSource::File(absolute(&m.path)?),
            (other, _, _) => return Ok(Err(format!("no wasm module for {other:?}"))),
        };
        let (mut wasi, reuse_rounds) = match d.wasm {
            crate::language::WasmAbi::Exports => (false, 0),
            crate::language::WasmAbi::WasiReactor { reuse_rounds } => (true, reuse_rounds),
        };
        let mut args = Vec::new();
        if let Guest::Prebuilt { module: Some(m), .. } = guest {
            (wasi, args) = (m.wasi, m.argv());
        }
        Ok(Ok(WasmRequest {
            model: engine,
            module,
            export: guest.export_name(),
            arg: s.arg,
            limits: s.limits.clone(),
            check_reuse: true,
            wasi,
            reuse_rounds,
            args,
            inject: s.inject,
        }))
    }

    /// The request that runs `s` in a forked child of the fork server:
    /// the linked entry, or the language's program exec'd in the child.
    pub fn native_request(s: &Scenario, artifacts: Option<&Artifacts>) -> Result<NativeRequest, String> {
        let exec = match (&s.guest, artifacts) {
            (Guest::Built { language, entry }, Some(a)) => {
                let Some(program) = a.native_for(entry) else {
                    return Err(format!("no native {language} program built here has the entry {entry} ({})", a.toolchain));
                };
                let floor = match crate::language::descriptor(*language).native {
                    crate::language::NativeLauncher::Exec { address_space_floor_mib } => address_space_floor_mib,
                    // Called in the fork server's child, as a linked entry is.
                    crate::language::NativeLauncher::Library => {
                        let library = Some(program.path.clone());
                        return Ok(NativeRequest {
                            entry: entry.clone(),
                            arg: s.arg,
                            limits: s.limits.clone(),
                            backtrace: false,
                            exec: None,
                            library,
                            inject: s.inject,
                        });
                    }
                    _ => return Err(format!("{language} has no native program")),
                };
                Some(ExecGuest {
                    program: program.path.clone(),
                    args: vec![entry.clone(), s.arg.to_string()],
                    address_space_floor_mib: floor,
                    reports: true,
                })
            }
            // Not faultbox's build: no report channel, and nothing it could
            // say of itself is believed.
            (Guest::Prebuilt { program: Some(p), .. }, _) => Some(ExecGuest {
                program: p.path.clone(),
                args: p.args.clone(),
                address_space_floor_mib: crate::language::prebuilt::ADDRESS_SPACE_FLOOR_MIB,
                reports: false,
            }),
            _ => None,
        };
        Ok(NativeRequest {
            entry: s.guest.entry().to_string(),
            arg: s.arg,
            limits: s.limits.clone(),
            backtrace: false,
            exec,
            library: None,
            inject: s.inject,
        })
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
        let mut request = match Self::request(s, model)? {
            Ok(request) => request,
            Err(outcome) => return Ok(outcome),
        };
        // Reuse rounds repeat the call and the health check on the same
        // instance, each with the same budget.
        let rounds = match &request {
            Request::Wasm(w) => w.reuse_rounds,
            _ => 0,
        };
        let deadline = s.limits.wall_backstop() * (4 + 2 * rounds) + ANSWER_GRACE;
        if let Request::Native(native) = &mut request {
            native.backtrace = self.native_backtrace;
        }
        // Compiling the module is not the guest's time: it has a budget of
        // its own, and the run's deadline starts once it is compiled.
        let budget = model.is_wasm().then(compile_budget);
        let (answer, sent_to_worker) = self.pool.call_injecting(WorkerKind::for_model(model), &request, budget, deadline);
        let wall_us = started.elapsed().as_micros() as u64;
        let outcome = match answer {
            // A compile that took more memory than it may is not compiled
            // either: faultbox stopped it (`worker::guard`).
            Err(CallError::Lost(lost)) if lost.compiling && lost.over_memory.is_some() => {
                Ok(classify::not_compiled_in_memory(s, model, lost.over_memory.as_ref().expect("checked"), wall_us))
            }
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
            Ok(Message::Native(obs)) => {
                let outcome = classify::native(s, &obs, wall_us);
                return Ok(match obs.injection {
                    Some(report) => classify::injection::settle(outcome, report, InjectionTarget::GuestProcess),
                    None => outcome,
                });
            }
            Ok(other) => anyhow::bail!("{model} worker answered {} with {other:?}", s.name),
        }?;
        Ok(match sent_to_worker {
            Some(report) => classify::injection::settle(outcome, report, InjectionTarget::WorkerProcess),
            None => outcome,
        })
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
    pub fn run_wast(&self, path: &std::path::Path, model: EngineConfig) -> anyhow::Result<crate::classify::wast::FileReport> {
        let text = crate::worker::wast::script::check(path)?;
        self.run_wast_text(path, text, model)
    }

    /// [`Supervisor::run_wast`] for a script already read and checked:
    /// the worker runs `text` and never reads the file again.
    pub fn run_wast_text(&self, path: &std::path::Path, text: String, model: EngineConfig) -> anyhow::Result<crate::classify::wast::FileReport> {
        use crate::classify::wast::FileReport;
        let wast = crate::protocol::WastRequest { path: path.to_path_buf(), timeout_ms: 10_000, text: Some(text) };
        if model.row().start.adapter().is_some() {
            // An adapter is walked step by step from here: the script's
            // checks stay faultbox's.
            let kind = WorkerKind::Wasm(model);
            let mut worker = self.pool.take(kind).map_err(|e| anyhow::Error::from(e).context(format!("{model} could not run {}", path.display())))?;
            let obs = crate::worker::adapter::spec::run(&mut worker, model, &wast)?;
            if crate::worker::adapter::spec::worker_alive(&obs) {
                self.pool.give(kind, worker);
            }
            return Ok(FileReport::new(path.to_path_buf(), &obs));
        }
        let request = Request::Wast(wast);
        match self.pool.call(WorkerKind::Wasm(model), &request, Duration::from_secs(600)) {
            Ok(Message::Wast(obs)) => Ok(FileReport::new(path.to_path_buf(), &obs)),
            Ok(other) => anyhow::bail!("{model} worker answered {} with {other:?}", path.display()),
            Err(CallError::Lost(lost)) => {
                let how = lost.signal.map_or_else(|| format!("exit {}", lost.exit_code.unwrap_or(-1)), |s| s.name());
                let why = match &lost.over_memory {
                    Some(over) => over.to_string(),
                    None => format!("{how}: {}", lost.stderr.tail.lines().last().unwrap_or_default()),
                };
                Ok(FileReport::lost(path.to_path_buf(), why))
            }
            Err(e) => Err(anyhow::Error::from(e).context(format!("{model} could not run {}", path.display()))),
        }
    }
}

/// The embedded Rust guest module's function exports, read once.
fn rust_wasm_exports() -> &'static [String] {
    static EXPORTS: OnceLock<Vec<String>> = OnceLock::new();
    EXPORTS.get_or_init(|| crate::scenario::wasm_module::function_exports(crate::wasm::GUEST_WASM))
}

/// A module path as the wire wants it: absolute (the worker may not share
/// the supervisor's working directory).
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The embedded Rust guest (`crate::wasm::GUEST_WASM`) as a module the
/// workers can read: a file, written once per supervisor process into a
/// directory of its own ([`private_dir`]). Nothing but a path or bytes
/// crosses the wire, and the guest's bytes would travel with every run.
pub fn guest_module() -> anyhow::Result<ModuleSource> {
    static GUEST: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let written = GUEST.get_or_init(|| {
        let write = || -> std::io::Result<PathBuf> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let path = private_dir()?.join("rust-guest.wasm");
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o400).open(&path)?;
            file.write_all(crate::wasm::GUEST_WASM)?;
            file.sync_all()?;
            Ok(path)
        };
        write().map_err(|e| e.to_string())
    });
    match written {
        Ok(path) => Ok(ModuleSource::File(path.clone())),
        Err(e) => anyhow::bail!("cannot write the Rust guest's module for the wasm workers: {e}"),
    }
}

/// This process's private directory, made on first use: mkdtemp under the
/// temporary directory (`$TMPDIR`, else /tmp), so mode 0700 and a name no
/// one can guess or claim first; removed when this process exits (one
/// killed outright, SIGKILL, leaves it behind).
pub fn private_dir() -> std::io::Result<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    // Set as soon as mkdtemp returns, for an exit that comes while `DIR`
    // is still being made (an interrupt at start-up).
    static MADE: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    static CREATOR: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    extern "C" fn remove_at_exit() {
        // Only the process that made it: a forked child that exits must
        // not take it from its parent.
        if CREATOR.load(Ordering::SeqCst) == std::process::id() {
            if let Ok(made) = MADE.try_lock() {
                if let Some(dir) = made.as_ref() {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
    }
    let made = DIR.get_or_init(|| {
        use std::os::unix::ffi::OsStrExt;
        CREATOR.store(std::process::id(), Ordering::SeqCst);
        // SAFETY: registers a function with no preconditions, before the
        // directory exists, so that no exit comes between the two.
        unsafe { libc::atexit(remove_at_exit) };
        let template = std::env::temp_dir().join("faultbox-XXXXXX");
        let mut bytes = template.as_os_str().as_bytes().to_vec();
        bytes.push(0);
        // SAFETY: `bytes` is a NUL-terminated template that mkdtemp fills
        // in place.
        let made = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
        if made.is_null() {
            return Err(format!("cannot make a private directory like {}: {}", template.display(), std::io::Error::last_os_error()));
        }
        bytes.pop();
        let dir = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
        *MADE.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir.clone());
        Ok(dir)
    });
    match made {
        Ok(dir) => Ok(dir),
        Err(e) => Err(std::io::Error::other(e.clone())),
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
