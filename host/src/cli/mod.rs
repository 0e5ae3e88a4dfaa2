//! The command line: parsing (`flags`), dispatch (here), interrupts
//! (`interrupt`), the environment checked at start (`environment`), exit
//! codes. Exit codes: 0 success,
//! 1 faultbox itself failed (or `--check` found unexpected outcomes), 2 bad
//! input, 128+N interrupted by signal N.

mod environment;
mod flags;
mod interrupt;

pub use flags::*;
use interrupt::{INTERRUPTED, stop_workers_on_interrupt};

use crate::error::BadInput;
use crate::model::ExecutionModel;
use crate::report::{self, Report};
use crate::scenario::Catalog;
use crate::supervisor::{Supervisor, default_jobs};
use crate::worker::WorkerKind;
use clap::Parser;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

// The report goes to stdout through these, not std's: std's panic on a
// write error (a full disk, a closed pipe), and these return it to `main`,
// which says it in one line (a broken pipe, quietly).
macro_rules! print {
    ($($t:tt)*) => { crate::process::write_stdout(format_args!($($t)*))? };
}
macro_rules! println {
    ($($t:tt)*) => { crate::process::write_stdout(format_args!("{}\n", format_args!($($t)*)))? };
}

impl CatalogArg {
    fn load(&self) -> Result<Catalog, BadInput> {
        let mut catalog = Catalog::load(&self.scenarios.clone().unwrap_or_else(Catalog::default_dir))?;
        if !self.languages.is_empty() {
            // In the languages' order, each once, however they were given.
            let chosen: Vec<_> = crate::model::Language::ALL.into_iter().filter(|l| self.languages.contains(l)).collect();
            catalog.restrict(&chosen);
        }
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
            // An adapter's configuration is served by its adapter program,
            // never by this binary.
            Some(WorkerKind::Wasm(model)) if model.row().start.adapter().is_some() => {
                eprintln!("faultbox: `{kind}` is served by its adapter in engines/, not by `faultbox worker`");
                2
            }
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
    if let Err(bad) = environment::check_environment() {
        eprintln!("faultbox: {}", crate::process::escape_terminal(&bad.to_string()));
        return 2;
    }
    // What a faultbox killed mid-build left (its tools ended with it).
    crate::language::build::sweep_at_start();
    stop_workers_on_interrupt();
    crate::worker::client::adopt_orphans();
    let result = run(cli);
    crate::language::build::remove_scratch();
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

fn run(cli: Cli) -> anyhow::Result<i32> {
    // Read before any worker starts: a bad value is bad input.
    crate::worker::guard::compile_memory_mib()?;
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
            let mut runs = crate::commands::compare::compare(&supervisor, &scenarios, &models, jobs, args.repeat)?;
            let stability = (args.repeat > 1).then(|| report::Stability::of(&runs));
            let flaky = stability.as_ref().is_some_and(|s| !s.flaky.is_empty());
            let first = runs.swap_remove(0);
            let remedy = report::remedy::rows(&crate::commands::compare::remedy(&supervisor, &catalog, &scenarios, &models, &first, jobs)?);
            let mut report = Report::new(&scenarios, &models, first);
            report.stability = stability;
            report.remedy = remedy;
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
        Command::Run(args) if args.wasm.is_some() || args.native.is_some() => run_prebuilt(args),
        Command::Run(args) => {
            let catalog = args.catalog.load()?;
            let all = scenarios(&catalog, args.scenario.as_deref().unwrap_or_default())?;
            let supervisor = Supervisor::for_current_exe()?.with_native_backtrace(args.native_backtrace);
            let models = args.models.chosen();
            let (mut differs, mut every, mut text) = (false, Vec::new(), Vec::new());
            for s in &all {
                let outcomes = crate::commands::compare::run(&supervisor, s, &models)?;
                differs |= outcomes.iter().any(|o| !s.mismatches(o).is_empty());
                text.extend(outcomes.iter().map(|o| report::run_detail(s, o)));
                if s.expectation(ExecutionModel::DEFAULT_WASM).unwritten {
                    text.push(format!(
                        "# {} has no [expect.{}.*] yet. What was observed, to paste and explain\n\
                         # (--check refuses a why that is still TODO):\n\n{}",
                        s.manifest.display(),
                        s.language,
                        report::expect_block(&outcomes)
                    ));
                }
                every.extend(outcomes);
            }
            match args.format {
                RunFormat::Table => print!("{}", text.join("\n")),
                RunFormat::Json => println!("{}", serde_json::to_string_pretty(&every)?),
            }
            Ok(if args.check && (differs || unfinished(&all)) { 1 } else { 0 })
        }
        Command::Wast(args) => wast(args),
        Command::Soak(args) => soak(args),
        Command::Fuzz(args) => {
            let engine = wasm_only(args.model, "fuzz runs")?;
            // Random modules run through wasmtime's API (default values of
            // any parameter type, a fuel budget per call); wasmi has no
            // such runner yet, and saying so beats a worker's refusal.
            if engine.family() != crate::registry::EngineFamily::Wasmtime {
                let wasmtime: Vec<&str> =
                    crate::model::EngineConfig::of_family(crate::registry::EngineFamily::Wasmtime).map(|c| c.name()).collect();
                return Err(BadInput::new(format!(
                    "fuzz runs random modules in wasmtime's configurations only ({}), not in {engine}",
                    wasmtime.join(", ")
                ))
                .into());
            }
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
            // A missing baseline is bad input before any cycle runs.
            let baseline = args.baseline.as_deref().map(crate::commands::bench::load_baseline).transpose()?;
            if let Some(name) = &args.save_baseline {
                crate::commands::bench::check_save_name(name)?;
            }
            let supervisor = Supervisor::for_current_exe()?;
            let all: Vec<_> = catalog.scenarios.iter().collect();
            let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs);
            let report = crate::commands::bench::run(&supervisor, s, args.iterations, args.compare.then_some((&all[..], jobs)))?;
            let json = serde_json::to_string_pretty(&report)? + "\n";
            match args.format {
                RunFormat::Table => print!("{}", report.text()),
                RunFormat::Json => print!("{json}"),
            }
            exports.write(|_| json.clone())?;
            if let Some(name) = &args.save_baseline {
                let file = crate::commands::bench::save_baseline(&report, name)?;
                eprintln!("bench: saved as baseline `{name}` ({})", crate::process::escape_terminal(&file.display().to_string()));
            }
            let Some(baseline) = baseline else { return Ok(0) };
            let comparison = crate::commands::bench::compare_with_baseline(&report, &baseline, args.noise_threshold);
            eprint!("{}", crate::process::escape_terminal(&comparison.text()));
            Ok(if comparison.regressed() { 1 } else { 0 })
        }
        Command::Schema { worker_protocol } => {
            print!("{}", if *worker_protocol { crate::protocol::json_schema() } else { report::json_schema() });
            Ok(0)
        }
        Command::Explain { scenario: name, models, format, catalog } => {
            let catalog = catalog.load()?;
            let all = scenarios(&catalog, name)?;
            let supervisor = Supervisor::for_current_exe()?;
            let models = models.chosen();
            let outcomes = supervisor.run_all(&all, &models, default_jobs())?;
            match format {
                RunFormat::Table => {
                    let text: Vec<String> =
                        all.iter().zip(outcomes.chunks(models.len().max(1))).map(|(s, o)| report::explain(s, o)).collect();
                    print!("{}", text.join("\n"))
                }
                RunFormat::Json => println!("{}", Report::new(&all, &models, outcomes).to_json()),
            }
            Ok(0)
        }
        Command::Worker { .. } => unreachable!("handled before"),
    }
}

