//! The article's table, as observed: faultbox grew out of an article
//! claiming that Go's `recover` can never catch (1) signals such as
//! SIGSEGV, (2) stack overflow, (3) faults in cgo code, with its own example
//! `*(*int)(unsafe.Pointer(uintptr(0x1))) = 42` (`seed_low_address`) said
//! never to reach the recover line. When a report holds Go outcomes, the
//! markdown and html put each claim beside what each model did, and a
//! verdict computed from those outcomes: nothing here is written in
//! advance.

use super::{Report, ScenarioResult, did_not_run};
use crate::model::{ExecutionModel, Language};
use crate::outcome::{Ending, Outcome, Verdict};

/// One of the article's claims: "recover can never catch `what`", and the
/// Go scenarios that test it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub number: u8,
    /// What recover supposedly never catches.
    pub what: &'static str,
    pub scenarios: &'static [&'static str],
}

pub const CLAIMS: [Claim; 3] = [
    Claim {
        number: 1,
        what: "signals such as SIGSEGV",
        scenarios: &["seed_low_address", "null_write", "wild_write", "wild_write_panic_on_fault"],
    },
    Claim { number: 2, what: "stack overflow", scenarios: &["recursion_small_frames"] },
    Claim { number: 3, what: "faults in cgo code", scenarios: &["cgo_null_write", "cgo_abort"] },
];

/// The article's own example.
pub const EXAMPLE: &str = "seed_low_address";

/// What the native runs say of a "recover can never catch X" claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Every scenario of the claim ran and recover caught none.
    Holds { ran: usize },
    /// Some ran and recover caught none of them; `untested` did not run.
    HoldsWhereTested { ran: usize, untested: Vec<String> },
    /// Recover caught these (`Ending::Recovered` in the guest's process).
    DoesNotHold { recovered: Vec<String>, of: usize },
    /// None of its scenarios ran (n/a, skipped, or not in the report).
    NotTested,
}

impl Finding {
    /// The verdict word: "holds", "does not hold", …
    pub fn word(&self) -> &'static str {
        match self {
            Finding::Holds { .. } => "holds",
            Finding::HoldsWhereTested { .. } => "holds where tested",
            Finding::DoesNotHold { .. } => "does not hold",
            Finding::NotTested => "not tested",
        }
    }
}

/// The finding from the outcomes of a claim's scenarios in one model
/// (`None`: the scenario is not in the report). Recovered means the
/// language's recover caught the fault in the guest's process:
/// `Ending::Recovered`, whatever the verdict.
pub fn finding(observed: &[(&str, Option<&Outcome>)]) -> Finding {
    let ran: Vec<(&str, &Outcome)> =
        observed.iter().filter_map(|(n, o)| o.filter(|o| !did_not_run(o.verdict)).map(|o| (*n, o))).collect();
    if ran.is_empty() {
        return Finding::NotTested;
    }
    let recovered: Vec<String> =
        ran.iter().filter(|(_, o)| matches!(o.ending, Ending::Recovered { .. })).map(|(n, _)| n.to_string()).collect();
    if !recovered.is_empty() {
        return Finding::DoesNotHold { recovered, of: ran.len() };
    }
    let untested: Vec<String> =
        observed.iter().map(|(n, _)| *n).filter(|n| !ran.iter().any(|(r, _)| r == n)).map(String::from).collect();
    if untested.is_empty() { Finding::Holds { ran: ran.len() } } else { Finding::HoldsWhereTested { ran: ran.len(), untested } }
}

/// What became of a fault in wasm, as Go would tell it.
fn wasm_fate(o: &Outcome) -> &'static str {
    match &o.ending {
        Ending::Recovered { .. } => "recover ran",
        Ending::Trapped { .. } => "a wasm trap that Go never saw",
        Ending::Exited { .. } => "Go's runtime ended the instance (recover never ran)",
        Ending::Completed { .. } if o.verdict == Verdict::Undetected => "completed: no fault observed",
        Ending::Completed { .. } => "returned",
        Ending::TimedOut { .. } => "killed from outside",
        Ending::HostError { .. } | Ending::HostPanic { .. } => "stopped by the host",
        Ending::Signaled { .. } | Ending::WorkerLost { .. } => "the worker died",
        Ending::NotApplicable { .. } => "n/a",
        Ending::Skipped { .. } => "skipped",
    }
}

/// `recovered (memory_fault)`; `n/a` or `skipped` alone.
fn observed(o: &Outcome) -> String {
    if did_not_run(o.verdict) { o.verdict.to_string() } else { format!("{} ({})", o.verdict, o.fault) }
}

