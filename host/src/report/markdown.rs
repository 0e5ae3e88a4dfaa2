//! `--format markdown`: a table ready for a README or an article, under a
//! headline summary.

use super::{Report, ScenarioResult, headline};
use crate::outcome::Outcome;

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
    out.push_str(&format!(
        "## faultbox: {} scenarios × {} execution models\n\n",
        report.scenarios.len(),
        report.models.len()
    ));
    for line in headline(report) {
        out.push_str(&format!("- {line}\n"));
    }
    out.push('\n');
    out.push_str("| scenario | category |");
    for m in &report.models {
        out.push_str(&format!(" {} |", m.name));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(report.models.len()));
    out.push('\n');
    for row in &report.scenarios {
        out.push_str(&format!("| `{}` | {} |", row.name, row.category));
        for o in &row.outcomes {
            out.push_str(&format!(" {} |", cell(o, row)));
        }
        out.push('\n');
    }
    out.push_str("\nModels: ");
    let models: Vec<String> = report.models.iter().map(|m| format!("`{}` = {}", m.name, m.description)).collect();
    out.push_str(&models.join("; "));
    out.push_str(".\n\nVerdicts: **ok** completed, no fault; **recovered** fault detected, host alive, same context still works; \
**contained** host alive, context unusable; **killed** stopped from outside at its deadline; **crashed** the hosting process died; \
**undetected** the fault went unnoticed; **n/a** the model cannot run it.\n");
    out.push_str(&format!("\nLimits: {}.\n", super::limits_note(report)));
    if let Some(stability) = &report.stability {
        out.push_str(&format!("\n{}", stability.text()));
    }
    out
}