/// `run --wasm FILE` / `run --native PROGRAM`: a module or program of the
/// user's own, checked before any worker starts (bad input: exit 2), run
/// in the chosen models (default: the wasm models for a module, native for
/// a program, both for both) and reported as a scenario's run is.
fn run_prebuilt(args: &RunArgs) -> anyhow::Result<i32> {
    if args.check {
        return Err(BadInput::new(
            "--check holds runs to a manifest's expectations, and a one-off run has none: name the module or program in a manifest's [guest.prebuilt]",
        )
        .into());
    }
    let module = match &args.wasm {
        Some(path) => Some(crate::scenario::prebuilt::check_module(path, args.export.as_deref(), args.args.clone())?),
        None => None,
    };
    let program = match &args.native {
        Some(path) => Some(crate::scenario::prebuilt::check_program(path, args.args.clone())?),
        None => None,
    };
    let s = crate::scenario::Scenario::one_off(module, program, args.arg, crate::limits::Limits::default())?;
    let models: Vec<ExecutionModel> = if args.models.models.is_empty() {
        ExecutionModel::ALL.into_iter().filter(|m| s.runs_in(*m)).collect()
    } else {
        args.models.chosen()
    };
    let supervisor = Supervisor::for_current_exe()?.with_native_backtrace(args.native_backtrace);
    let outcomes = crate::commands::compare::run(&supervisor, &s, &models)?;
    match args.format {
        RunFormat::Table => {
            let text: Vec<String> = outcomes.iter().map(|o| report::run_detail(&s, o)).collect();
            print!("{}", text.join("\n"));
        }
        RunFormat::Json => println!("{}", serde_json::to_string_pretty(&outcomes)?),
    }
    // Nothing is expected of a one-off run: --check has nothing to hold it to.
    Ok(0)
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
/// The `--export-*` files of a run. A regular file (or a new one) is
/// written to a temporary file beside it and renamed over it once the
/// report is whole, so a run that fails or is interrupted leaves the
/// previous report as it was; anything else (a FIFO, `/dev/stdout`) is
/// written in place.
struct Exports(Vec<Export>);

struct Export {
    path: PathBuf,
    format: ExportFormat,
    file: std::fs::File,
    /// The temporary file renamed over `path` at the end, if any.
    tmp: Option<PathBuf>,
}

/// Temporary export files not yet renamed: removed if faultbox is
/// interrupted before the report is whole.
pub(crate) static PENDING_EXPORTS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

pub(crate) fn remove_pending_exports() {
    for tmp in PENDING_EXPORTS.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let _ = std::fs::remove_file(tmp);
    }
}

