//! The one normalization used by string indexing and string querying: FHIR string search is
//! "case-insensitive and accent-insensitive" (R4 §3.1.1.5.5), so `lefevre` finds `LEFÈVRE`.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower case, without accents, ligatures expanded, typographic apostrophes made plain, runs of
/// white space collapsed to one space, trimmed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            '’' | 'ʼ' | '‘' | '`' => out.push('\''),
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_and_ligatures() {
        assert_eq!(fold("LEFÈVRE"), "lefevre");
        assert_eq!(fold("Aïcha"), "aicha");
        assert_eq!(fold("Œuvre DE LA TOUR"), "oeuvre de la tour");
        assert_eq!(fold("Côte-d’Or"), "cote-d'or");
        assert_eq!(fold("  O'NEIL   Jean  "), "o'neil jean");
        assert_eq!(fold("ÉÈÊËÇÀÙÎÏÔÖ"), "eeeecauiioo");
    }

    #[test]
    fn folding_is_idempotent() {
        for s in ["LEFÈVRE", "Côte-d’Or", "ﬁlle", "straße"] {
            assert_eq!(fold(&fold(s)), fold(s));
        }
    }
}
