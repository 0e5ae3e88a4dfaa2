//! The command line as clap reads it: every command, every flag, with the
//! doc comments `--help` shows. This file is faultbox's manual.

use crate::model::ExecutionModel;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Run the same fault scenarios in wasm and native execution models and
/// report, side by side, which model survives each fault, detects it and
/// recovers, and at what cost.
#[derive(Debug, Parser)]
#[command(name = "faultbox", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// WebAssembly feature profile of the wasm engines: 3.0 (default: every
    /// Wasm 3.0 proposal the engine configuration implements, as the
    /// registry states) or 2.0.
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
    /// Only guests in these languages (repeatable, or comma-separated:
    /// `--language go,rust`; default: every language a scenario has). A
    /// scenario without an entry in a chosen language shows it as n/a.
    #[arg(long = "language", value_parser = parse_language, value_delimiter = ',', value_name = "LANGUAGE")]
    pub languages: Vec<crate::model::Language>,
}

fn parse_language(s: &str) -> Result<crate::model::Language, String> {
    crate::model::Language::from_name(s).ok_or_else(|| {
        format!("unknown language `{s}` (known: {})", crate::model::Language::ALL.map(|l| l.name()).join(", "))
    })
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
    Schema {
        /// The worker protocol's instead, as shipped in
        /// schema/worker-protocol.schema.json.
        #[arg(long)]
        worker_protocol: bool,
    },
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
    pub fn chosen(&self) -> Vec<ExecutionModel> {
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
    /// Scenario name (see `faultbox list`); none with --wasm or --native.
    #[arg(required_unless_present_any = ["wasm", "native"], conflicts_with_all = ["wasm", "native"])]
    pub scenario: Option<String>,
    /// Run your own .wasm module instead of a scenario: a WASI command
    /// (`_start`, with ARGS as its arguments) or, with --export, a function
    /// `(i64) -> i64`. In the wasm models (only them, unless --native is
    /// given too). Checked before it runs: a file that is not a module, or
    /// lacks the export, is bad input (exit 2).
    #[arg(long, value_name = "FILE")]
    pub wasm: Option<PathBuf>,
    /// With --wasm: the export to call, `(i64) -> i64` (e.g. `fb_null_write`;
    /// default `_start`, a WASI command). With an `fb_health` export
    /// `() -> i64`, the instance's reuse is checked after the call.
    #[arg(long, value_name = "NAME", requires = "wasm")]
    pub export: Option<String>,
    /// With --export: the argument it is called with.
    #[arg(long, value_name = "N", requires = "export", allow_negative_numbers = true, default_value_t = 0)]
    pub arg: i64,
    /// Run your own native program instead of a scenario: exec'd in a
    /// forked child of the fork server with ARGS, an empty environment and
    /// the default limits (RLIMIT_AS: 1024 MiB for its runtime plus the
    /// memory limit and the stack), classified by its exit status or signal.
    #[arg(long, value_name = "PROGRAM")]
    pub native: Option<PathBuf>,
    /// With --wasm/--native: the arguments, after `--` (the command's WASI
    /// argv after its file name; the program's argv after its path).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
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
    #[arg(long, value_parser = parse_model, default_value = "wasm", value_name = "MODEL", conflicts_with = "agreement")]
    pub model: ExecutionModel,
    /// Run the scripts in every wasm engine configuration instead, and
    /// print the agreement per configuration and proposal (the proposals
    /// each script's modules use), then each one's disagreements.
    #[arg(long)]
    pub agreement: bool,
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
    /// Save this run as baseline NAME (`baselines/NAME.json` in faultbox's
    /// cache directory: $FAULTBOX_CACHE_DIR, else $XDG_CACHE_HOME/faultbox,
    /// else ~/.cache/faultbox).
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    /// Compare this run with baseline NAME (a saved name, or the path of a
    /// report `--export-json` wrote): the change per configuration, and
    /// exit 1 when one is slower beyond --noise-threshold.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// With --baseline: how far a median cycle may move either way and
    /// still be noise, in percent of the baseline's.
    #[arg(long, default_value_t = crate::commands::bench::DEFAULT_NOISE_PERCENT, value_name = "PCT", requires = "baseline", value_parser = parse_percent)]
    pub noise_threshold: f64,
    /// Also time a full compare: every scenario of the catalog in every
    /// model, as `faultbox compare` runs it.
    #[arg(long)]
    pub compare: bool,
    /// Parallel jobs for the timed full compare (default: the number of cores).
    #[arg(long, value_name = "N", requires = "compare", value_parser = clap::value_parser!(u32).range(1..=256))]
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

pub(super) fn parse_profile(s: &str) -> Result<crate::wasm::WasmProfile, String> {
    crate::wasm::WasmProfile::from_name(s).ok_or_else(|| format!("unknown WebAssembly feature profile `{s}` (known: 2.0, 3.0)"))
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1_000_000.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a percentage from 0 to 1000000")),
    }
}

pub(super) fn parse_model(s: &str) -> Result<ExecutionModel, String> {
    ExecutionModel::from_name(s).ok_or_else(|| {
        format!("unknown execution model `{s}` (known: {})", ExecutionModel::ALL.map(|m| m.name()).join(", "))
    })
}

