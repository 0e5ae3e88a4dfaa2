//! The worker side: `faultbox worker <kind>` says hello, then reads
//! requests from stdin and answers each with one message on stdout (the
//! protocol: `crate::protocol`).

use super::WorkerKind;
use crate::protocol::{EngineInfo, Hello, Message, PROTOCOL_VERSION, Request};
use crate::model::EngineConfig;
use crate::native::{ForkServer, ServerError};
use crate::wasm::Engines;
use faultbox_guests::host::HostOp;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// Writes one message and flushes it: a message must be out before the
/// code after it can kill the process.
pub fn send(message: &Message) {
    let mut out = std::io::stdout().lock();
    let line = serde_json::to_string(message).expect("messages serialize");
    // A supervisor that went away is no reason to fault: the next read of
    // stdin ends the worker.
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Reports a long request's progress to the supervisor, at most ten times
/// a second: a line per cycle would cost more than the cycles.
pub struct ProgressReporter {
    last: std::time::Instant,
}

impl ProgressReporter {
    pub fn new() -> ProgressReporter {
        ProgressReporter { last: std::time::Instant::now() }
    }

    /// `done` steps are done; sends that when the last report is old.
    pub fn tick(&mut self, done: u64) {
        // Checked every 256 steps only: reading the clock per step would
        // show in a 3 µs cycle.
        if done % 256 == 0 && self.last.elapsed() >= std::time::Duration::from_millis(100) {
            self.last = std::time::Instant::now();
            send(&Message::Progress { done });
        }
    }
}

/// What a worker of `kind` says first.
pub fn hello(kind: WorkerKind) -> Hello {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match kind {
        WorkerKind::Wasm(model) => {
            let row = model.row();
            let requests: &[&str] = match row.family {
                crate::registry::EngineFamily::Wasmtime => &["wasm", "wast", "bench", "soak", "fuzz"],
                crate::registry::EngineFamily::Wasmi => &["wasm", "wast", "bench", "soak"],
                // Served by their adapters, which say hello themselves.
                crate::registry::EngineFamily::V8 | crate::registry::EngineFamily::Wazero => &[],
            };
            Hello {
                protocol: PROTOCOL_VERSION,
                worker: kind.arg().to_string(),
                engine: Some(EngineInfo {
                    family: row.family.name().into(),
                    version: row.version.text().into(),
                    configuration: format!("{}; Wasm {} features", row.configuration, crate::wasm::WasmProfile::current().name()),
                    capabilities: row.capabilities.words(),
                }),
                requests: names(requests),
            }
        }
        WorkerKind::Native => {
            Hello { protocol: PROTOCOL_VERSION, worker: kind.arg().to_string(), engine: None, requests: names(&["native", "bench"]) }
        }
    }
}

fn announce(op: HostOp) {
    send(&Message::HostCall { op: crate::host_ops::op_name(op).to_string() });
}

/// Serves requests until stdin closes. Returns the process exit code.
pub fn serve(kind: WorkerKind) -> i32 {
    // SIGTERM is how a worker is stopped, and its parent-death signal: an
    // ignore inherited through the supervisor (which keeps it, under a
    // parent that ignores it) must not make the worker unstoppable. Reset
    // before unblocking, so a SIGTERM already pending is not discarded.
    // SAFETY: resets a disposition to the default; no handler involved.
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_DFL) };
    // The other ignores a background shell leaves behind go too: a guest
    // (and a signal sent to this worker) must meet the defaults.
    crate::process::reset_inherited_ignores();
    // A signal mask survives exec: the supervisor blocks its termination
    // signals (one of its threads takes them), and a worker must not start
    // deaf to SIGTERM.
    let _ = nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&nix::sys::signal::SigSet::empty()), None);
    // SAFETY: fd 0 is this process's stdin, owned by nobody else here.
    let stdin = BufReader::new(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(0) }));
    match kind {
        WorkerKind::Wasm(model) => serve_wasm(model, stdin),
        WorkerKind::Native => serve_native(stdin),
    }
}

fn parse(line: &str) -> Result<Request, Message> {
    serde_json::from_str(line).map_err(|e| Message::Failed { message: format!("bad request: {e}") })
}

/// The wasm worker's state between requests.
struct WasmWorker {
    model: EngineConfig,
    engines: Engines,
    /// The Wasm 2.0 engine for spec scripts, built on first use.
    spec_engine: Option<wasmtime::Engine>,
}

