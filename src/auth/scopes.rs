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
//!
//! What hospitals write (`List`, `Subscription`: `local::LocalType`) has two permissions per
//! type: *read* (read, vread, history and search) and *write* (create, update, delete). v1
//! `read` grants read, `write` grants write, `*` both; v2 letters grant read when the caller
//! holds both `r` and `s` for the type, and write when it holds `c`, `u` and `d` (over one or
//! several scopes): a permission is granted only when every interaction it opens was granted,
//! never more than the token says.
//!
//! The wildcard type `*` covers the directory's served types only, not `List` or
//! `Subscription`: every key and token issued before lists existed reads `system/*.read` as
//! "the directory", and lists are shared between every caller allowed to read them, so reading
//! them (or writing anything) must be granted by name (`system/List.read`,
//! `user/Subscription.write`). A wildcard that silently widened to every hospital's lists
//! would grant what no operator chose.

use crate::fhir::ResourceType;
use crate::local::LocalType;

/// What a caller wants to do with a local type (`List`, `Subscription`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalAction {
    /// Read by id, vread, history, search (and, for a subscription, `$status`, `$events`,
    /// `$get-ws-binding-token`).
    Read,
    /// Create, update, delete.
    Write,
}

impl LocalAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LocalAction::Read => "read",
            LocalAction::Write => "write",
        }
    }
}

/// The v2 letters a caller holds for one local type (`cruds`), accumulated over its scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Letters {
    create: bool,
    read: bool,
    update: bool,
    delete: bool,
    search: bool,
}

impl Letters {
    const ALL: Letters = Letters {
        create: true,
        read: true,
        update: true,
        delete: true,
        search: true,
    };

    fn add(&mut self, other: Letters) {
        self.create |= other.create;
        self.read |= other.read;
        self.update |= other.update;
        self.delete |= other.delete;
        self.search |= other.search;
    }

    fn allows(&self, action: LocalAction) -> bool {
        match action {
            LocalAction::Read => self.read && self.search,
            LocalAction::Write => self.create && self.update && self.delete,
        }
    }
}

/// What one caller may do with each served type, plus the extra scope for restricted elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    read: [bool; ResourceType::ALL.len()],
    search: [bool; ResourceType::ALL.len()],
    /// The letters held for each local type, in [`LocalType::ALL`]'s order.
    local: [Letters; LocalType::ALL.len()],
    /// Holds the scope that unlocks restricted elements.
    pub restricted: bool,
    /// Holds [`METRICS_SCOPE`]: may read `/metrics` on the main listener.
    pub metrics: bool,
    /// Restricted elements this caller may see although it does not hold the restricted
    /// scope (`Type`, top-level element), as access rules unlock them one by one
    /// (`[[auth.rules]] restricted`). Meaningless when `restricted` is set: all are visible.
    pub unlocked: Vec<(ResourceType, &'static str)>,
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
            local: [Letters::ALL; LocalType::ALL.len()],
            restricted: true,
            metrics: true,
            unlocked: Vec::new(),
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
        if let Target::Local(local) = grant.target {
            self.local[local as usize].add(grant.letters);
            return;
        }
        for rtype in ResourceType::ALL {
            if grant.target.covers(rtype) {
                self.read[rtype as usize] |= grant.letters.read;
                self.search[rtype as usize] |= grant.letters.search;
            }
        }
    }

    /// Lets the caller see the restricted element `element` of `rtype`.
    pub fn unlock(&mut self, rtype: ResourceType, element: &'static str) {
        if !self.unlocked.contains(&(rtype, element)) {
            self.unlocked.push((rtype, element));
        }
    }

    /// Adds what `other` grants: the union of both (what a token's scopes and the access
    /// rules grant one caller).
    pub fn merge(&mut self, other: &Permissions) {
        for (mine, theirs) in self.read.iter_mut().zip(other.read) {
            *mine |= theirs;
        }
        for (mine, theirs) in self.search.iter_mut().zip(other.search) {
            *mine |= theirs;
        }
        for (mine, theirs) in self.local.iter_mut().zip(other.local) {
            mine.add(theirs);
        }
        self.restricted |= other.restricted;
        self.metrics |= other.metrics;
        for (rtype, element) in &other.unlocked {
            self.unlock(*rtype, element);
        }
    }

    /// May the caller see the restricted element `element` of `rtype`?
    pub fn may_see(&self, rtype: ResourceType, element: &str) -> bool {
        self.restricted
            || self
                .unlocked
                .iter()
                .any(|(t, e)| *t == rtype && *e == element)
    }

    /// May the caller `action` resources of the local type `rtype`?
    pub fn may(&self, rtype: LocalType, action: LocalAction) -> bool {
        self.local[rtype as usize].allows(action)
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

/// The types a scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `*`: every served type (not the local ones: see the module's documentation).
    Served,
    One(ResourceType),
    Local(LocalType),
}

impl Target {
    fn covers(self, rtype: ResourceType) -> bool {
        match self {
            Target::Served => true,
            Target::One(one) => one == rtype,
            Target::Local(_) => false,
        }
    }
}

