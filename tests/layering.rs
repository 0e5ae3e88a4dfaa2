//! The host's layers, held: every `crate::` path in `host/src` names a module
//! of the same layer or a lower one. The table is the one in `host/src/lib.rs`'s
//! docs; a module missing from it is an error too, so a new module is placed
//! deliberately.
//!
//! References are found textually (in `use` lines, grouped `use crate::{..}`
//! included, and in paths in code), comments skipped. `#[cfg(test)]` modules
//! are checked like the rest.

use std::path::{Path, PathBuf};

/// Module path prefix → layer, lowest first. The longest matching prefix
/// decides (`worker::client`, `worker::guard` and `worker::adapter` are layer 4, the rest of `worker` layer 2).
const LAYERS: &[(&str, u32, &str)] = &[
    ("outcome", 0, "vocabulary"),
    ("limits", 0, "vocabulary"),
    ("model", 0, "vocabulary"),
    ("registry", 0, "vocabulary"),
    ("error", 0, "vocabulary"),
    ("host_ops", 0, "vocabulary"),
    ("process", 0, "vocabulary"),
    ("trust", 0, "vocabulary"),
    ("protocol", 1, "protocol"),
    ("wasm", 2, "worker-side engines"),
    ("native", 2, "worker-side engines"),
    ("worker", 2, "worker-side engines"),
    ("scenario", 3, "catalog and classification"),
    ("classify", 3, "catalog and classification"),
    ("language", 3, "catalog and classification"),
    ("worker::client", 4, "worker client and supervisor"),
    ("worker::guard", 4, "worker client and supervisor"),
    ("worker::adapter", 4, "worker client and supervisor"),
    ("supervisor", 4, "worker client and supervisor"),
    ("commands", 5, "commands"),
    ("report", 6, "reports"),
    ("cli", 7, "cli"),
    ("main", 7, "cli"),
    ("lib", 7, "cli"),
];

fn layer_of(path: &str) -> Option<(u32, &'static str, &'static str)> {
    LAYERS
        .iter()
        .filter(|(prefix, ..)| path == *prefix || path.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, ..)| prefix.len())
        .map(|&(prefix, layer, name)| (layer, name, prefix))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `wasm/cycle.rs` → `wasm::cycle`; `worker/mod.rs` → `worker`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The text without `//` comments (doc comments included): a comment may
/// name any module.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut in_str = false;
            let b = line.as_bytes();
            for i in 0..b.len() {
                match b[i] {
                    b'"' if i == 0 || b[i - 1] != b'\\' => in_str = !in_str,
                    b'/' if !in_str && b.get(i + 1) == Some(&b'/') => return &line[..i],
                    _ => {}
                }
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_path(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(s.len());
    (s[..end].trim_end_matches(':'), &s[end..])
}

/// Every module path named after `crate::`, groups expanded one level
/// (`crate::worker::{client::Lost, WorkerKind}` → `worker::client::Lost`,
/// `worker::WorkerKind`).
fn references(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let (path, after) = ident_path(rest);
        if after.starts_with('{') || path.is_empty() && rest.starts_with('{') {
            let body = &after[1..];
            let mut depth = 0;
            let mut end = body.len();
            for (i, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in body[..end].chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            for item in items {
                let (sub, _) = ident_path(item.trim());
                let sub = sub.trim();
                if sub.is_empty() || sub == "self" {
                    if !path.is_empty() {
                        out.push(path.to_string());
                    }
                    continue;
                }
                out.push(if path.is_empty() { sub.to_string() } else { format!("{path}::{sub}") });
            }
        } else if !path.is_empty() {
            out.push(path.to_string());
        }
    }
    out
}

fn dependencies_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} files under {}", files.len(), src.display());

    let mut upward = Vec::new();
    let mut unplaced = std::collections::BTreeSet::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some((from, from_name, _)) = layer_of(&module) else {
            unplaced.insert(module.split("::").next().unwrap().to_string());
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for path in references(&code_only(&text)) {
            let Some((to, to_name, to_module)) = layer_of(&path) else {
                unplaced.insert(path.split("::").next().unwrap().to_string());
                continue;
            };
            if to > from && seen.insert(to_module) {
                upward.push(format!(
                    "{} -> {to_module} (layer {from} {from_name} -> layer {to} {to_name})",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty() && upward.is_empty(),
        "modules missing from the layer table: {unplaced:?}\n{} references to a higher layer:\n{}",
        upward.len(),
        upward.join("\n")
    );
}

fn references_are_found() {
    let code = "use crate::worker::{client::Lost, WorkerKind};\nlet x = crate::wasm::GUEST_WASM;\nuse crate::{outcome, model::M};";
    assert_eq!(
        references(code),
        ["worker::client::Lost", "worker::WorkerKind", "wasm::GUEST_WASM", "outcome", "model::M"]
    );
    assert_eq!(layer_of("worker::client::Lost").unwrap().0, 4);
    assert_eq!(layer_of("worker::WorkerKind").unwrap().0, 2);
    assert_eq!(code_only("a // crate::cli\n\"//\" crate::x"), "a \n\"//\" crate::x");
}

crate::trials!(
    dependencies_point_down_only,
    references_are_found,
);
