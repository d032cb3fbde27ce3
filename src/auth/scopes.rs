//! SMART on FHIR scopes, v1 (`system/Practitioner.read`) and v2 (`system/Organization.rs`)
//! syntax, turned into what a caller may do with each resource type this server serves.
//!
//! Only `user/` and `system/` scopes grant anything: `patient/` scopes are limited to a
//! patient's compartment, which holds none of the directory's types. A v2 scope with a query
//! (`system/Practitioner.rs?active=true`) is not granted at all, because this server cannot
//! enforce the restriction it carries; refusing is the safe reading.
//!
//! A scope string is split on the space character (U+0020) only, as OAuth 2.0 defines it
//! (RFC 6749 §3.3); each scope-token is `1*( %x21 / %x23-5B / %x5D-7E )`. A token holding
//! anything else (a no-break space, a tab, any other Unicode space or control character) is
//! not a scope at all and grants nothing: splitting it at that character, as a Unicode-aware
//! split would, let `system/Practitioner.read<NBSP>annuaire/restricted` unlock restricted
//! elements that no authorization server had granted as a scope of their own.

use crate::fhir::ResourceType;

/// What one caller may do with each served type, plus the extra scope for restricted elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    read: [bool; ResourceType::ALL.len()],
    search: [bool; ResourceType::ALL.len()],
    /// Holds the scope that unlocks restricted elements.
    pub restricted: bool,
    /// Holds [`METRICS_SCOPE`]: may read `/metrics` on the main listener.
    pub metrics: bool,
}

/// The scope that lets a caller read `/metrics` on the main listener (an operator's
/// credential, not a directory client's).
pub const METRICS_SCOPE: &str = "annuaire/metrics";

impl Permissions {
    /// Everything: an open server, with no access control configured.
    pub fn all() -> Permissions {
        Permissions {
            read: [true; ResourceType::ALL.len()],
            search: [true; ResourceType::ALL.len()],
            restricted: true,
            metrics: true,
        }
    }

    /// The permissions that `scopes` grant; `restricted_scope` is the configured extra scope.
    /// A string that is not a scope-token ([`is_scope_token`]) grants nothing.
    pub fn from_scopes<'a>(
        scopes: impl IntoIterator<Item = &'a str>,
        restricted_scope: Option<&str>,
    ) -> Permissions {
        let mut permissions = Permissions::default();
        for scope in scopes.into_iter().filter(|s| is_scope_token(s)) {
            if restricted_scope == Some(scope) {
                permissions.restricted = true;
            }
            if scope == METRICS_SCOPE {
                permissions.metrics = true;
            }
            if let Ok(Some(grant)) = Grant::parse(scope) {
                permissions.apply(&grant);
            }
        }
        permissions
    }

    fn apply(&mut self, grant: &Grant) {
        for rtype in ResourceType::ALL {
            if grant.rtype.is_none_or(|t| t == rtype) {
                self.read[rtype as usize] |= grant.read;
                self.search[rtype as usize] |= grant.search;
            }
        }
    }

    pub fn may_read(&self, rtype: ResourceType) -> bool {
        self.read[rtype as usize]
    }

    pub fn may_search(&self, rtype: ResourceType) -> bool {
        self.search[rtype as usize]
    }
}

/// The scopes of an OAuth `scope` string: split on U+0020 only (RFC 6749 §3.3), empty pieces
/// (two spaces in a row) dropped. Other whitespace stays inside its piece, which
/// [`is_scope_token`] then refuses.
pub fn split_scope_string(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|scope| !scope.is_empty())
}

/// Whether `scope` is an RFC 6749 §3.3 scope-token: one or more of `!`, `#`-`[`, `]`-`~`
/// (printable ASCII but space, `"` and `\`).
pub fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// A scope that grants something on the directory's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `None` for `*`.
    rtype: Option<ResourceType>,
    read: bool,
    search: bool,
}

/// Why a scope string is not a resource scope this server understands. Only configuration
/// checks report it (a token may carry scopes meant for other servers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("`{0}` is not a SMART resource scope (context/Type.permissions)")]
    Syntax(String),
    #[error(
        "`{0}` is not an OAuth scope: printable ASCII only, without spaces, `\"` or `\\` (RFC 6749 §3.3)"
    )]
    Characters(String),
    #[error(
        "`{0}`: permissions must be `read`, `write`, `*` (SMART v1) or letters of `cruds` in that order (SMART v2)"
    )]
    Permissions(String),
}

impl Grant {
    /// `Ok(None)`: a well-formed scope that grants nothing here (another type, `patient/`,
    /// write-only, a v2 query restriction).
    pub fn parse(scope: &str) -> Result<Option<Grant>, ScopeError> {
        if !is_scope_token(scope) {
            return Err(ScopeError::Characters(scope.escape_debug().to_string()));
        }
        let syntax = || ScopeError::Syntax(scope.to_owned());
        let (context, rest) = scope.split_once('/').ok_or_else(syntax)?;
        let (type_name, permissions) = rest.split_once('.').ok_or_else(syntax)?;
        if !matches!(context, "patient" | "user" | "system") || type_name.is_empty() {
            return Err(syntax());
        }
        let (permissions, query) = match permissions.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (permissions, None),
        };
        let (read, search) = parse_permissions(permissions)
            .ok_or_else(|| ScopeError::Permissions(scope.to_owned()))?;
        if context == "patient" || query.is_some() || !(read || search) {
            return Ok(None);
        }
        let rtype = match type_name {
            "*" => None,
            name => match name.parse::<ResourceType>() {
                Ok(rtype) => Some(rtype),
                Err(_) => return Ok(None),
            },
        };
        Ok(Some(Grant {
            rtype,
            read,
            search,
        }))
    }
}

