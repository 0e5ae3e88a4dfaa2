//! Go's wasip1 reactor through a real wasm worker process: the request and
//! the observation cross the wire (serde defaults, the WASI stderr tail),
//! and WASI's runtime (tokio threads) lives in the worker. Skipped when no
//! build is at hand (`OUT=/tmp/faultbox-go guests/go/build.sh` makes one);
//! `wasm::wasi`'s unit tests cover more scenarios in-process.

mod common;

use common::FAULTBOX;
use faultbox::model::WasmEngine;
use faultbox::outcome::TrapCode;
use faultbox::worker::WorkerKind;
use faultbox::worker::client::Worker;
use faultbox::protocol::{HealthCheck, Message, ModuleSource, Request, WasmEnding, WasmObservation, WasmRequest};
use std::path::Path;
use std::time::Duration;

const GO_WASM: &str = "/tmp/faultbox-go/guest.wasm";

fn run(worker: &mut Worker, model: WasmEngine, export: &str, reuse_rounds: u32) -> WasmObservation {
    let request = Request::Wasm(WasmRequest {
        model,
        module: ModuleSource::File(GO_WASM.into()),
        export: export.into(),
        arg: 0,
        limits: Default::default(),
        check_reuse: true,
        wasi: true,
        reuse_rounds,
        args: Vec::new(),
    });
    match worker.call(&request, Duration::from_secs(120)) {
        Ok(Message::Wasm(obs)) => obs,
        other => panic!("{model} {export}: {other:?}"),
    }
}

#[test]
fn go_reactor_in_a_wasm_worker() {
    if !Path::new(GO_WASM).exists() {
        println!("note: {GO_WASM} not found; skipped");
        return;
    }
    for model in WasmEngine::ALL {
        let mut worker = Worker::spawn(Path::new(FAULTBOX), WorkerKind::Wasm(model)).unwrap();

        let obs = run(&mut worker, model, "fb_clean_run", 0);
        assert_eq!(obs.ending, WasmEnding::Completed { value: 590 }, "{model}");

        let obs = run(&mut worker, model, "fb_goroutine_panic", 0);
        assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::UnreachableCodeReached, .. }), "{model}: {:?}", obs.ending);
        assert!(obs.stderr.tail.contains("panic: goroutine_panic"), "{model}: {:?}", obs.stderr);
        assert_eq!(obs.reuse.unwrap().health, HealthCheck::Failed("proc_exit(4)".into()), "{model}");

        let obs = run(&mut worker, model, "fb_go_os_exit", 3);
        assert_eq!(obs.ending, WasmEnding::Exited { code: 3 }, "{model}");
        let facts = obs.reuse.unwrap();
        assert_eq!((facts.rounds_healthy, facts.rounds_broke), (Some(3), None), "{model}");

        let obs = run(&mut worker, model, "fb_recursion_small_frames", 10);
        assert!(matches!(obs.ending, WasmEnding::Trapped { trap: TrapCode::StackOverflow, .. }), "{model}: {:?}", obs.ending);
        let facts = obs.reuse.unwrap();
        println!("{model} recursion_small_frames: {:?} healthy rounds, then {:?}", facts.rounds_healthy, facts.rounds_broke);
        assert!(facts.rounds_broke.is_some(), "{model}: {facts:?}");
    }
}
