//! Would the kernel exec this prebuilt program, and would it run? Asked
//! before any worker starts, so that what `execve` would refuse (no `#!`
//! line and no ELF header, a missing interpreter, a truncated ELF file,
//! arguments too long for the exec) is one line naming the file and exit
//! 2, never a failure in the fork server that ends the whole run.
//!
//! The rules are the kernel's (`fs/binfmt_elf.c`, `fs/binfmt_script.c`,
//! `fs/exec.c`), read from the file's bytes; a format the kernel may hand
//! to `binfmt_misc` (a foreign machine under qemu, say) is not refused
//! while such handlers are enabled.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The bytes the kernel reads of a file to pick its format, the `#!` line
/// included (`BINPRM_BUF_SIZE`).
const HEAD: usize = 256;
/// Interpreters the kernel follows, script to script, before it gives up.
const MAX_INTERPRETERS: usize = 4;
/// The most bytes of one argument or environment string, its NUL
/// included (`MAX_ARG_STRLEN`, 32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;
/// The floor of the room for arguments (`ARG_MAX`), and its ceiling (¾ of
/// `_STK_LIM`, 8 MiB).
const ARG_MAX: u64 = 32 * 4096;
const ARG_CEILING: u64 = (8 << 20) / 4 * 3;

/// Who runs the program: `Some((uid, gid))` when it is not this process's
/// user (faultbox runs as root: guests do not).
pub type Runner = Option<(u32, u32)>;

/// What would stop `path` (a regular file this process may execute) from
/// running as a native guest with `args` after its `argv[0]`, and an
/// environment of `env_bytes` (its strings with their NULs), in one line;
/// `None` when nothing would.
pub fn problem(path: &Path, args: &[String], env_strings: usize, runner: Runner) -> Option<String> {
    let extra = match format_problem(path, 0, runner) {
        Ok(extra) => extra,
        Err(why) => return Some(why),
    };
    arguments_problem(path, args, env_strings, extra, stack_limit())
}

/// Checks the file's format (and its interpreters'), returning the bytes
/// a `#!` line adds to the arguments (the interpreter's name and argument).
fn format_problem(path: &Path, depth: usize, runner: Runner) -> Result<usize, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read it: {e}"))?;
    let at = |offset: u64, len: usize| -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; len];
        let n = file.read_at(&mut buf, offset).unwrap_or(0);
        buf.truncate(n);
        buf
    };
    let head = at(0, HEAD);
    if let Some((uid, gid)) = runner
        && !crate::process::mode_allows(&meta, uid, gid, 1)
    {
        return Err(not_for_runner(&meta, uid, gid, "executable"));
    }
    if head.starts_with(b"#!") {
        if let Some((uid, gid)) = runner
            && !crate::process::mode_allows(&meta, uid, gid, 4)
        {
            return Err(not_for_runner(&meta, uid, gid, "readable (a script is read by its interpreter)"));
        }
        let (interpreter, line) = script_interpreter(&head)?;
        let of = |why: String| format!("its `#!` interpreter `{}` {why}", interpreter.display());
        if depth >= MAX_INTERPRETERS {
            return Err(of("is a script too, and so on beyond the kernel's limit of interpreters".into()));
        }
        let meta = std::fs::metadata(&interpreter).map_err(|e| of(format!("cannot be run: {e}")))?;
        if !meta.is_file() {
            return Err(of("is not a regular file".into()));
        }
        if !executable(&interpreter) {
            return Err(of("is not executable".into()));
        }
        let nested = format_problem(&interpreter, depth + 1, runner).map_err(|why| of(format!("cannot be run: {why}")))?;
        // The kernel puts the interpreter's name, its argument and the
        // script's path before the arguments.
        return Ok(line + nested + path.as_os_str().len() + 1);
    }
    if head.starts_with(b"\x7fELF") {
        if let Some(interpreter) = elf_problem(&at, meta.len()).map_err(|why| format!("not a program the kernel can run: {why}"))? {
            let of = |why: String| format!("its ELF interpreter `{}` {why}", interpreter.display());
            let meta = std::fs::metadata(&interpreter).map_err(|e| of(format!("cannot be loaded: {e}")))?;
            if let Some((uid, gid)) = runner
                && !crate::process::mode_allows(&meta, uid, gid, 1)
            {
                return Err(of(format!("is not executable by uid {uid} (mode {:o})", std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777)));
            }
        }
        return Ok(0);
    }
    if misc_formats_enabled() {
        return Ok(0);
    }
    Err("not a program: neither an ELF executable nor a script starting with a `#!` line (exec would fail: Exec format error)".into())
}

