//! WASI preview 1 for guests whose runtime needs it — Go's wasip1 reactor
//! (`guests/go/README.md`, "Wasm: the reactor ABI").
//!
//! The implementation is wasmtime-wasi's (`p1::add_to_linker_sync`); this
//! file only configures it: no preopens, no arguments, an empty
//! environment, an empty stdin, and stdout and stderr captured into bounded
//! tails ([`SharedTail`], the same ring as `fb.write`'s output), so that a
//! flood of output is counted, never an error the guest sees.
//!
//! Also here: the reactor's `_initialize`.

use super::imports::RunState;
pub use crate::wasm::backend::{COMMAND_START, REACTOR_INIT};
use crate::protocol::{OutputTail, TailBuffer};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime::{Engine, Instance, Linker, Store};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The WASI side of a store: the context wasmtime-wasi works on, and the
/// two output tails it writes into.
pub struct WasiState {
    ctx: WasiP1Ctx,
    stdout: SharedTail,
    stderr: SharedTail,
}

impl WasiState {
    /// No preopens, no args, no environment; stdin is empty (closed).
    pub fn new() -> WasiState {
        WasiState::with_args(&[])
    }

    /// As [`WasiState::new`], with `args` as the command line (`argv[0]`
    /// first).
    pub fn with_args(args: &[String]) -> WasiState {
        let (stdout, stderr) = (SharedTail::default(), SharedTail::default());
        let ctx = wasmtime_wasi::WasiCtxBuilder::new().args(args).stdout(stdout.clone()).stderr(stderr.clone()).build_p1();
        WasiState { ctx, stdout, stderr }
    }
}

impl Default for WasiState {
    fn default() -> Self {
        WasiState::new()
    }
}

/// The store state for a run: WASI too when `wasi`, with `args` as its
/// command line.
pub fn run_state(memory_bytes: u64, announce: fn(faultbox_guests::host::HostOp), wasi: bool, args: &[String]) -> RunState {
    let mut state = RunState::new(memory_bytes, announce);
    if wasi {
        state.wasi = Some(WasiState::with_args(args));
    }
    state
}

/// A linker with the `fb` imports and WASI preview 1. Every store
/// instantiated through it must carry a [`WasiState`] ([`run_state`] with
/// `wasi`); a WASI call on a store without one is a host error.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<RunState>> {
    let mut linker = Linker::new(engine);
    super::imports::define(&mut linker)?;
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut RunState| {
        &mut s.wasi.as_mut().expect("a WASI module instantiated in a store without WASI state").ctx
    })?;
    Ok(linker)
}

/// Calls the reactor's `_initialize` if the module exports it (as `() -> ()`).
/// The caller has set the deadline; an error is the run's ending.
pub fn initialize(store: &mut Store<RunState>, instance: &Instance) -> wasmtime::Result<()> {
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, REACTOR_INIT) {
        init.call(&mut *store, ())?;
    }
    Ok(())
}

/// The guest's output as the observation reports it: `fb.write`'s, then
/// WASI stdout's (a module normally uses one or the other; with both, their
/// interleaving is lost and the totals add up).
pub fn output_tail(state: &RunState) -> OutputTail {
    crate::wasm::backend::merged_output(state.output.finish(), state.wasi.as_ref().map(|w| w.stdout.finish()))
}

/// WASI stderr so far (empty without WASI).
pub fn stderr_tail(state: &RunState) -> OutputTail {
    state.wasi.as_ref().map(|w| w.stderr.finish()).unwrap_or_default()
}

/// `proc_exit(code)`, if that is what ended a call.
pub fn exit_code(err: &wasmtime::Error) -> Option<i32> {
    err.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0)
}

/// One output stream's bounded tail, shared by every WASI handle to it
/// and by the worker that reads it. Implements wasmtime-wasi's output
/// stream traits: every write is accepted, the last
/// [`OUTPUT_TAIL_BYTES`](crate::protocol::OUTPUT_TAIL_BYTES) kept,
/// the rest counted.
#[derive(Clone, Default)]
pub struct SharedTail(Arc<Mutex<TailBuffer>>);

impl SharedTail {
    fn push(&self, bytes: &[u8]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(bytes);
    }

    pub fn finish(&self) -> OutputTail {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).finish()
    }
}

/// The most a single write may carry (the permit `check_write` grants);
/// wasmtime-wasi's blocking write loops over larger buffers.
const WRITE_PERMIT: usize = 64 * 1024;

impl IsTerminal for SharedTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for SharedTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for SharedTail {
    async fn ready(&mut self) {}
}

