//! FHIR search, everything about it: the parameters compiled from `conformance/`
//! ([`params`]), the index terms and their keys ([`terms`]), the index build at import
//! ([`index`]), query parsing ([`query`]), evaluation over the indexes ([`engine`]), paging
//! and cursors ([`page`], [`cursor`]) and the Bundle ([`bundle`]). The parameters search shares
//! with history and `$export` are parsed once, in [`shared_params`]. The HTTP layer calls
//! [`query::parse`] then [`run`].

pub mod admission;
pub mod bundle;
pub mod cursor;
pub mod date;
pub mod engine;
pub mod error;
pub mod expr;
pub mod fold;
pub mod history;
pub mod index;
pub mod limits;
pub mod lists;
pub mod page;
pub mod params;
pub mod query;
pub mod redact;
pub mod searchset;
pub mod shared_params;
pub mod terminology;
pub mod terms;

pub use self::error::SearchError;
pub use self::searchset::{Context, SearchOutput, run};
