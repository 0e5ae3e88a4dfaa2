//! Go: one source (`guests/go/`), built natively (cgo on when a C compiler
//! is there) and as a `GOOS=wasip1` reactor. See `guests/go/README.md` for
//! the guest's report protocol and reactor ABI, and for why each death
//! reads the way the tables below say (Go's runtime source, cited there).

use super::build::{self, Artifacts, Unavailable};
use super::{DeathMark, Descriptor, ExitCodes, NativeLauncher, RecoveredMark, WasmAbi};
use crate::model::Language;
use crate::outcome::FaultClass;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest Go with `//go:wasmexport`.
pub const MIN_VERSION: (u32, u32) = (1, 24);

pub static DESCRIPTOR: Descriptor = Descriptor {
    language: Language::Go,
    sources: "go",
    recovery: "recover",
    // After a wasm trap Go's runtime is not told (its stack pointer and `g`
    // live in wasm globals): one health check passes and a later round
    // breaks. Ten rounds catch every case the characterisation saw.
    wasm: WasmAbi::WasiReactor { reuse_rounds: 10 },
    // The cgo build needs about 720 MiB of address space just to start
    // (page summaries, arena hints, thread stacks) and an idle guest holds
    // about 1.5 GB: below 2 GiB, stack growth and new threads fail as
    // "out of memory" long before the manifest's memory is in use.
    native: NativeLauncher::Exec { address_space_floor_mib: 2048 },
    native_only_entries: true,
    deaths: DEATHS,
    recovered: RECOVERED,
    build: Some(artifacts),
    exit_codes: ExitCodes { runtime_death: Some(2), usage: Some(64) },
};

/// How Go's runtime says it is dying, first match wins (`panic.go`
/// `fatalthrow`/`fatalpanic`, `signal_unix.go` `sighandler`, `stack.go`
/// `newstack`, `malloc.go`). Matched at the start of a stderr line.
const DEATHS: &[DeathMark] = &[
    DeathMark { line: "runtime: goroutine stack exceeds", class: FaultClass::StackExhaustion },
    DeathMark { line: "fatal error: stack overflow", class: FaultClass::StackExhaustion },
    DeathMark { line: "SIGABRT: abort", class: FaultClass::Abort },
    DeathMark { line: "unexpected fault address", class: FaultClass::MemoryFault },
    DeathMark { line: "SIGSEGV: segmentation violation", class: FaultClass::MemoryFault },
    DeathMark { line: "SIGBUS: bus error", class: FaultClass::MemoryFault },
    DeathMark { line: "runtime: out of memory", class: FaultClass::ResourceLimit },
    DeathMark { line: "fatal error: out of memory", class: FaultClass::ResourceLimit },
    DeathMark { line: "fatal error: failed to reserve", class: FaultClass::ResourceLimit },
    DeathMark { line: "runtime/cgo: pthread_create failed", class: FaultClass::ResourceLimit },
    DeathMark { line: "panic: ", class: FaultClass::Panic },
    // Any other throw: the runtime found its own invariants broken
    // (concurrent map writes, unlock of an unlocked mutex, deadlock).
    DeathMark { line: "fatal error: ", class: FaultClass::Abort },
];

/// A recovered `runtime.Error` that came from a memory fault (`sigpanic` →
/// `panicmem`, or the wasm compiler's nil check) is a memory fault the
/// runtime turned into a panic; any other recovered value is a panic.
const RECOVERED: &[RecoveredMark] =
    &[RecoveredMark { kind: "runtime.", message: "invalid memory address or nil pointer dereference", class: FaultClass::MemoryFault }];

/// The Go toolchain faultbox builds with: `$FAULTBOX_GO`, else `go` on PATH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toolchain {
    pub go: PathBuf,
    /// `go version`'s version word, e.g. `go1.26.8`.
    pub version: String,
    pub goos_goarch: String,
    pub cgo: bool,
    /// The effective settings of [`CODEGEN_SETTINGS`], as `go env -json`
    /// reports them for the builds' environment: part of the cache key.
    pub codegen: String,
}

