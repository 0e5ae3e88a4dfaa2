//! Bring your own: a `.wasm` module or a native program faultbox did not
//! build, checked before any worker starts (`run --wasm FILE`,
//! `run --native PROGRAM`, a manifest's `[guest.prebuilt]`). Every problem
//! is one line naming the file, exit 2.

use super::wasm_module::PROVIDED;
use crate::error::BadInput;
use std::path::{Path, PathBuf};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures};

/// The module WASI preview 1 imports come from.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";
/// A WASI command's entry point: `() -> ()`, run once per instance.
pub const COMMAND_START: &str = crate::wasm::wasi::COMMAND_START;

/// A prebuilt wasm module, checked: what a wasm run of it calls.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrebuiltModule {
    /// The `.wasm` file, absolute.
    pub path: PathBuf,
    /// The export a run calls: `_start` (a WASI command, `() -> ()`) or an
    /// `(i64) -> i64` function such as `fb_<entry>`.
    pub export: String,
    /// It imports from `wasi_snapshot_preview1`: linked with WASI.
    pub wasi: bool,
    /// It exports `fb_health`: reuse of the instance can be checked.
    pub health: bool,
    /// The WASI arguments after `argv[0]` (the file's name).
    pub args: Vec<String>,
}

impl PrebuiltModule {
    /// A WASI command run through `_start`.
    pub fn is_command(&self) -> bool {
        self.export == COMMAND_START
    }

    /// The module's complete WASI argv: its file name, then the arguments.
    pub fn argv(&self) -> Vec<String> {
        let name = self.path.file_name().map_or_else(|| "module.wasm".into(), |n| n.to_string_lossy().into_owned());
        std::iter::once(name).chain(self.args.iter().cloned()).collect()
    }
}

/// A prebuilt native program, checked: exec'd per run with its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrebuiltProgram {
    /// The executable, absolute.
    pub path: PathBuf,
    pub args: Vec<String>,
}

