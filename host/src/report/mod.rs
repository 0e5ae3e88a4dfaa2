//! Reports: the comparison as data ([`Report`]) and its renderings. The
//! reporter knows outcomes and scenarios, never an engine.

pub mod bench;
pub mod fuzz;
pub mod soak;
pub mod wast;
pub mod article;
mod detail;
pub mod disagreement;
pub mod remedy;
mod html;
mod markdown;
mod table;
pub mod term;

pub use detail::{expect_block, explain, run_detail};
pub use table::{catalog_table, comparison_table};
pub use term::Layout;

use crate::model::{ExecutionModel, Language};
use crate::outcome::{FaultClass, Outcome, Verdict};
use crate::scenario::Scenario;
use schemars::JsonSchema;
use serde::Serialize;

/// The shape of the JSON report. It changes when a field is removed,
/// renamed or changes meaning (added fields keep it). 2: outcomes and
/// summaries keyed by model name, output tails capped.
pub const SCHEMA_VERSION: u32 = 2;

/// How much of a run's output tail the report keeps; `faultbox run`
/// shows all the worker kept.
const REPORT_TAIL_BYTES: usize = 2048;

/// The whole comparison, as `--format json` prints it. Its JSON Schema is
/// `schema/report.schema.json`, generated from these types.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Report {
    /// The shape of this document: [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// faultbox's version.
    pub faultbox_version: String,
    /// The execution models compared, in column order.
    pub models: Vec<ModelInfo>,
    /// The WebAssembly feature profile the wasm engines ran ("2.0", "3.0"),
    /// and per wasm model what it enabled.
    pub wasm_features: String,
    pub wasm_profile: Vec<String>,
    /// One entry per scenario, in catalog order.
    pub scenarios: Vec<ScenarioResult>,
    /// Counts across all scenarios.
    pub summary: Summary,
    /// With `--repeat`: whether every pair was classified the same way in
    /// every run.
    pub stability: Option<Stability>,
    /// The scenarios on which the wasm engine configurations that ran them
    /// differ, and how.
    pub disagreements: Vec<disagreement::Disagreement>,
    /// Beside the article's claim 3, with Go in the report: the C guest's
    /// faults in wazero, as a Go host sees them.
    pub remedy: Vec<remedy::RemedyRow>,
}

/// The result of running the catalog several times.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Stability {
    pub runs: usize,
    pub pairs: usize,
    /// Pairs classified differently across runs: classification → count.
    pub flaky: Vec<FlakyPair>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct FlakyPair {
    pub scenario: String,
    pub language: Language,
    pub model: ExecutionModel,
    pub classifications: std::collections::BTreeMap<String, usize>,
}

impl Stability {
    /// `runs[i]` holds run i's outcomes, all in the same pair order.
    pub fn of(runs: &[Vec<Outcome>]) -> Stability {
        let pairs = runs.first().map_or(0, Vec::len);
        let flaky = (0..pairs)
            .filter_map(|i| {
                let mut seen = std::collections::BTreeMap::new();
                for run in runs {
                    *seen.entry(run[i].classification()).or_insert(0) += 1;
                }
                (seen.len() > 1).then(|| FlakyPair {
                    scenario: runs[0][i].scenario.clone(),
                    language: runs[0][i].language,
                    model: runs[0][i].model,
                    classifications: seen,
                })
            })
            .collect();
        Stability { runs: runs.len(), pairs, flaky }
    }

