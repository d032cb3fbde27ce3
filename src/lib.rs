//! annuaire: a FHIR R4 directory server for the French Annuaire Santé open data.
//!
//! The data path, one module per step:
//! extraction files -> typed rows ([`extract`]) -> FHIR resources ([`mapping`]) -> store
//! ([`store`], written by [`import`]) -> HTTP ([`http`]), declared by [`conformance`].

pub mod auth;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod extract;
pub mod generate;
pub mod http;
pub mod import;
pub mod mapping;
pub mod profiles;
pub mod progress;
pub mod resource_type;
pub mod search;
pub mod serve;
pub mod store;
