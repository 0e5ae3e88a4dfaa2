//! Every external tool faultbox runs (a compiler, `go build` with its
//! `compile` and `link` children, a toolchain query) runs under a guard:
//! when faultbox ends, however it ends (SIGKILL included, when faultbox
//! itself can do nothing), the tool and everything it started end too, and
//! a tool past its deadline is ended the same way ([`stop`]).
//!
//! The guard is the child faultbox forks to exec the tool. Instead of
//! exec'ing, it forks once more: the grandchild execs the tool in a process
//! group of its own, and the guard stays, a child subreaper whose
//! parent-death signal is SIGTERM. When the tool ends, when faultbox ends,
//! or when it is sent SIGTERM, the guard kills the tool's group and every
//! process left to it (orphans of the tool's tree come to it, whatever
//! group they moved to), reaps them, and exits as the tool did.
//!
//! The guard runs between fork and exec of a multithreaded program: it
//! makes system calls only, allocates nothing, takes no lock, and blocks
//! every signal so that no handler of faultbox's ever runs in it.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// How long a guard told to stop has to end its tool before it is killed
/// itself (it needs a few system calls per process).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Has `cmd`, when spawned, start under a guard. The process spawned is the
/// guard: its exit status is the tool's, a failure to exec the tool is the
/// spawn's error as usual, and killing it ends the tool ([`stop`]).
pub fn guarded(cmd: &mut Command) -> &mut Command {
    let faultbox = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child and makes only
    // async-signal-safe calls (system calls and, in a child that has a
    // single thread, fork): see `become_guard`.
    unsafe { cmd.pre_exec(move || become_guard(faultbox)) }
}

/// Ends a guarded tool and everything it started: SIGTERM to its guard,
/// which kills them and exits, then SIGKILL should the guard not end.
/// Returns once the guard has ended; it is not reaped.
pub fn stop(guard: u32) {
    crate::process::terminate(guard as i32, STOP_GRACE);
}

/// The forked child's part: returns (to exec the tool) only in the tool's
/// process; the guard never returns.
fn become_guard(faultbox: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: system calls on this process's own state, in a child of fork
    // that has a single thread; `before` and `all` are ours.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut before);
        // An ignored SIGCHLD would reap children unseen (and never be
        // queued for `sigtimedwait`).
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0
            || libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        // faultbox ended before the death signal was armed: no tool.
        if libc::getppid() != faultbox {
            libc::_exit(126);
        }
        let guard = libc::getpid();
        let tool = libc::fork();
        if tool < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if tool == 0 {
            // The tool: a group of its own, which the guard kills whole, and
            // killed with the guard should the guard itself be killed.
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            if libc::getppid() != guard {
                libc::_exit(126);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
            return Ok(());
        }
        // The guard keeps no descriptor: the spawner learns that the tool
        // was exec'd when its close-on-exec pipe has no writer left, and
        // the tool's output files are the spawner's to read.
        close_all();
        let status = watch(faultbox, tool);
        exit_as(status)
    }
}

/// Closes every descriptor of this process.
///
/// SAFETY: the caller uses no descriptor afterwards.
unsafe fn close_all() {
    // SAFETY: system calls with integer arguments.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) == 0 {
            return;
        }
        // Before Linux 5.9: every number up to the descriptor limit.
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 { lim.rlim_cur.min(1 << 20) } else { 1 << 16 };
        for fd in 0..top as libc::c_int {
            libc::close(fd);
        }
    }
}

/// Waits until the tool ends (its wait status), or faultbox ends or the
/// guard is told to stop (`None`); then ends everything that is left.
///
/// SAFETY: called by the guard only, with every signal blocked.
unsafe fn watch(faultbox: libc::pid_t, tool: libc::pid_t) -> Option<libc::c_int> {
    // SAFETY: system calls on our own children and signal state.
    unsafe {
        let mut wanted: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut wanted);
        libc::sigaddset(&mut wanted, libc::SIGCHLD);
        libc::sigaddset(&mut wanted, libc::SIGTERM);
        // A tick as well as the signals: a check of faultbox's pid that
        // does not rest on the death signal alone.
        let tick = libc::timespec { tv_sec: 0, tv_nsec: 100_000_000 };
        loop {
            let mut status = 0;
            loop {
                let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
                if pid == tool {
                    end_all(tool);
                    return Some(status);
                }
                if pid <= 0 {
                    break;
                }
            }
            if libc::getppid() != faultbox || libc::sigtimedwait(&wanted, std::ptr::null_mut(), &tick) == libc::SIGTERM {
                end_all(tool);
                return None;
            }
        }
    }
}

/// Kills the tool's group and every child of the guard (the tool, and
/// orphans of its tree that moved to another group), until none is left.
///
/// SAFETY: called by the guard only.
unsafe fn end_all(tool: libc::pid_t) {
    // SAFETY: signals to our own descendants, and reaping them.
    unsafe {
        libc::kill(-tool, libc::SIGKILL);
        // Without /proc only the group can be found: what is outside it
        // gets a second to end on its own.
        let mut blind_rounds = 0;
        loop {
            if !kill_children() {
                blind_rounds += 1;
            }
            loop {
                let pid = libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG);
                if pid < 0 {
                    return;
                }
                if pid == 0 {
                    break;
                }
            }
            if blind_rounds > 100 {
                return;
            }
            let pause = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
            libc::nanosleep(&pause, std::ptr::null_mut());
        }
    }
}

