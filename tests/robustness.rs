//! The supervisor holds under hostile guests, interrupts, load and
//! repetition.


use crate::common::{FAULTBOX, Scratch, new_tag, tagged_processes, tagged_tree, wait_until_gone};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn json(args: &[&str]) -> Value {
    let out = Command::new(FAULTBOX).args(args).output().unwrap();
    assert!(out.status.success(), "faultbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A catalog that keeps every model busy: a 20 s runaway loop, plus a
/// scenario that leaves processes behind.
fn busy_catalog() -> Scratch {
    let dir = Scratch::new("busy");
    let expect = |v: &str, f: &str| format!("verdict = \"{v}\"\nfault = \"{f}\"\nwhy = \"busy\"\n");
    dir.file(
        "runaway.toml",
        &format!(
            "summary = \"loop\"\ncategory = \"resource\"\ninjects = \"timeout\"\n[guest.rust]\nentry = \"runaway_loop\"\n\
             [limits]\ntimeout_ms = 20000\n[expect.rust.wasm]\n{}[expect.rust.native]\n{}",
            expect("recovered", "timeout"),
            expect("killed", "timeout")
        ),
    );
    dir.file(
        "strays.toml",
        &format!(
            "summary = \"strays\"\ncategory = \"resource\"\ninjects = \"none\"\n[guest.rust]\nentry = \"stray_processes\"\narg = 60\n\
             [expect.rust.wasm]\n{}[expect.rust.native]\n{}",
            expect("ok", "none"),
            expect("ok", "none")
        ),
    );
    dir
}

fn interrupt_stops_everything(signal: libc::c_int, expected_code: i32) {
    let dir = busy_catalog();
    let tag = new_tag("interrupt");
    let mut faultbox = Command::new(FAULTBOX)
        // A job per (scenario, model): every model's worker is busy at once.
        .args(["compare", "--scenarios", dir.path(), "--jobs", "32"])
        .env("FAULTBOX_TEST_TAG", &tag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until every model is busy: a worker for each wasm model, and a
    // native child forked by the fork server.
    let busy = || {
        let tree = tagged_tree(&tag);
        let wasm_workers = faultbox::registry::ROWS
            .iter()
            .map(|r| r.model)
            .all(|m| {
                // faultbox's own workers, and the adapters (`node … adapter.mjs v8`, `…/adapter wazero`).
                tree.iter().any(|(_, _, cmd)| ["worker", "adapter.mjs", "adapter"].iter().any(|w| cmd.ends_with(&format!("{w} {m}"))))
            });
        let fork_servers: Vec<u32> = tree.iter().filter(|(_, _, cmd)| cmd.ends_with("worker native")).map(|p| p.0).collect();
        let native_child = tree.iter().any(|(_, ppid, _)| fork_servers.contains(ppid));
        wasm_workers && native_child
    };
    crate::common::wait_for("every model started", busy);
    unsafe { libc::kill(faultbox.id() as i32, signal) };
    let mut status = None;
    crate::common::wait_for("faultbox stopped after the signal", || {
        status = faultbox.try_wait().unwrap();
        status.is_some()
    });
    let status = status.unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(faultbox.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(expected_code), "stderr: {stderr}");
    assert!(stderr.contains("interrupted by"), "{stderr}");
    let left = wait_until_gone(&tag, 2);
    assert!(left.is_empty(), "processes left after the interrupt: {left:?}");
}

fn ctrl_c_during_compare_stops_every_worker_and_child() {
    interrupt_stops_everything(libc::SIGINT, 130);
}

fn sigterm_during_compare_stops_every_worker_and_child() {
    interrupt_stops_everything(libc::SIGTERM, 143);
}

/// `faultbox run NAME --model native --format json` on the catalog in
/// `dir`, its processes tagged with `tag`: the one outcome.
fn run_native_tagged(dir: &Scratch, name: &str, tag: &str) -> Value {
    let out = Command::new(FAULTBOX)
        .args(["run", name, "--model", "native", "--format", "json", "--scenarios", dir.path()])
        .env("FAULTBOX_TEST_TAG", tag)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let outcomes: Value = serde_json::from_slice(&out.stdout).unwrap();
    outcomes[0].clone()
}

fn strays_are_gone_when_the_run_ends() {
    let dir = busy_catalog();
    std::fs::remove_file(dir.0.join("runaway.toml")).unwrap();
    let tag = new_tag("strays");
    let evidence = run_native_tagged(&dir, "strays", &tag)["evidence"].to_string();
    assert!(evidence.contains("2 stray process(es) left behind were killed"), "{evidence}");
    assert!(tagged_processes(&tag).is_empty(), "the sleeping strays are still there");
}

/// Peak RSS (KiB) of a finished child and everything it waited for.
fn run_with_peak_rss(args: &[&str]) -> (Value, u64) {
    let mut child = Command::new(FAULTBOX).args(args).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    (serde_json::from_slice(&stdout).unwrap(), usage.ru_maxrss as u64)
}

fn an_output_flood_keeps_faultbox_memory_bounded() {
    let (outcomes, peak_kib) = run_with_peak_rss(&["run", "output_flood", "--format", "json"]);
    for o in outcomes.as_array().unwrap() {
        assert_eq!(o["verdict"], "ok", "{}", o["model"]);
        let tail = o["output_tail"].as_str().unwrap();
        assert!(tail.contains("1073741824 bytes, last 65536 kept"), "{}: {}", o["model"], &tail[..80]);
        assert!(tail.len() < 65536 + 200, "the tail is bounded");
    }
    // 4 GiB of guest output went through; faultbox and every worker stayed small.
    assert!(peak_kib < 200 * 1024, "peak RSS {peak_kib} KiB");
}

fn an_endless_flood_still_ends_at_its_deadline() {
    let dir = Scratch::new("endless-flood");
    dir.file(
        "flood.toml",
        "summary = \"1 TiB of output\"\ncategory = \"resource\"\ninjects = \"timeout\"\n\
         [guest.rust]\nentry = \"output_flood\"\narg = 1099511627776\n[limits]\ntimeout_ms = 500\n\
         [expect.rust.wasm]\nverdict = \"recovered\"\nfault = \"timeout\"\nwhy = \"epoch deadline\"\n\
         [expect.rust.native]\nverdict = \"killed\"\nfault = \"timeout\"\nwhy = \"killed at the deadline\"\n",
    );
    let outcomes = json(&["run", "flood", "--format", "json", "--scenarios", dir.path()]);
    // A timeout is the CPU budget's verdict: the wall-clock backstop would
    // have made it `stalled`.
    for o in outcomes.as_array().unwrap() {
        assert_eq!(o["fault"], "timeout", "{}: {}", o["model"], o["evidence"]);
    }
}

fn classifications(report: &Value) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["outcomes"].as_object().unwrap().values())
        .map(|o| format!("{}/{}: {} {} {}", o["scenario"], o["model"], o["verdict"], o["fault"], o["containment"]["reuse"]))
        .collect()
}

fn more_jobs_than_cores_give_the_same_outcomes_as_one() {
    // Every scenario, in the embedded engines and natively: the models
    // whose runs share one worker pool and one fork server.
    let selection = ["compare", "--format", "json", "--model", "wasm,wasm-pulley,wasmi,native"];
    let one = json(&[&selection[..], &["--jobs", "1"]].concat());
    let many = json(&[&selection[..], &["--jobs", "9"]].concat());
    assert_eq!(classifications(&one), classifications(&many));
}

fn repeat_checks_that_every_pair_is_stable() {
    let report = json(&["compare", "--scenario", "recursion", "--repeat", "3", "--format", "json"]);
    assert_eq!(report["stability"]["runs"], 3);
    // One row per scenario and language it has an entry in.
    let rows: Vec<String> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}/{}", r["name"].as_str().unwrap(), r["language"].as_str().unwrap()))
        .collect();
    for rust in ["bounded_deep_recursion/rust", "recursion_large_frames/rust", "recursion_small_frames/rust"] {
        assert!(rows.contains(&rust.to_string()), "{rust} missing from {rows:?}");
    }
    let models = faultbox::model::ExecutionModel::ALL.len();
    assert_eq!(report["stability"]["pairs"], rows.len() * models, "every (scenario, language) row × {models} models: {rows:?}");
    assert_eq!(report["stability"]["flaky"], serde_json::json!([]));
}

