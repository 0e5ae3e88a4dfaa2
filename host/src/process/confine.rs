//! Keeping native guests away from faultbox's own processes.
//!
//! A native guest runs in a child of the fork server, and the kernel lets
//! a process signal (`kill`) or trace (`ptrace`) any process of its own
//! user. So when faultbox runs as root, a guest's child gives up root
//! before the guest runs ([`GuestIdentity::assume`]): it becomes the
//! overflow user and group (`nobody`/`nogroup`), with no supplementary
//! groups, no capabilities and no way to gain privileges back (a set-uid
//! program does not elevate it). It can then neither signal nor trace the
//! supervisor, the fork server or any other root process. The supervisor
//! and the fork server also make themselves undumpable
//! ([`make_undumpable`]): a process of the same user without
//! `CAP_SYS_PTRACE` cannot trace them or read their memory. When faultbox
//! is not root, that and a seccomp filter (`signal_filter.rs`) are what
//! protect them: the guest keeps faultbox's user, and the filter refuses
//! the signals it would aim at the fork server or the supervisor.

/// The user a native guest runs as when faultbox runs as root: the
/// kernel's overflow uid, `nobody` on most systems, which owns no file a
/// run needs and is mapped in the user namespaces containers use.
pub const GUEST_UID: u32 = 65534;
/// The group a native guest runs as when faultbox runs as root (`nogroup`
/// or `nobody`).
pub const GUEST_GID: u32 = 65534;

/// Who a native guest runs as: a closed choice made once per fork server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestIdentity {
    /// faultbox runs as root: the guest drops to this uid and gid, with no
    /// supplementary groups, no capabilities and `no_new_privs`. It cannot
    /// signal or trace faultbox's processes, nor any other root process.
    Unprivileged { uid: u32, gid: u32 },
    /// faultbox is not root and cannot make the guest anyone else: the
    /// guest keeps faultbox's user. Tracing faultbox's processes is
    /// refused (they are undumpable), and signalling the fork server or
    /// the supervisor by the fork server's signal filter; other processes
    /// of the user (other workers among them) it can still signal.
    SameUser,
}

impl GuestIdentity {
    /// The identity guests of this process get: unprivileged when it runs
    /// as root (effective uid 0), else the same user.
    pub fn for_this_process() -> GuestIdentity {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 { GuestIdentity::Unprivileged { uid: GUEST_UID, gid: GUEST_GID } } else { GuestIdentity::SameUser }
    }

    /// The uid and gid a guest runs as, when it is not faultbox's own user.
    pub fn dropped_to(self) -> Option<(u32, u32)> {
        match self {
            GuestIdentity::Unprivileged { uid, gid } => Some((uid, gid)),
            GuestIdentity::SameUser => None,
        }
    }

    /// Becomes this identity, for good. Only system calls: it runs in a
    /// forked child between fork and exec (single-threaded, so glibc's
    /// set*id calls change the one thread there is). A credential change
    /// clears the parent-death signal: set it afterwards.
    pub fn assume(self) -> Result<(), String> {
        let GuestIdentity::Unprivileged { uid, gid } = self else { return Ok(()) };
        let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        // SAFETY: plain system calls with integer arguments and a null list.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0 {
                return Err(os("setgroups"));
            }
            if libc::setresgid(gid, gid, gid) != 0 {
                return Err(os(&format!("setresgid {gid}")));
            }
            if libc::setresuid(uid, uid, uid) != 0 {
                return Err(os(&format!("setresuid {uid}")));
            }
            // No set-uid program or file capability gives root back.
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(os("prctl(PR_SET_NO_NEW_PRIVS)"));
            }
        }
        // Leaving uid 0 clears the capabilities, unless securebits inherited
        // from whoever started faultbox say otherwise: look.
        match capabilities_held() {
            Some(0) => Ok(()),
            Some(caps) => Err(format!("capabilities {caps:#x} are still held after leaving root")),
            None => Err(os("capget")),
        }
    }
}

/// The calling thread's effective and permitted capabilities, or-ed into
/// one mask per word pair; `None` when they cannot be read.
fn capabilities_held() -> Option<u64> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two `Data` records, the version-3 layout.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut Header, data.as_mut_ptr()) } != 0 {
        return None;
    }
    let word = |d: Data| u64::from(d.effective | d.permitted);
    Some(word(data[0]) | word(data[1]) << 32)
}

/// Makes this process undumpable: no core file, and a process of the same
/// user without `CAP_SYS_PTRACE` can neither `ptrace` it nor read its
/// memory or its `/proc` files that need ptrace access. A fork inherits
/// it until the child execs.
pub fn make_undumpable() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Whether a process running as `uid`/`gid` (no supplementary groups) may
/// use a file with `meta`'s owner and mode for `want` (`libc::S_IXOTH`-style
/// bits of the "other" class: 1 execute, 4 read), by its mode bits alone.
pub fn mode_allows(meta: &std::fs::Metadata, uid: u32, gid: u32, want: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode();
    let bits = if meta.uid() == uid {
        mode >> 6
    } else if meta.gid() == gid {
        mode >> 3
    } else {
        mode
    };
    bits & want == want
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_class_of_the_guest_user_decides() {
        let dir = std::env::temp_dir().join(format!("faultbox-confine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let cases: &[(u32, u32, bool, bool)] = &[
            // mode, want, as a stranger, as the owner
            (0o755, 1, true, true),
            (0o750, 1, false, true),
            (0o700, 1, false, true),
            (0o644, 4, true, true),
            (0o640, 4, false, true),
            (0o711, 4, false, true),
            // The owner's class decides for the owner, even against others'.
            (0o071, 1, true, false),
        ];
        for &(mode, want, stranger, owner) in cases {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let meta = std::fs::metadata(&file).unwrap();
            let other_gid = meta.gid().wrapping_add(1);
            assert_eq!(mode_allows(&meta, meta.uid().wrapping_add(1), other_gid, want), stranger, "{mode:o} {want}");
            assert_eq!(mode_allows(&meta, meta.uid(), other_gid, want), owner, "{mode:o} {want}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
