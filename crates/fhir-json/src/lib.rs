//! fhir-sdk's R4B types for the three resources annuaire serves, and one non-generic JSON
//! serializer per resource.
//!
//! Why a separate crate: every fhir-sdk resource embeds `contained: Vec<Resource>`, so serializing
//! even a Practitioner instantiates serde code for all FHIR types. Instantiated here, behind
//! plain functions, that cost is paid once when this crate is built; the main crate only links it
//! and its own rebuilds stay fast.
//!
//! R4B's Practitioner, PractitionerRole and Organization are R4's JSON; annuaire declares
//! FHIR 4.0.1 and never uses fhir-sdk's MIME constant (it says 4.3).

pub use fhir_sdk::r4b::resources::{
    Organization, Practitioner, PractitionerQualification, PractitionerRole,
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

/// The same resource with its elements in the order of their definitions, which FHIR XML
/// requires (JSON does not): read into fhir-sdk's types and written back. For resources built
/// as JSON values (the CapabilityStatement, SearchParameters), once when they are built.
pub fn in_definition_order(resource: &serde_json::Value) -> Result<serde_json::Value, String> {
    let typed: fhir_sdk::r4b::resources::Resource =
        serde_json::from_value(resource.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}
