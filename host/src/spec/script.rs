//! Reading a `.wast` script, with errors that name the file and line.

use crate::error::{BadInput, line_of};
use std::path::Path;
use wast::{QuoteWat, Wast, WastDirective, Wat};

/// Reads a script's text.
pub fn read(path: &Path) -> Result<String, BadInput> {
    std::fs::read_to_string(path).map_err(|e| BadInput::in_file(path, format!("cannot read: {e}")))
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

/// Checks that the script parses and uses only directives faultbox runs.
/// Threads, components and exception/suspension assertions are not
/// supported: a script that has them is rejected whole, with the line.
pub fn check(path: &Path) -> Result<(), BadInput> {
    let text = read(path)?;
    with_directives(path, &text, |directives| {
        for d in &directives {
            if let Some(what) = unsupported(d) {
                let line = line_of(&text, d.span().offset());
                return Err(BadInput::in_file(path, format!("unsupported directive: {what}")).at_line(Some(line)));
            }
        }
        Ok(())
    })?
}

/// Why faultbox cannot run this directive, if it cannot.
pub fn unsupported(d: &WastDirective<'_>) -> Option<&'static str> {
    let component = |q: &QuoteWat<'_>| matches!(q, QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..));
    match d {
        WastDirective::Thread(_) => Some("thread (shared-memory threads are not enabled)"),
        WastDirective::Wait { .. } => Some("wait (shared-memory threads are not enabled)"),
        WastDirective::AssertSuspension { .. } => Some("assert_suspension (stack switching is not enabled)"),
        WastDirective::AssertException { .. } => Some("assert_exception (exceptions are not enabled)"),
        WastDirective::Module(q) | WastDirective::ModuleDefinition(q) if component(q) => {
            Some("component (the component model is not enabled)")
        }
        _ => None,
    }
}
