//! The spec's trap messages as trap codes, and the agreement report.
//!
//! Spec runners match an expected message as a *prefix* of the engine's
//! message, which is why "uninitialized element 2" means the same as
//! "uninitialized element". The mapping below is the spec interpreter's
//! vocabulary: "undefined element" is `call_indirect` past the end of the
//! table (wasmtime: table_out_of_bounds), "uninitialized element" a null
//! entry (indirect_call_to_null); the "null ... reference" family is
//! wasmtime's single null_reference. `assert_exception` names no message:
//! faultbox's own "uncaught exception" stands for it.

use super::{DirectiveResult, Observed, WastObservation};
use crate::outcome::{FaultClass, TrapCode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The trap code(s) an expected spec message stands for.
pub fn expected_traps(message: &str) -> Option<&'static [TrapCode]> {
    use TrapCode::*;
    let m = message.trim();
    let codes: &'static [TrapCode] = if m.starts_with("uninitialized element") {
        &[IndirectCallToNull]
    } else if m.starts_with("undefined element") || m.starts_with("out of bounds table access") {
        &[TableOutOfBounds]
    } else if m.starts_with("out of bounds memory access") {
        &[MemoryOutOfBounds]
    } else if m.starts_with("unreachable") {
        &[UnreachableCodeReached]
    } else if m.starts_with("integer overflow") {
        &[IntegerOverflow]
    } else if m.starts_with("invalid conversion to integer") {
        &[BadConversionToInteger]
    } else if m.starts_with("integer divide by zero") {
        &[IntegerDivisionByZero]
    } else if m.starts_with("call stack exhausted") {
        &[StackOverflow]
    } else if m.starts_with("indirect call type mismatch") {
        &[BadSignature]
    } else if m.starts_with("null") && m.contains("reference") {
        &[NullReference]
    } else if m.starts_with("out of bounds array access") {
        &[ArrayOutOfBounds]
    } else if m.starts_with("cast failure") {
        &[CastFailure]
    } else if m.starts_with("unaligned atomic") {
        &[HeapMisaligned]
    } else if m.starts_with("expected shared memory") {
        &[AtomicWaitNonSharedMemory]
    } else if m == super::exec::UNCAUGHT {
        &[UncaughtException]
    } else if m.starts_with("allocation size too large") {
        &[AllocationTooLarge]
    } else {
        return None;
    };
    Some(codes)
}

/// How one directive compares with the spec.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    Agree,
    Disagree,
    Skipped,
}

/// One directive, judged.
#[derive(Clone, Debug, Serialize)]
pub struct Judged {
    pub file: PathBuf,
    pub line: usize,
    pub kind: String,
    pub expected: String,
    /// faultbox's trap code(s) for the expected message.
    pub expected_traps: Vec<TrapCode>,
    pub observed: Observed,
    /// faultbox's fault class for what was observed.
    pub fault: FaultClass,
    pub agreement: Agreement,
}

pub fn judge(file: &PathBuf, d: &DirectiveResult) -> Judged {
    let expected = expected_traps(&d.expected);
    let fault = match &d.observed {
        Observed::Trapped { trap, .. } => trap.fault_class(),
        Observed::Returned | Observed::Skipped { .. } => FaultClass::None,
        Observed::Failed { .. } => FaultClass::Unknown,
    };
    let agreement = match (&d.observed, expected) {
        (Observed::Skipped { .. }, _) => Agreement::Skipped,
        (Observed::Trapped { trap, .. }, Some(codes)) if codes.contains(trap) => Agreement::Agree,
        _ => Agreement::Disagree,
    };
    Judged {
        file: file.clone(),
        line: d.line,
        kind: d.kind.clone(),
        expected: d.expected.clone(),
        expected_traps: expected.map(<[TrapCode]>::to_vec).unwrap_or_default(),
        observed: d.observed.clone(),
        fault,
        agreement,
    }
}

/// One script's results.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub assert_trap: usize,
    pub assert_exhaustion: usize,
    pub assert_exception: usize,
    pub agree: usize,
    pub disagree: usize,
    pub skipped: usize,
    /// Other directives executed for their effect.
    pub other_directives: usize,
    /// Set when the worker died running this script.
    pub worker_lost: Option<String>,
    pub directives: Vec<Judged>,
}

impl FileReport {
    pub fn new(file: PathBuf, obs: &WastObservation) -> FileReport {
        let directives: Vec<Judged> = obs.directives.iter().map(|d| judge(&file, d)).collect();
        let count = |a: Agreement| directives.iter().filter(|j| j.agreement == a).count();
        FileReport {
            assert_trap: directives.iter().filter(|j| j.kind == "assert_trap").count(),
            assert_exhaustion: directives.iter().filter(|j| j.kind == "assert_exhaustion").count(),
            assert_exception: directives.iter().filter(|j| j.kind == "assert_exception").count(),
            agree: count(Agreement::Agree),
            disagree: count(Agreement::Disagree),
            skipped: count(Agreement::Skipped),
            other_directives: obs.other_directives,
            worker_lost: None,
            file,
            directives,
        }
    }

