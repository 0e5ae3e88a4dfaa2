//! Messages between the supervisor and its workers: version
//! [`PROTOCOL_VERSION`] of the faultbox worker protocol, specified here
//! for engine adapters written in other languages (a Node or Go program
//! that embeds an engine and speaks this protocol is a worker like
//! faultbox's own). `schema/worker-protocol.schema.json` is its JSON Schema,
//! generated from these types ([`json_schema`]; `faultbox schema
//! --worker-protocol` prints it), and `tests/fixtures/protocol/*.jsonl` are
//! recorded exchanges a worker must reproduce (`tests/protocol_conformance.rs`).
//!
//! Workers report *observations*; the supervisor classifies them
//! (`crate::classify`), so every death is classified in one place.
//!
//! # The protocol, for implementers
//!
//! **Process.** The supervisor starts a worker with pipes for its stdin,
//! stdout and stderr (faultbox's own: `faultbox worker <kind>`, kind a wasm
//! model of the registry, `host/src/registry.rs`, or `native`; an engine
//! adapter: its program with the model's name as the last argument, as
//! the registry's row says, `node engines/v8/adapter.mjs v8-explicit`), in
//! a process group of its own, with SIGTERM as its parent-death signal.
//! Requests go to its stdin, messages come from its stdout. Stderr is free text: the
//! supervisor keeps its last 64 KiB as evidence of how the worker ended.
//!
//! **Framing.** Every request and every message is one JSON object on one
//! line: UTF-8, ended by `\n` (a JSON encoder escapes newlines inside
//! strings, so a line never holds a raw one). Write a message and flush it
//! before doing anything that could kill the process. A line longer than
//! 256 MiB is not an answer: the worker is treated as lost.
//!
//! **Hello.** The first line a worker writes, at start and before it reads
//! any request, is a [`Hello`]: `{"type": "hello", "protocol": 2, "worker":
//! "wasm", "engine": {"family": "wasmtime", "version": "48.0.8",
//! "configuration": ..., "capabilities": [...]}, "requests": ["wasm",
//! ...]}` (`engine` is `null` for a worker that runs guests natively). The
//! supervisor waits for it as long as it waits for a worker to start
//! (30 s); a worker whose first line is not a hello, whose `protocol` is not
//! the supervisor's, or whose `worker` is not the kind it was started as, is
//! a failure of faultbox (one line naming the worker and what it said), not
//! a guest's fault. A worker that cannot start at all may send a
//! `{"type": "failed", "message": ...}` instead and exit.
//!
//! **Requests and replies.** One request at a time: the supervisor writes
//! a [`Request`] line and reads until its reply; it never sends the next
//! request before. Before the reply a worker may send, any number of times:
//! - `{"type": "host_call", "op": "..."}`: sent (and flushed) just before
//!   host code that may kill the worker runs, so that a death can be
//!   attributed to it;
//! - `{"type": "progress", "done": "<u64>"}`: how many steps of a long
//!   request (bench, soak) are done;
//! - `{"type": "compiled", "us": "<u64>"}`: a `wasm` request's module is
//!   compiled (or was cached), after `us`; sent once per `wasm` request
//!   before its reply. The run's own deadline starts here: compiling has a
//!   budget of its own.
//!
//! Then exactly one reply: `wasm` → `wasm` or `refused` (the engine would
//! not take the module: the guest never ran); `native` → `native`; `wast`
//! → `wast`; `bench` → `bench`; `soak` → `soak`; `fuzz` → `fuzz`; each
//! spec step (`spec_begin`, `spec_compile`, `spec_judge`, `spec_imports`,
//! `spec_instantiate`, `spec_register`, `spec_call`, `spec_global`: an
//! adapter's side of a spec script, which the supervisor walks and
//! checks itself, see [`SpecStep`]) → `spec`; and to
//! any request, `{"type": "failed", "message": ...}` when the worker could
//! not carry it out (a request line that does not parse, a request type it
//! does not serve, its own failure): faultbox's failure, not the guest's.
//! A worker that dies or stops answering during a request is *lost*: that
//! is the guest's doing, and the supervisor classifies it.
//!
//! **Lines that are not messages.** A line on stdout that is not a JSON
//! object with a known `type` (a library's stray print) is skipped: the
//! supervisor keeps the last 4 KiB of such lines as evidence and goes on
//! reading under the same deadline. A line with a known `type` that does
//! not parse as that message is a broken worker: a failure of faultbox.
//! Between requests a worker writes nothing: an idle worker with something
//! on its stdout is taken for a broken one and replaced.
//!
//! **Values.**
//! - Enums are objects with a snake_case `type` beside their fields
//!   (`{"type": "trapped", "trap": "stack_overflow", ...}`). Enums whose
//!   variants carry nothing are plain strings: trap codes
//!   (`"integer_division_by_zero"`), deadlines (`"cpu"`, `"wall"`), child
//!   stages (`"not_started"`), model names (`"wasm-pulley"`). Signals are
//!   their names (`"SIGSEGV"`, `"SIG34"`).
//! - **Integers of 64 bits** (`i64`, `u64`) are JSON *strings* of their
//!   decimal digits: `"-42"`, `"18446744073709551615"` (pattern
//!   `^-?[0-9]+$`; no `+`, spaces or exponent). A double keeps 53 bits, and
//!   JavaScript's numbers and Go's `interface{}` decoding are doubles. 32-bit
//!   and smaller integers (`i32`, `u32`: exit codes, line numbers, wasm
//!   addresses) are JSON numbers. The schema names the string form
//!   `DecI64` / `DecU64`.
//! - A pair is a two-element array (`[1048576, 1048576]`). An absent
//!   optional value is `null`; write every field (fields the schema does
//!   not list as required may be left out and take their default).
//! - Field names are snake_case.
//!
//! **Modules.** A module is `{"type": "path", "path": "/abs/file.wasm"}`
//! (a binary wasm module on disk, by absolute path) or `{"type": "bytes",
//! "base64": "..."}` (standard alphabet, padded). A worker may cache what
//! it compiled per module (by path, or by bytes).
//!
//! **Ending.** A worker ends when its stdin reaches end-of-file: it
//! finishes nothing further and exits 0. SIGTERM ends it too (the fork
//! server kills its child and any strays first); the supervisor sends it
//! when a worker does not exit within a second of end-of-file, and a worker
//! should ask for it as its parent-death signal.
//!
//! Layer 1: this module names only the vocabulary (layer 0). Each job's
//! wire types have a file of their own: `wasm`, `native`, `wast`,
//! `fuzz`, bench and soak; [`wire`] holds the integer rule's serde helpers
//! and base64; this file holds the envelope ([`Request`], [`Message`],
//! [`Hello`]), output tails, and what the supervisor learns of a worker
//! that was lost.