impl OutputStream for SharedTail {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for SharedTail {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::WasmRunner;
    use crate::model::EngineConfig;
    use crate::outcome::TrapCode;
    use crate::protocol::{HealthCheck, ModuleSource, OUTPUT_TAIL_BYTES, WasmEnding, WasmObservation, WasmRequest};
    use faultbox_guests::HEALTH_OK;

    const MODELS: [EngineConfig; 3] = [EngineConfig::Cranelift, EngineConfig::Explicit, EngineConfig::Pulley];

    fn request(model: EngineConfig, module: ModuleSource, export: &str, arg: i64, reuse_rounds: u32) -> WasmRequest {
        WasmRequest {
            model,
            module,
            export: export.into(),
            arg,
            limits: Default::default(),
            check_reuse: true,
            wasi: true,
            reuse_rounds,
            args: Vec::new(),
            inject: None,
        }
    }

    fn health(obs: &WasmObservation) -> &HealthCheck {
        &obs.reuse.as_ref().expect("reuse was checked").health
    }

    /// A reactor without Go: `_initialize` sets a flag the exports need,
    /// `fb_flood` writes `arg` × 1 MiB to stderr and 3 bytes to stdout,
    /// `fb_exit` calls `proc_exit(arg)`.
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
        ;; iovec at 16: 1 MiB from 65536 (memory beyond the first page is zeros, so 'x' it first)
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
        let module = ModuleSource::Bytes(wat::parse_str(REACTOR_WAT).unwrap());
        let mut runner = WasmRunner::new(|_| {});
        for model in MODELS {
            let obs = crate::wasm::run::run(&mut runner, &request(model, module.clone(), "fb_flood", 3, 2)).unwrap();
            assert_eq!(obs.ending, WasmEnding::Completed { value: 7 }, "{model}: _initialize ran first");
            assert_eq!(obs.stderr.total_bytes, 3 << 20, "{model}: a flood is counted");
            assert_eq!(obs.stderr.kept_bytes as usize, OUTPUT_TAIL_BYTES, "{model}: and bounded");
            assert_eq!((obs.output.total_bytes, obs.output.tail.as_str()), (3, "out"), "{model}: WASI stdout");
            let facts = obs.reuse.as_ref().unwrap();
            assert_eq!(facts.health, HealthCheck::Returned(HEALTH_OK));
            // A call that returned ran its way out: no rounds are needed.
            assert_eq!((facts.rounds_healthy, facts.rounds_broke.as_deref()), (None, None), "{model}");
            assert!(obs.fresh_context_us.is_some(), "{model}: the fresh instance was initialised and healthy");

            let obs = crate::wasm::run::run(&mut runner, &request(model, module.clone(), "fb_exit", 5, 2)).unwrap();
            assert_eq!(obs.ending, WasmEnding::Exited { code: 5 }, "{model}");
            assert_eq!(health(&obs), &HealthCheck::Returned(HEALTH_OK), "{model}");
            // An exit unwound the frames behind the runtime's back: rounds run.
            let facts = obs.reuse.as_ref().unwrap();
            assert_eq!((facts.rounds_healthy, facts.rounds_broke.as_deref()), (Some(2), None), "{model}");
        }
        // Without WASI the module does not link: a refusal, not a run.
        let mut plain = request(EngineConfig::Cranelift, module, "fb_flood", 0, 0);
        plain.wasi = false;
        assert!(crate::wasm::Backend::prepare(&mut runner, &plain).unwrap().is_err());
    }

