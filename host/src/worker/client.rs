//! The supervisor's side of a worker: spawn it, send a request, read the
//! answer under a deadline, and notice when the worker dies or hangs.

use super::WorkerKind;
use super::protocol::{Message, OutputTail, Request, TailBuffer};
use crate::outcome::Signal;
use anyhow::Context;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// A worker that died or stopped answering during a request.
#[derive(Clone, Debug)]
pub struct Lost {
    pub signal: Option<Signal>,
    pub exit_code: Option<i32>,
    /// It stopped answering and was killed.
    pub hung: bool,
    pub stderr: OutputTail,
    /// Host operations it announced during the request, in order.
    pub host_calls: Vec<String>,
}

/// One running worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<TailBuffer>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    pub fn spawn(exe: &Path, kind: WorkerKind) -> anyhow::Result<Worker> {
        let mut cmd = Command::new(exe);
        cmd.arg("worker")
            .arg(kind.arg())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Guests must not behave differently with the user's settings:
            // a backtrace on every native panic also costs ~100 ms.
            .env("RUST_BACKTRACE", "0")
            .env_remove("RUST_LIB_BACKTRACE")
            // The supervisor's `--wasm-features` choice, for the worker's engines.
            .env(crate::wasm::PROFILE_ENV, crate::wasm::WasmProfile::current().name())
            // Its own process group: a Ctrl-C at the terminal reaches the
            // supervisor, which then stops the workers in order. (No
            // PR_SET_PDEATHSIG: it fires when the spawning *thread* exits,
            // and workers outlive the job thread that started them. A
            // worker whose supervisor is gone sees EOF on stdin and exits.)
            .process_group(0);
        // Spawn under the lock: an interrupt either sees this worker or
        // stops it from starting.
        let mut child = {
            let mut live = LIVE.lock().unwrap();
            anyhow::ensure!(!live.stopping, "faultbox is stopping");
            let child = cmd.spawn().with_context(|| format!("cannot start worker {}", exe.display()))?;
            live.pids.push(child.id());
            child
        };
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
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
        match reader {
            Ok(reader) => Ok(Worker { child, stdin, stdout, stderr, stderr_reader: Some(reader) }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                unregister(child.id());
                Err(e.into())
            }
        }
    }

    /// Sends `request` and waits up to `deadline` for its answer. Host
    /// calls the worker announces on the way are collected.
    pub fn call(&mut self, request: &Request, deadline: Duration) -> Result<Message, Lost> {
        self.stderr.lock().unwrap().clear();
        let mut host_calls = Vec::new();
        let line = serde_json::to_string(request).expect("requests serialize");
        let sent = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(line.as_bytes()).and_then(|_| s.write_all(b"\n")).and_then(|_| s.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.lost(false, host_calls));
        }
        let until = Instant::now() + deadline;
        loop {
            if self.stdout.buffer().is_empty() {
                let left = until.saturating_duration_since(Instant::now());
                let ms = left.as_millis().min(i32::MAX as u128) as i32;
                let mut fds = [PollFd::new(self.stdout.get_ref().as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
                    Ok(0) => return Err(self.lost(true, host_calls)),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => return Err(self.lost(false, host_calls)),
                }
            }
            let mut reply = String::new();
            match self.stdout.read_line(&mut reply) {
                Ok(0) | Err(_) => return Err(self.lost(false, host_calls)),
                Ok(_) => {}
            }
            match serde_json::from_str::<Message>(&reply) {
                Ok(Message::HostCall { op }) => host_calls.push(op),
                Ok(message) => return Ok(message),
                Err(_) => return Err(self.lost(false, host_calls)),
            }
        }
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
        }
    }

    /// Closes stdin and waits for the worker to exit on its own; kills it
    /// if it does not within a second.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.stdin.take());
        let pid = self.child.id() as i32;
        let ended = crate::process::pidfd_open(pid).is_ok_and(|fd| crate::process::wait_exit(&fd, Duration::from_secs(1)));
        if !ended {
            crate::process::terminate(pid, Duration::from_millis(500));
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

fn unregister(pid: u32) {
    if let Ok(mut live) = LIVE.lock() {
        live.pids.retain(|&p| p != pid);
    }
}

/// Idle workers by kind, shared by the threads that run scenarios.
pub struct WorkerPool {
    exe: PathBuf,
    idle: Mutex<HashMap<WorkerKind, Vec<Worker>>>,
}

impl WorkerPool {
    /// `exe` is the faultbox binary that `worker` subcommands run in.
    pub fn new(exe: PathBuf) -> WorkerPool {
        WorkerPool { exe, idle: Mutex::new(HashMap::new()) }
    }

    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Sends `request` to an idle worker of `kind` (starting one if none is
    /// idle). A worker that died is dropped; a live one goes back.
    pub fn call(&self, kind: WorkerKind, request: &Request, deadline: Duration) -> anyhow::Result<Result<Message, Lost>> {
        let idle = self.idle.lock().unwrap().get_mut(&kind).and_then(Vec::pop);
        let mut worker = match idle {
            Some(w) => w,
            None => Worker::spawn(&self.exe, kind)?,
        };
        let result = worker.call(request, deadline);
        match result {
            Ok(_) => self.idle.lock().unwrap().entry(kind).or_default().push(worker),
            // The interrupt stopped it: not a fault of the guest.
            Err(_) if stopping() => return Err(Interrupted.into()),
            Err(_) => {}
        }
        Ok(result)
    }

    /// Stops every idle worker.
    pub fn shutdown(&self) {
        let all: Vec<Worker> = self.idle.lock().unwrap().drain().flat_map(|(_, v)| v).collect();
        for w in all {
            w.shutdown();
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
