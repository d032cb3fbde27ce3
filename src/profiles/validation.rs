//! Validation of a resource against the as-dp profiles, from the constraint files in
//! `profiles/` (rules, issue codes and `expression` convention: `profiles/README.md`,
//! "Validation"). The contract the HTTP layer and the tests build on: which profiles to check
//! (the claims, or the one named), the walk (`walk.rs`), and the OperationOutcome.

use serde_json::{Value, json};

use super::constraints::{Element, LIBRARY, Profile};
use super::findings::{Finding, Kind, Rule, Severity, Shape};
use super::primitives::{is_primitive, kind_of};
use super::walk::{Walker, key_matches};
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
        // Claims of profiles with no snapshot here only (profile_check's UNCHECKED_CLAIMS),
        // the same one made twice included.
        let unchecked = LIBRARY.unchecked_claims(rtype);
        let all_unchecked = !claims.is_empty()
            && claims
                .iter()
                .all(|claim| unchecked.iter().any(|c| c == claim));
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
            let child = children.into_iter().find(|c| key_matches(c.name(), step))?;
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
            let (name, child) = children.into_iter().find(|(n, _)| key_matches(n, step))?;
            let codes: Vec<&str> = child.types.iter().map(String::as_str).collect();
            let code = chosen_code(name, step, &codes)?;
            Some((child.repeats(), code.clone(), Node::Datatype(code)))
        }
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
        let checked = format!("no error found against {}", validation.profiles.join(", "));
        vec![issue("information", "informational", &checked, None)]
    } else {
        validation.findings.iter().map(finding_issue).collect()
    };
    if validation.by_system_only > 0 {
        let note = format!(
            "{} coded value(s) bound to NOS value sets (JDV_*) were checked by code system \
             only: the value sets' codes are not in this server's profiles",
            validation.by_system_only
        );
        issues.push(issue("information", "informational", &note, None));
    }
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// One finding as an issue; `diagnostics` is `<element id> (<profile url|version>): <message>`
/// when the finding has an element and a profile.
fn finding_issue(f: &Finding) -> Value {
    let diagnostics = match (f.element.is_empty(), f.profile.is_empty()) {
        (false, false) => format!("{} ({}): {}", f.element, f.profile, f.message),
        (false, true) => format!("{}: {}", f.element, f.message),
        (true, false) => format!("({}): {}", f.profile, f.message),
        (true, true) => f.message.clone(),
    };
    issue(
        f.severity.as_str(),
        f.rule.code(),
        &diagnostics,
        Some(&f.expression),
    )
}

