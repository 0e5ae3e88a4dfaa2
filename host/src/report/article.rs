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

/// What a claim says happens to its scenarios' faults, and so what an
/// observed outcome must show for the claim to hold of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assertion {
    /// "`recover` can never catch X": refuted by a recovery in the guest's
    /// own process (`Ending::Recovered`, whatever the verdict).
    RecoverNeverCatches,
    /// "X ends the program, with `recover` unavailable": refuted when the
    /// process lived on after it, or recover caught it.
    EndsTheProgram,
    /// "X skips the deferred functions": refuted when the guest reported a
    /// deferred function that ran; an outcome without that report (the
    /// guest does not say) tells nothing.
    SkipsDefers,
    /// "X tears the goroutine's state": refuted when the program went on
    /// and returned normally, its process intact.
    BreaksTheRuntime,
}

impl Assertion {
    /// Whether `o` refutes the claim (`Some(true)`), bears it out
    /// (`Some(false)`), or cannot tell (`None`).
    pub fn refuted_by(self, o: &Outcome) -> Option<bool> {
        let recovered = matches!(o.ending, Ending::Recovered { .. });
        match self {
            Assertion::RecoverNeverCatches => Some(recovered),
            Assertion::EndsTheProgram => Some(recovered || o.containment.host_survived),
            Assertion::SkipsDefers => o.defers.as_ref().map(|d| !d.is_empty()),
            Assertion::BreaksTheRuntime => Some(
                o.containment.host_survived
                    && matches!(o.ending, Ending::Completed { .. } | Ending::Recovered { .. })
                    && matches!(o.verdict, Verdict::Ok | Verdict::Recovered),
            ),
        }
    }

    /// What a refuting outcome showed, before the scenarios' names.
    fn refuted_words(self) -> &'static str {
        match self {
            Assertion::RecoverNeverCatches => "recover caught",
            Assertion::EndsTheProgram => "the program lived on after",
            Assertion::SkipsDefers => "deferred functions ran in",
            Assertion::BreaksTheRuntime => "the runtime went on working after",
        }
    }
}

/// One of the article's claims, said short, and the Go scenarios that
/// test it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    pub number: u8,
    /// The claim in a few words, as the article makes it.
    pub says: &'static str,
    pub assertion: Assertion,
    pub scenarios: &'static [&'static str],
}

/// The article's table (1–3), then its other claims (4–8).
pub const CLAIMS: [Claim; 8] = [
    Claim {
        number: 1,
        says: "`recover` can never catch signals such as SIGSEGV",
        assertion: Assertion::RecoverNeverCatches,
        scenarios: &[
            "seed_low_address",
            "null_write",
            "wild_write",
            "wild_write_panic_on_fault",
            "sigbus_truncated_mapping",
            "sigbus_truncated_mapping_panic_on_fault",
        ],
    },
    Claim {
        number: 2,
        says: "`recover` can never catch a stack overflow",
        assertion: Assertion::RecoverNeverCatches,
        scenarios: &["recursion_small_frames"],
    },
    Claim {
        number: 3,
        says: "`recover` can never catch faults in cgo code",
        assertion: Assertion::RecoverNeverCatches,
        scenarios: &["cgo_null_write", "cgo_abort", "cgo_sigbus"],
    },
    Claim {
        number: 4,
        says: "a fatal signal from the OS (SIGSEGV, SIGABRT, SIGKILL) ends a Go program with `recover` unavailable",
        assertion: Assertion::EndsTheProgram,
        scenarios: &[
            "signal_sigsegv",
            "signal_sigbus",
            "signal_sigabrt",
            "signal_sigkill",
            "signal_sigsegv_notified",
            "signal_sigbus_notified",
            "signal_sigabrt_notified",
            "signal_sigkill_notified",
        ],
    },
    Claim {
        number: 5,
        says: "SIGQUIT skips the deferred functions",
        assertion: Assertion::SkipsDefers,
        scenarios: &["signal_sigquit", "signal_sigquit_notified"],
    },
    Claim {
        number: 6,
        says: "a C panic in cgo code cannot be recovered",
        assertion: Assertion::RecoverNeverCatches,
        scenarios: &["cgo_callback_panic", "cgo_abort"],
    },
    Claim {
        number: 7,
        says: "SIGBUS from C propagates to Go and ends the program",
        assertion: Assertion::EndsTheProgram,
        scenarios: &["cgo_sigbus"],
    },
    Claim {
        number: 8,
        says: "`longjmp` in C tears goroutine state",
        assertion: Assertion::BreaksTheRuntime,
        scenarios: &["cgo_longjmp_across_go", "cgo_longjmp_within_c"],
    },
];

