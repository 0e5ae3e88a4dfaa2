//! The supervisor's side of a worker: spawn it, send a request, read the
//! answer under a deadline, and notice when the worker dies or hangs.

use super::WorkerKind;
pub use crate::protocol::Lost;
use crate::outcome::Signal;
use crate::protocol::{ChildStage, ChildStatus, Hello, InjectionReport, MESSAGE_TYPES, Message, PROTOCOL_VERSION, Request, TailBuffer};
use anyhow::Context;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// An answer longer than this is nonsense, not an answer: the worker is
/// treated as lost rather than growing the supervisor without bound.
const MAX_ANSWER_BYTES: usize = 256 << 20;

/// How long a new worker has to say hello: as long as it may take to start.
const HELLO_WAIT: Duration = Duration::from_secs(30);

/// The most bytes of stdout lines that are not messages kept per call (the
/// last lines written).
pub const STRAY_BYTES: usize = 4096;

/// Every live worker, so an interrupt can stop them all; once stopping has
/// begun, no new worker starts.
struct Live {
    pids: Vec<u32>,
    stopping: bool,
}

static LIVE: Mutex<Live> = Mutex::new(Live { pids: Vec::new(), stopping: false });

/// Stops every live worker, all at once: SIGTERM (the fork server then kills
/// its child's process group and every stray), SIGKILL for any still there
/// after half a second. It does not reap them: each worker's owner does,
/// and an owner that finds its worker gone while stopping reports
/// [`Interrupted`], not a lost worker.
pub fn stop_all_workers() {
    let pids: Vec<u32> = match LIVE.lock() {
        Ok(mut live) => {
            live.stopping = true;
            live.pids.clone()
        }
        Err(_) => Vec::new(),
    };
    let stoppers: Vec<_> = pids
        .into_iter()
        .map(|pid| std::thread::spawn(move || crate::process::terminate(pid as i32, Duration::from_millis(500))))
        .collect();
    for s in stoppers {
        let _ = s.join();
    }
}

/// Whether faultbox is stopping because of an interrupt.
pub fn stopping() -> bool {
    LIVE.lock().map(|l| l.stopping).unwrap_or(true)
}

/// The run was cut short by an interrupt: its result means nothing.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Why a call through the [`WorkerPool`] brought no answer to use. Every
/// caller handles each case once: a lost worker is a guest's doing (its
/// facts go to `classify`), a tool failure is faultbox's own, an interrupt
/// makes the result meaningless.
#[derive(Debug)]
pub enum CallError {
    /// The worker died or stopped answering during the request.
    Lost(Lost),
    /// faultbox itself failed: a worker that could not start, a request the
    /// worker could not carry out (`Message::Failed`), a native child whose
    /// setup failed before the guest ran.
    Tool(anyhow::Error),
    /// An interrupt stopped the worker.
    Interrupted,
}

impl From<CallError> for anyhow::Error {
    /// For callers to whom a lost worker is an error too (bench, soak).
    fn from(e: CallError) -> anyhow::Error {
        match e {
            CallError::Lost(lost) => anyhow::anyhow!("the worker was lost: it {}", lost.summary()),
            CallError::Tool(e) => e,
            CallError::Interrupted => Interrupted.into(),
        }
    }
}

/// Where the progress a worker reports during a long request goes (the
/// command's progress line); `None`: nowhere.
static PROGRESS_HOOK: Mutex<Option<Box<dyn Fn(u64) + Send>>> = Mutex::new(None);

/// Sends the progress workers report to `hook` until the guard is dropped.
pub fn report_progress_to(hook: impl Fn(u64) + Send + 'static) -> ProgressGuard {
    if let Ok(mut slot) = PROGRESS_HOOK.lock() {
        *slot = Some(Box::new(hook));
    }
    ProgressGuard
}

