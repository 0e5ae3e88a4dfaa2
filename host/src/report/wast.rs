//! `faultbox wast`'s report as text.

use crate::classify::wast::{Agreement, Judged, WastReport, ordered};
use crate::protocol::Observed;

impl WastReport {
    /// One line: files, directives by kind, agreement, model and profile.
    pub fn summary_line(&self) -> String {
        let kinds: Vec<String> = ordered(&self.kinds).iter().map(|(k, c)| format!("{} {k}", c.directives)).collect();
        let ran = self.agree + self.disagree;
        let percent = match self.agreement_percent {
            Some(p) => format!("{p:.2}% agreement on the {ran} that ran"),
            None => "no directive ran, no agreement to state".to_string(),
        };
        let unspecific = if self.unspecific > 0 { format!(" ({} through an unspecific trap code)", self.unspecific) } else { String::new() };
        format!(
            "{} files, {} directives ({}): {} agree{unspecific}, {} disagree, {} skipped — {percent} ({}, Wasm {})",
            self.files.len(),
            self.directive_count,
            kinds.join(", "),
            self.agree,
            self.disagree,
            self.skipped,
            self.model,
            self.wasm_features
        )
    }

    /// The text report: one line per file, then disagreements and skips.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            match &f.worker_lost {
                Some(why) => out.push_str(&format!("{}: WORKER LOST: {why}\n", f.file.display())),
                None => out.push_str(&format!(
                    "{}: {} directives ({} assert_trap, {} assert_exhaustion, {} assert_exception): {} agree, {} disagree, {} skipped\n",
                    f.file.display(),
                    f.directive_count,
                    f.assert_trap,
                    f.assert_exhaustion,
                    f.assert_exception,
                    f.agree,
                    f.disagree,
                    f.skipped
                )),
            }
        }
        let disagreements: Vec<&Judged> =
            self.files.iter().flat_map(|f| &f.directives).filter(|j| j.agreement == Agreement::Disagree).collect();
        if !disagreements.is_empty() {
            out.push_str(&format!("\ndisagreements ({}):\n", disagreements.len()));
            for j in disagreements.iter().take(50) {
                let what = match &j.observed {
                    // The mismatch names both sides already.
                    Observed::Values { mismatch: Some(why), .. } => why.clone(),
                    other => format!("expected {}; observed {}", j.expected, observed_text(other)),
                };
                out.push_str(&format!("  {}:{}: {}: {what}\n", j.file.display(), j.line, j.kind));
            }
        }
        if !self.skip_reasons.is_empty() {
            out.push_str(&format!("\nskipped ({}), by reason:\n", self.skipped));
            for (reason, n) in &self.skip_reasons {
                out.push_str(&format!("  {n:>5}  {reason}\n"));
            }
        }
        out.push_str("\nby directive:\n");
        for (k, c) in ordered(&self.kinds) {
            out.push_str(&format!(
                "  {k:<24} {:>6}: {} agree, {} disagree, {} skipped\n",
                c.directives, c.agree, c.disagree, c.skipped
            ));
        }
        out.push_str("  (assert_invalid and assert_malformed compare only that the module is rejected, not the message)\n");
        out.push('\n');
        for line in &self.profile {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("\nobserved fault classes (trap directives): ");
        let classes: Vec<String> = self.fault_classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        out.push_str(&classes.join(", "));
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }
}

/// What was observed, in a few words.
fn observed_text(o: &Observed) -> String {
    match o {
        Observed::Trapped { trap, message } => format!("trapped {} ({message})", trap.name()),
        Observed::Returned => "returned normally".into(),
        Observed::Values { values, mismatch: Some(why) } => format!("[{}]: {why}", values.join(", ")),
        Observed::Values { values, mismatch: None } => format!("returned [{}]", values.join(", ")),
        Observed::Accepted => "the module was accepted".into(),
        Observed::Rejected { stage, message } => format!("rejected at {stage}: {message}"),
        Observed::Failed { message } => format!("failed: {message}"),
        Observed::Skipped { reason } => format!("skipped: {reason}"),
    }
}