/// Reads and checks a `.wasm` file: a valid module, importing only what
/// the worker provides (`fb.*`, WASI preview 1), exporting `export` with a
/// type a run can call; with no `export`, a WASI command's `_start`.
/// Returns the module and its bytes.
pub fn check_module(path: &Path, export: Option<&str>, args: Vec<String>) -> Result<(PrebuiltModule, Vec<u8>), BadInput> {
    let bad = |problem: String| BadInput::in_file(path, problem);
    let bytes = crate::error::read_input(path)?;
    if !bytes.starts_with(b"\0asm") {
        let text = bytes.trim_ascii_start();
        let what = if text.starts_with(b"(module") || text.starts_with(b";;") || path.extension().is_some_and(|x| x == "wat") {
            " (it looks like text: a .wat file is compiled with `wat2wasm`, or named in a manifest's [guest.wat])"
        } else {
            ""
        };
        return Err(bad(format!("not a WebAssembly module: no `\\0asm` header{what}")));
    }
    let types = Validator::new_with_features(WasmFeatures::default())
        .validate_all(&bytes)
        .map_err(|e| bad(format!("invalid WebAssembly module: {}", e.message())))?;
    let (mut exports, mut wasi, mut func_index) = (Vec::new(), false, 0u32);
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload {
            Ok(Payload::ExportSection(reader)) => {
                for e in reader.into_iter().flatten() {
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            Ok(Payload::ImportSection(reader)) => {
                for import in reader.into_imports().flatten() {
                    let what = format!("{}.{}", import.module, import.name);
                    let cannot = |why: &str| bad(format!("the module cannot be instantiated: its import `{what}` {why}"));
                    let TypeRef::Func(_) = import.ty else {
                        return Err(cannot(&format!("is not a function; faultbox provides only functions (from `fb` and `{WASI_MODULE}`)")));
                    };
                    let ty = types[types.as_ref().core_function_at(func_index)].unwrap_func();
                    func_index += 1;
                    if import.module == WASI_MODULE {
                        wasi = true;
                        continue;
                    }
                    match PROVIDED.iter().find(|(n, ..)| import.module == "fb" && *n == import.name) {
                        None => {
                            return Err(cannot(&format!(
                                "is not provided (faultbox provides {WASI_MODULE} and {})",
                                PROVIDED.iter().map(|(n, ..)| format!("fb.{n}")).collect::<Vec<_>>().join(", ")
                            )));
                        }
                        Some((_, p, r)) if ty.params() != *p || ty.results() != *r => {
                            return Err(cannot(&format!("has type {ty}, but faultbox provides another")));
                        }
                        Some(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    let names = || exports.iter().map(|(n, ..)| n.as_str()).collect::<Vec<_>>().join(", ");
    let export = match export {
        Some(e) => e.to_string(),
        None if exports.iter().any(|(n, ..)| n == COMMAND_START) => COMMAND_START.to_string(),
        None => {
            return Err(bad(format!(
                "the module has no `{COMMAND_START}` (it is not a WASI command): name the function to call with --export (it exports: {})",
                names()
            )));
        }
    };
    let func_type = |name: &str| -> Result<Option<wasmparser::FuncType>, BadInput> {
        let Some((_, kind, index)) = exports.iter().find(|(n, ..)| n == name) else { return Ok(None) };
        if *kind != ExternalKind::Func {
            return Err(bad(format!("export `{name}` is not a function")));
        }
        Ok(Some(types[types.as_ref().core_function_at(*index)].unwrap_func().clone()))
    };
    let Some(ty) = func_type(&export)? else {
        return Err(bad(format!("the module has no export `{export}` (it exports: {})", names())));
    };
    let (params, results, wanted): (&[ValType], &[ValType], &str) = if export == COMMAND_START {
        (&[], &[], "(func), a WASI command's entry point")
    } else {
        (&[ValType::I64], &[ValType::I64], "(func (param i64) (result i64))")
    };
    if ty.params() != params || ty.results() != results {
        return Err(bad(format!("export `{export}` has type {ty}, expected {wanted}")));
    }
    let health = match func_type(crate::wasm::HEALTH_EXPORT)? {
        None => false,
        Some(f) if f.params().is_empty() && f.results() == [ValType::I64] => true,
        Some(f) => {
            return Err(bad(format!("export `{}` has type {f}, expected (func (result i64))", crate::wasm::HEALTH_EXPORT)));
        }
    };
    if let Some(why) = crate::wasm::engine_refusal(&bytes) {
        return Err(bad(format!("the module cannot run: {why}")));
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Ok((PrebuiltModule { path, export, wasi, health, args }, bytes))
}

/// Checks a native program: an existing regular file this process may
/// execute, that the kernel would exec as the user native guests run as,
/// with these arguments (`exec_check`). A name without `/` that is not a
/// file here is looked up in `PATH`, as a shell would.
pub fn check_program(path: &Path, args: Vec<String>) -> Result<PrebuiltProgram, BadInput> {
    let bad = |problem: String| BadInput::in_file(path, problem);
    let found = if !path.as_os_str().as_encoded_bytes().contains(&b'/') && !path.exists() {
        std::env::var_os("PATH")
            .and_then(|dirs| std::env::split_paths(&dirs).map(|d| d.join(path)).find(|p| p.is_file()))
            .ok_or_else(|| bad("cannot run: no such file (nor a program of that name in PATH)".into()))?
    } else {
        path.to_path_buf()
    };
    let meta = std::fs::metadata(&found).map_err(|e| bad(format!("cannot run: {e}")))?;
    if meta.is_dir() {
        return Err(bad("cannot run: it is a directory, not a program".into()));
    }
    if !meta.is_file() {
        return Err(bad("cannot run: it is not a regular file".into()));
    }
    let c = std::ffi::CString::new(found.as_os_str().as_encoded_bytes()).map_err(|_| bad("a NUL byte in the path".into()))?;
    // SAFETY: access(2) with a NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return Err(bad(format!("cannot run: not executable ({})", std::io::Error::last_os_error())));
    }
    if let Some(a) = args.iter().find(|a| a.contains('\0')) {
        return Err(bad(format!("a NUL byte in the argument `{}`", a.escape_debug())));
    }
    // What exec would refuse, as the user guests run as; a prebuilt
    // program has no environment at all.
    let runner = crate::process::GuestIdentity::for_this_process().dropped_to();
    if let Some(why) = super::exec_check::problem(&found, &args, 0, runner) {
        return Err(bad(why));
    }
    let path = std::path::absolute(&found).unwrap_or(found);
    Ok(PrebuiltProgram { path, args })
}