fn soak_keeps_the_worker_flat() {
    let report = json(&["soak", "--cycles", "20000", "--format", "json"]);
    assert_eq!(report["cycles"], 20000);
    assert_eq!(report["classes"], serde_json::json!({"abort": 20000}));
    let growth = report["growth_percent"].as_f64().unwrap();
    assert!(growth < 10.0, "RSS grew {growth}% after warm-up");
}

fn random_modules_end_classified_and_never_kill_the_worker() {
    let saves = Scratch::new("fuzz-saves");
    let report = json(&["fuzz", "--modules", "300", "--seed", "7", "--save-dir", saves.path(), "--format", "json"]);
    assert_eq!(report["modules"], 300);
    assert_eq!(report["workers_lost"], 0);
    assert_eq!(report["rule_breakers"], serde_json::json!([]));
    assert!(report["classes"].as_object().unwrap().len() >= 4, "varied outcomes: {}", report["classes"]);
    assert!(std::fs::read_dir(&saves.0).unwrap().next().is_none(), "nothing to save");
}

fn saved_modules_replay() {
    let dir = Scratch::new("replay");
    for i in 0..3 {
        std::fs::write(dir.0.join(format!("m{i}.wasm")), faultbox::commands::fuzz::generate(11, i).unwrap()).unwrap();
    }
    let report = json(&["fuzz", "--replay", dir.path(), "--format", "json"]);
    assert_eq!(report["modules"], 3);
    assert_eq!(report["rule_breakers"], serde_json::json!([]));
}