/// One claim's row.
#[derive(Clone, Debug)]
pub struct ClaimRow {
    pub claim: Claim,
    /// Per scenario of the claim: its name, what the wasm engines did (one
    /// text when they agree, else each engine's), what native did.
    pub scenarios: Vec<(String, String, String)>,
    /// The claim natively.
    pub native: Finding,
    /// The claim in wasm: whether recover ran in any wasm engine.
    pub wasm: Finding,
    /// One sentence on the wasm side: what became of each fault and
    /// whether the host survived.
    pub wasm_line: String,
    /// Whether the wasm host survived every run of the claim's scenarios
    /// (`None`: none ran in wasm).
    pub wasm_host_survived: Option<bool>,
    /// The plain conclusion, markdown-style (`code` in backticks).
    pub conclusion: String,
}

/// The whole table.
#[derive(Clone, Debug)]
pub struct ArticleTable {
    /// The wasm engines the report ran, merged in one column.
    pub wasm_models: Vec<ExecutionModel>,
    pub native: bool,
    pub rows: Vec<ClaimRow>,
}

fn go_row<'a>(report: &'a Report, name: &str) -> Option<&'a ScenarioResult> {
    report.scenarios.iter().find(|r| r.language == Language::Go && r.name == name)
}

fn outcome_in<'a>(report: &Report, row: &'a ScenarioResult, model: ExecutionModel) -> Option<&'a Outcome> {
    report.models.iter().position(|m| m.name == model).map(|i| &row.outcomes[i].outcome)
}

fn list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// The article's table for `report`, when it holds a Go scenario that
/// tests one of the claims.
pub fn table(report: &Report) -> Option<ArticleTable> {
    if !CLAIMS.iter().flat_map(|c| c.scenarios).any(|n| go_row(report, n).is_some()) {
        return None;
    }
    let wasm_models: Vec<ExecutionModel> = report.models.iter().map(|m| m.name).filter(|m| m.is_wasm()).collect();
    let native = report.models.iter().any(|m| m.name == ExecutionModel::Native);
    let rows = CLAIMS.iter().map(|c| claim_row(report, *c, &wasm_models)).collect();
    Some(ArticleTable { wasm_models, native, rows })
}

fn claim_row(report: &Report, claim: Claim, wasm_models: &[ExecutionModel]) -> ClaimRow {
    let rows: Vec<(&str, Option<&ScenarioResult>)> = claim.scenarios.iter().map(|n| (*n, go_row(report, n))).collect();
    fn native_in<'a>(report: &Report, row: Option<&'a ScenarioResult>) -> Option<&'a Outcome> {
        row.and_then(|r| outcome_in(report, r, ExecutionModel::Native))
    }
    let native_of = |row| native_in(report, row);
    let native_obs: Vec<(&str, Option<&Outcome>)> = rows.iter().map(|(n, r)| (*n, native_of(*r))).collect();
    let native = finding(&native_obs);
    // Wasm: recover ran if it ran in any engine.
    let wasm_obs: Vec<(&str, Option<&Outcome>)> = rows
        .iter()
        .map(|(n, r)| {
            let outs: Vec<&Outcome> = wasm_models.iter().filter_map(|m| r.and_then(|r| outcome_in(report, r, *m))).collect();
            let pick = outs
                .iter()
                .find(|o| matches!(o.ending, Ending::Recovered { .. }))
                .or_else(|| outs.iter().find(|o| !did_not_run(o.verdict)))
                .or(outs.first())
                .copied();
            (*n, pick)
        })
        .collect();
    let wasm = finding(&wasm_obs);
    let scenarios = rows
        .iter()
        .map(|(n, r)| {
            let wasm_text = match r {
                None => "not in this report".to_string(),
                Some(r) => {
                    let each: Vec<(ExecutionModel, String)> =
                        wasm_models.iter().filter_map(|m| outcome_in(report, r, *m).map(|o| (*m, observed(o)))).collect();
                    if each.iter().all(|(_, t)| *t == each[0].1) {
                        each.first().map(|(_, t)| t.clone()).unwrap_or_default()
                    } else {
                        each.iter().map(|(m, t)| format!("{m}: {t}")).collect::<Vec<_>>().join("; ")
                    }
                }
            };
            let native_text = match (r, native_of(*r)) {
                (None, _) => "not in this report".to_string(),
                (Some(_), None) => String::new(),
                (Some(_), Some(o)) => observed(o),
            };
            (n.to_string(), wasm_text, native_text)
        })
        .collect();
    let (wasm_line, wasm_host_survived) = wasm_line(report, &rows, wasm_models);
    let conclusion = conclusion(claim, &native, &native_obs, &wasm, &wasm_line);
    ClaimRow { claim, scenarios, native, wasm, wasm_line, wasm_host_survived, conclusion }
}