/// `(read, search)` from v1 `read`/`write`/`*` or v2 `cruds` letters.
fn parse_permissions(text: &str) -> Option<(bool, bool)> {
    match text {
        "read" | "*" => return Some((true, true)),
        "write" => return Some((false, false)),
        _ => {}
    }
    // v2: a non-empty subsequence of "cruds".
    let mut order = "cruds".chars();
    for letter in text.chars() {
        order.find(|c| *c == letter)?;
    }
    (!text.is_empty()).then(|| (text.contains('r'), text.contains('s')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::*;

    fn perms(scopes: &str) -> Permissions {
        Permissions::from_scopes(split_scope_string(scopes), Some("annuaire/restricted"))
    }

    #[test]
    fn v1_read_grants_read_and_search_of_one_type() {
        let p = perms("system/Practitioner.read");
        assert!(p.may_read(Practitioner) && p.may_search(Practitioner));
        assert!(!p.may_read(Organization) && !p.may_search(PractitionerRole));
        assert!(!p.restricted);
    }

    /// The FINESS service types are scoped like the first three, each on its own.
    #[test]
    fn the_finess_service_types_have_their_own_scopes() {
        let p = perms("system/Device.read");
        assert!(p.may_read(ResourceType::Device) && p.may_search(ResourceType::Device));
        assert!(!p.may_read(ResourceType::HealthcareService));
        assert!(!p.may_read(Organization));
        let p = perms("system/HealthcareService.r");
        assert!(p.may_read(ResourceType::HealthcareService));
        assert!(!p.may_search(ResourceType::HealthcareService));
        assert!(!p.may_read(ResourceType::Device));
    }

    #[test]
    fn v2_letters_are_separate() {
        let p = perms("system/Organization.s user/Practitioner.r");
        assert!(p.may_search(Organization) && !p.may_read(Organization));
        assert!(p.may_read(Practitioner) && !p.may_search(Practitioner));
        let p = perms("user/*.rs");
        assert!(
            ResourceType::ALL
                .iter()
                .all(|t| p.may_read(*t) && p.may_search(*t))
        );
    }

    #[test]
    fn wildcards_and_v1_star() {
        let p = perms("user/*.read");
        assert!(ResourceType::ALL.iter().all(|t| p.may_read(*t)));
        let p = perms("system/PractitionerRole.*");
        assert!(p.may_read(PractitionerRole) && !p.may_read(Practitioner));
    }

    #[test]
    fn scopes_that_grant_nothing_here() {
        for scope in [
            "patient/Practitioner.read",
            "system/Practitioner.write",
            "system/Practitioner.cud",
            "system/Patient.read",
            "system/Practitioner.rs?active=true",
            "openid",
            "fhirUser",
            "system/Practitioner.sr",
            "system/Practitioner.rr",
            "system/Practitioner.",
        ] {
            assert_eq!(perms(scope), Permissions::default(), "{scope}");
        }
    }

    #[test]
    fn configuration_errors_are_reported() {
        assert!(matches!(Grant::parse("openid"), Err(ScopeError::Syntax(_))));
        assert!(matches!(
            Grant::parse("system/Practitioner.sr"),
            Err(ScopeError::Permissions(_))
        ));
        assert_eq!(Grant::parse("system/Patient.read"), Ok(None));
    }

    #[test]
    fn scopes_split_on_the_space_character_only() {
        for joined in [
            "system/Practitioner.read\u{a0}annuaire/restricted",
            "system/Practitioner.read\tannuaire/restricted",
            "system/Practitioner.read\u{2003}annuaire/restricted",
            "system/Practitioner.read\nannuaire/restricted",
        ] {
            assert_eq!(
                split_scope_string(joined).count(),
                1,
                "{joined:?} is one piece"
            );
            let p = perms(joined);
            assert_eq!(p, Permissions::default(), "{joined:?} grants nothing");
        }
        let p = perms("system/Practitioner.read  annuaire/restricted ");
        assert!(p.may_read(Practitioner) && p.restricted);
    }

    #[test]
    fn scope_tokens_are_printable_ascii_without_quote_or_backslash() {
        for good in ["openid", "system/*.rs", "a!#[]~"] {
            assert!(is_scope_token(good), "{good}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\u{a0}b", "a\u{7f}"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
        assert!(matches!(
            Grant::parse("system/Practitioner.read\u{a0}x"),
            Err(ScopeError::Characters(_))
        ));
    }

    #[test]
    fn metrics_scope() {
        assert!(perms("annuaire/metrics").metrics);
        assert!(!perms("system/*.read annuaire/restricted").metrics);
    }

    #[test]
    fn restricted_scope() {
        assert!(perms("annuaire/restricted").restricted);
        assert!(!perms("annuaire/restricted.read").restricted);
    }
}