/// Ends [`report_progress_to`] when dropped.
pub struct ProgressGuard;

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        if let Ok(mut slot) = PROGRESS_HOOK.lock() {
            *slot = None;
        }
    }
}

/// One running worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    /// Bytes read from stdout that do not yet end a line.
    pending: Vec<u8>,
    stderr: Arc<Mutex<TailBuffer>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// What it said first.
    hello: Hello,
    /// Its stdout lines that were not messages, during the last call.
    stray: StrayLines,
    /// The signal sent to it during the last call (the request's `inject`,
    /// on its `ready`), and how that went.
    injection: Option<InjectionReport>,
}

/// The last [`STRAY_BYTES`] of a worker's stdout lines that were not
/// protocol messages.
#[derive(Default)]
struct StrayLines {
    lines: std::collections::VecDeque<String>,
    bytes: usize,
}

impl StrayLines {
    fn push(&mut self, line: &[u8]) {
        let mut text = String::from_utf8_lossy(line).into_owned();
        if text.len() > STRAY_BYTES {
            let mut cut = STRAY_BYTES - '…'.len_utf8();
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        self.bytes += text.len();
        self.lines.push_back(text);
        while self.bytes > STRAY_BYTES {
            let first = self.lines.pop_front().expect("bytes count kept lines");
            self.bytes -= first.len();
        }
    }

    fn take(&mut self) -> Vec<String> {
        self.bytes = 0;
        self.lines.drain(..).collect()
    }
}

/// What one line from a worker's stdout is.
enum Line {
    Message(Message),
    /// Not a JSON object with a known `type`: skipped.
    Stray,
    /// A known `type` that does not parse as its message: why.
    Broken(String),
}

fn read_message(line: &[u8]) -> Line {
    match serde_json::from_slice::<Message>(line) {
        Ok(message) => Line::Message(message),
        Err(e) => match serde_json::from_slice::<serde_json::Value>(line).ok().as_ref().and_then(|v| v.get("type")?.as_str()) {
            Some(t) if MESSAGE_TYPES.contains(&t) => Line::Broken(format!("its `{t}` message does not parse ({e}): {}", shown(line))),
            _ => Line::Stray,
        },
    }
}

/// A line a worker wrote, for an error message: one line, at most 300
/// characters.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out: String = text.chars().take(300).flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// Where `FAULTBOX_TRACE_PROTOCOL` names a file, every request line sent
/// to a worker and every line read back is appended to it: a recording an
/// adapter's author can replay against their own worker and compare with
/// faultbox's (the module paths in it outlive the run only where they are
/// cached builds).
pub const TRACE_ENV: &str = "FAULTBOX_TRACE_PROTOCOL";

fn trace(line: &[u8]) {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os(TRACE_ENV)?;
        std::fs::OpenOptions::new().create(true).append(true).open(path).ok().map(Mutex::new)
    });
    if let Some(file) = file {
        let _ = file.lock().unwrap_or_else(|e| e.into_inner()).write_all(line);
    }
}

fn faultbox_worker(exe: &Path, kind: WorkerKind) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("worker").arg(kind.arg());
    cmd
}

/// A worker to start, and where to say how that went.
struct SpawnJob {
    cmd: Command,
    reply: mpsc::Sender<anyhow::Result<Child>>,
}

/// Workers are forked by this one thread, which lives as long as the
/// supervisor: PR_SET_PDEATHSIG fires when the *thread* that forked a
/// child exits, and the job threads that ask for workers come and go.
fn spawner() -> anyhow::Result<&'static mpsc::Sender<SpawnJob>> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnJob>> = OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    if let Some(tx) = SPAWNER.get() {
        return Ok(tx);
    }
    let _one = START.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(tx) = SPAWNER.get() {
        return Ok(tx);
    }
    let (tx, rx) = mpsc::channel::<SpawnJob>();
    std::thread::Builder::new()
        .name("fb-spawner".into())
        .spawn(move || {
            for mut job in rx {
                let _ = job.reply.send(spawn_registered(&mut job.cmd));
            }
        })
        .context("cannot start the thread that starts workers")?;
    Ok(SPAWNER.get_or_init(|| tx))
}

