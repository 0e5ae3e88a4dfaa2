//! Native guests that are programs of their own, exec'd from the fork
//! server's child: a language runtime that must not be forked once it runs
//! (Go's is multithreaded from its first instruction), or a user's program.
//!
//! A program faultbox built (a language's guest program,
//! `ExecGuest::reports`) learns nothing of faultbox but two things: its
//! arguments (`<entry> <arg>`) and `FAULTBOX_REPORT_FD`, the number of a
//! pipe it may write report lines to ([`ReportLines`]). A program faultbox
//! did not build gets no such pipe and no such variable: what it would
//! claim of itself is never read, and its run is judged by its status and
//! output alone. The environment is otherwise empty: `GOTRACEBACK`,
//! `GOMEMLIMIT`, `GODEBUG` and their kin would change how it dies.
//!
//! The child is isolated as a linked guest's is (`child::isolate`: when
//! faultbox is root, it is no longer root afterwards), then [`run`] puts
//! the report pipe at [`REPORT_FD`], sets the address-space limit and
//! execs the program through a descriptor the fork server opened
//! (`execveat`), so a program in a directory the guest's user cannot enter
//! still runs. The report region is not the program's: the fork server
//! builds the run's [`ChildReport`] from the lines instead.

use super::child::{self, Isolation};
use super::region::Region;
use crate::limits::Limits;
use crate::outcome::Progress;
use crate::process::GuestIdentity;
use crate::protocol::{ChildReport, ChildStage, ExecGuest};
use nix::sys::resource::{Resource, setrlimit};
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

/// The child's descriptor for the report pipe, named in the environment.
pub const REPORT_FD: i32 = 3;

/// Where the child moves the descriptors it needs until the exec, out of
/// the way of the numbers it hands the program.
const HIGH_FD: i32 = 10;

/// Everything `execve` needs, prepared before the fork: the child only
/// makes system calls between fork and exec.
pub struct Prepared {
    program: CString,
    /// The program, opened by the fork server (close-on-exec): the child
    /// execs this descriptor, not the path.
    file: OwnedFd,
    /// It starts with `#!`: its interpreter reads it as `/dev/fd/<n>`, so
    /// the descriptor must stay open across the exec.
    script: bool,
    /// Who the child is when it execs: named in a permission failure.
    identity: GuestIdentity,
    /// The C strings `argv` and `envp` point into; their heap buffers do
    /// not move when the vectors do.
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// RLIMIT_AS for the program, bytes.
    address_space: u64,
}

impl Prepared {
    /// Opens the program and prepares its argv and environment. The error
    /// is one line naming the program.
    pub fn new(g: &ExecGuest, limits: &Limits, identity: GuestIdentity) -> Result<Prepared, String> {
        let cannot = |why: String| format!("cannot exec `{}`: {why}", g.program.display());
        let c = |s: &str| CString::new(s).map_err(|_| cannot(format!("a NUL byte in the argument `{}`", s.escape_debug())));
        let program = CString::new(g.program.as_os_str().as_encoded_bytes()).map_err(|_| cannot("a NUL byte in its path".into()))?;
        if program.is_empty() {
            return Err(cannot("an empty program path".into()));
        }
        let file = std::fs::File::open(&g.program).map_err(|e| cannot(e.to_string()))?;
        let mut magic = [0u8; 2];
        let script = std::os::unix::fs::FileExt::read_at(&file, &mut magic, 0).is_ok_and(|n| n == 2) && magic == *b"#!";
        let mut strings = vec![program.clone()];
        let argc = 1 + g.args.len();
        for a in &g.args {
            strings.push(c(a)?);
        }
        if g.reports {
            strings.push(c(&format!("FAULTBOX_REPORT_FD={REPORT_FD}"))?);
        }
        let ptrs = |s: &[CString]| s.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect::<Vec<_>>();
        let argv = ptrs(&strings[..argc]);
        let envp = ptrs(&strings[argc..]);
        Ok(Prepared {
            program,
            file: file.into(),
            script,
            identity,
            _strings: strings,
            argv,
            envp,
            address_space: address_space_limit(g, limits),
        })
    }

    /// Replaces this process with the program, through `fd`. Returns only
    /// on failure.
    fn exec(&self, fd: RawFd) -> std::io::Error {
        // SAFETY: an empty path with AT_EMPTY_PATH execs `fd` itself; the
        // NUL-terminated arrays of pointers to C strings are `self`'s and
        // outlive the call.
        unsafe { libc::syscall(libc::SYS_execveat, fd, c"".as_ptr(), self.argv.as_ptr(), self.envp.as_ptr(), libc::AT_EMPTY_PATH) };
        std::io::Error::last_os_error()
    }

