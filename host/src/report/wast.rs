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
        format!(
            "{} files, {} directives ({}): {} agree, {} disagree, {} skipped — {percent} ({}, Wasm {})",
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
