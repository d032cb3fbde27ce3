//! `[[auth.rules]]`: access that follows who the caller is. Each rule grants scopes and
//! unlocks restricted elements to verified identities (tokens and page sessions), optionally
//! only to some professions. Checked at start-up; applied in one place. See plan D6 (#28).
//!
//! A rule is written with strings ([`RuleConfig`]) and checked once, at start-up, into a
//! [`Rule`] whose professions are TRE_G15 codes, whose scopes are what [`Permissions`] holds
//! and whose restricted elements are configured ones: a rule that would grant something else
//! than it says cannot be served. [`Rules::grant`] is then the only place an identity is
//! matched against them; API keys never are (an operator gives a key its scopes directly).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::caller::Identity;
use super::scopes::{Grant, METRICS_SCOPE, Permissions, is_scope_token};
use crate::fhir::ResourceType;
use crate::mapping::nos;

/// The OID Pro Santé Connect writes after a profession code in `SubjectRole`
/// (`10^1.2.250.1.213.1.1.5.5`).
pub const PROFESSION_ROLE_OID: &str = "1.2.250.1.213.1.1.5.5";

/// One rule as written by an operator.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique name, written in the audit trail: lowercase letters, digits and `-`.
    pub name: String,
    /// Which identities the rule applies to.
    pub who: Who,
    /// TRE_G15 profession codes; empty: any profession (or none).
    #[serde(default)]
    pub professions: Vec<String>,
    /// SMART scopes granted (and the extra scopes `auth.restricted.scope`, `annuaire/metrics`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Restricted elements unlocked (`Type.element` of `auth.restricted.elements`, or `*`).
    #[serde(default)]
    pub restricted: Vec<String>,
}

/// Which verified identities a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Who {
    /// A verified identity carrying a national id (`SubjectNameID`): a health professional.
    Professional,
    /// Any verified token or page session, services' tokens too.
    Token,
}

impl Who {
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Professional => "professional",
            Who::Token => "token",
        }
    }
}

/// Why a rule cannot be used: the field of the rule (`.professions[0]`, or empty for the
/// rule as a whole), and why. The configuration names the rule (`auth.rules[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub index: usize,
    pub field: String,
    pub reason: String,
}

/// What the configuration says about restricted elements, which rules may unlock.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestrictedSettings<'a> {
    /// `auth.restricted.scope`.
    pub scope: Option<&'a str>,
    /// `auth.restricted.elements`.
    pub elements: &'a [(ResourceType, &'static str)],
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub who: Who,
    /// TRE_G15 codes; empty: any.
    pub professions: Vec<&'static str>,
    /// What the rule grants: its scopes' permissions and its unlocked elements.
    pub permissions: Permissions,
}

/// The rules in force, in the configuration's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// What the rules grant one identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted {
    /// The union of the matching rules' permissions (elements unlocked included).
    pub permissions: Permissions,
    /// The names of the matching rules, in the configuration's order.
    pub names: Vec<String>,
}