/// One OperationOutcome issue of a `$validate` answer, in definition order (severity, code,
/// diagnostics, then `location` and `expression`, the same path, as HAPI writes both): the
/// findings' and the HTTP layer's own (a write refused, an id that is not the instance's).
pub fn issue(severity: &str, code: &str, diagnostics: &str, expression: Option<&str>) -> Value {
    let mut issue = json!({"severity": severity, "code": code, "diagnostics": diagnostics});
    if let Some(expression) = expression {
        issue["location"] = json!([expression]);
        issue["expression"] = json!([expression]);
    }
    issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn never() -> bool {
        false
    }

    fn fixture(dir: &str) -> Vec<(String, Value)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/interop/fixtures")
            .join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (
                    name,
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
                )
            })
            .collect()
    }

    fn rtype_of(resource: &Value) -> ResourceType {
        resource["resourceType"].as_str().unwrap().parse().unwrap()
    }

    fn errors(resource: &Value) -> Vec<(Rule, String)> {
        let v = validate(rtype_of(resource), resource, Target::Claimed, &never).unwrap();
        v.findings
            .iter()
            .filter(|f| f.severity <= Severity::Error)
            .map(|f| (f.rule, f.expression.clone()))
            .collect()
    }

    /// The profile checker's valid fixtures (server output and ANS examples) are valid here.
    #[test]
    fn the_checkers_valid_fixtures_have_no_error() {
        let mut failures = Vec::new();
        for (name, resource) in fixture("valid") {
            let v = validate(rtype_of(&resource), &resource, Target::Claimed, &never).unwrap();
            for f in v.findings.iter().filter(|f| f.severity <= Severity::Error) {
                failures.push(format!(
                    "{name}: {} {} {}: {}",
                    f.rule.as_str(),
                    f.expression,
                    f.element,
                    f.message
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// The checker's broken fixtures (`Type--rule--what.json`) are invalid here too, by the
    /// rule they are named after.
    #[test]
    fn the_checkers_broken_fixtures_break_their_rule() {
        let mut failures = Vec::new();
        for (name, resource) in fixture("broken") {
            let parts: Vec<&str> = name.split("--").collect();
            if parts.len() != 3 {
                continue; // structural-validator fixtures, not profile faults
            }
            let found = errors(&resource);
            let rules: &[Rule] = match parts[1] {
                "min" | "slice" | "extension" => &[Rule::Min],
                "max" => &[Rule::Max],
                "pattern" => &[Rule::Pattern],
                "closed" => &[Rule::Closed],
                "binding" => &[Rule::Binding],
                "type" => &[Rule::Type],
                "profile" => &[Rule::ProfileClaim, Rule::Min],
                other => panic!("{name}: rule {other}"),
            };
            if !found.iter().any(|(r, _)| rules.contains(r)) {
                failures.push(format!("{name}: {found:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// A valid fixture with one change: `edit` gets the resource.
    fn broken(file: &str, edit: impl FnOnce(&mut Value)) -> Value {
        let (_, mut resource) = fixture("valid")
            .into_iter()
            .find(|(name, _)| name == file)
            .unwrap();
        edit(&mut resource);
        resource
    }

    fn practitioner(edit: impl FnOnce(&mut Value)) -> Vec<(Rule, String)> {
        errors(&broken("server-Practitioner-rpps.json", edit))
    }

    fn pair(rule: Rule, expression: &str) -> (Rule, String) {
        (rule, expression.to_owned())
    }

    #[test]
    fn too_few_points_at_the_parent_too_many_at_the_first_value_past_max() {
        let found = practitioner(|r| {
            r.as_object_mut().unwrap().remove("active");
        });
        assert_eq!(found, [pair(Rule::Min, "Practitioner")]);
        let found = practitioner(|r| r["gender"] = json!("female"));
        assert_eq!(found, [pair(Rule::Max, "Practitioner.gender")]);
        let found = practitioner(|r| {
            let first = r["identifier"][0].clone();
            r["identifier"].as_array_mut().unwrap().insert(1, first);
        });
        assert_eq!(found, [pair(Rule::Max, "Practitioner.identifier[1]")]);
    }

    #[test]
    fn unknown_properties_are_reported_where_they_are() {
        let found = practitioner(|r| {
            r["nickname"] = json!("x");
            r["identifier"][0]["foo"] = json!(1);
            r["bar"] = json!([1, 2]);
        });
        assert_eq!(
            found,
            [
                pair(Rule::Unknown, "Practitioner.bar[0]"),
                pair(Rule::Unknown, "Practitioner.bar[1]"),
                pair(Rule::Unknown, "Practitioner.identifier[0].foo"),
                pair(Rule::Unknown, "Practitioner.nickname"),
            ]
        );
    }

    #[test]
    fn primitives_are_checked_for_json_kind_and_regex() {
        let found = practitioner(|r| {
            r["active"] = json!("true");
            r["meta"]["lastUpdated"] = json!("2026-11-01");
        });
        assert_eq!(
            found,
            [
                pair(Rule::Format, "Practitioner.active"),
                pair(Rule::Format, "Practitioner.meta.lastUpdated"),
            ]
        );
    }

    #[test]
    fn empty_values_and_extensions_break_ele_1_and_ext_1() {
        let found = practitioner(|r| {
            r["identifier"][1]["value"] = json!("");
            r["meta"]["extension"][0]["extension"][1]["extension"] =
                json!([{"url": "x", "valueString": "y"}]);
        });
        assert!(
            found.contains(&pair(Rule::Invariant, "Practitioner.identifier[1].value")),
            "{found:?}"
        );
        assert!(
            found.contains(&pair(
                Rule::Invariant,
                "Practitioner.meta.extension[0].extension[1]"
            )),
            "{found:?}"
        );
    }

    #[test]
    fn a_choice_of_another_type_and_an_array_for_a_single_value_are_type_errors() {
        let found = practitioner(|r| {
            let ext = &mut r["meta"]["extension"][0]["extension"][1];
            let code = ext.as_object_mut().unwrap().remove("valueCode").unwrap();
            ext["valueString"] = code;
            r["active"] = json!([true]);
        });
        assert_eq!(
            found,
            [
                pair(Rule::Type, "Practitioner.active"),
                pair(
                    Rule::Type,
                    "Practitioner.meta.extension[0].extension[1].value"
                ),
            ]
        );
    }

    #[test]
    fn references_are_checked_for_form_and_target_type() {
        let role = |edit: fn(&mut Value)| errors(&broken("server-PractitionerRole.json", edit));
        assert_eq!(
            role(|r| r["practitioner"]["reference"] = json!("Organization/eg-1")),
            [pair(Rule::Reference, "PractitionerRole.practitioner")]
        );
        assert_eq!(
            role(|r| r["practitioner"]["reference"] = json!("pp 1")),
            [pair(
                Rule::Format,
                "PractitionerRole.practitioner.reference"
            )]
        );
    }

    #[test]
    fn an_extension_used_outside_its_context_is_reported() {
        let found = practitioner(|r| {
            r["extension"] = json!([{
                "url": "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-types",
                "valueCode": "x"
            }]);
        });
        assert!(
            found.contains(&pair(Rule::ExtensionContext, "Practitioner.extension[0]")),
            "{found:?}"
        );
    }

    #[test]
    fn required_bindings_check_codes_when_known_else_systems() {
        let device = |edit: fn(&mut Value)| errors(&broken("server-Device.json", edit));
        assert_eq!(
            device(|r| r["status"] = json!("broken")),
            [pair(Rule::Binding, "Device.status")]
        );
        assert_eq!(
            device(|r| r["type"]["coding"][0]["system"] = json!("https://example.org/other")),
            [pair(Rule::Binding, "Device.type")]
        );
        let resource = broken("server-Device.json", |_| {});
        let v = validate(ResourceType::Device, &resource, Target::Claimed, &never).unwrap();
        assert!(v.by_system_only > 0, "Device.type is a NOS value set");
        let issues = outcome(&v)["issue"].as_array().unwrap().clone();
        assert!(
            issues.last().unwrap()["diagnostics"]
                .as_str()
                .unwrap()
                .contains("by code system")
        );
    }

    #[test]
    fn closed_slicing_rejects_a_value_no_slice_takes() {
        let found = practitioner(|r| {
            let telecom = r["telecom"].as_array_mut().unwrap();
            telecom.push(json!({"system": "phone", "value": "0102030405"}));
        });
        assert_eq!(found, [pair(Rule::Closed, "Practitioner.telecom[1]")]);
    }

    #[test]
    fn fixed_and_pattern_values_are_checked() {
        let found = practitioner(|r| r["meta"]["source"] = json!("https://example.org"));
        assert_eq!(found, [pair(Rule::Pattern, "Practitioner.meta.source")]);
    }

    #[test]
    fn claims_decide_the_profiles_and_are_checked() {
        let found = practitioner(|r| {
            r["meta"]["profile"].as_array_mut().unwrap().push(json!(
                "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-organization|1.2.0-snapshot-2"
            ));
        });
        assert_eq!(
            found,
            [pair(Rule::ProfileClaim, "Practitioner.meta.profile[2]")]
        );
        let found = practitioner(|r| r["meta"]["profile"] = json!(["https://example.org/p"]));
        assert_eq!(found, [pair(Rule::ProfileClaim, "Practitioner")]);
        let adeli = broken("server-Practitioner-rpps.json", |r| {
            r["meta"]["profile"] = json!([
                "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner|2.2.0"
            ]);
        });
        let v = validate(ResourceType::Practitioner, &adeli, Target::Claimed, &never).unwrap();
        assert!(v.is_valid());
        assert_eq!(v.findings.len(), 1);
        assert_eq!(
            (v.findings[0].rule, v.findings[0].severity),
            (Rule::Unchecked, Severity::Information)
        );
        assert!(v.profiles.is_empty());
    }

    #[test]
    fn a_named_profile_is_checked_or_refused() {
        let resource = broken("server-Practitioner-rpps.json", |_| {});
        let url = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner";
        let v = validate(
            ResourceType::Practitioner,
            &resource,
            Target::Named(url),
            &never,
        )
        .unwrap();
        assert!(v.is_valid() && v.findings.is_empty(), "{:?}", v.findings);
        assert_eq!(v.profiles, [format!("{url}|1.2.0-snapshot-2")]);
        let device =
            "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-device";
        match validate(
            ResourceType::Device,
            &resource,
            Target::Named(device),
            &never,
        ) {
            Err(ValidateError::UnknownProfile { supported, .. }) => {
                let dp = device.replace("as-device", "as-dp-device");
                assert_eq!(supported, [format!("{dp}|1.2.0-snapshot-2")]);
            }
            other => panic!("{other:?}"),
        }
        let old = format!("{url}|1.1.0");
        assert!(matches!(
            validate(
                ResourceType::Practitioner,
                &resource,
                Target::Named(&old),
                &never
            ),
            Err(ValidateError::UnknownProfile { .. })
        ));
    }

    #[test]
    fn stop_ends_the_walk() {
        let resource = broken("server-Practitioner-rpps.json", |_| {});
        let calls = std::cell::Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            calls.get() > 1
        };
        assert_eq!(
            validate(
                ResourceType::Practitioner,
                &resource,
                Target::Claimed,
                &stop
            )
            .unwrap_err(),
            ValidateError::Stopped
        );
    }

    #[test]
    fn element_shape_follows_datatypes_and_extensions() {
        let shape = |p| element_shape(p).map(|s| (s.repeats, s.kind));
        assert_eq!(shape("Organization.extension"), Some((true, Kind::Object)));
        assert_eq!(
            shape("Organization.extension.valuePeriod.start"),
            Some((false, Kind::String))
        );
        assert_eq!(shape("Practitioner.active"), Some((false, Kind::Boolean)));
        assert_eq!(shape("Practitioner.gender"), Some((false, Kind::String)));
        assert_eq!(
            shape("Practitioner.identifier.type.coding"),
            Some((true, Kind::Object))
        );
        assert_eq!(
            shape("Organization.address.line"),
            Some((true, Kind::String))
        );
        assert_eq!(
            shape("Organization.address.line.extension"),
            Some((true, Kind::Object))
        );
        assert_eq!(
            shape("PractitionerRole.specialty"),
            Some((true, Kind::Object))
        );
        assert_eq!(
            shape("HealthcareService.extension.extension.valueInteger"),
            Some((false, Kind::Number))
        );
        assert_eq!(shape("Practitioner.nickname"), None);
    }

    #[test]
    fn the_outcome_keeps_definition_order_and_sorts_by_expression() {
        let resource = broken("server-Practitioner-rpps.json", |r| {
            r["nickname"] = json!("x");
            r.as_object_mut().unwrap().remove("active");
        });
        let v = validate(
            ResourceType::Practitioner,
            &resource,
            Target::Claimed,
            &never,
        )
        .unwrap();
        let outcome = outcome(&v);
        let issues = outcome["issue"].as_array().unwrap();
        let keys: Vec<&str> = issues[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["severity", "code", "diagnostics", "location", "expression"]
        );
        let expressions: Vec<&str> = issues
            .iter()
            .filter_map(|i| i["expression"][0].as_str())
            .collect();
        assert_eq!(expressions, ["Practitioner", "Practitioner.nickname"]);
        assert_eq!(issues[0]["code"], "required");
        assert!(
            issues[0]["diagnostics"]
                .as_str()
                .unwrap()
                .starts_with("Practitioner.active (")
        );
    }
}
