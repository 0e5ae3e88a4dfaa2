//! A signal sent from outside (`[inject]`): what it did, decided from the
//! run's facts once the run is classified like any other, and the outcome
//! settled again in its light.
//!
//! The run's own classification already says how the process ended; what
//! it cannot know is that faultbox sent a signal. A process that died of
//! it, or ended after it, died of an `external_signal`; a guest whose own
//! handler took it recovered from one; a process that simply went on
//! until the guest's budget stopped it saw nothing, and nothing was
//! detected.

use super::verdict;
use crate::outcome::{Ending, FaultClass, Injection, InjectionTarget, Outcome, Reuse, Signal, SignalEffect, TrapCode};
use crate::protocol::InjectionReport;

/// What the signal did, from the facts: whether it was sent, how the run
/// ended, and whether the process hosting the guest survived.
pub fn effect(sent: bool, signal: Signal, ending: &Ending, host_survived: bool) -> SignalEffect {
    let budget_trap = |t: &TrapCode| matches!(t, TrapCode::Interrupt | TrapCode::OutOfFuel);
    match ending {
        _ if !sent => SignalEffect::NotSent,
        // The fork server stopped a process that was still running.
        Ending::TimedOut { .. } => SignalEffect::RanOn,
        // A hung worker was killed by faultbox, whatever the signal.
        Ending::Signaled { signal: s, .. } | Ending::WorkerLost { signal: Some(s), hung: false, .. } if *s == signal => {
            SignalEffect::Killed
        }
        _ if !host_survived => SignalEffect::Ended,
        Ending::Recovered { .. } => SignalEffect::Handled,
        Ending::Trapped { trap, .. } if !budget_trap(trap) => SignalEffect::Trapped,
        _ => SignalEffect::RanOn,
    }
}

/// Settles `outcome` (classified as if nothing had been sent) with what
/// the injection did.
pub fn settle(mut outcome: Outcome, report: InjectionReport, target: InjectionTarget) -> Outcome {
    let sent = report.sent_after_us.is_some();
    let effect = effect(sent, report.signal, &outcome.ending, outcome.containment.host_survived);
    let injection = Injection { signal: report.signal, target, sent_after_us: report.sent_after_us, still_pending: report.still_pending, effect };
    outcome.evidence.insert(0, words(&injection));
    match effect {
        // Nothing was done to the guest: its run stands as it was.
        SignalEffect::NotSent => {}
        SignalEffect::RanOn => {
            outcome.fault = FaultClass::None;
            // Natively the fork server ended a live process at the budget:
            // the process outlived the signal, and the stop was faultbox's.
            if matches!(outcome.ending, Ending::TimedOut { .. }) {
                outcome.containment.host_survived = true;
                outcome.containment.reuse = Reuse::NotChecked;
                outcome.containment.reuse_detail =
                    vec!["the guest never returned: it was stopped at its budget, so its health was not checked".into()];
            }
        }
        SignalEffect::Killed | SignalEffect::Ended | SignalEffect::Handled | SignalEffect::Trapped => {
            outcome.fault = FaultClass::ExternalSignal;
        }
    }
    if effect != SignalEffect::NotSent {
        let c = &mut outcome.containment;
        c.detected = outcome.fault != FaultClass::None;
        c.classified = outcome.fault == FaultClass::ExternalSignal;
        outcome.verdict = verdict(FaultClass::ExternalSignal, outcome.fault, c.host_survived, false, c.reuse);
    }
    outcome.injection = Some(injection);
    outcome
}

