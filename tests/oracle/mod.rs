//! A naive oracle of FHIR R4 search over the directory's three resource types, and the
//! generator of the queries it is compared with the engine on (see tests/search_oracle.rs).

pub mod client;
pub mod data;
pub mod dates;
pub mod eval;
pub mod fold;
pub mod generate;
pub mod query;
