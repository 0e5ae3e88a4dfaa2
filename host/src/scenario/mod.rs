//! Scenarios and the catalog that loads them from their manifests.

mod exec_check;
mod manifest;
pub mod prebuilt;
pub mod wasm_module;

pub use manifest::{Category, Expectation};
pub use prebuilt::{PrebuiltModule, PrebuiltProgram};
pub use wasm_module::parse_wat;

use crate::error::{BadInput, line_of};
use crate::limits::Limits;
use crate::model::{ExecutionModel, Language};
use crate::outcome::{Ending, FaultClass, Outcome, Verdict};
use manifest::ManifestFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The guest code a scenario runs, in one language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Guest {
    /// A function of the Rust guest crate: embedded as wasm, linked
    /// natively.
    Rust { entry: String },
    /// A hand-written wasm module (`scenarios/wat/`): wasm models only. The
    /// entry is the export `fb_<entry>`.
    Wat { path: PathBuf, entry: String },
    /// An entry of a language whose artifacts its descriptor builds
    /// (`crate::language`): a wasm module exporting `fb_<entry>` and a
    /// native program taking `<entry> <arg>`.
    Built { language: Language, entry: String },
    /// The manifest has no entry in this language: a placeholder that
    /// every model reports as `n/a` (only when `--language` asks for it).
    Missing { language: Language },
    /// A module and/or a program faultbox did not build (a manifest's
    /// `[guest.prebuilt]`, `run --wasm`/`--native`): the module in the wasm
    /// models, the program exec'd natively; a model without its artifact
    /// is `n/a`.
    Prebuilt { module: Option<PrebuiltModule>, program: Option<PrebuiltProgram> },
}

impl Guest {
    pub fn entry(&self) -> &str {
        match self {
            Guest::Rust { entry } | Guest::Wat { entry, .. } | Guest::Built { entry, .. } => entry,
            Guest::Missing { .. } => "",
            Guest::Prebuilt { module, .. } => module.as_ref().map_or("", |m| m.export.as_str()),
        }
    }

    pub fn language(&self) -> Language {
        match self {
            Guest::Rust { .. } => Language::Rust,
            Guest::Wat { .. } => Language::Wat,
            Guest::Built { language, .. } | Guest::Missing { language } => *language,
            Guest::Prebuilt { .. } => Language::Prebuilt,
        }
    }

    pub fn export_name(&self) -> String {
        match self {
            // Named in full: a module of one's own need not follow `fb_`.
            Guest::Prebuilt { .. } => self.entry().to_string(),
            _ => format!("fb_{}", self.entry()),
        }
    }
}

/// One loaded, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    /// The guest's language: one manifest gives one `Scenario` per
    /// language it has an entry for.
    pub language: Language,
    pub manifest: PathBuf,
    pub summary: String,
    pub description: String,
    /// What this language's entry does, where it differs from the
    /// language-neutral description.
    pub about: Option<String>,
    pub category: Category,
    pub injects: FaultClass,
    pub guest: Guest,
    pub arg: i64,
    pub limits: Limits,
    /// A signal faultbox sends from outside once the guest reports ready
    /// (`[inject]`).
    pub inject: Option<crate::outcome::Signal>,
    expect: BTreeMap<ExecutionModel, Expectation>,
    /// A `.wat` guest's module, as validated when the manifest loaded: the
    /// one copy every run uses (the file is read once). A prebuilt guest's
    /// module too, as checked (its runs read the file: `ModuleSource::File`).
    wat_module: Option<std::sync::Arc<Vec<u8>>>,
    /// A one-off run of a prebuilt artifact, without a manifest.
    one_off: bool,
}

impl Scenario {
    /// The manifest's expectation for `model` (wasm variants fall back to
    /// `[expect.wasm]`).
    pub fn expectation(&self, model: ExecutionModel) -> &Expectation {
        &self.expect[&model]
    }

