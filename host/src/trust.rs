//! What faultbox may believe on disk: directories only it (or root) can
//! write to, a per-user secret key, and MACs under that key.
//!
//! faultbox runs code it finds in its cache: compiled modules (`.cwasm`),
//! the C guest's `libguest.so`, the Go guest's programs. A file there is
//! run only when faultbox provably made it:
//!
//! - the directory holding it, and every directory above it, can be
//!   replaced or written only by the user or root ([`private_path`]): a
//!   file checked there stays the file that was checked;
//! - the file carries an HMAC-SHA-256 under the user's secret key
//!   ([`secret_key`], mode 0600 in the cache directory), so a file put
//!   there by anyone without the key is refused.
//!
//! Where no directory qualifies, a fresh one is made ([`fresh_private_dir`]:
//! mode 0700, a name nobody could have guessed and created first).

use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const MAC_LEN: usize = 32;
pub const KEY_LEN: usize = 32;
const KEY_FILE: &str = "key";

pub type Key = [u8; KEY_LEN];

/// Why a path is not private to this user: the first component that
/// others could write to or replace, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotPrivate {
    pub component: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for NotPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.component.display(), self.problem)
    }
}

/// Whether `path` (which must exist) and every directory above it can be
/// written or replaced only by the effective user or root. A directory
/// others may write to passes only with the sticky bit (as `/tmp`), and
/// only above the last component: in it nobody else can rename or delete
/// what the user owns. A symlink is judged as a component (its owner) and
/// then by where it leads.
pub fn private_path(path: &Path) -> Result<(), NotPrivate> {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let path = std::path::absolute(path).map_err(|e| NotPrivate { component: path.to_path_buf(), problem: e.to_string() })?;
    let mut checked = PathBuf::new();
    let components: Vec<_> = path.components().collect();
    for (i, c) in components.iter().enumerate() {
        checked.push(c);
        let last = i + 1 == components.len();
        let not = |problem: String| NotPrivate { component: checked.clone(), problem };
        let meta = std::fs::symlink_metadata(&checked).map_err(|e| not(e.to_string()))?;
        if meta.uid() != me && meta.uid() != 0 {
            return Err(not(format!("owned by uid {}", meta.uid())));
        }
        if meta.file_type().is_symlink() {
            // Owned by us or root, so nobody else can point it elsewhere:
            // where it leads must qualify too.
            let target = std::fs::canonicalize(&checked).map_err(|e| not(e.to_string()))?;
            private_path(&target)?;
            continue;
        }
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 && (last || mode & libc::S_ISVTX == 0) {
            return Err(not(format!("writable by others (mode {:o})", mode & 0o7777)));
        }
    }
    Ok(())
}

/// `dir`, created (mode 0700) if missing, when it is private to this user
/// ([`private_path`]).
pub fn private_dir(dir: &Path) -> Result<PathBuf, NotPrivate> {
    let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
    private_path(dir)?;
    Ok(dir.to_path_buf())
}

/// A new directory under the system's temporary directory, mode 0700,
/// with an unpredictable name (`mkdtemp`): nobody can have made it first.
pub fn fresh_private_dir(prefix: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let template = std::env::temp_dir().join(format!("{prefix}XXXXXX"));
    let mut bytes = std::ffi::CString::new(template.into_os_string().into_vec())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
        .into_bytes_with_nul();
    // SAFETY: a NUL-terminated buffer that mkdtemp rewrites in place.
    if unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) }.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    bytes.pop();
    let dir = PathBuf::from(std::ffi::OsString::from_vec(bytes));
    private_path(&dir).map_err(|e| std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string()))?;
    Ok(dir)
}

/// HMAC-SHA-256 (RFC 2104) over `name` (length-prefixed) and `bytes`.
pub fn mac(key: &Key, name: &str, bytes: &[u8]) -> [u8; MAC_LEN] {
    let mut block = [0u8; 64];
    block[..KEY_LEN].copy_from_slice(key);
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    inner.update((name.len() as u64).to_le_bytes());
    inner.update(name.as_bytes());
    inner.update(bytes);
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens `path` for reading only if it is a regular file of at most `max`
/// bytes, owned by us, writable by nobody else, reached without following
/// a symlink, and without blocking (a FIFO put in its place must not stall
/// the reader).
pub fn open_private_regular(path: &Path, max: u64) -> Option<(File, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    (meta.file_type().is_file() && meta.len() <= max && meta.uid() == me && meta.permissions().mode() & 0o022 == 0)
        .then_some((file, meta.len()))
}

/// Reads at most `len` bytes (plus one, to notice a file that grew).
pub fn read_bounded(file: File, len: u64) -> Option<Vec<u8>> {
    let mut data = Vec::with_capacity(len as usize);
    file.take(len + 1).read_to_end(&mut data).ok()?;
    (data.len() as u64 == len).then_some(data)
}

/// The user's secret key in `dir`, created on first use. `None` when the
/// directory or the key cannot be made private to us.
pub fn secret_key(dir: &Path) -> Option<Key> {
    private_dir(dir).ok()?;
    let path = dir.join(KEY_FILE);
    if let Some(key) = read_key(&path) {
        return Some(key);
    }
    let mut key = [0u8; KEY_LEN];
    File::open("/dev/urandom").ok()?.read_exact(&mut key).ok()?;
    // O_EXCL: when two processes race, one key wins and both read it back.
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path);
    if let Ok(mut f) = created {
        if !(f.write_all(&key).is_ok() && f.sync_all().is_ok()) {
            let _ = std::fs::remove_file(&path);
            return None;
        }
    }
    read_key(&path)
}

