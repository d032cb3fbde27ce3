//! The resource types annuaire serves.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Practitioner,
    PractitionerRole,
    Organization,
    HealthcareService,
    Device,
}

impl ResourceType {
    /// Every served type. The position is persisted (the type byte of history and version
    /// keys, see `generation::history::type_byte`) and indexes per-type arrays: append new
    /// types, never reorder.
    pub const ALL: [ResourceType; 5] = [
        ResourceType::Practitioner,
        ResourceType::PractitionerRole,
        ResourceType::Organization,
        ResourceType::HealthcareService,
        ResourceType::Device,
    ];

    /// Every served type's name, comma-separated: for messages that tell a client or an
    /// operator what is served.
    pub fn names() -> String {
        ResourceType::ALL.map(ResourceType::as_str).join(", ")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Practitioner => "Practitioner",
            ResourceType::PractitionerRole => "PractitionerRole",
            ResourceType::Organization => "Organization",
            ResourceType::HealthcareService => "HealthcareService",
            ResourceType::Device => "Device",
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

/// R4 order and `isSummary`, as the ANS as-dp-healthcareservice-* snapshots list them.
const HEALTHCARE_SERVICE: [Element; 24] = [
    element("identifier", true),
    element("active", true),
    element("providedBy", true),
    element("category", true),
    element("type", true),
    element("specialty", true),
    element("location", true),
    element("name", true),
    element("comment", true),
    element("extraDetails", false),
    element("photo", true),
    element("telecom", false),
    element("coverageArea", false),
    element("serviceProvisionCode", false),
    element("eligibility", false),
    element("program", false),
    element("characteristic", false),
    element("communication", false),
    element("referralMethod", false),
    element("appointmentRequired", false),
    element("availableTime", false),
    element("notAvailable", false),
    element("availabilityExceptions", false),
    element("endpoint", false),
];

/// R4 order and `isSummary`, as the ANS as-dp-device snapshot lists them.
const DEVICE: [Element; 26] = [
    element("identifier", false),
    element("definition", false),
    element("udiCarrier", true),
    element("status", true),
    element("statusReason", false),
    element("distinctIdentifier", false),
    element("manufacturer", false),
    element("manufactureDate", false),
    element("expirationDate", false),
    element("lotNumber", false),
    element("serialNumber", false),
    element("deviceName", false),
    element("modelNumber", false),
    element("partNumber", false),
    element("type", false),
    element("specialization", false),
    element("version", false),
    element("property", false),
    element("patient", false),
    element("owner", false),
    element("contact", false),
    element("location", false),
    element("url", false),
    element("note", false),
    element("safety", true),
    element("parent", false),
];

impl ResourceType {
    /// The top-level elements of this type (R4), DomainResource's `text` and `extension`
    /// included: the one list `_summary`, `_elements` and restricted elements read.
    pub fn elements(self) -> impl Iterator<Item = &'static Element> {
        let own: &'static [Element] = match self {
            ResourceType::Practitioner => &PRACTITIONER,
            ResourceType::PractitionerRole => &PRACTITIONER_ROLE,
            ResourceType::Organization => &ORGANIZATION,
            ResourceType::HealthcareService => &HEALTHCARE_SERVICE,
            ResourceType::Device => &DEVICE,
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

    #[test]
    fn the_finess_service_types_have_their_r4_summary() {
        let summary: Vec<&str> = ResourceType::HealthcareService.summary_elements().collect();
        assert_eq!(
            summary,
            [
                "identifier",
                "active",
                "providedBy",
                "category",
                "type",
                "specialty",
                "location",
                "name",
                "comment",
                "photo"
            ]
        );
        let summary: Vec<&str> = ResourceType::Device.summary_elements().collect();
        assert_eq!(summary, ["udiCarrier", "status", "safety"]);
        assert!(!ResourceType::Device.has_element("active"));
        assert!(ResourceType::HealthcareService.has_element("eligibility"));
    }

    /// The position in `ALL` is persisted: the new types come after the first three.
    #[test]
    fn types_parse_by_name_and_keep_their_position() {
        let names: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "Practitioner",
                "PractitionerRole",
                "Organization",
                "HealthcareService",
                "Device"
            ]
        );
        assert_eq!("Device".parse(), Ok(ResourceType::Device));
        assert_eq!(
            "HealthcareService".parse(),
            Ok(ResourceType::HealthcareService)
        );
        assert!("Location".parse::<ResourceType>().is_err());
    }
}
