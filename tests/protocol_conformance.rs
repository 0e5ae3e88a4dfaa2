//! The worker protocol (`host/src/protocol/mod.rs`), held against the real
//! workers and the shipped schema:
//!
//! - every worker's first line is a hello of this protocol version;
//! - the exchanges recorded in `tests/fixtures/protocol/*.jsonl` replay on
//!   every worker they are for (`wasm*.jsonl`: each wasm model;
//!   `native*.jsonl`: the fork server), each reply matching its `expect`,
//!   every message following `schema/worker-protocol.schema.json`;
//! - the shipped schema is the one the types generate;
//! - the supervisor's side skips stdout lines that are not messages (kept
//!   as evidence), and refuses a bad hello or a garbled message in one line.
//!
//! A fixture line is `{"request": <Request>, "expect": <subset of the
//! reply>, "before": [<types of the messages before the reply>]}`, or
//! `"raw": "<text>"` instead of `request` for a line sent as it is (one
//! that is not a valid request). `before` may be left out (not checked).
//! In `request` and `raw`, `@model` is the worker's model and `@guest` the
//! absolute path of the embedded Rust guest as the supervisor writes it
//! out. Lines starting with `//` are comments. `expect` is matched as a
//! subset: every key it has must be in the reply with an equal value (the
//! same, recursively, for objects; arrays element by element, of the same
//! length); timings are simply left out of it.


use crate::common::schema::validate;
use crate::common::{FAULTBOX, Scratch};
use faultbox::model::EngineConfig;
use faultbox::protocol::{Message, PROTOCOL_VERSION, Request};
use faultbox::worker::WorkerKind;
use faultbox::worker::client::{CallError, Worker, WorkerPool};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/worker-protocol.schema.json");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/protocol");

/// How long any one reply may take (a first compile of the guest under
/// Cranelift on a loaded machine included).
const REPLY_WAIT: Duration = Duration::from_secs(120);

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap()
}

/// Schema errors of one line of the protocol.
fn schema_errors(schema: &Value, line: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(schema, schema, line, "$", &mut errors);
    errors
}

/// A worker talked to on the wire itself, line by line, as an adapter in
/// another language would be.
struct RawWorker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl RawWorker {
    /// `faultbox worker <kind>`, or the adapter that serves `kind`.
    fn start(kind: &str) -> RawWorker {
        let mut cmd = match EngineConfig::from_name(kind).and_then(faultbox::worker::adapter::launcher) {
            Some(launcher) => launcher.unwrap_or_else(|e| panic!("{kind}: its adapter cannot run: {}", e.line())).command(EngineConfig::from_name(kind).unwrap()),
            None => {
                let mut cmd = Command::new(FAULTBOX);
                cmd.args(["worker", kind]);
                cmd
            }
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env("RUST_BACKTRACE", "0")
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        RawWorker { stdin: child.stdin.take(), child, lines }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line, as JSON; `Err` says what came instead.
    fn next(&self) -> Result<Value, String> {
        let line = self.lines.recv_timeout(REPLY_WAIT).map_err(|e| format!("no line within {REPLY_WAIT:?} ({e})"))?;
        serde_json::from_str(&line).map_err(|e| format!("a line that is not JSON ({e}): {line}"))
    }
}

impl Drop for RawWorker {
    /// End-of-file on stdin ends a worker: it must exit 0 by itself.
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                if !std::thread::panicking() {
                    assert!(status.success(), "a worker closed at end-of-file exited with {status}");
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            panic!("a worker did not exit within 5 s of end-of-file on its stdin");
        }
    }
}

/// A crate's version in Cargo.lock: what a wasm worker of that engine
/// family must say.
fn locked(krate: &str) -> String {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    let at = lock.find(&format!("\nname = \"{krate}\"\n")).unwrap_or_else(|| panic!("{krate} in Cargo.lock"));
    let rest = &lock[at..];
    let version = rest.lines().find_map(|l| l.strip_prefix("version = \"")).unwrap();
    version.trim_end_matches('"').to_string()
}

/// Every worker kind: the wasm models, then the fork server.
fn every_kind() -> Vec<&'static str> {
    EngineConfig::ALL.iter().map(|e| e.name()).chain(["native"]).collect()
}