fn executable(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else { return false };
    // SAFETY: access(2) with a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

fn not_for_runner(meta: &std::fs::Metadata, uid: u32, gid: u32, what: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "cannot run as uid {uid}: native programs run as uid {uid}, gid {gid} when faultbox runs as root, and this file (mode {:o}, owner {}) is not {what} by them",
        meta.mode() & 0o7777,
        meta.uid()
    )
}

/// The interpreter a `#!` line names, and the bytes of the line after
/// `#!` that the kernel passes on (name and argument, with a NUL each).
fn script_interpreter(head: &[u8]) -> Result<(PathBuf, usize), String> {
    let line = &head[2..];
    let end = line.iter().position(|&b| b == b'\n');
    let line = &line[..end.unwrap_or(line.len())];
    let trimmed = line.trim_ascii();
    let name_len = trimmed.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(trimmed.len());
    if name_len == 0 {
        return Err("its `#!` line names no interpreter".into());
    }
    // A name that does not end within what the kernel reads is cut there.
    if end.is_none() && name_len == trimmed.len() && head.len() == HEAD {
        return Err(format!("its `#!` line is longer than the {} bytes the kernel reads, and cuts the interpreter's name", HEAD - 2));
    }
    Ok((PathBuf::from(OsStr::from_bytes(&trimmed[..name_len])), trimmed.len() + 2))
}

/// The ELF machines this kernel runs natively.
fn native_machines() -> &'static [u16] {
    if cfg!(target_arch = "x86_64") {
        // i386 too, through the kernel's IA-32 emulation.
        &[62, 3]
    } else if cfg!(target_arch = "aarch64") {
        &[183, 40]
    } else if cfg!(target_arch = "riscv64") {
        &[243]
    } else {
        &[]
    }
}