    /// Why the exec failed, in one line: a permission refused to a guest
    /// that is not faultbox's user says so.
    fn exec_failure(&self, e: std::io::Error) -> String {
        let program = self.program.to_string_lossy();
        match (e.raw_os_error(), self.identity.dropped_to()) {
            (Some(libc::EACCES), Some((uid, gid))) => format!(
                "faultbox: cannot exec `{program}`: {e}: native guests run as uid {uid}, gid {gid} when faultbox runs as root, \
                 so the program (and a script's interpreter) must be executable, and a script readable, by them"
            ),
            _ => format!("faultbox: cannot exec `{program}`: {e}"),
        }
    }
}

/// RLIMIT_AS of an exec'd guest, bytes: its runtime's floor, the memory
/// limit and the native stack (saturating: a limit that large is none).
pub fn address_space_limit(g: &ExecGuest, limits: &Limits) -> u64 {
    g.address_space_floor_mib
        .saturating_mul(1 << 20)
        .saturating_add(limits.memory_bytes())
        .saturating_add(limits.native_stack_kib.saturating_mul(1 << 10))
}

/// What the fork server hands the child of an exec'd guest.
pub struct Launch {
    pub isolation: Isolation,
    pub region: &'static Region,
    /// The write end of the report pipe: becomes [`REPORT_FD`]. `None`: a
    /// program with no report channel.
    pub report: Option<OwnedFd>,
    /// The write end of a close-on-exec pipe: a successful exec closes it
    /// unwritten; a failure writes one byte to it before the child exits,
    /// so that the fork server knows the program never ran (whatever exit
    /// code a program of its own might choose).
    pub status: OwnedFd,
}

/// Becomes the program. Never returns: on a failure before or of the exec,
/// one line on stderr, a byte on the status pipe, and
/// `_exit(EXIT_SETUP_FAILED)`.
pub fn run(prepared: &Prepared, launch: Launch) -> ! {
    let Launch { isolation, region, report, status } = launch;
    let (report, mut status) = (report.map(IntoRawFd::into_raw_fd), status.into_raw_fd());
    let failure = match setup(prepared, isolation, report, &mut status) {
        Ok(fd) => {
            region.mark_ready();
            let e = prepared.exec(fd);
            prepared.exec_failure(e)
        }
        Err(e) => format!("faultbox: native child setup failed: {e}"),
    };
    let _ = writeln!(std::io::stderr(), "{failure}");
    // SAFETY: writing one byte from a local to a descriptor this process owns.
    let _ = unsafe { libc::write(status, [1u8].as_ptr().cast(), 1) };
    // SAFETY: _exit skips the fork server's atexit handlers and stdio.
    unsafe { libc::_exit(crate::protocol::EXIT_SETUP_FAILED) }
}