/// Spec agreement per engine configuration and proposal group: the
/// scripts grouped by the proposals their modules use (Wasm 2.0 when
/// none), each cell the directives that agree, disagree and were skipped.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AgreementTable {
    /// Column labels: `Wasm 2.0`, or the proposals a group's scripts use.
    pub groups: Vec<String>,
    pub rows: Vec<AgreementRow>,
    /// Every engine's full report, for the disagreements it lists.
    pub reports: Vec<WastReport>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct AgreementRow {
    pub model: String,
    /// One per group, in `groups` order.
    pub cells: Vec<AgreementCell>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AgreementCell {
    pub agree: usize,
    /// Of `agree`, through an unspecific trap code.
    pub unspecific: usize,
    pub disagree: usize,
    pub skipped: usize,
}

impl AgreementTable {
    pub fn new(groups_of: &[(std::path::PathBuf, Vec<crate::registry::Proposal>)], reports: &[WastReport]) -> AgreementTable {
        let label = |p: &[crate::registry::Proposal]| {
            if p.is_empty() { "Wasm 2.0".to_string() } else { p.iter().map(|p| p.name()).collect::<Vec<_>>().join(" + ") }
        };
        let mut groups: Vec<String> = Vec::new();
        for (_, p) in groups_of {
            let l = label(p);
            if !groups.contains(&l) {
                groups.push(l);
            }
        }
        // Wasm 2.0 first, then the proposals in the order they were met.
        groups.sort_by_key(|g| g != "Wasm 2.0");
        let rows = reports
            .iter()
            .map(|r| {
                let mut cells = vec![AgreementCell::default(); groups.len()];
                for f in &r.files {
                    let Some((_, p)) = groups_of.iter().find(|(path, _)| *path == f.file) else { continue };
                    let at = groups.iter().position(|g| *g == label(p)).unwrap_or(0);
                    cells[at].agree += f.agree;
                    cells[at].unspecific += f.unspecific;
                    cells[at].disagree += f.disagree;
                    cells[at].skipped += f.skipped;
                }
                AgreementRow { model: r.model.clone(), cells }
            })
            .collect();
        AgreementTable { groups, rows, reports: reports.to_vec() }
    }

    pub fn all_agree(&self) -> bool {
        self.reports.iter().all(WastReport::all_agree)
    }

    /// The table as text: a row per configuration, a column per group,
    /// each cell `agree/disagree/skipped`; then each engine's disagreements.
    pub fn text(&self) -> String {
        let mut out = String::from(
            "spec agreement per engine configuration and proposal: agree / disagree / skipped directives (*: of the agreeing, through an unspecific trap code)\n",
        );
        let first = self.rows.iter().map(|r| r.model.len()).max().unwrap_or(5).max(5);
        let cell = |c: &AgreementCell| {
            let unspecific = if c.unspecific > 0 { format!(" ({}*)", c.unspecific) } else { String::new() };
            format!("{}{unspecific} / {} / {}", c.agree, c.disagree, c.skipped)
        };
        let widths: Vec<usize> = (0..self.groups.len())
            .map(|i| self.rows.iter().map(|r| cell(&r.cells[i]).len()).chain([self.groups[i].chars().count()]).max().unwrap_or(0))
            .collect();
        out.push_str(&format!("{:<first$}", "model"));
        for (g, w) in self.groups.iter().zip(&widths) {
            out.push_str(&format!("  {g:>w$}"));
        }
        out.push('\n');
        for r in &self.rows {
            out.push_str(&format!("{:<first$}", r.model));
            for (c, w) in r.cells.iter().zip(&widths) {
                out.push_str(&format!("  {:>w$}", cell(c)));
            }
            out.push('\n');
        }
        for r in &self.reports {
            let disagreements: Vec<&Judged> =
                r.files.iter().flat_map(|f| &f.directives).filter(|j| j.agreement == Agreement::Disagree).collect();
            let lost: Vec<String> = r.files.iter().filter_map(|f| f.worker_lost.as_ref().map(|w| format!("{}: {w}", f.file.display()))).collect();
            if disagreements.is_empty() && lost.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{}: {} disagreements\n", r.model, disagreements.len()));
            for l in lost {
                out.push_str(&format!("  WORKER LOST: {l}\n"));
            }
            for j in disagreements.iter().take(30) {
                out.push_str(&format!("  {}:{}: {}: expected {}; observed {}\n", j.file.display(), j.line, j.kind, j.expected, observed_text(&j.observed)));
            }
        }
        out
    }
}
