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

/// Line numbers of offsets met in increasing order, as a script's
/// directives are: each byte of the text is scanned once over the whole
/// walk. Counting from the start for every directive made a run quadratic
/// in the script's length (60,000 directives: 30 s, nearly all of it
/// counting newlines).
pub struct Lines<'t> {
    text: &'t str,
    /// The last offset asked for (clamped to the text), and its line.
    offset: usize,
    line: usize,
    /// Bytes scanned so far, for the test that holds the walk linear.
    scanned: usize,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Lines<'t> {
        Lines { text, offset: 0, line: 1, scanned: 0 }
    }

    /// The 1-based line of `offset`, as [`line_of`] counts it. An offset
    /// behind the last one starts over from the top (never the case for
    /// a script's directives, and still right).
    pub fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            *self = Lines { scanned: self.scanned, ..Lines::new(self.text) };
        }
        let between = &self.text.as_bytes()[self.offset..offset];
        self.line += between.iter().filter(|&&b| b == b'\n').count();
        self.scanned += between.len();
        self.offset = offset;
        self.line
    }

    /// How many bytes of the text all the calls so far have scanned.
    pub fn scanned(&self) -> usize {
        self.scanned
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every offset gets the line `line_of` gives it, in order or not, and
    /// offsets in increasing order scan the text once in all.
    #[test]
    fn lines_match_line_of_and_scan_once() {
        let text = "(module)\n\n(assert_return (invoke \"f\"))\n;; é\n(invoke \"g\")";
        let cases: [&[usize]; 4] = [&[0, 9, 10, 11, 40, text.len()], &[5, 5, 5], &[30, 3, 45], &[text.len() + 10, 2]];
        for offsets in cases {
            let mut lines = Lines::new(text);
            for &o in offsets {
                assert_eq!(lines.at(o), line_of(text, o), "offset {o} of {offsets:?}");
            }
        }
        let long = "(assert_return (invoke \"f\" (i32.const 1)) (i32.const 1))\n".repeat(10_000);
        let mut lines = Lines::new(&long);
        for (i, (o, _)) in long.match_indices('(').enumerate() {
            assert_eq!(lines.at(o), i / 4 + 1);
        }
        assert!(lines.scanned() <= long.len(), "{} bytes scanned of {}", lines.scanned(), long.len());
    }
}
