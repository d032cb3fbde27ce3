//! annuaire: a FHIR R4 directory server for the French Annuaire Santé open data.
//!
//! The data path, one module per step:
//! extraction files -> typed rows ([`extract`]) -> FHIR resources ([`mapping`]) -> generations,
//! versions and history ([`generation`]) -> indexes, query plans, paging and Bundles
//! ([`search`]) -> routes and headers ([`http`]), with [`auth`] at the edge. What a hospital
//! writes (lists, subscriptions) lives beside the generations in [`local`], and [`notify`]
//! tells subscribers what changed. [`import`] drives
//! the write path (files in, a generation out); [`conformance`] declares what is served; [`app`]
//! builds the server from [`settings`], the same way for `serve`, the demo and the tests.
//!
//! Each module imports only from the ones before it on that path, and no file imports a file
//! that imports it back: `tests/architecture.rs` reads the imports and holds the order.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod conformance;
pub mod demo;
pub mod export;
pub mod extract;
pub mod fhir;
pub mod generation;
pub mod http;
pub mod import;
pub mod local;
pub mod mapping;
pub mod metrics;
pub mod notify;
pub mod parallel;
pub mod profiles;
pub mod progress;
pub mod search;
pub mod settings;
