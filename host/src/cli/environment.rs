//! The environment faultbox reads, checked once when it starts: a variable
//! that is set but unusable is bad input (one line naming it, exit 2), not
//! a default taken silently or a failure somewhere later that names
//! something else (a `TMPDIR` that does not exist read as "Go not found").
//!
//! Checked here: `TMPDIR`, every duration variable
//! ([`crate::limits::MILLIS_VARS`]), `FAULTBOX_WASM_FEATURES` and
//! `FAULTBOX_TRACE_PROTOCOL`. The tool and directory variables
//! (`FAULTBOX_GO`, `FAULTBOX_CLANG`, `FAULTBOX_CC`, `FAULTBOX_NODE`,
//! `FAULTBOX_CACHE_DIR`, `FAULTBOX_SCENARIOS`, `FAULTBOX_ENGINES`) are
//! named where they are used, when what they point at does not work.

use crate::error::BadInput;
use std::ffi::OsStr;

/// The first problem with the environment, if any.
pub(super) fn check_environment() -> Result<(), BadInput> {
    if let Some(problem) = temp_dir_problem(std::env::var_os("TMPDIR").as_deref()) {
        return Err(BadInput::new(problem));
    }
    for var in crate::limits::MILLIS_VARS {
        var.get().map_err(BadInput::new)?;
    }
    let profile = crate::wasm::PROFILE_ENV;
    if let Some(v) = std::env::var_os(profile).filter(|v| !v.is_empty())
        && v.to_str().and_then(crate::wasm::WasmProfile::from_name).is_none()
    {
        return Err(BadInput::new(format!("{profile}={}: not a feature profile (2.0 or 3.0)", v.to_string_lossy().escape_debug())));
    }
    // The trace is appended to by every call; a file that cannot be opened
    // would otherwise mean a run without the trace that was asked for.
    let trace = crate::worker::client::TRACE_ENV;
    if let Some(path) = std::env::var_os(trace).filter(|v| !v.is_empty()) {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| BadInput::new(format!("{trace}={}: cannot open it to append to: {e}", path.to_string_lossy())))?;
    }
    Ok(())
}

/// Why `TMPDIR` (its value, if set) cannot hold faultbox's temporary
/// files, if it cannot: Go, the C compilers and faultbox's own private
/// directories all go there.
fn temp_dir_problem(value: Option<&OsStr>) -> Option<String> {
    let value = value?;
    let shown = value.to_string_lossy();
    if value.is_empty() {
        return Some("TMPDIR is set but empty: set it to a directory, or unset it".into());
    }
    let path = std::path::Path::new(value);
    if !path.is_absolute() {
        return Some(format!("TMPDIR={shown}: not an absolute path"));
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(format!("TMPDIR={shown}: no such directory")),
        Err(e) => return Some(format!("TMPDIR={shown}: {e}")),
        Ok(m) if !m.is_dir() => return Some(format!("TMPDIR={shown}: not a directory")),
        Ok(_) => {}
    }
    let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(value)).ok()?;
    // SAFETY: access with a NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Some(format!("TMPDIR={shown}: {}", std::io::Error::last_os_error()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpdir_is_an_absolute_directory_or_one_line_naming_it() {
        let file = std::env::temp_dir().join(format!("fb-tmpdir-file-{}", std::process::id()));
        std::fs::write(&file, "").unwrap();
        let file_str = file.to_str().unwrap().to_string();
        let table: &[(Option<&str>, Option<String>)] = &[
            (None, None),
            (Some("/tmp"), None),
            (Some("/tmp/"), None),
            (Some(""), Some("TMPDIR is set but empty: set it to a directory, or unset it".into())),
            (Some("/nonexistent"), Some("TMPDIR=/nonexistent: no such directory".into())),
            (Some("tmp"), Some("TMPDIR=tmp: not an absolute path".into())),
            (Some(&file_str), Some(format!("TMPDIR={file_str}: not a directory"))),
        ];
        for (value, want) in table {
            assert_eq!(temp_dir_problem(value.map(OsStr::new)), *want, "{value:?}");
        }
        std::fs::remove_file(&file).unwrap();
    }
}