/// What became of the claim's faults in wasm, grouped by fate, and
/// whether the host survived (every run: `Some(true)`).
fn wasm_line(
    report: &Report,
    rows: &[(&str, Option<&ScenarioResult>)],
    wasm_models: &[ExecutionModel],
) -> (String, Option<bool>) {
    if wasm_models.is_empty() {
        return ("no wasm engine in this report".into(), None);
    }
    let mut fates: Vec<(String, Vec<String>)> = Vec::new();
    let mut died: Vec<String> = Vec::new();
    let mut ran = 0;
    for (name, row) in rows {
        let Some(row) = row else { continue };
        let outs: Vec<(ExecutionModel, &Outcome)> =
            wasm_models.iter().filter_map(|m| outcome_in(report, row, *m).map(|o| (*m, o))).collect();
        let ran_here: Vec<&(ExecutionModel, &Outcome)> = outs.iter().filter(|(_, o)| !did_not_run(o.verdict)).collect();
        if ran_here.is_empty() {
            continue;
        }
        ran += ran_here.len();
        for (m, o) in &ran_here {
            if !o.containment.host_survived || o.verdict == Verdict::Crashed {
                died.push(format!("`{name}` in {m}"));
            }
        }
        let agree = ran_here.iter().all(|(_, o)| wasm_fate(o) == wasm_fate(ran_here[0].1));
        let keyed: Vec<(String, String)> = if agree {
            vec![(wasm_fate(ran_here[0].1).to_string(), name.to_string())]
        } else {
            ran_here.iter().map(|(m, o)| (wasm_fate(o).to_string(), format!("{name} ({m})"))).collect()
        };
        for (fate, who) in keyed {
            match fates.iter_mut().find(|(f, _)| *f == fate) {
                Some((_, names)) => names.push(who),
                None => fates.push((fate, vec![who])),
            }
        }
    }
    if ran == 0 {
        return ("not run (n/a or skipped)".into(), None);
    }
    let mut parts: Vec<String> = fates.iter().map(|(fate, names)| format!("{}: {fate}", list(names))).collect();
    let survived = died.is_empty();
    parts.push(if survived { "the host survived every run".to_string() } else { format!("the host died: {}", died.join(", ")) });
    (parts.join("; "), Some(survived))
}

/// Claim by claim, plainly: where it holds and where it does not.
fn conclusion(claim: Claim, native: &Finding, native_obs: &[(&str, Option<&Outcome>)], wasm: &Finding, wasm_line: &str) -> String {
    let mut text = format!("Claim {} (recover can never catch {}): natively it ", claim.number, claim.what);
    match native {
        Finding::Holds { ran: 1 } => text.push_str("**holds**: recover did not catch its one scenario"),
        Finding::Holds { ran } => text.push_str(&format!("**holds**: recover caught none of its {ran} scenarios")),
        Finding::HoldsWhereTested { ran, untested } => text.push_str(&format!(
            "**holds where tested**: recover caught none of the {ran} that ran ({} did not run)",
            list(untested)
        )),
        Finding::DoesNotHold { recovered, of } => {
            text.push_str(&format!("**does not hold**: recover caught {} ({} of {of} run)", list(recovered), recovered.len()));
            let escaped: Vec<String> = native_obs
                .iter()
                .filter_map(|(n, o)| {
                    o.filter(|o| !did_not_run(o.verdict) && !matches!(o.ending, Ending::Recovered { .. }))
                        .map(|o| format!("`{n}` ({}, {})", o.verdict, o.fault))
                })
                .collect();
            if !escaped.is_empty() {
                text.push_str(&format!("; it does hold for {}", escaped.join(", ")));
            }
        }
        Finding::NotTested => text.push_str("is **not tested**: none of its scenarios ran natively"),
    }
    text.push('.');
    if let Some((_, Some(o))) = native_obs.iter().find(|(n, _)| *n == EXAMPLE) {
        if matches!(o.ending, Ending::Recovered { .. }) {
            text.push_str(&format!(
                " The article's own example (`{EXAMPLE}`) is recovered natively: the claim does not hold as stated."
            ));
        } else if !did_not_run(o.verdict) {
            text.push_str(&format!(" The article's own example (`{EXAMPLE}`) is not recovered natively ({}), as it says.", observed(o)));
        }
    }
    text.push_str(&format!(
        " In wasm{} {wasm_line}.",
        match wasm {
            Finding::DoesNotHold { .. } | Finding::NotTested => ":",
            _ => " recover never ran;",
        }
    ));
    text
}

