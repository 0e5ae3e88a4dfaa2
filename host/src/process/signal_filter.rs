//! A seccomp filter for native guests that share faultbox's user (faultbox
//! not root): the kernel would let them signal faultbox's processes, so
//! the calls that name a process are refused when they name the fork
//! server or the supervisor (or their process groups, or every process at
//! once), and the calls that name no process one could check (`tkill`
//! takes a thread id; `pidfd_send_signal` a descriptor, which may be a
//! `/proc/<pid>` directory) are "not implemented": a program falls back to
//! `tgkill` and `kill`, which are checked. Any other ABI of the kernel
//! (x32, or 32-bit Arm on arm64) is not implemented either; IA-32 on
//! x86_64 is checked as the native ABI is.
//!
//! When faultbox is root, guests run as another user and the kernel itself
//! refuses them all this (`confine.rs`); no filter is installed then.

/// One classic-BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct Prog {
    len: u16,
    filter: *const Insn,
}

const LD_W_ABS: u16 = 0x00 | 0x00 | 0x20;
const JEQ_K: u16 = 0x05 | 0x10;
const JGE_K: u16 = 0x05 | 0x30;
const JA: u16 = 0x05;
const RET_K: u16 = 0x06;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

/// Offsets into `struct seccomp_data`: the call's number, the ABI, and the
/// low 32 bits of its first argument (a `pid_t`; little-endian).
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0_LOW: u32 = 16;

/// The system call numbers the filter looks at, of one ABI.
struct Calls {
    kill: u32,
    tgkill: u32,
    rt_sigqueueinfo: u32,
    rt_tgsigqueueinfo: u32,
    prlimit64: u32,
    pidfd_open: u32,
    tkill: u32,
    pidfd_send_signal: u32,
}

/// This machine's own ABI (`AUDIT_ARCH_*`) and its numbers.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))]
fn native() -> Option<(u32, Calls)> {
    let arch = if cfg!(target_arch = "x86_64") {
        0xC000_003E
    } else if cfg!(target_arch = "aarch64") {
        0xC000_00B7
    } else {
        0xC000_00F3
    };
    let n = |c: libc::c_long| c as u32;
    Some((
        arch,
        Calls {
            kill: n(libc::SYS_kill),
            tgkill: n(libc::SYS_tgkill),
            rt_sigqueueinfo: n(libc::SYS_rt_sigqueueinfo),
            rt_tgsigqueueinfo: n(libc::SYS_rt_tgsigqueueinfo),
            prlimit64: n(libc::SYS_prlimit64),
            pidfd_open: n(libc::SYS_pidfd_open),
            tkill: n(libc::SYS_tkill),
            pidfd_send_signal: n(libc::SYS_pidfd_send_signal),
        },
    ))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
fn native() -> Option<(u32, Calls)> {
    None
}

/// IA-32 on x86_64 (`int 0x80`): its own numbers (`arch/x86/entry/syscalls/syscall_32.tbl`).
fn compat() -> Option<(u32, Calls)> {
    cfg!(target_arch = "x86_64").then_some((
        0x4000_0003,
        Calls {
            kill: 37,
            tgkill: 270,
            rt_sigqueueinfo: 178,
            rt_tgsigqueueinfo: 335,
            prlimit64: 340,
            pidfd_open: 434,
            tkill: 238,
            pidfd_send_signal: 424,
        },
    ))
}

/// A small assembler: forward jumps to labels, resolved at the end.
#[derive(Default)]
struct Asm {
    insns: Vec<Insn>,
    /// (instruction, true label, false label); `None`: the next one.
    jumps: Vec<(usize, Option<usize>, Option<usize>)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn here(&mut self, label: usize) {
        self.labels[label] = Some(self.insns.len());
    }
    fn op(&mut self, code: u16, k: u32) {
        self.insns.push(Insn { code, jt: 0, jf: 0, k });
    }
    fn jump(&mut self, code: u16, k: u32, yes: Option<usize>, no: Option<usize>) {
        self.jumps.push((self.insns.len(), yes, no));
        self.op(code, k);
    }
    fn finish(mut self) -> Vec<Insn> {
        for (at, yes, no) in std::mem::take(&mut self.jumps) {
            let offset = |label: Option<usize>| label.map_or(0, |l| self.labels[l].expect("a label placed") - at - 1);
            let (t, f) = (offset(yes), offset(no));
            let insn = &mut self.insns[at];
            if insn.code == JA {
                insn.k = t as u32;
            } else {
                insn.jt = u8::try_from(t).expect("a short jump");
                insn.jf = u8::try_from(f).expect("a short jump");
            }
        }
        self.insns
    }
}

/// The filter, built before the fork (it allocates) and installed in the
/// child ([`SignalFilter::install`], system calls only).
#[derive(Debug)]
pub struct SignalFilter {
    insns: Vec<Insn>,
}

impl SignalFilter {
    /// A filter that refuses (EPERM) signals and rlimit changes aimed at
    /// the processes `protected` and, for `kill`, at the process groups
    /// `groups` and at every process (`-1`). `None` on a machine whose ABI
    /// it does not know.
    pub fn new(protected: &[u32], groups: &[u32]) -> Option<SignalFilter> {
        let (arch, calls) = native()?;
        let mut asm = Asm::default();
        let enosys = asm.label();
        let native_block = asm.label();
        asm.op(LD_W_ABS, ARCH);
        asm.jump(JEQ_K, arch, Some(native_block), None);
        let compat = compat();
        let compat_block = asm.label();
        if let Some((compat_arch, _)) = &compat {
            asm.jump(JEQ_K, *compat_arch, Some(compat_block), None);
        }
        asm.op(RET_K, RET_ERRNO | libc::ENOSYS as u32);
        asm.here(native_block);
        block(&mut asm, &calls, protected, groups, cfg!(target_arch = "x86_64"), enosys);
        if let Some((_, calls)) = &compat {
            asm.here(compat_block);
            block(&mut asm, calls, protected, groups, false, enosys);
        }
        asm.here(enosys);
        asm.op(RET_K, RET_ERRNO | libc::ENOSYS as u32);
        Some(SignalFilter { insns: asm.finish() })
    }

    /// Installs the filter on the calling process (a forked child, still
    /// single-threaded), with `no_new_privs`, which it needs. Only system
    /// calls: it runs between fork and exec. It is inherited by everything
    /// the process starts.
    pub fn install(&self) -> Result<(), String> {
        let prog = Prog { len: self.insns.len() as u16, filter: self.insns.as_ptr() };
        let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        // SAFETY: prctl with integer arguments, and a pointer to a program
        // that lives through the call (the kernel copies it).
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(os("prctl(PR_SET_NO_NEW_PRIVS)"));
            }
            if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog as *const Prog, 0, 0) != 0 {
                return Err(os("seccomp"));
            }
        }
        Ok(())
    }
}