    /// The summary in lines of at most 80 columns, as the table beside it.
    pub fn text(&self) -> String {
        let mut lines = Vec::new();
        if self.flaky.is_empty() {
            lines.push(format!(
                "repeat: {} runs × {} (scenario, language, model) triples: every one was classified the same way every time",
                self.runs, self.pairs
            ));
        } else {
            lines.push(format!("repeat: {} runs × {} (scenario, language, model) triples: {} FLAKY:", self.runs, self.pairs, self.flaky.len()));
            for f in &self.flaky {
                let seen: Vec<String> = f.classifications.iter().map(|(c, n)| format!("{n}× {c}")).collect();
                lines.push(format!("  {} [{}] / {}: {}", f.scenario, f.language, f.model, seen.join(", ")));
            }
        }
        let mut out = String::new();
        for line in lines {
            let indent = if line.starts_with("  ") { "    " } else { "  " };
            for (i, piece) in table::wrap(line.trim_start(), 80 - indent.len()).into_iter().enumerate() {
                let lead = match i {
                    0 if indent.len() == 4 => "  ",
                    0 => "",
                    _ => indent,
                };
                out.push_str(&format!("{lead}{piece}\n"));
            }
        }
        out
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ModelInfo {
    pub name: ExecutionModel,
    pub description: String,
    /// A wasm model's engine, from the registry; `None` for native.
    pub engine: Option<EngineInfo>,
}

/// A wasm engine configuration as the registry states it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct EngineInfo {
    pub family: crate::registry::EngineFamily,
    pub version: String,
    pub configuration: String,
    /// What it implements, as short words (`proposal:gc`, `wasi_p1`,
    /// `backtraces`, `interruption:epoch`, `signals_based_traps`).
    pub capabilities: Vec<String>,
    /// How its worker is started.
    pub start: String,
}

impl EngineInfo {
    pub fn of(model: ExecutionModel) -> Option<EngineInfo> {
        let row = model.wasm_engine()?.row();
        Some(EngineInfo {
            family: row.family,
            // What the worker said, where one ran: an installed runtime's
            // engine has no version faultbox pins.
            version: crate::worker::client::engine_seen(crate::worker::WorkerKind::Wasm(model.wasm_engine()?))
                .map_or_else(|| row.version.text().to_string(), |e| e.version),
            configuration: row.configuration.to_string(),
            capabilities: row.capabilities.words(),
            start: row.start.how().to_string(),
        })
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ScenarioResult {
    pub name: String,
    /// The guest's language: a scenario has one row per language it runs in.
    pub language: Language,
    pub category: String,
    /// The fault the guest commits.
    pub injects: FaultClass,
    pub summary: String,
    pub description: String,
    /// Per model, keyed by its name (in `models` order): the outcome, how
    /// it differs from the manifest, and why.
    #[serde(serialize_with = "by_model")]
    #[schemars(with = "std::collections::BTreeMap<String, ModelResult>")]
    pub outcomes: Vec<ModelResult>,
}

impl ScenarioResult {
    /// `name [language]`: how a row is named outside its table.
    pub fn label(&self) -> String {
        format!("{} [{}]", self.name, self.language)
    }
}

/// Whether an outcome says nothing of the model: it could not run the
/// scenario (`n/a`), or not on this machine (`skipped`).
pub fn did_not_run(v: Verdict) -> bool {
    matches!(v, Verdict::NotApplicable | Verdict::Skipped)
}

/// One model's outcome in a report row.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ModelResult {
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How the observed outcome differs from the manifest (empty: as expected).
    pub mismatches: Vec<String>,
    /// The manifest's explanation of the mechanism.
    pub why: String,
}

impl std::ops::Deref for ModelResult {
    type Target = Outcome;
    fn deref(&self) -> &Outcome {
        &self.outcome
    }
}

fn by_model<S: serde::Serializer>(results: &[ModelResult], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(results.iter().map(|r| (r.outcome.model.name(), r)))
}

fn summaries_by_model<S: serde::Serializer>(per_model: &[ModelSummary], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(per_model.iter().map(|m| (m.model.as_str(), m)))
}

fn summaries_by_language<S: serde::Serializer>(per_language: &[LanguageSummary], s: S) -> Result<S::Ok, S::Error> {
    struct ByModel<'a>(&'a [ModelSummary]);
    impl Serialize for ByModel<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            summaries_by_model(self.0, s)
        }
    }
    s.collect_map(per_language.iter().map(|l| (l.language.name(), ByModel(&l.per_model))))
}

