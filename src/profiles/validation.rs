//! Validation of a resource against the as-dp profiles, from the constraint files in
//! `profiles/` (rules, issue codes and `expression` convention: `profiles/README.md`,
//! "Validation"). The contract the HTTP layer and the tests build on: which profiles to check
//! (the claims, or the one named), the walk (`walk.rs`), and the OperationOutcome.

use serde_json::{Value, json};

use super::constraints::{Element, LIBRARY, Profile};
use super::findings::{Finding, Kind, Rule, Severity, Shape};
use super::primitives::{is_primitive, kind_of};
use super::walk::Walker;
use crate::fhir::ResourceType;

/// Which profiles to validate against (the `profile` parameter of `$validate`).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The as-dp profiles the resource claims in `meta.profile` (any version).
    Claimed,
    /// One profile, by canonical URL, with or without `|version`.
    Named(&'a str),
}

/// The result of a validation that could be performed.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    pub findings: Vec<Finding>,
    /// `url|version` of the profiles checked.
    pub profiles: Vec<String>,
    /// How many coded values a required binding checked by code system only (value sets
    /// whose codes are not in this repository: the NOS JDV_*); said in one `information`
    /// issue.
    pub by_system_only: usize,
}

impl Validation {
    /// No error or fatal finding.
    pub fn is_valid(&self) -> bool {
        !self.findings.iter().any(|f| f.severity <= Severity::Error)
    }
}

/// Why a validation could not be performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidateError {
    /// The named profile is not one this server validates `rtype` against.
    UnknownProfile {
        named: String,
        supported: Vec<String>,
    },
    /// The `stop` callback asked to stop (deadline).
    Stopped,
}

/// Validates `resource` (a JSON resource of type `rtype`) against `target`. `stop` is called
/// now and then; when it returns true the walk ends with [`ValidateError::Stopped`].
pub fn validate(
    rtype: ResourceType,
    resource: &Value,
    target: Target,
    stop: &dyn Fn() -> bool,
) -> Result<Validation, ValidateError> {
    if stop() {
        return Err(ValidateError::Stopped);
    }
    let rtype = rtype.as_str();
    let (profiles, mut findings) = match target {
        Target::Named(named) => (vec![named_profile(rtype, named)?], Vec::new()),
        Target::Claimed => claimed(rtype, resource),
    };
    let mut walker = Walker::new(stop);
    for profile in &profiles {
        walker.resource(profile, resource);
        if walker.stopped {
            return Err(ValidateError::Stopped);
        }
    }
    findings.append(&mut walker.findings);
    Ok(Validation {
        findings: in_order(findings),
        profiles: profiles.iter().map(|p| p.canonical()).collect(),
        by_system_only: walker.by_system_only,
    })
}

/// The profile `named` (`url` or `url|version`) when it is an as-dp profile of `rtype`.
fn named_profile(rtype: &str, named: &str) -> Result<&'static Profile, ValidateError> {
    let (url, version) = match named.split_once('|') {
        Some((url, version)) => (url, Some(version)),
        None => (named, None),
    };
    LIBRARY
        .profiles_of(rtype)
        .into_iter()
        .find(|p| p.url == url && version.is_none_or(|v| v == p.version))
        .ok_or_else(|| ValidateError::UnknownProfile {
            named: named.to_owned(),
            supported: LIBRARY
                .profiles_of(rtype)
                .into_iter()
                .map(Profile::canonical)
                .collect(),
        })
}

