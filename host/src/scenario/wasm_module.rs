//! Reading hand-written wasm guests (`.wat`) with errors that name the file
//! and line. Pure parsing: nothing here instantiates or runs a module.

use crate::error::BadInput;
pub use crate::wasm::wat::parse_wat;
use std::path::Path;
use wasmparser::{Parser, Payload, ValType, Validator, WasmFeatures};

/// The imports the wasm worker provides (module `fb`), with their types.
pub(super) const PROVIDED: &[(&str, &[ValType], &[ValType])] = &[
    ("progress", &[ValType::I64], &[]),
    ("panic_message", &[ValType::I32, ValType::I32], &[]),
    ("host_call", &[ValType::I32], &[ValType::I64]),
    ("write", &[ValType::I32, ValType::I32], &[]),
];

/// Checks that the module can be instantiated by the worker (it imports
/// only what the worker provides) and exports `name` as a function
/// `(i64) -> i64`.
pub(super) fn check_entry(path: &Path, bytes: &[u8], name: &str) -> Result<(), BadInput> {
    let types = Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| BadInput::in_file(path, format!("invalid module: {}", e.message())))?;
    let mut exports = Vec::new();
    let mut func_index = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::ExportSection(reader)) => {
                for export in reader.into_iter().flatten() {
                    exports.push((export.name.to_string(), export.kind, export.index));
                }
            }
            Ok(Payload::ImportSection(reader)) => {
                for import in reader.into_imports().flatten() {
                    let what = format!("{}.{}", import.module, import.name);
                    let cannot = |why: &str| {
                        BadInput::in_file(path, format!("the module cannot be instantiated: its import `{what}` {why}"))
                    };
                    let wasmparser::TypeRef::Func(_) = import.ty else {
                        return Err(cannot("is not a function; faultbox provides only functions from module `fb`"));
                    };
                    let ty = types[types.as_ref().core_function_at(func_index)].unwrap_func();
                    func_index += 1;
                    let provided = PROVIDED.iter().find(|(n, ..)| import.module == "fb" && *n == import.name);
                    match provided {
                        None => {
                            let names: Vec<String> = PROVIDED.iter().map(|(n, ..)| format!("fb.{n}")).collect();
                            return Err(cannot(&format!("is not provided (faultbox provides {})", names.join(", "))));
                        }
                        Some((_, params, results)) if ty.params() != *params || ty.results() != *results => {
                            return Err(cannot(&format!("has type {ty}, but faultbox provides another")));
                        }
                        Some(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    let Some((_, kind, index)) = exports.iter().find(|(n, ..)| n == name) else {
        let names: Vec<_> = exports.iter().map(|(n, ..)| n.as_str()).collect();
        return Err(BadInput::in_file(
            path,
            format!("the module has no export `{name}` (it exports: {})", names.join(", ")),
        ));
    };
    if *kind != wasmparser::ExternalKind::Func {
        return Err(BadInput::in_file(path, format!("export `{name}` is not a function")));
    }
    let func = types[types.as_ref().core_function_at(*index)].unwrap_func();
    if func.params() != [ValType::I64] || func.results() != [ValType::I64] {
        return Err(BadInput::in_file(
            path,
            format!("export `{name}` has type {func}, expected (func (param i64) (result i64))"),
        ));
    }
    // The health check is optional, but one of another type is a mistake
    // to say now, not a check reported as missing after every run.
    if let Some((_, kind, index)) = exports.iter().find(|(n, ..)| n == crate::wasm::HEALTH_EXPORT) {
        let health = (*kind == wasmparser::ExternalKind::Func)
            .then(|| types[types.as_ref().core_function_at(*index)].unwrap_func().clone());
        if !health.as_ref().is_some_and(|f| f.params().is_empty() && f.results() == [ValType::I64]) {
            let what = health.map_or_else(|| "is not a function".to_string(), |f| format!("has type {f}"));
            return Err(BadInput::in_file(
                path,
                format!("export `{}` {what}, expected (func (result i64))", crate::wasm::HEALTH_EXPORT),
            ));
        }
    }
    Ok(())
}

/// The names of a module's function exports (none for a module that does
/// not parse).
pub fn function_exports(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::ExportSection(reader)) = payload {
            names.extend(reader.into_iter().flatten().filter(|e| e.kind == wasmparser::ExternalKind::Func).map(|e| e.name.to_string()));
        }
    }
    names
}

/// The initial size of the module's memory, in bytes (0 without one).
pub fn initial_memory_bytes(bytes: &[u8]) -> u64 {
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::MemorySection(reader)) = payload {
            if let Some(Ok(memory)) = reader.into_iter().next() {
                let page = memory.page_size_log2.map_or(65536, |l| 1u64 << l);
                return memory.initial * page;
            }
        }
    }
    0
}