impl Exports {
    fn open(wanted: &[(Option<&std::path::Path>, ExportFormat)]) -> Result<Exports, BadInput> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut exports = Exports(Vec::new());
        for (path, format) in wanted {
            let Some(path) = path else { continue };
            let cannot = |e: std::io::Error| BadInput::in_file(path, format!("cannot write the export: {e}"));
            let export = match std::fs::metadata(path) {
                Ok(m) if !m.is_file() => {
                    let file = std::fs::OpenOptions::new().write(true).open(path).map_err(cannot)?;
                    Export { path: path.to_path_buf(), format: *format, file, tmp: None }
                }
                _ => {
                    let name = path.file_name().ok_or_else(|| BadInput::in_file(path, "cannot write the export: not a file name"))?;
                    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                    let n = N.fetch_add(1, Ordering::Relaxed);
                    let tmp = dir.join(format!(".{}.{}-{n}.tmp", name.to_string_lossy(), std::process::id()));
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o644)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                        .open(&tmp)
                        .map_err(cannot)?;
                    PENDING_EXPORTS.lock().unwrap_or_else(|e| e.into_inner()).push(tmp.clone());
                    Export { path: path.to_path_buf(), format: *format, file, tmp: Some(tmp) }
                }
            };
            exports.0.push(export);
        }
        Ok(exports)
    }

    fn write(mut self, render: impl Fn(ExportFormat) -> String) -> anyhow::Result<()> {
        use std::io::Write;
        for export in &mut self.0 {
            let failed = |e: std::io::Error| anyhow::anyhow!("{}: cannot write the export: {e}", export.path.display());
            export.file.write_all(render(export.format).as_bytes()).map_err(failed)?;
            if let Some(tmp) = &export.tmp {
                export.file.sync_all().map_err(failed)?;
                std::fs::rename(tmp, &export.path).map_err(failed)?;
                PENDING_EXPORTS.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != tmp);
                export.tmp = None;
            }
        }
        Ok(())
    }
}

