//! Which documents make up a page, and the cursors around it.
//!
//! Unsorted results come in id order, which is document order: a page is a range of the
//! match bitmap, found from the cursor's id. Sorted results order every match by its sort
//! values (then by id) and take the rows after the cursor's `(values, id)`.

use roaring::RoaringBitmap;

use super::cursor::Cursor;
use super::engine::{Engine, compare_rows};
use super::query::SearchRequest;
use crate::fhir::ResourceType;
use crate::store::{ResourceStore, StoreError};

/// A page's documents, the cursor after it (when more follow) and the cursor before it
/// (`Some(None)`: the previous page is the first).
pub struct Page {
    pub documents: Vec<u32>,
    pub next: Option<Cursor>,
    pub previous: Option<Option<Cursor>>,
}

/// The page `request` asks for among `matches`.
pub fn select(
    engine: &Engine<'_>,
    store: &dyn ResourceStore,
    request: &SearchRequest,
    matches: &RoaringBitmap,
) -> Result<Page, StoreError> {
    if request.sort.is_empty() {
        by_id(store, request, matches)
    } else {
        sorted(engine, store, request, matches)
    }
}

fn id_of(store: &dyn ResourceStore, rtype: ResourceType, doc: u32) -> Result<String, StoreError> {
    Ok(store
        .document_id(rtype, doc)?
        .map(|(id, _)| id)
        .unwrap_or_default())
}

/// The previous page's cursor, from the position of this page's first row: none on the first
/// page, `Some(None)` when the previous page is the first.
fn previous_cursor(
    start: usize,
    count: usize,
    cursor_at: impl FnOnce(usize) -> Result<Cursor, StoreError>,
) -> Result<Option<Option<Cursor>>, StoreError> {
    Ok(if start == 0 || count == 0 {
        None
    } else if start <= count {
        Some(None)
    } else {
        Some(Some(cursor_at(start - count - 1)?))
    })
}

/// Unsorted results: id order, which is document order.
fn by_id(
    store: &dyn ResourceStore,
    request: &SearchRequest,
    matches: &RoaringBitmap,
) -> Result<Page, StoreError> {
    let rtype = request.rtype;
    let start_doc = match &request.cursor {
        Some(cursor) => store.first_document_after(rtype, &cursor.after)?,
        None => 0,
    };
    // Position of the page's first match in the whole list.
    let start = if start_doc == 0 {
        0
    } else {
        matches.rank(start_doc - 1) as usize
    };
    let documents: Vec<u32> = matches.range(start_doc..).take(request.count).collect();
    let cursor_after = |doc: u32| -> Result<Cursor, StoreError> {
        Ok(Cursor {
            generation: store.info().number,
            after: id_of(store, rtype, doc)?,
            keys: Vec::new(),
        })
    };
    let next = match documents.last() {
        Some(last) if matches.range(last + 1..).next().is_some() => Some(cursor_after(*last)?),
        _ => None,
    };
    let previous = previous_cursor(start, request.count, |index| {
        let before = matches.select(index as u32).expect("rank within bounds");
        cursor_after(before)
    })?;
    Ok(Page {
        documents,
        next,
        previous,
    })
}

/// Sorted results: every match's sort values, ordered, then the page after the cursor.
fn sorted(
    engine: &Engine<'_>,
    store: &dyn ResourceStore,
    request: &SearchRequest,
    matches: &RoaringBitmap,
) -> Result<Page, StoreError> {
    let rtype = request.rtype;
    let rows = engine.sorted(rtype, matches, &request.sort)?;
    let start = match &request.cursor {
        None => 0,
        Some(cursor) => {
            let after_doc = store.first_document_after(rtype, &cursor.after)?;
            // Rows strictly after (keys, id): same keys and a document at or after the first
            // document whose id follows the cursor's id.
            let probe = (cursor.keys.clone(), after_doc);
            rows.partition_point(|row| {
                compare_rows(&request.sort, row, &probe) == std::cmp::Ordering::Less
            })
        }
    };
    let documents: Vec<u32> = rows
        .iter()
        .skip(start)
        .take(request.count)
        .map(|(_, d)| *d)
        .collect();
    let cursor_at = |index: usize| -> Result<Cursor, StoreError> {
        let (keys, doc) = &rows[index];
        Ok(Cursor {
            generation: store.info().number,
            after: id_of(store, rtype, *doc)?,
            keys: keys.clone(),
        })
    };
    let end = start + documents.len();
    let next = if !documents.is_empty() && end < rows.len() {
        Some(cursor_at(end - 1)?)
    } else {
        None
    };
    let previous = previous_cursor(start, request.count, cursor_at)?;
    Ok(Page {
        documents,
        next,
        previous,
    })
}
