//! Typed rows -> FHIR resources conforming to the ANS `as-dp-*` profiles.
//!
//! Follows docs/mapping.md column by column; the decision numbers (A1..A35) cited in
//! comments are that document's. Resources are built with fhir-sdk's types, then serialized
//! once to the JSON bytes the store keeps and the server sends.

pub mod address;
pub mod codesystem;
pub mod device;
pub mod elements;
pub mod healthcare_service;
pub mod ids;
pub mod labels;
pub mod mailbox;
pub mod nos;
pub mod organization;
pub mod practitioner;
pub mod telecom;
