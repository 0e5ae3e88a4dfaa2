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

use crate::protocol::{DirectiveResult, Observed, UNCAUGHT, WastObservation};
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
    } else if m == UNCAUGHT {
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

/// The directives whose expectation is a trap.
pub fn is_trap_kind(kind: &str) -> bool {
    matches!(kind, "assert_trap" | "assert_exhaustion" | "assert_exception")
}

/// One directive, judged.
#[derive(Clone, Debug, Serialize)]
pub struct Judged {
    pub file: PathBuf,
    pub line: usize,
    pub kind: String,
    pub expected: String,
    /// faultbox's trap code(s) for the expected message (trap directives).
    pub expected_traps: Vec<TrapCode>,
    /// Written as the compare report's endings are, with a `kind` beside
    /// its fields (the worker protocol calls it `type`).
    #[serde(serialize_with = "observed_with_kind")]
    pub observed: Observed,
    /// faultbox's fault class for what was observed.
    pub fault: FaultClass,
    pub agreement: Agreement,
    /// It agrees through an unspecific trap code: the engine reported a
    /// trap that stands for the expected one and another, not telling them
    /// apart ([`TrapCode::stands_for`]).
    pub unspecific: bool,
}

fn observed_with_kind<S: serde::Serializer>(observed: &Observed, s: S) -> Result<S::Ok, S::Error> {
    let mut value = serde_json::to_value(observed).map_err(serde::ser::Error::custom)?;
    if let Some(fields) = value.as_object_mut() {
        if let Some(kind) = fields.remove("type") {
            fields.insert("kind".into(), kind);
        }
    }
    value.serialize(s)
}

/// Whether what was observed is what a directive of this kind expects.
/// - trap directives: a trap whose code the expected message stands for;
/// - `assert_return`: the values, matched (see `worker::wast::values`);
///   `invoke`: any values, without a trap;
/// - `assert_invalid`, `assert_malformed`: the module rejected by the text
///   parser, the decoder or the validator. Only *that* it is rejected is
///   compared, not the message: wasmtime's messages are not the reference
///   interpreter's. (Under `--wasm-features 2.0` a Wasm 3.0 module is
///   rejected for its features, which also counts.)
/// - `assert_unlinkable`: the module compiles and fails to link;
/// - `module`, `module definition`, `module instance`, `register`: it
///   compiled, instantiated, registered.
fn agrees(kind: &str, observed: &Observed, traps: Option<&[TrapCode]>) -> bool {
    match (kind, observed) {
        // An unspecific code (an engine that does not tell two traps
        // apart) agrees when it stands for the expected one; `Judged`
        // marks it unspecific, and the counts say how many.
        (k, Observed::Trapped { trap, .. }) if is_trap_kind(k) => traps.is_some_and(|c| trap.stands_for().iter().any(|t| c.contains(t))),
        (k, _) if is_trap_kind(k) => false,
        ("assert_return" | "invoke", Observed::Values { mismatch, .. }) => mismatch.is_none(),
        ("assert_invalid" | "assert_malformed", Observed::Rejected { .. }) => true,
        ("assert_unlinkable", Observed::Rejected { stage, .. }) => stage == "link or instantiate",
        ("module" | "module definition" | "module instance" | "register", Observed::Accepted) => true,
        _ => false,
    }
}

pub fn judge(file: &PathBuf, d: &DirectiveResult) -> Judged {
    let expected = if is_trap_kind(&d.kind) { expected_traps(&d.expected) } else { None };
    let fault = match &d.observed {
        Observed::Trapped { trap, .. } => trap.fault_class(),
        Observed::Failed { .. } => FaultClass::Unknown,
        _ => FaultClass::None,
    };
    let agreement = match &d.observed {
        Observed::Skipped { .. } => Agreement::Skipped,
        observed if agrees(&d.kind, observed, expected) => Agreement::Agree,
        _ => Agreement::Disagree,
    };
    Judged {
        file: file.clone(),
        line: d.line as usize,
        kind: d.kind.clone(),
        expected: d.expected.clone(),
        expected_traps: expected.map(<[TrapCode]>::to_vec).unwrap_or_default(),
        observed: d.observed.clone(),
        unspecific: agreement == Agreement::Agree && matches!(&d.observed, Observed::Trapped { trap, .. } if trap.stands_for().len() > 1),
        fault,
        agreement,
    }
}

/// How the directives of one kind went.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KindCount {
    pub directives: usize,
    pub agree: usize,
    pub disagree: usize,
    pub skipped: usize,
}

impl KindCount {
    fn add(&mut self, a: &Agreement) {
        self.directives += 1;
        match a {
            Agreement::Agree => self.agree += 1,
            Agreement::Disagree => self.disagree += 1,
            Agreement::Skipped => self.skipped += 1,
        }
    }

