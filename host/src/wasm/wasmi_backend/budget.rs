//! The CPU budget through fuel: wasmi has no epoch and no way to stop a
//! running guest from another thread, so a call runs on fuel in slices
//! (`call_resumable`), and between slices the calling thread reads its own
//! CPU clock against the budget and its wall clock against the backstop,
//! refuelling while both are unspent. Each slice is sized from the rate
//! the last one ran at, to take about a millisecond of CPU: fuel counts
//! wasm instructions, and a millisecond of them is a thousand times more
//! fuel in a tight loop than in a loop of host calls.

use super::imports::RunState;
use super::traps;
use crate::limits::{Deadline, ran_out, wall_backstop};
use crate::process::thread_cpu_time;
use crate::protocol::WasmEnding;
use crate::wasm::backend::panic_message;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};
use wasmi::{Store, TypedFunc, TypedResumableCall, WasmParams, WasmResults};

/// About 1 ms of instruction-bound guest code in fuel: measured on this
/// machine at 2.3–2.9 million fuel per ms of CPU (an endless `br` loop;
/// the Rust guest's `runaway_loop`), 2–5 million for Go's runtime start-up
/// (see `tests::fuel_rates`). wasmi charges fuel per instruction of its
/// own bytecode (more for bulk memory and table operations), never for
/// the host functions a guest calls, so code that lives in host calls or
/// page faults runs far longer per unit of fuel (the Rust guest's
/// `memory_bomb`: 56 thousand per ms).
pub const SLICE_FUEL: u64 = 2_500_000;

/// What one slice should take of CPU time: a spent budget is noticed
/// within about this much, and reading the thread's CPU clock (a system
/// call) costs nothing measurable at that rate.
pub const SLICE_CPU: Duration = Duration::from_millis(1);

/// The first slice of a call: small, so that code slow per unit of fuel
/// cannot overshoot the budget by much before the rate is known.
const FIRST_SLICE: u64 = SLICE_FUEL / 64;
const MIN_SLICE: u64 = SLICE_FUEL / 1024;
const MAX_SLICE: u64 = SLICE_FUEL * 4;

/// The next slice, from how long the last one took: sized to take
/// [`SLICE_CPU`] at the rate the last one ran, growing at most twofold a
/// step (a slice that ended early in a host call says little).
fn next_slice(slice: u64, took: Duration) -> u64 {
    let at_rate = match took.as_nanos() {
        0 => u64::MAX,
        ns => (slice as u128 * SLICE_CPU.as_nanos() / ns).min(u64::MAX as u128) as u64,
    };
    at_rate.min(slice.saturating_mul(2)).clamp(MIN_SLICE, MAX_SLICE)
}

/// One budget: a CPU-time allowance on the calling thread, from when it
/// was started, with its wall-clock backstop.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    cpu: Duration,
    cpu_at_start: Duration,
    started: Instant,
    pub wall_until: Instant,
}

impl Budget {
    pub fn start(cpu: Duration) -> Budget {
        let started = Instant::now();
        Budget { cpu, cpu_at_start: thread_cpu_time(), started, wall_until: started + wall_backstop(cpu) }
    }

    /// The deadline that has passed, if one has.
    pub fn ran_out(&self) -> Option<Deadline> {
        ran_out(self.cpu_used(), self.cpu, Instant::now(), self.wall_until)
    }

    pub fn cpu_used(&self) -> Duration {
        thread_cpu_time().saturating_sub(self.cpu_at_start)
    }

    pub fn cpu_us(&self) -> u64 {
        self.cpu_used().as_micros() as u64
    }

    pub fn wall_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// The fuel that stands for the whole budget, for code wasmi cannot
    /// resume (a module's start function runs inside instantiation, on
    /// plain `Func::call`): the budget's milliseconds in slices.
    pub fn whole_fuel(&self) -> u64 {
        (self.cpu.as_millis() as u64).max(1).saturating_mul(SLICE_FUEL)
    }
}

