//! Evaluating parsed criteria over a generation's indexes.
//!
//! Every criterion becomes a bitmap of document numbers; AND-ed criteria are intersected from
//! the smallest up. Chains and `_has` go through the forward reference index, never through
//! resources. Documents are numbered in id order, so a bitmap is already a result list sorted
//! by id, and a page is a range of it.

use std::collections::BTreeSet;

use roaring::{MultiOps, RoaringBitmap};

use super::date;
use super::fold::fold;
use super::params::SearchParam;
use super::query::{Criterion, Include, Modifier, SearchValue, SortKey};
use super::terms::{self, CODE, EXACT, FOLDED, OF_TYPE, PRESENT, REFERENCE, SYSTEM, TEXT};
use crate::fhir::ResourceType;
use crate::search::params::ParamType;
use crate::store::{ResourceStore, StoreError};

/// Below this many targets, a chain looks up each target's reverse postings; above, it scans
/// the forward index of the source type.
const CHAIN_LOOKUP_LIMIT: u64 = 512;

pub struct Engine<'s> {
    store: &'s dyn ResourceStore,
    now_millis: i64,
}

fn all(store: &dyn ResourceStore, rtype: ResourceType) -> RoaringBitmap {
    let mut everything = RoaringBitmap::new();
    everything.insert_range(0..store.document_count(rtype));
    everything
}

