//! Evaluating parsed criteria over a generation's indexes.
//!
//! Every criterion becomes a bitmap of document numbers; AND-ed criteria are intersected from
//! the smallest up. Chains and `_has` go through the forward reference index, never through
//! resources. Documents are numbered in id order, so a bitmap is already a result list sorted
//! by id, and a page is a range of it.

use std::collections::BTreeSet;

use roaring::{MultiOps, RoaringBitmap};

use super::date;
use super::error::SearchError;
use super::fold::fold;
use super::index::encoding::{NO_VALUE, PostingsUnion};
use super::index::reader::IndexReader;
use super::limits::{Budget, CHECK_EVERY, Limits};
use super::params::{ParamType, SearchParam};
use super::query::{Criterion, Include, Modifier, SearchValue, SortKey};
use super::terms::{self, CODE, EXACT, FOLDED, OF_TYPE, PRESENT, REFERENCE, SYSTEM, TEXT};
use crate::fhir::ResourceType;
use crate::generation::Generation;

/// Below this many targets, a chain looks up each target's reverse postings; above, it scans
/// the forward index of the source type.
const CHAIN_LOOKUP_LIMIT: u64 = 512;

pub struct Engine<'s> {
    index: IndexReader<'s>,
    /// The generation read (documents by number, for chains).
    store: &'s Generation,
    now_millis: i64,
}

fn all(store: &Generation, rtype: ResourceType) -> RoaringBitmap {
    let mut everything = RoaringBitmap::new();
    everything.insert_range(0..store.document_count(rtype));
    everything
}

