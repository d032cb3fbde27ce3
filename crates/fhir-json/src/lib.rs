//! fhir-sdk's R4B types for the five resources annuaire serves, and one non-generic JSON
//! serializer per resource.
//!
//! Why a separate crate: every fhir-sdk resource embeds `contained: Vec<Resource>`, so serializing
//! even a Practitioner instantiates serde code for all FHIR types. Instantiated here, behind
//! plain functions, that cost is paid once when this crate is built; the main crate only links it
//! and its own rebuilds stay fast.
//!
//! R4B's Practitioner, PractitionerRole, Organization, HealthcareService and Device are R4's
//! JSON (same elements, same order); annuaire declares FHIR 4.0.1 and never uses fhir-sdk's
//! MIME constant (it says 4.3).

pub use fhir_sdk::r4b::resources::{
    Device, HealthcareService, HealthcareServiceEligibility, Organization, Practitioner,
    PractitionerQualification, PractitionerRole,
};
pub use fhir_sdk::r4b::{codes, types};
pub use fhir_sdk::time;
pub use fhir_sdk::{BuilderError, Date, DateTime, Instant};

/// Serializes a Practitioner to compact JSON.
pub fn practitioner_to_vec(resource: &Practitioner) -> Vec<u8> {
    serde_json::to_vec(resource).expect("fhir-sdk types always serialize to JSON")
}

/// Serializes a PractitionerRole to compact JSON.
pub fn practitioner_role_to_vec(resource: &PractitionerRole) -> Vec<u8> {
    serde_json::to_vec(resource).expect("fhir-sdk types always serialize to JSON")
}

/// Serializes an Organization to compact JSON.
pub fn organization_to_vec(resource: &Organization) -> Vec<u8> {
    serde_json::to_vec(resource).expect("fhir-sdk types always serialize to JSON")
}

/// Serializes a HealthcareService to compact JSON.
pub fn healthcare_service_to_vec(resource: &HealthcareService) -> Vec<u8> {
    serde_json::to_vec(resource).expect("fhir-sdk types always serialize to JSON")
}

/// Serializes a Device to compact JSON.
pub fn device_to_vec(resource: &Device) -> Vec<u8> {
    serde_json::to_vec(resource).expect("fhir-sdk types always serialize to JSON")
}