fn every_worker_begins_with_a_hello_of_this_protocol() {
    assert_eq!(PROTOCOL_VERSION, 2);
    let schema = schema();
    for kind in every_kind() {
        let worker = RawWorker::start(kind);
        let hello = worker.next().unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(schema_errors(&schema, &hello), Vec::<String>::new(), "{kind}: {hello}");
        assert_eq!(hello["type"], "hello", "{kind}: {hello}");
        assert_eq!(hello["protocol"], json!(PROTOCOL_VERSION), "{kind}: {hello}");
        assert_eq!(hello["worker"], kind, "{kind}: {hello}");
        let requests: Vec<&str> = hello["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        if kind == "native" {
            assert_eq!(hello["engine"], Value::Null, "the fork server has no engine: {hello}");
            assert_eq!(requests, ["native", "bench"]);
        } else {
            let engine = &hello["engine"];
            let row = EngineConfig::from_name(kind).unwrap().row();
            assert_eq!(engine["family"], row.family.name(), "{kind}: {hello}");
            match (row.version, row.start.adapter()) {
                (_, None) => {
                    assert_eq!(engine["version"], locked(row.family.name()).as_str(), "{kind}: the hello's engine is not Cargo.lock's");
                    assert!(requests.starts_with(&["wasm", "wast", "bench", "soak"]), "{kind}: {requests:?}");
                }
                (faultbox::registry::Version::Pinned(v), Some(_)) => {
                    assert_eq!(engine["version"], v, "{kind}: the hello's engine is not the one its go.mod pins");
                }
                (faultbox::registry::Version::Installed, Some(_)) => {
                    assert!(engine["version"].as_str().is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit())), "{kind}: {hello}");
                }
            }
            if row.start.adapter().is_some() {
                // An adapter serves runs and the spec steps the supervisor
                // walks a script with.
                for r in ["wasm", "spec_begin", "spec_compile", "spec_judge", "spec_imports", "spec_instantiate", "spec_register", "spec_call", "spec_global"] {
                    assert!(requests.contains(&r), "{kind}: no {r} in {requests:?}");
                }
            }
            assert!(!engine["configuration"].as_str().unwrap().is_empty(), "{kind}: {hello}");
            assert!(engine["capabilities"].as_array().unwrap().contains(&json!("wasi_p1")), "{kind}: {hello}");
        }
    }
    // The configurations tell the wasm models apart.
    let configurations: std::collections::BTreeSet<String> = EngineConfig::ALL
        .iter()
        .map(|e| RawWorker::start(e.name()).next().unwrap()["engine"]["configuration"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(configurations.len(), EngineConfig::ALL.len(), "{configurations:?}");
}

fn the_client_keeps_the_hello() {
    let exe = Path::new(FAULTBOX);
    let worker = Worker::spawn(exe, WorkerKind::Wasm(EngineConfig::Pulley)).unwrap();
    let hello = worker.hello();
    assert_eq!((hello.protocol, hello.worker.as_str()), (PROTOCOL_VERSION, "wasm-pulley"));
    assert_eq!(hello.engine.as_ref().map(|e| e.version.clone()), Some(locked("wasmtime")));
    worker.shutdown();
    let pool = WorkerPool::new(exe.to_path_buf());
    assert_eq!(pool.hello(WorkerKind::Native), None, "no worker started yet");
    let native = faultbox::protocol::NativeRequest {
        entry: "clean_run".into(),
        arg: 0,
        limits: Default::default(),
        backtrace: false,
        exec: None,
        library: None,
        inject: None,
    };
    assert!(matches!(pool.call(WorkerKind::Native, &Request::Native(native), REPLY_WAIT), Ok(Message::Native(_))));
    let hello = pool.hello(WorkerKind::Native).expect("the pool keeps its workers' hellos");
    assert_eq!((hello.worker.as_str(), hello.engine), ("native", None));
}

/// One recorded exchange.
#[derive(Clone, Debug)]
struct Exchange {
    /// `file:line`, for messages.
    at: String,
    /// The line to send, placeholders still in it.
    line: String,
    expect: Value,
    before: Option<Vec<String>>,
}

/// The exchanges of every fixture file, by the workers they are for.
fn fixtures() -> Vec<(Vec<&'static str>, Vec<Exchange>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(FIXTURES).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        assert_eq!(file.extension().and_then(|e| e.to_str()), Some("jsonl"), "{}: fixtures are .jsonl", file.display());
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        let kinds: Vec<&str> = if name.starts_with("wasm") {
            EngineConfig::ALL.iter().map(|e| e.name()).collect()
        } else if name.starts_with("native") {
            vec!["native"]
        } else {
            panic!("{name}: a fixture file's name starts with the workers it is for (wasm, native)")
        };
        let mut exchanges = Vec::new();
        for (n, text) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            let at = format!("{name}:{}", n + 1);
            if text.trim().is_empty() || text.starts_with("//") {
                continue;
            }
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{at}: {e}"));
            let line = match (&v["request"], &v["raw"]) {
                (Value::Null, Value::String(raw)) => raw.clone(),
                (request @ Value::Object(_), Value::Null) => request.to_string(),
                _ => panic!("{at}: a `request` object or a `raw` string, not both"),
            };
            let before = v.get("before").map(|b| {
                b.as_array().unwrap_or_else(|| panic!("{at}: `before` is a list")).iter().map(|t| t.as_str().unwrap().to_string()).collect()
            });
            assert!(v["expect"].is_object(), "{at}: `expect` is an object");
            exchanges.push(Exchange { at, line, expect: v["expect"].clone(), before });
        }
        assert!(!exchanges.is_empty(), "{name}: no exchanges");
        out.push((kinds, exchanges));
    }
    out
}

