//! C: one source (`guests/c/scenarios.c`), built as a WASI preview 1
//! reactor with clang and wasi-libc and natively as a shared library with
//! `cc`, which the fork server dlopens and its child calls (C has no
//! runtime threads that a fork would break). See `guests/c/README.md` for
//! the guest's ABI and why each death reads the way the tables below say.

use super::build::{self, Artifacts, Unavailable};
use super::{DeathMark, Descriptor, ExitCodes, NativeLauncher, RecoveredMark, WasmAbi};
use crate::model::Language;
use crate::outcome::FaultClass;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The one line that installs what the C guests need on Debian 12.
pub const INSTALL: &str = "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 gcc";

pub static DESCRIPTOR: Descriptor = Descriptor {
    language: Language::C,
    sources: "c",
    recovery: "sigsetjmp/siglongjmp",
    // After a trap clang's shadow-stack pointer (`__stack_pointer`, a wasm
    // global) stays where the trap left it: 16 bytes leak per trapped
    // `fprintf` frame, and a health check can pass while the stack creeps
    // into the data (guests/c/README.md). Ten rounds, as characterised.
    wasm: WasmAbi::WasiReactor { reuse_rounds: 10 },
    native: NativeLauncher::Library,
    // `sigsetjmp_recovery` needs signals and <setjmp.h>, which wasi-libc
    // does not have: the wasm build compiles it out and lacks the export.
    native_only_entries: true,
    deaths: DEATHS,
    recovered: RECOVERED,
    build: Some(artifacts),
    exit_codes: ExitCodes { runtime_death: None, usage: None },
};

/// How a C process's last words read, first match wins, matched at the
/// start of a stderr line. C has no runtime to print a death; what prints
/// is glibc's allocator (`malloc/malloc.c` `malloc_printerr`, which then
/// aborts), glibc's fortify and stack-protector checks (`__fortify_fail`,
/// `__stack_chk_fail`), and the guest's own allocation-failure line, which
/// it prints before `abort()` as Rust's `handle_alloc_error` does (in wasm
/// the same line comes before the `unreachable` trap of wasi-libc's abort).
const DEATHS: &[DeathMark] = &[
    DeathMark { line: "memory_bomb: malloc(", class: FaultClass::ResourceLimit },
    DeathMark { line: "*** stack smashing detected ***", class: FaultClass::MemoryFault },
    DeathMark { line: "*** buffer overflow detected ***", class: FaultClass::MemoryFault },
    DeathMark { line: "free(): ", class: FaultClass::MemoryFault },
    DeathMark { line: "malloc(): ", class: FaultClass::MemoryFault },
    DeathMark { line: "realloc(): ", class: FaultClass::MemoryFault },
    DeathMark { line: "double free or corruption", class: FaultClass::MemoryFault },
    DeathMark { line: "munmap_chunk(): ", class: FaultClass::MemoryFault },
    DeathMark { line: "malloc_consolidate(): ", class: FaultClass::MemoryFault },
    DeathMark { line: "corrupted size vs. prev_size", class: FaultClass::MemoryFault },
    DeathMark { line: "corrupted double-linked list", class: FaultClass::MemoryFault },
];

/// What the guest reports through `fb_recovered_hook` when its SIGSEGV
/// handler's `siglongjmp` brought control back: a memory fault it caught.
const RECOVERED: &[RecoveredMark] = &[RecoveredMark { kind: "SIGSEGV", message: "", class: FaultClass::MemoryFault }];

/// The C toolchains faultbox builds with: `$FAULTBOX_CLANG` (else `clang`)
/// for wasm32-wasi, `$FAULTBOX_CC` (else `cc`) natively, and
/// `$WASI_SYSROOT` when wasi-libc is a sysroot (wasi-sdk) rather than
/// Debian's multiarch install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toolchain {
    pub clang: PathBuf,
    pub cc: PathBuf,
    pub sysroot: Option<PathBuf>,
    /// The first lines of `clang --version` and `cc --version`.
    pub clang_version: String,
    pub cc_version: String,
    /// wasi-libc's `libc.a`, as clang finds it, and its size: the library
    /// the reactor links (part of the cache key).
    pub wasi_libc: String,
}