/// SIGKILLs every child `/proc/thread-self/children` lists; whether the
/// list could be read. A list longer than the buffer is taken a buffer at
/// a time, over the rounds of [`end_all`].
///
/// SAFETY: called by the guard only.
unsafe fn kill_children() -> bool {
    // SAFETY: open, read and close of a procfs file into our buffer; kill.
    unsafe {
        let fd = libc::open(c"/proc/thread-self/children".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let mut buf = [0u8; 4096];
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        if n < 0 {
            return false;
        }
        let text = &buf[..n as usize];
        // A number cut by the end of a full buffer is left for the next
        // round.
        let whole = if text.len() == buf.len() { text.iter().rposition(|&b| b == b' ').unwrap_or(0) } else { text.len() };
        let mut pid: libc::pid_t = 0;
        for &b in &text[..whole] {
            if b.is_ascii_digit() {
                pid = pid.saturating_mul(10).saturating_add((b - b'0') as libc::pid_t);
            } else {
                if pid > 0 {
                    libc::kill(pid, libc::SIGKILL);
                }
                pid = 0;
            }
        }
        if pid > 0 {
            libc::kill(pid, libc::SIGKILL);
        }
        true
    }
}

/// Exits as the tool did: its exit code, or death by its signal (without
/// a core dump: the guard's memory is a copy of faultbox's). A guard that
/// was stopped dies of SIGKILL, as a tool killed at its deadline would.
fn exit_as(status: Option<libc::c_int>) -> ! {
    // SAFETY: ends this process; the signal calls act on it alone.
    unsafe {
        let signal = match status {
            Some(s) if libc::WIFEXITED(s) => libc::_exit(libc::WEXITSTATUS(s)),
            Some(s) if libc::WIFSIGNALED(s) => libc::WTERMSIG(s),
            _ => libc::SIGKILL,
        };
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(signal, libc::SIG_DFL);
        let mut only: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut only);
        libc::sigaddset(&mut only, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
        libc::kill(libc::getpid(), signal);
        // A signal whose default is not to end the process.
        libc::_exit(128 + signal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn tagged(tag: &str) -> Vec<u32> {
        let needle = format!("FB_GUARD_TEST={tag}");
        crate::process::all_pids()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
                    // A zombie has ended, only not yet been reaped.
                    && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
            })
            .collect()
    }

    fn gone_within(tag: &str, secs: u64) -> bool {
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < until {
            if tagged(tag).is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn the_guard_exits_as_its_tool_did() {
        let table: &[(&str, Option<i32>, Option<i32>)] =
            &[("exit 0", Some(0), None), ("exit 3", Some(3), None), ("kill -9 $$", None, Some(9)), ("kill -TERM $$", None, Some(15))];
        for (script, code, signal) in table {
            let status = guarded(Command::new("sh").args(["-c", script])).status().expect("sh runs");
            assert_eq!((status.code(), status.signal()), (*code, *signal), "{script}");
        }
        let out = guarded(Command::new("sh").args(["-c", "echo out; echo err >&2"])).output().expect("sh runs");
        assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    }

    #[test]
    fn a_tool_that_cannot_be_exec_d_is_the_spawn_s_error() {
        let err = guarded(&mut Command::new("/nonexistent/faultbox-no-such-tool")).spawn().expect_err("no such file");
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    /// The tool's whole tree ends with it: a child in its group, and one
    /// that moved to a session of its own.
    #[test]
    fn stopping_the_guard_ends_the_tool_and_all_it_started() {
        let tag = format!("stop-{}", std::process::id());
        let mut child = guarded(
            Command::new("sh").args(["-c", "sleep 1000 & setsid sleep 1000 & echo started; wait"]).env("FB_GUARD_TEST", &tag).stdout(std::process::Stdio::piped()),
        )
        .spawn()
        .expect("sh runs");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        // sh and two sleeps (the guard never exec'd: its environment is
        // this process's).
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while tagged(&tag).len() < 3 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(tagged(&tag).len() >= 3, "{:?}", tagged(&tag));
        stop(child.id());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(gone_within(&tag, 10), "left running: {:?}", tagged(&tag));
    }

    /// A tool that ends leaves nothing behind either.
    #[test]
    fn what_a_finished_tool_left_running_is_ended() {
        let tag = format!("left-{}", std::process::id());
        let status =
            guarded(Command::new("sh").args(["-c", "setsid sleep 1000 </dev/null >/dev/null 2>&1 & exit 0"]).env("FB_GUARD_TEST", &tag)).status().unwrap();
        assert!(status.success());
        assert!(gone_within(&tag, 10), "left running: {:?}", tagged(&tag));
    }
}
