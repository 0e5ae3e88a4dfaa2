//! Reading a `.wast` script, with errors that name the file and line.

use crate::error::{BadInput, line_of};
use std::path::Path;
use wast::{QuoteWat, Wast, WastDirective, Wat};

/// Reads a script's text.
pub fn read(path: &Path) -> Result<String, BadInput> {
    crate::error::read_input_text(path)
}

/// Parses `text` and calls `f` with the directives.
pub fn with_directives<R>(
    path: &Path,
    text: &str,
    f: impl FnOnce(Vec<WastDirective<'_>>) -> R,
) -> Result<R, BadInput> {
    let buf = wast::parser::ParseBuffer::new(text).map_err(|e| parse_error(path, text, e))?;
    let script: Wast<'_> = wast::parser::parse(&buf).map_err(|e| parse_error(path, text, e))?;
    Ok(f(script.directives))
}

fn parse_error(path: &Path, text: &str, e: wast::Error) -> BadInput {
    BadInput::in_file(path, format!("cannot parse: {}", e.message())).at_line(Some(line_of(text, e.span().offset())))
}

/// Checks that the script parses: the one thing that stops a run before it
/// starts. Directives faultbox cannot run are reported as skipped when the
/// script runs ([`unsupported`]), never rejected.
pub fn check(path: &Path) -> Result<String, BadInput> {
    let text = read(path)?;
    with_directives(path, &text, |_| ())?;
    Ok(text)
}

/// What a directive needs that no engine faultbox embeds offers in its
/// build: each engine words the reason ([`super::SpecEngine::beyond`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beyond {
    /// `thread`, `wait`: shared-memory threads.
    Threads,
    /// `assert_suspension`: stack switching.
    StackSwitching,
    /// A component, not a core module.
    Component,
    /// `assert_invalid_custom`, `assert_malformed_custom`: assertions about
    /// the contents of custom sections.
    CustomSection,
}

/// What this directive needs that faultbox cannot run, if anything, and
/// the word its skip reason starts with.
pub fn unsupported(d: &WastDirective<'_>) -> Option<(&'static str, Beyond)> {
    let component = |q: &QuoteWat<'_>| matches!(q, QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..));
    match d {
        WastDirective::Thread(_) => Some(("thread", Beyond::Threads)),
        WastDirective::Wait { .. } => Some(("wait", Beyond::Threads)),
        WastDirective::AssertSuspension { .. } => Some(("assert_suspension", Beyond::StackSwitching)),
        WastDirective::Module(q)
        | WastDirective::ModuleDefinition(q)
        | WastDirective::AssertInvalid { module: q, .. }
        | WastDirective::AssertMalformed { module: q, .. }
            if component(q) =>
        {
            Some(("component", Beyond::Component))
        }
        WastDirective::AssertUnlinkable { module: Wat::Component(_), .. } => Some(("component", Beyond::Component)),
        WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => {
            Some(("custom-section assertion", Beyond::CustomSection))
        }
        _ => None,
    }
}

/// The directive's name, as written in scripts.
pub fn kind(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

/// The Wasm 3.0 proposals a script is about: those that more than half of
/// its valid modules use, as far as validation tells (for each module that
/// Wasm 2.0 rejects, the first proposal that alone makes it validate;
/// several when none alone does). Empty: a Wasm 2.0 script, even when a
/// few of its modules reach beyond (the spec's `data.wast` has an
/// extended-const module among dozens). The spec agreement table groups
/// scripts by these.
pub fn proposals(path: &Path, text: &str) -> Result<Vec<crate::registry::Proposal>, BadInput> {
    use crate::registry::Proposal;
    use wasmparser::{Validator, WasmFeatures};
    with_directives(path, text, |directives| {
        let mut used: Vec<(Proposal, usize)> = Vec::new();
        let mut modules = 0;
        for d in directives {
            let (WastDirective::Module(mut q) | WastDirective::ModuleDefinition(mut q)) = d else { continue };
            let Ok(bytes) = q.encode() else { continue };
            modules += 1;
            let valid = |f: WasmFeatures| Validator::new_with_features(f).validate_all(&bytes).is_ok();
            if valid(WasmFeatures::WASM2) {
                continue;
            }
            let alone: Vec<Proposal> =
                Proposal::ALL.into_iter().filter(|p| valid(WasmFeatures::WASM2 | crate::wasm::proposal_features(*p))).take(1).collect();
            let needed = if alone.is_empty() {
                // Needs several at once: each whose removal from all of
                // them breaks it.
                let all = Proposal::ALL.iter().fold(WasmFeatures::WASM2, |f, p| f | crate::wasm::proposal_features(*p));
                Proposal::ALL.into_iter().filter(|p| !valid(all.difference(crate::wasm::proposal_features(*p)))).collect()
            } else {
                alone
            };
            for p in needed {
                match used.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, n)) => *n += 1,
                    None => used.push((p, 1)),
                }
            }
        }
        let mut most: Vec<Proposal> = used.into_iter().filter(|(_, n)| 2 * n > modules).map(|(p, _)| p).collect();
        most.sort();
        most
    })
}