/// Checks an ELF file's header and program headers as the kernel's loader
/// would, `at(offset, len)` reading the file (short at its end) and `size`
/// its length. Returns its interpreter (`PT_INTERP`), if it names one.
fn elf_problem(at: &dyn Fn(u64, usize) -> Vec<u8>, size: u64) -> Result<Option<PathBuf>, String> {
    let header = at(0, 64);
    let class = *header.get(4).ok_or("truncated: the file ends inside its ELF header")?;
    let wide = match class {
        1 => false,
        2 => true,
        other => return Err(format!("an ELF class {other} that is neither 32- nor 64-bit")),
    };
    let header_len = if wide { 64 } else { 52 };
    if header.len() < header_len {
        return Err(format!("truncated: the file ends inside its ELF header ({} of {header_len} bytes)", header.len()));
    }
    if header[5] != 1 {
        return Err("a big-endian ELF file; this machine is little-endian".into());
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let word = |b: &[u8], o32: usize, o64: usize| if wide { u64_at(b, o64) } else { u64::from(u32_at(b, o32)) };
    match u16_at(&header, 16) {
        2 | 3 => {}
        1 => return Err("an object file (ET_REL), not an executable: link it first".into()),
        4 => return Err("a core dump, not an executable".into()),
        other => return Err(format!("an ELF file of type {other}, not an executable")),
    }
    let machine = u16_at(&header, 18);
    if !native_machines().is_empty() && !native_machines().contains(&machine) && !misc_formats_enabled() {
        return Err(format!("an executable for another machine (ELF machine {machine}; this one runs {:?})", native_machines()));
    }
    let phoff = word(&header, 28, 32);
    let (phentsize, phnum) = if wide { (u16_at(&header, 54), u16_at(&header, 56)) } else { (u16_at(&header, 42), u16_at(&header, 44)) };
    let entry_len = if wide { 56 } else { 32 };
    let table = usize::from(phentsize) * usize::from(phnum);
    if usize::from(phentsize) != entry_len || table == 0 || table > 4096 {
        return Err(format!("its program header table ({phnum} entries of {phentsize} bytes) is not one the kernel loads"));
    }
    let end = phoff.saturating_add(table as u64);
    if end > size {
        return Err(format!("truncated: its program headers end at byte {end}, past the end of the file ({size} bytes)"));
    }
    let phdrs = at(phoff, table);
    let mut interpreter = None;
    for entry in phdrs.chunks_exact(entry_len) {
        let kind = u32_at(entry, 0);
        let (offset, filesz) = if wide { (u64_at(entry, 8), u64_at(entry, 32)) } else { (u64::from(u32_at(entry, 4)), u64::from(u32_at(entry, 16))) };
        let end = offset.saturating_add(filesz);
        match kind {
            // PT_LOAD: mapped from the file; bytes past its end fault when touched.
            1 if end > size => {
                return Err(format!("truncated: a loadable segment ends at byte {end}, past the end of the file ({size} bytes)"));
            }
            // PT_INTERP: the path of the dynamic loader, NUL-terminated.
            3 => {
                if end > size || filesz < 2 || filesz > 4096 {
                    return Err("its interpreter path (PT_INTERP) lies outside the file".into());
                }
                let bytes = at(offset, filesz as usize);
                let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
                interpreter = Some(PathBuf::from(OsStr::from_bytes(path)));
            }
            _ => {}
        }
    }
    Ok(interpreter)
}

/// Whether `binfmt_misc` has a format enabled: then the kernel may run
/// files faultbox does not recognise (a foreign machine's, through qemu).
fn misc_formats_enabled() -> bool {
    let dir = Path::new("/proc/sys/fs/binfmt_misc");
    if std::fs::read_to_string(dir.join("status")).map_or(true, |s| s.trim() != "enabled") {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name();
        name != "status" && name != "register" && std::fs::read_to_string(e.path()).is_ok_and(|t| t.lines().next() == Some("enabled"))
    })
}

/// This process's stack limit, bytes (`RLIMIT_STACK`, soft): the fork
/// server's children inherit it, and it bounds the room for arguments.
fn stack_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into our struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) } != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        return u64::MAX;
    }
    lim.rlim_cur as u64
}

