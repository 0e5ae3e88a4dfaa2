//! The platform module: every Linux-specific call faultbox makes, behind a
//! small documented function, and the process plumbing shared by the
//! supervisor and the workers (waiting for a process to end without
//! reaping it, stopping it in order, reading CPU clocks).
//!
//! faultbox runs on Linux only (`lib.rs` refuses to build elsewhere). What
//! it needs of the kernel, and where:
//! - **pidfd** (`pidfd_open`, Linux 5.3+): wait for a process to end
//!   without reaping it ([`pidfd_open`], [`wait_exit`], [`terminate`]).
//! - **signalfd**: the fork server reads its termination signals as data
//!   ([`termination_fd`], [`pending_termination`]).
//! - **prctl**: child subreaper ([`become_subreaper`]) and parent-death
//!   signal ([`die_with_parent`]).
//! - **close_range** (Linux 5.9+): a scenario child drops the fork
//!   server's descriptors ([`close_descriptors_from`]).
//! - **/proc**: resident set and address space ([`resident_kib`],
//!   [`open_statm`], [`address_space_bytes`]), a thread's children
//!   ([`open_children_files`], [`children_listed`]), every process's
//!   `stat` ([`all_pids`], [`stat_fields`], [`descendants_cpu_time`]).
//! - **cgroup v2** (`cpu.stat`, `cgroup.kill`): a native guest's CPU with
//!   everything it started ([`GuestCpu`], `process/guest_cpu.rs`).
//! - **credentials** (`setresuid`, capabilities, `no_new_privs`,
//!   `PR_SET_DUMPABLE`): a native guest kept away from faultbox's own
//!   processes ([`GuestIdentity`], [`make_undumpable`], `process/confine.rs`).
//! - **seccomp** (classic BPF): what a guest of faultbox's own user may
//!   not signal ([`SignalFilter`], `process/signal_filter.rs`).
//! - **CPU clocks** (`clock_getcpuclockid`, `pthread_getcpuclockid`):
//!   budgets counted in CPU time ([`process_cpu_clock`],
//!   [`current_thread_cpu_clock`], [`cpu_time`]).
//! - **madvise(MADV_DONTFORK)** and glibc's **mallopt**: memory a forked
//!   child does not inherit ([`unforked_buffer`]), one malloc arena
//!   ([`single_malloc_arena`]).
//! - **PAGEMAP_SCAN** (Linux 6.7+): used by wasmtime's pooling allocator
//!   itself, asked for in `wasm/engine.rs` with `Enabled::Auto`, so an older
//!   kernel only resets pool slots more slowly.
//!
//! fork, wait4, pipes, poll, rlimits and process groups are POSIX and are
//! called where they are used.

mod confine;
mod guest_cpu;
mod signal_filter;

pub use confine::{GUEST_GID, GUEST_UID, GuestIdentity, make_undumpable, mode_allows};
pub use guest_cpu::{CpuMark, GuestCpu, descendants_cpu_time};
pub use signal_filter::SignalFilter;

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// A pidfd for `pid`: it becomes readable when the process ends, whether
/// or not it has been reaped (Linux 5.3+).
pub fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the fd was just returned to us and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits up to `timeout` for the process behind `pidfd` to end. Does not
/// reap it: whoever owns the process still waits for it.
pub fn wait_exit(pidfd: &OwnedFd, timeout: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let until = Instant::now() + timeout;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Stops `pid` in order and returns once it has ended (it is not reaped):
/// nothing if it already ended, else SIGTERM, `grace` to act on it (the fork
/// server kills its child's group and strays), then SIGKILL.
pub fn terminate(pid: i32, grace: Duration) {
    use nix::sys::signal::{Signal, kill};
    let target = nix::unistd::Pid::from_raw(pid);
    let Ok(pidfd) = pidfd_open(pid) else {
        // Already reaped (or never ours): nothing to stop.
        return;
    };
    if wait_exit(&pidfd, Duration::ZERO) {
        return;
    }
    let _ = kill(target, Signal::SIGTERM);
    if !wait_exit(&pidfd, grace) {
        let _ = kill(target, Signal::SIGKILL);
        wait_exit(&pidfd, Duration::from_secs(10));
    }
}

/// Every pid in /proc.
pub fn all_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// Indices into [`stat_fields`]: `/proc/<pid>/stat` field n (1-based, as
/// proc(5) numbers them) is index n - 3, the fields after the command.
pub const STAT_PPID: usize = 1;
pub const STAT_PGRP: usize = 2;
pub const STAT_UTIME: usize = 11;
pub const STAT_STIME: usize = 12;
pub const STAT_CUTIME: usize = 13;
pub const STAT_CSTIME: usize = 14;

/// The numeric fields of `/proc/<pid>/stat` after the parenthesised
/// command (which may itself hold spaces and parentheses); the state
/// letter reads as 0.
pub fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(") ")?.1.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// This process's resident set, KiB: the second field of
/// `/proc/self/statm` (pages) times the page size; zero when it cannot be
/// read.
pub fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * page_size() as u64 / 1024
}