fn read_key(path: &Path) -> Option<Key> {
    let (file, len) = open_private_regular(path, KEY_LEN as u64)?;
    // A key others could read would let them forge entries.
    if file.metadata().ok()?.permissions().mode() & 0o077 != 0 || len != KEY_LEN as u64 {
        return None;
    }
    read_bounded(file, len)?.try_into().ok()
}

/// The MAC of the file at `path` (opened as [`open_private_regular`] asks,
/// at most `max` bytes), bound to `name`; `None` if it is not ours.
pub fn file_mac(key: &Key, name: &str, path: &Path, max: u64) -> Option<[u8; MAC_LEN]> {
    let (file, len) = open_private_regular(path, max)?;
    Some(mac(key, name, &read_bounded(file, len)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_not_private_nor_is_anything_under_it() {
        let d = Dir(fresh_private_dir("fb-trust-").unwrap());
        assert_eq!(private_path(&d.0), Ok(()));
        let sub = d.0.join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(private_path(&sub), Ok(()));
        for (m, private) in [(0o777, false), (0o775, false), (0o757, false), (0o1777, true), (0o755, true), (0o700, true)] {
            mode(&d.0, m);
            // The sticky bit protects what is under it, never the
            // directory itself as the last component.
            assert_eq!(private_path(&sub).is_ok(), private, "{m:o} above");
            assert_eq!(private_path(&d.0).is_ok(), m & 0o022 == 0, "{m:o} itself");
        }
        mode(&d.0, 0o700);
        // A symlink leads somewhere that is judged too.
        let open = d.0.join("open");
        std::fs::create_dir(&open).unwrap();
        mode(&open, 0o777);
        std::os::unix::fs::symlink(&open, d.0.join("link")).unwrap();
        assert!(private_path(&d.0.join("link")).is_err());
        std::os::unix::fs::symlink(&sub, d.0.join("good")).unwrap();
        assert_eq!(private_path(&d.0.join("good")), Ok(()));
    }

    #[test]
    fn a_directory_owned_by_another_user_is_not_private() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // only root can give a directory away
        }
        let d = Dir(fresh_private_dir("fb-trust-").unwrap());
        let theirs = d.0.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let err = private_path(&theirs).unwrap_err();
        assert!(err.problem.contains("uid 65534"), "{err}");
    }

    #[test]
    fn fresh_directories_are_private_and_never_the_same() {
        let (a, b) = (Dir(fresh_private_dir("fb-trust-").unwrap()), Dir(fresh_private_dir("fb-trust-").unwrap()));
        assert_ne!(a.0, b.0);
        assert_eq!(std::fs::metadata(&a.0).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn the_mac_binds_the_name_and_the_bytes() {
        let k = [7u8; KEY_LEN];
        assert_eq!(mac(&k, "a", b"x"), mac(&k, "a", b"x"));
        assert_ne!(mac(&k, "a", b"x"), mac(&k, "b", b"x"));
        assert_ne!(mac(&k, "a", b"x"), mac(&k, "a", b"y"));
        assert_ne!(mac(&k, "a", b"x"), mac(&[8u8; KEY_LEN], "a", b"x"));
        // The name's length is part of it: ("ab", "c") is not ("a", "bc").
        assert_ne!(mac(&k, "ab", b"c"), mac(&k, "a", b"bc"));
    }

    #[test]
    fn a_file_others_can_write_has_no_mac() {
        let d = Dir(fresh_private_dir("fb-trust-").unwrap());
        let key = secret_key(&d.0).expect("a key in a private directory");
        let f = d.0.join("f");
        std::fs::write(&f, b"code").unwrap();
        assert_eq!(file_mac(&key, "f", &f, 100), Some(mac(&key, "f", b"code")));
        mode(&f, 0o666);
        assert_eq!(file_mac(&key, "f", &f, 100), None);
        mode(&f, 0o644);
        assert_eq!(file_mac(&key, "f", &f, 3), None, "larger than its bound");
        mode(&d.0, 0o777);
        assert_eq!(secret_key(&d.0), None, "a key in a directory others can write");
        mode(&d.0, 0o700);
    }
}
