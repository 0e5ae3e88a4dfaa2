//! Classification over recorded observations: real worker replies (the
//! `Message` a wasm worker or the fork server sent for one scenario,
//! captured with `faultbox worker <kind>` and kept under
//! `tests/fixtures/observations/`), classified without running anything.
//! The table says what `compare` made of each; a change to `classify` that
//! moves one shows here, by name.
//!
//! The same facts go through the bench cycle's classification too
//! (`classify::cycle_ending` for native children, the trap code's class for
//! wasm), so that a guest panic is `panic` in bench and soak as in compare.

use faultbox::classify;
use faultbox::model::{ExecutionModel, Language};
use faultbox::outcome::{FaultClass, Verdict};
use faultbox::protocol::{CycleEnding, CycleTrap, Message, WasmEnding};
use faultbox::scenario::Catalog;
use std::path::Path;

/// (fixture, fault class, verdict), as `compare` reports them.
const TABLE: &[(&str, &str, &str)] = &[
    ("clean_run.wasm", "none", "ok"),
    ("clean_run.native", "none", "ok"),
    ("unwinding_panic.wasm", "panic", "recovered"),
    ("unwinding_panic.native", "panic", "recovered"),
    ("explicit_abort.wasm", "abort", "recovered"),
    ("explicit_abort.native", "abort", "crashed"),
    ("null_write.wasm", "none", "undetected"),
    ("null_write.native", "memory_fault", "crashed"),
    ("hardware_div_zero.wasm", "arithmetic_fault", "recovered"),
    ("hardware_div_zero.native", "arithmetic_fault", "crashed"),
    ("runaway_loop.wasm", "timeout", "recovered"),
    ("runaway_loop.native", "timeout", "killed"),
    ("host_panic.wasm", "host_fault", "recovered"),
    ("host_panic.native", "host_fault", "recovered"),
];

fn fixture(name: &str) -> (String, Message) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/observations").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let message = serde_json::from_value(v["message"].clone()).unwrap_or_else(|e| panic!("{name}: not a Message: {e}"));
    (v["scenario"].as_str().unwrap().to_string(), message)
}

fn recorded_observations_classify_as_compare_did() {
    let catalog = Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).unwrap();
    let mut wrong = Vec::new();
    for &(name, fault, verdict) in TABLE {
        let (scenario, message) = fixture(name);
        // The fixtures were recorded from the Rust guest's entries.
        let s = catalog
            .scenarios
            .iter()
            .find(|s| s.name == scenario && s.language == Language::Rust)
            .unwrap_or_else(|| panic!("no rust scenario {scenario}"));
        let outcome = match &message {
            Message::Wasm(obs) => classify::wasm(s, ExecutionModel::DEFAULT_WASM, obs, 1000).unwrap(),
            Message::Native(obs) => classify::native(s, obs, 1000),
            other => panic!("{name}: {other:?}"),
        };
        let (f, v) = (outcome.fault.name(), outcome.verdict);
        if f != fault || v != serde_json::from_value::<Verdict>(verdict.into()).unwrap() {
            wrong.push(format!("{name}: {f}/{v:?}, compare said {fault}/{verdict}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A native bench or soak cycle sees only how the child ended and whether
/// its hook saw a panic; classified by `classify`, a death or a recovered
/// panic gets compare's class.
fn a_native_cycle_classifies_as_compare_does() {
    for name in ["unwinding_panic.native", "explicit_abort.native", "null_write.native", "hardware_div_zero.native", "clean_run.native"] {
        let (_, message) = fixture(name);
        let Message::Native(obs) = message else { panic!("{name}") };
        let class = classify::cycle_ending(&CycleEnding { status: obs.status, panicked: !obs.report.panics.is_empty() });
        let compare = TABLE.iter().find(|(n, ..)| *n == name).unwrap().1;
        assert_eq!(class.name(), compare, "{name}");
    }
    // A panic the child caught is the guest's panic, not a clean run.
    let (_, Message::Native(obs)) = fixture("unwinding_panic.native") else { panic!() };
    assert_eq!(classify::cycle_ending(&CycleEnding { status: obs.status, panicked: true }), FaultClass::Panic);
}

/// A wasm bench or soak cycle sees the trap, whether the guest's panic hook
/// reported, and refused growth; classified by `classify`, it gets
/// compare's class (a guest panic is `panic`, not the `abort` its
/// `unreachable` alone would say).
fn a_wasm_cycle_classifies_as_compare_does() {
    for name in ["unwinding_panic.wasm", "explicit_abort.wasm", "null_write.wasm", "hardware_div_zero.wasm", "clean_run.wasm", "runaway_loop.wasm"] {
        let (_, message) = fixture(name);
        let Message::Wasm(obs) = message else { panic!("{name}") };
        let trap = match &obs.ending {
            WasmEnding::Completed { .. } => None,
            WasmEnding::Trapped { trap, .. } => Some(Some(*trap)),
            other => panic!("{name}: {other:?}"),
        };
        let facts = CycleTrap { trap, guest_panic: obs.guest_panic.is_some(), refused_growth: !obs.refused_growth.is_empty() };
        let compare = TABLE.iter().find(|(n, ..)| *n == name).unwrap().1;
        assert_eq!(classify::cycle_trap(&facts).name(), compare, "{name}");
    }
}

crate::trials!(
    recorded_observations_classify_as_compare_did,
    a_native_cycle_classifies_as_compare_does,
    a_wasm_cycle_classifies_as_compare_does,
);