    /// Why `--check` cannot pass this scenario whatever it observes: its
    /// expectations are not written yet, or one says `why = "TODO"`.
    pub fn unfinished(&self) -> Option<String> {
        if self.expect.values().any(|e| e.unwritten) {
            return Some(format!("{}: the manifest has no [expect.*] yet", self.manifest.display()));
        }
        let todo: Vec<&str> = self.expect.iter().filter(|(_, e)| e.why.trim() == "TODO").map(|(m, _)| m.name()).collect();
        (!todo.is_empty()).then(|| format!("{}: `why` is still TODO for {}", self.manifest.display(), todo.join(", ")))
    }

    /// A `.wat` guest's binary module, read and validated at load.
    pub fn wat_module(&self) -> Option<&[u8]> {
        self.wat_module.as_deref().map(Vec::as_slice)
    }

    /// How `outcome` differs from what this scenario's manifest expects of
    /// its model. A manifest describes the default Wasm 3.0 profile: under
    /// `--wasm-features 2.0`, a module that needs 3.0 is `n/a` by the
    /// profile's choice, which no manifest can be expected to foresee, so
    /// that pair is not checked.
    pub fn mismatches(&self, outcome: &Outcome) -> Vec<String> {
        if outcome.verdict == Verdict::NotApplicable && self.profile_gap(outcome.model).is_some() && !matches!(self.guest, Guest::Missing { .. }) {
            return Vec::new();
        }
        // Nothing ran: the toolchain is missing on this machine (said on
        // the outcome, and an error under CI instead).
        if outcome.verdict == Verdict::Skipped {
            return Vec::new();
        }
        self.expectation(outcome.model).mismatches(outcome)
    }

    /// Whether `model` can run this scenario at all, as far as the
    /// manifest and the language's descriptor say (a built language's
    /// artifacts may still lack the entry: the supervisor asks them).
    pub fn runs_in(&self, model: ExecutionModel) -> bool {
        self.gap(model).is_none()
    }

    /// Why `model` cannot run this scenario: no entry in this language, a
    /// language without a native form, or the wasm feature profile.
    pub fn gap(&self, model: ExecutionModel) -> Option<String> {
        if let Guest::Missing { language } = self.guest {
            return Some(format!("{} has no [guest.{language}]: no {language} entry", self.manifest.display()));
        }
        if let Some(gap) = prebuilt_gap(&self.guest, model) {
            return Some(gap);
        }
        match crate::language::descriptor(self.language).native {
            crate::language::NativeLauncher::None { why } if !model.is_wasm() => return Some(why.to_string()),
            _ => {}
        }
        self.profile_gap(model)
    }

    /// The placeholder for a language `from`'s manifest has no entry in.
    pub fn missing(from: &Scenario, language: Language) -> Scenario {
        let mut s = from.clone();
        s.language = language;
        s.guest = Guest::Missing { language };
        s.about = None;
        s.arg = 0;
        s.wat_module = None;
        let why = format!("no {language} entry: {} has no [guest.{language}]", from.manifest.display());
        let na = Expectation { verdict: Verdict::NotApplicable, fault: None, trap: None, signal: None, reuse: None, why, unwritten: false };
        s.expect = ExecutionModel::ALL.into_iter().map(|m| (m, na.clone())).collect();
        s
    }