/// What `execve` refuses with E2BIG: a string longer than
/// `MAX_ARG_STRLEN`, or more strings than the room for them: a quarter of
/// the stack limit, at least `ARG_MAX` and at most ¾ of 8 MiB, less a
/// pointer for each. `extra` is what a `#!` line adds.
fn arguments_problem(path: &Path, args: &[String], env_strings: usize, extra: usize, stack: u64) -> Option<String> {
    let argv0 = path.as_os_str().len() + 1;
    if let Some((i, a)) = args.iter().enumerate().find(|(_, a)| a.len() + 1 > MAX_ARG_STRLEN) {
        return Some(format!(
            "argument {} is {} bytes; exec takes at most {} bytes per argument (it would fail: Argument list too long)",
            i + 1,
            a.len(),
            MAX_ARG_STRLEN - 1
        ));
    }
    let room = (stack / 4).min(ARG_CEILING).max(ARG_MAX);
    let pointers = (args.len() as u64 + 1 + 1) * 8;
    // The kernel copies the file name too (`/dev/fd/<n>` for an exec by
    // descriptor): a few bytes' margin.
    let strings = (argv0 + extra + env_strings + 32 + args.iter().map(|a| a.len() + 1).sum::<usize>()) as u64;
    (strings + pointers > room).then(|| {
        format!(
            "its arguments take {} bytes; exec takes at most {room} here (a quarter of the stack limit, within {ARG_MAX} to {ARG_CEILING}): it would fail: Argument list too long",
            strings + pointers
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shebang_line_names_its_interpreter() {
        let cases: &[(&[u8], Result<(&str, usize), &str>)] = &[
            (b"#!/bin/sh\necho", Ok(("/bin/sh", 9))),
            (b"#! /usr/bin/env python3 -u\n", Ok(("/usr/bin/env", 25))),
            (b"#!\t/bin/bash", Ok(("/bin/bash", 11))),
            (b"#!\n", Err("names no interpreter")),
            (b"#!   \nx", Err("names no interpreter")),
        ];
        for (head, want) in cases {
            let got = script_interpreter(head);
            match (got, want) {
                (Ok((p, n)), Ok((wp, wn))) => assert_eq!((p.to_str().unwrap(), n), (*wp, *wn), "{head:?}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{head:?}: {e}"),
                (got, want) => panic!("{head:?}: {got:?}, expected {want:?}"),
            }
        }
        let mut long = b"#!/".to_vec();
        long.resize(HEAD, b'a');
        assert!(script_interpreter(&long).unwrap_err().contains("longer than"));
    }

    /// A minimal 64-bit little-endian ELF executable for this machine:
    /// the header, one PT_LOAD of `load` bytes from offset 0, and a
    /// PT_INTERP if given.
    fn elf(load: u64, interp: Option<&str>) -> Vec<u8> {
        let machine = native_machines().first().copied().unwrap_or(62);
        let phnum: u16 = if interp.is_some() { 2 } else { 1 };
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        let interp_at = 64 + 56 * u64::from(phnum);
        let mut ph = |kind: u32, offset: u64, size: u64| {
            let mut e = vec![0u8; 56];
            e[..4].copy_from_slice(&kind.to_le_bytes());
            e[8..16].copy_from_slice(&offset.to_le_bytes());
            e[32..40].copy_from_slice(&size.to_le_bytes());
            b.extend(e);
        };
        ph(1, 0, load);
        if let Some(i) = interp {
            ph(3, interp_at, i.len() as u64 + 1);
        }
        if let Some(i) = interp {
            b.extend(i.as_bytes());
            b.push(0);
        }
        b
    }

    fn check(bytes: &[u8]) -> Result<Option<PathBuf>, String> {
        let at = |offset: u64, len: usize| {
            let start = (offset as usize).min(bytes.len());
            bytes[start..(start + len).min(bytes.len())].to_vec()
        };
        elf_problem(&at, bytes.len() as u64)
    }

    #[test]
    fn an_elf_file_is_read_as_the_kernel_loads_it() {
        let whole = elf(120, None);
        assert_eq!(check(&whole), Ok(None));
        let with_interp = elf(150, Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(check(&with_interp), Ok(Some(PathBuf::from("/lib64/ld-linux-x86-64.so.2"))));
        let cases: &[(Vec<u8>, &str)] = &[
            (whole[..40].to_vec(), "ends inside its ELF header"),
            (whole[..100].to_vec(), "program headers end at byte 120"),
            (elf(4096, None), "a loadable segment ends at byte 4096"),
            ({
                let mut b = whole.clone();
                b[16] = 1;
                b
            }, "an object file"),
            ({
                let mut b = whole.clone();
                b[5] = 2;
                b
            }, "big-endian"),
            ({
                let mut b = whole.clone();
                b[56] = 0;
                b
            }, "program header table"),
        ];
        for (bytes, want) in cases {
            let e = check(bytes).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn arguments_past_what_exec_takes_are_refused() {
        let p = Path::new("/x/prog");
        let short = vec!["a".to_string(); 10];
        assert_eq!(arguments_problem(p, &short, 0, 0, 8 << 20), None);
        let long_one = vec!["a".repeat(MAX_ARG_STRLEN)];
        assert!(arguments_problem(p, &long_one, 0, 0, 8 << 20).unwrap().contains("argument 1 is"));
        // 8 MiB of stack: 2 MiB of room.
        let many = vec!["a".repeat(1000); 2100];
        assert!(arguments_problem(p, &many, 0, 0, 8 << 20).unwrap().contains("at most 2097152"));
        assert_eq!(arguments_problem(p, &many, 0, 0, 64 << 20), None);
        // Never less than ARG_MAX, whatever the stack limit.
        assert_eq!(arguments_problem(p, &vec!["a".repeat(1000); 100], 0, 0, 4096), None);
    }
}
