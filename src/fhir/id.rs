//! FHIR logical ids: `[A-Za-z0-9\-\.]{1,64}` (R4 §2.24.0.1, the `id` datatype). One type, so
//! that a value that is not an id cannot reach the store or a link: mapping builds ids, routing
//! and search parsing check what clients send, all through [`FhirId`].

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A valid FHIR logical id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FhirId(String);

/// Text that is not a FHIR id; its message says what an id is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid resource id (1 to 64 letters, digits, `-` or `.`)")]
pub struct InvalidId(pub String);

/// Longest id FHIR allows.
pub const MAX_LEN: usize = 64;

fn is_valid(text: &str) -> bool {
    (1..=MAX_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl FhirId {
    /// `text` as an id, if it is one.
    pub fn parse(text: &str) -> Result<FhirId, InvalidId> {
        if is_valid(text) {
            Ok(FhirId(text.to_owned()))
        } else {
            Err(InvalidId(text.to_owned()))
        }
    }

    /// `prefix` + a business identifier (`pp-` + an RPPS number): the identifier as is when
    /// the result is a valid id, otherwise `prefix` + `h` + [`short_hash`] of it, which is just
    /// as stable. `prefix` must itself be made of id characters.
    pub fn from_business_identifier(prefix: &str, value: &str) -> FhirId {
        let joined = format!("{prefix}{value}");
        if !value.is_empty() && is_valid(&joined) {
            FhirId(joined)
        } else {
            FhirId::hashed(&format!("{prefix}h"), value)
        }
    }

    /// `prefix` + the 32 hex digits of [`short_hash`] of `value`.
    pub fn hashed(prefix: &str, value: &str) -> FhirId {
        let id = format!("{prefix}{}", short_hash(value));
        debug_assert!(is_valid(&id), "prefix `{prefix}` makes an invalid id");
        FhirId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The first 16 bytes of the SHA-256 of `text`, in lower-case hex (32 digits).
pub fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl FromStr for FhirId {
    type Err = InvalidId;

    fn from_str(text: &str) -> Result<FhirId, InvalidId> {
        FhirId::parse(text)
    }
}

impl fmt::Display for FhirId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FhirId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for FhirId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for FhirId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for FhirId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for FhirId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_rule() {
        assert!(FhirId::parse("pp-819990000017-10").is_ok());
        assert!(FhirId::parse("eg-2A0000123").is_ok());
        assert!(FhirId::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            let error = FhirId::parse(bad).unwrap_err();
            assert!(
                error.to_string().contains("not a valid resource id"),
                "{bad}"
            );
        }
    }

    #[test]
    fn business_identifiers_that_do_not_fit_are_hashed() {
        assert_eq!(
            FhirId::from_business_identifier("st-", "C19990000017001").as_str(),
            "st-C19990000017001"
        );
        let odd = FhirId::from_business_identifier("st-", "C 123/4");
        assert!(odd.starts_with("st-h") && odd.len() == 4 + 32, "{odd}");
        assert_eq!(odd, FhirId::from_business_identifier("st-", "C 123/4"));
        let long = FhirId::from_business_identifier("pp-", &"1".repeat(62));
        assert!(long.starts_with("pp-h"), "{long}");
    }
}