/// The regression cases the project keeps (`tests/fuzz-regressions`), each
/// replayed alone and held to the classification its `.expect.json`
/// records. A folder without modules fails: a replay of nothing proves
/// nothing.
fn kept_fuzz_regressions_replay_with_their_recorded_classification() {
    let kept = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fuzz-regressions"));
    let mut modules: Vec<std::path::PathBuf> =
        std::fs::read_dir(kept).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "wasm")).collect();
    modules.sort();
    assert!(!modules.is_empty(), "{} holds no saved module: the replay would prove nothing", kept.display());
    for module in &modules {
        let expect = module.with_extension("expect.json");
        let text = std::fs::read_to_string(&expect).unwrap_or_else(|e| panic!("{}: {e} (every kept module has one)", expect.display()));
        let expected: Value = serde_json::from_str(&text).unwrap();
        let report = json(&["fuzz", "--replay", module.to_str().unwrap(), "--format", "json"]);
        assert_eq!(report["modules"], 1, "{}", module.display());
        assert_eq!(report["workers_lost"], 0, "{}", module.display());
        assert_eq!(report["rule_breakers"], serde_json::json!([]), "{}", module.display());
        for key in ["instantiated", "calls", "classes", "trap_codes"] {
            assert_eq!(report[key], expected[key], "{}: {key}", module.display());
        }
    }
}

