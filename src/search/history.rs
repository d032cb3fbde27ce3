//! The history interactions (R4 http.html#history): `GET [type]/[id]/_history`,
//! `GET [type]/_history` and `GET /_history`, with `_since`, `_at`, `_count` and paging.
//!
//! A history is every version (current, past, deactivated) and every deletion, newest first,
//! then by type, id and version newest first. Current versions come from the generation's
//! resources (by their `lastUpdated`, through the `_lastUpdated` index), past ones from its
//! history index; the two ordered streams are merged, and a page ends at a
//! [`HistoryCursor`]: the next page resumes strictly after that entry in whichever generation is
//! current, so an import between two pages neither repeats nor skips an older entry.

use std::cmp::Ordering;

use roaring::RoaringBitmap;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::cursor::{CursorKey, HistoryCursor};
use super::date;
use super::error::SearchError;
use super::index::reader::IndexReader;
use super::redact::Redaction;
use super::searchset::{Context, SearchOutput};
use super::shared_params::{Count, QueryError, Since, is_presentation};
use super::terms;
use crate::fhir::{FhirId, ResourceType};
use crate::generation::history::{self as store_history, HistoryEntry, Kind};
use crate::generation::{Generation, Millis, StoreError, StoredResource, Version};

/// Whose history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Instance(ResourceType, FhirId),
    Type(ResourceType),
    System,
}

impl Scope {
    fn includes(&self, rtype: ResourceType) -> bool {
        match self {
            Scope::Instance(t, _) | Scope::Type(t) => *t == rtype,
            Scope::System => true,
        }
    }

    fn path(&self) -> String {
        match self {
            Scope::Instance(rtype, id) => format!("{rtype}/{id}/_history"),
            Scope::Type(rtype) => format!("{rtype}/_history"),
            Scope::System => "_history".to_owned(),
        }
    }
}

/// A parsed history request.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    pub scope: Scope,
    /// `_since`: versions made at or after this instant.
    pub since: Option<Millis>,
    /// `_at`: versions current at some moment of this period.
    pub at: Option<(Millis, Millis)>,
    /// Entries per page (`_count`, see [`Count`]).
    pub count: usize,
    pub cursor: Option<HistoryCursor>,
    /// The parameters applied, for the links.
    applied: Vec<(String, String)>,
}

/// Parses the parameters of a history interaction.
pub fn parse(
    scope: Scope,
    params: &[(String, String)],
    key: &CursorKey,
) -> Result<HistoryRequest, QueryError> {
    let mut request = HistoryRequest {
        scope,
        since: None,
        at: None,
        count: Count::DEFAULT.get(),
        cursor: None,
        applied: Vec::new(),
    };
    for (name, value) in params {
        match name.as_str() {
            "_since" => request.since = Some(Since::parse(value)?.instant()),
            "_at" => {
                let range = date::parse(value).map_err(|e| QueryError::invalid(name, value, e))?;
                request.at = Some((Millis(range.start), Millis(range.end)));
            }
            "_count" => request.count = Count::parse(value)?.get(),
            "_cursor" => {
                request.cursor = Some(HistoryCursor::decode(value, key)?);
                continue;
            }
            name if is_presentation(name) => continue,
            other => {
                return Err(QueryError::Unsupported(format!(
                    "`{other}` is not a parameter of the history interaction (it takes _since, _at and _count)"
                )));
            }
        }
        request.applied.push((name.clone(), value.clone()));
    }
    Ok(request)
}

/// One entry of a history: a version (current or past) or a deletion. Its content is read
/// only once the page is chosen (candidates of two streams are merged first).
struct Item {
    rtype: ResourceType,
    id: String,
    version: Version,
    source: Source,
}

/// Where an item's content is.
enum Source {
    /// A current version, by document number.
    Document(u32),
    /// A current version already read.
    Read(StoredResource),
    /// A past version or a deletion.
    Past(HistoryEntry),
}

impl Source {
    /// The content; `None` for a deletion.
    fn load(
        self,
        store: &Generation,
        rtype: ResourceType,
    ) -> Result<Option<StoredResource>, StoreError> {
        match self {
            Source::Document(doc) => Ok(store.document(rtype, doc)?.map(|(_, r)| r)),
            Source::Read(resource) => Ok(Some(resource)),
            Source::Past(entry) => store.past_version(&entry),
        }
    }
}

