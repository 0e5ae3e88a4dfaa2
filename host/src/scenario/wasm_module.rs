//! Reading hand-written wasm guests (`.wat`) with errors that name the file
//! and line. Pure parsing: nothing here instantiates or runs a module.

use crate::error::{BadInput, line_of};
use std::path::Path;
use wasmparser::{Parser, Payload, ValType, Validator, WasmFeatures};

/// Parses a `.wat` file to a validated binary module.
pub fn parse_wat(path: &Path) -> Result<Vec<u8>, BadInput> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput::in_file(path, format!("cannot read wasm text: {e}")))?;
    let buf = wast::parser::ParseBuffer::new(&text).map_err(|e| wast_error(path, &text, e))?;
    let mut wat: wast::Wat = wast::parser::parse(&buf).map_err(|e| wast_error(path, &text, e))?;
    let bytes = wat.encode().map_err(|e| wast_error(path, &text, e))?;
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(&bytes)
        .map_err(|e| BadInput::in_file(path, format!("invalid module: {}", e.message())))?;
    Ok(bytes)
}

fn wast_error(path: &Path, text: &str, e: wast::Error) -> BadInput {
    BadInput::in_file(path, e.message()).at_line(Some(line_of(text, e.span().offset())))
}

/// Checks that the module exports `name` as a function `(i64) -> i64`.
pub(super) fn check_entry(path: &Path, bytes: &[u8], name: &str) -> Result<(), BadInput> {
    let types = Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| BadInput::in_file(path, format!("invalid module: {}", e.message())))?;
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::ExportSection(reader)) = payload {
            for export in reader.into_iter().flatten() {
                exports.push((export.name.to_string(), export.kind, export.index));
            }
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
    Ok(())
}
