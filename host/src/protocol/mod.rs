//! Messages between the supervisor and its workers: one JSON object per
//! line over the worker's stdin and stdout.
//!
//! Workers report *observations*; the supervisor classifies them
//! (`crate::classify`), so every death is classified in one place.
//!
//! Layer 1: this module names only the vocabulary (layer 0). Each job's
//! wire types have a file of their own: `wasm`, `native`, `wast`,
//! `fuzz`, bench and soak; this file holds the envelope ([`Request`],
//! [`Message`]), output tails, and what the supervisor learns of a worker
//! that was lost.

mod bench;
mod fuzz;
mod native;
mod soak;
mod wasm;
mod wast;

pub use bench::*;
pub use fuzz::*;
pub use native::*;
pub use soak::*;
pub use wasm::*;
pub use wast::*;

use crate::outcome::Signal;
use serde::{Deserialize, Serialize};

/// The most guest output kept per stream; the rest is counted, not kept.
pub const OUTPUT_TAIL_BYTES: usize = 64 * 1024;

/// Supervisor → worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Run one scenario in the wasm worker.
    Wasm(WasmRequest),
    /// Run one scenario in a forked child of the fork server.
    Native(NativeRequest),
    /// Run the trap directives of one spec script (`faultbox wast`).
    Wast(WastRequest),
    /// Measure fault-to-usable-again cycles in the worker (`faultbox bench`).
    Bench(BenchRequest),
    /// Trap-and-recover cycles in one worker, watching its RSS (`faultbox soak`).
    Soak(SoakRequest),
    /// Run one random module (`faultbox fuzz`).
    Fuzz(FuzzRequest),
}

/// Worker → supervisor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Sent (and flushed) just before host code that may kill the worker
    /// runs, so that a death can be attributed to it.
    HostCall { op: String },
    /// Sent now and then during a long request (soak, bench cycles): how
    /// many of its steps are done, for the supervisor's progress line.
    Progress { done: u64 },
    /// A wasm run's module is compiled (or was already), after `us`: the
    /// run's own deadline starts now. Compiling has a budget of its own.
    Compiled { us: u64 },
    /// The engine would not take the run's module (compile or link): the
    /// guest never ran. The module's doing, not the worker's.
    Refused { message: String },
    Wasm(WasmObservation),
    Native(NativeObservation),
    Wast(WastObservation),
    /// One sample set per configuration, in request order.
    Bench(Vec<BenchSamples>),
    Soak(SoakReport),
    Fuzz(FuzzReport),
    /// The worker could not carry out the request (not a guest fault).
    Failed { message: String },
}

/// The bounded tail of one output stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputTail {
    /// Bytes written in all.
    pub total_bytes: u64,
    /// Bytes kept in `tail` (before the lossy UTF-8 conversion).
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
}

impl Lost {
    /// How the worker ended, in one line: the signal or exit code, and the
    /// last line it wrote to stderr.
    pub fn summary(&self) -> String {
        let how = match (self.signal, self.exit_code) {
            (Some(s), _) => format!("killed by {}", s.name()),
            (None, Some(code)) => format!("exited with {code}"),
            (None, None) if self.hung => "stopped answering".to_string(),
            (None, None) => "ended".to_string(),
        };
        let how = if self.hung && self.signal.is_some() { format!("stopped answering and was {how}") } else { how };
        match self.stderr.tail.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
            Some(last) => format!("{how}; its last words: {last}"),
            None => how,
        }
    }
}

