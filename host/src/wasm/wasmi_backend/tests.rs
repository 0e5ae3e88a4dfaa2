//! The wasmi backend driven through `wasm::run`, as a worker drives it:
//! the Rust guest's scenarios, the reuse facts, WASI reactors (hand-written,
//! Go's and C's), the stack and CPU limits.

use super::*;
use crate::limits::Limits;
use crate::outcome::TrapCode;
use crate::protocol::{OUTPUT_TAIL_BYTES, ReuseFacts, WasmObservation};
use faultbox_guests::HEALTH_OK;

fn backend() -> Wasmi {
    Wasmi::new(EngineConfig::Wasmi, |_| {})
}

fn request(module: ModuleSource, export: &str, arg: i64) -> WasmRequest {
    WasmRequest {
        model: EngineConfig::Wasmi,
        module,
        export: export.into(),
        arg,
        limits: Limits::default(),
        check_reuse: true,
        wasi: false,
        reuse_rounds: 0,
        args: Vec::new(),
        inject: None,
    }
}

fn guest(scenario: &str, arg: i64) -> WasmRequest {
    request(ModuleSource::Bytes(crate::wasm::GUEST_WASM.to_vec()), &format!("fb_{scenario}"), arg)
}

fn run(backend: &mut Wasmi, req: &WasmRequest) -> WasmObservation {
    crate::wasm::run::run(backend, req).unwrap_or_else(|e| panic!("{}: {e:#}", req.export))
}

fn facts(obs: &WasmObservation) -> &ReuseFacts {
    obs.reuse.as_ref().expect("reuse was checked")
}

fn trapped(obs: &WasmObservation) -> TrapCode {
    match &obs.ending {
        WasmEnding::Trapped { trap, frames, .. } => {
            assert!(frames.is_empty(), "wasmi keeps no wasm backtrace");
            *trap
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn wat(text: &str) -> ModuleSource {
    ModuleSource::Bytes(wat::parse_str(text).unwrap())
}

#[test]
fn a_clean_run_returns_its_value_and_the_instance_stays_healthy() {
    let mut b = backend();
    let obs = run(&mut b, &guest("clean_run", 0));
    assert_eq!(obs.ending, WasmEnding::Completed { value: 590 });
    let f = facts(&obs);
    assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK));
    assert!(f.globals_changed.is_empty(), "{:?}", f.globals_changed);
    assert_eq!(f.stack_pointer.map(|(a, b)| a == b), Some(true), "__stack_pointer is read and restored");
    assert!(obs.call_cpu_us.is_some() && obs.fresh_context_us.is_some());
}

#[test]
fn arithmetic_traps_are_wasmis_and_the_instance_is_reused() {
    let mut b = backend();
    for (scenario, code, message) in [
        ("hardware_div_zero", TrapCode::IntegerDivisionByZero, "integer divide by zero"),
        ("int_min_div_neg_one", TrapCode::IntegerOverflow, "integer overflow"),
    ] {
        let mut req = guest(scenario, 0);
        req.reuse_rounds = 3;
        let obs = run(&mut b, &req);
        assert_eq!(trapped(&obs), code, "{scenario}");
        assert!(matches!(&obs.ending, WasmEnding::Trapped { message: m, .. } if m == message), "{scenario}: wasmi's own text");
        let f = facts(&obs);
        assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK), "{scenario}");
        assert_eq!((f.rounds_healthy, f.rounds_broke.as_deref()), (Some(3), None), "{scenario}");
    }
}

#[test]
fn a_null_write_is_undetected_and_a_wild_write_traps() {
    let mut b = backend();
    let obs = run(&mut b, &guest("null_write", 0));
    assert_eq!(obs.ending, WasmEnding::Completed { value: 0xDEAD_BEEF });
    let f = facts(&obs);
    assert_eq!(f.dead_stack_changed_runs.first().map(|r| r.0), Some(0), "the write landed at address 0: {f:?}");
    assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK));

    let obs = run(&mut b, &guest("wild_write", 0));
    assert_eq!(trapped(&obs), TrapCode::MemoryOutOfBounds);
    assert_eq!(obs.fault_detail, None, "wasmi attaches no fault address");
}

