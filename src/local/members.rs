//! `_list`: the members of a stored `List` of one type, for searches and subscription filters.

use super::store::LocalStore;
use crate::fhir::ResourceType;
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
        let _ = (list_id, rtype, self.0);
        todo!("package A")
    }
}
