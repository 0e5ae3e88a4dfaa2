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

/// The most faultbox reads of any one input file (manifest, `.wat`,
/// `.wast`, saved module): far above any real one, far below what a
/// device like `/dev/zero` would feed it.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Reads an input file once, whole: only a regular file (a FIFO, a device
/// or `/dev/stdin` would block or never end), of at most
/// [`MAX_INPUT_BYTES`]. Every problem is one line naming the file.
pub fn read_input(path: &Path) -> Result<Vec<u8>, BadInput> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let bad = |problem: String| BadInput::in_file(path, problem);
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer before the type check below could refuse it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let meta = file.metadata().map_err(|e| bad(format!("cannot read: {e}")))?;
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "a special file"
        };
        return Err(bad(format!("cannot read: it is {what}, not a regular file")));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(bad(format!("cannot read: {} bytes is more than the {MAX_INPUT_BYTES} faultbox reads", meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(bad(format!("cannot read: it grew past the {MAX_INPUT_BYTES} bytes faultbox reads")));
    }
    Ok(bytes)
}

/// [`read_input`] for text.
pub fn read_input_text(path: &Path) -> Result<String, BadInput> {
    String::from_utf8(read_input(path)?).map_err(|e| {
        BadInput::in_file(path, format!("cannot read: not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })
}