/// Unbounded recursion ends in wasmi's own stack limit, on a worker
/// thread whose native stack is far smaller than the recursion's frames:
/// wasmi does not recurse natively.
#[test]
fn unbounded_recursion_is_wasmis_stack_overflow_never_the_threads() {
    let endless = wat(r#"(module
      (func $down (export "fb_down") (param $n i64) (result i64)
        (i64.add (call $down (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))
      (func (export "fb_health") (result i64) (i64.const 0x600DF00D)))"#);
    let on_small_stack = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let mut b = backend();
            let guest_obs = run(&mut b, &guest("recursion_small_frames", 0));
            let wat_obs = run(&mut b, &request(endless, "fb_down", 0));
            (guest_obs, wat_obs)
        })
        .unwrap();
    let (obs, wat_obs) = on_small_stack.join().expect("the worker thread survived");
    assert_eq!(trapped(&obs), TrapCode::StackOverflow);
    assert!(matches!(&obs.ending, WasmEnding::Trapped { message, .. } if message == "call stack exhausted"));
    let depth = obs.progress.map(|p| p.last).unwrap_or(0);
    // 512 KiB at FRAME_BYTES a frame: wasmtime reached 10,916.
    assert!((5_000..=stack_limits(512).1 as i64).contains(&depth), "depth {depth}");
    let f = facts(&obs);
    assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK));
    assert_eq!(f.stack_pointer.map(|(a, b)| a == b), Some(true), "no shadow-stack frame was pushed");

    assert_eq!(trapped(&wat_obs), TrapCode::StackOverflow);
    assert_eq!(facts(&wat_obs).health, HealthCheck::Returned(HEALTH_OK));
}

/// A smaller `wasm_stack_kib` stops the same recursion sooner.
#[test]
fn the_stack_budget_sets_the_depth() {
    let mut b = backend();
    let depth = |b: &mut Wasmi, kib: u64| {
        let mut req = guest("recursion_small_frames", 0);
        req.limits.wasm_stack_kib = kib;
        let obs = run(b, &req);
        assert_eq!(trapped(&obs), TrapCode::StackOverflow, "{kib} KiB");
        obs.progress.map(|p| p.last).unwrap_or(0)
    };
    let (small, large) = (depth(&mut b, 64), depth(&mut b, 512));
    assert!(small * 6 < large && large < small * 10, "64 KiB: {small}, 512 KiB: {large}");
}

#[test]
fn a_runaway_loop_spends_its_cpu_budget_and_ends_out_of_fuel() {
    let mut b = backend();
    let mut req = guest("runaway_loop", 0);
    req.limits.timeout_ms = 50;
    req.reuse_rounds = 1;
    let obs = run(&mut b, &req);
    assert_eq!(trapped(&obs), TrapCode::OutOfFuel);
    assert_eq!(obs.deadline, Some(Deadline::Cpu));
    let cpu = obs.call_cpu_us.unwrap();
    assert!((50_000..80_000).contains(&cpu), "stopped after {cpu} µs of CPU");
    assert!(obs.progress.is_some_and(|p| p.reports > 0), "the loop ran");
    let f = facts(&obs);
    assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK), "the instance is intact");
    // The round's call runs into the budget again: the rounds stop there,
    // neither healthy nor broken.
    assert_eq!(f.rounds_healthy, Some(0));
    assert!(f.rounds_broke.is_none(), "{f:?}");
    assert!(f.rounds_stopped.as_deref().is_some_and(|s| s.starts_with("round 1: the scenario call ran into its CPU budget")), "{f:?}");
}