mod bench;
mod fuzz;
mod native;
mod soak;
mod spec;
mod wasm;
mod wast;
pub mod wire;

pub use bench::*;
pub use fuzz::*;
pub use native::*;
pub use soak::*;
pub use spec::*;
pub use wasm::*;
pub use wast::*;

use crate::outcome::Signal;
use serde::{Deserialize, Serialize};
use wire::DecU64;

/// The version of the protocol this faultbox speaks, in every [`Hello`].
/// Version 1 was the unversioned protocol before it (externally tagged
/// enums, integers as JSON numbers, the embedded guest by name).
pub const PROTOCOL_VERSION: u32 = 2;

/// The most guest output kept per stream; the rest is counted, not kept.
pub const OUTPUT_TAIL_BYTES: usize = 64 * 1024;

/// Supervisor → worker.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Run one scenario in the wasm worker.
    Wasm(WasmRequest),
    /// Run one scenario in a forked child of the fork server.
    Native(NativeRequest),
    /// Run the trap directives of one spec script (`faultbox wast`).
    Wast(WastRequest),
    /// Measure fault-to-usable-again cycles in the worker (`faultbox bench`).
    Bench { job: BenchRequest },
    /// Trap-and-recover cycles in one worker, watching its RSS (`faultbox soak`).
    Soak(SoakRequest),
    /// Run one random module (`faultbox fuzz`).
    Fuzz(FuzzRequest),

    /// A spec script's first step in an engine adapter (the steps are
    /// `protocol::spec`'s): a new store: every module, instance and registration before is
    /// forgotten; `spectest` is there. Reply `accepted`.
    SpecBegin {
        /// The CPU budget of every call and start function, ms.
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecU64")]
        timeout_ms: u64,
    },
    /// Compile a module the script gives as valid. Reply `module`,
    /// `rejected` (it did not compile) or `unavailable`.
    SpecCompile { module: ModuleSource },
    /// Judge a module the script says is malformed or invalid. Reply
    /// `accepted`, `rejected` or `unavailable`.
    SpecJudge { module: ModuleSource },
    /// The module names a compiled module imports from. Reply `imports`.
    SpecImports { module: Handle },
    /// Link against `spectest` and the registered names, and instantiate
    /// (start function under the budget). Reply `instance`, `trapped` or
    /// `failed`.
    SpecInstantiate { module: Handle },
    /// Make an instance's exports importable as `name`. Reply `accepted`
    /// or `failed`.
    SpecRegister { name: String, instance: Handle },
    /// Call an export under the budget. Reply `values`, `trapped`,
    /// `failed` or `unavailable` (an argument the engine cannot pass).
    SpecCall { instance: Handle, name: String, args: Vec<SpecValue> },
    /// Read an exported global. Reply `values` (one) or `failed`.
    SpecGlobal { instance: Handle, name: String },
}