/// Sets the child up for the exec and returns the descriptor to exec.
/// Only the numbers the program is handed stay open across the exec: 0-2,
/// the report pipe at [`REPORT_FD`] if it has one, and a script's own
/// descriptor right after.
fn setup(prepared: &Prepared, isolation: Isolation, report: Option<RawFd>, status: &mut RawFd) -> anyhow::Result<RawFd> {
    child::isolate(isolation)?;
    // Ignored signals survive exec, and Rust's runtime ignores SIGPIPE in
    // the fork server: the program gets the default, as from a shell.
    // SAFETY: resets a disposition to the default; no handler involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let check = |r: libc::c_int, what: &str| -> anyhow::Result<libc::c_int> {
        anyhow::ensure!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
        Ok(r)
    };
    // First everything this child still needs goes above the numbers the
    // program gets, close-on-exec (the status pipe must live until the
    // exec, and close at it); then the report pipe and a script's
    // descriptor go to their numbers, where dup2 leaves them open across
    // the exec.
    // SAFETY: fcntl and dup2 on descriptors this process owns.
    let high = |fd: RawFd| check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, HIGH_FD) }, "fcntl");
    *status = high(*status)?;
    let report = report.map(high).transpose()?;
    let mut exec_fd = high(prepared.file.as_raw_fd())?;
    let mut next = REPORT_FD;
    if let Some(report) = report {
        // SAFETY: as above.
        check(unsafe { libc::dup2(report, REPORT_FD) }, "dup2")?;
        next += 1;
    }
    if prepared.script {
        // SAFETY: as above.
        exec_fd = check(unsafe { libc::dup2(exec_fd, next) }, "dup2")?;
        next += 1;
    }
    // Nothing else of the fork server's is the program's business:
    // everything from `next` up closes at the exec (the descriptors above
    // must live until then). Best effort, as for a linked guest: the fork
    // server opens all its descriptors close-on-exec anyway.
    // SAFETY: close_range with integer arguments.
    let _ = unsafe { libc::syscall(libc::SYS_close_range, next as u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    // Exec starts a fresh address space: the limit is absolute, the
    // runtime's floor included. RLIMIT_CORE 0 comes from the fork server.
    setrlimit(Resource::RLIMIT_AS, prepared.address_space, prepared.address_space)?;
    Ok(exec_fd)
}

/// The report protocol of an exec'd guest: one line per report, each
/// written with a single `write(2)` (atomic below `PIPE_BUF`).
///
/// | line | meaning |
/// |---|---|
/// | `started <entry> <arg>` | the scenario is about to run |
/// | `progress <n>` | the scenario's progress |
/// | `recovered <type> <message>` | the language's recovery caught a fault (`\\`, `\n`, `\r` escaped) |
/// | `fault_addr 0x<hex>` | the recovered fault's address |
/// | `health <n>` | the health check in the same process returned n |
/// | `returned <n>` | the scenario returned n |
/// | `deferred <label>` | a deferred function began to run |
/// | `handled <SIGNAME>` | the program's own handler (Go's `signal.Notify`) received that signal |
/// | `finished` | the program is about to exit 0 |
///
/// Each line is read as it arrives, into a fixed-size state: progress is
/// counted, at most [`ReportLines::MAX_PANICS`] recoveries are kept, a line
/// is cut at [`ReportLines::MAX_LINE`] bytes and lines of no known kind are
/// counted and dropped, so a guest cannot flood the fork server. The times
/// are those at which the fork server read the lines: each is late by its
/// wake-up, tens of µs.
#[derive(Clone, Debug)]
pub struct ReportLines {
    /// The line being read, at most MAX_LINE bytes of it.
    partial: Vec<u8>,
    stage: ChildStage,
    value: Option<i64>,
    panics: Vec<String>,
    progress: Option<Progress>,
    health: Option<i64>,
    /// When (monotonic ns) the fork server read `started`, the end of the
    /// scenario (`returned` or `recovered`), the first `recovered`, and
    /// `health`; 0: not read.
    started_ns: u64,
    ended_ns: u64,
    fault_ns: u64,
    health_ns: u64,
    /// The last `recovered` line was kept and has no `fault_addr` yet.
    address_wanted: bool,
    defers: Vec<String>,
    handled: Option<String>,
    ignored: u64,
}

impl Default for ReportLines {
    fn default() -> Self {
        ReportLines {
            partial: Vec::new(),
            stage: ChildStage::NotStarted,
            value: None,
            panics: Vec::new(),
            progress: None,
            health: None,
            started_ns: 0,
            ended_ns: 0,
            fault_ns: 0,
            health_ns: 0,
            address_wanted: false,
            defers: Vec::new(),
            handled: None,
            ignored: 0,
        }
    }
}

impl ReportLines {
    /// Recoveries kept, as a linked guest's region keeps panics.
    pub const MAX_PANICS: usize = 4;
    pub const MAX_LINE: usize = 4096;
    /// Deferred functions kept, and the most bytes of a label.
    pub const MAX_DEFERS: usize = 16;
    const MAX_LABEL: usize = 64;

    /// Takes bytes read from the pipe at `now_ns` (monotonic).
    pub fn push(&mut self, mut bytes: &[u8], now_ns: u64) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            self.keep(&bytes[..nl]);
            let line = std::mem::take(&mut self.partial);
            self.line(&line, now_ns);
            self.partial = line;
            self.partial.clear();
            bytes = &bytes[nl + 1..];
        }
        self.keep(bytes);
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = Self::MAX_LINE.saturating_sub(self.partial.len());
        self.partial.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn line(&mut self, line: &[u8], now_ns: u64) {
        let line = String::from_utf8_lossy(line);
        let (word, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let number = || rest.trim().parse::<i64>().ok();
        match word {
            "started" if self.stage == ChildStage::NotStarted => {
                self.stage = ChildStage::Running;
                self.started_ns = now_ns;
            }
            "progress" if number().is_some() => {
                let reports = self.progress.map_or(0, |p| p.reports) + 1;
                self.progress = Some(Progress { last: number().unwrap(), reports });
            }
            "recovered" => {
                self.stage = ChildStage::Recovered;
                self.ended_ns = nonzero_or(self.ended_ns, now_ns);
                self.fault_ns = nonzero_or(self.fault_ns, now_ns);
                self.address_wanted = self.panics.len() < Self::MAX_PANICS;
                if self.address_wanted {
                    self.panics.push(unescape(rest));
                } else {
                    self.ignored += 1;
                }
            }
            // At most one per kept recovery: a flood of them must not
            // grow a message.
            "fault_addr" if self.address_wanted => {
                self.address_wanted = false;
                if let Some(last) = self.panics.last_mut() {
                    last.push_str(&format!(" (fault address {})", rest.trim()));
                }
            }
            "health" if number().is_some() => {
                self.health = number();
                self.health_ns = now_ns;
            }
            "returned" if number().is_some() => {
                self.stage = ChildStage::Completed;
                self.value = number();
                self.ended_ns = nonzero_or(self.ended_ns, now_ns);
            }
            "deferred" if self.defers.len() < Self::MAX_DEFERS && !rest.trim().is_empty() => {
                self.defers.push(label(rest));
            }
            "handled" if self.handled.is_none() && !rest.trim().is_empty() => {
                self.handled = Some(label(rest));
                self.fault_ns = nonzero_or(self.fault_ns, now_ns);
            }
            "finished" => {}
            _ => self.ignored += 1,
        }
    }

    /// What the lines say, in the terms of a linked guest's report region.
    /// `fork_ns` is when the fork server forked the child, `death_ns` when
    /// it saw the child gone (monotonic): startup is fork to `started` (the
    /// exec and the runtime's start-up included), the call `started` to
    /// the scenario's end (or death), the fault `started` to the first
    /// `recovered`, the health check `recovered` to `health`.
    pub fn finish(mut self, fork_ns: u64, death_ns: u64) -> ChildReport {
        // A last line without its newline still counts: the program may
        // have died right after writing it.
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, death_ns);
        }
        let us = |from: u64, to: u64| (from != 0 && to != 0 && to >= from).then(|| (to - from) / 1000);
        let end = nonzero_or(self.ended_ns, death_ns);
        ChildReport {
            stage: self.stage,
            value: self.value.filter(|_| self.stage == ChildStage::Completed),
            panics: self.panics,
            progress: self.progress,
            host_call: None,
            alloc_failures: 0,
            first_failed_alloc_bytes: 0,
            health: self.health,
            startup_us: us(fork_ns, self.started_ns),
            call_us: us(self.started_ns, end),
            fault_us: us(self.started_ns, self.fault_ns),
            health_us: us(self.fault_ns, self.health_ns),
            defers: self.defers,
            handled: self.handled,
        }
    }

    /// Whether the program has reported progress yet: its readiness, for
    /// an injected signal.
    pub fn progressed(&self) -> bool {
        self.progress.is_some()
    }

    /// When the fork server read the `started` line (monotonic ns), 0 if
    /// it did not.
    pub fn started_ns(&self) -> u64 {
        self.started_ns
    }

    /// Lines dropped: of no known kind, or beyond what is kept.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }
}