#[test]
fn refused_memory_growth_is_recorded() {
    let mut b = backend();
    let mut req = guest("memory_bomb", 1 << 20);
    req.limits.memory_mib = 64;
    let obs = run(&mut b, &req);
    assert_eq!(trapped(&obs), TrapCode::UnreachableCodeReached, "the allocator's abort");
    assert!(obs.refused_growth.first().is_some_and(|r| r.contains("refused by the store limit (64 MiB)")), "{:?}", obs.refused_growth);

    let obs = run(&mut b, &guest("memory_grow_refused", 1 << 30));
    assert_eq!(obs.ending, WasmEnding::Completed { value: -1 }, "memory.grow returned -1");
    assert_eq!(obs.refused_growth.len(), 1, "{:?}", obs.refused_growth);
    assert_eq!(facts(&obs).health, HealthCheck::Returned(HEALTH_OK));
}

#[test]
fn host_faults_end_the_call_and_the_instance_survives() {
    let mut b = backend();
    let obs = run(&mut b, &guest("host_panic", 0));
    assert!(matches!(&obs.ending, WasmEnding::HostPanic { message } if message.contains("panicked while serving")), "{:?}", obs.ending);
    assert_eq!(obs.host_call.as_deref(), Some("panic"));
    assert_eq!(facts(&obs).health, HealthCheck::Returned(HEALTH_OK));

    let obs = run(&mut b, &guest("host_error", 0));
    assert!(matches!(&obs.ending, WasmEnding::HostError { message } if message.contains("permission denied")), "{:?}", obs.ending);
    assert_eq!(obs.host_call.as_deref(), Some("fail"));
    assert_eq!(facts(&obs).health, HealthCheck::Returned(HEALTH_OK));
}

#[test]
fn an_unknown_host_operation_is_a_host_error() {
    let module = wat(r#"(module (import "fb" "host_call" (func $h (param i32) (result i64)))
      (func (export "fb_x") (param i64) (result i64) (call $h (i32.const 99))))"#);
    let obs = run(&mut backend(), &request(module, "fb_x", 0));
    assert_eq!(obs.ending, WasmEnding::HostError { message: "unknown host operation 99".into() });
    assert_eq!(facts(&obs).health, HealthCheck::Missing);
}