/// Spawns under the lock: an interrupt (or the stray reaper) either sees
/// this worker or stops it from starting.
fn spawn_registered(cmd: &mut Command) -> anyhow::Result<Child> {
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    anyhow::ensure!(!live.stopping, "faultbox is stopping");
    let child = cmd.spawn()?;
    live.pids.push(child.id());
    Ok(child)
}

impl Worker {
    pub fn spawn(exe: &Path, kind: WorkerKind) -> anyhow::Result<Worker> {
        // An adapter's configuration runs in its adapter, any other in
        // `faultbox worker <kind>`; both are the same kind of worker.
        let (mut cmd, shown_cmd) = match kind {
            WorkerKind::Wasm(model) => match super::adapter::launcher(model) {
                Some(Ok(launcher)) => {
                    let shown = format!("{} {} {}", launcher.program.display(), launcher.args.join(" "), model.name());
                    (launcher.command(model), shown)
                }
                Some(Err(why)) => anyhow::bail!("the {model} adapter cannot run here: {}", why.line()),
                None => (faultbox_worker(exe, kind), format!("{} worker {}", exe.display(), kind.arg())),
            },
            WorkerKind::Native => (faultbox_worker(exe, kind), format!("{} worker {}", exe.display(), kind.arg())),
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Guests must not behave differently with the user's settings:
            // a backtrace on every native panic also costs ~100 ms.
            .env("RUST_BACKTRACE", "0")
            .env_remove("RUST_LIB_BACKTRACE")
            // The supervisor's `--wasm-features` choice, for the worker's engines.
            .env(crate::wasm::PROFILE_ENV, crate::wasm::WasmProfile::current().name())
            // Its own process group: a Ctrl-C at the terminal reaches the
            // supervisor, which then stops the workers in order.
            .process_group(0);
        // An adapter's runtime (Node.js, Go) keeps an ignore it inherits:
        // it must meet the defaults, as faultbox's own worker resets them.
        // SAFETY: the closure only calls sigaction, async-signal-safe.
        unsafe { cmd.pre_exec(|| Ok(crate::process::reset_inherited_ignores())) };
        // A worker dies with its supervisor, however the supervisor ends
        // (SIGKILL included): SIGTERM, so that a fork server still kills
        // its child and strays on the way out. The forking thread is the
        // long-lived spawner, see `spawner`.
        let parent = std::process::id() as i32;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                crate::process::die_with_parent(libc::SIGTERM)?;
                // The supervisor died before the line above took effect.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let (reply, answer) = mpsc::channel();
        spawner()?.send(SpawnJob { cmd, reply }).map_err(|_| anyhow::anyhow!("the worker spawner is gone"))?;
        let mut child = answer
            .recv()
            .map_err(|_| anyhow::anyhow!("the worker spawner is gone"))?
            .with_context(|| format!("cannot start worker `{shown_cmd}`"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        // Every read and write to the worker is bounded by a deadline: the
        // supervisor's ends of the pipes never block.
        for fd in [stdout.as_raw_fd()].into_iter().chain(stdin.as_ref().map(|s| s.as_raw_fd())) {
            crate::process::set_nonblocking(fd);
        }
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(TailBuffer::default()));
        let sink = stderr.clone();
        let reader = std::thread::Builder::new().name("fb-worker-stderr".into()).spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push(&buf[..n]);
            }
        });
        let reader = match reader {
            Ok(reader) => reader,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                unregister(child.id());
                return Err(e.into());
            }
        };
        let hello = Hello { protocol: 0, worker: String::new(), engine: None, requests: Vec::new() };
        let mut worker =
            Worker { child, stdin, stdout, pending: Vec::new(), stderr, stderr_reader: Some(reader), hello, stray: StrayLines::default(), injection: None };
        match worker.handshake(kind) {
            Ok(hello) => {
                worker.hello = hello;
                Ok(worker)
            }
            Err(why) => {
                // Stopped and reaped here, not by `Drop`: its last words
                // are in the error already.
                if worker.stderr_reader.is_some() {
                    worker.lost(false, Vec::new());
                }
                anyhow::bail!("the {kind} worker (`{shown_cmd}`) {why}", kind = kind.arg())
            }
        }
    }

    /// Reads the worker's first line, which must be its [`Hello`]: the
    /// version this supervisor speaks, and the kind it was started as.
    /// `Err`: what is wrong, as the end of one sentence.
    fn handshake(&mut self, kind: WorkerKind) -> Result<Hello, String> {
        let line = match self.read_line(Instant::now() + HELLO_WAIT) {
            Ok(line) => line,
            Err(true) => return Err(format!("said nothing within {} s of starting (a worker's first line is its hello)", HELLO_WAIT.as_secs())),
            Err(false) => {
                let lost = self.lost(false, Vec::new());
                return Err(format!("{} before its hello", lost.summary()));
            }
        };
        let said = shown(&line);
        let value: Option<serde_json::Value> = serde_json::from_slice(&line).ok();
        let field = |name: &str| value.as_ref().and_then(|v| v.get(name));
        match field("type").and_then(|t| t.as_str()) {
            Some("hello") => {}
            Some("failed") => {
                let message = field("message").and_then(|m| m.as_str()).unwrap_or_default();
                return Err(format!("could not start: {}", shown(message.as_bytes())));
            }
            _ => return Err(format!("did not begin with a hello (worker protocol {PROTOCOL_VERSION}); its first line: {said}")),
        }
        match field("protocol").and_then(|p| p.as_u64()) {
            Some(v) if v == PROTOCOL_VERSION as u64 => {}
            Some(v) => return Err(format!("speaks worker protocol {v} and this faultbox speaks {PROTOCOL_VERSION}; its hello: {said}")),
            None => return Err(format!("sent a hello without a protocol version (this faultbox speaks {PROTOCOL_VERSION}); its hello: {said}")),
        }
        let hello = match serde_json::from_slice::<Message>(&line) {
            Ok(Message::Hello(hello)) => hello,
            Ok(_) => unreachable!("its type is hello"),
            Err(e) => return Err(format!("sent a hello that does not parse ({e}); its hello: {said}")),
        };
        if hello.worker != kind.arg() {
            return Err(format!("says it is the `{}` worker; its hello: {said}", shown(hello.worker.as_bytes())));
        }
        Ok(hello)
    }

    /// What the worker said when it started: its protocol version, kind,
    /// engine and the requests it serves.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// The lines the worker wrote to stdout during the last call that were
    /// not protocol messages (the last [`STRAY_BYTES`] of them), skipped.
    pub fn stray_lines(&self) -> Vec<String> {
        self.stray.lines.iter().cloned().collect()
    }

    /// Sends `request` and waits up to `deadline` for its answer. Host
    /// calls the worker announces on the way are collected. The deadline
    /// covers writing the request and reading every byte of the answer: a
    /// worker stopped halfway through either is hung, not waited for.
    pub fn call(&mut self, request: &Request, deadline: Duration) -> Result<Message, Lost> {
        self.call_phased(request, None, deadline)
    }

    /// [`Worker::call`] for a wasm run with a compile budget: the request
    /// and the compilation get `compile_budget`, and `deadline` starts when
    /// the worker says the module is compiled. A worker still compiling at
    /// its budget is lost with `compiling` set.
    pub fn call_phased(&mut self, request: &Request, compile_budget: Option<Duration>, deadline: Duration) -> Result<Message, Lost> {
        // Its memory is watched while the call is in flight (`guard`).
        let watch = super::guard::watch(self.child.id(), request);
        let result = self.call_inner(request, compile_budget, deadline);
        let over_memory = watch.and_then(super::guard::Watch::finish);
        result.map_err(|(mut lost, compiling)| {
            lost.compiling = compiling;
            lost.over_memory = over_memory;
            lost
        })
    }

    fn call_inner(&mut self, request: &Request, compile_budget: Option<Duration>, deadline: Duration) -> Result<Message, (Lost, bool)> {
        self.stderr.lock().unwrap().clear();
        self.stray.take();
        let inject = match request {
            Request::Wasm(w) => w.inject,
            _ => None,
        };
        self.injection = inject.map(|signal| InjectionReport { signal, sent_after_us: None, still_pending: None });
        // A compile waits for its place (`guard::compile_slot`) before its
        // budget starts, and gives it up once the module is compiled.
        let mut compile_slot = compile_budget.map(|_| super::guard::compile_slot());
        let sent_from = Instant::now();
        let mut host_calls = Vec::new();
        let mut compiling = compile_budget.is_some();
        let mut until = Instant::now() + compile_budget.unwrap_or(deadline);
        let mut line = serde_json::to_vec(request).expect("requests serialize");
        line.push(b'\n');
        trace(&line);
        if let Err(hung) = self.write_all(&line, until) {
            return Err((self.lost(hung, host_calls), compiling));
        }
        loop {
            let reply = match self.read_line(until) {
                Ok(reply) => reply,
                Err(hung) => return Err((self.lost(hung, host_calls), compiling)),
            };
            trace(&[&reply[..], b"\n"].concat());
            let message = match read_message(&reply) {
                Line::Message(message) => message,
                // Evidence, not an answer: the deadline stays as it was.
                Line::Stray => {
                    self.stray.push(&reply);
                    continue;
                }
                Line::Broken(why) => return Err((self.broke_protocol(why, host_calls), compiling)),
            };
            match message {
                Message::HostCall { op } => host_calls.push(op),
                // The guest is ready: the signal goes to the worker's
                // process now, once, as a stray `kill` would.
                Message::Ready => {
                    if let Some(i) = self.injection.as_mut().filter(|i| i.sent_after_us.is_none()) {
                        // SAFETY: kill(2) with integers; the worker is our
                        // unreaped child, so the pid is still its own.
                        unsafe { libc::kill(self.child.id() as i32, i.signal.0) };
                        i.sent_after_us = Some(sent_from.elapsed().as_micros() as u64);
                    }
                }
                Message::Progress { done } => {
                    if let Ok(hook) = PROGRESS_HOOK.lock() {
                        if let Some(hook) = hook.as_ref() {
                            hook(done);
                        }
                    }
                }
                Message::Compiled { .. } => {
                    drop(compile_slot.take());
                    if compiling {
                        compiling = false;
                        until = Instant::now() + deadline;
                    }
                }
                Message::Hello(_) => return Err((self.broke_protocol(format!("it said hello again: {}", shown(&reply)), host_calls), compiling)),
                message => {
                    // Alive and answering: was the signal ever taken?
                    if let Some(i) = self.injection.as_mut().filter(|i| i.sent_after_us.is_some()) {
                        i.still_pending = crate::process::signal_pending(self.child.id() as i32, i.signal.0);
                    }
                    return Ok(message);
                }
            }
        }
    }

    /// Writes all of `bytes` by `until`. `Err(hung)`: whether the worker
    /// stopped reading (else it is gone).
    fn write_all(&mut self, mut bytes: &[u8], until: Instant) -> Result<(), bool> {
        let Some(stdin) = self.stdin.as_mut() else { return Err(false) };
        while !bytes.is_empty() {
            match stdin.write(bytes) {
                Ok(0) => return Err(false),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !wait_ready(stdin.as_fd(), PollFlags::POLLOUT, until)? {
                        return Err(true);
                    }
                }
                Err(_) => return Err(false),
            }
        }
        Ok(())
    }

    /// Reads one line (without its newline) by `until`. `Err(hung)`:
    /// whether the worker stopped answering (else it is gone, or its
    /// answer is too long to be one).
    fn read_line(&mut self, until: Instant) -> Result<Vec<u8>, bool> {
        let mut scanned = 0;
        loop {
            if let Some(nl) = self.pending[scanned..].iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..scanned + nl + 1).collect();
                line.pop();
                return Ok(line);
            }
            scanned = self.pending.len();
            if scanned > MAX_ANSWER_BYTES {
                return Err(false);
            }
            let mut buf = [0u8; 64 * 1024];
            match self.stdout.read(&mut buf) {
                Ok(0) => return Err(false),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !wait_ready(self.stdout.as_fd(), PollFlags::POLLIN, until)? {
                        return Err(true);
                    }
                }
                Err(_) => return Err(false),
            }
        }
    }

    /// Whether this idle worker can take a request: still running, and
    /// with nothing (not even end-of-file) waiting on its stdout.
    fn idle_and_alive(&mut self) -> bool {
        if !matches!(self.child.try_wait(), Ok(None)) || !self.pending.is_empty() {
            return false;
        }
        let mut fds = [PollFd::new(self.stdout.as_fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(0))
    }

    /// The worker is gone, hung, or answering nonsense: make sure it is
    /// gone (SIGTERM first, so a fork server can clean up its child and
    /// strays), reap it and say how it ended. Never blocks on a live worker.
    fn lost(&mut self, hung: bool, host_calls: Vec<String>) -> Lost {
        drop(self.stdin.take());
        crate::process::terminate(self.child.id() as i32, Duration::from_millis(500));
        let status = self.child.wait().ok();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        unregister(self.child.id());
        Lost {
            signal: status.and_then(|s| s.signal()).map(Signal),
            exit_code: status.and_then(|s| s.code()),
            hung,
            stderr: self.stderr.lock().unwrap().finish(),
            host_calls,
            compiling: false,
            stray_stdout: self.stray.take(),
            broke_protocol: None,
            over_memory: None,
        }
    }

    /// The worker wrote a message that does not parse: it is stopped like
    /// a lost one, with `why` said.
    fn broke_protocol(&mut self, why: String, host_calls: Vec<String>) -> Lost {
        Lost { broke_protocol: Some(why), ..self.lost(false, host_calls) }
    }

    /// Closes stdin and waits for the worker to exit on its own; kills it
    /// if it does not within a second.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.stdin.take());
        let pid = self.child.id() as i32;
        // Only while it is unreaped may its pid be signalled: once reaped,
        // the pid may already name another process.
        if matches!(self.child.try_wait(), Ok(None)) {
            let ended = crate::process::pidfd_open(pid).is_ok_and(|fd| crate::process::wait_exit(&fd, Duration::from_secs(1)));
            if !ended {
                crate::process::terminate(pid, Duration::from_millis(500));
            }
        }
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        unregister(self.child.id());
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.stderr_reader.is_some() {
            self.stop();
        }
    }
}