/// The size of a memory page, bytes (at least 4096).
pub fn page_size() -> usize {
    // SAFETY: sysconf with a constant name.
    (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as usize
}

/// The length of a clock tick, the unit of `/proc/<pid>/stat`'s CPU times.
pub fn clock_tick() -> Duration {
    // SAFETY: sysconf with a constant name.
    Duration::from_secs(1) / (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u32)
}

/// Whether `signal` is pending for process `pid` as a whole (`ShdPnd` in
/// `/proc/<pid>/status`: sent to the process and taken by no thread yet).
/// `None`: the process is gone or the file unreadable.
pub fn signal_pending(pid: i32, signal: i32) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = status.lines().find_map(|l| l.strip_prefix("ShdPnd:"))?.trim();
    let bits = u64::from_str_radix(mask, 16).ok()?;
    (1..=64).contains(&signal).then(|| bits & (1u64 << (signal - 1)) != 0)
}

/// Signals whose ignored disposition a guest or worker must not inherit: a
/// shell that starts faultbox in the background (as CI runners do) ignores
/// SIGINT and SIGQUIT, ignores survive fork and exec, and Go's runtime
/// keeps an inherited ignore. What a signal from outside does would then
/// depend on how faultbox was started. An ignored SIGCHLD would have the
/// kernel reap children unasked, and a pid signalled as a live child's
/// could then be anyone's.
pub const INHERITED_IGNORES: [libc::c_int; 8] =
    [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2, libc::SIGALRM, libc::SIGCHLD];

/// Puts every [`INHERITED_IGNORES`] signal that is ignored back to its
/// default. Async-signal-safe: only `sigaction`, so it may run between
/// fork and exec.
pub fn reset_inherited_ignores() {
    for sig in INHERITED_IGNORES {
        // SAFETY: reads a disposition into a zeroed sigaction, and sets the
        // default only where it was an ignore; no handler is involved.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

/// This process's `/proc/self/statm`, opened once to be read by
/// [`address_space_bytes`] on every run.
pub fn open_statm() -> std::io::Result<std::fs::File> {
    std::fs::File::open("/proc/self/statm")
}

/// A process's address-space size, from an open `/proc/<pid>/statm` (its
/// first field, in pages). Read with `pread` at offset 0: procfs renders
/// the file anew on every read, and an open descriptor spares the path
/// walk on every run.
pub fn address_space_bytes(statm: &std::fs::File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 128];
    let n = statm.read_at(&mut buf, 0)?;
    let pages = std::str::from_utf8(&buf[..n]).ok().and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok());
    let pages = pages.ok_or_else(|| std::io::Error::other("statm: no page count"))?;
    Ok(pages * page_size() as u64)
}

