//! Case and accent folding of the oracle, written from the FHIR R4 string-search rule ("case-
//! and accent-insensitive"), independently of the engine: Unicode canonical decomposition with
//! the combining marks dropped, the French ligatures expanded, typographic apostrophes made
//! plain, lower case, runs of white space collapsed to one space, trimmed.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            '\u{2019}' | '\u{2018}' | '\u{02BC}' => out.push('\''),
            _ => {
                for lower in c.to_lowercase() {
                    if !is_combining_mark(lower) {
                        out.push(lower);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds() {
        assert_eq!(fold("  LEFÈVRE  d’Œuvre "), "lefevre d'oeuvre");
        assert_eq!(fold("Jörg"), "jorg");
        assert_eq!(fold("E\u{301}LODIE"), "elodie");
    }
}
