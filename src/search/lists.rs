//! `_list` (R4 search §3.1.1.5.10 "_list"): a search limited to the members of a `List`.
//!
//! The lists live in the local store, above this layer; a search reaches them through
//! [`ListMembers`], given in `searchset::Context::lists`. A `_list` clause becomes an `_id`
//! criterion over the list's members of the searched type, so it combines with every other
//! parameter, `_include`, `_revinclude`, paging and sorting exactly like `_id` does. A list that
//! does not exist is a 404; a list with no member of the type matches nothing.

use super::error::SearchError;
use super::params::Registry;
use super::query::{Criterion, Modifier, SearchRequest, SearchValue};
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

/// The criteria of `request`'s `_list` clauses (one `_id` criterion per list), to AND with its
/// other criteria. `lists` is `None` where no list is kept (the caller answers that first: a
/// replica sends `_list` searches to the writer).
pub fn criteria(
    request: &SearchRequest,
    lists: Option<&dyn ListMembers>,
) -> Result<Vec<Criterion>, SearchError> {
    if request.lists.is_empty() {
        return Ok(Vec::new());
    }
    let Some(lists) = lists else {
        return Err(SearchError::NotFound(
            "`_list`: this server keeps no lists; ask the writer".into(),
        ));
    };
    let id = Registry::get()
        .find(request.rtype, "_id")
        .expect("every served type has _id");
    request
        .lists
        .iter()
        .map(|list_id| {
            let members = lists
                .members(list_id, request.rtype)?
                .ok_or_else(|| SearchError::NotFound(format!("no List `{list_id}`")))?;
            Ok(Criterion::Param {
                param: id,
                modifier: Modifier::None,
                values: members
                    .into_iter()
                    .map(|member| SearchValue::Token {
                        system: None,
                        code: Some(member),
                    })
                    .collect(),
            })
        })
        .collect()
}