impl Item {
    fn cursor(&self) -> HistoryCursor {
        HistoryCursor {
            time: self.version.last_updated,
            type_byte: store_history::type_byte(self.rtype),
            id: self.id.clone(),
            version: self.version.number,
        }
    }
}

/// History order: newest first, then type, id, and version newest first.
fn order(a: &HistoryCursor, b: &HistoryCursor) -> Ordering {
    b.time
        .cmp(&a.time)
        .then(a.type_byte.cmp(&b.type_byte))
        .then(a.id.cmp(&b.id))
        .then(b.version.cmp(&a.version))
}

/// Whether an entry with key `key` comes after the cursor (or there is none).
fn after(cursor: Option<&HistoryCursor>, key: &HistoryCursor) -> bool {
    cursor.is_none_or(|c| order(c, key) == Ordering::Less)
}

/// Runs a history request on one generation.
pub fn run(
    store: &Generation,
    request: &HistoryRequest,
    context: &Context<'_>,
) -> Result<SearchOutput, SearchError> {
    let redaction = context.redaction;
    let wanted = request.count + 1;
    let mut items = match &request.scope {
        Scope::Instance(rtype, id) => instance(store, *rtype, id, request)?,
        _ => {
            let index = IndexReader::new(store, context.budget);
            let current = current_versions(&index, request, wanted)?;
            let past = past_versions(store, request, wanted)?;
            merge(current, past, wanted)
        }
    };
    let more = items.len() > request.count;
    items.truncate(request.count);
    let next = if more {
        items.last().map(Item::cursor)
    } else {
        None
    };
    let mut page = Vec::with_capacity(items.len());
    for item in items {
        context.budget.check()?;
        let Item {
            rtype,
            id,
            version,
            source,
        } = item;
        let resource = source.load(store, rtype)?;
        page.push((
            Item {
                rtype,
                id,
                version,
                source: Source::Document(0),
            },
            resource,
        ));
    }
    let bundle = write_bundle(store, request, context, &page, next.as_ref(), redaction);
    Ok(SearchOutput {
        bundle,
        returned: page.iter().filter(|(_, r)| r.is_some()).count() as u64,
    })
}

/// Whether an item passes `_since` and `_at`; `superseded` is when the version stopped being
/// current (`None`: it still is).
fn selected(
    request: &HistoryRequest,
    version: Version,
    superseded: Option<Millis>,
    deleted: bool,
) -> bool {
    if request
        .since
        .is_some_and(|since| version.last_updated < since)
    {
        return false;
    }
    match request.at {
        None => true,
        Some((start, end)) => {
            version.last_updated < end && (deleted || superseded.is_none_or(|until| start < until))
        }
    }
}

fn past_item(entry: HistoryEntry) -> Item {
    Item {
        rtype: entry.rtype,
        id: entry.id.clone(),
        version: entry.version,
        source: Source::Past(entry),
    }
}

/// The history of one resource: its current version, then its past ones.
fn instance(
    store: &Generation,
    rtype: ResourceType,
    id: &FhirId,
    request: &HistoryRequest,
) -> Result<Vec<Item>, SearchError> {
    let mut items = Vec::new();
    let current = store.read(rtype, id)?;
    let past = store.history(rtype, id)?;
    if current.is_none() && past.is_empty() {
        return Err(SearchError::NotFound(format!(
            "{rtype}/{id} is not known to this server"
        )));
    }
    if let Some(current) = current
        && selected(request, current.version, None, false)
    {
        items.push(Item {
            rtype,
            id: id.to_string(),
            version: current.version,
            source: Source::Read(current),
        });
    }
    for entry in past.into_iter().rev() {
        let deleted = entry.kind == Kind::Deleted;
        if selected(request, entry.version, Some(entry.superseded), deleted) {
            items.push(past_item(entry));
        }
    }
    let cursor = request.cursor.as_ref();
    items.retain(|item| after(cursor, &item.cursor()));
    items.truncate(request.count + 1);
    Ok(items)
}