/// The wasm column's heading: the engines it merges.
fn wasm_heading(t: &ArticleTable) -> String {
    t.wasm_models.iter().map(|m| m.name()).collect::<Vec<_>>().join(" = ")
}

const TITLE: &str = "The article's claims, as observed";
const INTRO: &str = "The article claims Go's `recover` can never catch (1) signals such as SIGSEGV, (2) stack overflow, \
(3) faults in cgo code; its own example, `*(*int)(unsafe.Pointer(uintptr(0x1))) = 42` (`seed_low_address`), never \
reaches the recover line. A claim does not hold where recover caught one of its faults in the guest's own process \
(the ending `recovered`, not merely the verdict); it holds where every one of its scenarios ran and none was.";

/// The markdown section, or nothing without Go outcomes.
pub fn markdown(report: &Report) -> String {
    let Some(t) = table(report) else { return String::new() };
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("### {TITLE}\n\n{INTRO}\n\n| # | recover can never catch… | Go scenario |");
    if !t.wasm_models.is_empty() {
        out.push_str(&format!(" {} |", wasm_heading(&t)));
    }
    if t.native {
        out.push_str(" native |");
    }
    out.push_str(" natively | in wasm |\n|---|---|---|");
    out.push_str(&"---|".repeat(2 + !t.wasm_models.is_empty() as usize + t.native as usize));
    out.push('\n');
    for r in &t.rows {
        let col = |f: &dyn Fn(&(String, String, String)) -> String| {
            r.scenarios.iter().map(|s| esc(&f(s))).collect::<Vec<_>>().join("<br>")
        };
        out.push_str(&format!("| {} | {} | {} |", r.claim.number, r.claim.what, col(&|s| format!("`{}`", s.0))));
        if !t.wasm_models.is_empty() {
            out.push_str(&format!(" {} |", col(&|s| s.1.clone())));
        }
        if t.native {
            out.push_str(&format!(" {} |", col(&|s| s.2.clone())));
        }
        out.push_str(&format!(" **{}** | {} |\n", r.native.word(), esc(&wasm_short(r))));
    }
    out.push('\n');
    for r in &t.rows {
        out.push_str(&format!("- {}\n", esc(&r.conclusion)));
    }
    out.push('\n');
    out.push_str(&super::remedy::markdown(&report.remedy));
    out
}

/// The wasm column's verdict in a few words.
fn wasm_short(r: &ClaimRow) -> String {
    let recover = match &r.wasm {
        Finding::DoesNotHold { recovered, .. } => format!("recover ran for {}", list(recovered)),
        Finding::NotTested => return "not run".into(),
        _ => "recover never ran".into(),
    };
    match r.wasm_host_survived {
        Some(true) => format!("{recover}; the host survived"),
        Some(false) => format!("{recover}; **the host died**"),
        None => recover,
    }
}

fn html_esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Markdown's `code` and **bold** as html, the rest escaped.
fn inline_html(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in html_esc(s).split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{part}</code>"));
        } else {
            for (j, p) in part.split("**").enumerate() {
                out.push_str(&if j % 2 == 1 { format!("<b>{p}</b>") } else { p.to_string() });
            }
        }
    }
    out
}