/// The last `REPORT_TAIL_BYTES` of an output tail, saying what was cut.
fn capped(tail: String) -> String {
    if tail.len() <= REPORT_TAIL_BYTES {
        return tail;
    }
    let mut start = tail.len() - REPORT_TAIL_BYTES;
    while !tail.is_char_boundary(start) {
        start += 1;
    }
    format!("[{} earlier bytes cut; `faultbox run` shows more]\n{}", start, &tail[start..])
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct Summary {
    /// Per model, keyed by its name (in `models` order), over every
    /// language.
    #[serde(serialize_with = "summaries_by_model")]
    #[schemars(with = "std::collections::BTreeMap<String, ModelSummary>")]
    pub per_model: Vec<ModelSummary>,
    /// The same counts per language (keyed by its name, in the languages'
    /// order), then per model.
    #[serde(serialize_with = "summaries_by_language")]
    #[schemars(with = "std::collections::BTreeMap<String, std::collections::BTreeMap<String, ModelSummary>>")]
    pub per_language: Vec<LanguageSummary>,
    /// Outcomes that differ from their manifest.
    pub unexpected: usize,
}

/// One language's counts, per model.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct LanguageSummary {
    pub language: Language,
    #[serde(serialize_with = "summaries_by_model")]
    #[schemars(with = "std::collections::BTreeMap<String, ModelSummary>")]
    pub per_model: Vec<ModelSummary>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct ModelSummary {
    /// The model (the key it is listed under).
    #[serde(skip)]
    pub model: String,
    /// Scenarios run (not n/a, not skipped).
    pub ran: usize,
    /// Scenarios skipped: the language's toolchain is missing.
    pub skipped: usize,
    /// Verdict → count, over every scenario run.
    pub verdicts: std::collections::BTreeMap<String, usize>,
    /// Verdict → count, over the fault scenarios (the base of
    /// `host_survived`, `detected` and `classified`).
    pub fault_verdicts: std::collections::BTreeMap<String, usize>,
    /// Correct programs run (scenarios that inject no fault).
    pub correct: usize,
    /// Verdict → count, over the correct programs.
    pub correct_verdicts: std::collections::BTreeMap<String, usize>,
    /// Fault scenarios where the hosting process survived.
    pub host_survived: usize,
    /// Fault scenarios the model detected.
    pub detected: usize,
    /// Fault scenarios it named correctly.
    pub classified: usize,
    /// Fault scenarios (those that inject a fault).
    pub faults: usize,
    /// Scenarios whose fault went undetected, as `name [language]`.
    pub undetected: Vec<String>,
}

impl Report {
    /// Builds the report. `outcomes` holds, per scenario, one outcome per model.
    pub fn new(scenarios: &[&Scenario], models: &[ExecutionModel], outcomes: Vec<Outcome>) -> Report {
        let mut rows = Vec::new();
        let mut it = outcomes.into_iter();
        for s in scenarios {
            let outs: Vec<ModelResult> = it
                .by_ref()
                .take(models.len())
                .map(|mut o| {
                    let e = s.expectation(o.model);
                    let mismatches = s.mismatches(&o);
                    o.output_tail = o.output_tail.map(capped);
                    ModelResult { why: e.why.clone(), mismatches, outcome: o }
                })
                .collect();
            rows.push(ScenarioResult {
                name: s.name.clone(),
                language: s.language,
                category: s.category.name().to_string(),
                injects: s.injects,
                summary: s.summary.clone(),
                description: s.description.clone(),
                outcomes: outs,
            });
        }
        let summary = Summary::of(&rows, models);
        let disagreements = disagreement::of(&rows);
        Report {
            schema_version: SCHEMA_VERSION,
            faultbox_version: env!("CARGO_PKG_VERSION").to_string(),
            models: models.iter().map(|m| ModelInfo { name: *m, description: m.description().into(), engine: EngineInfo::of(*m) }).collect(),
            wasm_features: crate::wasm::WasmProfile::current().name().to_string(),
            wasm_profile: crate::wasm::profile_table(crate::wasm::WasmProfile::current(), models),
            scenarios: rows,
            summary,
            stability: None,
            disagreements,
            remedy: Vec::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    pub fn to_html(&self) -> String {
        html::render(self)
    }
}

/// The JSON Schema of [`Report`], as shipped in `schema/report.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Report);
    serde_json::to_string_pretty(&schema).expect("schemas serialize") + "\n"
}

/// What a verdict means, for the legends of every rendering.
pub fn verdict_meaning(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "no fault intended, none observed: the run completed",
        Verdict::Recovered => "the fault was detected, the host survived, and the same execution context still works",
        Verdict::Contained => "detected, host survived, but the execution context is unusable",
        Verdict::Failed => "a correct program the model could not run: no fault intended, yet the model stopped it with one",
        Verdict::Killed => "the run did not end by itself and was stopped from outside",
        Verdict::Crashed => "the hosting process died (the native child, or the wasm worker)",
        Verdict::Undetected => "the guest committed a fault and the model did not notice",
        Verdict::NotApplicable => "the model cannot run the scenario",
        Verdict::Skipped => "the model could run it, but the language's toolchain is not on this machine",
    }
}

/// The outcomes that differ from their manifest, as
/// `scenario [language] / model`.
pub fn mismatched(report: &Report) -> Vec<String> {
    report
        .scenarios
        .iter()
        .flat_map(|row| {
            row.outcomes.iter().filter(|r| !r.mismatches.is_empty()).map(move |r| format!("{} / {}", row.label(), r.model))
        })
        .collect()
}

impl Report {
    /// The languages of the report's rows, in the languages' order.
    pub fn languages(&self) -> Vec<Language> {
        Language::ALL.into_iter().filter(|l| self.scenarios.iter().any(|r| r.language == *l)).collect()
    }
}

/// The in-process recovery mechanism of `language`, as its descriptor
/// names it.
fn recovery_of(language: Language) -> &'static str {
    crate::language::descriptor(language).recovery
}

