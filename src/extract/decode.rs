//! Text decoding of extraction lines: UTF-8, with a strict Windows-1252 fallback.
//!
//! Recent files are UTF-8; older ones (and some re-published copies) are Windows-1252. The
//! decision is made per line so a file concatenated from both still imports. A line that is
//! neither (it holds one of the five bytes Windows-1252 leaves undefined) is rejected rather than
//! guessed.

use std::borrow::Cow;
use std::io::Read;

use super::error::{LineTooLong, RowError};

/// The longest line an extraction may have: real lines are under 2 KB (RPPS ~600 bytes); a
/// "line" longer than this is a file without line ends (CR-only, one giant header) or not text,
/// and reading it whole would take the memory of the file.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Reads through to `inner`, failing (with [`LineTooLong`] inside the `io::Error`) as soon as a
/// line grows past `limit` bytes: the readers built on it (line by line, CSV) never buffer more
/// than one bounded line.
pub struct LineGuard<R> {
    inner: R,
    limit: usize,
    /// Bytes since the last line end.
    current: usize,
    /// 1-based number of the line being read.
    line: u64,
}

impl<R: Read> LineGuard<R> {
    pub fn new(inner: R, limit: usize) -> LineGuard<R> {
        LineGuard {
            inner,
            limit,
            current: 0,
            line: 1,
        }
    }
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        for byte in &buf[..read] {
            if *byte == b'\n' {
                self.current = 0;
                self.line += 1;
            } else {
                self.current += 1;
                if self.current > self.limit {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        LineTooLong {
                            line: self.line,
                            limit: self.limit,
                        },
                    ));
                }
            }
        }
        Ok(read)
    }
}

/// Bytes that Windows-1252 does not define. encoding_rs maps them to C1 controls (WHATWG
/// rules); a real Windows-1252 file never contains them, so their presence means "not text we
/// know".
const CP1252_UNDEFINED: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

/// How a line was decoded, so the import can tell the operator how many lines needed the
/// fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1252,
}

/// Decodes one line (without its line terminator).
pub fn decode_line(bytes: &[u8]) -> Result<(Cow<'_, str>, Encoding), RowError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((Cow::Borrowed(text), Encoding::Utf8)),
        Err(_) => {
            if let Some(offset) = bytes.iter().position(|b| CP1252_UNDEFINED.contains(b)) {
                return Err(RowError::Undecodable {
                    byte: bytes[offset],
                    offset,
                });
            }
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Ok((text, Encoding::Windows1252))
        }
    }
}

/// Strips the line terminator (`\n` or `\r\n`) from a line read with `read_until(b'\n')`.
pub fn trim_line_end(mut line: &[u8]) -> &[u8] {
    if let Some(rest) = line.strip_suffix(b"\n") {
        line = rest;
    }
    if let Some(rest) = line.strip_suffix(b"\r") {
        line = rest;
    }
    line
}

/// Strips a UTF-8 byte-order mark, which some re-published copies add.
pub fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_taken_as_is() {
        let (text, enc) = decode_line("LEFÈVRE|Aïcha".as_bytes()).unwrap();
        assert_eq!(text, "LEFÈVRE|Aïcha");
        assert_eq!(enc, Encoding::Utf8);
    }

    #[test]
    fn windows_1252_falls_back() {
        // "LEFÈVRE" and "Côte-d'Or" in Windows-1252.
        let (text, enc) = decode_line(b"LEF\xC8VRE|C\xF4te-d'Or|\x80").unwrap();
        assert_eq!(text, "LEFÈVRE|Côte-d'Or|€");
        assert_eq!(enc, Encoding::Windows1252);
    }

    #[test]
    fn undefined_bytes_are_rejected() {
        // Invalid UTF-8 (a lead byte without its continuation), and 0x81 is undefined in CP1252.
        let err = decode_line(b"AB\xE9\x81Z").unwrap_err();
        assert_eq!(
            err,
            RowError::Undecodable {
                byte: 0x81,
                offset: 3
            }
        );
    }

    #[test]
    fn line_ends_and_bom() {
        assert_eq!(trim_line_end(b"a|b|\r\n"), b"a|b|");
        assert_eq!(trim_line_end(b"a|b|\n"), b"a|b|");
        assert_eq!(trim_line_end(b"a|b|"), b"a|b|");
        assert_eq!(strip_bom(b"\xEF\xBB\xBFType"), b"Type");
    }
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn lines_past_the_limit_stop_the_read_naming_the_line() {
        let text = b"short\nalso short\nthis one is far too long\nnever read\n";
        let mut guarded = LineGuard::new(&text[..], 12);
        let mut out = Vec::new();
        let error = guarded.read_to_end(&mut out).unwrap_err();
        let long = error
            .get_ref()
            .unwrap()
            .downcast_ref::<LineTooLong>()
            .unwrap();
        assert_eq!(long.line, 3);
        let mut fine = LineGuard::new(&b"a\nbc\n"[..], 2);
        let mut all = Vec::new();
        fine.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"a\nbc\n");
    }
}