    pub fn lost(file: PathBuf, why: String) -> FileReport {
        FileReport {
            file,
            assert_trap: 0,
            assert_exhaustion: 0,
            assert_exception: 0,
            agree: 0,
            disagree: 0,
            skipped: 0,
            other_directives: 0,
            worker_lost: Some(why),
            directives: Vec::new(),
        }
    }
}

/// All scripts.
#[derive(Clone, Debug, Serialize)]
pub struct WastReport {
    pub model: String,
    /// The WebAssembly feature profile the engine ran ("2.0", "3.0").
    pub wasm_features: String,
    /// What the profile enables in this engine configuration, and what not.
    pub profile: Vec<String>,
    pub assert_exception: usize,
    pub files: Vec<FileReport>,
    pub assert_trap: usize,
    pub assert_exhaustion: usize,
    pub agree: usize,
    pub disagree: usize,
    pub skipped: usize,
    /// Observed fault classes, with counts.
    pub fault_classes: BTreeMap<String, usize>,
    /// Skip reasons, with counts.
    pub skip_reasons: BTreeMap<String, usize>,
}

impl WastReport {
    pub fn new(model: crate::model::ExecutionModel, files: Vec<FileReport>) -> WastReport {
        let profile = crate::wasm::WasmProfile::current();
        let sum = |f: fn(&FileReport) -> usize| files.iter().map(f).sum();
        let mut fault_classes = BTreeMap::new();
        let mut skip_reasons = BTreeMap::new();
        for j in files.iter().flat_map(|f| &f.directives) {
            match &j.observed {
                Observed::Skipped { reason } => *skip_reasons.entry(reason.clone()).or_insert(0) += 1,
                _ => *fault_classes.entry(j.fault.name().to_string()).or_insert(0) += 1,
            }
        }
        WastReport {
            model: model.name().to_string(),
            wasm_features: profile.name().to_string(),
            profile: crate::wasm::profile_table(profile, &[model]),
            assert_exception: sum(|f| f.assert_exception),
            assert_trap: sum(|f| f.assert_trap),
            assert_exhaustion: sum(|f| f.assert_exhaustion),
            agree: sum(|f| f.agree),
            disagree: sum(|f| f.disagree),
            skipped: sum(|f| f.skipped),
            fault_classes,
            skip_reasons,
            files,
        }
    }

    /// Agreement on the directives that ran, in percent.
    pub fn agreement_percent(&self) -> f64 {
        let ran = self.agree + self.disagree;
        if ran == 0 { 100.0 } else { 100.0 * self.agree as f64 / ran as f64 }
    }

    pub fn all_agree(&self) -> bool {
        self.disagree == 0 && self.files.iter().all(|f| f.worker_lost.is_none())
    }

    pub fn summary_line(&self) -> String {
        format!(
            "{} files, {} assert_trap + {} assert_exhaustion + {} assert_exception: {} agree, {} disagree, {} skipped — {:.2}% agreement on the {} that ran ({}, Wasm {})",
            self.files.len(),
            self.assert_trap,
            self.assert_exhaustion,
            self.assert_exception,
            self.agree,
            self.disagree,
            self.skipped,
            self.agreement_percent(),
            self.agree + self.disagree,
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
                    "{}: {} assert_trap, {} assert_exhaustion, {} assert_exception: {} agree, {} disagree, {} skipped\n",
                    f.file.display(),
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
                out.push_str(&format!("  {}:{}: expected \"{}\", observed {:?}\n", j.file.display(), j.line, j.expected, j.observed));
            }
        }
        if !self.skip_reasons.is_empty() {
            out.push_str(&format!("\nskipped ({}), by reason:\n", self.skipped));
            for (reason, n) in &self.skip_reasons {
                out.push_str(&format!("  {n:>5}  {reason}\n"));
            }
        }
        out.push('\n');
        for line in &self.profile {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("\nobserved fault classes: ");
        let classes: Vec<String> = self.fault_classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        out.push_str(&classes.join(", "));
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_messages_map_onto_trap_codes() {
        use TrapCode::*;
        let cases = [
            ("uninitialized element", IndirectCallToNull),
            ("uninitialized element 2", IndirectCallToNull),
            ("undefined element", TableOutOfBounds),
            ("out of bounds table access", TableOutOfBounds),
            ("out of bounds memory access", MemoryOutOfBounds),
            ("unreachable", UnreachableCodeReached),
            ("integer overflow", IntegerOverflow),
            ("invalid conversion to integer", BadConversionToInteger),
            ("integer divide by zero", IntegerDivisionByZero),
            ("call stack exhausted", StackOverflow),
            ("indirect call type mismatch", BadSignature),
            ("null function reference", NullReference),
            ("null reference", NullReference),
            ("null structure reference", NullReference),
            ("null array reference", NullReference),
            ("null i31 reference", NullReference),
            ("out of bounds array access", ArrayOutOfBounds),
            ("cast failure", CastFailure),
            ("uncaught exception", UncaughtException),
        ];
        for (message, code) in cases {
            assert_eq!(expected_traps(message), Some(&[code][..]), "{message}");
        }
        assert_eq!(expected_traps("something new"), None);
    }
}