#[test]
fn modules_wasmi_refuses_are_the_modules_doing() {
    let mut b = backend();
    for (what, module) in [
        ("not wasm", ModuleSource::Bytes(b"\0asm\x02\0\0\0".to_vec())),
        ("an unknown fb import", wat(r#"(module (import "fb" "nope" (func)))"#)),
        ("an fb import of another type", wat(r#"(module (import "fb" "progress" (func (param i32))))"#)),
        ("an imported memory", wat(r#"(module (import "fb" "memory" (memory 1)))"#)),
        ("WASI without `wasi`", wat(r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#)),
    ] {
        let refused = b.prepare(&request(module.clone(), "fb_x", 0)).unwrap();
        assert!(refused.is_err(), "{what}");
        assert!(b.instantiate(&request(module, "fb_x", 0)).is_err(), "{what}: no instance either");
    }
    let mut wrong_model = guest("clean_run", 0);
    wrong_model.model = EngineConfig::Cranelift;
    assert!(b.prepare(&wrong_model).is_err(), "a wasmi worker does not run wasmtime's rows");
}

#[test]
fn a_start_function_runs_under_the_budget() {
    let module = wat(r#"(module (func $spin (loop $l (br $l))) (start $spin)
      (func (export "fb_x") (param i64) (result i64) (i64.const 0)))"#);
    let mut req = request(module, "fb_x", 0);
    req.limits.timeout_ms = 30;
    let t = std::time::Instant::now();
    let obs = run(&mut backend(), &req);
    assert_eq!(trapped(&obs), TrapCode::OutOfFuel);
    assert_eq!(obs.deadline, Some(Deadline::Cpu));
    assert!(obs.reuse.is_none(), "the scenario never ran");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// The same module is compiled once per engine and reused by every run.
#[test]
fn a_module_is_compiled_once() {
    let mut b = backend();
    let req = guest("clean_run", 0);
    assert_eq!(b.prepare(&req).unwrap(), Ok(()));
    let t = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(run(&mut b, &req).ending, WasmEnding::Completed { value: 590 });
    }
    let set = b.engines.values().next().unwrap();
    assert_eq!((b.engines.len(), set.prepared.len()), (1, 1));
    println!("20 runs of clean_run (with reuse checks and fresh instances): {:?}", t.elapsed());
}

// ---- WASI ----

fn wasi_request(module: ModuleSource, export: &str, arg: i64, reuse_rounds: u32) -> WasmRequest {
    WasmRequest { wasi: true, reuse_rounds, ..request(module, export, arg) }
}

/// The reactor of `wasmtime_backend/wasi.rs`'s test: `_initialize` sets a
/// flag the exports need, `fb_flood` writes `arg` × 1 MiB to stderr and 3
/// bytes to stdout, `fb_exit` calls `proc_exit(arg)`.
const REACTOR_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 17)
  (global $ready (mut i32) (i32.const 0))
  (data (i32.const 0) "out")
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func $ready (if (i32.eqz (global.get $ready)) (then unreachable)))
  (func (export "fb_health") (result i64) (call $ready) (i64.const 0x600DF00D))
  (func (export "fb_flood") (param $n i64) (result i64)
    (call $ready)
    (memory.fill (i32.const 65536) (i32.const 120) (i32.const 1048576))
    (i32.store (i32.const 16) (i32.const 65536))
    (i32.store (i32.const 20) (i32.const 1048576))
    (block $done (loop $again
      (br_if $done (i64.eqz (local.get $n)))
      (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 32)))
      (local.set $n (i64.sub (local.get $n) (i64.const 1)))
      (br $again)))
    (i32.store (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32)))
    (i64.const 7))
  (func (export "fb_exit") (param $code i64) (result i64)
    (call $ready)
    (call $proc_exit (i32.wrap_i64 (local.get $code)))
    (i64.const -1)))"#;

#[test]
fn a_wasi_reactor_is_initialised_its_output_bounded_and_its_exit_observed() {
    let module = wat(REACTOR_WAT);
    let mut b = backend();
    let obs = run(&mut b, &wasi_request(module.clone(), "fb_flood", 3, 2));
    assert_eq!(obs.ending, WasmEnding::Completed { value: 7 }, "_initialize ran first");
    assert_eq!(obs.stderr.total_bytes, 3 << 20, "a flood is counted");
    assert_eq!(obs.stderr.kept_bytes as usize, OUTPUT_TAIL_BYTES, "and bounded");
    assert_eq!((obs.output.total_bytes, obs.output.tail.as_str()), (3, "out"), "WASI stdout");
    let f = facts(&obs);
    assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK));
    assert_eq!((f.rounds_healthy, f.rounds_broke.as_deref()), (None, None), "a call that returned needs no rounds");
    assert!(obs.fresh_context_us.is_some());

    let obs = run(&mut b, &wasi_request(module.clone(), "fb_exit", 5, 2));
    assert_eq!(obs.ending, WasmEnding::Exited { code: 5 });
    let f = facts(&obs);
    assert_eq!(f.health, HealthCheck::Returned(HEALTH_OK));
    assert_eq!((f.rounds_healthy, f.rounds_broke.as_deref()), (Some(2), None), "an exit unwound the frames: rounds ran");

    let mut plain = wasi_request(module, "fb_flood", 0, 0);
    plain.wasi = false;
    assert!(b.prepare(&plain).unwrap().is_err(), "without WASI it does not link");
}

#[test]
fn a_reactor_that_dies_in_initialize_ends_the_run() {
    let module = |death: &str| {
        wat(&format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
              (memory (export "memory") 1)
              (data (i32.const 64) "fatal error: init\n")
              (func (export "_initialize")
                (i32.store (i32.const 16) (i32.const 64))
                (i32.store (i32.const 20) (i32.const 18))
                (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 32)))
                {death})
              (func (export "fb_x") (param i64) (result i64) (i64.const 0)))"#
        ))
    };
    let mut b = backend();
    let obs = run(&mut b, &wasi_request(module("unreachable"), "fb_x", 0, 0));
    assert_eq!(trapped(&obs), TrapCode::UnreachableCodeReached);
    assert_eq!(obs.stderr.tail, "fatal error: init\n");
    assert!(obs.reuse.is_none(), "the scenario never ran");
    let obs = run(&mut b, &wasi_request(module("(call $proc_exit (i32.const 2))"), "fb_x", 0, 0));
    assert_eq!(obs.ending, WasmEnding::Exited { code: 2 });
}

