//! Text decoding of extraction lines: UTF-8, with a strict Windows-1252 fallback.
//!
//! Recent files are UTF-8; older ones (and some re-published copies) are Windows-1252. The
//! decision is made per line so a file concatenated from both still imports. A line that is
//! neither (it holds one of the five bytes Windows-1252 leaves undefined) is rejected rather than
//! guessed.

use std::borrow::Cow;

use super::RowError;

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
