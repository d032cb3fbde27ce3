//! The resource types annuaire serves.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Practitioner,
    PractitionerRole,
    Organization,
}

impl ResourceType {
    pub const ALL: [ResourceType; 3] = [
        ResourceType::Practitioner,
        ResourceType::PractitionerRole,
        ResourceType::Organization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Practitioner => "Practitioner",
            ResourceType::PractitionerRole => "PractitionerRole",
            ResourceType::Organization => "Organization",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the types this server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedType(pub String);

impl FromStr for ResourceType {
    type Err = UnsupportedType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| UnsupportedType(name.to_owned()))
    }
}

/// A top-level element of a served type, as FHIR R4 defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    pub name: &'static str,
    /// Part of the summary view (`isSummary` in R4), kept by `_summary=true`.
    pub summary: bool,
}

const fn element(name: &'static str, summary: bool) -> Element {
    Element { name, summary }
}

/// Elements every served type has from DomainResource that can be filtered or restricted
/// (`id`, `meta` and `implicitRules` are always kept; `contained` and `modifierExtension` are
/// never written here).
const DOMAIN_RESOURCE: [Element; 2] = [element("text", false), element("extension", false)];

const PRACTITIONER: [Element; 10] = [
    element("identifier", true),
    element("active", true),
    element("name", true),
    element("telecom", true),
    element("address", true),
    element("gender", true),
    element("birthDate", true),
    element("photo", false),
    element("qualification", false),
    element("communication", false),
];

const PRACTITIONER_ROLE: [Element; 14] = [
    element("identifier", true),
    element("active", true),
    element("period", true),
    element("practitioner", true),
    element("organization", true),
    element("code", true),
    element("specialty", true),
    element("location", true),
    element("healthcareService", true),
    element("telecom", true),
    element("availableTime", false),
    element("notAvailable", false),
    element("availabilityExceptions", false),
    element("endpoint", true),
];

const ORGANIZATION: [Element; 10] = [
    element("identifier", true),
    element("active", true),
    element("type", true),
    element("name", true),
    element("alias", false),
    element("telecom", false),
    element("address", false),
    element("partOf", true),
    element("contact", false),
    element("endpoint", false),
];

impl ResourceType {
    /// The top-level elements of this type (R4), DomainResource's `text` and `extension`
    /// included: the one list `_summary`, `_elements` and restricted elements read.
    pub fn elements(self) -> impl Iterator<Item = &'static Element> {
        let own: &'static [Element] = match self {
            ResourceType::Practitioner => &PRACTITIONER,
            ResourceType::PractitionerRole => &PRACTITIONER_ROLE,
            ResourceType::Organization => &ORGANIZATION,
        };
        DOMAIN_RESOURCE.iter().chain(own)
    }

    /// Whether `name` is a top-level element of this type.
    pub fn has_element(self, name: &str) -> bool {
        self.elements().any(|e| e.name == name)
    }

    /// The elements `_summary=true` keeps, besides `id` and `meta`.
    pub fn summary_elements(self) -> impl Iterator<Item = &'static str> {
        self.elements().filter(|e| e.summary).map(|e| e.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_elements_are_those_r4_marks() {
        let summary: Vec<&str> = ResourceType::Organization.summary_elements().collect();
        assert_eq!(summary, ["identifier", "active", "type", "name", "partOf"]);
        assert!(ResourceType::Practitioner.has_element("qualification"));
        assert!(!ResourceType::Practitioner.has_element("partOf"));
        assert!(ResourceType::PractitionerRole.has_element("text"));
    }
}
