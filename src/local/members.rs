//! `_list`: the members of a stored `List` of one type, for searches and subscription filters.

use super::list::members;
use super::store::{LocalStore, LocalType, Read};
use crate::fhir::ResourceType;
use crate::generation::StoreError;
use crate::search::error::SearchError;
use crate::search::lists::ListMembers;

/// The lists of a local store, as a search sees them.
pub struct StoredLists<'s>(pub &'s LocalStore);

impl ListMembers for StoredLists<'_> {
    fn members(
        &self,
        list_id: &str,
        rtype: ResourceType,
    ) -> Result<Option<Vec<String>>, SearchError> {
        let read = self.0.read(LocalType::List, list_id).map_err(|e| {
            SearchError::Store(StoreError::Damaged {
                path: "data/local".into(),
                detail: e.to_string(),
            })
        })?;
        let Read::Found(list) = read else {
            return Ok(None);
        };
        Ok(Some(
            members(&list.json)
                .into_iter()
                .filter(|(member_type, _)| *member_type == Some(rtype))
                .map(|(_, id)| id)
                .collect(),
        ))
    }
}
