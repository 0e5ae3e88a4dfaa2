//! The seed's remedy, as observed: the article's third claim is that a Go
//! program cannot `recover` from a fault in cgo code. The same C code
//! compiled to wasm and run by wazero inside a Go program is a call into
//! an engine, not into C: what comes back to the Go host, whether the
//! host lives on, and whether the instance can be called again are read
//! from the C guest's outcomes in wazero. Nothing here is written in
//! advance; a scenario that did not run says so.

use crate::model::{ExecutionModel, Language};
use crate::outcome::{Ending, Outcome, Reuse, Verdict};
use schemars::JsonSchema;
use serde::Serialize;

/// The C scenarios that stand for claim 3's cgo faults (`cgo_null_write`,
/// `cgo_abort`), in the C guest.
pub const SCENARIOS: [&str; 2] = crate::commands::compare::REMEDY_SCENARIOS;

/// What a Go host saw of one C fault run by one wazero configuration.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RemedyRow {
    pub scenario: String,
    pub model: ExecutionModel,
    pub verdict: Verdict,
    /// What came back to the Go host from the call, in a few words.
    pub came_back: String,
    /// Whether the fault was noticed at all (a NULL store into linear
    /// memory is not).
    pub detected: bool,
    /// The Go host process (the adapter) lived on.
    pub host_alive: bool,
    /// Whether the same instance could be called again, as the health
    /// check found.
    pub called_again: String,
}

/// Whether `o` is one of the remedy's runs.
pub fn wanted(o: &Outcome) -> bool {
    o.language == Language::C
        && SCENARIOS.contains(&o.scenario.as_str())
        && o.model.wasm_engine().is_some_and(|e| e.family() == crate::registry::EngineFamily::Wazero)
}

/// The remedy's rows from whatever outcomes hold them, in the order of
/// [`SCENARIOS`], then of the models.
pub fn rows<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Vec<RemedyRow> {
    let mut rows: Vec<RemedyRow> = outcomes.into_iter().filter(|o| wanted(o)).map(row).collect();
    rows.sort_by_key(|r| (SCENARIOS.iter().position(|n| *n == r.scenario), r.model));
    rows
}

fn row(o: &Outcome) -> RemedyRow {
    let first_line = |m: &str| m.lines().next().unwrap_or_default().to_string();
    let came_back = match &o.ending {
        Ending::Trapped { trap, message, .. } => format!("an error ({trap}: {})", first_line(message)),
        Ending::Completed { value } if o.verdict == Verdict::Undetected => {
            format!("nothing: the call returned {value}, and the fault went undetected in linear memory")
        }
        Ending::Completed { value } => format!("a value ({value})"),
        Ending::HostError { message } | Ending::HostPanic { message } => format!("an error ({})", first_line(message)),
        Ending::Exited { code } => format!("an exit error (proc_exit({code}))"),
        Ending::NotApplicable { why } | Ending::Skipped { why } => format!("not run: {why}"),
        other => other.label(),
    };
    if super::did_not_run(o.verdict) {
        let why = match &o.ending {
            Ending::NotApplicable { why } | Ending::Skipped { why } => why.clone(),
            other => other.label(),
        };
        return RemedyRow {
            scenario: o.scenario.clone(),
            model: o.model,
            verdict: o.verdict,
            came_back: format!("not run: {why}"),
            detected: false,
            host_alive: true,
            called_again: "not run".into(),
        };
    }
    let called_again = match o.containment.reuse {
        Reuse::Reusable => "yes: the same instance passed its health check",
        Reuse::ReusableStateChanged => "yes: it passed its health check, with the fault's writes left in its memory",
        Reuse::Unusable => "no: the same instance failed its health check",
        Reuse::Lost => "no: the host process is gone",
        Reuse::NotChecked => "not checked",
    };
    RemedyRow {
        scenario: o.scenario.clone(),
        model: o.model,
        verdict: o.verdict,
        came_back,
        detected: o.containment.detected,
        host_alive: o.containment.host_survived,
        called_again: called_again.to_string(),
    }
}

const INTRO: &str = "Beside claim 3: the same C faults compiled to wasm and run by wazero, a pure-Go engine, inside a Go program (faultbox's wazero adapter) instead of through cgo.";

/// One sentence per row, markdown-style.
pub fn sentences(rows: &[RemedyRow]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            if super::did_not_run(r.verdict) {
                return format!("`{}` (C) in {}: {}.", r.scenario, r.model, r.came_back);
            }
            format!(
                "`{}` (C) in {}: the Go host got {}; the Go host {}; called again: {}.",
                r.scenario,
                r.model,
                r.came_back,
                if r.host_alive { "stayed alive" } else { "**died**" },
                r.called_again
            )
        })
        .collect()
}

/// The markdown section, or nothing without rows.
pub fn markdown(rows: &[RemedyRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!("#### The remedy: C through wazero\n\n{INTRO}\n\n");
    for s in sentences(rows) {
        out.push_str(&format!("- {}\n", s.replace('|', "\\|")));
    }
    out.push('\n');
    out
}

/// The terminal's lines, or none without rows.
pub fn lines(rows: &[RemedyRow]) -> Vec<String> {
    if rows.is_empty() {
        return Vec::new();
    }
    std::iter::once(format!("the remedy for claim 3 — {}", INTRO.trim_start_matches("Beside claim 3: ")))
        .chain(sentences(rows).into_iter().map(|s| format!("- {}", s.replace('`', "").replace("**", ""))))
        .collect()
}

/// The html section, or nothing without rows.
pub fn html(rows: &[RemedyRow], inline: impl Fn(&str) -> String) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let items: String = sentences(rows).iter().map(|s| format!("<li>{}</li>", inline(s))).collect();
    format!("<h3>The remedy: C through wazero</h3><p>{}</p><ul class=\"claims\">{items}</ul>", inline(INTRO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::FaultClass;

    fn outcome(name: &str, model: &str, verdict: Verdict, ending: Ending, reuse: Reuse) -> Outcome {
        Outcome::for_test(name, Language::C, ExecutionModel::from_name(model).unwrap(), verdict, FaultClass::None, ending, reuse)
    }

    /// A NULL store that returned says nothing came back; a trap is an
    /// error; only wazero's runs of the two C scenarios count.
    #[test]
    fn rows_say_what_came_back() {
        let null = outcome("null_write", "wazero", Verdict::Undetected, Ending::Completed { value: 7 }, Reuse::ReusableStateChanged);
        let abort = outcome(
            "explicit_abort",
            "wazero-interp",
            Verdict::Recovered,
            Ending::Trapped { trap: crate::outcome::TrapCode::UnreachableCodeReached, message: "wasm error: unreachable\nmore".into(), frames: vec![] },
            Reuse::Reusable,
        );
        let other = outcome("null_write", "wasm", Verdict::Undetected, Ending::Completed { value: 7 }, Reuse::Reusable);
        let rows = rows([&null, &abort, &other]);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].came_back.starts_with("nothing") && !rows[0].detected, "{:?}", rows[0]);
        assert_eq!(rows[1].came_back, "an error (unreachable_code_reached: wasm error: unreachable)");
        assert!(sentences(&rows)[1].contains("stayed alive"));
    }
}