impl Granted {
    /// The restricted elements the rules unlocked.
    pub fn unlocked(&self) -> &[(ResourceType, &'static str)] {
        &self.permissions.unlocked
    }
}

impl Rules {
    /// Checks every rule: names unique and well formed, professions TRE_G15 codes, scopes
    /// this server grants, restricted elements configured ones, and something granted.
    pub fn parse(
        configs: &[RuleConfig],
        restricted: RestrictedSettings<'_>,
    ) -> Result<Rules, RuleError> {
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(configs.len());
        for (index, config) in configs.iter().enumerate() {
            let rule = Rule::parse(config, restricted).map_err(|(field, reason)| RuleError {
                index,
                field,
                reason,
            })?;
            if !names.insert(rule.name.clone()) {
                return Err(RuleError {
                    index,
                    field: ".name".into(),
                    reason: format!("`{}` names two rules", rule.name),
                });
            }
            rules.push(rule);
        }
        Ok(Rules { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// What the rules grant `identity`: the union of every matching rule's permissions, and
    /// their names. Nothing for API keys and anonymous callers.
    pub fn grant(&self, identity: &Identity) -> Granted {
        let mut granted = Granted::default();
        for rule in self.rules.iter().filter(|rule| rule.applies_to(identity)) {
            granted.permissions.merge(&rule.permissions);
            granted.names.push(rule.name.clone());
        }
        granted
    }
}

/// A field of a rule that cannot be used, and why.
type FieldError = (String, String);

impl Rule {
    fn parse(config: &RuleConfig, restricted: RestrictedSettings<'_>) -> Result<Rule, FieldError> {
        check_name(&config.name).map_err(|reason| (".name".to_owned(), reason))?;
        let professions = config
            .professions
            .iter()
            .enumerate()
            .map(|(i, code)| profession(code).map_err(|r| (format!(".professions[{i}]"), r)))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, scope) in config.scopes.iter().enumerate() {
            check_scope(scope, restricted.scope).map_err(|r| (format!(".scopes[{i}]"), r))?;
        }
        let mut permissions =
            Permissions::from_scopes(config.scopes.iter().map(String::as_str), restricted.scope);
        for (i, element) in config.restricted.iter().enumerate() {
            let unlocked = unlocked_elements(element, restricted.elements)
                .map_err(|r| (format!(".restricted[{i}]"), r))?;
            for (rtype, name) in unlocked {
                permissions.unlock(rtype, name);
            }
        }
        if config.scopes.is_empty() && config.restricted.is_empty() {
            return Err((
                String::new(),
                format!(
                    "the rule `{}` grants nothing: give it `scopes` or `restricted` elements",
                    config.name
                ),
            ));
        }
        Ok(Rule {
            name: config.name.clone(),
            who: config.who,
            professions,
            permissions,
        })
    }

    /// Whether the rule applies to `identity`: a verified token or session (with a national
    /// id for `professional`), of one of the rule's professions if it names some.
    pub fn applies_to(&self, identity: &Identity) -> bool {
        let Identity::Token {
            national_id, roles, ..
        } = identity
        else {
            return false;
        };
        if self.who == Who::Professional
            && national_id.as_deref().is_none_or(|id| id.trim().is_empty())
        {
            return false;
        }
        self.professions.is_empty()
            || roles
                .iter()
                .filter_map(|role| profession_of_role(role))
                .any(|code| self.professions.contains(&code))
    }
}

/// A rule as written, in a few words (start-up log): its name, who it applies to, and what
/// it grants.
pub fn describe(config: &RuleConfig) -> String {
    let mut who = config.who.as_str().to_owned();
    if !config.professions.is_empty() {
        let professions: Vec<String> = config
            .professions
            .iter()
            .map(|code| match nos::profession_label(code) {
                Some(label) => format!("{code} {label}"),
                None => code.clone(),
            })
            .collect();
        who.push_str(&format!(" ({})", professions.join(", ")));
    }
    let mut grants = Vec::new();
    if !config.scopes.is_empty() {
        grants.push(format!("scopes {}", config.scopes.join(" ")));
    }
    if !config.restricted.is_empty() {
        grants.push(format!("unlocks {}", config.restricted.join(", ")));
    }
    format!("{} [{who}]: {}", config.name, grants.join(", "))
}

/// The profession code a `SubjectRole` value names: `10^1.2.250.1.213.1.1.5.5` or a bare
/// `10`. A role under another OID, or anything else, names none.
pub fn profession_of_role(role: &str) -> Option<&str> {
    let (code, oid) = match role.split_once('^') {
        Some((code, oid)) => (code, Some(oid)),
        None => (role, None),
    };
    let is_code = !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit());
    (is_code && oid.is_none_or(|oid| oid == PROFESSION_ROLE_OID)).then_some(code)
}

fn check_name(name: &str) -> Result<(), String> {
    let well_formed = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "`{}`: a name is lowercase letters, digits and `-` (it is written in the audit trail)",
            name.escape_debug()
        ))
    }
}

/// The TRE_G15 code `code` is, as the table holds it.
fn profession(code: &str) -> Result<&'static str, String> {
    nos::PROFESSIONS
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(known, _)| *known)
        .ok_or_else(|| {
            format!(
                "`{}` is not a profession code (TRE_G15, such as 10 for médecin, 60 for infirmier)",
                code.escape_debug()
            )
        })
}