impl Toolchain {
    pub fn describe(&self) -> String {
        format!("{}; {}", self.clang_version, self.cc_version)
    }
}

fn missing(what: &str) -> Unavailable {
    Unavailable::Missing { what: what.to_string(), install: INSTALL.to_string() }
}

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The first line a query (`clang --version`) printed, if it succeeded;
/// an error naming `var` if it did not end within its deadline.
fn first_line(cmd: &mut Command, var: &str, what: &str) -> Result<Option<String>, Unavailable> {
    let Some(out) = build::query(cmd, var, what)?.filter(|o| o.status.success()) else { return Ok(None) };
    Ok(String::from_utf8_lossy(&out.stdout).lines().next().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()))
}

const CLANG: &str = "clang (wasm32-wasi)";
const CC: &str = "C compiler (cc)";

/// Finds both compilers and wasi-libc. Whether clang can really target
/// wasm32-wasi (lld's wasm-ld, compiler-rt's wasm32 builtins, wasi-libc's
/// headers) is proven by compiling ([`probe_wasm`]) when a build is due.
pub fn toolchain() -> Result<Toolchain, Unavailable> {
    let clang = tool("FAULTBOX_CLANG", "clang");
    let cc = tool("FAULTBOX_CC", "cc");
    let sysroot = std::env::var_os("WASI_SYSROOT").filter(|v| !v.is_empty()).map(PathBuf::from);
    let clang_version = first_line(Command::new(&clang).arg("--version"), "FAULTBOX_CLANG", CLANG)?.ok_or_else(|| missing(CLANG))?;
    let cc_version = first_line(Command::new(&cc).arg("--version"), "FAULTBOX_CC", CC)?.ok_or_else(|| missing(&format!("a {CC}")))?;
    let mut find_libc = Command::new(&clang);
    find_libc.arg("--target=wasm32-wasi").args(sysroot_flag(&sysroot)).arg("-print-file-name=libc.a");
    let libc_path = first_line(&mut find_libc, "FAULTBOX_CLANG", CLANG)?.map(PathBuf::from).filter(|p| p.is_absolute() && p.is_file());
    let Some(libc_path) = libc_path else { return Err(missing("wasi-libc (libc.a for wasm32-wasi)")) };
    let size = std::fs::metadata(&libc_path).map(|m| m.len()).unwrap_or(0);
    Ok(Toolchain { clang, cc, sysroot, clang_version, cc_version, wasi_libc: format!("{} {size}", libc_path.display()) })
}

fn sysroot_flag(sysroot: &Option<PathBuf>) -> Vec<String> {
    sysroot.iter().map(|s| format!("--sysroot={}", s.display())).collect()
}

/// The reactor's flags, exactly as `guests/c/build.sh` builds `guest.wasm`.
///
/// Default layout, not `--stack-first`: faultbox measures what happens to
/// a user's C module, and a plain clang 14 build puts the data first and
/// the 1 MiB shadow stack above it, growing down towards the data. That
/// layout is what makes `recursion_large_frames` overwrite every static
/// byte before it traps (guests/c/README.md); `--stack-first` would turn
/// that silent corruption into a clean trap, which is a mitigation a user
/// must choose, not what they get.
fn wasm_flags(tc: &Toolchain) -> Vec<String> {
    let mut flags = vec!["--target=wasm32-wasi".to_string()];
    flags.extend(sysroot_flag(&tc.sysroot));
    flags.extend(
        [
            "-mexec-model=reactor",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Wl,-z,stack-size=1048576",
            "-mmutable-globals",
            "-Wl,--export=__stack_pointer",
        ]
        .map(String::from),
    );
    flags
}

