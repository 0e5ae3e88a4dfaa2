//! The CPU time of a native guest and of everything descended from it,
//! wherever those processes went: a child that moves to a process group
//! or a session of its own (`setpgid`, `setsid`) still counts toward the
//! guest's budget.
//!
//! Two ways, chosen once per fork server ([`GuestCpu::new`]):
//! - a **cgroup v2** of the fork server's own, which the fork server joins
//!   at its start, so that every child is born in it (moving each child in
//!   would cost a cgroup migration, ~60 µs, per run): the kernel charges
//!   it the CPU of every process in it, however it was started or reaped,
//!   and a guest running as another user cannot leave it. The fork
//!   server's own CPU, read from its process clock, is taken off. Used
//!   when faultbox runs as root and a cgroup2 hierarchy is mounted.
//! - otherwise **the subreaper's descendants**: the fork server is a child
//!   subreaper, so every live process a guest started is below it in the
//!   process tree, and a reaped one's CPU is in its reaper's `cutime`. A
//!   process reaped automatically (its parent ignores SIGCHLD) takes its
//!   CPU with it: that much can escape.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name of a fork server's cgroup, in the cgroup the fork server was
/// started in: this prefix and its pid.
const CGROUP_PREFIX: &str = "faultbox-guests-";

/// How a fork server counts its guests' CPU.
pub enum GuestCpu {
    /// Every guest joins this cgroup.
    Cgroup(GuestCgroup),
    /// The processes below this one (the subreaper) in the process tree.
    Descendants,
}

impl GuestCpu {
    /// A cgroup when this process runs as root and one can be made, else
    /// the descendants.
    pub fn new() -> GuestCpu {
        // SAFETY: geteuid cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        match root.then(GuestCgroup::create).flatten() {
            Some(cgroup) => GuestCpu::Cgroup(cgroup),
            None => GuestCpu::Descendants,
        }
    }

    /// What the counters say before a run: taken off what they say
    /// during it. Cheap (one read of `cpu.stat`, one clock).
    pub fn mark(&self) -> CpuMark {
        match self {
            GuestCpu::Cgroup(c) => CpuMark { cgroup: c.usage().unwrap_or_default(), server: super::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID) },
            GuestCpu::Descendants => CpuMark::default(),
        }
    }

    /// The CPU used since `mark` by the guest `child` and everything
    /// descended from it, `own` being what the child's own CPU clock reads
    /// (precise, where `/proc` counts in clock ticks).
    pub fn used(&self, child: u32, own: Duration, mark: CpuMark) -> Duration {
        match self {
            GuestCpu::Cgroup(c) => match c.usage() {
                Some(usage) => {
                    let server = super::cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).saturating_sub(mark.server);
                    usage.saturating_sub(mark.cgroup).saturating_sub(server).max(own)
                }
                None => own,
            },
            GuestCpu::Descendants => own + descendants_cpu_time(std::process::id(), child),
        }
    }
}

/// The counters of [`GuestCpu`] before a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuMark {
    /// The cgroup's usage.
    cgroup: Duration,
    /// The fork server's own CPU: the cgroup counts it too.
    server: Duration,
}

/// A cgroup v2 that a fork server joins, and with it every child it forks;
/// left and removed when dropped.
pub struct GuestCgroup {
    dir: PathBuf,
    /// `cpu.stat`, read with pread on every look.
    stat: std::fs::File,
}

impl GuestCgroup {
    /// Makes `faultbox-guests-<pid>` in this process's cgroup v2 (after
    /// removing those of fork servers that are gone) and moves this
    /// process into it. `None` when there is no cgroup2 hierarchy or it is
    /// not writable here.
    pub fn create() -> Option<GuestCgroup> {
        let parent = own_cgroup_dir()?;
        remove_stale(&parent);
        let dir = parent.join(format!("{CGROUP_PREFIX}{}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
        let joined = std::fs::File::open(dir.join("cpu.stat")).and_then(|stat| {
            std::fs::write(dir.join("cgroup.procs"), format!("{}\n", std::process::id()))?;
            Ok(stat)
        });
        match joined {
            // A cgroup without a CPU counter is no use.
            Ok(stat) => Some(GuestCgroup { dir, stat }).filter(|c| c.usage().is_some()),
            Err(_) => {
                let _ = std::fs::remove_dir(&dir);
                None
            }
        }
    }

    /// `usage_usec` of `cpu.stat`: the CPU every process ever in the
    /// cgroup used while in it.
    pub fn usage(&self) -> Option<Duration> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 512];
        let n = self.stat.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let usec = text.lines().find_map(|l| l.strip_prefix("usage_usec "))?.trim().parse().ok()?;
        Some(Duration::from_micros(usec))
    }

}