/// The headline summary, one sentence per line: what in-process recovery
/// caught, what each wasm host survived, what each model missed, what was
/// skipped. Counts are over the scenarios that commit a fault.
pub fn headline(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    let differ = mismatched(report);
    if !differ.is_empty() {
        lines.push(format!(
            "{} from {}: {}",
            if differ.len() == 1 { "1 outcome differs".to_string() } else { format!("{} outcomes differ", differ.len()) },
            if differ.len() == 1 { "its manifest" } else { "their manifests" },
            differ.join(", ")
        ));
    }
    for (i, m) in report.models.iter().enumerate() {
        let faults: Vec<&Outcome> = report
            .scenarios
            .iter()
            .filter(|row| row.injects != FaultClass::None)
            .map(|row| &row.outcomes[i].outcome)
            .filter(|o| !did_not_run(o.verdict))
            .collect();
        let count = |v: Verdict| faults.iter().filter(|o| o.verdict == v).count();
        let survived = faults.iter().filter(|o| o.containment.host_survived).count();
        if faults.is_empty() {
            // Nothing to say of recovery where no fault ran.
            continue;
        }
        if m.name.is_wasm() {
            lines.push(format!(
                "{}: the wasm host survived {survived} of {}; the same instance was still usable after {}",
                m.name,
                table::count(faults.len(), "fault"),
                count(Verdict::Recovered)
            ));
            continue;
        }
        let languages: Vec<Language> =
            Language::ALL.into_iter().filter(|l| faults.iter().any(|o| o.language == *l)).collect();
        let caught = if languages == [Language::Rust] {
            // One language: the sentence the Rust-only report always had.
            format!(
                "in-process recovery (catch_unwind, the analogue of Go's recover) caught {} of {}",
                count(Verdict::Recovered),
                table::count(faults.len(), "fault")
            )
        } else {
            let mechanisms: Vec<String> = languages.iter().map(|l| format!("{} in {l}", recovery_of(*l))).collect();
            let per: Vec<String> = languages
                .iter()
                .map(|l| {
                    let mine: Vec<&&Outcome> = faults.iter().filter(|o| o.language == *l).collect();
                    let recovered = mine.iter().filter(|o| o.verdict == Verdict::Recovered).count();
                    format!("{recovered} of {} {l} faults", mine.len())
                })
                .collect();
            let per = match per.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => per.join(""),
            };
            format!("in-process recovery ({}) caught {per}", mechanisms.join(", "))
        };
        lines.push(format!(
            "{}: {caught}; the process died in {} and was killed from outside in {}",
            m.name,
            count(Verdict::Crashed),
            count(Verdict::Killed)
        ));
    }
    for m in &report.summary.per_model {
        if !m.undetected.is_empty() {
            lines.push(format!("{} did not detect: {}", m.model, m.undetected.join(", ")));
        }
    }
    // What was skipped, once per reason (the reason names what to install).
    let mut skipped: Vec<(String, Vec<String>)> = Vec::new();
    for row in &report.scenarios {
        for r in &row.outcomes {
            if let crate::outcome::Ending::Skipped { why } = &r.ending {
                let key = format!("{} in {}", row.language, r.model);
                match skipped.iter_mut().find(|(w, _)| w == why) {
                    Some((_, keys)) => {
                        if !keys.contains(&key) {
                            keys.push(key)
                        }
                    }
                    None => skipped.push((why.clone(), vec![key])),
                }
            }
        }
    }
    for (why, keys) in skipped {
        lines.push(format!("skipped ({}): {why}", keys.join(", ")));
    }
    merge_models(report, lines)
}