/// The article's own example.
pub const EXAMPLE: &str = "seed_low_address";

/// What the runs of one model say of a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Every scenario of the claim ran and bore it out.
    Holds { ran: usize },
    /// Every one that ran bore it out; `untested` did not run.
    HoldsWhereTested { ran: usize, untested: Vec<String> },
    /// Some that ran bore it out (`held`), these refuted it.
    HoldsForSome { refuted: Vec<String>, held: Vec<String> },
    /// Every one that ran refuted it.
    DoesNotHold { refuted: Vec<String>, of: usize },
    /// None of its scenarios ran (n/a, skipped, not in the report, or
    /// nothing in their outcomes could tell).
    NotTested,
}

impl Finding {
    /// The verdict word: "holds", "does not hold", …
    pub fn word(&self) -> &'static str {
        match self {
            Finding::Holds { .. } => "holds",
            Finding::HoldsWhereTested { .. } => "holds where tested",
            Finding::HoldsForSome { .. } => "holds only for some cases",
            Finding::DoesNotHold { .. } => "does not hold",
            Finding::NotTested => "not tested",
        }
    }
}

/// The finding from the outcomes of a claim's scenarios in one model
/// (`None`: the scenario is not in the report).
pub fn finding(assertion: Assertion, observed: &[(&str, Option<&Outcome>)]) -> Finding {
    let judged: Vec<(&str, bool)> = observed
        .iter()
        .filter_map(|(n, o)| o.filter(|o| !did_not_run(o.verdict)).and_then(|o| assertion.refuted_by(o)).map(|r| (*n, r)))
        .collect();
    if judged.is_empty() {
        return Finding::NotTested;
    }
    let names = |refuted: bool| -> Vec<String> { judged.iter().filter(|(_, r)| *r == refuted).map(|(n, _)| n.to_string()).collect() };
    let (refuted, held) = (names(true), names(false));
    match (refuted.is_empty(), held.is_empty()) {
        (false, false) => Finding::HoldsForSome { refuted, held },
        (false, true) => Finding::DoesNotHold { of: refuted.len(), refuted },
        _ => {
            let untested: Vec<String> =
                observed.iter().map(|(n, _)| *n).filter(|n| !judged.iter().any(|(j, _)| j == n)).map(String::from).collect();
            if untested.is_empty() { Finding::Holds { ran: held.len() } } else { Finding::HoldsWhereTested { ran: held.len(), untested } }
        }
    }
}

