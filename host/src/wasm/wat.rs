//! Reading hand-written wasm (`.wat`) to a validated binary module, with
//! errors that name the file and line. The worker reads a scenario's file
//! with this; the catalog checks it with the same function when it loads.

use crate::error::{BadInput, line_of};
use std::path::Path;
use wasmparser::{Validator, WasmFeatures};

/// Parses a `.wat` file to a validated binary module.
pub fn parse_wat(path: &Path) -> Result<Vec<u8>, BadInput> {
    let text = crate::error::read_input_text(path)?;
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