    /// A one-off run of a module and/or a program faultbox did not build
    /// (`run --wasm FILE`, `run --native PROGRAM`), both already checked.
    /// There is no manifest, so nothing is expected of it, and the fault it
    /// commits is not known: `injects` is `unknown`, for which a clean run
    /// is `ok` and a fault is `recovered`, `contained` or `crashed` by what
    /// survived it (`classify::verdict`). Named after the module (else the
    /// program), its category `control` stands in for none.
    pub fn one_off(module: Option<(PrebuiltModule, Vec<u8>)>, program: Option<PrebuiltProgram>, arg: i64, limits: Limits) -> Result<Scenario, BadInput> {
        let file = module.as_ref().map(|(m, _)| &m.path).or(program.as_ref().map(|p| &p.path)).cloned().unwrap_or_default();
        let name = file.file_stem().map_or_else(|| "prebuilt".into(), |s| s.to_string_lossy().into_owned());
        if let Some((m, bytes)) = &module {
            let initial = wasm_module::initial_memory_bytes(bytes);
            if limits.memory_bytes() < initial {
                return Err(BadInput::in_file(
                    &m.path,
                    format!("the module's initial memory ({:.2} MiB) is above the memory limit ({} MiB)", initial as f64 / (1 << 20) as f64, limits.memory_mib),
                ));
            }
        }
        let what = match (&module, &program) {
            (Some((m, _)), _) if m.is_command() => format!("the WASI command {}", m.path.display()),
            (Some((m, _)), _) => format!("export `{}` of {}", m.export, m.path.display()),
            (None, Some(p)) => format!("the program {}", p.path.display()),
            (None, None) => "nothing".into(),
        };
        let guest = Guest::Prebuilt { module: module.as_ref().map(|(m, _)| m.clone()), program };
        let unexpected = Expectation {
            why: "a one-off run: no manifest, so nothing is expected (name the module or program in a manifest's [guest.prebuilt] to state expectations)".into(),
            ..Expectation::unwritten()
        };
        let expect = ExecutionModel::ALL
            .into_iter()
            .map(|m| {
                let e = match prebuilt_gap(&guest, m) {
                    Some(gap) => Expectation { verdict: Verdict::NotApplicable, fault: None, trap: None, signal: None, reuse: None, why: gap, unwritten: false },
                    None => unexpected.clone(),
                };
                (m, e)
            })
            .collect();
        Ok(Scenario {
            name,
            language: Language::Prebuilt,
            manifest: file,
            summary: format!("a one-off run of {what}"),
            description: String::new(),
            about: None,
            category: Category::Control,
            injects: FaultClass::Unknown,
            guest,
            arg,
            limits,
            inject: None,
            expect,
            wat_module: module.map(|(_, bytes)| std::sync::Arc::new(bytes)),
            one_off: true,
        })
    }

    /// Whether this is a one-off run of a prebuilt artifact, without a
    /// manifest ([`Scenario::one_off`]).
    pub fn is_one_off(&self) -> bool {
        self.one_off
    }

    /// Why a wasm model cannot run this `.wat` guest: a proposal outside
    /// the process's feature profile (`--wasm-features 2.0` and a module
    /// using Wasm 3.0), or one the model's engine does not implement (the
    /// registry's row says which, and why).
    pub fn profile_gap(&self, model: ExecutionModel) -> Option<String> {
        let bytes = self.wat_module.as_deref()?;
        crate::wasm::engine_gap(model.wasm_engine()?, crate::wasm::WasmProfile::current(), bytes)
    }

