//! Reads the search index of a served generation: postings by key or by prefix, the
//! `:contains` dictionaries and trigrams, forward references and sort columns, decoded as
//! [`super::encoding`] says from the raw tables [`Generation`] gives.
//!
//! Every scan goes through [`IndexReader::scan_postings`], which checks the search's budget as
//! it goes: a prefix can cover most of a type's terms, and no caller can forget the deadline.

use std::sync::Arc;

use roaring::{MultiOps, RoaringBitmap};

use super::encoding::{PostingsUnion, decode_bitmap, param_key, sort_key};
use super::forward::Forward;
use crate::fhir::ResourceType;
use crate::generation::format::{IndexTable, IndexValues};
use crate::generation::{Generation, Location, StoreError};
use crate::search::error::SearchError;
use crate::search::limits::{Budget, CHECK_EVERY};
use crate::search::terms::{self, FOLDED};

/// The `:contains` dictionary of a parameter: its folded terms, by term number, and where each
/// one's postings are in the index file. A needle matches hundreds of terms; finding each
/// one's postings by key was two thirds of a `:contains` search.
pub struct Dictionary {
    pub terms: Vec<String>,
    pub postings: Vec<Location>,
}

/// The index of one generation, read for one search (whose budget its scans check).
#[derive(Clone, Copy)]
pub struct IndexReader<'g> {
    generation: &'g Generation,
    budget: &'g Budget,
}