/// A native guest that is not running at all (here: stopped by a signal
/// from outside) uses none of its CPU budget; the wall-clock backstop ends
/// it, and the outcome says *stalled*, never *timeout*.
fn a_stopped_native_guest_is_stalled_not_a_runaway() {
    let dir = Scratch::new("stalled");
    dir.file(
        "stopped.toml",
        "summary = \"stopped\"\ncategory = \"resource\"\ninjects = \"timeout\"\n\
         [guest.rust]\nentry = \"runaway_loop\"\n[limits]\ntimeout_ms = 500\n\
         [expect.rust.wasm]\nverdict = \"recovered\"\nfault = \"timeout\"\nwhy = \"x\"\n\
         [expect.rust.native]\nverdict = \"killed\"\nfault = \"timeout\"\nwhy = \"x\"\n",
    );
    let tag = new_tag("stalled");
    let faultbox = Command::new(FAULTBOX)
        .args(["run", "stopped", "--model", "native", "--format", "json", "--scenarios", dir.path()])
        .env("FAULTBOX_TEST_TAG", &tag)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the native child as soon as it exists: it gets no CPU from then on.
    let until = Instant::now() + Duration::from_secs(10);
    let stopped = loop {
        let tree = tagged_tree(&tag);
        let servers: Vec<u32> = tree.iter().filter(|(_, _, cmd)| cmd.ends_with("worker native")).map(|p| p.0).collect();
        if let Some((child, _, _)) = tree.iter().find(|(_, ppid, _)| servers.contains(ppid)) {
            unsafe { libc::kill(*child as i32, libc::SIGSTOP) };
            break true;
        }
        if Instant::now() > until {
            break false;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let out = faultbox.wait_with_output().unwrap();
    assert!(stopped, "the native child never appeared");
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = &outcome[0];
    // Stopped long before it could burn its 500 ms: the wall-clock backstop
    // (10 s for this budget), not the budget, ends it.
    assert_eq!(o["fault"], "stalled", "{o}");
    assert_eq!(o["verdict"], "killed", "{o}");
    assert_eq!(o["ending"]["deadline"], "wall", "{o}");
    assert!(o["ending"]["cpu_ms"].as_u64().unwrap() < 500, "{o}");
}

/// A native guest that waits while a process it started burns CPU is a
/// runaway, not a stalled run: the fork server counts the CPU of the
/// child's whole process group against the budget.
fn a_runaway_descendant_spends_the_guests_cpu_budget() {
    let dir = Scratch::new("descendant");
    dir.file(
        "descendant.toml",
        "summary = \"busy descendant\"\ncategory = \"resource\"\ninjects = \"timeout\"\n\
         [guest.rust]\nentry = \"busy_descendant\"\n[limits]\ntimeout_ms = 300\n\
         [expect.rust.wasm]\nverdict = \"ok\"\nfault = \"none\"\nwhy = \"no processes in wasm\"\n\
         [expect.rust.native]\nverdict = \"killed\"\nfault = \"timeout\"\nwhy = \"the group burned the budget\"\n",
    );
    let tag = new_tag("descendant");
    let o = &run_native_tagged(&dir, "descendant", &tag);
    assert_eq!(o["fault"], "timeout", "{o}");
    // The CPU budget ended it, not the wall-clock backstop.
    assert_eq!(o["ending"]["deadline"], "cpu", "{o}");
    assert!(wait_until_gone(&tag, 5).is_empty(), "the busy descendant outlived the run");
}

/// An interrupt is not a rule broken by the modules still waiting to run:
/// `fuzz` stops without saving any of them.
fn an_interrupted_fuzz_saves_no_module() {
    let saves = Scratch::new("fuzz-interrupted");
    let tag = new_tag("fuzz-interrupted");
    let mut fuzz = Command::new(FAULTBOX)
        .args(["fuzz", "--modules", "1000000", "--save-dir", saves.path()])
        .env("FAULTBOX_TEST_TAG", &tag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Modules are running once a worker is.
    crate::common::wait_for("a fuzz worker started", || tagged_tree(&tag).iter().any(|(_, _, c)| c.contains(" worker ")));
    unsafe { libc::kill(fuzz.id() as i32, libc::SIGHUP) };
    let status = fuzz.wait().unwrap();
    assert_eq!(status.code(), Some(129), "{status:?}");
    let saved = std::fs::read_dir(&saves.0).unwrap().count();
    assert_eq!(saved, 0, "an interrupt made {saved} modules 'rule breakers'");
}

crate::trials!(
    ctrl_c_during_compare_stops_every_worker_and_child,
    sigterm_during_compare_stops_every_worker_and_child,
    strays_are_gone_when_the_run_ends,
    an_output_flood_keeps_faultbox_memory_bounded,
    an_endless_flood_still_ends_at_its_deadline,
    more_jobs_than_cores_give_the_same_outcomes_as_one,
    repeat_checks_that_every_pair_is_stable,
    soak_keeps_the_worker_flat,
    random_modules_end_classified_and_never_kill_the_worker,
    saved_modules_replay,
    kept_fuzz_regressions_replay_with_their_recorded_classification,
    a_stopped_native_guest_is_stalled_not_a_runaway,
    a_runaway_descendant_spends_the_guests_cpu_budget,
    an_interrupted_fuzz_saves_no_module,
);