/// A scope a rule may grant: a SMART scope that grants something on this server, or one of
/// the extra scopes (`auth.restricted.scope`, `annuaire/metrics`). A rule is this server's
/// own setting: a scope that would grant nothing here is a mistake, not a scope meant for
/// another server.
fn check_scope(scope: &str, restricted_scope: Option<&str>) -> Result<(), String> {
    if is_scope_token(scope) && (Some(scope) == restricted_scope || scope == METRICS_SCOPE) {
        return Ok(());
    }
    match Grant::parse(scope) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!(
            "`{scope}` grants nothing on this server (served types: {}; lists and subscriptions: List, Subscription)",
            ResourceType::names()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// The configured restricted elements `text` names: one of them, or all (`*`).
fn unlocked_elements(
    text: &str,
    configured: &[(ResourceType, &'static str)],
) -> Result<Vec<(ResourceType, &'static str)>, String> {
    if configured.is_empty() {
        return Err(format!(
            "`{text}`: no restricted elements are configured (`auth.restricted.elements`)"
        ));
    }
    if text == "*" {
        return Ok(configured.to_vec());
    }
    configured
        .iter()
        .find(|(rtype, element)| format!("{rtype}.{element}") == text)
        .map(|found| vec![*found])
        .ok_or_else(|| {
            let names: Vec<String> = configured.iter().map(|(t, e)| format!("{t}.{e}")).collect();
            format!(
                "`{}` is not one of `auth.restricted.elements` ({}), nor `*`",
                text.escape_debug(),
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::{Practitioner, PractitionerRole};

    const RESTRICTED_SCOPE: &str = "annuaire/restricted";
    const ELEMENTS: &[(ResourceType, &str)] =
        &[(Practitioner, "telecom"), (PractitionerRole, "telecom")];

    fn settings() -> RestrictedSettings<'static> {
        RestrictedSettings {
            scope: Some(RESTRICTED_SCOPE),
            elements: ELEMENTS,
        }
    }

    fn rule(
        name: &str,
        who: Who,
        professions: &[&str],
        scopes: &[&str],
        restricted: &[&str],
    ) -> RuleConfig {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        RuleConfig {
            name: name.into(),
            who,
            professions: strings(professions),
            scopes: strings(scopes),
            restricted: strings(restricted),
        }
    }

    fn token(national_id: Option<&str>, roles: &[&str]) -> Identity {
        Identity::Token {
            issuer: "https://auth.example".into(),
            subject: "someone".into(),
            national_id: national_id.map(str::to_owned),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn error(configs: &[RuleConfig]) -> RuleError {
        Rules::parse(configs, settings()).unwrap_err()
    }

    #[test]
    fn roles_name_professions_under_the_psc_oid_or_bare() {
        assert_eq!(profession_of_role("10^1.2.250.1.213.1.1.5.5"), Some("10"));
        assert_eq!(profession_of_role("70"), Some("70"));
        for other in [
            "10^1.2.3",
            "médecin",
            "",
            "^1.2.250.1.213.1.1.5.5",
            "SA07^1.2.250.1.71.4.2.4",
        ] {
            assert_eq!(profession_of_role(other), None, "{other}");
        }
    }

    #[test]
    fn a_rule_applies_to_its_professions_only() {
        let rules = Rules::parse(
            &[rule(
                "medecins",
                Who::Professional,
                &["10", "21"],
                &[],
                &["PractitionerRole.telecom"],
            )],
            settings(),
        )
        .unwrap();
        let medecin = rules.grant(&token(Some("810000000001"), &["10^1.2.250.1.213.1.1.5.5"]));
        assert_eq!(medecin.names, ["medecins"]);
        assert_eq!(medecin.unlocked(), &[(PractitionerRole, "telecom")]);
        assert!(!medecin.permissions.restricted);
        let bare = rules.grant(&token(Some("810000000001"), &["21"]));
        assert_eq!(bare.names, ["medecins"]);
        let kine = rules.grant(&token(Some("810000000002"), &["70^1.2.250.1.213.1.1.5.5"]));
        assert_eq!(kine, Granted::default());
        let other_oid = rules.grant(&token(Some("810000000002"), &["10^1.2.3.4"]));
        assert_eq!(other_oid, Granted::default());
    }

    #[test]
    fn professional_needs_a_national_id_and_token_does_not() {
        let rules = Rules::parse(
            &[
                rule("pros", Who::Professional, &[], &["user/*.rs"], &[]),
                rule(
                    "services",
                    Who::Token,
                    &[],
                    &["system/Organization.rs"],
                    &[],
                ),
            ],
            settings(),
        )
        .unwrap();
        let service = rules.grant(&token(None, &[]));
        assert_eq!(service.names, ["services"]);
        assert!(service.permissions.may_read(ResourceType::Organization));
        assert!(!service.permissions.may_read(Practitioner));
        let blank = rules.grant(&token(Some(" "), &[]));
        assert_eq!(blank.names, ["services"]);
        let pro = rules.grant(&token(Some("810000000001"), &[]));
        assert_eq!(pro.names, ["pros", "services"]);
        assert!(pro.permissions.may_read(Practitioner));
        let key = Identity::Key { name: "k".into() };
        assert_eq!(rules.grant(&key), Granted::default());
        assert_eq!(rules.grant(&Identity::Anonymous), Granted::default());
    }

    #[test]
    fn a_star_unlocks_every_configured_element_and_the_scope_every_element() {
        let rules = Rules::parse(
            &[
                rule("all", Who::Token, &[], &[], &["*"]),
                rule(
                    "scope",
                    Who::Professional,
                    &[],
                    &[RESTRICTED_SCOPE, METRICS_SCOPE],
                    &[],
                ),
            ],
            settings(),
        )
        .unwrap();
        let service = rules.grant(&token(None, &[]));
        assert_eq!(service.unlocked(), ELEMENTS);
        assert!(!service.permissions.restricted);
        let pro = rules.grant(&token(Some("810000000001"), &[]));
        assert!(pro.permissions.restricted && pro.permissions.metrics);
    }

    #[test]
    fn errors_name_the_field() {
        let e = error(&[
            rule("a", Who::Token, &[], &["user/*.rs"], &[]),
            rule("b", Who::Token, &["10", "99"], &["user/*.rs"], &[]),
        ]);
        assert_eq!((e.index, e.field.as_str()), (1, ".professions[1]"));
        assert!(
            e.reason.contains("`99` is not a profession code (TRE_G15"),
            "{}",
            e.reason
        );

        let e = error(&[rule("a", Who::Token, &[], &["user/*.rs", "openid"], &[])]);
        assert_eq!((e.index, e.field.as_str()), (0, ".scopes[1]"));
        let e = error(&[rule("a", Who::Token, &[], &["system/Patient.read"], &[])]);
        assert!(e.reason.contains("grants nothing"), "{}", e.reason);
        let e = error(&[rule("a", Who::Token, &[], &["system/Practitioner.rx"], &[])]);
        assert_eq!(e.field, ".scopes[0]");

        let e = error(&[rule("a", Who::Token, &[], &[], &["Organization.telecom"])]);
        assert_eq!(e.field, ".restricted[0]");
        assert!(
            e.reason.contains("auth.restricted.elements"),
            "{}",
            e.reason
        );

        let e = error(&[
            rule("a", Who::Token, &[], &["user/*.rs"], &[]),
            rule("a", Who::Professional, &[], &["user/*.rs"], &[]),
        ]);
        assert_eq!((e.index, e.field.as_str()), (1, ".name"));
        assert!(e.reason.contains("names two rules"));

        let e = error(&[rule("nothing", Who::Token, &["10"], &[], &[])]);
        assert_eq!((e.index, e.field.as_str()), (0, ""));
        assert!(e.reason.contains("grants nothing"));

        for bad in ["", "Médecins", "a b", "a_b"] {
            let e = error(&[rule(bad, Who::Token, &[], &["user/*.rs"], &[])]);
            assert_eq!(e.field, ".name", "{bad:?}");
        }
    }

    #[test]
    fn unlocking_needs_configured_restricted_elements() {
        let none = RestrictedSettings::default();
        let e = Rules::parse(&[rule("a", Who::Token, &[], &[], &["*"])], none).unwrap_err();
        assert!(
            e.reason.contains("no restricted elements are configured"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn descriptions_say_who_and_what() {
        let text = describe(&rule(
            "medecins",
            Who::Professional,
            &["10"],
            &["user/*.rs"],
            &["PractitionerRole.telecom"],
        ));
        assert_eq!(
            text,
            "medecins [professional (10 Médecin)]: scopes user/*.rs, unlocks PractitionerRole.telecom"
        );
    }
}