/// Lines that say the same of several models, said once for all of them:
/// `wasm, wasmi: …` for `wasm: …` and `wasmi: …`.
fn merge_models(report: &Report, lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<(Vec<&str>, String, String)> = Vec::new();
    for line in lines {
        // The longest model name the line starts with, then ": " or " did not detect: ".
        let model = report.models.iter().map(|m| m.name.name()).filter(|n| {
            line.strip_prefix(n).is_some_and(|rest| rest.starts_with(": ") || rest.starts_with(" did not detect: "))
        });
        let Some(model) = model.max_by_key(|n| n.len()) else {
            out.push((Vec::new(), line, String::new()));
            continue;
        };
        let rest = line[model.len()..].to_string();
        match out.iter_mut().find(|(models, _, r)| !models.is_empty() && *r == rest) {
            Some((models, _, _)) => models.push(model),
            None => out.push((vec![model], String::new(), rest)),
        }
    }
    out.into_iter().map(|(models, line, rest)| if models.is_empty() { line } else { format!("{}{rest}", models.join(", ")) }).collect()
}

/// The limits the runs used: the defaults, and each scenario that overrides them.
pub fn limits_note(report: &Report) -> String {
    let default = crate::limits::Limits::default();
    let mut note = format!("default {}", default.summary());
    for row in &report.scenarios {
        if let Some(o) = row.outcomes.first() {
            if o.limits != default {
                note.push_str(&format!("; {}: {}", row.label(), o.limits.summary()));
            }
        }
    }
    note
}

/// Per model, the counts over `rows`.
fn tally<'a>(rows: impl Iterator<Item = &'a ScenarioResult>, models: &[ExecutionModel]) -> Vec<ModelSummary> {
    let mut per_model: Vec<ModelSummary> =
        models.iter().map(|m| ModelSummary { model: m.name().into(), ..Default::default() }).collect();
    for row in rows {
        for (i, o) in row.outcomes.iter().enumerate() {
            let m = &mut per_model[i];
            if o.verdict == Verdict::Skipped {
                m.skipped += 1;
            }
            if did_not_run(o.verdict) {
                continue;
            }
            m.ran += 1;
            *m.verdicts.entry(o.verdict.name().into()).or_default() += 1;
            if row.injects == FaultClass::None {
                m.correct += 1;
                *m.correct_verdicts.entry(o.verdict.name().into()).or_default() += 1;
            } else {
                m.faults += 1;
                *m.fault_verdicts.entry(o.verdict.name().into()).or_default() += 1;
                m.host_survived += o.containment.host_survived as usize;
                m.detected += o.containment.detected as usize;
                m.classified += o.containment.classified as usize;
                if o.verdict == Verdict::Undetected {
                    m.undetected.push(row.label());
                }
            }
        }
    }
    per_model
}

impl Summary {
    fn of(rows: &[ScenarioResult], models: &[ExecutionModel]) -> Summary {
        let unexpected = rows.iter().flat_map(|r| &r.outcomes).filter(|o| !o.mismatches.is_empty()).count();
        let per_language = Language::ALL
            .into_iter()
            .filter(|l| rows.iter().any(|r| r.language == *l))
            .map(|l| LanguageSummary { language: l, per_model: tally(rows.iter().filter(|r| r.language == l), models) })
            .collect();
        Summary { per_model: tally(rows.iter(), models), per_language, unexpected }
    }
}
