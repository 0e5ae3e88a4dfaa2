//! The watchdog: a thread that interrupts a run whose CPU-time budget is
//! spent, through whatever the engine offers ([`Interruptible`]: wasmtime
//! bumps its epoch, and the running guest traps at its next epoch check).
//!
//! The budget is counted on the CPU clock of the thread that armed the
//! watchdog (the thread that then calls into wasm), not on the wall clock:
//! a guest starved by a busy machine still gets its full budget. A much
//! larger wall-clock backstop stops a guest that is not running at all,
//! and the watchdog says which of the two fired.

use crate::limits::{Deadline, wall_backstop};
use crate::process::cpu_time;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Something the watchdog can interrupt from another thread.
pub trait Interruptible: Send {
    /// Makes the running guest stop at its next check.
    fn interrupt(&self);
}

/// One armed run.
struct Armed {
    target: Box<dyn Interruptible>,
    /// The CPU clock of the thread that runs the guest.
    clock: libc::clockid_t,
    cpu_at_arm: Duration,
    cpu_budget: Duration,
    wall_until: Instant,
}

#[derive(Default)]
struct State {
    armed: Option<Armed>,
    /// Set when the watchdog bumped the epoch for the current arming.
    fired: Option<Deadline>,
}

/// Interrupts the current run when its budget runs out.
#[derive(Clone)]
pub struct Watchdog {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Watchdog {
    pub fn new() -> Watchdog {
        let shared: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("fb-watchdog".into())
            .spawn(move || {
                let (lock, cvar) = &*theirs;
                let mut state = lock.lock().unwrap();
                loop {
                    let Some(armed) = state.armed.as_ref() else {
                        state = cvar.wait(state).unwrap();
                        continue;
                    };
                    let used = cpu_time(armed.clock).saturating_sub(armed.cpu_at_arm);
                    let now = Instant::now();
                    match crate::limits::ran_out(used, armed.cpu_budget, now, armed.wall_until) {
                        Some(deadline) => {
                            armed.target.interrupt();
                            state.fired = Some(deadline);
                            state.armed = None;
                        }
                        None => {
                            // A thread cannot use more CPU time than wall
                            // time passes: sleeping what is left of the CPU
                            // budget never overshoots it.
                            let wait = (armed.cpu_budget - used).min(armed.wall_until - now).max(Duration::from_millis(1));
                            state = cvar.wait_timeout(state, wait).unwrap().0;
                        }
                    }
                }
            })
            .expect("spawn the epoch watchdog");
        Watchdog { shared }
    }

    /// Arms the watchdog for a run on the calling thread with a CPU budget
    /// of `cpu_budget` (and its wall-clock backstop).
    pub fn arm<T: Interruptible + Clone + 'static>(&self, target: &T, cpu_budget: Duration) {
        // Read from the watchdog's thread; where a thread CPU clock cannot
        // be had, the monotonic clock (the budget then counts wall time,
        // never the watchdog's own CPU).
        let clock = crate::process::current_thread_cpu_clock();
        let armed = Armed {
            target: Box::new(target.clone()),
            clock,
            cpu_at_arm: cpu_time(clock),
            cpu_budget,
            wall_until: Instant::now() + wall_backstop(cpu_budget),
        };
        let (lock, cvar) = &*self.shared;
        *lock.lock().unwrap() = State { armed: Some(armed), fired: None };
        cvar.notify_one();
    }

    /// Disarms the watchdog; says which deadline fired during the run, if
    /// one did.
    pub fn disarm(&self) -> Option<Deadline> {
        let (lock, cvar) = &*self.shared;
        let fired = std::mem::take(&mut *lock.lock().unwrap()).fired;
        cvar.notify_one();
        fired
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its interruptions.
    #[derive(Clone, Default)]
    struct Target(std::sync::Arc<std::sync::atomic::AtomicU32>);

    impl Interruptible for Target {
        fn interrupt(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn engine() -> Target {
        Target::default()
    }

    #[test]
    fn burning_the_cpu_budget_fires_the_cpu_deadline() {
        let (watchdog, engine) = (Watchdog::new(), engine());
        watchdog.arm(&engine, Duration::from_millis(30));
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) && crate::process::thread_cpu_time() < Duration::from_millis(200) {
            std::hint::spin_loop();
        }
        assert_eq!(watchdog.disarm(), Some(Deadline::Cpu));
        assert_eq!(engine.0.load(std::sync::atomic::Ordering::SeqCst), 1, "interrupted once");
    }

    #[test]
    fn a_thread_that_does_not_run_is_stalled_at_the_backstop() {
        let (watchdog, engine) = (Watchdog::new(), engine());
        let budget = Duration::from_millis(1);
        watchdog.arm(&engine, budget);
        // Sleeping uses no CPU: only the wall-clock backstop can fire.
        std::thread::sleep(wall_backstop(budget) + Duration::from_millis(300));
        assert_eq!(watchdog.disarm(), Some(Deadline::Wall));
    }

    #[test]
    fn a_run_within_its_budget_fires_nothing() {
        let (watchdog, engine) = (Watchdog::new(), engine());
        watchdog.arm(&engine, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(watchdog.disarm(), None);
    }
}