/// The current resources of `rtype` last updated after `since`, read from the `_lastUpdated`
/// index (a few keys: resources keep their time until their content changes) instead of from
/// every resource.
pub fn updated_after(
    index: &IndexReader<'_>,
    rtype: ResourceType,
    since: Millis,
) -> Result<RoaringBitmap, SearchError> {
    let mut documents = RoaringBitmap::new();
    let prefix = terms::key("_lastUpdated", terms::DATE, "");
    index.scan_postings(rtype, &prefix, |key, slice| {
        if terms::decode_date_key("_lastUpdated", key).is_some_and(|range| range.start > since.0) {
            documents |= slice;
        }
        true
    })?;
    Ok(documents)
}

/// One run of current versions sharing a `lastUpdated` and a type.
struct Slice {
    time: Millis,
    rtype: ResourceType,
    documents: RoaringBitmap,
}

/// Current versions in history order, from the cursor on, at most `limit`.
fn current_versions(
    index: &IndexReader<'_>,
    request: &HistoryRequest,
    limit: usize,
) -> Result<Vec<Item>, SearchError> {
    let store = index.generation();
    let mut slices = Vec::new();
    for rtype in ResourceType::ALL {
        if !request.scope.includes(rtype) {
            continue;
        }
        let prefix = terms::key("_lastUpdated", terms::DATE, "");
        index.scan_postings(rtype, &prefix, |key, documents| {
            if let Some(range) = terms::decode_date_key("_lastUpdated", key) {
                slices.push(Slice {
                    time: Millis(range.start),
                    rtype,
                    documents,
                });
            }
            true
        })?;
    }
    slices.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then(store_history::type_byte(a.rtype).cmp(&store_history::type_byte(b.rtype)))
    });
    let cursor = request.cursor.as_ref();
    let mut items = Vec::new();
    for slice in slices {
        if request.since.is_some_and(|since| slice.time < since) {
            break;
        }
        if request.at.is_some_and(|(_, end)| slice.time >= end) {
            continue;
        }
        let type_byte = store_history::type_byte(slice.rtype);
        // Skip whole slices before the cursor's, and start inside the cursor's own.
        let mut first = 0;
        if let Some(c) = cursor {
            match slice
                .time
                .cmp(&c.time)
                .reverse()
                .then(type_byte.cmp(&c.type_byte))
            {
                Ordering::Less => continue,
                Ordering::Equal => {
                    first = store
                        .first_document_after(slice.rtype, &c.id)?
                        .saturating_sub(1);
                }
                Ordering::Greater => {}
            }
        }
        for doc in slice.documents.range(first..) {
            let Some((id, record)) = store.document_id(slice.rtype, doc)? else {
                continue;
            };
            let item = Item {
                rtype: slice.rtype,
                id,
                version: record.version,
                source: Source::Document(doc),
            };
            if !after(cursor, &item.cursor()) {
                continue;
            }
            items.push(item);
            if items.len() >= limit {
                return Ok(items);
            }
        }
    }
    Ok(items)
}

/// Past versions and deletions in history order, from the cursor on, at most `limit`.
fn past_versions(
    store: &Generation,
    request: &HistoryRequest,
    limit: usize,
) -> Result<Vec<Item>, SearchError> {
    let cursor = request.cursor.as_ref();
    // From the cursor's own entry (skipped below), not from the start of its time: an import's
    // changes all share one time.
    let start = match cursor {
        Some(c) => store_history::time_key(c.time, c.type_byte, &c.id, c.version),
        None => Vec::new(),
    };
    let mut entries = Vec::new();
    store.scan_history_by_time(&start, &mut |entry| {
        if request
            .since
            .is_some_and(|since| entry.version.last_updated < since)
        {
            return false;
        }
        let deleted = entry.kind == Kind::Deleted;
        let key = HistoryCursor {
            time: entry.version.last_updated,
            type_byte: store_history::type_byte(entry.rtype),
            id: entry.id.clone(),
            version: entry.version.number,
        };
        if request.scope.includes(entry.rtype)
            && after(cursor, &key)
            && selected(request, entry.version, Some(entry.superseded), deleted)
        {
            entries.push(entry);
        }
        if entries.len() >= limit {
            return false;
        }
        true
    })?;
    Ok(entries.into_iter().map(past_item).collect())
}

/// Merges two streams in history order, keeping the first `limit`.
fn merge(current: Vec<Item>, past: Vec<Item>, limit: usize) -> Vec<Item> {
    let mut out = Vec::with_capacity(limit);
    let mut a = current.into_iter().peekable();
    let mut b = past.into_iter().peekable();
    while out.len() < limit {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => order(&x.cursor(), &y.cursor()) != Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.push(if take_a { a.next() } else { b.next() }.expect("peeked"));
    }
    out
}