impl Request {
    /// The request's `type` on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Request::Wasm(_) => "wasm",
            Request::Native(_) => "native",
            Request::Wast(_) => "wast",
            Request::Bench { .. } => "bench",
            Request::Soak(_) => "soak",
            Request::Fuzz(_) => "fuzz",
            Request::SpecBegin { .. } => "spec_begin",
            Request::SpecCompile { .. } => "spec_compile",
            Request::SpecJudge { .. } => "spec_judge",
            Request::SpecImports { .. } => "spec_imports",
            Request::SpecInstantiate { .. } => "spec_instantiate",
            Request::SpecRegister { .. } => "spec_register",
            Request::SpecCall { .. } => "spec_call",
            Request::SpecGlobal { .. } => "spec_global",
        }
    }
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// The first line a worker writes: who it is.
    Hello(Hello),
    /// Sent (and flushed) just before host code that may kill the worker
    /// runs, so that a death can be attributed to it.
    HostCall { op: String },
    /// Sent now and then during a long request (soak, bench cycles): how
    /// many of its steps are done, for the supervisor's progress line.
    Progress {
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecU64")]
        done: u64,
    },
    /// A wasm run's module (or a fuzz request's) is compiled (or was
    /// already), after `us`: the run's own deadline starts now. Compiling
    /// has a budget of its own.
    Compiled {
        #[serde(with = "wire::dec")]
        #[schemars(with = "DecU64")]
        us: u64,
    },
    /// The guest reported progress for the first time in a call whose
    /// request has `inject`: the supervisor sends that signal now, to this
    /// worker's process. At most once per call.
    Ready,
    /// The engine would not take the run's module (compile or link): the
    /// guest never ran. The module's doing, not the worker's.
    Refused { message: String },
    Wasm(WasmObservation),
    Native(NativeObservation),
    Wast(WastObservation),
    /// One sample set per configuration, in request order.
    Bench { samples: Vec<BenchSamples> },
    Soak(SoakReport),
    Fuzz(FuzzReport),
    /// How one spec step went.
    Spec { result: SpecResult },
    /// The worker could not carry out the request (not a guest fault).
    Failed { message: String },
}

/// Every [`Message`]'s `type`: a line with another `type` (or none) is not
/// a message, and the supervisor skips it.
pub const MESSAGE_TYPES: &[&str] =
    &["hello", "host_call", "progress", "compiled", "ready", "refused", "wasm", "native", "wast", "bench", "soak", "fuzz", "spec", "failed"];

/// Who a worker is: the first line it writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hello {
    /// The protocol version the worker speaks: 2 for the protocol this
    /// schema describes.
    pub protocol: u32,
    /// The kind it was started as: a wasm model's name (`wasm`,
    /// `wasm-explicit`, `wasm-pulley`) or `native`.
    pub worker: String,
    /// The engine it runs guests in; `null` for a worker that runs them
    /// natively (the fork server).
    pub engine: Option<EngineInfo>,
    /// The request types it serves (`wasm`, `wast`, `bench`...).
    pub requests: Vec<String>,
}

/// The engine behind a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EngineInfo {
    /// The engine's name (`wasmtime`).
    pub family: String,
    /// Its version, as its maintainers number it (`48.0.8`).
    pub version: String,
    /// How this worker configured it (compiler, trap handling, features).
    pub configuration: String,
    /// What it can do, one word each (`signals_based_traps`, `wasi_p1`...).
    pub capabilities: Vec<String>,
}

/// The JSON Schema of the protocol, as shipped in
/// `schema/worker-protocol.schema.json`: one document whose root is any
/// line (a [`Request`] or a [`Message`]), every type in its `$defs`.
pub fn json_schema() -> String {
    /// Any line of the protocol, for the schema's root.
    #[derive(schemars::JsonSchema)]
    #[schemars(
        title = "faultbox worker protocol",
        description = "One line between the faultbox supervisor and a worker: a Request (supervisor to worker, on the worker's stdin) or a Message (worker to supervisor, on its stdout). One JSON object per line, UTF-8, ended by a newline; a worker's first line is a hello. Every 64-bit integer is a JSON string of decimal digits (DecI64, DecU64). Specified in host/src/protocol/mod.rs."
    )]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Line {
        Request(Request),
        Message(Message),
    }
    let mut schema = schemars::schema_for!(Line);
    schema.insert("x-protocol-version".into(), PROTOCOL_VERSION.into());
    serde_json::to_string_pretty(&schema).expect("schemas serialize") + "\n"
}

