//! The media types of FHIR bodies. A leaf: the error responses, the format middleware and the
//! handlers all write them.

/// `Content-Type` of every FHIR JSON body. FHIR 4.0.1 JSON: no `fhirVersion` parameter is
/// needed for R4, and fhir-sdk's constant (which says 4.3) is deliberately not used.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// `Content-Type` of every FHIR XML body.
pub const FHIR_XML: &str = "application/fhir+xml; charset=utf-8";

/// `Content-Type` of the Bulk Data export files.
pub const NDJSON: &str = "application/fhir+ndjson";