    /// `_initialize` that dies: its ending is the run's, with its stderr.
    #[test]
    fn a_reactor_that_dies_in_initialize_ends_the_run() {
        let module = |death: &str| {
            let wat = format!(
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
            );
            ModuleSource::Bytes(wat::parse_str(wat).unwrap())
        };
        let mut runner = WasmRunner::new(|_| {});
        for model in MODELS {
            let obs = crate::wasm::run::run(&mut runner, &request(model, module("unreachable"), "fb_x", 0, 0)).unwrap();
            assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::UnreachableCodeReached, .. }), "{model}: {:?}", obs.ending);
            assert_eq!(obs.stderr.tail, "fatal error: init\n", "{model}");
            assert!(obs.reuse.is_none(), "{model}: the scenario never ran");
            let obs = crate::wasm::run::run(&mut runner, &request(model, module("(call $proc_exit (i32.const 2))"), "fb_x", 0, 0)).unwrap();
            assert_eq!(obs.ending, WasmEnding::Exited { code: 2 }, "{model}");
        }
    }

    #[test]
    fn a_missing_module_file_is_named() {
        let missing = std::path::PathBuf::from("/nonexistent/faultbox/guest.wasm");
        let err = crate::wasm::module_bytes(&ModuleSource::File(missing)).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/faultbox/guest.wasm"), "{err:#}");
    }

    /// Go's wasip1 reactor, when a build is at hand (`guests/go/build.sh`):
    /// the endings `guests/go/characterisation.md` records, in all three
    /// wasm engine configurations.
    #[test]
    fn go_reactor_endings_match_the_characterisation() {
        let path = std::path::Path::new("/tmp/faultbox-go/guest.wasm");
        if !path.exists() {
            println!("note: {} not found (OUT=/tmp/faultbox-go guests/go/build.sh builds it); skipped", path.display());
            return;
        }
        let module = ModuleSource::File(path.to_path_buf());
        let mut runner = WasmRunner::new(|_| {});
        for model in MODELS {
            let run = |runner: &mut WasmRunner, export: &str, rounds: u32| {
                let obs = crate::wasm::run::run(runner, &request(model, module.clone(), export, 0, rounds)).unwrap();
                let facts = obs.reuse.as_ref();
                println!(
                    "{model} {export}: {} | guest_panic {:?} | health {:?} | rounds {:?} {:?} | stderr {} bytes, key line {:?}",
                    crate::wasm::describe(&obs.ending),
                    obs.guest_panic,
                    facts.map(|f| &f.health),
                    facts.and_then(|f| f.rounds_healthy),
                    facts.and_then(|f| f.rounds_broke.as_deref()),
                    obs.stderr.total_bytes,
                    crate::wasm::run::key_line(&obs.stderr.tail),
                );
                obs
            };
            let obs = run(&mut runner, "fb_clean_run", 0);
            assert_eq!(obs.ending, WasmEnding::Completed { value: 590 }, "{model}");
            assert_eq!(health(&obs), &HealthCheck::Returned(HEALTH_OK), "{model}");

            let obs = run(&mut runner, "fb_go_plain_panic", 0);
            assert_eq!(obs.ending, WasmEnding::Completed { value: 0x7EC07E7ED }, "{model}");
            let panic = obs.guest_panic.as_deref().unwrap_or_default();
            assert!(panic.starts_with("string go_plain_panic"), "{model}: {panic:?}");
            assert_eq!(health(&obs), &HealthCheck::Returned(HEALTH_OK), "{model}");

            let obs = run(&mut runner, "fb_wild_write", 10);
            assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::MemoryOutOfBounds, .. }), "{model}: {:?}", obs.ending);
            let facts = obs.reuse.as_ref().unwrap();
            assert_eq!(facts.health, HealthCheck::Returned(HEALTH_OK), "{model}");
            assert_eq!((facts.rounds_healthy, facts.rounds_broke.as_deref()), (Some(10), None), "{model}");

            let obs = run(&mut runner, "fb_wild_write_panic_on_fault", 10);
            assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::MemoryOutOfBounds, .. }), "{model}: {:?}", obs.ending);
            let facts = obs.reuse.as_ref().unwrap();
            assert!(facts.rounds_broke.is_some() && facts.rounds_healthy < Some(10), "{model}: {facts:?}");

            let obs = run(&mut runner, "fb_recursion_small_frames", 10);
            assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::StackOverflow, .. }), "{model}: {:?}", obs.ending);
            let facts = obs.reuse.as_ref().unwrap();
            assert_eq!(facts.health, HealthCheck::Returned(HEALTH_OK), "{model}: healthy once");
            assert!(facts.rounds_broke.is_some() && facts.rounds_healthy < Some(10), "{model}: {facts:?}");

            let obs = run(&mut runner, "fb_goroutine_panic", 0);
            assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::UnreachableCodeReached, .. }), "{model}: {:?}", obs.ending);
            assert!(obs.stderr.tail.contains("panic: goroutine_panic"), "{model}: {}", obs.stderr.tail);
            assert_eq!(health(&obs), &HealthCheck::Failed("proc_exit(4)".into()), "{model}");

            let obs = run(&mut runner, "fb_go_os_exit", 10);
            assert_eq!(obs.ending, WasmEnding::Exited { code: 3 }, "{model}");
            assert_eq!(obs.stderr.total_bytes, 0, "{model}");
            let facts = obs.reuse.as_ref().unwrap();
            assert_eq!(facts.health, HealthCheck::Returned(HEALTH_OK), "{model}");
            assert_eq!((facts.rounds_healthy, facts.rounds_broke.as_deref()), (Some(10), None), "{model}");
        }
    }
}
