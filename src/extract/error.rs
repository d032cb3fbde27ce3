//! What can be wrong with an extraction file: a line (skipped, reported with its place) or
//! the whole file (not imported).

use std::fmt;
use std::path::{Path, PathBuf};

/// A line past the limit, with its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is longer than {limit} bytes")]
pub struct LineTooLong {
    pub line: u64,
    pub limit: usize,
}

/// Why one line of an extraction file was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("expected {expected}, found {found}")]
    FieldCount { expected: String, found: usize },
    #[error("bytes that are neither UTF-8 nor Windows-1252 (byte 0x{byte:02X} at offset {offset})")]
    Undecodable { byte: u8, offset: usize },
    #[error("missing key `{0}`")]
    MissingKey(&'static str),
    /// A tag no FINESS file has; `expected` lists the tags of the file's kind.
    #[error("unknown record type `{tag}` (expected {expected})")]
    UnknownRecord { tag: String, expected: String },
    /// A record of another FINESS file's own kind (an `equipementsocial` line in the heavy
    /// equipment file): each file holds one kind.
    #[error("a `{tag}` record in a file of `{kind_tag}` records")]
    ForeignRecord { tag: String, kind_tag: &'static str },
    /// A second record with a key already seen; the first one wins.
    #[error("duplicate {what} {key}: first defined on line {first_line}")]
    Duplicate {
        what: &'static str,
        key: String,
        first_line: u64,
    },
    #[error("`{column}` is `{value}`, expected {expected}")]
    InvalidValue {
        column: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("malformed CSV: {0}")]
    Csv(String),
}

/// A skipped line, with where it was: rendered as `FILE:LINE: reason`.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub file: PathBuf,
    pub line: u64,
    pub reason: RowError,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// A file that cannot be imported at all: unreadable, or not the expected format.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not {expected}: {detail}")]
    NotTheExpectedFormat {
        path: PathBuf,
        expected: &'static str,
        detail: String,
    },
    /// A line longer than any real extraction's (a file without line ends, or not text).
    #[error(
        "{}:{line}: a line of more than {limit} bytes; no extraction has lines that long (is the file cut, without line ends, or not an extraction?)",
        path.display()
    )]
    LineTooLong {
        path: PathBuf,
        line: u64,
        limit: usize,
    },
}

impl FileError {
    /// An error reading `path`; a [`LineTooLong`] from a `decode::LineGuard` becomes
    /// [`FileError::LineTooLong`], naming the line.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        if let Some(long) = source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<LineTooLong>())
        {
            return FileError::LineTooLong {
                path: path.to_path_buf(),
                line: long.line,
                limit: long.limit,
            };
        }
        FileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
