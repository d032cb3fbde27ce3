//! annuaire: a FHIR R4 directory server for the French Annuaire Santé open data.
//!
//! The data path, one module per step:
//! extraction files -> typed rows ([`extract`]) -> FHIR resources ([`mapping`]) -> generations
//! and their files ([`store`], written by [`import`]) -> indexes, query plans, paging and
//! Bundles ([`search`]) -> routes and headers ([`http`]), with [`auth`] at the edge.
//! [`conformance`] declares what is served; [`app`] builds the server from [`settings`], the
//! same way for `serve`, the demo and the tests.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod conformance;
pub mod demo;
pub mod export;
pub mod extract;
pub mod fhir;
pub mod http;
pub mod import;
pub mod mapping;
pub mod metrics;
pub mod parallel;
pub mod profiles;
pub mod progress;
pub mod search;
pub mod settings;
pub mod store;