    /// Loads and validates one manifest: one scenario per language it has
    /// a `[guest.<language>]` for, in the languages' order.
    pub fn load(path: &Path) -> Result<Vec<Scenario>, BadInput> {
        let text = crate::error::read_input_text(path)?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
            .ok_or_else(|| {
                BadInput::in_file(path, "a scenario's file name must be lowercase letters, digits and `_`, ending in .toml")
            })?
            .to_string();
        if let Some(bad) = expect_array(path, &text) {
            return Err(bad);
        }
        let file: ManifestFile = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| line_of(&text, s.start));
            let key = e.span().and_then(|s| key_at(&text, s.start));
            let problem = match key {
                Some(key) if !e.message().contains(&format!("`{key}`")) => format!("`{key}`: {}", e.message()),
                _ => e.message().to_string(),
            };
            BadInput::in_file(path, problem).at_line(line)
        })?;
        let bad = |problem: String| {
            let key = problem.split('`').nth(1).unwrap_or("").to_string();
            let line = find_key_line(&text, &key);
            BadInput::in_file(path, problem).at_line(line)
        };

        file.limits.validate().map_err(bad)?;
        if file.summary.trim().is_empty() {
            return Err(bad("`summary` is empty".into()));
        }
        // An injected signal is the scenario's fault, and nothing else is
        // one: each says the other.
        match (&file.inject, file.injects) {
            (Some(i), FaultClass::ExternalSignal) => {
                if matches!(i.signal.0, libc::SIGSTOP | libc::SIGCONT | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
                    return Err(bad(format!("`inject.signal` = {}: a job-control signal stops or resumes the guest; nothing would observe it", i.signal)));
                }
            }
            (Some(_), other) => return Err(bad(format!("`injects` = \"{other}\" with an `[inject]` table: a scenario that injects a signal injects \"external_signal\""))),
            (None, FaultClass::ExternalSignal) => {
                return Err(bad("`injects` = \"external_signal\" without `[inject]`: name the signal to send (`[inject] signal = \"SIGTERM\"`)".into()))
            }
            (None, _) => {}
        }
        if file.guest.is_empty() {
            return Err(bad(format!("`guest` is empty: name at least one `[guest.<language>]` ({})", Language::ALL.map(|l| l.name()).join(", "))));
        }
        for key in file.expect.keys() {
            if !file.guest.contains_key(key) {
                return Err(bad(format!("`expect.{key}` has no `[guest.{key}]`: expectations belong to a language's entry")));
            }
        }
        let mut scenarios = Vec::new();
        for (lang_key, spec) in &file.guest {
            let language = Language::from_name(lang_key).ok_or_else(|| {
                bad(format!(
                    "`guest.{lang_key}` names no language (known: {})",
                    Language::ALL.map(|l| l.name()).join(", ")
                ))
            })?;
            let expect_file = file.expect.get(lang_key).cloned().unwrap_or_default();
            scenarios.push(Self::load_language(path, &name, &file, language, spec, &expect_file, &bad)?);
        }
        scenarios.sort_by_key(|s| s.language);
        Ok(scenarios)
    }

    /// One language's scenario of a manifest.
    fn load_language(
        path: &Path,
        name: &str,
        file: &ManifestFile,
        language: Language,
        spec: &manifest::GuestSpec,
        expect_file: &BTreeMap<String, Expectation>,
        bad: &dyn Fn(String) -> BadInput,
    ) -> Result<Scenario, BadInput> {
        let l = language.name();
        let entry = spec.entry.clone();
        let prebuilt = language == Language::Prebuilt;
        if prebuilt != (spec.module.is_some() || spec.program.is_some()) {
            return Err(bad(if prebuilt {
                "`guest.prebuilt` names neither a `module` (a .wasm file) nor a `program` (a native executable)".into()
            } else {
                format!("`guest.{l}.module` and `program` name prebuilt artifacts, for `[guest.prebuilt]` only")
            }));
        }
        if !prebuilt && (spec.export.is_some() || !spec.args.is_empty()) {
            return Err(bad(format!("`guest.{l}.export` and `args` are for `[guest.prebuilt]` only")));
        }
        if prebuilt && !entry.is_empty() {
            return Err(bad("`guest.prebuilt.entry`: a prebuilt module names its function with `export` (default `_start`)".into()));
        }
        if !prebuilt && (entry.is_empty() || !entry.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')) {
            return Err(bad(format!("`guest.{l}.entry` = \"{entry}\" must be letters, digits and `_`")));
        }
        if spec.path.is_some() != (language == Language::Wat) {
            return Err(bad(format!("`guest.{l}.path` names a .wat file, for `[guest.wat]` only (and there it is required)")));
        }
        let mut initial_memory = None;
        let mut wat_module = None;
        let guest = match language {
            Language::Rust => {
                if faultbox_guests::entry(&entry).is_none() {
                    let known: Vec<_> = faultbox_guests::ENTRIES.iter().map(|e| e.name).collect();
                    return Err(bad(format!(
                        "`guest.rust.entry` = \"{entry}\" is not a guest function (known: {})",
                        known.join(", ")
                    )));
                }
                initial_memory = Some(wasm_module::initial_memory_bytes(crate::wasm::GUEST_WASM));
                Guest::Rust { entry }
            }
            Language::Wat => {
                let rel = spec.path.as_ref().expect("checked above");
                let wat_path = path.parent().unwrap_or(Path::new(".")).join(rel);
                let bytes = parse_wat(&wat_path)?;
                wasm_module::check_entry(&wat_path, &bytes, &format!("fb_{entry}"))?;
                if let Some(why) = crate::wasm::engine_refusal(&bytes) {
                    return Err(BadInput::in_file(&wat_path, format!("the module cannot run: {why}")));
                }
                initial_memory = Some(wasm_module::initial_memory_bytes(&bytes));
                wat_module = Some(std::sync::Arc::new(bytes));
                Guest::Wat { path: wat_path, entry }
            }
            // Its artifacts are built on first use; whether they offer the
            // entry is asked of them then.
            Language::Go | Language::C => Guest::Built { language, entry },
            Language::Prebuilt => {
                let dir = path.parent().unwrap_or(Path::new("."));
                let module = match &spec.module {
                    Some(rel) => {
                        let (m, bytes) = prebuilt::check_module(&dir.join(rel), spec.export.as_deref(), spec.args.clone())?;
                        initial_memory = Some(wasm_module::initial_memory_bytes(&bytes));
                        wat_module = Some(std::sync::Arc::new(bytes));
                        Some(m)
                    }
                    None if spec.export.is_some() => {
                        return Err(bad("`guest.prebuilt.export` names an export of a `module`, and there is none".into()));
                    }
                    None => None,
                };
                let program = match &spec.program {
                    // The signal goes once the guest reports progress, and a
                    // program faultbox did not build has no report channel.
                    Some(_) if file.inject.is_some() => {
                        return Err(bad("`[inject]` with a prebuilt `program`: the signal is sent once the guest reports progress, and a program faultbox did not build has no channel to report it".into()));
                    }
                    Some(rel) => Some(prebuilt::check_program(&dir.join(rel), spec.args.clone())?),
                    None => None,
                };
                Guest::Prebuilt { module, program }
            }
        };
        if let Some(initial) = initial_memory
            && file.limits.memory_bytes() < initial
        {
            return Err(bad(format!(
                "`limits.memory_mib` = {} is below the guest's initial memory ({:.2} MiB): no instance could start",
                file.limits.memory_mib,
                initial as f64 / (1 << 20) as f64
            )));
        }
        let descriptor = crate::language::descriptor(language);
        let no_native = match descriptor.native {
            crate::language::NativeLauncher::None { why } => Some(why),
            _ => None,
        };
        let mut expect = BTreeMap::new();
        for (key, e) in expect_file {
            let model = ExecutionModel::from_name(key).ok_or_else(|| {
                bad(format!(
                    "`expect.{l}.{key}` names no execution model (known: {})",
                    ExecutionModel::ALL.map(|m| m.name()).join(", ")
                ))
            })?;
            if e.why.trim().is_empty() {
                return Err(bad(format!("`expect.{l}.{key}` needs a `why`: the mechanism behind the outcome")));
            }
            if e.fault.is_none() && e.verdict != Verdict::NotApplicable {
                return Err(bad(format!("`expect.{l}.{key}` needs a `fault` (the fault class observed)")));
            }
            // Rust's registry says which entries are native only; the
            // other languages' artifacts say it only once they are built.
            let wasm_entry = match language {
                Language::Rust => faultbox_guests::entry(&spec.entry).is_some_and(|e| !e.native_only),
                _ => !descriptor.native_only_entries,
            };
            if model.is_wasm() && e.verdict == Verdict::NotApplicable && wasm_entry {
                return Err(bad(format!("`expect.{l}.{key}` says n/a, but every {l} guest runs in the wasm models")));
            }
            if !model.is_wasm() && e.trap.is_some() {
                return Err(bad(format!("`expect.{l}.{key}` names a `trap`: only wasm models trap")));
            }
            if let Guest::Prebuilt { module, program } = &guest
                && (model.is_wasm() && module.is_none() || !model.is_wasm() && program.is_none())
            {
                let (what, key) = if model.is_wasm() { ("module", "module") } else { ("program", "program") };
                return Err(bad(format!("`expect.{l}.{model}`: `[guest.prebuilt]` names no `{key}`, so no {what} runs in {model}; leave it out")));
            }
            if !model.is_wasm() && no_native.is_some() {
                return Err(bad(format!("`expect.{l}.native`: a {l} guest never runs natively; leave it out")));
            }
            if !model.is_wasm() && e.verdict == Verdict::NotApplicable {
                return Err(bad(format!("`expect.{l}.native` says n/a, but a {l} guest always runs natively")));
            }
            expect.insert(model, e.clone());
        }
        // A new scenario is run before its expectations are written: with
        // no [expect.<language>.*] at all it loads, every outcome is
        // reported as not yet expected, and `run` prints what it observed.
        let unwritten = expect_file.is_empty();
        for model in ExecutionModel::ALL {
            if let Some(gap) = prebuilt_gap(&guest, model) {
                expect.insert(
                    model,
                    Expectation { verdict: Verdict::NotApplicable, fault: None, trap: None, signal: None, reuse: None, why: gap, unwritten: false },
                );
            }
        }
        if let Some(why) = no_native {
            expect.insert(
                ExecutionModel::Native,
                Expectation { verdict: Verdict::NotApplicable, fault: None, trap: None, signal: None, reuse: None, why: why.to_string(), unwritten: false },
            );
        }
        if unwritten {
            for model in ExecutionModel::ALL {
                expect.entry(model).or_insert_with(Expectation::unwritten);
            }
        }
        for model in [ExecutionModel::DEFAULT_WASM, ExecutionModel::Native] {
            if !expect.contains_key(&model) {
                return Err(bad(format!("`expect.{l}.{model}` is missing: every scenario states what it expects of wasm and native")));
            }
        }
        // A configuration without an entry of its own takes its engine
        // family's first configuration's (`v8-explicit` takes `v8`'s), and
        // failing that `wasm`'s: an override is written once per engine.
        let wasm = expect[&ExecutionModel::DEFAULT_WASM].clone();
        let written = expect.clone();
        for model in ExecutionModel::ALL {
            let head = model.wasm_engine().and_then(|e| crate::model::EngineConfig::of_family(e.family()).next()).map(ExecutionModel::from);
            let inherited = head.and_then(|h| written.get(&h)).unwrap_or(&wasm).clone();
            expect.entry(model).or_insert(inherited);
        }
        Ok(Scenario {
            name: name.to_string(),
            language,
            manifest: path.to_path_buf(),
            summary: file.summary.clone(),
            description: file.description.clone(),
            about: spec.about.clone(),
            category: file.category,
            injects: file.injects,
            guest,
            arg: spec.arg,
            limits: file.limits.clone(),
            inject: file.inject.as_ref().map(|i| i.signal),
            expect,
            wat_module,
            one_off: false,
        })
    }
}

