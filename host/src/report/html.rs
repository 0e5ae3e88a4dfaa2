//! `--format html`: one self-contained page (no network): the matrix as a
//! colour-coded grid, details per cell, and the limits used.

use super::{Report, headline, limits_note};
use crate::outcome::{Outcome, Verdict};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The CSS class that colours a verdict (cells and legend alike).
fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "v-ok",
        Verdict::Recovered => "v-recovered",
        Verdict::Contained => "v-contained",
        Verdict::Failed => "v-failed",
        Verdict::Killed => "v-killed",
        Verdict::Crashed => "v-crashed",
        Verdict::Undetected => "v-undetected",
        Verdict::NotApplicable => "v-na",
    }
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fbfbfd; }
h1 { font-size: 22px; margin: 0 0 8px; }
ul.headline { margin: 8px 0 16px; padding-left: 20px; }
table.grid { border-collapse: separate; border-spacing: 3px; }
.grid th { text-align: left; font-weight: 600; padding: 4px 8px; background: #e8eaf0; }
.grid td { vertical-align: top; padding: 4px 8px; border-radius: 4px; min-width: 150px; }
.grid td.name { background: #eef0f5; font-family: ui-monospace, monospace; white-space: nowrap; }
.grid td.cat { background: #eef0f5; color: #555; }
.v-ok { background: #d8ead8; } .v-recovered { background: #8fd19e; } .v-contained { background: #d7e27a; }
.v-failed { background: #f2b8c6; } .v-killed { background: #f5b971; } .v-crashed { background: #ef8a80; } .v-undetected { background: #c7a4e8; }
.v-na { background: #e2e2e2; color: #777; }
.mismatch { outline: 2px dashed #b00020; }
.verdict { font-weight: 700; } .fact { font-family: ui-monospace, monospace; font-size: 12px; }
details { margin-top: 2px; } summary { cursor: pointer; font-size: 12px; color: #333; }
details div { font-size: 12px; max-width: 420px; white-space: normal; }
details ul { margin: 2px 0; padding-left: 16px; font-size: 12px; }
.legend span { display: inline-block; padding: 2px 8px; margin: 2px; border-radius: 4px; }
footer { margin-top: 16px; color: #555; font-size: 12px; }
"#;

fn cell(o: &Outcome, mismatches: &[String], why: &str, show_progress: bool) -> String {
    let c = &o.containment;
    let mut detail = String::new();
    detail.push_str(&format!("<div><b>fault class</b> {} · <b>ending</b> {}</div>", o.fault, esc(&o.ending.label())));
    detail.push_str(&format!(
        "<div><b>host survived</b> {} · <b>detected</b> {} · <b>classified</b> {} · <b>reuse</b> {}</div>",
        c.host_survived, c.detected, c.classified, c.reuse
    ));
    if !c.reuse_detail.is_empty() {
        detail.push_str("<ul>");
        for d in &c.reuse_detail {
            detail.push_str(&format!("<li>{}</li>", esc(d)));
        }
        detail.push_str("</ul>");
    }
    if let Some(us) = c.recovery_us {
        detail.push_str(&format!("<div><b>recovery</b> {us} µs</div>"));
    }
    if let Some(p) = o.progress {
        detail.push_str(&format!("<div><b>progress</b> {} ({} reports)</div>", p.last, p.reports));
    }
    if !o.evidence.is_empty() {
        detail.push_str("<div><b>evidence</b></div><ul>");
        for e in &o.evidence {
            detail.push_str(&format!("<li>{}</li>", esc(e)));
        }
        detail.push_str("</ul>");
    }
    detail.push_str(&format!("<div><b>why</b> {}</div>", esc(why)));
    detail.push_str(&format!("<div><b>limits</b> {}</div>", esc(&o.limits.summary())));
    if !mismatches.is_empty() {
        detail.push_str(&format!("<div><b>differs from the manifest:</b> {}</div>", esc(&mismatches.join("; "))));
    }
    let mark = if mismatches.is_empty() { "" } else { " mismatch" };
    format!(
        "<td class=\"{}{mark}\"><span class=\"verdict\">{}</span> <span class=\"fact\">{}{}</span><details><summary>details</summary>{detail}</details></td>",
        class(o.verdict),
        o.verdict,
        esc(&super::table::cell_fact(o)),
        match o.progress {
            Some(p) if show_progress => format!(" · depth {}", p.last),
            _ => String::new(),
        }
    )
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<title>faultbox: {} scenarios × {} models</title><style>{STYLE}</style></head><body>",
        report.scenarios.len(),
        report.models.len()
    ));
    out.push_str(&format!(
        "<h1>faultbox: which execution model survives a guest fault?</h1><p>{} scenarios × {} execution models, faultbox {}.</p>",
        report.scenarios.len(),
        report.models.len(),
        esc(&report.faultbox_version)
    ));
    out.push_str("<ul class=\"headline\">");
    for line in headline(report) {
        out.push_str(&format!("<li>{}</li>", esc(&line)));
    }
    out.push_str("</ul><div class=\"legend\">");
    for v in Verdict::ALL {
        out.push_str(&format!("<span class=\"{}\">{v}</span>", class(v)));
    }
    out.push_str("</div><table class=\"grid\"><thead><tr><th>scenario</th><th>category</th>");
    for m in &report.models {
        out.push_str(&format!("<th title=\"{}\">{}</th>", esc(&m.description), m.name));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &report.scenarios {
        out.push_str(&format!(
            "<tr><td class=\"name\" title=\"{}\">{}</td><td class=\"cat\">{}</td>",
            esc(&row.summary),
            esc(&row.name),
            esc(&row.category)
        ));
        for r in &row.outcomes {
            out.push_str(&cell(r, &r.mismatches, &r.why, row.category == "stack"));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out.push_str(&format!("<footer><p>Limits: {}.</p><p>Models: ", esc(&limits_note(report))));
    let models: Vec<String> = report.models.iter().map(|m| format!("<b>{}</b>: {}", m.name, esc(&m.description))).collect();
    out.push_str(&models.join("; "));
    out.push_str(".</p><p>A dashed outline marks an outcome that differs from its manifest.</p></footer></body></html>\n");
    out
}