/// The `/proc/<pid>/task/<tid>/children` files of the calling thread (the
/// children it forks) and of the main thread (the orphans the kernel hands
/// a subreaper), opened once for [`children_listed`].
pub fn open_children_files() -> std::io::Result<Vec<std::fs::File>> {
    let (pid, tid) = (std::process::id(), nix::unistd::gettid().as_raw() as u32);
    let mut files = vec![std::fs::File::open(format!("/proc/{pid}/task/{tid}/children"))?];
    if tid != pid {
        files.push(std::fs::File::open(format!("/proc/{pid}/task/{pid}/children"))?);
    }
    Ok(files)
}

/// The pids an open `children` file ([`open_children_files`]) lists now.
pub fn children_listed(file: &std::fs::File) -> Vec<i32> {
    use std::os::unix::fs::FileExt;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    // The file can be longer than one buffer when many strays were left.
    while let Ok(n) = file.read_at(&mut buf, text.len() as u64) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&text).split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

/// Makes this process a child subreaper: orphans of its descendants are
/// re-parented to it (not to init), so that they can be found and killed.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Has the kernel send `signal` to this process when the thread that
/// forked it ends. Async-signal-safe (one system call): usable between
/// fork and exec. The parent may already be gone when it takes effect:
/// the caller checks `getppid` afterwards.
pub fn die_with_parent(signal: libc::c_int) -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Closes every descriptor numbered `first` or above (close_range, Linux
/// 5.9+). Async-signal-safe.
pub fn close_descriptors_from(first: u32) -> std::io::Result<()> {
    // SAFETY: close_range with integer arguments; the caller no longer uses
    // those descriptors.
    if unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Limits glibc's malloc to one arena: a second thread's arena would
/// reserve 64 MiB of address space, which counts against `RLIMIT_AS`.
pub fn single_malloc_arena() {
    // SAFETY: mallopt with integer arguments.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

/// Blocks `signals` in the calling thread and returns a non-blocking,
/// close-on-exec signalfd that reads them: they arrive as data, handled in
/// normal context, never by an asynchronous handler.
pub fn termination_fd(signals: &nix::sys::signal::SigSet) -> nix::Result<nix::sys::signalfd::SignalFd> {
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    signals.thread_block()?;
    SignalFd::with_flags(signals, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
}

/// Reads one pending signal from `fd`, if any: the exit code it asks for
/// (128 + its number, as a shell reports it).
pub fn pending_termination(fd: &nix::sys::signalfd::SignalFd) -> Option<i32> {
    fd.read_signal().ok().flatten().map(|s| 128 + s.ssi_signo as i32)
}

/// A zeroed buffer of `len` bytes that forked children do not inherit
/// (MADV_DONTFORK): writing it while a child lives costs no copy-on-write
/// faults. Never unmapped.
pub fn unforked_buffer(len: usize) -> std::io::Result<&'static mut [u8]> {
    use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous};
    let size = std::num::NonZeroUsize::new(len).ok_or_else(|| std::io::Error::other("an empty buffer"))?;
    // SAFETY: a fresh private anonymous mapping, never unmapped: 'static.
    unsafe {
        let ptr = mmap_anonymous(None, size, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_PRIVATE)?;
        madvise(ptr, len, MmapAdvise::MADV_DONTFORK)?;
        Ok(std::slice::from_raw_parts_mut(ptr.as_ptr().cast::<u8>(), len))
    }
}

/// Puts `fd` in non-blocking mode (best effort: a descriptor that refuses
/// stays as it was, and its reads block as before).
pub fn set_nonblocking(fd: std::os::fd::RawFd) {
    // SAFETY: fcntl on a descriptor the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// The CPU time `clock` has counted (a thread's or a process's CPU clock);
/// zero when it cannot be read (the process is gone).
pub fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The calling thread's CPU clock, readable from another thread. Where it
/// cannot be had, the monotonic clock (a budget on it counts wall time).
pub fn current_thread_cpu_clock() -> libc::clockid_t {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: pthread_self is always valid; the clock id is written to our local.
    match unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } {
        0 => clock,
        _ => libc::CLOCK_MONOTONIC,
    }
}

/// The CPU time of the calling thread.
pub fn thread_cpu_time() -> Duration {
    cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The CPU clock of process `pid` (all its threads), readable by its parent.
pub fn process_cpu_clock(pid: i32) -> std::io::Result<libc::clockid_t> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: writes the clock id into our local.
    let r = unsafe { libc::clock_getcpuclockid(pid, &mut clock) };
    if r != 0 {
        return Err(std::io::Error::from_raw_os_error(r));
    }
    Ok(clock)
}

/// Writes to stdout and flushes, returning any error (std's `print!`
/// panics on one). Colour codes are kept only where colour is wanted
/// (`--color`, a terminal).
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let text = std::fmt::format(args);
    let mut out = anstream::stdout();
    out.write_all(escape_terminal(&text).as_bytes()).and_then(|_| out.flush()).context("cannot write to stdout")
}

/// Whether the parameters of an SGR sequence (`ESC [ params m`) are ones
/// faultbox's own palette writes: reset, bold, and the eight 256-colour
/// foregrounds of the verdicts. Only those pass [`escape_terminal`]: a
/// guest's own SGR (conceal, black on black) could hide the verdict lines
/// that follow it, and outlive faultbox in the terminal.
fn faultbox_colour(params: &str) -> bool {
    const PALETTE: [&str; 8] = ["108", "78", "142", "174", "214", "203", "141", "245"];
    match params {
        "" | "0" | "1" => true,
        p => p.strip_prefix("38;5;").is_some_and(|n| PALETTE.contains(&n)),
    }
}

/// `text` made safe to show on a terminal: guest output, panic messages
/// and manifest text reach the reports, and a control character in them
/// must not set the terminal's title, clear the screen or move the cursor.
/// Every control character but newline and tab is shown escaped, as JSON
/// writes it (`\u001b`, `\r`, `\u009b`), so that the escape is also valid
/// inside the JSON report's strings (serde leaves DEL and C1 raw); colour
/// (SGR: `ESC [ digits ; m`) passes, since the reports colour their own
/// text and a colour cannot do more than colour.
pub fn escape_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            let params = rest[1..].strip_prefix('[').map(|p| p.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count());
            if let Some(n) = params
                && rest.as_bytes().get(2 + n) == Some(&b'm')
                && faultbox_colour(&rest[2..2 + n])
            {
                out.push_str(&rest[..3 + n]);
                rest = &rest[3 + n..];
                continue;
            }
        }
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// The children this process started for itself (a build, a toolchain
/// query), by pid: the supervisor is a child subreaper, and its stray
/// reaper kills every child that is not a live worker, so a build running
/// beside a lost worker would otherwise be killed and reaped under its own
/// `wait` (ECHILD). Held while listing strays, so a child is either
/// registered or not yet started.
pub static OWN_CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// A child started by [`spawn_own`]: registered in [`OWN_CHILDREN`] until
/// it is dropped (after it has been waited for).
pub struct OwnChild(pub std::process::Child);