/// The as-dp profiles `resource` claims (any version), and the findings about its claims:
/// a claim of another type's profile, no claim of this directory's profiles, or a claim
/// with no snapshot here (fr-core alone, the generic ANS profiles), which is not checked.
fn claimed(rtype: &str, resource: &Value) -> (Vec<&'static Profile>, Vec<Finding>) {
    let claims: Vec<&str> = match resource.pointer("/meta/profile") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut chosen: Vec<&'static Profile> = Vec::new();
    let mut findings = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        let url = claim.split('|').next().unwrap_or(claim);
        let Some(profile) = LIBRARY.resource_profile(url) else {
            continue;
        };
        if profile.rtype != rtype {
            findings.push(claim_finding(
                Severity::Error,
                Rule::ProfileClaim,
                format!("{rtype}.meta.profile[{i}]"),
                format!("claims {claim}, a profile of {}", profile.rtype),
            ));
        } else if !chosen.iter().any(|p| std::ptr::eq(*p, profile)) {
            chosen.push(profile);
        }
    }
    if chosen.is_empty() && findings.is_empty() {
        let unchecked = LIBRARY.unchecked_urls(rtype);
        let all_unchecked = !claims.is_empty()
            && claims.iter().all(|c| {
                unchecked
                    .iter()
                    .any(|u| u == c.split('|').next().unwrap_or(c))
            });
        findings.push(if all_unchecked {
            claim_finding(
                Severity::Information,
                Rule::Unchecked,
                rtype.to_owned(),
                format!(
                    "not checked: {} has no snapshot in this directory's profiles",
                    claims.join(", ")
                ),
            )
        } else {
            let supported: Vec<String> = LIBRARY
                .profiles_of(rtype)
                .into_iter()
                .map(Profile::canonical)
                .collect();
            claim_finding(
                Severity::Error,
                Rule::ProfileClaim,
                rtype.to_owned(),
                format!(
                    "claims no profile of this directory (meta.profile: {claims:?}); {rtype} \
                     resources claim {}",
                    supported.join(" or ")
                ),
            )
        });
    }
    (chosen, findings)
}

fn claim_finding(severity: Severity, rule: Rule, expression: String, message: String) -> Finding {
    Finding {
        severity,
        rule,
        expression,
        element: String::new(),
        profile: String::new(),
        message,
    }
}

/// Findings without repeats (a value taken by a slice is walked again with the slice's
/// definition: the structural findings come twice), sorted by expression then rule.
fn in_order(findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Finding> = findings
        .into_iter()
        .filter(|f| {
            seen.insert((
                f.severity,
                f.rule,
                f.expression.clone(),
                f.element.clone(),
                f.message.clone(),
            ))
        })
        .collect();
    kept.sort_by(|a, b| (&a.expression, a.rule).cmp(&(&b.expression, b.rule)));
    kept
}

/// The JSON shape of the element at `path`: FHIR element names from the resource type, with
/// choice elements under their JSON name (`Organization.extension.valuePeriod.start`).
/// `None` when the definitions do not know the element.
pub fn element_shape(path: &str) -> Option<Shape> {
    let mut steps = path.split('.');
    let rtype = steps.next()?;
    let steps: Vec<&str> = steps.collect();
    LIBRARY
        .profiles_of(rtype)
        .into_iter()
        .find_map(|profile| shape_in(profile, &steps))
}

/// Where a path step leads: an element of a profile, a datatype's child, or a primitive.
#[derive(Clone)]
enum Node {
    Element(&'static Profile, &'static Element),
    Datatype(String),
}

fn shape_in(profile: &'static Profile, steps: &[&str]) -> Option<Shape> {
    let mut node = Node::Element(profile, profile.root());
    let mut shape = Shape {
        repeats: false,
        kind: Kind::Object,
    };
    for step in steps {
        if shape.kind != Kind::Object {
            // A primitive's own children (`id`, `extension`) in other formats.
            node = Node::Datatype("Element".to_owned());
        }
        let (repeats, code, next) = step_from(&node, step)?;
        shape = Shape {
            repeats,
            kind: if is_primitive(&code) {
                kind_of(&code)
            } else {
                Kind::Object
            },
        };
        node = next;
    }
    Some(shape)
}

