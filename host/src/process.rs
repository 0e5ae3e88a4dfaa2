//! Process plumbing shared by the supervisor and the workers: waiting for a
//! process to end without reaping it, stopping it in order, and reading
//! CPU clocks.

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

#[cfg(test)]
mod tests {
    use super::escape_terminal;

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

/// Whether faultbox started with stdout closed. Rust's runtime reopens a
/// closed standard descriptor on `/dev/null`, read-write, before `main`;
/// a shell's `>/dev/null` opens it write-only.
fn stdout_was_closed() -> bool {
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
