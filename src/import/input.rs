//! Reading a `|`-separated extraction line by line: header first, then each data line decoded
//! (UTF-8, or Windows-1252 as a fallback), with a progress bar and malformed lines reported as
//! `FILE:LINE: reason` and skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::error::ImportError;
use super::report::RejectReport;
use crate::extract::decode::{
    Encoding, LineGuard, MAX_LINE_BYTES, decode_line, strip_bom, trim_line_end,
};
use crate::extract::{FileError, Rejected, RowError};
use crate::progress::{Progress, Unit};

/// An extraction file whose header line has been read.
pub(crate) struct PipeInput {
    pub path: PathBuf,
    reader: BufReader<LineGuard<File>>,
    size: u64,
    header_len: u64,
    pub header: String,
    /// What the file should be, for error messages ("an RPPS ... extraction").
    expected: &'static str,
}

/// Counts of one pass over a file.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LineStats {
    pub rows_read: u64,
    pub windows_1252_lines: u64,
}

impl PipeInput {
    /// Opens `path` and reads its header line; fails when the file cannot be read, is empty, or
    /// its header is not text.
    pub fn open(path: &Path, expected: &'static str) -> Result<PipeInput, ImportError> {
        let read_error = |e| ImportError::File(FileError::io(path, e));
        let file = File::open(path).map_err(read_error)?;
        let size = file.metadata().map_err(read_error)?.len();
        let mut reader = BufReader::with_capacity(1 << 20, LineGuard::new(file, MAX_LINE_BYTES));
        let mut bytes = Vec::with_capacity(4096);
        let header_len = reader.read_until(b'\n', &mut bytes).map_err(read_error)? as u64;
        let mut input = PipeInput {
            path: path.to_path_buf(),
            reader,
            size,
            header_len,
            header: String::new(),
            expected,
        };
        if header_len == 0 {
            return Err(input.not_expected("the file is empty".into()));
        }
        input.header = decode_line(strip_bom(trim_line_end(&bytes)))
            .map_err(|e| input.not_expected(format!("its header is unreadable: {e}")))?
            .0
            .into_owned();
        Ok(input)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The error for a file that is not the expected extraction.
    pub fn not_expected(&self, detail: String) -> ImportError {
        ImportError::File(FileError::NotTheExpectedFormat {
            path: self.path.clone(),
            expected: self.expected,
            detail,
        })
    }

    /// Calls `on_line(line_number, text)` for each non-empty data line, under a progress bar
    /// named `label`. Undecodable lines, and lines `on_line` refuses with a [`RowError`], are
    /// reported and skipped; an [`ImportError`] from `on_line` stops the pass.
    pub fn for_each_line(
        self,
        label: &str,
        rejects: &RejectReport,
        mut on_line: impl FnMut(u64, &str) -> Result<Result<(), RowError>, ImportError>,
    ) -> Result<LineStats, ImportError> {
        let PipeInput {
            path,
            mut reader,
            size,
            header_len,
            ..
        } = self;
        let read_error = |e| ImportError::File(FileError::io(&path, e));
        let progress = Progress::new(label, size, Unit::Bytes);
        progress.inc(header_len);
        let mut stats = LineStats::default();
        let mut bytes = Vec::with_capacity(4096);
        let mut line_number = 1u64;
        loop {
            bytes.clear();
            let read = reader.read_until(b'\n', &mut bytes).map_err(read_error)?;
            if read == 0 {
                break;
            }
            progress.inc(read as u64);
            line_number += 1;
            let raw = trim_line_end(&bytes);
            if raw.is_empty() {
                continue;
            }
            stats.rows_read += 1;
            let outcome = match decode_line(raw) {
                Ok((text, encoding)) => {
                    if encoding == Encoding::Windows1252 {
                        stats.windows_1252_lines += 1;
                    }
                    on_line(line_number, &text)?
                }
                Err(reason) => Err(reason),
            };
            if let Err(reason) = outcome {
                let rejected = Rejected {
                    file: path.clone(),
                    line: line_number,
                    reason,
                };
                rejects.report(&rejected, Some(&progress));
            }
        }
        progress.finish();
        Ok(stats)
    }
}