/// The `go env` settings that change what a build makes, beside the
/// version and platform: which standard library (GOROOT), the
/// architecture levels (GOAMD64 and its kin, GOWASM for the reactor),
/// experiments and FIPS mode, and cgo's compiler, flags and tools. The
/// user's GOENV file is off for every build ([`go_command`]), so these come
/// from the environment alone; the cache key covers them, so that a build
/// made under one setting is never reused under another.
pub const CODEGEN_SETTINGS: &[&str] = &[
    "GOROOT",
    "GOFLAGS",
    "GOEXPERIMENT",
    "GOFIPS140",
    "GOAMD64",
    "GO386",
    "GOARM",
    "GOARM64",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
    "GOWASM",
    "CGO_ENABLED",
    "CC",
    "CXX",
    "AR",
    "PKG_CONFIG",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "CGO_FFLAGS",
    "CGO_LDFLAGS",
];

impl Toolchain {
    pub fn describe(&self) -> String {
        format!("{} {}, cgo {}", self.version, self.goos_goarch, if self.cgo { "on" } else { "off" })
    }
}

fn missing(found: Option<&str>) -> Unavailable {
    let what = match found {
        Some(v) => format!("Go ≥ {}.{} (found {v})", MIN_VERSION.0, MIN_VERSION.1),
        None => format!("Go ≥ {}.{}", MIN_VERSION.0, MIN_VERSION.1),
    };
    let install = match std::env::var_os("FAULTBOX_GO").filter(|v| !v.is_empty()) {
        Some(go) => format!("install Go 1.24 or newer from https://go.dev/dl/ and point FAULTBOX_GO at it (FAULTBOX_GO={} is not one)", go.to_string_lossy()),
        None => "install Go 1.24 or newer from https://go.dev/dl/ and put `go` on PATH (or set FAULTBOX_GO)".into(),
    };
    Unavailable::Missing { what, install: crate::process::escape_terminal(&install).into_owned() }
}

/// Parses `go1.26.8` (or `go1.24`, `go1.25rc1`) into (major, minor).
pub fn parse_version(word: &str) -> Option<(u32, u32)> {
    let rest = word.strip_prefix("go")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

/// Finds the toolchain and checks its version.
pub fn toolchain() -> Result<Toolchain, Unavailable> {
    let go = std::env::var_os("FAULTBOX_GO").filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from("go"), PathBuf::from);
    let what = format!("Go ≥ {}.{}", MIN_VERSION.0, MIN_VERSION.1);
    let Some(out) = build::query(go_command(&go).arg("version"), "FAULTBOX_GO", &what)? else { return Err(missing(None)) };
    let text = String::from_utf8_lossy(&out.stdout);
    // "go version go1.26.8 linux/amd64"
    let words: Vec<&str> = text.split_whitespace().collect();
    let (Some(version), Some(platform)) = (words.get(2), words.get(3)) else { return Err(missing(None)) };
    match parse_version(version) {
        Some(v) if v >= MIN_VERSION => {}
        _ => return Err(missing(Some(version))),
    }
    let env = build::query(go_command(&go).args(["env", "-json"]).args(CODEGEN_SETTINGS), "FAULTBOX_GO", &what)?
        .filter(|out| out.status.success())
        .ok_or_else(|| Unavailable::BuildFailed { problem: format!("`{} env -json` failed", go.display()) })?;
    let (codegen, cgo) = codegen_settings(&env.stdout)
        .ok_or_else(|| Unavailable::BuildFailed { problem: format!("`{} env -json`: not the JSON object of settings asked for", go.display()) })?;
    Ok(Toolchain { go, version: version.to_string(), goos_goarch: platform.to_string(), cgo, codegen })
}

/// `go env -json`'s answer as the cache key's part (one `NAME=value` line
/// per setting of [`CODEGEN_SETTINGS`], in its order), and whether cgo is
/// on.
fn codegen_settings(json: &[u8]) -> Option<(String, bool)> {
    let env: std::collections::BTreeMap<String, String> = serde_json::from_slice(json).ok()?;
    let mut key = String::new();
    for name in CODEGEN_SETTINGS {
        key.push_str(&format!("{name}={}\n", env.get(*name)?));
    }
    Some((key, env.get("CGO_ENABLED")? == "1"))
}