/// Why `model` cannot run a prebuilt guest: it names no artifact for it.
fn prebuilt_gap(guest: &Guest, model: ExecutionModel) -> Option<String> {
    let Guest::Prebuilt { module, program } = guest else { return None };
    if model.is_wasm() && module.is_none() {
        Some("no wasm module was given (only a native program)".into())
    } else if !model.is_wasm() && program.is_none() {
        Some("no native program was given (only a wasm module)".into())
    } else {
        None
    }
}

/// `[[expect.wasm]]` (an array of tables) where `[expect.wasm]` is meant:
/// said as such, where serde would only say it wanted one element.
fn expect_array(path: &Path, text: &str) -> Option<BadInput> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let expect = table.get("expect")?.as_table()?;
    let model = expect.iter().find_map(|(lang, v)| match v {
        toml::Value::Array(_) => Some(lang.clone()),
        toml::Value::Table(t) => t.iter().find(|(_, v)| v.is_array()).map(|(m, _)| format!("{lang}.{m}")),
        _ => None,
    })?;
    let line = text.lines().position(|l| l.trim_start().starts_with(&format!("[[expect.{model}]]"))).map(|i| i + 1);
    Some(
        BadInput::in_file(path, format!("`[[expect.{model}]]` is an array of tables; write `[expect.{model}]`: one expectation per language and model"))
            .at_line(line),
    )
}