/// One ABI's checks: its number loaded, the unchecked calls ENOSYS, the
/// checked ones EPERM on a protected target, everything else allowed.
fn block(asm: &mut Asm, calls: &Calls, protected: &[u32], groups: &[u32], x32: bool, enosys: usize) {
    let (kill, pid, compare, eperm) = (asm.label(), asm.label(), asm.label(), asm.label());
    asm.op(LD_W_ABS, NR);
    if x32 {
        // The x32 ABI: the same arch, numbers with bit 30 set.
        asm.jump(JGE_K, 0x4000_0000, Some(enosys), None);
    }
    asm.jump(JEQ_K, calls.tkill, Some(enosys), None);
    asm.jump(JEQ_K, calls.pidfd_send_signal, Some(enosys), None);
    asm.jump(JEQ_K, calls.kill, Some(kill), None);
    for nr in [calls.tgkill, calls.rt_sigqueueinfo, calls.rt_tgsigqueueinfo, calls.prlimit64, calls.pidfd_open] {
        asm.jump(JEQ_K, nr, Some(pid), None);
    }
    asm.op(RET_K, RET_ALLOW);
    asm.here(kill);
    asm.op(LD_W_ABS, ARG0_LOW);
    asm.jump(JEQ_K, u32::MAX, Some(eperm), None);
    for g in groups {
        asm.jump(JEQ_K, (*g as i32).wrapping_neg() as u32, Some(eperm), None);
    }
    asm.jump(JA, 0, Some(compare), None);
    asm.here(pid);
    asm.op(LD_W_ABS, ARG0_LOW);
    asm.here(compare);
    for p in protected {
        asm.jump(JEQ_K, *p, Some(eperm), None);
    }
    asm.op(RET_K, RET_ALLOW);
    asm.here(eperm);
    asm.op(RET_K, RET_ERRNO | libc::EPERM as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a forked child: the filter protecting this test process, then
    /// each call's errno (0: it went through), as a bit per check.
    #[test]
    fn calls_aimed_at_protected_processes_are_refused_and_others_pass() {
        let me = std::process::id();
        // SAFETY: getpgrp cannot fail.
        let group = unsafe { libc::getpgrp() } as u32;
        let filter = SignalFilter::new(&[me], &[group]).expect("a known ABI");
        // SAFETY: the child makes system calls only, then _exits.
        let child = unsafe { libc::fork() };
        if child == 0 {
            let errno = |r: libc::c_long| if r == 0 { 0 } else { std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) };
            let code = unsafe {
                // A group of its own, so that kill(0) names no protected group.
                libc::setpgid(0, 0);
                if filter.install().is_err() {
                    libc::_exit(99);
                }
                let own = libc::getpid();
                let checks = [
                    (errno(libc::kill(me as i32, 0) as libc::c_long), libc::EPERM),
                    (errno(libc::kill(-(group as i32), 0) as libc::c_long), libc::EPERM),
                    (errno(libc::kill(-1, 0) as libc::c_long), libc::EPERM),
                    (errno(libc::syscall(libc::SYS_tgkill, me, me, 0)), libc::EPERM),
                    (errno(libc::syscall(libc::SYS_prlimit64, me, libc::RLIMIT_NOFILE, 0usize, 0usize)), libc::EPERM),
                    (errno(libc::syscall(libc::SYS_tkill, own, 0)), libc::ENOSYS),
                    (errno(libc::kill(own, 0) as libc::c_long), 0),
                    (errno(libc::kill(0, 0) as libc::c_long), 0),
                    (errno(libc::syscall(libc::SYS_tgkill, own, own, 0)), 0),
                ];
                checks.iter().enumerate().fold(0, |code, (i, (got, want))| if got == want { code } else { code | 1 << i })
            };
            unsafe { libc::_exit(code) }
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        assert!(libc::WIFEXITED(status), "{status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "checks that failed, as bits (99: not installed)");
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        let f = SignalFilter::new(&[1, 2, 3], &[4, 5]).expect("a known ABI");
        let n = f.insns.len();
        for (i, insn) in f.insns.iter().enumerate() {
            if insn.code == JEQ_K || insn.code == JGE_K {
                assert!(i + 1 + (insn.jt.max(insn.jf) as usize) < n, "{i}: {insn:?}");
            }
            if insn.code == JA {
                assert!(i + 1 + (insn.k as usize) < n, "{i}: {insn:?}");
            }
        }
        assert_eq!(f.insns.last().map(|i| i.code), Some(RET_K));
    }
}