/// `go` with the user's settings that would change the build neutralised:
/// no toolchain download, no workspace, no extra flags, and no GOENV file
/// (`go env -w`'s settings: a `GOFLAGS=-gcflags=all=-N` there would apply
/// despite an empty GOFLAGS, which Go reads as unset). What the
/// environment still sets is in the cache key ([`CODEGEN_SETTINGS`]).
pub fn go_command(go: &Path) -> Command {
    let mut cmd = Command::new(go);
    cmd.env("GOENV", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOFLAGS", "")
        .env_remove("GOOS")
        .env_remove("GOARCH");
    // Without HOME or XDG_CACHE_HOME go has no build cache and refuses.
    if std::env::var_os("GOCACHE").is_none() && std::env::var_os("HOME").is_none() && std::env::var_os("XDG_CACHE_HOME").is_none() {
        if let Ok(root) = build::artifact_root() {
            cmd.env("GOCACHE", root.join("go-build"));
        }
    }
    cmd
}

/// Builds (or finds cached) the native program and the wasm reactor from
/// `sources` (`language::artifacts` remembers the result per process).
pub fn artifacts(sources: &Path) -> Result<Artifacts, Unavailable> {
    build_artifacts(sources)
}

fn build_artifacts(sources: &Path) -> Result<Artifacts, Unavailable> {
    let tc = toolchain()?;
    // `-3`: builds of older faultboxes, which a GOENV file could have
    // changed, are not reused.
    let key = build::source_key(sources, &["faultbox-go-3", &tc.version, &tc.goos_goarch, &tc.codegen])
        .map_err(|e| Unavailable::BuildFailed { problem: format!("{}: cannot read the Go sources: {e}", sources.display()) })?;
    let (dir, built_ms) = build::cached_dir(&build::artifact_root()?, "go", &key, |out| {
        let tmp = build::build_tmp(out);
        // Go's work directory and cgo's compiler temporaries inside the
        // build's own directory: a killed build leaves them nowhere else.
        let go_command = |go: &Path| {
            let mut cmd = go_command(go);
            cmd.env("GOTMPDIR", &tmp).env("TMPDIR", &tmp);
            cmd
        };
        // Two native programs: without cgo for every scenario that does not
        // need it (a Go program that never imports "C" does not link the
        // cgo runtime, whose extra M hides a global deadlock from
        // checkdead), and with cgo for the cgo scenarios.
        build::run(
            go_command(&tc.go).current_dir(sources).env("CGO_ENABLED", "0").args(["build", "-trimpath", "-o"]).arg(out.join("guest-nocgo")).arg("."),
            &format!("go build (native, CGO_ENABLED=0) in {}", sources.display()),
        )?;
        if tc.cgo {
            build::run(
                go_command(&tc.go).current_dir(sources).env("CGO_ENABLED", "1").args(["build", "-trimpath", "-o"]).arg(out.join("guest-cgo")).arg("."),
                &format!("go build (native, CGO_ENABLED=1) in {}", sources.display()),
            )?;
        }
        build::run(
            go_command(&tc.go)
                .current_dir(sources)
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .args(["build", "-trimpath", "-buildmode=c-shared", "-o"])
                .arg(out.join("guest.wasm"))
                .arg("."),
            &format!("go build (wasip1) in {}", sources.display()),
        )
    })?;
    let mut natives = Vec::new();
    for (file, how) in [("guest-nocgo", "CGO_ENABLED=0"), ("guest-cgo", "CGO_ENABLED=1")] {
        let path = dir.join(file);
        if !path.is_file() {
            continue;
        }
        // What each program offers, asked of the program itself.
        let list = build::output_within(Command::new(&path).arg("list").env_clear(), build::QUERY_TIMEOUT)
            .map_err(|e| Unavailable::BuildFailed { problem: format!("{}: cannot run it: {e}", path.display()) })?;
        let entries = String::from_utf8_lossy(&list.stdout).lines().map(str::to_string).filter(|l| l != "health").collect();
        natives.push(build::NativeProgram { path, entries, how: how.into() });
    }
    let wasm = dir.join("guest.wasm");
    let bytes = std::fs::read(&wasm).map_err(|e| Unavailable::BuildFailed { problem: format!("{}: {e}", wasm.display()) })?;
    Ok(Artifacts { natives, wasm: Some(wasm), wasm_entries: build::wasm_entries(&bytes), toolchain: tc.describe(), built_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::death_mark;

    /// `go env -json`'s answer with every setting asked for, one changed.
    fn go_env(changed: Option<(&str, &str)>) -> Vec<u8> {
        let env: std::collections::BTreeMap<&str, &str> = CODEGEN_SETTINGS
            .iter()
            .map(|&name| (name, if name == "CGO_ENABLED" { "1" } else { "" }))
            .chain(changed)
            .collect();
        serde_json::to_vec(&env).unwrap()
    }

    #[test]
    fn every_codegen_setting_changes_the_key() {
        let (plain, cgo) = codegen_settings(&go_env(None)).unwrap();
        assert!(cgo);
        for name in CODEGEN_SETTINGS {
            let (changed, _) = codegen_settings(&go_env(Some((name, "-O0 v3")))).unwrap();
            assert_ne!(plain, changed, "{name}");
        }
        assert!(!codegen_settings(&go_env(Some(("CGO_ENABLED", "0")))).unwrap().1);
        // A setting go did not report is no key at all.
        let mut partial: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&go_env(None)).unwrap();
        partial.remove("GOAMD64");
        assert_eq!(codegen_settings(&serde_json::to_vec(&partial).unwrap()), None);
        assert_eq!(codegen_settings(b"go: parsing $GOFLAGS: unknown flag -l"), None);
    }

    #[test]
    fn the_user_s_goenv_file_never_applies() {
        let cmd = go_command(Path::new("go"));
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.contains(&(std::ffi::OsStr::new("GOENV"), Some(std::ffi::OsStr::new("off")))), "{envs:?}");
    }

    #[test]
    fn versions_parse_and_compare() {
        for (word, want) in [("go1.26.8", Some((1, 26))), ("go1.24", Some((1, 24))), ("go1.25rc1", Some((1, 25))), ("devel", None)] {
            assert_eq!(parse_version(word), want, "{word}");
        }
        assert!(parse_version("go1.23.4").unwrap() < MIN_VERSION);
    }

    /// Deaths as Go 1.26 prints them (guests/go/characterisation.md).
    #[test]
    fn deaths_read_as_their_fault_class() {
        let table: &[(&str, FaultClass)] = &[
            ("runtime: goroutine stack exceeds 1000000000-byte limit\nruntime: sp=0xc0200e0390\nfatal error: stack overflow\n", FaultClass::StackExhaustion),
            ("unexpected fault address 0xdeadbee0\nfatal error: fault\n[signal SIGSEGV: segmentation violation code=0x1 addr=0xdeadbee0 pc=0x4aa9e7]\n", FaultClass::MemoryFault),
            ("SIGABRT: abort\nPC=0x7f0 m=0 sigcode=18446744073709551610\nsignal arrived during cgo execution\n", FaultClass::Abort),
            ("SIGSEGV: segmentation violation\nPC=0x4b1 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution\n", FaultClass::MemoryFault),
            ("panic: goroutine_panic: unrecovered panic in another goroutine (arg 0)\n\ngoroutine 18 [running]:\n", FaultClass::Panic),
            ("fatal error: concurrent map writes\n\ngoroutine 7 [running]:\n", FaultClass::Abort),
            ("fatal error: all goroutines are asleep - deadlock!\n", FaultClass::Abort),
            ("fatal error: sync: unlock of unlocked mutex\n", FaultClass::Abort),
            ("runtime: out of memory: cannot allocate 1073741824-byte block (3899392 in use)\nfatal error: out of memory\n", FaultClass::ResourceLimit),
            ("fatal error: failed to reserve page summary memory\n", FaultClass::ResourceLimit),
        ];
        for (stderr, want) in table {
            assert_eq!(death_mark(DEATHS, stderr).map(|(c, _)| c), Some(*want), "{stderr}");
        }
        assert_eq!(death_mark(DEATHS, "goroutine 1 [running]:\nmain.main()\n"), None);
    }

    #[test]
    fn a_recovered_nil_dereference_is_a_memory_fault() {
        use crate::language::recovered_class;
        let nil = "runtime.errorString runtime error: invalid memory address or nil pointer dereference";
        assert_eq!(recovered_class(RECOVERED, nil), FaultClass::MemoryFault);
        assert_eq!(recovered_class(RECOVERED, "runtime.errorString runtime error: integer divide by zero"), FaultClass::Panic);
        // The same words in a plain panic are a panic.
        assert_eq!(recovered_class(RECOVERED, "string invalid memory address or nil pointer dereference"), FaultClass::Panic);
    }
}
