//! Index keys: what indexing writes and querying looks up, encoded in one place.
//!
//! A posting key is `<param code> 0x00 <kind> <term>`; its value is the bitmap of the
//! documents (per-type numbers, in id order) that have that term. Kinds:
//!
//! | kind | term | serves |
//! |---|---|---|
//! | `n` | folded string | string default (starts-with) and `:contains` |
//! | `p` | folded prefix of 1 to [`PREFIX_MAX`] characters | string default, short values: one lookup instead of a union over every term |
//! | `x` | string as is | string `:exact`; uri (whole, and a canonical's `url` before its `\|version`), `:below` |
//! | `v` | code 0x1F system (system empty when absent) | token `code`, `system\|code`, `\|code` |
//! | `y` | system | token `system\|` |
//! | `o` | value 0x1F type code 0x1F type system | token `:of-type` |
//! | `t` | folded text | token `:text` |
//! | `r` | `Type/id` | reference |
//! | `i` | value 0x1F system of `Reference.identifier` | reference `:identifier` |
//! | `d` | start and end, 8 bytes each | date |
//! | `!` | (empty) | `:missing`: the documents having any value (sorts first) |

use super::date::{self, Range};
use super::expr;
use super::fold::fold;
use super::params::{ParamType, SearchParam};
use crate::fhir::ResourceType;
use crate::fhir::node::Node;

pub const FOLDED: u8 = b'n';
pub const EXACT: u8 = b'x';
pub const PREFIX: u8 = b'p';
/// Longest prefix kept precomputed (`family=mar` is one bitmap).
pub const PREFIX_MAX: usize = 4;
pub const CODE: u8 = b'v';
pub const SYSTEM: u8 = b'y';
pub const OF_TYPE: u8 = b'o';
pub const TEXT: u8 = b't';
pub const REFERENCE: u8 = b'r';
pub const REFERENCE_IDENTIFIER: u8 = b'i';
pub const DATE: u8 = b'd';
pub const PRESENT: u8 = b'!';
/// Separates the parts of a composite term.
pub const UNIT: char = '\u{1f}';

/// The kind of terms `_sort` orders by for a parameter type (their key order is the value
/// order); `None`: not sortable.
pub fn sort_kind(param_type: &ParamType) -> Option<u8> {
    match param_type {
        ParamType::String => Some(FOLDED),
        ParamType::Date => Some(DATE),
        ParamType::Token => Some(CODE),
        ParamType::Reference { .. } | ParamType::Uri => None,
    }
}

/// The posting key of `kind` + `term` for a parameter.
pub fn key(param: &str, kind: u8, term: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(param.len() + 2 + term.len());
    key.extend_from_slice(param.as_bytes());
    key.push(0);
    key.push(kind);
    key.extend_from_slice(term.as_bytes());
    key
}

/// The term of a token: `code` 0x1F `system` (system empty when absent).
pub fn code_term(code: &str, system: &str) -> String {
    format!("{code}{UNIT}{system}")
}

/// What every [`code_term`] of `code` starts with, whatever its system.
pub fn code_term_prefix(code: &str) -> String {
    format!("{code}{UNIT}")
}

/// What every [`code_term`] with `system` ends with, whatever its code.
pub fn system_suffix(system: &str) -> String {
    format!("{UNIT}{system}")
}

/// The `:of-type` term of an identifier: value 0x1F type code 0x1F type system.
pub fn of_type_term(value: &str, type_code: &str, type_system: &str) -> String {
    format!("{value}{UNIT}{type_code}{UNIT}{type_system}")
}

/// The key of a date term.
pub fn date_key(param: &str, range: Range) -> Vec<u8> {
    let mut key = key(param, DATE, "");
    key.extend_from_slice(&encode_i64(range.start));
    key.extend_from_slice(&encode_i64(range.end));
    key
}

