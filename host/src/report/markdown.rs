//! `--format markdown`: a table ready for a README or an article, under a
//! headline summary.

use super::{Report, ScenarioResult, headline};
use crate::outcome::{Outcome, Verdict};

/// Null in linear memory is an address like any other; null in WasmGC is a
/// reference with nothing behind it. The scenarios whose outcomes say so.
const LINEAR_NULLS: [&str; 2] = ["null_read", "null_write"];
const GC_NULL: &str = "gc_null_struct_get";

/// One line per wasm model that ran both kinds of null: what each did, as
/// observed (nothing is claimed for a scenario the report does not hold).
fn null_contrast(report: &Report) -> Vec<String> {
    // Rust's nulls beside the GC null: the contrast is between the two
    // kinds of wasm null, not between languages.
    let row = |name: &str| report.scenarios.iter().find(|r| r.name == name);
    let rust = |name: &str| report.scenarios.iter().find(|r| r.name == name && r.language == crate::model::Language::Rust);
    let Some(gc) = row(GC_NULL) else { return Vec::new() };
    let linear: Vec<&ScenarioResult> = LINEAR_NULLS.iter().filter_map(|n| rust(n)).collect();
    if linear.is_empty() {
        return Vec::new();
    }
    // Models that saw the same are said once: usually one line for all.
    let mut lines: Vec<(Vec<String>, String)> = Vec::new();
    for (i, m) in report.models.iter().enumerate() {
        let gc_outcome = &gc.outcomes[i];
        if !m.name.is_wasm() || super::did_not_run(gc_outcome.verdict) {
            continue;
        }
        let said = |o: &Outcome| format!("{} ({})", o.verdict, super::table::cell_fact(o));
        let linear_said: Vec<String> = linear.iter().map(|r| format!("`{}` {}", r.name, said(&r.outcomes[i]))).collect();
        let text = format!(
            "null in linear memory: {}; a null GC reference: `{GC_NULL}` {}",
            linear_said.join(", "),
            said(gc_outcome)
        );
        match lines.iter_mut().find(|(_, t)| *t == text) {
            Some((models, _)) => models.push(m.name.to_string()),
            None => lines.push((vec![m.name.to_string()], text)),
        }
    }
    lines.into_iter().map(|(models, text)| format!("{}: {text}", models.join(", "))).collect()
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn cell(o: &Outcome, row: &ScenarioResult) -> String {
    let mut c = format!("**{}** {}", o.verdict, escape(&super::table::cell_fact(o)));
    if row.category == "stack" {
        if let Some(p) = o.progress {
            c.push_str(&format!(" (depth {})", p.last));
        }
    }
    c
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("## faultbox: {}\n\n", super::table::extent(report)));
    out.push_str(&super::article::markdown(report));
    for line in headline(report).into_iter().chain(null_contrast(report)) {
        out.push_str(&format!("- {line}\n"));
    }
    out.push('\n');
    // One column per engine family: its configurations share the cell
    // where they agree, else each says its own.
    let columns = super::table::columns(report, true);
    out.push_str("| scenario | language | category |");
    for (_, header) in &columns {
        out.push_str(&format!(" {header} |"));
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for row in &report.scenarios {
        out.push_str(&format!("| `{}` | {} | {} |", row.name, row.language, row.category));
        for (col, _) in &columns {
            let cells: Vec<String> = col.iter().map(|&i| cell(&row.outcomes[i], row)).collect();
            if cells.iter().all(|c| *c == cells[0]) {
                out.push_str(&format!(" {} |", cells[0]));
            } else {
                let each: Vec<String> = col.iter().zip(&cells).map(|(&i, c)| format!("{}: {c}", report.models[i].name)).collect();
                out.push_str(&format!(" {} |", each.join("<br>")));
            }
        }
        out.push('\n');
    }
    if !report.disagreements.is_empty() {
        out.push_str(&format!(
            "\n### Where the wasm engines disagree\n\n{} on which the engine configurations that ran them differ.\n\n| scenario | language | what differs |\n|---|---|---|\n",
            super::table::count(report.disagreements.len(), "scenario")
        ));
        for d in &report.disagreements {
            let facts: Vec<String> = d.differences.iter().map(|x| escape(&super::disagreement::difference_text(x, report))).collect();
            out.push_str(&format!("| `{}` | {} | {} |\n", d.scenario, d.language, facts.join("<br>")));
        }
    }
    out.push_str("\nModels: ");
    let models: Vec<String> = report.models.iter().map(|m| format!("`{}` = {}", m.name, m.description)).collect();
    out.push_str(&models.join("; "));
    out.push_str(".\n\nVerdicts: ");
    let legend: Vec<String> = Verdict::ALL.iter().map(|v| format!("**{v}** {}", super::verdict_meaning(*v))).collect();
    out.push_str(&legend.join("; "));
    out.push_str(".\n");
    out.push_str(&format!("\nLimits: {}.\n", super::limits_note(report)));
    if !report.wasm_profile.is_empty() {
        out.push_str(&format!("\nWebAssembly features: {}.\n", escape(&report.wasm_profile.join("; "))));
    }
    if let Some(stability) = &report.stability {
        out.push_str(&format!("\n{}", stability.text()));
    }
    out
}