/// Where `actual` differs from `expect`, read as a subset of it.
fn subset(expect: &Value, actual: &Value, at: &str, diffs: &mut Vec<String>) {
    match (expect, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => subset(ev, av, &format!("{at}.{k}"), diffs),
                    None => diffs.push(format!("{at}.{k}: missing (expected {ev})")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{at}[{i}]"), diffs);
            }
        }
        _ if expect == actual => {}
        _ => diffs.push(format!("{at}: {actual}, expected {expect}")),
    }
}

/// The Rust guest's module path, as the supervisor writes it out.
fn guest_path() -> String {
    match faultbox::supervisor::guest_module().unwrap() {
        faultbox::protocol::ModuleSource::File(path) => path.to_str().unwrap().to_string(),
        other => panic!("the guest travels by path, not {other:?}"),
    }
}

/// Replays `exchanges` on a fresh `kind` worker; every way a reply
/// differs from what was recorded, one line each.
fn replay(kind: &str, exchanges: &[Exchange], schema: &Value) -> Vec<String> {
    let guest = guest_path();
    let mut failures = Vec::new();
    let mut worker = RawWorker::start(kind);
    match worker.next() {
        Ok(hello) if hello["type"] == "hello" && hello["protocol"] == json!(PROTOCOL_VERSION) => {}
        other => return vec![format!("{kind}: no hello of protocol {PROTOCOL_VERSION} first: {other:?}")],
    }
    for x in exchanges {
        let line = x.line.replace("@model", kind).replace("@guest", &guest);
        worker.send(&line);
        let mut before = Vec::new();
        let reply = loop {
            let message = match worker.next() {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!("{} on {kind}: {e}", x.at));
                    return failures;
                }
            };
            for e in schema_errors(schema, &message) {
                failures.push(format!("{} on {kind}: breaks the schema: {e}", x.at));
            }
            let t = message["type"].as_str().unwrap_or_default().to_string();
            if matches!(t.as_str(), "host_call" | "progress" | "compiled") {
                before.push(t);
            } else {
                break message;
            }
        };
        if let Some(expected) = &x.before {
            if &before != expected {
                failures.push(format!("{} on {kind}: {before:?} before the reply, expected {expected:?}", x.at));
            }
        }
        let mut diffs = Vec::new();
        subset(&x.expect, &reply, "reply", &mut diffs);
        failures.extend(diffs.into_iter().map(|d| format!("{} on {kind}: {d}", x.at)));
    }
    failures
}

fn recorded_exchanges_replay_on_every_worker() {
    let schema = schema();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (kinds, exchanges) in fixtures() {
        for kind in kinds {
            failures.extend(replay(kind, &exchanges, &schema));
            replayed += exchanges.len();
        }
    }
    assert!(replayed >= 30, "only {replayed} exchanges replayed");
    assert!(failures.is_empty(), "{} differences from the recorded exchanges:\n{}", failures.len(), failures.join("\n"));
}

