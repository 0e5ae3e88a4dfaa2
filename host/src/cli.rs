//! The command line: parsing, dispatch, exit codes. Exit codes: 0 success,
//! 1 faultbox itself failed (or `--check` found unexpected outcomes), 2 bad
//! input, 128+N interrupted by signal N.

use crate::error::BadInput;
use crate::model::ExecutionModel;
use crate::report::{self, Report};
use crate::scenario::Catalog;
use crate::supervisor::{Supervisor, default_jobs};
use crate::worker::WorkerKind;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

// The report goes to stdout through these, not std's: std's panic on a
// write error (a full disk, a closed pipe), and these return it to `main`,
// which says it in one line (a broken pipe, quietly).
macro_rules! print {
    ($($t:tt)*) => { crate::process::write_stdout(format_args!($($t)*))? };
}
macro_rules! println {
    ($($t:tt)*) => { crate::process::write_stdout(format_args!("{}\n", format_args!($($t)*)))? };
}

/// Run the same fault scenarios in wasm and native execution models and
/// report, side by side, which model survives each fault, detects it and
/// recovers, and at what cost.
#[derive(Debug, Parser)]
#[command(name = "faultbox", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// WebAssembly feature profile of the wasm engines: 3.0 (default: every
    /// Wasm 3.0 proposal wasmtime implements for the engine configuration)
    /// or 2.0.
    #[arg(long, global = true, value_parser = parse_profile, value_name = "VERSION")]
    pub wasm_features: Option<crate::wasm::WasmProfile>,
    /// Colour the verdicts: auto (when stdout is a terminal, unless
    /// NO_COLOR is set or CLICOLOR_FORCE forces it), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// Where the scenario manifests are, for the commands that read them.
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArg {
    /// Directory of scenario manifests (default: $FAULTBOX_SCENARIOS, else
    /// ./scenarios, else the catalog in faultbox's source tree).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
}

impl CatalogArg {
    fn load(&self) -> Result<Catalog, BadInput> {
        let catalog = Catalog::load(&self.scenarios.clone().unwrap_or_else(Catalog::default_dir))?;
        note_unchecked_guests(&catalog);
        Ok(catalog)
    }
}