impl<'s> Engine<'s> {
    pub fn new(store: &'s dyn ResourceStore) -> Engine<'s> {
        let now_millis =
            (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        Engine { store, now_millis }
    }

    /// Documents of `rtype` matching every criterion.
    pub fn matches(
        &self,
        rtype: ResourceType,
        criteria: &[Criterion],
    ) -> Result<RoaringBitmap, StoreError> {
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
    ) -> Result<RoaringBitmap, StoreError> {
        match criterion {
            Criterion::Param {
                param,
                modifier,
                values,
            } => {
                let parts = values
                    .iter()
                    .map(|value| self.value(rtype, param, *modifier, value))
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
                let Some(forward) = self.store.forward(*source, &reference.code)? else {
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
    ) -> Result<RoaringBitmap, StoreError> {
        let mut out = RoaringBitmap::new();
        if targets.len() <= CHAIN_LOOKUP_LIMIT {
            let mut parts = Vec::new();
            for doc in targets {
                if let Some((id, _)) = self.store.document_id(target, doc)? {
                    let key = terms::key(&reference.code, REFERENCE, &format!("{target}/{id}"));
                    parts.extend(self.store.postings(rtype, &key)?);
                }
            }
            return Ok(parts.union());
        }
        let Some(forward) = self.store.forward(rtype, &reference.code)? else {
            return Ok(out);
        };
        for doc in 0..forward.documents() {
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
    ) -> Result<RoaringBitmap, StoreError> {
        Ok(self
            .store
            .postings(rtype, &terms::key(param, kind, term))?
            .unwrap_or_default())
    }

    fn union_prefix(
        &self,
        rtype: ResourceType,
        prefix: &[u8],
    ) -> Result<RoaringBitmap, StoreError> {
        let mut parts = Vec::new();
        self.store.scan_postings(rtype, prefix, &mut |_, docs| {
            parts.push(docs);
            true
        })?;
        Ok(parts.union())
    }

    fn value(
        &self,
        rtype: ResourceType,
        param: &SearchParam,
        modifier: Modifier,
        value: &SearchValue,
    ) -> Result<RoaringBitmap, StoreError> {
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
                        self.store.scan_postings(
                            rtype,
                            &terms::key(code, kind, ""),
                            &mut |key, docs| {
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
            SearchValue::Date(prefix, range) => {
                let mut parts = Vec::new();
                let prefix_key = terms::key(code, terms::DATE, "");
                self.store
                    .scan_postings(rtype, &prefix_key, &mut |key, docs| {
                        if let Some(target) = terms::decode_date_key(code, key) {
                            if date::matches(*prefix, *range, target, self.now_millis) {
                                parts.push(docs);
                            }
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
    ) -> Result<RoaringBitmap, StoreError> {
        let dictionary = self.store.term_dictionary(rtype, param)?;
        let trigrams = terms::trigrams(needle);
        let candidates: Box<dyn Iterator<Item = u32>> = if trigrams.is_empty() {
            Box::new(0..dictionary.len() as u32)
        } else {
            let mut sets = Vec::with_capacity(trigrams.len());
            for trigram in &trigrams {
                match self.store.trigram(rtype, param, trigram)? {
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
        let mut parts = Vec::new();
        for number in candidates {
            let Some(term) = dictionary.get(number as usize) else {
                continue;
            };
            if term.contains(needle) {
                parts.push(self.postings(rtype, param, FOLDED, term)?);
            }
        }
        Ok(parts.union())
    }

    /// The resources `_include`d by `page` (documents of `rtype`) and, for `:iterate`, by what
    /// they include in turn. Returns `(type, document)` pairs not already in `exclude`.
    pub fn includes(
        &self,
        rtype: ResourceType,
        page: &RoaringBitmap,
        includes: &[Include],
        revincludes: &[Include],
    ) -> Result<Vec<(ResourceType, u32)>, StoreError> {
        let mut seen: BTreeSet<(ResourceType, u32)> = page.iter().map(|d| (rtype, d)).collect();
        let mut found: Vec<(ResourceType, u32)> = Vec::new();
        let mut frontier: Vec<(ResourceType, u32)> = page.iter().map(|d| (rtype, d)).collect();
        let mut first_round = true;
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for include in includes.iter().filter(|i| first_round || i.iterate) {
                let from_source =
                    |(t, _): &&(ResourceType, u32)| include.source.is_none_or(|s| s == *t);
                for (source_type, doc) in frontier.iter().filter(from_source) {
                    for (param, target) in include.followed_params(*source_type) {
                        if let Some(forward) = self.store.forward(*source_type, &param.code)? {
                            for t in forward.targets(*doc) {
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
                        if seen.insert((source, doc)) {
                            next.push((source, doc));
                        }
                    }
                }
            }
            found.extend(next.iter().copied());
            frontier = next;
            first_round = false;
        }
        Ok(found)
    }

    /// Orders `matches` by the sort keys (then by id), returning document numbers.
    pub fn sorted(
        &self,
        rtype: ResourceType,
        matches: &RoaringBitmap,
        sort: &[SortKey],
    ) -> Result<Vec<(Vec<Option<Vec<u8>>>, u32)>, StoreError> {
        let mut rows: Vec<(Vec<Option<Vec<u8>>>, u32)> = matches
            .iter()
            .map(|d| (Vec::with_capacity(sort.len()), d))
            .collect();
        for key in sort {
            let values = self.sort_values(rtype, matches, key)?;
            for (keys, doc) in &mut rows {
                keys.push(values.get(doc).cloned().flatten());
            }
        }
        rows.sort_by(|a, b| compare_rows(sort, a, b));
        Ok(rows)
    }

    /// Each matched document's sort value for `key`: its lowest term (ascending) or highest
    /// (descending), as index bytes, which sort like the values.
    fn sort_values(
        &self,
        rtype: ResourceType,
        matches: &RoaringBitmap,
        key: &SortKey,
    ) -> Result<std::collections::HashMap<u32, Option<Vec<u8>>>, StoreError> {
        let kind = match key.param.param_type {
            ParamType::String => FOLDED,
            ParamType::Date => terms::DATE,
            _ => CODE,
        };
        let prefix = terms::key(&key.param.code, kind, "");
        let mut values = std::collections::HashMap::new();
        self.store
            .scan_postings(rtype, &prefix, &mut |term, docs| {
                for doc in &(docs & matches) {
                    let value = Some(term[prefix.len()..].to_vec());
                    if key.descending {
                        values.insert(doc, value); // later terms are higher: the last wins
                    } else {
                        values.entry(doc).or_insert(value);
                    }
                }
                true
            })?;
        Ok(values)
    }
}

/// Sort order of rows: each key ascending or descending (documents without a value last),
/// then document number (id order).
pub fn compare_rows(
    sort: &[SortKey],
    a: &(Vec<Option<Vec<u8>>>, u32),
    b: &(Vec<Option<Vec<u8>>>, u32),
) -> std::cmp::Ordering {
    for (i, key) in sort.iter().enumerate() {
        let ordering = match (&a.0[i], &b.0[i]) {
            (Some(x), Some(y)) if key.descending => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        if ordering != std::cmp::Ordering::Equal {
            return ordering;
        }
    }
    a.1.cmp(&b.1)
}

/// A bitmap from document numbers in any order (inserting unsorted numbers one by one into a
/// roaring bitmap is quadratic within a container).
fn from_unsorted(documents: impl Iterator<Item = u32>) -> RoaringBitmap {
    let mut documents: Vec<u32> = documents.collect();
    documents.sort_unstable();
    documents.dedup();
    RoaringBitmap::from_sorted_iter(documents).expect("sorted and deduplicated")
}