/// The dotted key whose value sits at byte `offset` (`limits.timeout_ms`),
/// read off the line and the nearest table header above it.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = before[..line_start]
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')).map(str::to_string));
    Some(match table {
        Some(t) => format!("{}.{key}", t.trim_matches('"')),
        None => key.to_string(),
    })
}

/// Line of `key` (dotted: `expect.rust.native`, `guest.go.entry`) as a
/// table header or as a key inside its table; keys of other languages'
/// tables with the same last part do not count.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    let key = key.trim_matches('.');
    if key.is_empty() {
        return None;
    }
    let header = |l: &str| l.trim().strip_prefix('[').map(|h| h.trim_start_matches('[').trim_end_matches(']').trim().to_string());
    let mut table = String::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(h) = header(line) {
            table = h;
            if table == key {
                return Some(i + 1);
            }
            continue;
        }
        if let Some((k, _)) = line.split_once('=') {
            let k = k.trim();
            let full = if table.is_empty() { k.to_string() } else { format!("{table}.{k}") };
            if full == key {
                return Some(i + 1);
            }
        }
    }
    // A table named only through its subtables (`[expect.go.wasm]` for
    // `expect.go`): the first of them.
    let sub = format!("{key}.");
    if let Some(i) = text.lines().position(|l| header(l).is_some_and(|h| h.starts_with(&sub))) {
        return Some(i + 1);
    }
    // A key the text spells another way (inline tables, dotted keys): the
    // table it belongs to, else nothing rather than a wrong line.
    let parent = key.rsplit_once('.').map(|(p, _)| p)?;
    find_key_line(text, parent)
}

