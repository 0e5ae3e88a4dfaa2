//! A native guest that is a shared library (C's): the fork server dlopens
//! it once per path and resolves its symbols before it forks; the child
//! calls the entry in itself, as it calls a linked entry (a language with
//! no runtime threads can be forked). The library's ABI
//! (`guests/c/README.md`): `fb_<entry>(int64_t) -> int64_t`,
//! `fb_health(void) -> int64_t`, and two function-pointer data symbols
//! that the fork server points at the report region's recorders, once,
//! right after dlopen (every child inherits them): `fb_progress_hook`
//! (`void (*)(int64_t)`) and `fb_recovered_hook` (`void (*)(const char *)`,
//! what the guest calls when its own recovery brought control back from a
//! fault). Either hook may be missing: then nothing is reported through it.

use super::region::Region;
use std::ffi::{CStr, CString, c_char, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

type Entry = unsafe extern "C" fn(i64) -> i64;
type Health = unsafe extern "C" fn() -> i64;
type ProgressHook = Option<unsafe extern "C" fn(i64)>;
type RecoveredHook = Option<unsafe extern "C" fn(*const c_char)>;

/// The entry a child is to call and the library's health check, resolved
/// in the fork server.
#[derive(Clone, Copy)]
pub struct LibraryEntry {
    run: Entry,
    health: Health,
}

/// One dlopen'd library.
struct Library {
    path: PathBuf,
    handle: NonNull<c_void>,
    health: Health,
}

// SAFETY: a dlopen handle is a process-wide token that dlsym accepts from
// any thread; the library is never closed.
unsafe impl Send for Library {}

/// The libraries a fork server has opened, by path: each is opened once
/// and stays loaded (its mappings are part of the address space every
/// child starts with, below its memory limit).
#[derive(Default)]
pub struct Libraries {
    loaded: Vec<Library>,
}

impl Libraries {
    /// `fb_<entry>` of the library at `path`, opening it on first use. An
    /// error is one line: the library cannot be loaded, or lacks the
    /// function.
    pub fn entry(&mut self, path: &Path, entry: &str) -> Result<LibraryEntry, String> {
        let i = match self.loaded.iter().position(|l| l.path == path) {
            Some(i) => i,
            None => {
                self.loaded.push(Library::open(path)?);
                self.loaded.len() - 1
            }
        };
        let lib = &self.loaded[i];
        let name = format!("fb_{entry}");
        let sym = lib.symbol(&name).ok_or_else(|| format!("{}: the library has no function `{name}`", path.display()))?;
        // SAFETY: the ABI says `fb_<entry>` is `int64_t (int64_t)`.
        let run = unsafe { std::mem::transmute::<*mut c_void, Entry>(sym.as_ptr()) };
        Ok(LibraryEntry { run, health: lib.health })
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string that stays
    // valid until the next dl* call on this thread.
    let e = unsafe { libc::dlerror() };
    if e.is_null() { "unknown error".into() } else { unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned() }
}

impl Library {
    fn open(path: &Path) -> Result<Library, String> {
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| format!("{}: a NUL in the path", path.display()))?;
        // SAFETY: dlopen of a path; RTLD_LOCAL keeps its symbols out of
        // faultbox's namespace. Its initialisers run here, in the fork
        // server, which exists to run guest code.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        let Some(handle) = NonNull::new(handle) else {
            return Err(format!("cannot load the guest library: {}", dlerror()));
        };
        let health = symbol(handle, "fb_health").ok_or_else(|| format!("{}: the library has no function `fb_health`", path.display()))?;
        // SAFETY: the ABI says `fb_health` is `int64_t (void)`.
        let health = unsafe { std::mem::transmute::<*mut c_void, Health>(health.as_ptr()) };
        let lib = Library { path: path.to_path_buf(), handle, health };
        if let Some(hook) = lib.symbol("fb_progress_hook") {
            // SAFETY: the ABI says `fb_progress_hook` is a function-pointer
            // variable, `void (*volatile)(int64_t)`, which `Option<fn>`
            // matches (NULL is None).
            unsafe { std::ptr::write_volatile(hook.as_ptr().cast::<ProgressHook>(), Some(on_progress)) };
        }
        if let Some(hook) = lib.symbol("fb_recovered_hook") {
            // SAFETY: likewise, `void (*volatile)(const char *)`.
            unsafe { std::ptr::write_volatile(hook.as_ptr().cast::<RecoveredHook>(), Some(on_recovered)) };
        }
        Ok(lib)
    }

    fn symbol(&self, name: &str) -> Option<NonNull<c_void>> {
        symbol(self.handle, name)
    }
}

fn symbol(handle: NonNull<c_void>, name: &str) -> Option<NonNull<c_void>> {
    let name = CString::new(name).ok()?;
    // SAFETY: dlsym on a handle this process opened and never closes.
    NonNull::new(unsafe { libc::dlsym(handle.as_ptr(), name.as_ptr()) })
}

/// Set in the child when the library reported a recovery.
static RECOVERED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn on_progress(value: i64) {
    if let Some(region) = Region::current() {
        region.record_progress(value);
    }
}

unsafe extern "C" fn on_recovered(line: *const c_char) {
    let Some(region) = Region::current() else { return };
    RECOVERED.store(true, Relaxed);
    let text = if line.is_null() {
        "a fault, recovered (the guest did not say which)".into()
    } else {
        // SAFETY: the ABI says `line` is a NUL-terminated string.
        unsafe { CStr::from_ptr(line) }.to_string_lossy()
    };
    region.record_panic(&text);
}

/// Runs `entry(arg)` in this (child) process, then the library's health
/// check, recording both in the region: `recovered` when the library
/// reported a recovery during the call, else `completed` with its value.
/// A fault the library does not recover from ends the process, and the
/// region says how far it got.
pub fn run(entry: LibraryEntry, arg: i64, region: &Region) {
    region.mark_started();
    // SAFETY: calling the guest is what this process is for; whatever it
    // does to itself is the observation.
    let value = unsafe { (entry.run)(arg) };
    if RECOVERED.load(Relaxed) {
        region.mark_recovered();
    } else {
        region.mark_completed(value);
    }
    region.mark_health_started();
    // SAFETY: as above.
    let health = unsafe { (entry.health)() };
    region.record_health(health);
}
