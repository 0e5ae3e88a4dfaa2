//! Where the wasm engines disagree: per scenario, each fact (verdict,
//! fault class, how the call ended, reuse, stack depth) on which the
//! configurations that ran it differ, with every configuration's value.
//! Decided here from the outcomes; each renderer writes it its own way.

use super::{Report, ScenarioResult};
use schemars::JsonSchema;
use serde::Serialize;

/// A fact the engines are compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    Verdict,
    FaultClass,
    /// The trap code, signal or other ending (`unreachable_code_reached`,
    /// `host error`, `= 5`).
    Ending,
    Reuse,
    /// The stack depth the guest reported, for stack scenarios.
    Depth,
}

impl Aspect {
    const ALL: [Aspect; 5] = [Aspect::Verdict, Aspect::FaultClass, Aspect::Ending, Aspect::Reuse, Aspect::Depth];

    pub fn name(self) -> &'static str {
        match self {
            Aspect::Verdict => "verdict",
            Aspect::FaultClass => "fault class",
            Aspect::Ending => "ending",
            Aspect::Reuse => "reuse",
            Aspect::Depth => "depth",
        }
    }
}

/// One value of an aspect, and the configurations that observed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Observed {
    pub value: String,
    pub models: Vec<String>,
}

/// One aspect on which the configurations differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Difference {
    pub aspect: Aspect,
    /// Every value seen, in the order the models first show it.
    pub values: Vec<Observed>,
}

/// One scenario (in one language) on which the engines differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Disagreement {
    pub scenario: String,
    pub language: crate::model::Language,
    pub differences: Vec<Difference>,
}

/// Every row on which two wasm configurations that ran it differ. Rows
/// with fewer than two configurations that ran (n/a, skipped) say nothing.
pub fn of(rows: &[ScenarioResult]) -> Vec<Disagreement> {
    rows.iter().filter_map(row).collect()
}

fn row(r: &ScenarioResult) -> Option<Disagreement> {
    let ran: Vec<&super::ModelResult> = r.outcomes.iter().filter(|o| o.model.is_wasm() && !super::did_not_run(o.verdict)).collect();
    if ran.len() < 2 {
        return None;
    }
    let stack = r.category == "stack";
    let differences: Vec<Difference> = Aspect::ALL
        .into_iter()
        .filter_map(|aspect| {
            let mut values: Vec<Observed> = Vec::new();
            for o in &ran {
                let value = match aspect {
                    Aspect::Verdict => o.verdict.name().to_string(),
                    Aspect::FaultClass => o.fault.name().to_string(),
                    Aspect::Ending => super::table::cell_fact(o),
                    Aspect::Reuse => o.containment.reuse.name().to_string(),
                    Aspect::Depth if stack => o.progress.map_or_else(|| "none reported".to_string(), |p| p.last.to_string()),
                    Aspect::Depth => return None,
                };
                match values.iter_mut().find(|v| v.value == value) {
                    Some(v) => v.models.push(o.model.name().to_string()),
                    None => values.push(Observed { value, models: vec![o.model.name().to_string()] }),
                }
            }
            (values.len() > 1).then_some(Difference { aspect, values })
        })
        .collect();
    (!differences.is_empty()).then(|| Disagreement { scenario: r.name.clone(), language: r.language, differences })
}

/// The models of one value, a whole family by its name: `wasmtime`
/// when all its configurations in the report agree, else each by name.
fn models_text(models: &[String], report: &Report) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for m in models {
        if done.contains(&m.as_str()) {
            continue;
        }
        let family = report.models.iter().find(|i| i.name.name() == m).and_then(|i| i.engine.as_ref()).map(|e| e.family);
        let of_family: Vec<&str> = report
            .models
            .iter()
            .filter(|i| family.is_some() && i.engine.as_ref().map(|e| e.family) == family)
            .map(|i| i.name.name())
            .collect();
        if of_family.len() > 1 && of_family.iter().all(|f| models.iter().any(|m| m == f)) {
            out.push(family.map(|f| f.name()).unwrap_or_default().to_string());
            done.extend(of_family);
        } else {
            out.push(m.clone());
            done.push(m);
        }
    }
    out.join(", ")
}

/// `verdict: recovered (wasmtime, wasmi) / contained (v8)`.
pub fn difference_text(d: &Difference, report: &Report) -> String {
    let values: Vec<String> = d.values.iter().map(|v| format!("{} ({})", v.value, models_text(&v.models, report))).collect();
    format!("{}: {}", d.aspect.name(), values.join(" / "))
}

/// The terminal's section: a heading and one line per scenario.
pub fn lines(report: &Report) -> Vec<String> {
    if report.disagreements.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "where the wasm engines disagree ({}):",
        super::table::count(report.disagreements.len(), "scenario")
    )];
    for d in &report.disagreements {
        let facts: Vec<String> = d.differences.iter().map(|x| difference_text(x, report)).collect();
        out.push(format!("- {} [{}]: {}", d.scenario, d.language, facts.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExecutionModel, Language};
    use crate::outcome::{Ending, FaultClass, Outcome, Reuse, Verdict};

    fn result(model: &str, verdict: Verdict, reuse: Reuse) -> super::super::ModelResult {
        let trapped = Ending::Trapped { trap: crate::outcome::TrapCode::UnreachableCodeReached, message: String::new(), frames: vec![] };
        let outcome = Outcome::for_test("s", Language::Rust, ExecutionModel::from_name(model).unwrap(), verdict, FaultClass::Abort, trapped, reuse);
        super::super::ModelResult { outcome, mismatches: vec![], why: String::new() }
    }

    fn row(outcomes: Vec<super::super::ModelResult>) -> ScenarioResult {
        ScenarioResult {
            name: "s".into(),
            language: Language::Rust,
            category: "abort".into(),
            injects: FaultClass::Abort,
            summary: String::new(),
            description: String::new(),
            outcomes,
        }
    }

    fn values(d: &Difference) -> Vec<(&str, Vec<&str>)> {
        d.values.iter().map(|v| (v.value.as_str(), v.models.iter().map(String::as_str).collect())).collect()
    }

    /// Engines that agree say nothing, native is no engine, n/a says
    /// nothing; a configuration that differs is listed beside the others,
    /// on the aspects that differ only.
    #[test]
    fn only_differing_aspects_of_engines_that_ran_are_listed() {
        use Reuse::*;
        use Verdict::*;
        let agree = row(vec![result("wasm", Recovered, Reusable), result("wasmi", Recovered, Reusable), result("native", Crashed, Lost)]);
        assert!(of(&[agree]).is_empty());
        let na = row(vec![result("wasm", Recovered, Reusable), result("wasmi", NotApplicable, NotChecked)]);
        assert!(of(&[na]).is_empty(), "one engine that ran has no one to disagree with");
        let differ = row(vec![result("wasm", Recovered, Reusable), result("wasm-pulley", Contained, Unusable), result("wasmi", Recovered, Reusable)]);
        let d = of(&[differ]);
        assert_eq!(d.len(), 1);
        let aspects: Vec<Aspect> = d[0].differences.iter().map(|x| x.aspect).collect();
        assert_eq!(aspects, vec![Aspect::Verdict, Aspect::Reuse]);
        assert_eq!(values(&d[0].differences[0]), vec![("recovered", vec!["wasm", "wasmi"]), ("contained", vec!["wasm-pulley"])]);
    }
}