impl<'s> Engine<'s> {
    /// An engine over a generation's index, within the reader's budget; `now` is the search's
    /// time (the caller reads it from its clock), which `ap` dates are compared with.
    pub fn new(index: IndexReader<'s>, now: time::OffsetDateTime) -> Engine<'s> {
        let now_millis = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        Engine {
            store: index.generation(),
            index,
            now_millis,
        }
    }

    /// Stops the search when it ran out of time or its client left.
    fn check(&self) -> Result<(), SearchError> {
        Ok(self.index.budget().check()?)
    }

    /// Documents of `rtype` matching every criterion.
    pub fn matches(
        &self,
        rtype: ResourceType,
        criteria: &[Criterion],
    ) -> Result<RoaringBitmap, SearchError> {
        if criteria.is_empty() {
            return Ok(all(self.store, rtype));
        }
        let mut sets = criteria
            .iter()
            .map(|c| self.criterion(rtype, c))
            .collect::<Result<Vec<_>, _>>()?;
        sets.sort_by_key(RoaringBitmap::len);
        let mut result = sets.remove(0);
        for set in &sets {
            if result.is_empty() {
                break;
            }
            result &= set;
        }
        Ok(result)
    }

    fn criterion(
        &self,
        rtype: ResourceType,
        criterion: &Criterion,
    ) -> Result<RoaringBitmap, SearchError> {
        match criterion {
            Criterion::Param {
                param,
                modifier,
                values,
            } => {
                let parts = values
                    .iter()
                    .map(|value| {
                        self.check()?;
                        self.value(rtype, param, *modifier, value)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let union = parts.union();
                if *modifier == Modifier::Not {
                    return Ok(all(self.store, rtype) - union);
                }
                Ok(union)
            }
            Criterion::Chain {
                reference,
                target,
                inner,
            } => {
                let targets = self.criterion(*target, inner)?;
                self.pointing_at(rtype, reference, *target, &targets)
            }
            Criterion::Has {
                source,
                reference,
                inner,
            } => {
                let sources = self.criterion(*source, inner)?;
                let Some(forward) = self.index.forward(*source, &reference.code)? else {
                    return Ok(RoaringBitmap::new());
                };
                Ok(from_unsorted(
                    sources
                        .iter()
                        .flat_map(|doc| forward.targets(doc).iter().copied()),
                ))
            }
        }
    }

    /// Documents of `rtype` whose `reference` points at one of `targets`.
    pub fn pointing_at(
        &self,
        rtype: ResourceType,
        reference: &SearchParam,
        target: ResourceType,
        targets: &RoaringBitmap,
    ) -> Result<RoaringBitmap, SearchError> {
        let mut out = RoaringBitmap::new();
        if targets.len() <= CHAIN_LOOKUP_LIMIT {
            let mut parts = Vec::new();
            for doc in targets {
                self.check()?;
                if let Some((id, _)) = self.store.document_id(target, doc)? {
                    let key = terms::key(&reference.code, REFERENCE, &format!("{target}/{id}"));
                    parts.extend(self.index.postings(rtype, &key)?);
                }
            }
            return Ok(parts.union());
        }
        let Some(forward) = self.index.forward(rtype, &reference.code)? else {
            return Ok(out);
        };
        for doc in 0..forward.documents() {
            if (doc as usize).is_multiple_of(CHECK_EVERY * 64) {
                self.check()?;
            }
            if forward.targets(doc).iter().any(|t| targets.contains(*t)) {
                out.insert(doc);
            }
        }
        Ok(out)
    }

    fn postings(
        &self,
        rtype: ResourceType,
        param: &str,
        kind: u8,
        term: &str,
    ) -> Result<RoaringBitmap, SearchError> {
        Ok(self
            .index
            .postings(rtype, &terms::key(param, kind, term))?
            .unwrap_or_default())
    }

    fn union_prefix(
        &self,
        rtype: ResourceType,
        prefix: &[u8],
    ) -> Result<RoaringBitmap, SearchError> {
        self.index.union_prefix(rtype, prefix)
    }

    fn value(
        &self,
        rtype: ResourceType,
        param: &SearchParam,
        modifier: Modifier,
        value: &SearchValue,
    ) -> Result<RoaringBitmap, SearchError> {
        let code = param.code.as_str();
        Ok(match value {
            SearchValue::Missing(missing) => {
                let present = self.postings(rtype, code, PRESENT, "")?;
                if *missing {
                    all(self.store, rtype) - present
                } else {
                    present
                }
            }
            SearchValue::String(text) => match (param.param_type, modifier) {
                (ParamType::Token, _) => {
                    self.union_prefix(rtype, &terms::key(code, TEXT, &fold(text)))?
                }
                (_, Modifier::Exact) => self.postings(rtype, code, EXACT, text)?,
                (_, Modifier::Contains) => self.contains(rtype, code, &fold(text))?,
                _ => {
                    let folded = fold(text);
                    if folded.chars().count() <= terms::PREFIX_MAX {
                        self.postings(rtype, code, terms::PREFIX, &folded)?
                    } else {
                        self.union_prefix(rtype, &terms::key(code, FOLDED, &folded))?
                    }
                }
            },
            SearchValue::Token {
                system,
                code: token,
            } if modifier == Modifier::Identifier => {
                let kind = terms::REFERENCE_IDENTIFIER;
                match (system, token) {
                    (None, Some(token)) => self.union_prefix(
                        rtype,
                        &terms::key(code, kind, &terms::code_term_prefix(token)),
                    )?,
                    (Some(system), Some(token)) => {
                        self.postings(rtype, code, kind, &terms::code_term(token, system))?
                    }
                    (Some(system), None) => {
                        let mut parts = Vec::new();
                        let suffix = terms::system_suffix(system);
                        self.index.scan_postings(
                            rtype,
                            &terms::key(code, kind, ""),
                            |key, docs| {
                                if key.ends_with(suffix.as_bytes()) {
                                    parts.push(docs);
                                }
                                true
                            },
                        )?;
                        parts.union()
                    }
                    (None, None) => RoaringBitmap::new(),
                }
            }
            SearchValue::Token {
                system,
                code: token,
            } => match (system, token) {
                (None, Some(token)) => self.union_prefix(
                    rtype,
                    &terms::key(code, CODE, &terms::code_term_prefix(token)),
                )?,
                (Some(system), Some(token)) => {
                    self.postings(rtype, code, CODE, &terms::code_term(token, system))?
                }
                (Some(system), None) => self.postings(rtype, code, SYSTEM, system)?,
                (None, None) => RoaringBitmap::new(),
            },
            SearchValue::OfType {
                type_system,
                type_code,
                value,
            } => self.postings(
                rtype,
                code,
                OF_TYPE,
                &terms::of_type_term(value, type_code, type_system),
            )?,
            SearchValue::Reference(reference) => {
                self.postings(rtype, code, REFERENCE, reference)?
            }
            SearchValue::Uri(uri) if modifier == Modifier::Below => {
                self.union_prefix(rtype, &terms::key(code, EXACT, uri))?
            }
            SearchValue::Uri(uri) => self.postings(rtype, code, EXACT, uri)?,
            SearchValue::Date(prefix, range) => {
                let mut parts = Vec::new();
                let prefix_key = terms::key(code, terms::DATE, "");
                self.index.scan_postings(rtype, &prefix_key, |key, docs| {
                    if let Some(target) = terms::decode_date_key(code, key)
                        && date::matches(*prefix, *range, target, self.now_millis)
                    {
                        parts.push(docs);
                    }
                    true
                })?;
                parts.union()
            }
        })
    }

    /// `:contains`: the dictionary terms containing `needle` (found through their trigrams),
    /// then the union of their documents.
    fn contains(
        &self,
        rtype: ResourceType,
        param: &str,
        needle: &str,
    ) -> Result<RoaringBitmap, SearchError> {
        let dictionary = self.index.term_dictionary(rtype, param)?;
        let trigrams = terms::trigrams(needle);
        let candidates: Box<dyn Iterator<Item = u32>> = if trigrams.is_empty() {
            Box::new(0..dictionary.terms.len() as u32)
        } else {
            let mut sets = Vec::with_capacity(trigrams.len());
            for trigram in &trigrams {
                match self.index.trigram(rtype, param, trigram)? {
                    Some(set) => sets.push(set),
                    None => return Ok(RoaringBitmap::new()),
                }
            }
            sets.sort_by_key(RoaringBitmap::len);
            let mut terms = sets.remove(0);
            for set in &sets {
                terms &= set;
            }
            Box::new(terms.into_iter())
        };
        let mut union = PostingsUnion::default();
        for (step, number) in candidates.enumerate() {
            if step % CHECK_EVERY == 0 {
                self.check()?;
            }
            let Some(term) = dictionary.terms.get(number as usize) else {
                continue;
            };
            if term.contains(needle) {
                self.index
                    .add_postings_at(dictionary.postings[number as usize], &mut union)?;
            }
        }
        Ok(union.finish())
    }

    /// The resources `_include`d by `page` (documents of `rtype`) and, for `:iterate`, by what
    /// they include in turn, at most `limits.max_included` of them and
    /// `limits.max_iterate_depth` rounds past the first. Returns the `(type, document)` pairs
    /// not in the page, and what was left out when a limit stopped it (R4 lets a server cap
    /// includes, and asks it to say so).
    pub fn includes(
        &self,
        rtype: ResourceType,
        page: &RoaringBitmap,
        includes: &[Include],
        revincludes: &[Include],
        limits: &Limits,
    ) -> Result<(Vec<(ResourceType, u32)>, Option<String>), SearchError> {
        let mut seen: BTreeSet<(ResourceType, u32)> = page.iter().map(|d| (rtype, d)).collect();
        let mut found: Vec<(ResourceType, u32)> = Vec::new();
        let mut frontier: Vec<(ResourceType, u32)> = page.iter().map(|d| (rtype, d)).collect();
        let mut round = 0;
        let full = |found: &Vec<(ResourceType, u32)>, next: &Vec<(ResourceType, u32)>| {
            found.len() + next.len() >= limits.max_included
        };
        while !frontier.is_empty() {
            if round > limits.max_iterate_depth {
                return Ok((
                    found,
                    Some(format!(
                        "`:iterate` stopped after {} rounds (limit `limits.max_iterate_depth`); further resources were not included",
                        limits.max_iterate_depth
                    )),
                ));
            }
            let first_round = round == 0;
            let mut next = Vec::new();
            for include in includes.iter().filter(|i| first_round || i.iterate) {
                let from_source =
                    |(t, _): &&(ResourceType, u32)| include.source.is_none_or(|s| s == *t);
                for (source_type, doc) in frontier.iter().filter(from_source) {
                    self.check()?;
                    for (param, target) in include.followed_params(*source_type) {
                        if let Some(forward) = self.index.forward(*source_type, &param.code)? {
                            for t in forward.targets(*doc) {
                                if full(&found, &next) {
                                    break;
                                }
                                if seen.insert((target, *t)) {
                                    next.push((target, *t));
                                }
                            }
                        }
                    }
                }
            }
            for include in revincludes.iter().filter(|i| first_round || i.iterate) {
                let Some(source) = include.source else {
                    continue;
                };
                for (param, target) in include.followed_params(source) {
                    let pointed: RoaringBitmap = frontier
                        .iter()
                        .filter(|(t, _)| *t == target)
                        .map(|(_, d)| *d)
                        .collect();
                    if pointed.is_empty() {
                        continue;
                    }
                    for doc in &self.pointing_at(source, param, target, &pointed)? {
                        if full(&found, &next) {
                            break;
                        }
                        if seen.insert((source, doc)) {
                            next.push((source, doc));
                        }
                    }
                }
            }
            let capped = full(&found, &next);
            found.extend(next.iter().copied());
            if capped {
                return Ok((
                    found,
                    Some(format!(
                        "only the first {} included resources are in this page (limit `limits.max_included`)",
                        limits.max_included
                    )),
                ));
            }
            frontier = next;
            round += 1;
        }
        Ok((found, None))
    }

    /// The values one sort key gives the documents of a type, as the rank of each document's
    /// value among the parameter's values: the sort column the index build wrote (4 bytes per
    /// document of the type, read in place from the index), or the document number itself for
    /// `_id` (documents are numbered in id order).
    pub fn sort_column(
        &self,
        rtype: ResourceType,
        key: &SortKey,
    ) -> Result<SortColumn<'s>, SearchError> {
        let ranks = if key.param.code == "_id" {
            Ranks::DocumentOrder
        } else {
            match self
                .index
                .sort_ranks(rtype, &key.param.code, key.descending)?
            {
                Some(ranks) => Ranks::Column(ranks),
                None => Ranks::NoValues,
            }
        };
        Ok(SortColumn {
            ranks,
            descending: key.descending,
        })
    }

    pub fn budget(&self) -> &Budget {
        self.index.budget()
    }
}

/// One sort key's value of every document of a type (see [`Engine::sort_column`]).
pub struct SortColumn<'s> {
    ranks: Ranks<'s>,
    descending: bool,
}

enum Ranks<'s> {
    /// `_id`: the document number is the rank.
    DocumentOrder,
    /// Little-endian u32 ranks by document number, as the index holds them.
    Column(&'s [u8]),
    /// A parameter without a sort column: no document has a value.
    NoValues,
}

impl SortColumn<'_> {
    /// The document's rank, `None` without a value.
    pub fn rank(&self, doc: u32) -> Option<u32> {
        match &self.ranks {
            Ranks::DocumentOrder => Some(doc),
            Ranks::Column(ranks) => {
                let at = doc as usize * 4;
                ranks
                    .get(at..at + 4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .filter(|r| *r != NO_VALUE)
            }
            Ranks::NoValues => None,
        }
    }

    /// The rank turned into a key that sorts in this column's direction, missing values last.
    pub fn order_key(&self, rank: Option<u32>) -> u32 {
        match rank {
            None => NO_VALUE,
            Some(r) if self.descending => NO_VALUE - 1 - r,
            Some(r) => r,
        }
    }
}

/// A bitmap from document numbers in any order (inserting unsorted numbers one by one into a
/// roaring bitmap is quadratic within a container).
fn from_unsorted(documents: impl Iterator<Item = u32>) -> RoaringBitmap {
    let mut documents: Vec<u32> = documents.collect();
    documents.sort_unstable();
    documents.dedup();
    RoaringBitmap::from_sorted_iter(documents).expect("sorted and deduplicated")
}
