//! `_list` (R4 search §3.1.1.5.10 "_list"): a search limited to the members of a `List`.
//!
//! The lists live in the local store, above this layer; a search reaches them through
//! [`ListMembers`], given in `searchset::Context::lists` (package A wires `_list` through
//! `query` and the engine: a `_list` clause matches the members' documents; a list that does
//! not exist is a 404-like client error, a list with no member of the type matches nothing).

use super::error::SearchError;
use crate::fhir::ResourceType;

/// Where a search finds the members of a list.
pub trait ListMembers: Send + Sync {
    /// The ids of the `rtype` items of list `list_id` (without their type), or `None` when no
    /// such list exists (deleted included).
    fn members(
        &self,
        list_id: &str,
        rtype: ResourceType,
    ) -> Result<Option<Vec<String>>, SearchError>;
}