/// Decodes the range of a date key (`None` when it is not one).
pub fn decode_date_key(param: &str, key: &[u8]) -> Option<Range> {
    let rest = key.strip_prefix(self::key(param, DATE, "").as_slice())?;
    if rest.len() != 16 {
        return None;
    }
    Some(Range {
        start: decode_i64(&rest[..8]),
        end: decode_i64(&rest[8..]),
    })
}

/// Order-preserving encoding of a signed number.
fn encode_i64(n: i64) -> [u8; 8] {
    ((n as u64) ^ (1 << 63)).to_be_bytes()
}

fn decode_i64(bytes: &[u8]) -> i64 {
    (u64::from_be_bytes(bytes.try_into().expect("8 bytes")) ^ (1 << 63)) as i64
}

/// Appends to `out` the terms (`kind` byte + term) `resource` has for `param`, each once;
/// returns whether it has any (the [`PRESENT`] entry, which the caller records itself).
pub fn index_terms(
    param: &SearchParam,
    rtype: ResourceType,
    resource: &Node<'_>,
    out: &mut Vec<Vec<u8>>,
) -> bool {
    let start = out.len();
    let push = |out: &mut Vec<Vec<u8>>, kind: u8, term: &str| {
        let mut entry = Vec::with_capacity(1 + term.len());
        entry.push(kind);
        entry.extend_from_slice(term.as_bytes());
        out.push(entry);
    };
    for node in param.expression.evaluate(rtype.as_str(), resource) {
        match param.param_type {
            ParamType::String => {
                for s in expr::strings(node) {
                    push(out, FOLDED, &fold(s));
                    push(out, EXACT, s);
                }
            }
            ParamType::Token => {
                for token in expr::tokens(node) {
                    if let Some(code) = token.code {
                        push(out, CODE, &code_term(code, token.system.unwrap_or("")));
                        for (system, kind) in &token.types {
                            push(out, OF_TYPE, &of_type_term(code, kind, system));
                        }
                    }
                    if let Some(system) = token.system {
                        push(out, SYSTEM, system);
                    }
                    if let Some(text) = token.text {
                        push(out, TEXT, &fold(text));
                    }
                }
            }
            ParamType::Reference { .. } => {
                if let Some(reference) = expr::reference(node) {
                    push(out, REFERENCE, reference);
                }
                // R4 `:identifier` matches the reference's own identifier.
                if let Some(identifier) = node.get("identifier") {
                    for token in expr::tokens(identifier) {
                        if let Some(value) = token.code {
                            let system = token.system.unwrap_or("");
                            push(out, REFERENCE_IDENTIFIER, &code_term(value, system));
                        }
                    }
                }
            }
            ParamType::Uri => {
                if let Some(uri) = node.as_str() {
                    for term in uri_terms(uri) {
                        push(out, EXACT, term);
                    }
                }
            }
            ParamType::Date => {
                if let Some(range) = node.as_str().and_then(|s| date::parse(s).ok()) {
                    let mut entry = vec![DATE];
                    entry.extend_from_slice(&encode_i64(range.start));
                    entry.extend_from_slice(&encode_i64(range.end));
                    out.push(entry);
                }
            }
        }
    }
    let mut terms = out.split_off(start);
    terms.sort();
    terms.dedup();
    let present = !terms.is_empty();
    out.extend(terms);
    present
}

/// The terms of a uri: the uri as is and, for a versioned canonical (`url|version`), the `url`
/// alone, so that `_profile=<url>` finds the resources claiming any version of it (as R4
/// search treats canonical references: without a version, every version matches).
pub fn uri_terms(uri: &str) -> impl Iterator<Item = &str> {
    let unversioned = uri.split_once('|').map(|(url, _)| url);
    std::iter::once(uri).chain(unversioned)
}

/// The prefixes of a folded term that get a precomputed bitmap: 1 to [`PREFIX_MAX`]
/// characters.
pub fn short_prefixes(term: &str) -> impl Iterator<Item = &str> {
    term.char_indices()
        .skip(1)
        .map(|(i, _)| i)
        .chain(std::iter::once(term.len()))
        .take(PREFIX_MAX)
        .map(move |end| &term[..end])
}