/// A wat guest without `fb_health` cannot have its instance checked after
/// a fault, so its traps read `contained` and its reuse `not_checked`:
/// said when the manifest loads rather than left to be puzzled out of the
/// table.
fn note_unchecked_guests(catalog: &Catalog) {
    for s in &catalog.scenarios {
        let (crate::scenario::Guest::Wat { path, .. }, Some(bytes)) = (&s.guest, s.wat_module()) else { continue };
        let exports_health = wasmparser::Parser::new(0).parse_all(bytes).any(|p| match p {
            Ok(wasmparser::Payload::ExportSection(exports)) => {
                exports.into_iter().flatten().any(|e| e.name == crate::wasm::HEALTH_EXPORT)
            }
            _ => false,
        });
        if !exports_health {
            eprintln!(
                "faultbox: note: {}: no `{}` export, so the instance cannot be checked after a fault (reuse not_checked, a trap reads contained)",
                crate::process::escape_terminal(&path.display().to_string()),
                crate::wasm::HEALTH_EXPORT
            );
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every scenario in every execution model and print the matrix.
    Compare(CompareArgs),
    /// Run one scenario and show the outcome in full.
    Run(RunArgs),
    /// Say what a scenario does, what each model did with it, and why.
    Explain {
        /// Scenario name (see `faultbox list`).
        scenario: String,
        #[command(flatten)]
        models: ModelsArg,
        /// Output format (json: the same report as `compare --format json`).
        #[arg(long, value_enum, default_value_t = RunFormat::Table)]
        format: RunFormat,
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// List the scenario catalog.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Every column, however wide (default: fit the terminal, 80
        /// columns when stdout is not one).
        #[arg(long)]
        wide: bool,
        /// Check every manifest: the first that does not load is the error
        /// (exit 2). Without it, list shows what loads, names each manifest
        /// that does not, and exits 1 if there is one.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// Run WebAssembly spec-test scripts: every directive is run and
    /// compared (trap messages mapped to trap codes, returned values, modules
    /// that must be rejected), or skipped with its reason. Directories are
    /// searched for *.wast files.
    Wast(WastArgs),
    /// Measure the fault-to-usable-again cycle of every execution model.
    Bench(BenchArgs),
    /// Trap-and-recover cycles in one wasm worker, watching its memory.
    Soak(SoakArgs),
    /// Run random valid modules (wasm-smith) under fuel and memory limits
    /// and check that every run ends classified.
    Fuzz(FuzzArgs),
    /// Print the JSON Schema of the report (`compare --format json`), as
    /// shipped in schema/report.schema.json.
    #[command(hide = true)]
    Schema,
    /// Run a worker process (used by faultbox itself).
    #[command(hide = true)]
    Worker {
        /// wasm, wasm-explicit, wasm-pulley, native (the fork server) or
        /// native-once (one native run in this process).
        kind: String,
        /// native-once: the run request, as JSON.
        request: Option<String>,
    },
}

/// `--model`, the same on every command that runs several models.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelsArg {
    /// Only these execution models (repeatable, or comma-separated:
    /// `--model wasm,native`; default: all).
    #[arg(long = "model", value_parser = parse_model, value_delimiter = ',', value_name = "MODEL")]
    pub models: Vec<ExecutionModel>,
}

impl ModelsArg {
    fn chosen(&self) -> Vec<ExecutionModel> {
        if self.models.is_empty() {
            return ExecutionModel::ALL.to_vec();
        }
        // In column order, each once, however they were given.
        ExecutionModel::ALL.into_iter().filter(|m| self.models.contains(m)).collect()
    }
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    #[command(flatten)]
    pub models: ModelsArg,
    /// Only scenarios whose name contains this.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    /// Also write the report as JSON to FILE (the same run as stdout's).
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Also write the report as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Also write the report as one HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_html: Option<PathBuf>,
    /// Every column, however wide: each wasm engine in its own column
    /// (default: fit the terminal, 80 columns when stdout is not one; the
    /// wasm engines share a cell where they agree).
    #[arg(long)]
    pub wide: bool,
    /// Scenario runs in parallel (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
    /// Exit with 1 when an observed outcome differs from its manifest.
    #[arg(long)]
    pub check: bool,
    /// Run the whole selection N times; a (scenario, model) pair that is
    /// not classified the same way every time is reported as flaky and
    /// makes the exit code 1. The report shows the first run.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeat: u32,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// Scenario name (see `faultbox list`).
    pub scenario: String,
    #[command(flatten)]
    pub models: ModelsArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
    /// Exit with 1 when an observed outcome differs from its manifest.
    #[arg(long)]
    pub check: bool,
    /// Native: let Rust's default panic hook print a full, symbolized
    /// backtrace in the child. Off by default: it costs a guest's abort
    /// path ~150 ms of CPU, more than the fault itself.
    #[arg(long)]
    pub native_backtrace: bool,
}

#[derive(Debug, clap::Args)]
pub struct WastArgs {
    /// .wast files, or directories to search for them.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The wasm execution model to run them in.
    #[arg(long, value_parser = parse_model, default_value = "wasm", value_name = "MODEL")]
    pub model: ExecutionModel,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
    /// Scripts run in parallel (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// The scenario whose fault is cycled (default: trap_instruction, the
    /// cheapest trap: wasm `unreachable`, native `ud2`).
    #[arg(long, default_value = "trap_instruction", value_name = "NAME")]
    pub scenario: String,
    /// Cycles per configuration.
    #[arg(long, default_value_t = 2000, value_name = "N", value_parser = clap::value_parser!(u32).range(10..=10_000_000))]
    pub iterations: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
    /// Also write the report as JSON to FILE (the same run as stdout's).
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// A earlier report (`--export-json`) to compare with: exit 1 when a
    /// configuration's median cycle is more than --max-regression slower.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: the slowdown tolerated, in percent.
    #[arg(long, default_value_t = 25, value_name = "PCT", requires = "baseline", value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub max_regression: u32,
    /// Parallel jobs for the timed full compare (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// Number of cycles (default: 100000).
    #[arg(long, value_name = "N", conflicts_with = "seconds", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    pub cycles: Option<u64>,
    /// Run for this long instead of a number of cycles.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub seconds: Option<u64>,
    /// The scenario whose fault is cycled (default: trap_instruction).
    #[arg(long, default_value = "trap_instruction", value_name = "NAME")]
    pub scenario: String,
    /// The wasm execution model.
    #[arg(long, value_parser = parse_model, default_value = "wasm", value_name = "MODEL")]
    pub model: ExecutionModel,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
    /// Exit with 1 when the worker's resident set grew by more than PCT
    /// percent after warm-up.
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub max_growth: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Number of random modules.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub modules: u64,
    /// Seed of the module generator (the same seed gives the same modules).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// The wasm execution model.
    #[arg(long, value_parser = parse_model, default_value = "wasm", value_name = "MODEL")]
    pub model: ExecutionModel,
    /// Fuel for instantiation and for each call.
    #[arg(long, default_value_t = 1_000_000, value_name = "UNITS")]
    pub fuel: u64,
    /// Memory limit per module, MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub memory_mib: u64,
    /// Deadline for instantiation and for each call, ms.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// Where modules that break a rule are saved.
    #[arg(long, default_value = "tests/fuzz-regressions", value_name = "DIR")]
    pub save_dir: PathBuf,
    /// Run these saved modules (.wasm files, or directories of them)
    /// instead of generating new ones.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["modules", "seed"])]
    pub replay: Vec<PathBuf>,
    /// Parallel jobs (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompareFormat {
    /// Side-by-side table for the terminal.
    Table,
    /// The full report as JSON (stable, documented field names).
    Json,
    /// A Markdown table under a headline summary, for a README or an article.
    Markdown,
    /// One self-contained HTML page: a colour-coded grid with details per cell.
    Html,
}

/// `--format` of the commands with one rendering for people and one for
/// programs; `text`, its old name, is still accepted.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RunFormat {
    /// For people.
    #[value(alias = "text")]
    Table,
    /// For programs.
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

fn parse_profile(s: &str) -> Result<crate::wasm::WasmProfile, String> {
    crate::wasm::WasmProfile::from_name(s).ok_or_else(|| format!("unknown WebAssembly feature profile `{s}` (known: 2.0, 3.0)"))
}

fn parse_model(s: &str) -> Result<ExecutionModel, String> {
    ExecutionModel::from_name(s).ok_or_else(|| {
        format!("unknown execution model `{s}` (known: {})", ExecutionModel::ALL.map(|m| m.name()).join(", "))
    })
}

/// Parses the command line, runs it and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    if let Command::Worker { kind, request } = &cli.command {
        if kind == "native-once" {
            crate::native::run_once(request.as_deref().unwrap_or_default());
        }
        return match WorkerKind::from_arg(kind) {
            Some(kind) => crate::worker::server::serve(kind),
            None => {
                eprintln!("faultbox: unknown worker kind `{kind}`");
                2
            }
        };
    }
    report::term::set_color(match cli.color {
        ColorArg::Auto => anstream::ColorChoice::Auto,
        ColorArg::Always => anstream::ColorChoice::Always,
        ColorArg::Never => anstream::ColorChoice::Never,
    });
    if let Some(profile) = cli.wasm_features {
        crate::wasm::WasmProfile::select(profile);
    }
    if let Some(problem) = crate::process::unfit_environment() {
        eprintln!("faultbox: error: {problem}");
        return 1;
    }
    stop_workers_on_interrupt();
    crate::worker::client::adopt_orphans();
    let result = run(cli);
    if INTERRUPTED.load(Ordering::SeqCst) != 0 {
        // The interrupt thread is stopping the workers and will exit the
        // process with 128 + the signal; nothing this thread produced since
        // the signal is worth printing.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(code) => code,
        Err(err) => {
            if let Some(bad) = err.downcast_ref::<BadInput>() {
                eprintln!("faultbox: {}", crate::process::escape_terminal(&bad.to_string()));
                2
            } else if crate::process::is_broken_pipe(&err) {
                // The reader went away (`| head`): the conventional quiet
                // end, with the status SIGPIPE would have given.
                128 + libc::SIGPIPE
            } else {
                eprintln!("faultbox: error: {}", crate::process::escape_terminal(&format!("{err:#}")));
                1
            }
        }
    }
}

