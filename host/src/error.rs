//! Bad input: what faultbox reports with exit code 2.

use std::fmt;
use std::path::{Path, PathBuf};

/// Input faultbox cannot use: a manifest, a module, a `.wast` file or the
/// command line. Displayed as one line, `file:line: problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub problem: String,
}

impl BadInput {
    pub fn new(problem: impl Into<String>) -> BadInput {
        BadInput { file: None, line: None, problem: problem.into() }
    }

    pub fn in_file(file: &Path, problem: impl Into<String>) -> BadInput {
        BadInput { file: Some(file.to_path_buf()), line: None, problem: problem.into() }
    }

    pub fn at_line(mut self, line: Option<usize>) -> BadInput {
        self.line = line;
        self
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            _ => {}
        }
        // One line, whatever the underlying parser printed.
        let problem = self.problem.split_whitespace().collect::<Vec<_>>().join(" ");
        f.write_str(&problem)
    }
}

impl std::error::Error for BadInput {}

/// 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