/// The html section, or nothing without Go outcomes.
pub fn html(report: &Report) -> String {
    let Some(t) = table(report) else { return String::new() };
    let mut out = format!(
        "<section class=\"article\"><h2>{TITLE}</h2><p>{}</p><table class=\"article\"><thead><tr><th>#</th><th>recover can never catch…</th><th>Go scenario</th>",
        inline_html(INTRO)
    );
    if !t.wasm_models.is_empty() {
        out.push_str(&format!("<th>{}</th>", html_esc(&wasm_heading(&t))));
    }
    if t.native {
        out.push_str("<th>native</th>");
    }
    out.push_str("<th>natively</th><th>in wasm</th></tr></thead><tbody>");
    for r in &t.rows {
        let col = |f: &dyn Fn(&(String, String, String)) -> String| {
            r.scenarios.iter().map(|s| f(s)).collect::<Vec<_>>().join("<br>")
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            r.claim.number,
            html_esc(r.claim.what),
            col(&|s| format!("<code>{}</code>", html_esc(&s.0)))
        ));
        if !t.wasm_models.is_empty() {
            out.push_str(&format!("<td>{}</td>", col(&|s| html_esc(&s.1))));
        }
        if t.native {
            out.push_str(&format!("<td>{}</td>", col(&|s| html_esc(&s.2))));
        }
        let class = match r.native {
            Finding::DoesNotHold { .. } => "claim-fails",
            Finding::Holds { .. } | Finding::HoldsWhereTested { .. } => "claim-holds",
            Finding::NotTested => "claim-untested",
        };
        out.push_str(&format!(
            "<td class=\"{class}\"><b>{}</b></td><td>{}</td></tr>",
            r.native.word(),
            inline_html(&wasm_short(r))
        ));
    }
    out.push_str("</tbody></table><ul class=\"claims\">");
    for r in &t.rows {
        out.push_str(&format!("<li>{}</li>", inline_html(&r.conclusion)));
    }
    out.push_str("</ul>");
    out.push_str(&super::remedy::html(&report.remedy, inline_html));
    out.push_str("</section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{FaultClass, Reuse};

    fn outcome(name: &str, model: ExecutionModel, verdict: Verdict, ending: Ending) -> Outcome {
        let fault = if verdict == Verdict::Ok || did_not_run(verdict) { FaultClass::None } else { FaultClass::MemoryFault };
        let mut o = Outcome::for_test(name, Language::Go, model, verdict, fault, ending, Reuse::NotChecked);
        o.containment.detected = true;
        o
    }

    fn recovered(name: &str) -> Outcome {
        outcome(
            name,
            ExecutionModel::Native,
            Verdict::Recovered,
            Ending::Recovered { panic_message: "runtime error: invalid memory address".into(), by: "recover".into() },
        )
    }

    fn crashed(name: &str) -> Outcome {
        outcome(name, ExecutionModel::Native, Verdict::Crashed, Ending::Exited { code: 2 })
    }

    fn na(name: &str) -> Outcome {
        outcome(name, ExecutionModel::Native, Verdict::NotApplicable, Ending::NotApplicable { why: "cgo".into() })
    }

    fn skipped(name: &str) -> Outcome {
        outcome(name, ExecutionModel::Native, Verdict::Skipped, Ending::Skipped { why: "install go".into() })
    }

    #[test]
    fn a_claim_holds_when_every_scenario_ran_and_none_was_recovered() {
        let (a, b) = (crashed("cgo_null_write"), crashed("cgo_abort"));
        assert_eq!(finding(&[("cgo_null_write", Some(&a)), ("cgo_abort", Some(&b))]), Finding::Holds { ran: 2 });
    }

    #[test]
    fn a_claim_does_not_hold_when_recover_caught_one_of_its_faults() {
        let (s, n, w) = (recovered("seed_low_address"), recovered("null_write"), crashed("wild_write"));
        let f = finding(&[("seed_low_address", Some(&s)), ("null_write", Some(&n)), ("wild_write", Some(&w))]);
        assert_eq!(f, Finding::DoesNotHold { recovered: vec!["seed_low_address".into(), "null_write".into()], of: 3 });
        // The verdict alone does not count: a wasm trap is `recovered` too.
        let trap = outcome(
            "null_write",
            ExecutionModel::DEFAULT_WASM,
            Verdict::Recovered,
            Ending::Trapped { trap: crate::outcome::TrapCode::MemoryOutOfBounds, message: String::new(), frames: vec![] },
        );
        assert_eq!(finding(&[("null_write", Some(&trap))]), Finding::Holds { ran: 1 });
    }

    #[test]
    fn a_claim_is_not_tested_when_none_of_its_scenarios_ran() {
        let (a, b) = (na("cgo_null_write"), skipped("cgo_abort"));
        assert_eq!(finding(&[("cgo_null_write", Some(&a)), ("cgo_abort", Some(&b))]), Finding::NotTested);
        assert_eq!(finding(&[("cgo_null_write", None)]), Finding::NotTested);
        let c = crashed("cgo_abort");
        assert_eq!(
            finding(&[("cgo_null_write", Some(&a)), ("cgo_abort", Some(&c))]),
            Finding::HoldsWhereTested { ran: 1, untested: vec!["cgo_null_write".into()] }
        );
    }
}