/// One step from `node`: whether the child repeats, its type code, and the node it leads to.
fn step_from(node: &Node, step: &str) -> Option<(bool, String, Node)> {
    match node {
        Node::Element(profile, element) => {
            let children = profile.children(element);
            if children.is_empty() {
                let code = element
                    .types
                    .first()
                    .map_or_else(|| profile.rtype.clone(), |t| t.fhir_code().to_owned());
                let typed = element
                    .types
                    .iter()
                    .flat_map(|t| &t.profile)
                    .find_map(|c| LIBRARY.type_profile(c));
                return match typed {
                    Some(tp) => step_from(&Node::Element(tp, tp.root()), step),
                    None => step_from(&Node::Datatype(code), step),
                };
            }
            let child = children.into_iter().find(|c| key_is(c.name(), step))?;
            let codes: Vec<&str> = child.types.iter().map(|t| t.fhir_code()).collect();
            let code = chosen_code(child.name(), step, &codes)?;
            let next = if profile.children(child).is_empty() {
                match child
                    .types
                    .iter()
                    .flat_map(|t| &t.profile)
                    .find_map(|c| LIBRARY.type_profile(c))
                {
                    Some(tp) => Node::Element(tp, tp.root()),
                    None => Node::Datatype(code.clone()),
                }
            } else {
                Node::Element(profile, child)
            };
            Some((child.repeats, code, next))
        }
        Node::Datatype(datatype) => {
            let children = LIBRARY.datatypes.children(datatype)?;
            let (name, child) = children.into_iter().find(|(n, _)| key_is(n, step))?;
            let codes: Vec<&str> = child.types.iter().map(String::as_str).collect();
            let code = chosen_code(name, step, &codes)?;
            Some((child.repeats(), code.clone(), Node::Datatype(code)))
        }
    }
}

/// Whether JSON name `step` is element `name` (`valuePeriod` is `value[x]`).
fn key_is(name: &str, step: &str) -> bool {
    match name.strip_suffix("[x]") {
        Some(stem) => step
            .strip_prefix(stem)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())),
        None => name == step,
    }
}

/// The type of `step`: a choice's suffix among the element's types; else its one type.
fn chosen_code(name: &str, step: &str, codes: &[&str]) -> Option<String> {
    match name.strip_suffix("[x]") {
        Some(stem) => {
            let suffix = &step[stem.len()..];
            codes
                .iter()
                .find(|c| c.eq_ignore_ascii_case(suffix) && c[1..] == suffix[1..])
                .map(|c| (*c).to_owned())
                .or_else(|| {
                    // An open value[x] the table lists without types: the suffix names it.
                    codes.is_empty().then(|| {
                        let mut chars = suffix.chars();
                        chars.next().map_or_else(String::new, |c| {
                            if LIBRARY.datatypes.complex.contains_key(suffix) {
                                suffix.to_owned()
                            } else {
                                c.to_ascii_lowercase().to_string() + chars.as_str()
                            }
                        })
                    })
                })
        }
        None => Some(codes.first().map_or_else(String::new, |c| (*c).to_owned())),
    }
}

/// The OperationOutcome of a validation, in FHIR definition order: one issue per finding
/// (severity, code, diagnostics, location, expression), or one `information` issue saying
/// which profiles were checked when there is none; and one `information` issue when
/// required bindings were checked by code system only.
pub fn outcome(validation: &Validation) -> Value {
    let mut issues: Vec<Value> = if validation.findings.is_empty() {
        vec![json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": format!("no error found against {}", validation.profiles.join(", ")),
        })]
    } else {
        validation.findings.iter().map(issue).collect()
    };
    if validation.by_system_only > 0 {
        issues.push(json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": format!(
                "{} coded value(s) bound to NOS value sets (JDV_*) were checked by code system \
                 only: the value sets' codes are not in this server's profiles",
                validation.by_system_only
            ),
        }));
    }
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// One finding as an issue; `diagnostics` is `<element id> (<profile url|version>): <message>`
/// when the finding has an element and a profile.
fn issue(f: &Finding) -> Value {
    let diagnostics = match (f.element.is_empty(), f.profile.is_empty()) {
        (false, false) => format!("{} ({}): {}", f.element, f.profile, f.message),
        (false, true) => format!("{}: {}", f.element, f.message),
        (true, false) => format!("({}): {}", f.profile, f.message),
        (true, true) => f.message.clone(),
    };
    json!({
        "severity": f.severity.as_str(),
        "code": f.rule.code(),
        "diagnostics": diagnostics,
        "location": [f.expression],
        "expression": [f.expression],
    })
}