/// A scope that grants something on the directory's types or the local ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    target: Target,
    letters: Letters,
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
    /// write-only on a served type, a v2 query restriction).
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
        let letters = parse_permissions(permissions)
            .ok_or_else(|| ScopeError::Permissions(scope.to_owned()))?;
        if context == "patient" || query.is_some() {
            return Ok(None);
        }
        let target = match type_name {
            "*" => Target::Served,
            name => match (name.parse::<ResourceType>(), LocalType::parse(name)) {
                (Ok(rtype), _) => Target::One(rtype),
                (_, Some(local)) => Target::Local(local),
                _ => return Ok(None),
            },
        };
        // Served types are read-only: a scope that grants neither reading nor searching them
        // grants nothing.
        let served = !matches!(target, Target::Local(_));
        if served && !(letters.read || letters.search) {
            return Ok(None);
        }
        Ok(Some(Grant { target, letters }))
    }
}

/// The letters of v1 `read` (`rs`), `write` (`cud`), `*` (all), or of v2 `cruds`.
fn parse_permissions(text: &str) -> Option<Letters> {
    match text {
        "read" => return Some(letters("rs")),
        "write" => return Some(letters("cud")),
        "*" => return Some(Letters::ALL),
        _ => {}
    }
    // v2: a non-empty subsequence of "cruds".
    let mut order = "cruds".chars();
    for letter in text.chars() {
        order.find(|c| *c == letter)?;
    }
    (!text.is_empty()).then(|| letters(text))
}

fn letters(text: &str) -> Letters {
    Letters {
        create: text.contains('c'),
        read: text.contains('r'),
        update: text.contains('u'),
        delete: text.contains('d'),
        search: text.contains('s'),
    }
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
    fn local_types_v1_read_write_and_star() {
        use LocalAction::{Read, Write};
        let p = perms("system/List.read user/Subscription.write");
        assert!(p.may(LocalType::List, Read) && !p.may(LocalType::List, Write));
        assert!(p.may(LocalType::Subscription, Write) && !p.may(LocalType::Subscription, Read));
        let p = perms("user/List.*");
        assert!(p.may(LocalType::List, Read) && p.may(LocalType::List, Write));
        assert!(!p.may(LocalType::Subscription, Read));
        assert!(
            !p.may_read(Practitioner),
            "a List scope grants nothing on served types"
        );
    }

    /// A v2 permission needs every letter of what it opens, over one scope or several.
    #[test]
    fn local_types_v2_letters() {
        use LocalAction::{Read, Write};
        let p = perms("system/List.rs system/Subscription.cruds");
        assert!(p.may(LocalType::List, Read) && !p.may(LocalType::List, Write));
        assert!(p.may(LocalType::Subscription, Read) && p.may(LocalType::Subscription, Write));
        let p = perms("system/List.cud");
        assert!(p.may(LocalType::List, Write) && !p.may(LocalType::List, Read));
        let p = perms("system/List.r system/List.s system/List.cu system/List.d");
        assert!(p.may(LocalType::List, Read) && p.may(LocalType::List, Write));
        for partial in [
            "system/List.r",
            "system/List.s",
            "system/List.cu",
            "system/List.ud",
        ] {
            let p = perms(partial);
            assert!(
                !p.may(LocalType::List, Read) && !p.may(LocalType::List, Write),
                "{partial}"
            );
        }
        assert!(!perms("patient/List.cruds").may(LocalType::List, Read));
        assert!(!perms("system/List.rs?code=x").may(LocalType::List, Read));
    }

    /// `*` is the served types: lists and subscriptions are granted by name.
    #[test]
    fn the_wildcard_does_not_reach_local_types() {
        let p = perms("system/*.read system/*.cruds user/*.* user/*.write");
        assert!(ResourceType::ALL.iter().all(|t| p.may_read(*t)));
        for rtype in LocalType::ALL {
            for action in [LocalAction::Read, LocalAction::Write] {
                assert!(!p.may(rtype, action), "{rtype:?} {action:?}");
            }
        }
        let all = Permissions::all();
        assert!(all.may(LocalType::Subscription, LocalAction::Write));
    }

    /// A merge grants what either side grants, and nothing more.
    #[test]
    fn merged_permissions_are_the_union() {
        let mut p = perms("system/Practitioner.read system/List.r");
        let mut other = perms("system/Organization.s system/List.s annuaire/metrics");
        other.unlock(PractitionerRole, "telecom");
        other.unlock(PractitionerRole, "telecom");
        p.merge(&other);
        assert!(p.may_read(Practitioner) && p.may_search(Practitioner));
        assert!(p.may_search(Organization) && !p.may_read(Organization));
        assert!(
            p.may(LocalType::List, LocalAction::Read),
            "r and s over both sides"
        );
        assert!(!p.may(LocalType::List, LocalAction::Write));
        assert!(p.metrics && !p.restricted);
        assert_eq!(p.unlocked, [(PractitionerRole, "telecom")]);
        assert!(p.may_see(PractitionerRole, "telecom"));
        assert!(!p.may_see(Practitioner, "telecom"));
        assert!(perms("annuaire/restricted").may_see(Practitioner, "telecom"));
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