impl Drop for Exports {
    /// A run that failed before its report was whole leaves the old
    /// exports untouched and no temporary file.
    fn drop(&mut self) {
        for tmp in self.0.iter().filter_map(|e| e.tmp.as_ref()) {
            let _ = std::fs::remove_file(tmp);
            PENDING_EXPORTS.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != tmp);
        }
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
    scenarios(catalog, name).map(|all| all[0])
}

/// The scenario called `name` in each of its languages.
fn scenarios<'c>(catalog: &'c Catalog, name: &str) -> Result<Vec<&'c crate::scenario::Scenario>, BadInput> {
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
    if args.agreement {
        let engines = runnable_engines(&crate::model::EngineConfig::ALL)?;
        let (groups, reports) = crate::commands::wast::agreement(&supervisor, &scripts, &engines, jobs)?;
        let table = report::wast::AgreementTable::new(&groups, &reports);
        match args.format {
            RunFormat::Table => print!("{}", table.text()),
            RunFormat::Json => println!("{}", serde_json::to_string_pretty(&table)?),
        }
        return Ok(if table.all_agree() { 0 } else { 1 });
    }
    runnable_engines(&[engine])?;
    let report = crate::commands::wast::wast(&supervisor, &scripts, engine, jobs)?;
    match args.format {
        RunFormat::Table => print!("{}", report.text()),
        RunFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.all_agree() { 0 } else { 1 })
}

/// The engines of `engines` that can run here: an adapter whose runtime
/// is missing is left out with one line on stderr (an error under CI, and
/// an error when it is the only one asked for).
fn runnable_engines(engines: &[crate::model::EngineConfig]) -> anyhow::Result<Vec<crate::model::EngineConfig>> {
    use crate::language::build::Unavailable;
    let mut out = Vec::new();
    for &e in engines {
        match crate::worker::adapter::launcher(e) {
            None | Some(Ok(_)) => out.push(e),
            Some(Err(why @ Unavailable::Missing { .. })) if std::env::var_os("CI").is_none() && engines.len() > 1 => {
                eprintln!("faultbox: {e} skipped: {}", why.line());
            }
            Some(Err(why @ Unavailable::Missing { .. })) => {
                return Err(BadInput::new(format!("the {e} engine cannot run here: {}", why.line())).into());
            }
            Some(Err(why)) => anyhow::bail!("the {e} engine's adapter: {}", why.line()),
        }
    }
    Ok(out)
}

/// The wasm engine of `model` for a command that only runs wasm (`what`:
/// "fuzz runs"), or bad input naming the command.
fn wasm_only(model: ExecutionModel, what: &str) -> Result<crate::model::EngineConfig, BadInput> {
    model.wasm_engine().ok_or_else(|| BadInput::new(format!("{what} a wasm model ({}), not native", crate::model::EngineConfig::names())))
}

fn soak(args: &SoakArgs) -> anyhow::Result<i32> {
    let engine = wasm_only(args.model, "soak runs")?;
    // Soak cycles run inside faultbox's own workers; an adapter serves
    // runs, spec steps and bench cycles.
    if engine.row().start.adapter().is_some() {
        let embedded: Vec<&str> = crate::model::EngineConfig::ALL.iter().filter(|c| c.row().start.adapter().is_none()).map(|c| c.name()).collect();
        return Err(BadInput::new(format!("soak runs in the embedded engines only ({}), not in {engine}, which runs in an adapter", embedded.join(", "))).into());
    }
    let catalog = args.catalog.load()?;
    let s = scenario(&catalog, &args.scenario)?;
    let supervisor = Supervisor::for_current_exe()?;
    let report = crate::commands::soak::soak(&supervisor, s, engine, args.cycles, args.seconds)?;
    match args.format {
        RunFormat::Table => print!("{}", report.text(&s.name)),
        RunFormat::Json => println!("{}", report.json()),
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