/// The replay can fail: a reply that changed, a message that came or did
/// not come before it, a line the worker answers otherwise.
fn a_changed_reply_breaks_the_replay() {
    let schema = schema();
    let (_, exchanges) = fixtures().into_iter().find(|(kinds, _)| kinds == &["native"]).unwrap();
    let clean = exchanges.iter().find(|x| x.line.contains("\"clean_run\"") && x.expect["report"]["value"] == "590").unwrap().clone();
    assert_eq!(replay("native", std::slice::from_ref(&clean), &schema), Vec::<String>::new());
    let mut other_value = clean.clone();
    other_value.expect["report"]["value"] = json!("591");
    let mut as_a_number = clean.clone();
    as_a_number.expect["report"]["value"] = json!(590);
    let mut compiled_first = clean.clone();
    compiled_first.before = Some(vec!["compiled".into()]);
    let mut a_new_key = clean.clone();
    a_new_key.expect["report"]["exit_code"] = json!(0);
    for (what, x) in [("another value", other_value), ("590 as a number", as_a_number), ("compiled", compiled_first), ("a new key", a_new_key)] {
        let failures = replay("native", &[x], &schema);
        assert_eq!(failures.len(), 1, "{what}: {failures:?}");
    }
}

fn the_subset_match_holds_every_key_of_expect() {
    let actual = json!({"type": "wasm", "ending": {"type": "completed", "value": "590"}, "runs": [[1, 2]], "call_us": "12"});
    let diffs = |expect: Value| {
        let mut d = Vec::new();
        subset(&expect, &actual, "reply", &mut d);
        d
    };
    assert!(diffs(json!({})).is_empty());
    assert!(diffs(json!({"type": "wasm", "ending": {"value": "590"}, "runs": [[1, 2]]})).is_empty());
    assert_eq!(diffs(json!({"ending": {"value": 590}})).len(), 1, "a number is not its string");
    assert_eq!(diffs(json!({"ending": {"trap": "interrupt"}})).len(), 1, "a missing key");
    assert_eq!(diffs(json!({"runs": [[1]]})).len(), 1, "an array of another length");
    assert_eq!(diffs(json!({"runs": []})).len(), 1);
    assert_eq!(diffs(json!({"type": "native"})), ["reply.type: \"wasm\", expected \"native\""]);
}

fn the_shipped_schema_is_the_one_the_types_generate() {
    let out = Command::new(FAULTBOX).args(["schema", "--worker-protocol"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), faultbox::protocol::json_schema());
    assert!(
        faultbox::protocol::json_schema() == std::fs::read_to_string(SCHEMA).unwrap(),
        "schema/worker-protocol.schema.json is stale: regenerate it with \
         `faultbox schema --worker-protocol > schema/worker-protocol.schema.json`"
    );
}

/// The schema says what the protocol's docs say: every 64-bit integer a
/// decimal string, every message type the client knows, the version.
fn the_schema_writes_64_bit_integers_as_strings_and_names_every_message() {
    let schema = schema();
    assert_eq!(schema["x-protocol-version"], json!(PROTOCOL_VERSION));
    let text = schema.to_string();
    for format in ["\"int64\"", "\"uint64\"", "\"uint\"", "\"int\""] {
        assert!(!text.contains(&format!("\"format\":{format}")), "a 64-bit integer as a JSON number ({format}) in the schema");
    }
    assert_eq!(schema["$defs"]["DecI64"]["pattern"], "^-?[0-9]+$");
    assert_eq!(schema["$defs"]["DecI64"]["type"], "string");
    assert_eq!(schema["$defs"]["DecU64"]["pattern"], "^[0-9]+$");
    let types = |def: &str| -> Vec<String> {
        schema["$defs"][def]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["properties"]["type"]["const"].as_str().unwrap_or_else(|| panic!("{def}: an untagged variant: {v}")).to_string())
            .collect()
    };
    assert_eq!(types("Message"), faultbox::protocol::MESSAGE_TYPES);
    assert_eq!(
        types("Request"),
        ["wasm", "native", "wast", "bench", "soak", "fuzz", "spec_begin", "spec_compile", "spec_judge", "spec_imports", "spec_instantiate", "spec_register", "spec_call", "spec_global"]
    );
    // Every enum with fields is tagged with `type`.
    for (name, def) in schema["$defs"].as_object().unwrap() {
        for v in def["oneOf"].as_array().into_iter().flatten() {
            if v.get("enum").is_none() && v.get("const").is_none() {
                assert!(v["properties"]["type"]["const"].is_string(), "{name}: a variant without a `type`: {v}");
            }
        }
    }
}