/// Help and version print as usual. A command-line mistake prints clap's
/// own account of it (the argument's name, "did you mean", the allowed
/// values, the usage of the subcommand at hand) and exits with 2, like
/// every other bad input.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ => 2,
    }
}

/// The signal that interrupted faultbox, or 0.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// Whether `signal` was ignored when faultbox started.
fn inherited_ignore(signal: libc::c_int) -> bool {
    // SAFETY: a query only (no new action); `old` is ours to fill.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// SIGINT, SIGTERM or SIGHUP stop every worker (and through the fork
/// server, every native child and stray) before faultbox exits with the
/// conventional 128 + signal. The signals are blocked in every thread and
/// taken by one thread with sigwait. The mask is inherited across exec, so
/// workers unblock them first thing (`worker::server::serve`).
fn stop_workers_on_interrupt() {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // A signal the parent chose to ignore (nohup, a service manager)
        // stays ignored: taking it would override that choice.
        if !inherited_ignore(s as libc::c_int) {
            set.add(s);
        }
    }
    if set.thread_block().is_err() {
        return;
    }
    let _ = std::thread::Builder::new().name("fb-interrupt".into()).spawn(move || {
        if let Ok(signal) = set.wait() {
            INTERRUPTED.store(signal as i32, Ordering::SeqCst);
            crate::worker::client::stop_all_workers();
            eprintln!("faultbox: interrupted by {}; every worker and child was stopped", signal.as_str());
            std::process::exit(128 + signal as i32);
        }
    });
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match &cli.command {
        Command::List { format, wide, check, catalog } => {
            let (catalog, broken) = if *check {
                (catalog.load()?, Vec::new())
            } else {
                Catalog::load_each(&catalog.scenarios.clone().unwrap_or_else(Catalog::default_dir))?
            };
            if !*check {
                note_unchecked_guests(&catalog);
            }
            match format {
                ListFormat::Table => report::term::print(&report::catalog_table(&catalog, report::Layout::for_stdout(*wide)))?,
                ListFormat::Json => {
                    let items: Vec<_> = catalog
                        .scenarios
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "name": s.name, "category": s.category, "injects": s.injects,
                                "summary": s.summary, "manifest": s.manifest,
                                "limits": s.limits,
                                "expect": ExecutionModel::ALL.iter().map(|m| (m.name(), s.expectation(*m))).collect::<std::collections::BTreeMap<_,_>>(),
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&items)?);
                }
            }
            for bad in &broken {
                eprintln!("faultbox: not listed: {}", crate::process::escape_terminal(&bad.to_string()));
            }
            Ok(if broken.is_empty() { 0 } else { 1 })
        }
        Command::Compare(args) => {
            let catalog = args.catalog.load()?;
            let exports = Exports::open(&[
                (args.export_json.as_deref(), ExportFormat::Json),
                (args.export_markdown.as_deref(), ExportFormat::Markdown),
                (args.export_html.as_deref(), ExportFormat::Html),
            ])?;
            let scenarios = catalog.select(args.scenario.as_deref())?;
            let models = args.models.chosen();
            let supervisor = Supervisor::for_current_exe()?;
            let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs);
            let mut runs = Vec::new();
            let progress = (args.repeat > 1).then(|| crate::commands::progress::Progress::new("runs of the selection", args.repeat.into()));
            for _ in 0..args.repeat {
                runs.push(supervisor.run_all(&scenarios, &models, jobs)?);
                progress.iter().for_each(|p| p.inc());
            }
            drop(progress);
            let stability = (args.repeat > 1).then(|| report::Stability::of(&runs));
            let flaky = stability.as_ref().is_some_and(|s| !s.flaky.is_empty());
            let mut report = Report::new(&scenarios, &models, runs.swap_remove(0));
            report.stability = stability;
            match args.format {
                CompareFormat::Table => {
                    report::term::print(&report::comparison_table(&report, report::Layout::for_stdout(args.wide)))?;
                    if let Some(s) = &report.stability {
                        print!("{}", s.text());
                    }
                }
                CompareFormat::Json => println!("{}", report.to_json()),
                CompareFormat::Markdown => print!("{}", report.to_markdown()),
                CompareFormat::Html => print!("{}", report.to_html()),
            }
            exports.write(|format| match format {
                ExportFormat::Json => report.to_json() + "\n",
                ExportFormat::Markdown => report.to_markdown(),
                ExportFormat::Html => report.to_html(),
            })?;
            Ok(if flaky || (args.check && (report.summary.unexpected > 0 || unfinished(&scenarios))) { 1 } else { 0 })
        }
        Command::Run(args) => {
            let catalog = args.catalog.load()?;
            let s = scenario(&catalog, &args.scenario)?;
            let supervisor = Supervisor::for_current_exe()?.with_native_backtrace(args.native_backtrace);
            let models = args.models.chosen();
            let outcomes: Vec<_> = models.iter().map(|m| supervisor.run(s, *m)).collect::<anyhow::Result<_>>()?;
            let differs = outcomes.iter().any(|o| !s.mismatches(o).is_empty());
            match args.format {
                RunFormat::Table => {
                    let text: Vec<String> = outcomes.iter().map(|o| report::run_detail(s, o)).collect();
                    print!("{}", text.join("\n"));
                    if s.expectation(ExecutionModel::Wasm).unwritten {
                        print!(
                            "\n# {} has no [expect.*] yet. What was observed, to paste and explain\n\
                             # (--check refuses a why that is still TODO):\n\n{}",
                            s.manifest.display(),
                            report::expect_block(&outcomes)
                        );
                    }
                }
                RunFormat::Json => println!("{}", serde_json::to_string_pretty(&outcomes)?),
            }
            Ok(if args.check && (differs || unfinished(&[s])) { 1 } else { 0 })
        }
        Command::Wast(args) => wast(args),
        Command::Soak(args) => soak(args),
        Command::Fuzz(args) => {
            let engine = wasm_only(args.model, "fuzz runs")?;
            let settings = crate::commands::fuzz::FuzzSettings {
                modules: args.modules,
                seed: args.seed,
                model: engine,
                fuel: args.fuel,
                memory_bytes: args.memory_mib << 20,
                timeout_ms: args.timeout_ms,
                max_calls: 16,
                jobs: args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs),
                save_dir: args.save_dir.clone(),
            };
            let replay = replay_modules(&args.replay)?;
            let supervisor = Supervisor::for_current_exe()?;
            let summary = crate::commands::fuzz::run(&supervisor, &settings, &replay)?;
            match args.format {
                RunFormat::Table => print!("{}", summary.text()),
                RunFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
            }
            Ok(if summary.ok() { 0 } else { 1 })
        }
        Command::Bench(args) => {
            let catalog = args.catalog.load()?;
            let s = scenario(&catalog, &args.scenario)?;
            crate::commands::cycles_by_itself(s)?;
            let exports = Exports::open(&[(args.export_json.as_deref(), ExportFormat::Json)])?;
            let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
            let supervisor = Supervisor::for_current_exe()?;
            let all: Vec<_> = catalog.scenarios.iter().collect();
            let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs);
            let report = crate::commands::bench::run(&supervisor, s, args.iterations, &all, jobs)?;
            let json = serde_json::to_string_pretty(&report)? + "\n";
            match args.format {
                RunFormat::Table => print!("{}", report.text()),
                RunFormat::Json => print!("{json}"),
            }
            exports.write(|_| json.clone())?;
            let Some(baseline) = baseline else { return Ok(0) };
            let slower = crate::commands::bench::regressions(&report, &baseline, args.max_regression as f64);
            for line in &slower {
                eprintln!("bench: {line}");
            }
            if slower.is_empty() {
                eprintln!("bench: no configuration is more than {}% slower than the baseline", args.max_regression);
            }
            Ok(if slower.is_empty() { 0 } else { 1 })
        }
        Command::Schema => {
            print!("{}", report::json_schema());
            Ok(0)
        }
        Command::Explain { scenario: name, models, format, catalog } => {
            let catalog = catalog.load()?;
            let s = scenario(&catalog, name)?;
            let supervisor = Supervisor::for_current_exe()?;
            let models = models.chosen();
            let outcomes = supervisor.run_all(&[s], &models, default_jobs())?;
            match format {
                RunFormat::Table => print!("{}", report::explain(s, &outcomes)),
                RunFormat::Json => println!("{}", Report::new(&[s], &models, outcomes).to_json()),
            }
            Ok(0)
        }
        Command::Worker { .. } => unreachable!("handled before"),
    }
}

