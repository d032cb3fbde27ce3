//! What validation finds, and the JSON shapes of elements: the types the walk and the
//! contract (`validation.rs`) share, in a file of their own so that neither imports the other
//! in a circle.

/// How bad a finding is (OperationOutcome `issue.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// The shape of an element in JSON, as the XML reader needs it (`fhir::xml_read` defines it, a
/// layer below; the profiles know it for every element).
pub use crate::fhir::xml_read::{JsonKind as Kind, Shape};