/// Compiles and links a one-line reactor: clang's wasm32-wasi target, lld,
/// compiler-rt and wasi-libc all answer, or the first that does not is
/// named with the line that installs it.
fn probe_wasm(tc: &Toolchain, dir: &Path) -> Result<(), Unavailable> {
    let src = dir.join("probe.c");
    std::fs::write(&src, "#include <stdio.h>\nint fb_probe(void) { return snprintf(0, 0, \"%d\", 42); }\n")
        .map_err(|e| Unavailable::BuildFailed { problem: format!("{}: {e}", src.display()) })?;
    let mut probe = Command::new(&tc.clang);
    probe.args(wasm_flags(tc)).arg("-o").arg(dir.join("probe.wasm")).arg(&src).env("TMPDIR", build::build_tmp(dir));
    let out = build::output_within(&mut probe, build::BUILD_TIMEOUT).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut => build::unanswered("FAULTBOX_CLANG", CLANG, &format!("{} (compiling a probe)", tc.clang.display()), &e),
        _ => missing(CLANG),
    })?;
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(dir.join("probe.wasm"));
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let what = if stderr.contains("wasm-ld") {
        "lld's wasm-ld"
    } else if stderr.contains("libclang_rt.builtins-wasm32") {
        "compiler-rt for wasm32 (libclang-rt-14-dev-wasm32)"
    } else if stderr.contains("stdio.h") || stderr.contains("crt1") || stderr.contains("-lc") {
        "wasi-libc"
    } else {
        "a clang that targets wasm32-wasi"
    };
    let last = stderr.lines().filter(|l| !l.trim().is_empty()).last().unwrap_or_default().trim().to_string();
    Err(Unavailable::Missing { what: format!("{what} ({last})"), install: INSTALL.to_string() })
}

/// Builds (or finds cached) `guest.wasm` and `libguest.so` from `sources`.
/// (`language::artifacts` remembers the result per process.)
pub fn artifacts(sources: &Path) -> Result<Artifacts, Unavailable> {
    build_artifacts(sources)
}

fn build_artifacts(sources: &Path) -> Result<Artifacts, Unavailable> {
    let tc = toolchain()?;
    let sysroot = tc.sysroot.as_ref().map(|s| s.display().to_string()).unwrap_or_default();
    let key = build::source_key(sources, &["faultbox-c-1", &tc.clang_version, &tc.cc_version, &tc.wasi_libc, &sysroot])
        .map_err(|e| Unavailable::BuildFailed { problem: format!("{}: cannot read the C sources: {e}", sources.display()) })?;
    let (dir, built_ms) = build::cached_dir(&build::artifact_root()?, "c", &key, |out| {
        probe_wasm(&tc, out)?;
        // The compilers' temporaries inside the build's own directory: a
        // killed build leaves them nowhere else.
        let tmp = build::build_tmp(out);
        build::run(
            Command::new(&tc.clang)
                .current_dir(sources)
                .env("TMPDIR", &tmp)
                .args(wasm_flags(&tc))
                .arg("-o")
                .arg(out.join("guest.wasm"))
                .arg("scenarios.c"),
            &format!("clang --target=wasm32-wasi in {}", sources.display()),
        )?;
        build::run(
            Command::new(&tc.cc)
                .current_dir(sources)
                .env("TMPDIR", &tmp)
                .args(["-O2", "-Wall", "-Wextra", "-fPIC", "-shared", "-o"])
                .arg(out.join("libguest.so"))
                .arg("scenarios.c"),
            &format!("cc -shared in {}", sources.display()),
        )
    })?;
    let library = dir.join("libguest.so");
    let entries = library_entries(&library)?;
    let wasm = dir.join("guest.wasm");
    let bytes = std::fs::read(&wasm).map_err(|e| Unavailable::BuildFailed { problem: format!("{}: {e}", wasm.display()) })?;
    Ok(Artifacts {
        natives: vec![build::NativeProgram { path: library, entries, how: "cc -O2 -fPIC -shared".into() }],
        wasm: Some(wasm),
        wasm_entries: build::wasm_entries(&bytes),
        toolchain: tc.describe(),
        built_ms,
    })
}