impl<'g> IndexReader<'g> {
    pub fn new(generation: &'g Generation, budget: &'g Budget) -> IndexReader<'g> {
        IndexReader { generation, budget }
    }

    pub fn generation(&self) -> &'g Generation {
        self.generation
    }

    pub fn budget(&self) -> &'g Budget {
        self.budget
    }

    fn decode(&self, bytes: &[u8]) -> Result<RoaringBitmap, StoreError> {
        decode_bitmap(self.generation.path(), bytes)
    }

    /// The documents of `rtype` having the term of `key` (see [`terms::key`]).
    pub fn postings(
        &self,
        rtype: ResourceType,
        key: &[u8],
    ) -> Result<Option<RoaringBitmap>, StoreError> {
        match self
            .generation
            .index_table(rtype, IndexTable::Postings)
            .get(key)?
        {
            Some(bytes) => self.decode(bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Visits the postings whose key starts with `prefix`, in key order, until `visit` returns
    /// false, checking the budget every [`CHECK_EVERY`] entries.
    pub fn scan_postings(
        &self,
        rtype: ResourceType,
        prefix: &[u8],
        mut visit: impl FnMut(&[u8], RoaringBitmap) -> bool,
    ) -> Result<(), SearchError> {
        let mut steps = 0usize;
        let mut stopped: Option<SearchError> = None;
        self.generation
            .index_table(rtype, IndexTable::Postings)
            .scan_prefix(prefix, &mut |key, bytes| {
                steps += 1;
                if steps.is_multiple_of(CHECK_EVERY)
                    && let Err(e) = self.budget.check()
                {
                    stopped = Some(e.into());
                    return false;
                }
                match self.decode(bytes) {
                    Ok(documents) => visit(key, documents),
                    Err(e) => {
                        stopped = Some(e.into());
                        false
                    }
                }
            })?;
        stopped.map_or(Ok(()), Err)
    }

    /// The union of the postings whose key starts with `prefix`.
    pub fn union_prefix(
        &self,
        rtype: ResourceType,
        prefix: &[u8],
    ) -> Result<RoaringBitmap, SearchError> {
        let mut parts = Vec::new();
        self.scan_postings(rtype, prefix, |_, documents| {
            parts.push(documents);
            true
        })?;
        Ok(parts.union())
    }

    /// The folded terms of a string parameter, by term number, with where their postings are
    /// (kept while the generation is open, after the first call).
    pub fn term_dictionary(
        &self,
        rtype: ResourceType,
        param: &str,
    ) -> Result<Arc<Dictionary>, StoreError> {
        self.generation.memo(rtype, "dictionary", param, || {
            let mut terms = Vec::new();
            self.generation
                .index_table(rtype, IndexTable::Terms)
                .scan_prefix(&param_key(param, &[]), &mut |_, term| {
                    terms.push(String::from_utf8_lossy(term).into_owned());
                    true
                })?;
            // The folded terms' postings follow term order.
            let mut postings = Vec::with_capacity(terms.len());
            self.generation
                .index_table(rtype, IndexTable::Postings)
                .scan_prefix(&terms::key(param, FOLDED, ""), &mut |_, value| {
                    postings.push(self.generation.index_location(value));
                    true
                })?;
            if postings.len() != terms.len() {
                return Err(self.generation.damaged(format!(
                    "the dictionary of {rtype}.{param} has {} terms but {} postings",
                    terms.len(),
                    postings.len()
                )));
            }
            Ok(Dictionary { terms, postings })
        })
    }

    /// Adds the documents of a dictionary term, at `location` (see [`Dictionary::postings`]),
    /// to `union`.
    pub fn add_postings_at(
        &self,
        location: Location,
        union: &mut PostingsUnion,
    ) -> Result<(), StoreError> {
        let bytes = self.generation.index_bytes(location)?;
        union.add(self.generation.path(), bytes)
    }

    /// The numbers of the dictionary terms containing `trigram`.
    pub fn trigram(
        &self,
        rtype: ResourceType,
        param: &str,
        trigram: &str,
    ) -> Result<Option<RoaringBitmap>, StoreError> {
        let key = param_key(param, trigram.as_bytes());
        match self
            .generation
            .index_table(rtype, IndexTable::Trigrams)
            .get(&key)?
        {
            Some(bytes) => self.decode(bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The forward references of a reference parameter (kept while the generation is open,
    /// after the first call).
    pub fn forward(
        &self,
        rtype: ResourceType,
        param: &str,
    ) -> Result<Option<Arc<Forward>>, StoreError> {
        let loaded = self.generation.memo(rtype, "forward", param, || {
            let Some(bytes) =
                self.generation
                    .index_value(rtype, IndexValues::Forward, param.as_bytes())?
            else {
                return Ok(None);
            };
            let forward = Forward::decode(bytes).ok_or_else(|| {
                self.generation
                    .damaged(format!("bad forward index {rtype}.{param}"))
            })?;
            Ok(Some(Arc::new(forward)))
        })?;
        Ok(loaded.as_ref().clone())
    }

    /// The sort column of a parameter: per document, the rank of its lowest value
    /// (`descending`: its highest) among the parameter's values, `u32::MAX` without one, as
    /// little-endian u32s, read in place.
    pub fn sort_ranks(
        &self,
        rtype: ResourceType,
        param: &str,
        descending: bool,
    ) -> Result<Option<&'g [u8]>, StoreError> {
        self.generation
            .index_value(rtype, IndexValues::Sort, &sort_key(param, descending))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::Clock;
    use crate::generation::reconcile::Retention;
    use crate::generation::{DataDir, Description, GenerationBuilder, Millis, open_current};
    use crate::search::limits::{Interrupted, Limits};

    /// A generation of `count` Practitioners, each with one identifier of the system `urn:x`.
    fn practitioners(count: usize) -> (tempfile::TempDir, Generation) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        let lock = data.lock_for_import().unwrap();
        let builder = GenerationBuilder::start(&data, &lock, 1 << 20).unwrap();
        for n in 0..count {
            let id = format!("p{n:05}");
            let json = format!(
                r#"{{"resourceType":"Practitioner","id":"{id}","meta":{{}},"identifier":[{{"system":"urn:x","value":"{n}"}}]}}"#
            );
            builder
                .write(ResourceType::Practitioner, &id, json.as_bytes())
                .unwrap();
        }
        let versioned = builder
            .version(None, Millis(1_793_491_200_000), Retention::default())
            .unwrap();
        versioned
            .index(|target| super::super::build::build(target, 1))
            .unwrap();
        versioned
            .commit(Description {
                id: "test".into(),
                inputs: String::new(),
                sources: Vec::new(),
            })
            .unwrap();
        let (_, generation) = open_current(&data, 1 << 20).unwrap();
        (dir, generation)
    }

    /// Counts the identifier terms a scan visits before it ends, calling `each` at each.
    fn visited(
        index: &IndexReader<'_>,
        mut each: impl FnMut(),
    ) -> (usize, Result<(), SearchError>) {
        let mut seen = 0;
        let prefix = terms::key("identifier", terms::CODE, "");
        let result = index.scan_postings(ResourceType::Practitioner, &prefix, |_, _| {
            seen += 1;
            each();
            true
        });
        (seen, result)
    }

    #[test]
    fn a_scan_stops_at_the_deadline() {
        let (_dir, generation) = practitioners(2_000);
        let unlimited = Budget::unlimited();
        let (all, result) = visited(&IndexReader::new(&generation, &unlimited), || {});
        assert!(result.is_ok());
        assert_eq!(all, 2_000, "one identifier term per practitioner");

        // The deadline passes while the scan runs: it stops at its next check.
        let (clock, time) = Clock::manual(time::OffsetDateTime::UNIX_EPOCH);
        let limits = Limits {
            deadline_ms: 50,
            ..Limits::default()
        };
        let budget = Budget::new(&limits, &clock);
        let mut step = 0;
        let (seen, result) = visited(&IndexReader::new(&generation, &budget), || {
            step += 1;
            if step == 300 {
                time.advance(Duration::from_millis(51));
            }
        });
        assert!(
            matches!(
                result,
                Err(SearchError::Interrupted(Interrupted::Deadline(50)))
            ),
            "{result:?}"
        );
        assert!(
            (300..300 + CHECK_EVERY).contains(&seen),
            "stopped after {seen} of {all} terms"
        );
    }

    #[test]
    fn dictionaries_and_forwards_are_read_once_and_kept() {
        let (_dir, generation) = practitioners(10);
        let budget = Budget::unlimited();
        let index = IndexReader::new(&generation, &budget);
        let first = index
            .term_dictionary(ResourceType::Practitioner, "name")
            .unwrap();
        let again = index
            .term_dictionary(ResourceType::Practitioner, "name")
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(
            index
                .forward(ResourceType::Practitioner, "no-such-param")
                .unwrap()
                .is_none()
        );
    }
}