/// The bounded tail of one output stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputTail {
    /// Bytes written in all.
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub total_bytes: u64,
    /// Bytes kept in `tail` (before the lossy UTF-8 conversion).
    #[serde(with = "wire::dec")]
    #[schemars(with = "DecU64")]
    pub kept_bytes: u64,
    /// The last bytes written, at most [`OUTPUT_TAIL_BYTES`], lossily UTF-8.
    pub tail: String,
}

/// A ring that keeps the last [`OUTPUT_TAIL_BYTES`] of a stream.
#[derive(Clone, Debug, Default)]
pub struct TailBuffer {
    buf: std::collections::VecDeque<u8>,
    total: u64,
}

impl TailBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let keep = &bytes[bytes.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
        let overflow = (self.buf.len() + keep.len()).saturating_sub(OUTPUT_TAIL_BYTES);
        self.buf.drain(..overflow.min(self.buf.len()));
        self.buf.extend(keep);
    }

    pub fn clear(&mut self) {
        *self = TailBuffer::default();
    }

    /// Counts bytes that were written but not kept.
    pub fn count_skipped(&mut self, n: u64) {
        self.total += n;
    }

    pub fn finish(&self) -> OutputTail {
        let (a, b) = self.buf.as_slices();
        let mut bytes = a.to_vec();
        bytes.extend_from_slice(b);
        OutputTail { total_bytes: self.total, kept_bytes: bytes.len() as u64, tail: String::from_utf8_lossy(&bytes).into_owned() }
    }
}


/// A worker that died or stopped answering during a request: the facts
/// the worker client gathered, for `classify` to decide on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lost {
    pub signal: Option<Signal>,
    pub exit_code: Option<i32>,
    /// It stopped answering and was killed.
    pub hung: bool,
    pub stderr: OutputTail,
    /// Host operations it announced during the request, in order.
    pub host_calls: Vec<String>,
    /// It was still compiling the run's module (its compile budget
    /// passed): the guest never ran.
    pub compiling: bool,
    /// Lines it wrote to stdout that were not protocol messages (the last
    /// 4 KiB of them), during the request.
    #[serde(default)]
    pub stray_stdout: Vec<String>,
    /// It wrote a line of a known message type that did not parse as that
    /// message (what was wrong): a broken worker, faultbox's failure, not
    /// a guest's. The supervisor stopped it.
    #[serde(default)]
    pub broke_protocol: Option<String>,
    /// The supervisor stopped it: its resident memory passed what the
    /// request allowed (`worker::guard`).
    #[serde(default)]
    pub over_memory: Option<OverMemory>,
}

/// A worker stopped because its resident memory passed what its request
/// allowed: the compile allowance plus the memory the request gives its
/// guest or script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverMemory {
    /// Its resident set when it was stopped, MiB.
    pub resident_mib: u64,
    /// What it held when the call (or its spec script) began, MiB.
    pub base_mib: u64,
    /// What the request allowed above what the worker held when the call
    /// (or its spec script) began, MiB.
    pub allowed_mib: u64,
    /// Of that, the compile allowance (`FAULTBOX_COMPILE_MEMORY_MIB`), MiB.
    pub compile_mib: u64,
}

impl std::fmt::Display for OverMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "faultbox stopped it at {} MiB resident, past the {} MiB its request allowed beyond the {} MiB it held when it began ({} MiB of that to compile, FAULTBOX_COMPILE_MEMORY_MIB)",
            self.resident_mib, self.allowed_mib, self.base_mib, self.compile_mib
        )
    }
}

impl Lost {
    /// How the worker ended, in one line: the signal or exit code, and the
    /// last line it wrote to stderr.
    pub fn summary(&self) -> String {
        if let Some(over) = &self.over_memory {
            return over.to_string();
        }
        let how = match (self.signal, self.exit_code) {
            (Some(s), _) => format!("killed by {}", s.name()),
            (None, Some(code)) => format!("exited with {code}"),
            (None, None) if self.hung => "stopped answering".to_string(),
            (None, None) => "ended".to_string(),
        };
        let how = if self.hung && self.signal.is_some() { format!("stopped answering and was {how}") } else { how };
        let how = match self.stderr.tail.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
            Some(last) => format!("{how}; its last words: {last}"),
            None => how,
        };
        match self.stray_stdout.last() {
            Some(line) => format!("{how}; the last line it wrote to stdout that is not a message: {}", line.trim()),
            None => how,
        }
    }
}