/// Per configuration, the baseline's median cycle in µs, from a report
/// that `bench --export-json` (or `--format json`) wrote.
fn read_baseline(path: &std::path::Path) -> Result<std::collections::BTreeMap<String, f64>, BadInput> {
    let bytes = crate::error::read_input(path)?;
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| BadInput::in_file(path, format!("not a bench report: {e}")))?;
    let medians: std::collections::BTreeMap<String, f64> = json["configurations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["cycle"]["median_us"].as_f64()?)))
        .collect();
    if medians.is_empty() {
        return Err(BadInput::in_file(path, "not a bench report: no configurations with a median cycle"));
    }
    Ok(medians)
}

#[derive(Clone, Copy)]
enum ExportFormat {
    Json,
    Markdown,
    Html,
}

/// The files `--export-*` asked for, created before the run so that a
/// path that cannot be written is bad input at once, not after minutes of
/// work; each gets its rendering of the same run.
struct Exports(Vec<(PathBuf, std::fs::File, ExportFormat)>);

impl Exports {
    fn open(wanted: &[(Option<&std::path::Path>, ExportFormat)]) -> Result<Exports, BadInput> {
        let mut files = Vec::new();
        for (path, format) in wanted {
            if let Some(path) = path {
                let file = std::fs::File::create(path).map_err(|e| BadInput::in_file(path, format!("cannot write the export: {e}")))?;
                files.push((path.to_path_buf(), file, *format));
            }
        }
        Ok(Exports(files))
    }