fn link(
    base: &str,
    request: &HistoryRequest,
    cursor: Option<&HistoryCursor>,
    key: &CursorKey,
) -> String {
    let mut pairs: Vec<(String, String)> = request.applied.clone();
    if request.count != Count::DEFAULT.get() && !pairs.iter().any(|(k, _)| k == "_count") {
        pairs.push(("_count".into(), request.count.to_string()));
    }
    if let Some(cursor) = cursor {
        pairs.push(("_cursor".into(), cursor.encode(key)));
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let path = request.scope.path();
    if query.is_empty() {
        format!("{base}/{path}")
    } else {
        format!("{base}/{path}?{query}")
    }
}

fn write_bundle(
    store: &Generation,
    request: &HistoryRequest,
    context: &Context<'_>,
    items: &[(Item, Option<StoredResource>)],
    next: Option<&HistoryCursor>,
    redaction: &Redaction,
) -> Vec<u8> {
    let (base, key) = (context.base, context.cursor_key);
    let this = link(base, request, request.cursor.as_ref(), key);
    let mut links = vec![json!({"relation": "self", "url": this})];
    if request.cursor.is_some() {
        links.push(json!({"relation": "first", "url": link(base, request, None, key)}));
    }
    if let Some(next) = next {
        links.push(json!({"relation": "next", "url": link(base, request, Some(next), key)}));
    }
    let mut id = Sha256::new();
    id.update(store.info().id().as_bytes());
    id.update(this.as_bytes());
    let id: String = id.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let head = json!({
        "resourceType": "Bundle",
        "id": id,
        // The watermark: `_since` of it next time returns none of these versions again.
        "meta": {"lastUpdated": store.info().watermark().to_rfc3339()},
        "type": "history",
        "link": links,
    });
    let mut out = serde_json::to_vec(&head).expect("JSON serializes");
    out.pop(); // the closing brace: entries follow
    if !items.is_empty() {
        out.extend_from_slice(br#","entry":["#);
        for (i, (item, resource)) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_entry(&mut out, base, item, resource.as_ref(), redaction);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

/// One history entry: the resource (none for a deletion), the interaction that made the
/// version (`POST` for the first, `PUT` for the next, `DELETE`), and its outcome.
fn write_entry(
    out: &mut Vec<u8>,
    base: &str,
    item: &Item,
    resource: Option<&StoredResource>,
    redaction: &Redaction,
) {
    let rtype = item.rtype;
    let url = format!("{rtype}/{}", item.id);
    let (method, request_url, status) = match (resource, item.version.number) {
        (None, _) => ("DELETE", url.clone(), "204"),
        (Some(_), 1) => ("POST", rtype.to_string(), "201"),
        (Some(_), _) => ("PUT", url.clone(), "200"),
    };
    out.extend_from_slice(b"{\"fullUrl\":");
    serde_json::to_writer(&mut *out, &format!("{base}/{url}")).expect("writing to a Vec");
    if let Some(resource) = resource {
        out.extend_from_slice(b",\"resource\":");
        if redaction.elements(rtype).is_empty() {
            resource.write_json(out);
        } else {
            out.extend_from_slice(&redaction.apply(rtype, &resource.to_json()));
        }
    }
    let tail = json!({
        "request": {"method": method, "url": request_url},
        "response": {
            "status": status,
            "etag": item.version.etag(),
            "lastModified": item.version.last_updated.to_rfc3339(),
        },
    });
    let tail = serde_json::to_vec(&tail).expect("JSON serializes");
    out.push(b',');
    out.extend_from_slice(&tail[1..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_bad_cursor_is_told_as_a_search_tells_it() {
        let key = CursorKey::new(b"tests");
        let query = pairs(&[("_cursor", "garbage")]);
        let history = parse(Scope::System, &query, &key).unwrap_err();
        let search =
            super::super::query::parse(ResourceType::Practitioner, &query, true).unwrap_err();
        assert_eq!(history, search);
        assert!(matches!(history, QueryError::BadCursor(_)), "{history:?}");
        assert_eq!(
            history.to_string(),
            "invalid value `garbage` for parameter `_cursor`: not a cursor this server issued"
        );
    }
}