/// What became of a fault in wasm, as Go would tell it.
fn wasm_fate(o: &Outcome) -> &'static str {
    use crate::outcome::SignalEffect;
    // A signal sent to the worker: its effect is the fate, not how the
    // guest's run then ended (an interrupt at its budget is no fault).
    match o.injection.as_ref().map(|i| i.effect) {
        Some(SignalEffect::RanOn) => return "the worker survived the signal, and the guest ran on to its budget",
        Some(SignalEffect::Killed) => return "the worker died of the signal",
        Some(SignalEffect::Ended) => return "the worker ended after the signal",
        Some(SignalEffect::Trapped) => return "the engine took the signal for a trap of the guest's",
        Some(SignalEffect::Handled | SignalEffect::NotSent) | None => {}
    }
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
    let native = finding(claim.assertion, &native_obs);
    // Wasm: a scenario refutes the claim if it did so in any engine.
    let wasm_obs: Vec<(&str, Option<&Outcome>)> = rows
        .iter()
        .map(|(n, r)| {
            let outs: Vec<&Outcome> = wasm_models.iter().filter_map(|m| r.and_then(|r| outcome_in(report, r, *m))).collect();
            let pick = outs
                .iter()
                .find(|o| !did_not_run(o.verdict) && claim.assertion.refuted_by(o) == Some(true))
                .or_else(|| outs.iter().find(|o| !did_not_run(o.verdict)))
                .or(outs.first())
                .copied();
            (*n, pick)
        })
        .collect();
    let wasm = finding(claim.assertion, &wasm_obs);
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
    let engines = |names: &[ExecutionModel], of: usize| -> String {
        if names.len() == of && of > 1 { "every engine".to_string() } else { names.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ") }
    };
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
        let lost: Vec<ExecutionModel> =
            ran_here.iter().filter(|(_, o)| !o.containment.host_survived || o.verdict == Verdict::Crashed).map(|(m, _)| *m).collect();
        if !lost.is_empty() {
            died.push(format!("`{name}` in {}", engines(&lost, ran_here.len())));
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
    let mut text = format!("Claim {} ({}): natively it ", claim.number, claim.says);
    let refuted_text = |refuted: &[String]| format!("{} {}", claim.assertion.refuted_words(), list(refuted));
    match native {
        Finding::Holds { ran: 1 } => text.push_str("**holds** for its one scenario"),
        Finding::Holds { ran } => text.push_str(&format!("**holds** for all {ran} of its scenarios")),
        Finding::HoldsWhereTested { ran, untested } => {
            text.push_str(&format!("**holds where tested**: for the {ran} that ran ({} did not run)", list(untested)))
        }
        Finding::HoldsForSome { refuted, held } => {
            let held: Vec<String> = native_obs
                .iter()
                .filter(|(n, _)| held.iter().any(|h| h == n))
                .filter_map(|(n, o)| o.map(|o| format!("`{n}` ({}, {})", o.verdict, o.fault)))
                .collect();
            text.push_str(&format!("**holds only for some cases**: {}; it does hold for {}", refuted_text(refuted), held.join(", ")))
        }
        Finding::DoesNotHold { refuted, of } => {
            text.push_str(&format!("**does not hold**: {} ({} of {of} run)", refuted_text(refuted), refuted.len()))
        }
        Finding::NotTested => text.push_str("is **not tested**: none of its scenarios ran natively"),
    }
    text.push('.');
    if claim.scenarios.contains(&EXAMPLE) {
        if let Some((_, Some(o))) = native_obs.iter().find(|(n, _)| *n == EXAMPLE) {
            if matches!(o.ending, Ending::Recovered { .. }) {
                text.push_str(&format!(
                    " The article's own example (`{EXAMPLE}`) is recovered natively: the claim does not hold as stated."
                ));
            } else if !did_not_run(o.verdict) {
                text.push_str(&format!(" The article's own example (`{EXAMPLE}`) is not recovered natively ({}), as it says.", observed(o)));
            }
        }
    }
    let recover_words = claim.assertion == Assertion::RecoverNeverCatches && !matches!(wasm, Finding::DoesNotHold { .. } | Finding::HoldsForSome { .. } | Finding::NotTested);
    text.push_str(&format!(" In wasm{} {wasm_line}.", if recover_words { " recover never ran;" } else { ":" }));
    text
}

/// The wasm column's heading: the engines it merges.
fn wasm_heading(t: &ArticleTable) -> String {
    t.wasm_models.iter().map(|m| m.name()).collect::<Vec<_>>().join(" = ")
}

const TITLE: &str = "The article's claims, as observed";
const INTRO: &str = "The article claims Go's `recover` can never catch (1) signals such as SIGSEGV, (2) stack overflow, \
(3) faults in cgo code; its own example, `*(*int)(unsafe.Pointer(uintptr(0x1))) = 42` (`seed_low_address`), never \
reaches the recover line. It also claims (4) that a fatal signal from the OS ends a Go program with recover \
unavailable, (5) that SIGQUIT skips the deferred functions, (6) that a C panic in cgo code cannot be recovered, (7) \
that SIGBUS from C propagates to Go, and (8) that longjmp in C tears goroutine state. Each scenario's outcome either \
bears its claim out or refutes it: a recovery in the guest's own process (the ending `recovered`, not merely the \
verdict) refutes a claim that recover cannot catch it; a process that lived on refutes one that the program ends; a \
deferred function the guest reported running refutes one that defers are skipped; a normal return refutes one that the \
runtime is torn. A claim holds where every scenario that ran bore it out, does not hold where every one refuted it, \
and holds only for some cases in between.";

/// The markdown section, or nothing without Go outcomes.
pub fn markdown(report: &Report) -> String {
    let Some(t) = table(report) else { return String::new() };
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("### {TITLE}\n\n{INTRO}\n\n| # | the article says… | Go scenario |");
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
        out.push_str(&format!("| {} | {} | {} |", r.claim.number, esc(r.claim.says), col(&|s| format!("`{}`", s.0))));
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
    let found = match (&r.wasm, r.claim.assertion) {
        (Finding::NotTested, _) => return "not run".into(),
        (Finding::DoesNotHold { refuted, .. } | Finding::HoldsForSome { refuted, .. }, Assertion::RecoverNeverCatches) => {
            format!("recover ran for {}", list(refuted))
        }
        (_, Assertion::RecoverNeverCatches) => "recover never ran".into(),
        (Finding::DoesNotHold { refuted, .. } | Finding::HoldsForSome { refuted, .. }, a) => {
            format!("{}: {} {}", r.wasm.word(), a.refuted_words(), list(refuted))
        }
        (f, _) => f.word().to_string(),
    };
    match r.wasm_host_survived {
        Some(true) => format!("{found}; the host survived"),
        Some(false) => format!("{found}; **the host died**"),
        None => found,
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
        "<section class=\"article\"><h2>{TITLE}</h2><p>{}</p><table class=\"article\"><thead><tr><th>#</th><th>the article says…</th><th>Go scenario</th>",
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
            inline_html(r.claim.says),
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
            Finding::HoldsForSome { .. } => "claim-partial",
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
        assert_eq!(finding(Assertion::RecoverNeverCatches, &[("cgo_null_write", Some(&a)), ("cgo_abort", Some(&b))]), Finding::Holds { ran: 2 });
    }

    #[test]
    fn a_claim_holds_only_for_some_cases_when_recover_caught_some_of_its_faults() {
        let (s, n, w) = (recovered("seed_low_address"), recovered("null_write"), crashed("wild_write"));
        let f = finding(Assertion::RecoverNeverCatches, &[("seed_low_address", Some(&s)), ("null_write", Some(&n)), ("wild_write", Some(&w))]);
        assert_eq!(
            f,
            Finding::HoldsForSome { refuted: vec!["seed_low_address".into(), "null_write".into()], held: vec!["wild_write".into()] }
        );
        let f = finding(Assertion::RecoverNeverCatches, &[("seed_low_address", Some(&s)), ("null_write", Some(&n))]);
        assert_eq!(f, Finding::DoesNotHold { refuted: vec!["seed_low_address".into(), "null_write".into()], of: 2 });
        // The verdict alone does not count: a wasm trap is `recovered` too.
        let trap = outcome(
            "null_write",
            ExecutionModel::DEFAULT_WASM,
            Verdict::Recovered,
            Ending::Trapped { trap: crate::outcome::TrapCode::MemoryOutOfBounds, message: String::new(), frames: vec![] },
        );
        assert_eq!(finding(Assertion::RecoverNeverCatches, &[("null_write", Some(&trap))]), Finding::Holds { ran: 1 });
    }

    #[test]
    fn a_claim_is_not_tested_when_none_of_its_scenarios_ran() {
        let (a, b) = (na("cgo_null_write"), skipped("cgo_abort"));
        assert_eq!(finding(Assertion::RecoverNeverCatches, &[("cgo_null_write", Some(&a)), ("cgo_abort", Some(&b))]), Finding::NotTested);
        assert_eq!(finding(Assertion::RecoverNeverCatches, &[("cgo_null_write", None)]), Finding::NotTested);
        let c = crashed("cgo_abort");
        assert_eq!(
            finding(Assertion::RecoverNeverCatches, &[("cgo_null_write", Some(&a)), ("cgo_abort", Some(&c))]),
            Finding::HoldsWhereTested { ran: 1, untested: vec!["cgo_null_write".into()] }
        );
    }

    /// Each assertion against the outcomes that bear it out and refute it.
    #[test]
    fn each_assertion_is_judged_from_the_outcome_alone() {
        use Assertion::*;
        let handled = || {
            let mut o = outcome(
                "signal_sigquit_notified",
                ExecutionModel::Native,
                Verdict::Recovered,
                Ending::Recovered { panic_message: "SIGQUIT".into(), by: "signal.Notify".into() },
            );
            o.containment.host_survived = true;
            o.defers = Some(vec!["scenario".into(), "recover".into()]);
            o
        };
        let thrown = || {
            let mut o = crashed("signal_sigquit");
            o.containment.host_survived = false;
            o.defers = Some(vec![]);
            o
        };
        let returned = || {
            let mut o = outcome("cgo_longjmp_within_c", ExecutionModel::Native, Verdict::Ok, Ending::Completed { value: 1 });
            o.containment.host_survived = true;
            o
        };
        let ran_on = || {
            let mut o = outcome("signal_sigusr1", ExecutionModel::Native, Verdict::Undetected, Ending::TimedOut {
                deadline: crate::limits::Deadline::Cpu,
                cpu_ms: 100,
                wall_ms: 110,
            });
            o.containment.host_survived = true;
            o
        };
        let silent = || crashed("null_write"); // no defers report
        let cases: &[(Assertion, Outcome, Option<bool>)] = &[
            (RecoverNeverCatches, recovered("null_write"), Some(true)),
            (RecoverNeverCatches, thrown(), Some(false)),
            (EndsTheProgram, thrown(), Some(false)),
            (EndsTheProgram, handled(), Some(true)),
            (EndsTheProgram, ran_on(), Some(true)),
            (SkipsDefers, thrown(), Some(false)),
            (SkipsDefers, handled(), Some(true)),
            (SkipsDefers, silent(), None),
            (BreaksTheRuntime, thrown(), Some(false)),
            (BreaksTheRuntime, returned(), Some(true)),
            (BreaksTheRuntime, ran_on(), Some(false)),
        ];
        for (a, o, want) in cases {
            assert_eq!(a.refuted_by(o), *want, "{a:?} of {} {:?}", o.scenario, o.ending);
        }
        // An outcome that cannot tell leaves the claim untested, not held.
        let s = silent();
        assert_eq!(finding(SkipsDefers, &[("null_write", Some(&s))]), Finding::NotTested);
    }

    #[test]
    fn every_claim_names_scenarios_of_the_shipped_catalog_with_a_go_entry() {
        let catalog = crate::scenario::Catalog::load(&crate::scenario::Catalog::default_dir()).expect("the catalog loads");
        for c in CLAIMS {
            for n in c.scenarios {
                let all = catalog.get(n).unwrap_or_else(|e| panic!("claim {}: {n}: {e}", c.number));
                assert!(all.iter().any(|s| s.language == Language::Go), "claim {}: {n} has no Go entry", c.number);
            }
        }
    }
}