/// The entries a library offers: its defined, exported `fb_<entry>`
/// functions, read from its dynamic symbol table with `nm` (binutils, which
/// `cc` needs anyway) — asking the artifact without loading it into the
/// supervisor, which never runs guest code.
fn library_entries(library: &Path) -> Result<std::collections::BTreeSet<String>, Unavailable> {
    let out = build::output_within(Command::new("nm").args(["-D", "--defined-only"]).arg(library), build::QUERY_TIMEOUT)
        .map_err(|e| Unavailable::BuildFailed { problem: format!("nm -D {}: cannot run it: {e}", library.display()) })?;
    if !out.status.success() {
        return Err(Unavailable::BuildFailed {
            problem: format!("nm -D {} failed: {}", library.display(), String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(function_entries(&String::from_utf8_lossy(&out.stdout)))
}

/// `fb_<entry>` function symbols (type `T`) of `nm -D` output, as entry
/// names; `fb_health` is the health check, not an entry.
pub fn function_entries(nm: &str) -> std::collections::BTreeSet<String> {
    nm.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace().rev();
            let (name, kind) = (words.next()?, words.next()?);
            (kind == "T").then_some(name)?.strip_prefix("fb_").map(str::to_string)
        })
        .filter(|e| e != "health")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::{death_mark, recovered_class};

    /// Deaths as glibc 2.36 and the C guest print them (guests/c/README.md,
    /// glibc's malloc/malloc.c).
    #[test]
    fn deaths_read_as_their_fault_class() {
        let table: &[(&str, Option<FaultClass>)] = &[
            ("free(): double free detected in tcache 2\n", Some(FaultClass::MemoryFault)),
            ("free(): invalid pointer\n", Some(FaultClass::MemoryFault)),
            ("malloc(): corrupted top size\n", Some(FaultClass::MemoryFault)),
            ("malloc(): unaligned tcache chunk detected\n", Some(FaultClass::MemoryFault)),
            ("realloc(): invalid next size\n", Some(FaultClass::MemoryFault)),
            ("double free or corruption (out)\n", Some(FaultClass::MemoryFault)),
            ("munmap_chunk(): invalid pointer\n", Some(FaultClass::MemoryFault)),
            ("corrupted size vs. prev_size\n", Some(FaultClass::MemoryFault)),
            ("*** stack smashing detected ***: terminated\n", Some(FaultClass::MemoryFault)),
            ("memory_bomb: malloc(1048576) returned NULL with 252 MiB held\n", Some(FaultClass::ResourceLimit)),
            // A death with nothing to say is the signal's business.
            ("", None),
            // Quoted inside another line, a mark does not count.
            ("guest says: free(): double free detected in tcache 2\n", None),
            ("thread 'fb-scenario' has overflowed its stack\n", None),
        ];
        for (stderr, want) in table {
            assert_eq!(death_mark(DEATHS, stderr).map(|(c, _)| c), *want, "{stderr:?}");
        }
    }

    #[test]
    fn a_recovered_sigsegv_is_a_memory_fault() {
        assert_eq!(recovered_class(RECOVERED, "SIGSEGV at 0x0: the handler's siglongjmp came back"), FaultClass::MemoryFault);
        assert_eq!(recovered_class(RECOVERED, "something else"), FaultClass::Panic);
    }

    #[test]
    fn entries_are_the_exported_fb_functions() {
        let nm = "0000000000004010 D fb_progress_hook\n\
                  0000000000001240 T fb_clean_run\n\
                  0000000000001180 T fb_health\n\
                  0000000000002000 R fb_scenario_names\n\
                  0000000000001300 T fb_sigsetjmp_recovery\n\
                                   w __cxa_finalize\n\
                  0000000000001400 T other\n";
        let got: Vec<String> = function_entries(nm).into_iter().collect();
        assert_eq!(got, ["clean_run", "sigsetjmp_recovery"]);
    }
}