/// A command: `_start` reads its arguments; returning from it is exit 0,
/// `proc_exit(n)` exit n.
#[test]
fn a_wasi_command_reads_its_arguments_and_exits() {
    let module = wat(r#"(module
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (drop (call $sizes (i32.const 0) (i32.const 4)))
        ;; argc 0: return (exit 0); else exit(argc * 100 + bytes + first byte of argv[1])
        (if (i32.eqz (i32.load (i32.const 0))) (then return))
        (drop (call $get (i32.const 64) (i32.const 256)))
        (call $exit (i32.add (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 100)) (i32.load (i32.const 4)))
                             (i32.load8_u (i32.load (i32.const 68)))))))"#);
    let mut b = backend();
    let mut req = wasi_request(module.clone(), COMMAND_START, 0, 0);
    req.args = vec!["prog".into(), "A".into()];
    // argc 2, "prog\0A\0" is 7 bytes, 'A' is 65.
    assert_eq!(run(&mut b, &req).ending, WasmEnding::Exited { code: 200 + 7 + 65 });
    assert_eq!(run(&mut b, &wasi_request(module, COMMAND_START, 0, 0)).ending, WasmEnding::Exited { code: 0 });
}

/// Calls the reactor never makes still link, with the module's signature,
/// and answer ENOSYS; the standard streams answer as wasmtime-wasi's do.
#[test]
fn unimplemented_wasi_calls_link_and_answer_enosys() {
    let module = wat(r#"(module
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $stat (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      ;; Each errno in one decimal digit pair: the result is a number to read.
      (func (export "fb_x") (param i64) (result i64)
        (local $r i64)
        (local.set $r (i64.extend_i32_u (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                                                      (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $accept (i32.const 3) (i32.const 0) (i32.const 0)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 0)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $prestat (i32.const 3) (i32.const 0)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $stat (i32.const 1) (i32.const 0)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $read (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $close (i32.const 1)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $close (i32.const 1)))))
        (local.set $r (i64.add (i64.mul (local.get $r) (i64.const 100)) (i64.extend_i32_u (call $now (i32.const 2) (i64.const 0) (i32.const 0)))))
        (local.get $r)))"#);
    let obs = run(&mut backend(), &wasi_request(module, "fb_x", 0, 0));
    // ENOSYS, ENOSYS, ESPIPE, EBADF, 0 (fdstat of stdout), 0 (stdin: EOF),
    // 0 (close stdout), EBADF (closed), EBADF (a CPU-time clock).
    assert_eq!(obs.ending, WasmEnding::Completed { value: 52_52_70_08_00_00_00_08_08 });
}

/// `poll_oneoff` on a relative clock sleeps that long; one on a clock past
/// the call's wall-clock backstop sleeps only to the backstop, and the
/// guest that keeps waiting is stopped there: the wall deadline.
#[test]
fn poll_oneoff_sleeps_but_never_past_the_backstop() {
    let module = wat(r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      ;; One relative monotonic clock subscription of $ns at 0, the event at 64.
      (func $sleep (param $ns i64) (result i32)
        (i64.store (i32.const 0) (i64.const 42))
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (local.get $ns))
        (i32.store16 (i32.const 40) (i32.const 0))
        (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
        (i32.load (i32.const 128)))
      ;; One sleep: the number of events, times 1000, plus the event's userdata.
      (func (export "fb_sleep") (param $ns i64) (result i64)
        (i64.add (i64.mul (i64.extend_i32_u (call $sleep (local.get $ns))) (i64.const 1000)) (i64.load (i32.const 64))))
      ;; Sleeping an hour at a time, forever.
      (func (export "fb_forever") (param i64) (result i64)
        (loop $l (drop (call $sleep (i64.const 3600000000000))) (br $l)) (i64.const 0)))"#);
    let mut b = backend();
    let t = std::time::Instant::now();
    let obs = run(&mut b, &wasi_request(module.clone(), "fb_sleep", 30_000_000, 0));
    assert_eq!(obs.ending, WasmEnding::Completed { value: 1042 }, "one event, the subscription's");
    assert!(obs.call_us >= 30_000 && t.elapsed() < Duration::from_secs(2), "slept {} µs", obs.call_us);

    let mut req = wasi_request(module, "fb_forever", 0, 0);
    req.limits.timeout_ms = 1;
    req.check_reuse = false;
    let obs = run(&mut b, &req);
    assert_eq!(trapped(&obs), TrapCode::OutOfFuel);
    assert_eq!(obs.deadline, Some(Deadline::Wall), "stalled, not the CPU budget");
    let backstop = crate::limits::wall_backstop(Duration::from_millis(1)).as_micros() as u64;
    assert!(obs.call_us >= backstop && obs.call_us < backstop + 1_000_000, "{} µs", obs.call_us);
}

/// Every host function instantiates with the signature it was recorded
/// with (wasmi checks an import's type only when it instantiates).
#[test]
fn every_host_function_links_with_its_recorded_signature() {
    let engine = WasmiSpec::new(EngineConfig::Wasmi, 512).build().unwrap();
    let mut host = Host::new(&engine);
    imports::define(&mut host).unwrap();
    wasi::define(&mut host).unwrap();
    let types = |ts: &[wasmi::ValType]| ts.iter().map(|t| format!("{t:?}").to_lowercase()).collect::<Vec<_>>().join(" ");
    let imports: String = host
        .signatures()
        .map(|(m, n, ty)| format!(r#"(import "{m}" "{n}" (func (param {}) (result {})))"#, types(ty.params()), types(ty.results())))
        .collect();
    let module = Module::new(&engine, wat::parse_str(format!("(module {imports} (memory (export \"memory\") 1))")).unwrap()).unwrap();
    assert_eq!(host.check(&module), Ok(()));
    let mut store = Store::new(&engine, wasi::run_state(1 << 20, |_| {}, true, &[]));
    host.linker.instantiate_and_start(&mut store, &module).unwrap();
    assert!(host.signatures().count() >= 4 + 17, "fb and WASI are all there");
}

// ---- Go's and C's reactors ----

/// A guest language's wasm build in faultbox's artifact cache, newest first.
fn cached_build(language: &str) -> Option<std::path::PathBuf> {
    let root = crate::wasm::ModuleCache::from_env().dir()?.join("guests");
    let mut builds: Vec<_> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{language}-")))
        .map(|e| e.path().join("guest.wasm"))
        .filter(|p| p.is_file())
        .collect();
    builds.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    builds.pop()
}

/// How wasmtime (Cranelift) ends the same run: the reference a reactor in
/// wasmi is held to.
fn in_wasmtime(req: &WasmRequest) -> WasmObservation {
    let mut wasmtime = crate::wasm::WasmRunner::new(|_| {});
    let req = WasmRequest { model: EngineConfig::Cranelift, ..req.clone() };
    crate::wasm::run::run(&mut wasmtime, &req).unwrap()
}

fn same_ending(a: &WasmEnding, b: &WasmEnding) -> bool {
    match (a, b) {
        (WasmEnding::Trapped { trap: x, .. }, WasmEnding::Trapped { trap: y, .. }) => x == y,
        _ => a == b,
    }
}

/// Go's wasip1 reactor (faultbox's own cached build, or `guests/go/build.sh`
/// into /tmp/faultbox-go): its runtime starts in `_initialize`, and the
/// scenarios end as in wasmtime.
#[test]
fn go_reactor_runs_as_in_wasmtime() {
    // Only faultbox's own cache: a fixed path under /tmp is one any local
    // user could have planted.
    let Some(path) = cached_build("go") else {
        println!("note: no Go wasip1 build in faultbox's cache; skipped");
        return;
    };
    let module = ModuleSource::File(path);
    let mut b = backend();
    for (export, rounds) in [("fb_clean_run", 0), ("fb_go_plain_panic", 0), ("fb_wild_write", 3), ("fb_go_os_exit", 3), ("fb_null_write", 0)] {
        let mut req = wasi_request(module.clone(), export, 0, rounds);
        // wasmi interprets Go's runtime start-up: give it room.
        req.limits.timeout_ms = 10_000;
        let obs = run(&mut b, &req);
        let reference = in_wasmtime(&req);
        println!(
            "go {export}: wasmi {} in {} µs (init {} µs) | wasmtime {} | health {:?} vs {:?} | rounds {:?} vs {:?}",
            crate::wasm::describe(&obs.ending),
            obs.call_us,
            obs.instantiate_us,
            crate::wasm::describe(&reference.ending),
            obs.reuse.as_ref().map(|f| &f.health),
            reference.reuse.as_ref().map(|f| &f.health),
            obs.reuse.as_ref().and_then(|f| f.rounds_healthy),
            reference.reuse.as_ref().and_then(|f| f.rounds_healthy),
        );
        assert!(same_ending(&obs.ending, &reference.ending), "{export}: {:?} vs {:?}", obs.ending, reference.ending);
        assert_eq!(obs.guest_panic.is_some(), reference.guest_panic.is_some(), "{export}");
        let (f, g) = (facts(&obs), facts(&reference));
        assert_eq!((&f.health, f.rounds_healthy), (&g.health, g.rounds_healthy), "{export}");
    }
}

/// C's wasi-libc reactor (faultbox's cached build, or built here with
/// `guests/c/build.sh` when clang and wasi-libc are installed).
#[test]
fn c_reactor_runs_as_in_wasmtime() {
    // A private directory (mkdtemp: 0700, a name nobody can guess first).
    let mut template = std::env::temp_dir().join("faultbox-wasmi-c-XXXXXX").into_os_string().into_encoded_bytes();
    template.push(0);
    // SAFETY: a NUL-terminated template that mkdtemp fills in place.
    assert!(!unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) }.is_null(), "mkdtemp");
    template.pop();
    // SAFETY: mkdtemp returned the bytes of a path it made from ours.
    let built = std::path::PathBuf::from(unsafe { std::ffi::OsString::from_encoded_bytes_unchecked(template) });
    let path = cached_build("c").or_else(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/c/build.sh");
        let ok = std::process::Command::new(script).env("OUT", &built).output().is_ok_and(|o| o.status.success());
        Some(built.join("guest.wasm")).filter(|p| ok && p.is_file())
    });
    let Some(path) = path else {
        println!("note: no C wasm build and none could be made (guests/c/build.sh); skipped");
        return;
    };
    let module = ModuleSource::Bytes(std::fs::read(&path).unwrap());
    let _ = std::fs::remove_dir_all(&built);
    let mut b = backend();
    for (export, arg, rounds) in [
        ("fb_clean_run", 0, 0),
        ("fb_hardware_div_zero", 0, 3),
        ("fb_null_write", 0, 0),
        ("fb_wild_write", 0, 3),
        ("fb_recursion_small_frames", 0, 3),
        ("fb_memory_bomb", 1 << 20, 0),
    ] {
        let mut req = wasi_request(module.clone(), export, arg, rounds);
        req.limits.memory_mib = 64;
        let obs = run(&mut b, &req);
        let reference = in_wasmtime(&req);
        println!(
            "c {export}: wasmi {} | wasmtime {} | stderr {:?}",
            crate::wasm::describe(&obs.ending),
            crate::wasm::describe(&reference.ending),
            crate::wasm::run::key_line(&obs.stderr.tail).or(obs.stderr.tail.lines().next()),
        );
        assert!(same_ending(&obs.ending, &reference.ending), "{export}: {:?} vs {:?}", obs.ending, reference.ending);
        assert_eq!(obs.stderr.tail, reference.stderr.tail, "{export}: the same words on stderr");
        assert_eq!(obs.refused_growth.is_empty(), reference.refused_growth.is_empty(), "{export}");
        let (f, g) = (facts(&obs), facts(&reference));
        assert_eq!((&f.health, f.rounds_healthy), (&g.health, g.rounds_healthy), "{export}");
    }
}

