//! Go's wasip1 reactor through a real wasm worker process: the request and
//! the observation cross the wire (serde defaults, the WASI stderr tail),
//! and WASI's runtime (tokio threads) lives in the worker. The module is
//! faultbox's own cached build of `guests/go` (built here if need be);
//! without Go the test is skipped with a note, except under `CI`, where it
//! fails.


use crate::common::FAULTBOX;
use faultbox::model::EngineConfig;
use faultbox::outcome::TrapCode;
use faultbox::worker::WorkerKind;
use faultbox::worker::client::Worker;
use faultbox::protocol::{HealthCheck, Message, ModuleSource, Request, WasmEnding, WasmObservation, WasmRequest};
use std::path::Path;
use std::time::Duration;

/// The Go reactor, as faultbox builds it for its catalog.
fn go_wasm() -> Option<std::path::PathBuf> {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/go");
    match faultbox::language::go::artifacts(&sources) {
        Ok(a) => a.wasm,
        Err(why) if std::env::var_os("CI").is_some() => panic!("CI needs the Go guest: {}", why.line()),
        Err(why) => {
            println!("note: no Go guest here ({}); skipped", why.line());
            None
        }
    }
}

fn run(worker: &mut Worker, module: &Path, model: EngineConfig, export: &str, reuse_rounds: u32) -> WasmObservation {
    let request = Request::Wasm(WasmRequest {
        model,
        module: ModuleSource::File(module.to_path_buf()),
        export: export.into(),
        arg: 0,
        limits: Default::default(),
        check_reuse: true,
        wasi: true,
        reuse_rounds,
        args: Vec::new(),
        inject: None,
    });
    match worker.call(&request, Duration::from_secs(120)) {
        Ok(Message::Wasm(obs)) => obs,
        other => panic!("{model} {export}: {other:?}"),
    }
}

fn go_reactor_in_a_wasm_worker() {
    let Some(module) = go_wasm() else { return };
    for model in EngineConfig::ALL {
        let mut worker = Worker::spawn(Path::new(FAULTBOX), WorkerKind::Wasm(model)).unwrap();

        let obs = run(&mut worker, &module, model, "fb_clean_run", 0);
        assert_eq!(obs.ending, WasmEnding::Completed { value: 590 }, "{model}");

        let obs = run(&mut worker, &module, model, "fb_goroutine_panic", 0);
        assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::UnreachableCodeReached, .. }), "{model}: {:?}", obs.ending);
        assert!(obs.stderr.tail.contains("panic: goroutine_panic"), "{model}: {:?}", obs.stderr);
        assert_eq!(obs.reuse.unwrap().health, HealthCheck::Failed("proc_exit(4)".into()), "{model}");

        let obs = run(&mut worker, &module, model, "fb_go_os_exit", 3);
        assert_eq!(obs.ending, WasmEnding::Exited { code: 3 }, "{model}");
        let facts = obs.reuse.unwrap();
        if model.family() == faultbox::registry::EngineFamily::Wazero {
            // wazero's proc_exit closes the module before it returns the
            // exit (imports/wasi_snapshot_preview1 proc_exit): no rounds.
            assert!(matches!(&facts.health, HealthCheck::Failed(_)), "{model}: {facts:?}");
            assert_eq!((facts.rounds_healthy, facts.rounds_broke), (None, None), "{model}");
        } else {
            assert_eq!((facts.rounds_healthy, facts.rounds_broke), (Some(3), None), "{model}");
        }

        let obs = run(&mut worker, &module, model, "fb_recursion_small_frames", 10);
        if model == EngineConfig::Wazero {
            // wazero's compiler grows its stack to 400 MB: the budget ends
            // the recursion, and closes the module (recursion_small_frames.toml).
            assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::Interrupt, .. }), "{model}: {:?}", obs.ending);
            continue;
        }
        assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::StackOverflow, .. }), "{model}: {:?}", obs.ending);
        let facts = obs.reuse.unwrap();
        println!("{model} recursion_small_frames: {:?} healthy rounds, then {:?}", facts.rounds_healthy, facts.rounds_broke);
        // The rounds ran; whether they broke is each engine's, and the
        // comparison suite holds it to recursion_small_frames.toml (wasmtime's
        // broke; wasmi's stayed healthy on the runs recorded there).
        assert!(facts.rounds_healthy.is_some(), "{model}: no reuse rounds ran: {facts:?}");
    }
}

crate::trials!(
    go_reactor_in_a_wasm_worker,
);
