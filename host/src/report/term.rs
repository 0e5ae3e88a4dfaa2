//! What the terminal allows: its width, whether it can draw box lines, and
//! the colour of each verdict. Tables always carry their colour codes;
//! [`print`] goes through anstream, which drops them unless colour is
//! wanted (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`, whether stdout is a
//! terminal).

use crate::outcome::Verdict;
use anstyle::{Ansi256Color, Style};
use std::io::{IsTerminal, Write};

/// How a table is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Columns available; `None` (`--wide`): as wide as the content, every
    /// column shown.
    pub width: Option<usize>,
    /// Plain ASCII rules instead of box-drawing characters.
    pub ascii: bool,
}

/// A pipe has no width; 80 keeps the output readable wherever it lands,
/// and `--wide` is there for whoever wants every column.
const PIPE_WIDTH: usize = 80;
/// Below this, wrapping makes a table worse rather than narrower.
const MIN_WIDTH: usize = 40;

impl Layout {
    pub fn wide(ascii: bool) -> Layout {
        Layout { width: None, ascii }
    }

    /// The layout for stdout: the terminal's width (else `$COLUMNS`, else
    /// 80), or everything with `wide`.
    pub fn for_stdout(wide: bool) -> Layout {
        let ascii = !box_drawing_ok();
        if wide {
            return Layout::wide(ascii);
        }
        let width = terminal_width()
            .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()))
            .unwrap_or(PIPE_WIDTH);
        Layout { width: Some(width.max(MIN_WIDTH)), ascii }
    }
}

fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    crate::commands::progress::width_of(libc::STDOUT_FILENO)
}


/// Box-drawing characters need a UTF-8 locale and a terminal that is not
/// `dumb`.
fn box_drawing_ok() -> bool {
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        return false;
    }
    // The first of these that is set decides, as in setlocale(3).
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    locale.contains("utf-8") || locale.contains("utf8")
}

/// The colour of a verdict: the HTML grid's, in the terminal's 256
/// colours.
pub fn verdict_style(v: Verdict) -> Style {
    let c = |n: u8| Style::new().fg_color(Some(Ansi256Color(n).into()));
    match v {
        Verdict::Ok => c(108),
        Verdict::Recovered => c(78).bold(),
        Verdict::Contained => c(142),
        Verdict::Failed => c(174).bold(),
        Verdict::Killed => c(214).bold(),
        Verdict::Crashed => c(203).bold(),
        Verdict::Undetected => c(141).bold(),
        Verdict::NotApplicable => c(245),
        Verdict::Skipped => c(245),
    }
}

/// `word` in `style`.
pub fn paint(style: Style, word: &str) -> String {
    format!("{style}{word}{style:#}")
}

/// The verdict word, coloured.
pub fn verdict(v: Verdict) -> String {
    paint(verdict_style(v), v.name())
}

/// The printed width of `s`: escape sequences take no room.
pub fn width(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-byte (@ to ~).
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// `--color`: sets whether [`print`] keeps the colour codes.
pub fn set_color(choice: anstream::ColorChoice) {
    choice.write_global();
}

/// Writes `text` to stdout, with its colour codes when colour is wanted.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = anstream::stdout();
    // Guest and manifest text must not drive the terminal.
    out.write_all(crate::process::escape_terminal(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_colour_faultbox_writes_passes_the_terminal_escaping() {
        let mut painted: Vec<String> = Verdict::ALL.iter().map(|v| verdict(*v)).collect();
        painted.push(paint(Style::new().bold(), "heading"));
        for text in painted {
            assert_eq!(crate::process::escape_terminal(&text), text.as_str(), "{text:?}");
        }
    }

    #[test]
    fn colour_codes_take_no_room() {
        assert_eq!(width(&verdict(Verdict::Recovered)), "recovered".len());
        assert_eq!(width("plain"), 5);
    }
}