impl WasmWorker {
    fn serve(&mut self, request: Request) -> anyhow::Result<Message> {
        Ok(match (request, &mut self.engines) {
            (Request::Wasm(req), engines) => {
                let started = std::time::Instant::now();
                let refused = engines.prepare(&req)?;
                send(&Message::Compiled { us: started.elapsed().as_micros() as u64 });
                match refused {
                    Some(message) => Message::Refused { message },
                    None => {
                        crate::wasm::ready::arm(req.inject.is_some(), || send(&Message::Ready));
                        let observed = engines.run(&req);
                        crate::wasm::ready::arm(false, || send(&Message::Ready));
                        Message::Wasm(observed?)
                    }
                }
            }
            (Request::Wast(req), Engines::Wasmtime(runner)) => {
                if self.spec_engine.is_none() {
                    self.spec_engine = Some(super::wast::engine(self.model)?);
                }
                let engine = self.spec_engine.as_ref().unwrap();
                Message::Wast(super::wast::run(engine, runner.watchdog(), &req)?)
            }
            (Request::Wast(req), Engines::Wasmi(_)) => Message::Wast(super::wast::run_wasmi(&req)?),
            (Request::Bench { job }, Engines::Wasmtime(runner)) => Message::Bench { samples: super::bench::serve_wasm(&job, runner.cache())? },
            (Request::Bench { job }, Engines::Wasmi(backend)) => Message::Bench { samples: super::bench::serve_backend(&job, backend)? },
            (Request::Soak(req), Engines::Wasmtime(runner)) => Message::Soak(super::soak::run(&req, runner.cache())?),
            (Request::Soak(req), Engines::Wasmi(backend)) => Message::Soak(super::soak::run_backend(&req, backend)?),
            (Request::Fuzz(req), Engines::Wasmtime(runner)) => {
                // As for a run: the supervisor's compile budget (and its
                // place among the compiles at once) ends here.
                let started = std::time::Instant::now();
                let compiled = || send(&Message::Compiled { us: started.elapsed().as_micros() as u64 });
                Message::Fuzz(crate::wasm::random::run(runner, self.model, &req, compiled)?)
            }
            (other, _) => Message::Failed { message: format!("the {} worker does not serve `{}` requests", self.model, other.type_name()) },
        })
    }
}

fn serve_wasm(model: EngineConfig, stdin: BufReader<std::fs::File>) -> i32 {
    send(&Message::Hello(hello(WorkerKind::Wasm(model))));
    let mut worker = WasmWorker { model, engines: Engines::new(model, announce), spec_engine: None };
    for line in stdin.lines() {
        let Ok(line) = line else { break };
        let reply = match parse(&line) {
            Ok(request) => worker.serve(request).unwrap_or_else(|e| Message::Failed { message: format!("{e:#}") }),
            Err(m) => m,
        };
        send(&reply);
    }
    0
}

fn serve_native(stdin: BufReader<std::fs::File>) -> i32 {
    match crate::native::on_fork_thread(move |stack| serve_forks(stdin, stack)) {
        Ok(code) => code,
        Err(e) => {
            send(&Message::Failed { message: format!("fork server: {e}") });
            1
        }
    }
}

/// The fork server's loop, on the thread it forks from.
fn serve_forks(mut stdin: BufReader<std::fs::File>, fork_thread_stack: Option<u64>) -> i32 {
    let mut server = match ForkServer::new(fork_thread_stack) {
        Ok(s) => s,
        Err(e) => {
            send(&Message::Failed { message: format!("fork server: {e:#}") });
            return 1;
        }
    };
    send(&Message::Hello(hello(WorkerKind::Native)));
    loop {
        if stdin.buffer().is_empty() {
            let mut fds = [
                PollFd::new(stdin.get_ref().as_fd(), PollFlags::POLLIN),
                PollFd::new(server.signal_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return 1,
            }
            if let Some(code) = server.pending_termination() {
                return code;
            }
        }
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => {}
        }
        let reply = match parse(&line) {
            Ok(Request::Native(req)) => match server.run(&req) {
                Ok(obs) => Message::Native(obs),
                Err(ServerError::Terminated(code)) => return code,
                Err(ServerError::Failed(message)) => Message::Failed { message },
            },
            Ok(Request::Bench { job }) => match super::bench::serve_native(&job, &mut server) {
                Ok(samples) => Message::Bench { samples },
                Err(ServerError::Terminated(code)) => return code,
                Err(ServerError::Failed(message)) => Message::Failed { message },
            },
            Ok(other) => Message::Failed { message: format!("the fork server does not serve `{}` requests", other.type_name()) },
            Err(m) => m,
        };
        send(&reply);
    }
}