/// The trigrams of a folded term, for the `:contains` dictionary.
pub fn trigrams(term: &str) -> Vec<&str> {
    let starts: Vec<usize> = term
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(term.len()))
        .collect();
    let mut out: Vec<&str> = starts.windows(4).map(|w| &term[w[0]..w[3]]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::params::Registry;
    use serde_json::json;

    fn terms_of(rtype: ResourceType, code: &str, resource: &serde_json::Value) -> Vec<String> {
        let param = Registry::get().find(rtype, code).unwrap();
        let mut out = Vec::new();
        let text = resource.to_string();
        let resource = Node::parse(text.as_bytes()).unwrap();
        let present = index_terms(param, rtype, &resource, &mut out);
        assert_eq!(present, !out.is_empty());
        out.into_iter()
            .map(|t| String::from_utf8_lossy(&t).replace(UNIT, "|"))
            .collect()
    }

    #[test]
    fn string_terms_are_folded_and_exact() {
        let p = json!({"resourceType": "Practitioner", "name": [{"family": "LEFÈVRE", "given": ["Aïcha"]}]});
        assert_eq!(
            terms_of(ResourceType::Practitioner, "family", &p),
            ["nlefevre", "xLEFÈVRE"]
        );
        assert_eq!(
            terms_of(ResourceType::Practitioner, "name", &p),
            ["naicha", "nlefevre", "xAïcha", "xLEFÈVRE"]
        );
    }

    #[test]
    fn token_terms() {
        let p = json!({"resourceType": "Practitioner", "identifier": [
            {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "81", "type": {"coding": [{"system": "T", "code": "IDNPS"}]}}]});
        assert_eq!(
            terms_of(ResourceType::Practitioner, "identifier", &p),
            [
                "o81|IDNPS|T",
                "v81|urn:oid:1.2.250.1.71.4.2.1",
                "yurn:oid:1.2.250.1.71.4.2.1"
            ]
        );
        let p = json!({"resourceType": "Practitioner", "active": true});
        assert_eq!(
            terms_of(ResourceType::Practitioner, "active", &p),
            ["vtrue|"]
        );
    }

    #[test]
    fn uri_terms_are_the_canonical_with_and_without_its_version() {
        let claim = "https://x.fr/StructureDefinition/as-device|1.2.0";
        let d = json!({"resourceType": "Device", "meta": {"profile": [claim]}});
        assert_eq!(
            terms_of(ResourceType::Device, "_profile", &d),
            [
                "xhttps://x.fr/StructureDefinition/as-device",
                format!("x{claim}").as_str()
            ]
        );
        let d = json!({"resourceType": "Device", "meta": {"profile": ["urn:a"]}});
        assert_eq!(terms_of(ResourceType::Device, "_profile", &d), ["xurn:a"]);
    }

    #[test]
    fn absent_values_have_no_presence_term() {
        let p = json!({"resourceType": "Practitioner"});
        assert!(terms_of(ResourceType::Practitioner, "family", &p).is_empty());
    }

    #[test]
    fn date_keys_sort_by_time() {
        let early = date_key("_lastUpdated", Range { start: -5, end: 10 });
        let late = date_key("_lastUpdated", Range { start: 3, end: 4 });
        assert!(early < late);
        assert_eq!(
            decode_date_key("_lastUpdated", &late),
            Some(Range { start: 3, end: 4 })
        );
    }

    #[test]
    fn prefixes_of_terms() {
        assert_eq!(
            short_prefixes("lefèvre").collect::<Vec<_>>(),
            ["l", "le", "lef", "lefè"]
        );
        assert_eq!(short_prefixes("dr").collect::<Vec<_>>(), ["d", "dr"]);
    }

    #[test]
    fn trigrams_of_terms() {
        assert_eq!(trigrams("lefevre"), ["efe", "evr", "fev", "lef", "vre"]);
        assert!(trigrams("le").is_empty());
    }
}
