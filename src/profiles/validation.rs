//! Validation of a resource against the as-dp profiles, from the constraint files in
//! `profiles/` (rules, issue codes and `expression` convention: `profiles/README.md`,
//! "Validation"). The contract the HTTP layer and the tests build on; the walk lands behind it.

use serde_json::{Value, json};

use crate::fhir::ResourceType;

/// How bad a finding is (OperationOutcome `issue.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// The rule a finding breaks (the table in `profiles/README.md`; the profile checker uses the
/// same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Min,
    Max,
    Unknown,
    Type,
    Format,
    Invariant,
    Fixed,
    Pattern,
    Closed,
    Binding,
    Reference,
    ExtensionContext,
    ProfileClaim,
    Unchecked,
}

impl Rule {
    /// The rule's name, as the profile checker and `faults.json` write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Min => "min",
            Rule::Max => "max",
            Rule::Unknown => "unknown",
            Rule::Type => "type",
            Rule::Format => "format",
            Rule::Invariant => "invariant",
            Rule::Fixed => "fixed",
            Rule::Pattern => "pattern",
            Rule::Closed => "closed",
            Rule::Binding => "binding",
            Rule::Reference => "reference",
            Rule::ExtensionContext => "extension-context",
            Rule::ProfileClaim => "profile-claim",
            Rule::Unchecked => "unchecked",
        }
    }

    /// OperationOutcome `issue.code` (FHIR issue-type).
    pub fn code(self) -> &'static str {
        match self {
            Rule::Min => "required",
            Rule::Max
            | Rule::Unknown
            | Rule::Type
            | Rule::Closed
            | Rule::Reference
            | Rule::ExtensionContext => "structure",
            Rule::Format | Rule::Fixed | Rule::Pattern => "value",
            Rule::Invariant => "invariant",
            Rule::Binding => "code-invalid",
            Rule::ProfileClaim => "invalid",
            Rule::Unchecked => "informational",
        }
    }
}

/// One thing found wrong (or worth saying) about a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub rule: Rule,
    /// Where, as the R4 simple FHIRPath subset (`Practitioner.identifier[1].value`).
    pub expression: String,
    /// The element id in the profile (`Practitioner.identifier:rpps`), empty when none applies.
    pub element: String,
    /// The profile's `url|version`, empty when none applies.
    pub profile: String,
    /// What is wrong, for a person.
    pub message: String,
}

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

/// The shape of an element in JSON, for readers of other formats (XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// A JSON array (the element repeats).
    pub repeats: bool,
    pub kind: Kind,
}

/// The JSON kind of an element's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Number,
    String,
    /// An object (a complex datatype, a backbone element, a resource).
    Object,
}

/// Validates `resource` (a JSON resource of type `rtype`) against `target`. `stop` is called
/// now and then; when it returns true the walk ends with [`ValidateError::Stopped`].
pub fn validate(
    rtype: ResourceType,
    resource: &Value,
    target: Target,
    stop: &dyn Fn() -> bool,
) -> Result<Validation, ValidateError> {
    let _ = (rtype, resource, target);
    if stop() {
        return Err(ValidateError::Stopped);
    }
    Ok(Validation::default())
}

/// The JSON shape of the element at `path`: FHIR element names from the resource type, with
/// choice elements under their JSON name (`Organization.extension.valuePeriod.start`).
/// `None` when the definitions do not know the element.
pub fn element_shape(path: &str) -> Option<Shape> {
    let _ = path;
    None
}

/// The OperationOutcome of a validation, in FHIR definition order: one issue per finding
/// (severity, code, diagnostics, location, expression), or one `information` issue saying
/// which profiles were checked when there is none.
pub fn outcome(validation: &Validation) -> Value {
    let issues: Vec<Value> = if validation.findings.is_empty() {
        vec![json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": format!("no error found against {}", validation.profiles.join(", ")),
        })]
    } else {
        validation
            .findings
            .iter()
            .map(|f| {
                json!({
                    "severity": f.severity.as_str(),
                    "code": f.rule.code(),
                    "diagnostics": format!("{} ({}): {}", f.element, f.profile, f.message),
                    "location": [f.expression],
                    "expression": [f.expression],
                })
            })
            .collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": issues})
}