/// Whether this process adopts orphans (see [`adopt_orphans`]).
static ADOPTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes this process a child subreaper, as the fork server is: a native
/// guest that kills the fork server (or a stray that outlives it) is
/// reparented to the supervisor instead of init, and [`kill_strays`] ends
/// it. Only for the faultbox CLI: in a process that has children of its
/// own besides workers, every non-worker child would count as a stray.
pub fn adopt_orphans() {
    if crate::process::become_subreaper().is_ok() {
        ADOPTING.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Kills and reaps every child of this process that is not a live worker:
/// orphans a dead fork server left to the subreaper. Repeats while a
/// killed one's own children keep arriving.
pub fn kill_strays() {
    if !ADOPTING.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let me = std::process::id();
    for _ in 0..16 {
        // Under the lock, a worker is either registered or not yet forked.
        let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        // So is every build or query this process started for itself.
        let own = crate::process::OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
        let strays: Vec<i32> =
            children_of(me).into_iter().filter(|p| !live.pids.contains(p) && !own.contains(p)).map(|p| p as i32).collect();
        drop(own);
        if strays.is_empty() {
            return;
        }
        for pid in strays {
            // SAFETY: `pid` is our unreaped child, so it cannot be reused
            // before the waitpid below.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Pids whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    crate::process::all_pids()
        .filter(|&pid| crate::process::stat_fields(pid).and_then(|f| f.get(crate::process::STAT_PPID).copied()) == Some(parent as u64))
        .collect()
}

/// Waits until `fd` is ready for `what` or `until` passes: `Ok(false)` at
/// the deadline; `Err(false)` when polling fails.
fn wait_ready(fd: std::os::fd::BorrowedFd<'_>, what: PollFlags, until: Instant) -> Result<bool, bool> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(fd, what)];
        match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
            Ok(0) => return Ok(false),
            // Readiness includes hang-up and error: the next read or write
            // says which.
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return Err(false),
        }
    }
}

fn unregister(pid: u32) {
    if let Ok(mut live) = LIVE.lock() {
        live.pids.retain(|&p| p != pid);
    }
}

/// The engine every kind of worker started in this process said it runs:
/// an adapter's version is the installed runtime's, known only from its
/// hello.
static SEEN: Mutex<Option<HashMap<WorkerKind, crate::protocol::EngineInfo>>> = Mutex::new(None);

/// What the last worker of `kind` started in this process said of its
/// engine, if one was started.
pub fn engine_seen(kind: WorkerKind) -> Option<crate::protocol::EngineInfo> {
    SEEN.lock().unwrap_or_else(|e| e.into_inner()).as_ref()?.get(&kind).cloned()
}

/// Idle workers by kind, shared by the threads that run scenarios.
pub struct WorkerPool {
    exe: PathBuf,
    idle: Mutex<HashMap<WorkerKind, Vec<Worker>>>,
    /// The hello of the last worker of each kind started.
    hellos: Mutex<HashMap<WorkerKind, Hello>>,
}

impl WorkerPool {
    /// `exe` is the faultbox binary that `worker` subcommands run in.
    pub fn new(exe: PathBuf) -> WorkerPool {
        WorkerPool { exe, idle: Mutex::new(HashMap::new()), hellos: Mutex::new(HashMap::new()) }
    }

    /// What the last worker of `kind` this pool started said in its hello
    /// (its engine and version), if one was started.
    pub fn hello(&self, kind: WorkerKind) -> Option<Hello> {
        self.hellos.lock().unwrap().get(&kind).cloned()
    }

    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Sends `request` to an idle worker of `kind` (starting one if none is
    /// idle). A worker that died is dropped; a live one goes back.
    pub fn call(&self, kind: WorkerKind, request: &Request, deadline: Duration) -> Result<Message, CallError> {
        self.call_phased(kind, request, None, deadline)
    }

    /// [`WorkerPool::call`] with a compile budget ([`Worker::call_phased`]).
    pub fn call_phased(
        &self,
        kind: WorkerKind,
        request: &Request,
        compile_budget: Option<Duration>,
        deadline: Duration,
    ) -> Result<Message, CallError> {
        self.call_injecting(kind, request, compile_budget, deadline).0
    }

    /// [`WorkerPool::call_phased`], and what became of the signal the
    /// request injects, if it injects one. A worker that was sent a signal
    /// is never used again: a signal it survived may have changed its
    /// dispositions (Rust's own SIGSEGV handler resets to the default and
    /// returns), and the next guest must not inherit that.
    pub fn call_injecting(
        &self,
        kind: WorkerKind,
        request: &Request,
        compile_budget: Option<Duration>,
        deadline: Duration,
    ) -> (Result<Message, CallError>, Option<InjectionReport>) {
        let mut worker = match self.take(kind) {
            Ok(w) => w,
            Err(e) => return (Err(e), None),
        };
        let result = worker.call_phased(request, compile_budget, deadline);
        let injection = worker.injection.take();
        let retire = injection.is_some_and(|i| i.sent_after_us.is_some());
        match result {
            Ok(_) if retire => worker.shutdown(),
            Ok(_) => self.give(kind, worker),
            // The interrupt stopped it: not a fault of the guest.
            Err(_) if stopping() => return (Err(CallError::Interrupted), injection),
            // A fork server that died leaves its strays to us.
            Err(_) => kill_strays(),
        }
        (Self::answer(kind, request, result), injection)
    }

    /// An idle worker of `kind` for the caller alone (started if none is
    /// idle), for a conversation of many requests (a spec script in an
    /// adapter); [`WorkerPool::give`] returns it.
    pub fn take(&self, kind: WorkerKind) -> Result<Worker, CallError> {
        // A worker that died while idle (killed from outside, or by a
        // guest's stray) is no fault of this request's guest: it is
        // replaced, and whatever it left behind is cleared away.
        let worker = loop {
            let idle = self.idle.lock().unwrap().get_mut(&kind).and_then(Vec::pop);
            match idle {
                Some(mut w) => {
                    if w.idle_and_alive() {
                        break w;
                    }
                    w.shutdown();
                    kill_strays();
                }
                None => {
                    // A worker stopped by an interrupt before its hello did
                    // not fail to start.
                    let worker = Worker::spawn(&self.exe, kind).map_err(|e| if stopping() { CallError::Interrupted } else { CallError::Tool(e) })?;
                    self.hellos.lock().unwrap().insert(kind, worker.hello().clone());
                    if let Some(engine) = &worker.hello().engine {
                        SEEN.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_default().insert(kind, engine.clone());
                    }
                    break worker;
                }
            }
        };
        Ok(worker)
    }

    /// Puts a worker taken with [`WorkerPool::take`] back, idle.
    pub fn give(&self, kind: WorkerKind, worker: Worker) {
        self.idle.lock().unwrap().entry(kind).or_default().push(worker);
    }

    /// A call's result as the caller sees it: a broken protocol or a
    /// worker's own failure is faultbox's failure, a loss the guest's.
    pub fn answer(kind: WorkerKind, request: &Request, result: Result<Message, Lost>) -> Result<Message, CallError> {
        match result {
            Err(Lost { broke_protocol: Some(why), .. }) => {
                Err(CallError::Tool(anyhow::anyhow!("the {} worker broke the worker protocol: {why}", kind.arg())))
            }
            Err(lost) => Err(CallError::Lost(lost)),
            Ok(Message::Failed { message }) => {
                Err(CallError::Tool(anyhow::anyhow!("the {} worker could not carry out the request: {message}", kind.arg())))
            }
            // A linked guest's child that could not set itself up. An
            // exec'd program's own exit code means nothing to faultbox (its
            // exec failures come back as `Message::Failed`).
            Ok(Message::Native(obs))
                if obs.report.stage == ChildStage::NotStarted
                    && !matches!(request, Request::Native(n) if n.exec.is_some())
                    && obs.status == (ChildStatus::Exited { code: crate::protocol::EXIT_SETUP_FAILED }) =>
            {
                Err(CallError::Tool(anyhow::anyhow!("the native child could not start: {}", obs.stderr.tail.trim())))
            }
            Ok(message) => Ok(message),
        }
    }

    /// Stops every idle worker.
    pub fn shutdown(&self) {
        let all: Vec<Worker> = self.idle.lock().unwrap().drain().flat_map(|(_, v)| v).collect();
        for w in all {
            w.shutdown();
        }
        kill_strays();
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
