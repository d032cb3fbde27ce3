//! What Pro Santé Connect says of a professional (`SubjectNameID`, `SubjectRole`,
//! `SubjectRefPro`), read from an ID token's and userinfo's claims. See plan D7–D8 (#28).

/// The claims of a signed-in professional, typed (package C fills it in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PscClaims {
    /// `SubjectNameID`: the national identifier (`8` + RPPS).
    pub national_id: Option<String>,
}