/// Starts `cmd` as one of [`OWN_CHILDREN`].
pub fn spawn_own(cmd: &mut std::process::Command) -> std::io::Result<OwnChild> {
    let mut own = OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    own.push(child.id());
    Ok(OwnChild(child))
}

impl Drop for OwnChild {
    fn drop(&mut self) {
        let pid = self.0.id();
        OWN_CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).retain(|&p| p != pid);
    }
}

#[cfg(test)]
mod tests {
    use super::escape_terminal;

    #[test]
    fn an_own_child_is_registered_until_it_is_dropped() {
        let own = super::spawn_own(&mut std::process::Command::new("true")).expect("true runs");
        let pid = own.0.id();
        assert!(super::OWN_CHILDREN.lock().unwrap().contains(&pid));
        let mut own = own;
        own.0.wait().expect("waits");
        drop(own);
        assert!(!super::OWN_CHILDREN.lock().unwrap().contains(&pid));
    }

    #[test]
    fn controls_are_escaped_and_colour_kept() {
        assert_eq!(escape_terminal("a\tb\nc"), "a\tb\nc");
        assert_eq!(escape_terminal("\x1b]0;title\x07"), "\\u001b]0;title\\u0007");
        assert_eq!(escape_terminal("\x1b[2J\r"), "\\u001b[2J\\r");
        // Only faultbox's own palette passes: a guest's conceal (SGR 8) or
        // a colour of its choosing is shown escaped.
        assert_eq!(escape_terminal("\x1b[1m\x1b[38;5;203mcrashed\x1b[0m"), "\x1b[1m\x1b[38;5;203mcrashed\x1b[0m");
        assert_eq!(escape_terminal("hello \x1b[8m"), "hello \\u001b[8m");
        assert_eq!(escape_terminal("\x1b[1;31mred"), "\\u001b[1;31mred");
        assert_eq!(escape_terminal("\u{9b}2J\u{7f}"), "\\u009b2J\\u007f");
        // Valid inside a JSON string, and decodes to the original.
        let json = format!("\"{}\"", escape_terminal("a\u{7f}b"));
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), "a\u{7f}b");
    }
}