/// The injection in one sentence, for the outcome's evidence.
pub fn words(i: &Injection) -> String {
    let Some(us) = i.sent_after_us else {
        return format!("{} was never sent to {}: the guest did not report that it was ready", i.signal, i.target.name());
    };
    let sent = format!("faultbox sent {} to {} {:.1} ms into the run, once the guest reported ready", i.signal, i.target.name(), us as f64 / 1000.0);
    let what = match i.effect {
        SignalEffect::NotSent => unreachable!("sent"),
        SignalEffect::Killed => "the process died of it".to_string(),
        SignalEffect::Ended => "the process ended after it (not killed by the signal itself)".to_string(),
        SignalEffect::Handled => "the guest's own handler took it and the guest went on".to_string(),
        SignalEffect::Trapped => "the engine took it for a trap of the guest's".to_string(),
        SignalEffect::RanOn => match i.still_pending {
            Some(true) => "it was still pending when the guest's budget ran out: no thread ever took it".to_string(),
            _ => "the process ran on, unchanged, until the guest's budget stopped it".to_string(),
        },
    };
    format!("{sent}; {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Deadline;
    use crate::model::{ExecutionModel, Language};
    use crate::outcome::Verdict;

    const TERM: Signal = Signal(libc::SIGTERM);

    #[test]
    fn the_effect_follows_from_the_ending_and_survival() {
        let trap = |trap| Ending::Trapped { trap, message: String::new(), frames: vec![] };
        let timed_out = Ending::TimedOut { deadline: Deadline::Cpu, cpu_ms: 100, wall_ms: 120 };
        let cases: &[(bool, Ending, bool, SignalEffect)] = &[
            (false, Ending::Signaled { signal: TERM, core_dumped: false }, false, SignalEffect::NotSent),
            (true, Ending::Signaled { signal: TERM, core_dumped: false }, false, SignalEffect::Killed),
            (true, Ending::WorkerLost { signal: Some(TERM), exit_code: None, hung: false }, false, SignalEffect::Killed),
            (true, Ending::WorkerLost { signal: Some(TERM), exit_code: None, hung: true }, false, SignalEffect::Ended),
            (true, Ending::Exited { code: 2 }, false, SignalEffect::Ended),
            (true, Ending::Signaled { signal: Signal::SIGABRT, core_dumped: true }, false, SignalEffect::Ended),
            (true, timed_out, false, SignalEffect::RanOn),
            (true, Ending::Recovered { panic_message: String::new(), by: "sigsetjmp".into() }, true, SignalEffect::Handled),
            (true, trap(TrapCode::MemoryOutOfBounds), true, SignalEffect::Trapped),
            (true, trap(TrapCode::Interrupt), true, SignalEffect::RanOn),
            (true, trap(TrapCode::OutOfFuel), true, SignalEffect::RanOn),
            (true, Ending::Completed { value: 0 }, true, SignalEffect::RanOn),
        ];
        for (sent, ending, survived, want) in cases {
            assert_eq!(effect(*sent, TERM, ending, *survived), *want, "{ending:?}");
        }
    }

    fn outcome(ending: Ending, verdict: Verdict, fault: FaultClass, reuse: Reuse) -> Outcome {
        Outcome::for_test("signal_sigterm", Language::Go, ExecutionModel::Native, verdict, fault, ending, reuse)
    }

    fn sent() -> InjectionReport {
        InjectionReport { signal: TERM, sent_after_us: Some(4_000), still_pending: None }
    }

    #[test]
    fn a_process_killed_at_its_budget_after_the_signal_ran_on_and_noticed_nothing() {
        let mut o = outcome(Ending::TimedOut { deadline: Deadline::Cpu, cpu_ms: 100, wall_ms: 130 }, Verdict::Killed, FaultClass::Timeout, Reuse::Lost);
        // As classify::native has it: a process stopped at its budget did not survive.
        o.containment.host_survived = false;
        let o = settle(o, sent(), InjectionTarget::GuestProcess);
        assert_eq!((o.verdict, o.fault, o.containment.host_survived), (Verdict::Undetected, FaultClass::None, true));
        assert_eq!(o.containment.reuse, Reuse::NotChecked);
        assert!(!o.containment.detected);
        assert_eq!(o.injection.unwrap().effect, SignalEffect::RanOn);
    }

    #[test]
    fn a_death_by_the_signal_is_a_crash_of_an_external_signal() {
        let o = outcome(Ending::Signaled { signal: TERM, core_dumped: false }, Verdict::Crashed, FaultClass::Unknown, Reuse::Lost);
        let o = settle(o, sent(), InjectionTarget::GuestProcess);
        assert_eq!((o.verdict, o.fault), (Verdict::Crashed, FaultClass::ExternalSignal));
        assert!(o.containment.classified);
        assert!(o.evidence[0].contains("died of it"), "{}", o.evidence[0]);
    }

    #[test]
    fn a_handled_signal_is_recovered_when_the_process_is_still_sound() {
        let ending = Ending::Recovered { panic_message: "SIGTERM".into(), by: "signal.Notify".into() };
        let o = settle(outcome(ending.clone(), Verdict::Ok, FaultClass::None, Reuse::Reusable), sent(), InjectionTarget::GuestProcess);
        assert_eq!((o.verdict, o.fault), (Verdict::Recovered, FaultClass::ExternalSignal));
        let o = settle(outcome(ending, Verdict::Ok, FaultClass::None, Reuse::NotChecked), sent(), InjectionTarget::GuestProcess);
        assert_eq!(o.verdict, Verdict::Contained);
    }

    #[test]
    fn a_signal_never_sent_leaves_the_run_as_it_was() {
        let o = outcome(Ending::Exited { code: 2 }, Verdict::Crashed, FaultClass::Panic, Reuse::Lost);
        let not_sent = InjectionReport { sent_after_us: None, ..sent() };
        let o = settle(o, not_sent, InjectionTarget::WorkerProcess);
        assert_eq!((o.verdict, o.fault), (Verdict::Crashed, FaultClass::Panic));
        assert!(o.evidence[0].contains("never sent"));
    }
}