/// Calls `func` with `params` under `budget`. `Err` is how the call ended
/// when it did not return; the deadline is set when a budget ran out.
pub fn call<P: WasmParams, R: WasmResults>(
    store: &mut Store<RunState>,
    func: &TypedFunc<P, R>,
    params: P,
    budget: &Budget,
) -> (Result<R, WasmEnding>, Option<Deadline>) {
    store.data_mut().budget = Some(*budget);
    let called = catch_unwind(AssertUnwindSafe(|| {
        let mut slice = FIRST_SLICE;
        let mut slice_began = budget.cpu_used();
        // `set_fuel` fails only when the engine does not count fuel, and
        // every engine of this backend does.
        let _ = store.set_fuel(slice);
        let mut step = func.call_resumable(&mut *store, params);
        loop {
            match step {
                Ok(TypedResumableCall::Finished(value)) => return (Ok(value), None),
                // A host function's error ends the call (it is never
                // resumed): an exit, a host operation's refusal, a panic,
                // or a wait that reached the wall-clock backstop.
                Ok(TypedResumableCall::HostTrap(trap)) => {
                    let err = trap.host_error();
                    return (Err(traps::ending(err)), traps::deadline_of(err));
                }
                Ok(TypedResumableCall::OutOfFuel(paused)) => {
                    if let Some(deadline) = budget.ran_out() {
                        // Dropping the paused call gives its stack back to
                        // the engine; the instance stays as the last
                        // instruction left it, as after wasmtime's interrupt.
                        return (Err(traps::out_of_fuel()), Some(deadline));
                    }
                    let now = budget.cpu_used();
                    slice = next_slice(slice, now.saturating_sub(slice_began));
                    slice_began = now;
                    // One instruction may need more than a slice (a large
                    // memory.fill): it gets what it needs.
                    let _ = store.set_fuel(slice.max(paused.required_fuel()));
                    step = paused.resume(&mut *store);
                }
                Err(err) => return (Err(traps::ending(&err)), traps::deadline_of(&err)),
            }
        }
    }));
    match called {
        Ok(result) => result,
        // Host functions catch their own panics (`imports::guarded`); this
        // is a panic in wasmi itself, outside any instruction handler.
        Err(payload) => (Err(WasmEnding::HostPanic { message: panic_message(&*payload) }), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::wasmi_backend::{engine::WasmiSpec, imports};
    use crate::model::EngineConfig;

    fn store_and_loop(wat: &str, with_fb: bool) -> (Store<RunState>, TypedFunc<i64, i64>) {
        let engine = WasmiSpec::new(EngineConfig::Wasmi, 512).build().unwrap();
        let module = wasmi::Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let mut store = Store::new(&engine, RunState::new(1 << 30, |_| {}));
        let mut host = imports::Host::new(&engine);
        if with_fb {
            imports::define(&mut host).unwrap();
        }
        let instance = host.linker.instantiate_and_start(&mut store, &module).unwrap();
        let func = instance.get_typed_func::<i64, i64>(&store, "run").unwrap();
        (store, func)
    }

    /// An endless loop of arithmetic and a local: the shape of the guest's
    /// `runaway_loop`.
    const SPIN: &str = r#"(module (func (export "run") (param $n i64) (result i64)
        (loop $l (local.set $n (i64.add (local.get $n) (i64.const 1))) (br $l)) (local.get $n)))"#;

    /// An endless loop that lives in a host function: each turn hands
    /// fb.write 64 KiB, a few instructions of fuel for much more CPU.
    const WRITES: &str = r#"(module (import "fb" "write" (func $w (param i32 i32)))
        (memory 2) (export "memory" (memory 0))
        (func (export "run") (param $n i64) (result i64)
          (loop $l (call $w (i32.const 0) (i32.const 65536)) (br $l)) (local.get $n)))"#;

    /// SLICE_FUEL is about a millisecond of instruction-bound code: the
    /// endless loop runs between 0.3 and 3 slices a millisecond (printed:
    /// the rate SLICE_FUEL was chosen from).
    #[test]
    fn fuel_rates() {
        let (mut store, func) = store_and_loop(SPIN, false);
        let _ = store.set_fuel(100 * SLICE_FUEL);
        let cpu = thread_cpu_time();
        assert!(func.call(&mut store, 0).is_err(), "it ran out of fuel");
        let per_ms = (100 * SLICE_FUEL) as f64 / ((thread_cpu_time() - cpu).as_secs_f64() * 1000.0);
        println!("the endless loop: {per_ms:.0} fuel per ms of CPU");
        assert!((SLICE_FUEL as f64 * 0.3..SLICE_FUEL as f64 * 3.0).contains(&per_ms), "{per_ms:.0} fuel per ms");
    }

    #[test]
    fn slices_adapt_to_about_a_millisecond() {
        assert_eq!(next_slice(10_000, Duration::from_micros(100)), 20_000, "at most twofold");
        assert_eq!(next_slice(SLICE_FUEL, Duration::from_millis(10)), SLICE_FUEL / 10);
        assert_eq!(next_slice(MIN_SLICE, Duration::from_secs(1)), MIN_SLICE);
        assert_eq!(next_slice(MAX_SLICE, Duration::ZERO), MAX_SLICE);
    }

    /// A spent budget ends the call as out_of_fuel with the CPU deadline,
    /// within a few slices of the budget, whether the loop is all
    /// instructions or all host calls.
    #[test]
    fn a_spent_budget_ends_the_call_as_out_of_fuel_with_a_cpu_deadline() {
        for (what, wat, host) in [("instructions", SPIN, false), ("host calls", WRITES, true)] {
            let (mut store, func) = store_and_loop(wat, host);
            let budget = Budget::start(Duration::from_millis(50));
            let (result, deadline) = call(&mut store, &func, 0, &budget);
            assert!(matches!(result, Err(WasmEnding::Trapped { trap: crate::outcome::TrapCode::OutOfFuel, .. })), "{what}: {result:?}");
            assert_eq!(deadline, Some(Deadline::Cpu), "{what}");
            let used = budget.cpu_used();
            println!("{what}: stopped after {used:?} of CPU");
            assert!(used >= Duration::from_millis(50) && used < Duration::from_millis(60), "{what}: stopped after {used:?} of CPU");
        }
    }
}