/// The integer rule on real values: i64::MIN and u64::MAX as JSON strings,
/// read back to the same values, while 32-bit fields stay numbers.
fn integers_of_64_bits_travel_as_decimal_strings() {
    use faultbox::protocol::{ChildReport, ChildStage, ChildStatus, ModuleSource, NativeObservation, OutputTail, WasmRequest};
    let request = Request::Wasm(WasmRequest {
        model: EngineConfig::Explicit,
        module: ModuleSource::Bytes(b"\0asm".to_vec()),
        export: "fb_x".into(),
        arg: i64::MIN,
        limits: Default::default(),
        check_reuse: false,
        wasi: false,
        reuse_rounds: 7,
        args: Vec::new(),
        inject: None,
    });
    let text = serde_json::to_string(&request).unwrap();
    assert_eq!(
        text,
        r#"{"type":"wasm","model":"wasm-explicit","module":{"type":"bytes","base64":"AGFzbQ=="},"export":"fb_x","arg":"-9223372036854775808","limits":{"timeout_ms":"1000","memory_mib":"256","wasm_stack_kib":"512","native_stack_kib":"8192"},"check_reuse":false,"wasi":false,"reuse_rounds":7,"args":[],"inject":null}"#
    );
    let Request::Wasm(back) = serde_json::from_str(&text).unwrap() else { panic!() };
    assert_eq!((back.arg, back.module), (i64::MIN, ModuleSource::Bytes(b"\0asm".to_vec())));
    let tail = OutputTail { total_bytes: u64::MAX, kept_bytes: 0, tail: String::new() };
    let message = Message::Native(NativeObservation {
        status: ChildStatus::Exited { code: -1 },
        killed_at: None,
        report: ChildReport {
            stage: ChildStage::NotStarted,
            value: Some(i64::MIN),
            panics: Vec::new(),
            progress: None,
            host_call: None,
            alloc_failures: u64::MAX,
            first_failed_alloc_bytes: 0,
            health: None,
            startup_us: Some(u64::MAX),
            call_us: None,
            fault_us: None,
            health_us: None,
            defers: Vec::new(),
            handled: None,
        },
        wall_us: u64::MAX,
        cpu_us: 0,
        max_rss_kib: 1,
        stdout: tail.clone(),
        stderr: tail,
        strays_killed: 4_000_000_000,
        injection: None,
    });
    let text = serde_json::to_string(&message).unwrap();
    assert_eq!(
        text,
        r#"{"type":"native","status":{"type":"exited","code":-1},"killed_at":null,"report":{"stage":"not_started","value":"-9223372036854775808","panics":[],"progress":null,"host_call":null,"alloc_failures":"18446744073709551615","first_failed_alloc_bytes":"0","health":null,"startup_us":"18446744073709551615","call_us":null,"fault_us":null,"health_us":null,"defers":[],"handled":null},"wall_us":"18446744073709551615","cpu_us":"0","max_rss_kib":"1","stdout":{"total_bytes":"18446744073709551615","kept_bytes":"0","tail":""},"stderr":{"total_bytes":"18446744073709551615","kept_bytes":"0","tail":""},"strays_killed":4000000000,"injection":null}"#
    );
    let Message::Native(back) = serde_json::from_str(&text).unwrap() else { panic!() };
    assert_eq!((back.report.value, back.report.alloc_failures, back.wall_us), (Some(i64::MIN), u64::MAX, u64::MAX));
    assert_eq!(schema_errors(&schema(), &serde_json::from_str(&text).unwrap()), Vec::<String>::new());
}

