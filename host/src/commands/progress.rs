//! A progress line on stderr for the long commands: counts, rate and time
//! left, redrawn at most ten times a second, and only when stderr is a
//! terminal (a log or a pipe gets nothing). A line is all this needs, so
//! no crate is pulled in for it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    total: u64,
    done: AtomicU64,
    started: Instant,
    /// When the line was last drawn; `None` when nothing is to be drawn.
    drawn: Option<Mutex<Instant>>,
}

impl Progress {
    /// Progress over `total` steps called `what` (e.g. "modules").
    pub fn new(what: &'static str, total: u64) -> Progress {
        let shown = std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let started = Instant::now();
        Progress { what, total, done: AtomicU64::new(0), started, drawn: shown.then(|| Mutex::new(started)) }
    }

    /// One more step done.
    pub fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.draw(done);
    }

    /// `done` steps done in all (a worker's count).
    pub fn set(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.draw(done);
    }

    fn draw(&self, done: u64) {
        let Some(drawn) = &self.drawn else { return };
        let Ok(mut last) = drawn.try_lock() else { return };
        if last.elapsed() < Duration::from_millis(100) && done < self.total {
            return;
        }
        *last = Instant::now();
        let mut text = line(self.what, done, self.total, self.started.elapsed());
        // A line wider than the terminal wraps, and `\r` then redraws only
        // its last row: every redraw would leave a row behind.
        if let Some(width) = width_of(libc::STDERR_FILENO) {
            text.truncate(width.saturating_sub(1));
        }
        let _ = write!(std::io::stderr(), "\r\x1b[2K{text}");
    }
}

/// A progress line fed by the count a worker reports during a long
/// request (soak, bench cycles); it ends when this is dropped.
pub struct WorkerProgress {
    _reporting: crate::worker::client::ProgressGuard,
}

impl WorkerProgress {
    pub fn new(what: &'static str, total: u64) -> WorkerProgress {
        let progress = Progress::new(what, total);
        // The hook holds the only Progress: unhooking drops it, which
        // clears the line.
        WorkerProgress { _reporting: crate::worker::client::report_progress_to(move |done| progress.set(done)) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // The report follows on stdout: the line must not be left under it.
        if self.drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// `[=====>     ] 120/1000 modules  12%  340/s  3s left`
fn line(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    const WIDTH: u64 = 24;
    let total = total.max(1);
    let filled = (WIDTH * done.min(total) / total) as usize;
    let bar = format!("{}{}", "=".repeat(filled), " ".repeat(WIDTH as usize - filled));
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    let left = if done == 0 { String::new() } else { format!("  {:.0}s left", (total - done.min(total)) as f64 / rate) };
    format!("[{bar}] {done}/{total} {what}  {}%  {rate:.0}/s{left}", 100 * done.min(total) / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_and_estimates() {
        let l = line("modules", 250, 1000, Duration::from_secs(5));
        assert!(l.starts_with("[======                  ] 250/1000 modules  25%  50/s  15s left"), "{l}");
    }
}

/// The width of the terminal (the progress line's and the report's) on descriptor `fd`, if it is one.
pub(crate) fn width_of(fd: libc::c_int) -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we pass.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}
