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
        Verdict::Skipped => "v-skipped",
    }
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fbfbfd; }
h1 { font-size: 22px; margin: 0 0 8px; }
ul.headline { margin: 8px 0 16px; padding-left: 20px; }
ul.headline li.differs { color: #b00020; font-weight: 600; }
table.grid { border-collapse: separate; border-spacing: 3px; table-layout: fixed; width: 100%; }
.grid thead th { position: sticky; top: 0; z-index: 2; text-align: left; font-weight: 600; padding: 4px 8px; background: #e8eaf0; box-shadow: 0 2px 0 #fbfbfd; }
.grid th.name { width: 13em; } .grid th.lang { width: 4em; } .grid th.cat { width: 7em; }
.grid td { vertical-align: top; padding: 4px 8px; border-radius: 4px; position: relative; overflow-wrap: anywhere; }
.grid td.name { background: #eef0f5; font-family: ui-monospace, monospace; font-size: 12px; }
.grid td.cat, .grid td.lang { background: #eef0f5; color: #555; }
section.article { margin: 8px 0 20px; padding: 8px 12px; border-left: 4px solid #4a6fa5; background: #f1f4fa; }
section.article h2 { font-size: 17px; margin: 4px 0 6px; }
table.article { border-collapse: collapse; margin: 8px 0; }
table.article th, table.article td { text-align: left; vertical-align: top; padding: 4px 10px; border-bottom: 1px solid #d5d9e3; }
table.article td.claim-fails { background: #ef8a80; } table.article td.claim-holds { background: #8fd19e; } table.article td.claim-partial { background: #f5d77a; } table.article td.claim-untested { background: #e2e2e2; }
ul.claims li { margin: 4px 0; }
.v-ok { background: #d8ead8; } .v-recovered { background: #8fd19e; } .v-contained { background: #d7e27a; }
.v-failed { background: #f2b8c6; } .v-killed { background: #f5b971; } .v-crashed { background: #ef8a80; } .v-undetected { background: #c7a4e8; }
.v-na { background: #e2e2e2; color: #777; }
.v-skipped { background: repeating-linear-gradient(135deg, #e2e2e2 0 6px, #f2f2f2 6px 12px); color: #777; font-style: italic; }
.mismatch { outline: 2px dashed #b00020; }
.verdict { font-weight: 700; } .fact { font-family: ui-monospace, monospace; font-size: 12px; }
details { margin-top: 2px; } summary { cursor: pointer; font-size: 12px; color: #333; }
/* Opened details float over the grid: the row keeps its height and the page its width. */
details > .more { position: absolute; z-index: 3; left: 0; top: 100%; width: min(420px, 80vw); max-height: 60vh; overflow: auto;
  background: #fff; border: 1px solid #c5c9d3; border-radius: 4px; padding: 6px 8px; box-shadow: 0 4px 14px rgba(0,0,0,.18); font-size: 12px; }
.grid td:last-child details > .more { left: auto; right: 0; }
details ul { margin: 2px 0; padding-left: 16px; }
dl.legend { display: grid; grid-template-columns: max-content 1fr; gap: 3px 10px; margin: 8px 0 16px; font-size: 13px; }
dl.legend dt { padding: 0 8px; border-radius: 4px; font-weight: 700; } dl.legend dd { margin: 0; }
.bars { display: grid; grid-template-columns: max-content 1fr; gap: 4px 10px; align-items: center; margin: 8px 0 16px; font-size: 13px; }
.bar { display: flex; height: 20px; border-radius: 4px; overflow: hidden; }
.bar span { display: block; height: 100%; font-size: 11px; line-height: 20px; text-align: center; overflow: hidden; white-space: nowrap; }
.filter { margin: 8px 0; font-size: 13px; }
/* "only rows where the models differ": pure CSS, no script. */
#differ:checked ~ table.grid tr.same { display: none; }
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
        "<td class=\"{}{mark}\"><span class=\"verdict\">{}</span> <span class=\"fact\">{}{}</span><details><summary>details</summary><div class=\"more\">{detail}</div></details></td>",
        class(o.verdict),
        o.verdict,
        esc(&super::table::cell_fact(o)),
        match o.progress {
            Some(p) if show_progress => format!(" · depth {}", p.last),
            _ => String::new(),
        }
    )
}

/// Per model, a bar of its verdicts: one segment per verdict, as wide as
/// its share of the scenarios.
fn summary_bars(report: &Report) -> String {
    let mut out = String::from("<div class=\"bars\">");
    for (i, m) in report.models.iter().enumerate() {
        let total = report.scenarios.len().max(1);
        out.push_str(&format!("<b>{}</b><div class=\"bar\">", m.name));
        for v in Verdict::ALL {
            let n = report.scenarios.iter().filter(|row| row.outcomes[i].verdict == v).count();
            if n > 0 {
                out.push_str(&format!(
                    "<span class=\"{}\" style=\"width:{:.2}%\" title=\"{n} {v}\">{n} {v}</span>",
                    class(v),
                    100.0 * n as f64 / total as f64
                ));
            }
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}

/// Where the engines disagree, one row per scenario.
fn disagreements(report: &Report) -> String {
    if report.disagreements.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<section class=\"disagree\"><h2>Where the wasm engines disagree</h2><p>{} on which the engine configurations that ran them differ in verdict, fault class, ending, reuse or stack depth.</p><table class=\"grid\"><thead><tr><th>scenario</th><th>language</th><th>what differs</th></tr></thead><tbody>",
        esc(&super::table::count(report.disagreements.len(), "scenario"))
    );
    for d in &report.disagreements {
        let facts: Vec<String> = d.differences.iter().map(|x| esc(&super::disagreement::difference_text(x, report))).collect();
        out.push_str(&format!("<tr><td class=\"name\">{}</td><td class=\"lang\">{}</td><td>{}</td></tr>", esc(&d.scenario), d.language, facts.join("<br>")));
    }
    out.push_str("</tbody></table></section>");
    out
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let extent = super::table::extent(report);
    out.push_str(&format!("<title>faultbox: {}</title><style>{STYLE}</style></head><body>", esc(&extent)));
    out.push_str(&format!(
        "<h1>faultbox: which execution model survives a guest fault?</h1><p>{}, faultbox {}.</p>",
        esc(&extent),
        esc(&report.faultbox_version)
    ));
    out.push_str(&super::article::html(report));
    out.push_str("<ul class=\"headline\">");
    let differ = super::mismatched(report);
    for (k, line) in headline(report).into_iter().enumerate() {
        let class = if k == 0 && !differ.is_empty() { " class=\"differs\"" } else { "" };
        out.push_str(&format!("<li{class}>{}</li>", esc(&line)));
    }
    out.push_str("</ul>");
    out.push_str(&summary_bars(report));
    out.push_str("<dl class=\"legend\">");
    for v in Verdict::ALL {
        out.push_str(&format!("<dt class=\"{}\">{v}</dt><dd>{}</dd>", class(v), esc(super::verdict_meaning(v))));
    }
    out.push_str("</dl>");
    out.push_str(
        "<input type=\"checkbox\" id=\"differ\"><label class=\"filter\" for=\"differ\"> only the rows where the models differ</label>",
    );
    // Configurations of one engine family under one heading; where they
    // agree, one cell spans them.
    let columns = super::table::columns(report, true);
    out.push_str("<table class=\"grid\"><thead><tr><th class=\"name\" rowspan=\"2\">scenario</th><th class=\"lang\" rowspan=\"2\">language</th><th class=\"cat\" rowspan=\"2\">category</th>");
    for (col, header) in &columns {
        out.push_str(&format!("<th colspan=\"{}\">{}</th>", col.len(), esc(header)));
    }
    out.push_str("</tr><tr>");
    for (col, _) in &columns {
        for &i in col {
            let m = &report.models[i];
            out.push_str(&format!("<th title=\"{}\">{}</th>", esc(&m.description), m.name));
        }
    }
    out.push_str("</tr></thead><tbody>");
    for row in &report.scenarios {
        let same = row.outcomes.iter().all(|r| r.verdict == row.outcomes[0].verdict);
        out.push_str(&format!(
            "<tr id=\"{}-{}\"{}><td class=\"name\" title=\"{}\">{}</td><td class=\"lang\">{}</td><td class=\"cat\">{}</td>",
            esc(&row.name),
            row.language,
            if same { " class=\"same\"" } else { "" },
            esc(&row.summary),
            esc(&row.name),
            row.language,
            esc(&row.category)
        ));
        for (col, _) in &columns {
            let key = |i: usize| {
                let r = &row.outcomes[i];
                (r.verdict, super::table::cell_fact(r), r.mismatches.is_empty(), r.progress.map(|p| p.last))
            };
            if col.len() > 1 && col.iter().all(|&i| key(i) == key(col[0])) {
                let r = &row.outcomes[col[0]];
                out.push_str(&cell(r, &r.mismatches, &r.why, row.category == "stack").replacen("<td ", &format!("<td colspan=\"{}\" ", col.len()), 1));
            } else {
                for &i in col {
                    let r = &row.outcomes[i];
                    out.push_str(&cell(r, &r.mismatches, &r.why, row.category == "stack"));
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out.push_str(&disagreements(report));
    out.push_str(&format!("<footer><p>Limits: {}.</p><p>Models: ", esc(&limits_note(report))));
    let models: Vec<String> = report.models.iter().map(|m| format!("<b>{}</b>: {}", m.name, esc(&m.description))).collect();
    out.push_str(&models.join("; "));
    out.push_str(".</p><p>A dashed outline marks an outcome that differs from its manifest.</p></footer></body></html>\n");
    out
}