/// Every scenario in a directory, in catalog order (by category, then name).
#[derive(Clone, Debug)]
pub struct Catalog {
    pub dir: PathBuf,
    pub scenarios: Vec<Scenario>,
}

impl Catalog {
    /// The default catalog: `$FAULTBOX_SCENARIOS`, else `scenarios/` in the
    /// current directory, else the one in faultbox's source tree.
    pub fn default_dir() -> PathBuf {
        // Set but empty is as good as unset (`FAULTBOX_SCENARIOS= faultbox`).
        if let Some(dir) = std::env::var_os("FAULTBOX_SCENARIOS").filter(|d| !d.is_empty()) {
            return dir.into();
        }
        let here = PathBuf::from("scenarios");
        if here.is_dir() {
            return here;
        }
        // The source tree's catalog, named without `host/..`.
        let built = Path::new(env!("CARGO_MANIFEST_DIR"));
        built.parent().map_or_else(|| built.join("../scenarios"), |root| root.join("scenarios"))
    }

    /// Loads every `*.toml` in `dir`. The first bad manifest is the error.
    pub fn load(dir: &Path) -> Result<Catalog, BadInput> {
        let (catalog, mut broken) = Catalog::load_each(dir)?;
        if !broken.is_empty() {
            return Err(broken.remove(0));
        }
        Ok(catalog)
    }