/// A label a guest reported, trimmed and cut at a character boundary.
fn label(rest: &str) -> String {
    let rest = rest.trim();
    let mut end = rest.len().min(ReportLines::MAX_LABEL);
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    rest[..end].to_string()
}

fn nonzero_or(t: u64, now: u64) -> u64 {
    if t == 0 { now } else { t }
}

/// Undoes the protocol's escapes: `\\`, `\n`, `\r`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&str]) -> ChildReport {
        let mut r = ReportLines::default();
        for (i, c) in chunks.iter().enumerate() {
            r.push(c.as_bytes(), 1_000_000 * (i as u64 + 1));
        }
        r.finish(1, 1_000_000 * (chunks.len() as u64 + 1))
    }

    #[test]
    fn a_recovery_reads_as_a_recovered_stage_with_its_message_and_health() {
        let r = read(&[
            "started null_write 0\nrecov",
            "ered runtime.errorString runtime error: invalid memory address\\nsecond line\n",
            "health 1611526157\nfinished\n",
        ]);
        assert_eq!(r.stage, ChildStage::Recovered);
        assert_eq!(r.panics, vec!["runtime.errorString runtime error: invalid memory address\nsecond line".to_string()]);
        assert_eq!(r.health, Some(1611526157));
        assert_eq!((r.startup_us, r.call_us, r.fault_us, r.health_us), (Some(999), Some(1000), Some(1000), Some(1000)));
    }

    #[test]
    fn a_fault_address_goes_with_its_recovery() {
        let r = read(&["started w 0\nrecovered runtime.errorAddressString boom\nfault_addr 0xdeadbee0\nhealth 1\n"]);
        assert_eq!(r.panics, vec!["runtime.errorAddressString boom (fault address 0xdeadbee0)".to_string()]);
    }

    #[test]
    fn a_death_after_start_is_running_with_its_last_progress() {
        let r = read(&["started recursion_small_frames 0\n", "progress 1024\nprogress 2048\n", "progress 30"]);
        assert_eq!(r.stage, ChildStage::Running);
        assert_eq!(r.progress, Some(Progress { last: 30, reports: 3 }));
        // From `started` to death.
        assert_eq!(r.call_us, Some(3000));
        assert_eq!(r.fault_us, None);
    }

    #[test]
    fn a_return_carries_its_value_and_nothing_is_a_not_started() {
        let r = read(&["started clean_run 0\nreturned 590\nfinished\n"]);
        assert_eq!((r.stage, r.value), (ChildStage::Completed, Some(590)));
        assert_eq!(read(&[]).stage, ChildStage::NotStarted);
        assert_eq!(read(&[]).startup_us, None);
    }

    #[test]
    fn defers_and_a_handled_signal_are_read_in_order_and_bounded() {
        // An empty label first: it is skipped, not counted.
        let mut lines = String::from("started await_signal_notified 15\nprogress 1\nhandled SIGTERM\nhandled SIGINT\ndeferred \n");
        for i in 0..40 {
            lines.push_str(&format!("deferred d{i}\n"));
        }
        lines.push_str("returned 15\n");
        let r = read(&[&lines]);
        assert_eq!(r.handled.as_deref(), Some("SIGTERM"));
        assert_eq!(r.defers.len(), ReportLines::MAX_DEFERS);
        assert_eq!((r.defers[0].as_str(), r.defers[15].as_str()), ("d0", "d15"));
        assert_eq!((r.stage, r.value), (ChildStage::Completed, Some(15)));
        assert!(read(&["started x 0\ndeferred scenario\n"]).handled.is_none());
    }

    #[test]
    fn a_flood_is_bounded_and_later_lines_still_count() {
        let mut r = ReportLines::default();
        r.push(b"started flood 0\n", 1);
        for _ in 0..10_000 {
            r.push(b"noise noise\nrecovered t m\nfault_addr 0x1\n", 2);
        }
        r.push(&vec![b'x'; 100_000], 3);
        r.push(b"\nhealth 5\n", 4);
        assert_eq!(r.ignored(), 10_000 + 2 * (10_000 - ReportLines::MAX_PANICS as u64) + 1);
        assert!(r.partial.capacity() <= 2 * ReportLines::MAX_LINE);
        let report = r.finish(0, 5);
        assert_eq!(report.stage, ChildStage::Recovered);
        assert_eq!(report.panics.len(), ReportLines::MAX_PANICS);
        assert_eq!(report.health, Some(5));
    }

    #[test]
    fn arguments_and_environment_are_prepared_before_the_fork() {
        let g = ExecGuest { program: "/bin/true".into(), args: vec!["a".into(), "b c".into()], address_space_floor_mib: 720, reports: true };
        let same = GuestIdentity::SameUser;
        let p = Prepared::new(&g, &Limits::default(), same).unwrap();
        assert_eq!((p.argv.len(), p.envp.len()), (4, 2));
        // SAFETY: pointers into `p`'s strings.
        let env = unsafe { std::ffi::CStr::from_ptr(p.envp[0]) };
        assert_eq!(env.to_str().unwrap(), "FAULTBOX_REPORT_FD=3");
        assert_eq!(p.address_space, (720 + 256 + 8) << 20);
        assert!(!p.script);
        // A program faultbox did not build: an empty environment.
        let p = Prepared::new(&ExecGuest { reports: false, ..g.clone() }, &Limits::default(), same).unwrap();
        assert_eq!(p.envp.len(), 1);
        let nul = ExecGuest { args: vec!["a\0b".into()], ..g.clone() };
        assert!(Prepared::new(&nul, &Limits::default(), same).is_err());
        let missing = ExecGuest { program: "/nonexistent/faultbox-guest".into(), ..g };
        let e = Prepared::new(&missing, &Limits::default(), same).err().unwrap();
        assert!(e.starts_with("cannot exec `/nonexistent/faultbox-guest`: ") && !e.contains('\n'), "{e}");
    }
}
