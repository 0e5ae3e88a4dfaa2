//! A random module's run (`faultbox fuzz`) judged against the three rules:
//! every step ends classified, no worker dies, no run passes its deadline.

use crate::outcome::{FaultClass, TrapCode};
use crate::protocol::{FuzzEnding, FuzzReport};
use serde::Serialize;

/// What one module did, judged against the rules.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    pub index: u64,
    /// Broken rules; empty when the module behaved.
    pub broken: Vec<String>,
    /// Fault classes of its steps.
    pub classes: Vec<FaultClass>,
    pub trap_codes: Vec<TrapCode>,
    pub calls: usize,
    /// Instantiation completed (no trap in the start function or segments).
    pub instantiated: bool,
}

/// The fault class of one step; `None` for an ending faultbox cannot
/// classify (a rule broken).
pub fn class_of(e: &FuzzEnding) -> Option<FaultClass> {
    match e {
        FuzzEnding::Completed => Some(FaultClass::None),
        FuzzEnding::Trapped(t) => Some(t.fault_class()),
        FuzzEnding::Error(_) => None,
    }
}

/// Checks one report against the rules.
pub fn judge(index: u64, report: &FuzzReport, deadline_us: u64) -> Judgement {
    let mut j = Judgement {
        index,
        broken: Vec::new(),
        classes: Vec::new(),
        trap_codes: Vec::new(),
        calls: report.calls.len(),
        instantiated: report.instantiate == Some(FuzzEnding::Completed),
    };
    if let Some(why) = &report.compile_error {
        j.broken.push(format!("a valid module did not compile: {why}"));
    }
    let steps = report.instantiate.iter().map(|e| ("instantiation".to_string(), e)).chain(report.calls.iter().map(|(n, e)| (format!("call {n}"), e)));
    for (step, e) in steps {
        match class_of(e) {
            Some(c) => j.classes.push(c),
            None => j.broken.push(format!("{step} ended unclassified: {e:?}")),
        }
        if let FuzzEnding::Trapped(t) = e {
            j.trap_codes.push(*t);
        }
    }
    if report.wall_us > deadline_us {
        j.broken.push(format!("ran {} ms, past its {} ms deadline", report.wall_us / 1000, deadline_us / 1000));
    }
    j
}