impl Drop for GuestCgroup {
    /// Back to the parent cgroup, then the cgroup goes, once the last of
    /// its strays (reaped by now) has left it.
    fn drop(&mut self) {
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::write(parent.join("cgroup.procs"), format!("{}\n", std::process::id()));
        }
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The directory of this process's cgroup in the cgroup2 hierarchy: the
/// hierarchy's mount point (`/proc/self/mountinfo`) joined with the path
/// in `/proc/self/cgroup`'s `0::` line.
fn own_cgroup_dir() -> Option<PathBuf> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (root, mount) = mountinfo.lines().find_map(cgroup2_mount)?;
    // The mount shows the hierarchy from `root` down; the path is from the
    // top of the hierarchy this process sees.
    let below = Path::new(path).strip_prefix(&root).ok()?;
    Some(mount.join(below))
}

/// (root within the hierarchy, mount point) of a mountinfo line that
/// mounts cgroup2.
fn cgroup2_mount(line: &str) -> Option<(PathBuf, PathBuf)> {
    let (fields, after) = line.split_once(" - ")?;
    if after.split_whitespace().next()? != "cgroup2" {
        return None;
    }
    let mut fields = fields.split_whitespace();
    let root = fields.nth(3)?;
    let mount = fields.next()?;
    // mountinfo escapes spaces and such as octal: `\040`.
    Some((PathBuf::from(unescape_octal(root)), PathBuf::from(unescape_octal(mount))))
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes the cgroups of fork servers that are gone (killed before they
/// could remove their own), killing what is left in them.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(CGROUP_PREFIX)).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = std::fs::write(entry.path().join("cgroup.kill"), "1");
        let _ = std::fs::remove_dir(entry.path());
    }
}

/// The most processes one look at the tree reads: a fork bomb must not
/// make the fork server's budget check a scan of the machine.
const TREE_CAP: usize = 4096;

/// The CPU time, from `/proc` in clock ticks, of every process below
/// `root` in the process tree (its children's, theirs, …) and of the
/// children they reaped; of `own_counted` (whose own time the caller has
/// from its CPU clock), only its reaped children's.
pub fn descendants_cpu_time(root: u32, own_counted: u32) -> Duration {
    use super::{STAT_CSTIME, STAT_CUTIME, STAT_STIME, STAT_UTIME, stat_fields};
    let field = |f: &[u64], i: usize| f.get(i).copied().unwrap_or(0);
    let mut ticks = 0u64;
    let mut queue = children_of(root);
    let mut seen = 0;
    while let Some(pid) = queue.pop() {
        seen += 1;
        if seen > TREE_CAP {
            break;
        }
        let Some(f) = stat_fields(pid) else { continue };
        ticks += field(&f, STAT_CUTIME) + field(&f, STAT_CSTIME);
        if pid != own_counted {
            ticks += field(&f, STAT_UTIME) + field(&f, STAT_STIME);
        }
        queue.extend(children_of(pid));
    }
    super::clock_tick() * ticks.min(u32::MAX as u64) as u32
}

/// The children of every thread of `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| text.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup2_mount_is_found_in_mountinfo() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw", Some(("/", "/sys/fs/cgroup/unified"))),
            ("30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate", Some(("/", "/sys/fs/cgroup"))),
            ("35 25 0:30 /../.. /mnt/cg\\040x rw - cgroup2 none rw", Some(("/../..", "/mnt/cg x"))),
            ("32 31 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu", None),
            ("22 1 0:21 / /proc rw - proc proc rw", None),
        ];
        for (line, want) in cases {
            let got = cgroup2_mount(line);
            assert_eq!(got, want.map(|(r, m)| (PathBuf::from(r), PathBuf::from(m))), "{line}");
        }
    }

    #[test]
    fn a_forked_spinner_that_left_the_group_is_counted() {
        use std::os::unix::process::CommandExt;
        // A child that spins in a session of its own: below this process in
        // the tree, so counted, though not in this process's group.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .process_group(0)
            .spawn()
            .expect("sh runs");
        let me = std::process::id();
        let mut seen = Duration::ZERO;
        while child.try_wait().unwrap().is_none() {
            seen = seen.max(descendants_cpu_time(me, 0));
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert!(seen > Duration::ZERO, "the spinning child's CPU was never seen");
    }
}
