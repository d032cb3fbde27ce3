//! FHIR search: parameter declarations compiled from `conformance/`, index terms, query
//! parsing, evaluation over the store's indexes, and Bundle assembly.

pub mod date;
pub mod engine;
pub mod expr;
pub mod fold;
pub mod node;
pub mod params;
pub mod query;
pub mod terms;