    /// Loads every `*.toml` in `dir` that loads, and says what is wrong
    /// with each of the others: `list` shows the catalog even while one
    /// manifest is half-written.
    pub fn load_each(dir: &Path) -> Result<(Catalog, Vec<BadInput>), BadInput> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| BadInput::in_file(dir, format!("cannot read the scenario directory: {e}")))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(BadInput::in_file(dir, "no scenario manifests (*.toml) here"));
        }
        let (mut scenarios, mut broken) = (Vec::new(), Vec::new());
        for p in &paths {
            match Scenario::load(p) {
                Ok(s) => scenarios.extend(s),
                Err(e) => broken.push(e),
            }
        }
        scenarios.sort_by(|a, b| (a.category, &a.name, a.language).cmp(&(b.category, &b.name, b.language)));
        Ok((Catalog { dir: dir.to_path_buf(), scenarios }, broken))
    }

    /// The scenario called `name`, in each language it has (or that
    /// [`Catalog::restrict`] kept).
    pub fn get(&self, name: &str) -> Result<Vec<&Scenario>, BadInput> {
        let found: Vec<&Scenario> = self.scenarios.iter().filter(|s| s.name == name).collect();
        if found.is_empty() {
            return Err(BadInput::new(format!(
                "unknown scenario `{name}`: {} has no {name}.toml (see `faultbox list`)",
                self.dir.display()
            )));
        }
        Ok(found)
    }

    /// The scenarios whose name contains `filter` (all when empty).
    pub fn select(&self, filter: Option<&str>) -> Result<Vec<&Scenario>, BadInput> {
        let Some(f) = filter else { return Ok(self.scenarios.iter().collect()) };
        if let Ok(exact) = self.get(f) {
            return Ok(exact);
        }
        let found: Vec<_> = self.scenarios.iter().filter(|s| s.name.contains(f)).collect();
        if found.is_empty() {
            return Err(BadInput::new(format!(
                "--scenario `{f}` matched nothing: it keeps the scenarios whose name contains it, and no name in {} does (see `faultbox list`)",
                self.dir.display()
            )));
        }
        Ok(found)
    }

    /// Keeps the scenarios in `languages` only (`--language`), and gives
    /// every manifest without an entry in one of them a placeholder whose
    /// every model is `n/a`, saying so: asked for a language, the matrix
    /// shows where it has nothing.
    pub fn restrict(&mut self, languages: &[Language]) {
        let mut kept: Vec<Scenario> = Vec::new();
        let mut names: Vec<&str> = self.scenarios.iter().map(|s| s.name.as_str()).collect();
        names.dedup();
        for name in names {
            let of_name: Vec<&Scenario> = self.scenarios.iter().filter(|s| s.name == name).collect();
            for &language in languages {
                match of_name.iter().find(|s| s.language == language) {
                    Some(s) => kept.push((*s).clone()),
                    None => kept.push(Scenario::missing(of_name[0], language)),
                }
            }
        }
        self.scenarios = kept;
    }
}

impl Expectation {
    /// How `outcome` differs from this expectation, one line per field;
    /// empty when it matches.
    pub fn mismatches(&self, outcome: &Outcome) -> Vec<String> {
        if self.unwritten {
            return vec!["nothing expected yet: the manifest has no [expect.*]".into()];
        }
        let mut out = Vec::new();
        if outcome.verdict != self.verdict {
            out.push(format!("verdict: expected {}, observed {}", self.verdict, outcome.verdict));
        }
        if let Some(fault) = self.fault {
            if self.verdict != Verdict::NotApplicable && outcome.fault != fault {
                out.push(format!("fault: expected {fault}, observed {}", outcome.fault));
            }
        }
        if let Some(trap) = self.trap {
            match &outcome.ending {
                Ending::Trapped { trap: seen, .. } if *seen == trap => {}
                other => out.push(format!("trap: expected {trap}, observed {}", other.label())),
            }
        }
        if let Some(signal) = self.signal {
            match &outcome.ending {
                Ending::Signaled { signal: seen, .. } if *seen == signal => {}
                Ending::WorkerLost { signal: Some(seen), .. } if *seen == signal => {}
                other => out.push(format!("signal: expected {signal}, observed {}", other.label())),
            }
        }
        if let Some(reuse) = self.reuse {
            if outcome.containment.reuse != reuse {
                out.push(format!("reuse: expected {reuse}, observed {}", outcome.containment.reuse));
            }
        }
        out
    }
}