/// The recorded observations `tests/observations.rs` classifies are
/// messages of this protocol too.
fn recorded_observations_follow_the_schema() {
    let schema = schema();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/observations");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(schema_errors(&schema, &v["message"]), Vec::<String>::new(), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 10);
}

/// A stand-in for a worker: a script that says what it is told to.
fn fake_worker(dir: &Scratch, name: &str, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.file(name, &format!("#!/bin/sh\n{script}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

const NATIVE_HELLO: &str = r#"{"type":"hello","protocol":2,"worker":"native","engine":null,"requests":["native"]}"#;

fn native_request() -> Request {
    Request::Native(faultbox::protocol::NativeRequest {
        entry: "clean_run".into(),
        arg: 0,
        limits: Default::default(),
        backtrace: false,
        exec: None,
        library: None,
        inject: None,
    })
}

fn stdout_lines_that_are_not_messages_are_skipped_and_kept_as_evidence() {
    let dir = Scratch::new("protocol-stray");
    let long = "x".repeat(10_000);
    let junk = format!(
        "echo 'not json'; echo '[1, 2]'; echo '{{\"type\": \"telemetry\", \"n\": 1}}'; echo '{{\"no_type\": 1}}'; echo {long}; \
         echo 'starting engine...'; sleep 0.2; echo 'last junk line'"
    );
    let exe = fake_worker(
        &dir,
        "stray",
        &format!(
            "echo '{NATIVE_HELLO}'; echo 'junk after the hello is stray too'; read line; {junk}; \
             echo '{{\"type\":\"refused\",\"message\":\"after the junk\"}}'; read line; {junk}; exit 3"
        ),
    );
    let mut worker = Worker::spawn(&exe, WorkerKind::Native).unwrap();
    match worker.call(&native_request(), Duration::from_secs(20)) {
        Ok(Message::Refused { message }) => assert_eq!(message, "after the junk"),
        other => panic!("junk on stdout read as {other:?}"),
    }
    let stray = worker.stray_lines();
    let bytes: usize = stray.iter().map(|l| l.len()).sum();
    assert!(bytes <= faultbox::worker::client::STRAY_BYTES, "{bytes} bytes kept");
    assert_eq!(stray.last().map(String::as_str), Some("last junk line"), "{stray:?}");
    assert!(stray.contains(&"starting engine...".to_string()), "{stray:?}");
    // A worker that dies after junk is lost as any other, with the junk as
    // evidence.
    let lost = worker.call(&native_request(), Duration::from_secs(20)).unwrap_err();
    assert_eq!((lost.exit_code, lost.hung, lost.broke_protocol.clone()), (Some(3), false, None), "{lost:?}");
    assert_eq!(lost.stray_stdout.last().map(String::as_str), Some("last junk line"));
    assert!(lost.stray_stdout.iter().map(|l| l.len()).sum::<usize>() <= faultbox::worker::client::STRAY_BYTES);
    assert!(lost.summary().contains("last junk line"), "{}", lost.summary());
}

fn a_garbled_message_is_a_broken_worker_not_a_lost_one() {
    let dir = Scratch::new("protocol-garbled");
    // A known type whose fields do not parse: 590 as a JSON number.
    let exe = fake_worker(
        &dir,
        "garbled",
        &format!("echo '{NATIVE_HELLO}'; read line; echo '{{\"type\":\"compiled\",\"us\":590}}'; exec sleep 30"),
    );
    let mut worker = Worker::spawn(&exe, WorkerKind::Native).unwrap();
    let lost = worker.call(&native_request(), Duration::from_secs(20)).unwrap_err();
    let why = lost.broke_protocol.expect("a broken message is said");
    assert!(why.contains("`compiled`") && why.contains("\"us\":590"), "{why}");
    let pool = WorkerPool::new(exe);
    match pool.call(WorkerKind::Native, &native_request(), Duration::from_secs(20)) {
        Err(CallError::Tool(e)) => {
            let e = format!("{e:#}");
            assert!(e.contains("the native worker broke the worker protocol") && !e.contains('\n'), "{e}");
        }
        other => panic!("a garbled message read as {other:?}"),
    }
}

fn a_bad_hello_is_faultbox_s_failure_in_one_line() {
    let dir = Scratch::new("protocol-hello");
    for (what, script, needle) in [
        ("an old worker", r#"echo '{"type":"hello","protocol":1,"worker":"native"}'; exec sleep 30"#, "speaks worker protocol 1 and this faultbox speaks 2"),
        ("a newer one", r#"echo '{"type":"hello","protocol":3,"engine":"later"}'; exec sleep 30"#, "speaks worker protocol 3"),
        ("no hello", "echo 'Welcome to my worker'; exec sleep 30", "did not begin with a hello (worker protocol 2); its first line: Welcome to my worker"),
        ("a message first", r#"echo '{"type":"progress","done":"1"}'; exec sleep 30"#, "did not begin with a hello"),
        ("a garbled hello", r#"echo '{"type":"hello","protocol":2,"worker":7}'; exec sleep 30"#, "sent a hello that does not parse"),
        ("another kind", r#"echo '{"type":"hello","protocol":2,"worker":"wasm","engine":null,"requests":[]}'; exec sleep 30"#, "says it is the `wasm` worker"),
        ("death before hello", "echo 'cannot find libengine.so' >&2; exit 7", "exited with 7; its last words: cannot find libengine.so before its hello"),
        ("a failure to start", r#"echo '{"type":"failed","message":"no engine here"}'; exit 1"#, "could not start: no engine here"),
    ] {
        let exe = fake_worker(&dir, "hello", script);
        let e = match Worker::spawn(&exe, WorkerKind::Native) {
            Ok(_) => panic!("{what}: the worker was taken"),
            Err(e) => format!("{e:#}"),
        };
        assert!(!e.contains('\n'), "{what}: not one line: {e}");
        assert!(e.starts_with(&format!("the native worker (`{} worker native`) ", exe.display())), "{what}: {e}");
        assert!(e.contains(needle), "{what}: {e}");
    }
}

/// The embedded guest crosses the wire as a file: written once per
/// supervisor into a directory of its own (mkdtemp: mode 0700, a name no
/// one can guess), which goes when the supervisor exits.
fn the_guest_travels_as_a_file_in_a_private_directory_removed_at_exit() {
    use std::os::unix::fs::PermissionsExt;
    let path = PathBuf::from(guest_path());
    assert_eq!(guest_path(), path.to_str().unwrap(), "written once");
    assert_eq!(std::fs::read(&path).unwrap(), faultbox::wasm::GUEST_WASM);
    let dir = path.parent().unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("faultbox-") && name.len() == "faultbox-".len() + 6 && !name.ends_with("XXXXXX"), "{name}");
    assert_eq!(std::fs::metadata(dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o400);
    // A supervisor's directory, seen while it runs and gone once it exits.
    let tmp = Scratch::new("protocol-private-dir");
    let mut compare = Command::new(FAULTBOX)
        .args(["compare", "--scenario", "runaway_loop", "--language", "rust", "--model", "wasm"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = None;
    while compare.try_wait().unwrap().is_none() {
        let dirs: Vec<PathBuf> = std::fs::read_dir(&tmp.0).unwrap().map(|e| e.unwrap().path()).collect();
        if let [dir] = &dirs[..] {
            if dir.join("rust-guest.wasm").exists() {
                seen = Some(dir.clone());
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = seen.expect("the supervisor's guest file under its TMPDIR");
    assert!(seen.file_name().unwrap().to_str().unwrap().starts_with("faultbox-"), "{}", seen.display());
    assert!(!seen.exists(), "{} outlived its supervisor", seen.display());
}

crate::trials!(
    every_worker_begins_with_a_hello_of_this_protocol,
    the_client_keeps_the_hello,
    recorded_exchanges_replay_on_every_worker,
    a_changed_reply_breaks_the_replay,
    the_subset_match_holds_every_key_of_expect,
    the_shipped_schema_is_the_one_the_types_generate,
    the_schema_writes_64_bit_integers_as_strings_and_names_every_message,
    integers_of_64_bits_travel_as_decimal_strings,
    recorded_observations_follow_the_schema,
    stdout_lines_that_are_not_messages_are_skipped_and_kept_as_evidence,
    a_garbled_message_is_a_broken_worker_not_a_lost_one,
    a_bad_hello_is_faultbox_s_failure_in_one_line,
    the_guest_travels_as_a_file_in_a_private_directory_removed_at_exit,
);