/// Whether `err` is a write to a pipe nobody reads any more.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The address space the supervisor needs for itself (job threads, worker
/// plumbing, reports); wasm workers need far more, and say so themselves.
const MIN_ADDRESS_SPACE: u64 = 256 << 20;

/// Why faultbox cannot run as started, if it cannot: stdout closed (std
/// would drop every write to it silently, and the next file opened would
/// take its place), or an address-space limit so small that an allocation
/// would abort the process before any error could be said.
pub fn unfit_environment() -> Option<String> {
    if stdout_was_closed() {
        return Some("stdout is closed: there is nowhere to write the output".into());
    }
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into our struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0
        && lim.rlim_cur != libc::RLIM_INFINITY
        && (lim.rlim_cur as u64) < MIN_ADDRESS_SPACE
    {
        return Some(format!(
            "the address-space limit (ulimit -v) is {} MiB; faultbox needs at least {} MiB",
            lim.rlim_cur as u64 >> 20,
            MIN_ADDRESS_SPACE >> 20
        ));
    }
    None
}

/// Whether descriptor 1 was open when the process started, as the
/// binary's ELF constructor found it ([`note_stdout_at_start`]): 0 not
/// looked at, 1 open, 2 closed.
static STDOUT_AT_START: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Notes whether stdout is open. For an ELF constructor of the binary:
/// it runs before Rust's runtime reopens a closed standard descriptor on
/// `/dev/null` read-write, which a closed stdout cannot be told from
/// afterwards (a script's `1<>/dev/null` is the same).
pub fn note_stdout_at_start() {
    // SAFETY: fcntl only queries descriptor 1.
    let open = unsafe { libc::fcntl(1, libc::F_GETFD) } != -1;
    STDOUT_AT_START.store(if open { 1 } else { 2 }, std::sync::atomic::Ordering::Relaxed);
}

/// Whether faultbox started with stdout closed: as noted before `main`
/// ([`note_stdout_at_start`]), else guessed from what Rust's runtime
/// leaves (read-write `/dev/null`), which refuses a stdout on /dev/null
/// opened read-write on purpose too.
fn stdout_was_closed() -> bool {
    match STDOUT_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        1 => return false,
        2 => return true,
        _ => {}
    }
    // SAFETY: fcntl and fstat only query descriptor 1 into our struct.
    unsafe {
        let flags = libc::fcntl(1, libc::F_GETFL);
        if flags == -1 {
            return true;
        }
        let mut st: libc::stat = std::mem::zeroed();
        flags & libc::O_ACCMODE == libc::O_RDWR
            && libc::fstat(1, &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && st.st_rdev == libc::makedev(1, 3)
    }
}