    fn merge(&mut self, o: &KindCount) {
        self.directives += o.directives;
        self.agree += o.agree;
        self.disagree += o.disagree;
        self.skipped += o.skipped;
    }
}

/// Directive kinds in the order reports list them; any other kind follows.
const KIND_ORDER: [&str; 15] = [
    "assert_return",
    "assert_trap",
    "assert_exhaustion",
    "assert_exception",
    "assert_invalid",
    "assert_malformed",
    "assert_unlinkable",
    "module",
    "module definition",
    "module instance",
    "register",
    "invoke",
    "assert_invalid_custom",
    "assert_malformed_custom",
    "assert_suspension",
];

/// `kinds` in report order (`KIND_ORDER`, then the rest).
pub fn ordered(kinds: &BTreeMap<String, KindCount>) -> Vec<(&str, &KindCount)> {
    let mut out: Vec<(&str, &KindCount)> =
        KIND_ORDER.iter().filter_map(|k| kinds.get(*k).map(|c| (*k, c))).collect();
    out.extend(kinds.iter().filter(|(k, _)| !KIND_ORDER.contains(&k.as_str())).map(|(k, c)| (k.as_str(), c)));
    out
}

/// One script's results.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub assert_trap: usize,
    pub assert_exhaustion: usize,
    pub assert_exception: usize,
    /// Every directive of the script.
    pub directive_count: usize,
    pub agree: usize,
    /// Of `agree`, those that agree through an unspecific trap code.
    pub unspecific: usize,
    pub disagree: usize,
    pub skipped: usize,
    /// Per directive kind.
    pub kinds: BTreeMap<String, KindCount>,
    /// Set when the worker died running this script.
    pub worker_lost: Option<String>,
    pub directives: Vec<Judged>,
}

impl FileReport {
    pub fn new(file: PathBuf, obs: &WastObservation) -> FileReport {
        let directives: Vec<Judged> = obs.directives.iter().map(|d| judge(&file, d)).collect();
        let count = |a: Agreement| directives.iter().filter(|j| j.agreement == a).count();
        let mut kinds: BTreeMap<String, KindCount> = BTreeMap::new();
        for j in &directives {
            kinds.entry(j.kind.clone()).or_default().add(&j.agreement);
        }
        FileReport {
            assert_trap: directives.iter().filter(|j| j.kind == "assert_trap").count(),
            assert_exhaustion: directives.iter().filter(|j| j.kind == "assert_exhaustion").count(),
            assert_exception: directives.iter().filter(|j| j.kind == "assert_exception").count(),
            directive_count: directives.len(),
            agree: count(Agreement::Agree),
            unspecific: directives.iter().filter(|j| j.unspecific).count(),
            disagree: count(Agreement::Disagree),
            skipped: count(Agreement::Skipped),
            kinds,
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
            directive_count: 0,
            agree: 0,
            unspecific: 0,
            disagree: 0,
            skipped: 0,
            kinds: BTreeMap::new(),
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
    /// Every directive of every script, run or skipped.
    pub directive_count: usize,
    pub agree: usize,
    /// Of `agree`, those that agree through an unspecific trap code.
    pub unspecific: usize,
    pub disagree: usize,
    pub skipped: usize,
    /// Agreement on the directives that ran, in percent; absent when none
    /// ran.
    pub agreement_percent: Option<f64>,
    /// Per directive kind.
    pub kinds: BTreeMap<String, KindCount>,
    /// Observed fault classes of the trap directives, with counts.
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
                _ if is_trap_kind(&j.kind) => *fault_classes.entry(j.fault.name().to_string()).or_insert(0) += 1,
                _ => {}
            }
        }
        let mut kinds: BTreeMap<String, KindCount> = BTreeMap::new();
        for (k, c) in files.iter().flat_map(|f| &f.kinds) {
            kinds.entry(k.clone()).or_default().merge(c);
        }
        let agree: usize = sum(|f| f.agree);
        let disagree: usize = sum(|f| f.disagree);
        let ran = agree + disagree;
        WastReport {
            model: model.name().to_string(),
            wasm_features: profile.name().to_string(),
            profile: crate::wasm::profile_table(profile, &[model]),
            assert_exception: sum(|f| f.assert_exception),
            assert_trap: sum(|f| f.assert_trap),
            assert_exhaustion: sum(|f| f.assert_exhaustion),
            directive_count: sum(|f| f.directive_count),
            agree,
            unspecific: sum(|f| f.unspecific),
            disagree,
            skipped: sum(|f| f.skipped),
            agreement_percent: if ran == 0 { None } else { Some(100.0 * agree as f64 / ran as f64) },
            kinds,
            fault_classes,
            skip_reasons,
            files,
        }
    }

    pub fn all_agree(&self) -> bool {
        self.disagree == 0 && self.files.iter().all(|f| f.worker_lost.is_none())
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