    fn write(self, render: impl Fn(ExportFormat) -> String) -> anyhow::Result<()> {
        use std::io::Write;
        for (path, mut file, format) in self.0 {
            file.write_all(render(format).as_bytes())
                .map_err(|e| anyhow::anyhow!("{}: cannot write the export: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// `--check`: whether any of `scenarios` has expectations still to write
/// (none at all, or a `why` left as TODO); each is named on stderr.
fn unfinished(scenarios: &[&crate::scenario::Scenario]) -> bool {
    let mut any = false;
    for why in scenarios.iter().filter_map(|s| s.unfinished()) {
        eprintln!("faultbox: --check: {}", crate::process::escape_terminal(&why.to_string()));
        any = true;
    }
    any
}

/// The scenario called `name`; when there is none, the error suggests the
/// closest name, as clap does for flags.
fn scenario<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c crate::scenario::Scenario, BadInput> {
    catalog.get(name).map_err(|e| {
        let closest = catalog.scenarios.iter().map(|s| (edit_distance(name, &s.name), &s.name)).min();
        match closest {
            Some((d, near)) if d <= 1 + name.len() / 4 => {
                BadInput::new(format!("unknown scenario `{name}`: did you mean `{near}`? (see `faultbox list`)"))
            }
            _ => e,
        }
    })
}

/// Levenshtein distance, over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The given files, with each directory expanded into the `.ext` files
/// below it, sorted. A directory without any is bad input.
fn files_with_extension(paths: &[PathBuf], ext: &str) -> Result<Vec<PathBuf>, BadInput> {
    fn walk(dir: &std::path::Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let p = entry.path();
            // The entry's own type, not its target's: a link to a
            // directory is not followed, so links to `.` or a parent
            // cannot make the walk loop or repeat files.
            if entry.file_type()?.is_dir() {
                walk(&p, ext, out)?;
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, ext, &mut found).map_err(|e| BadInput::in_file(p, format!("cannot read directory: {e}")))?;
            if found.is_empty() {
                return Err(BadInput::in_file(p, format!("no .{ext} files here")));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn wast(args: &WastArgs) -> anyhow::Result<i32> {
    let engine = wasm_only(args.model, "spec scripts run in")?;
    let files = files_with_extension(&args.files, "wast")?;
    // Each script is read once, here: the worker runs this text.
    let scripts = files
        .iter()
        .map(|f| crate::worker::wast::script::check(f).map(|text| (f.clone(), text)))
        .collect::<Result<Vec<_>, _>>()?;
    let supervisor = Supervisor::for_current_exe()?;
    let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs);
    let progress = crate::commands::progress::Progress::new("scripts", files.len() as u64);
    let reports = crate::supervisor::parallel_map(&scripts, jobs, |(f, text)| {
        let r = supervisor.run_wast_text(f, text.clone(), engine);
        progress.inc();
        r
    })
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    drop(progress);
    let report = crate::classify::wast::WastReport::new(args.model, reports);
    match args.format {
        RunFormat::Table => print!("{}", report.text()),
        RunFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.all_agree() { 0 } else { 1 })
}

/// The wasm engine of `model` for a command that only runs wasm (`what`:
/// "fuzz runs"), or bad input naming the command.
fn wasm_only(model: ExecutionModel, what: &str) -> Result<crate::model::WasmEngine, BadInput> {
    model.wasm_engine().ok_or_else(|| BadInput::new(format!("{what} a wasm model (wasm, wasm-explicit or wasm-pulley), not native")))
}

fn soak(args: &SoakArgs) -> anyhow::Result<i32> {
    let engine = wasm_only(args.model, "soak runs")?;
    let catalog = args.catalog.load()?;
    let s = scenario(&catalog, &args.scenario)?;
    let supervisor = Supervisor::for_current_exe()?;
    let report = crate::commands::soak::soak(&supervisor, s, engine, args.cycles, args.seconds)?;
    match args.format {
        RunFormat::Table => print!("{}", report.text(&s.name)),
        RunFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    let Some(max) = args.max_growth else { return Ok(0) };
    let over = report.growth_percent > max as f64;
    eprintln!(
        "soak: RSS grew {:.1}% after warm-up, {} the --max-growth of {max}%",
        report.growth_percent,
        if over { "more than" } else { "within" }
    );
    Ok(if over { 1 } else { 0 })
}

/// Reads saved modules for `fuzz --replay`.
fn replay_modules(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Vec<u8>)>, BadInput> {
    files_with_extension(paths, "wasm")?
        .into_iter()
        .map(|f| {
            let bytes = crate::error::read_input(&f)?;
            wasmparser::Validator::new()
                .validate_all(&bytes)
                .map_err(|e| BadInput::in_file(&f, format!("not a valid wasm module: {}", e.message())))?;
            Ok((f, bytes))
        })
        .collect()
}

