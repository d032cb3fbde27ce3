//! Which documents make up a page, and the cursors around it.
//!
//! Unsorted results come in id order, which is document order: a page is a range of the
//! match bitmap, found from the cursor's id. Sorted results are never materialised: each match
//! gets an integer key per sort key from the sort columns the index keeps (see
//! `engine::SortColumn`), and one pass over the matches keeps, in bounded heaps, only the page
//! after the cursor and the page before it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use roaring::RoaringBitmap;

use super::cursor::{BadCursor, Cursor, PageGeneration};
use super::engine::{Engine, SortColumn};
use super::error::SearchError;
use super::query::{QueryError, SearchRequest};
use crate::fhir::ResourceType;
use crate::generation::{Generation, StoreError};

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
    store: &Generation,
    request: &SearchRequest,
    matches: &RoaringBitmap,
) -> Result<Page, SearchError> {
    if request.sort.is_empty() {
        Ok(by_id(store, request, matches)?)
    } else {
        sorted(engine, store, request, matches)
    }
}

fn id_of(store: &Generation, rtype: ResourceType, doc: u32) -> Result<String, StoreError> {
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
    store: &Generation,
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
            generation: PageGeneration::of(store.info()),
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

/// A row of a sorted result: its keys in sort order (see [`SortColumn::order_key`]), then its
/// document number (id order breaks ties).
type Row = (Vec<u32>, u32);

/// Sorted results: the page after the cursor, and the row that starts the page before it, in
/// one pass over the matches with heaps of at most `count + 1` rows.
fn sorted(
    engine: &Engine<'_>,
    store: &Generation,
    request: &SearchRequest,
    matches: &RoaringBitmap,
) -> Result<Page, SearchError> {
    let rtype = request.rtype;
    let generation = PageGeneration::of(store.info());
    let columns: Vec<SortColumn<'_>> = request
        .sort
        .iter()
        .map(|key| engine.sort_column(rtype, key))
        .collect::<Result<_, _>>()?;
    // The cursor's row: its ranks are those of the generation it was issued on.
    let after: Option<Row> = match &request.cursor {
        None => None,
        Some(cursor) => {
            if cursor.generation.id != generation.id {
                return Err(QueryError::from(BadCursor::Replaced).into());
            }
            let doc = store
                .first_document_after(rtype, &cursor.after)?
                .checked_sub(1)
                .ok_or(QueryError::BadCursor(BadCursor::NoPosition))?;
            let keys = columns
                .iter()
                .zip(&cursor.keys)
                .map(|(c, rank)| c.order_key(*rank))
                .collect();
            Some((keys, doc))
        }
    };
    let count = request.count;
    // `next_rows`: the smallest `count + 1` rows after the cursor (a max-heap, its largest
    // evicted); `before`: the largest `count + 1` rows up to the cursor (a min-heap).
    let mut next_rows: BinaryHeap<Row> = BinaryHeap::with_capacity(count + 2);
    let mut before: BinaryHeap<Reverse<Row>> = BinaryHeap::with_capacity(count + 2);
    let mut start = 0usize;
    // The row being considered, in a buffer reused for every match: a row is allocated only
    // when it enters a heap.
    let mut keys: Vec<u32> = Vec::with_capacity(columns.len());
    let row_order = |keys: &[u32], doc: u32, row: &Row| keys.cmp(&row.0).then(doc.cmp(&row.1));
    for (step, doc) in matches.iter().enumerate() {
        if step % 4096 == 0 {
            engine.budget().check()?;
        }
        keys.clear();
        keys.extend(columns.iter().map(|c| c.order_key(c.rank(doc))));
        let is_before = after
            .as_ref()
            .is_some_and(|a| row_order(&keys, doc, a) != std::cmp::Ordering::Greater);
        if is_before {
            start += 1;
            let wanted = before.len() <= count
                || before
                    .peek()
                    .is_some_and(|Reverse(low)| row_order(&keys, doc, low).is_gt());
            if wanted {
                before.push(Reverse((keys.clone(), doc)));
                if before.len() > count + 1 {
                    before.pop();
                }
            }
        } else {
            let wanted = next_rows.len() <= count
                || next_rows
                    .peek()
                    .is_some_and(|high| row_order(&keys, doc, high).is_lt());
            if wanted {
                next_rows.push((keys.clone(), doc));
                if next_rows.len() > count + 1 {
                    next_rows.pop();
                }
            }
        }
    }
    let mut page: Vec<Row> = next_rows.into_sorted_vec();
    let more = page.len() > count;
    page.truncate(count);
    let cursor_of = |row: &Row| -> Result<Cursor, StoreError> {
        let (_, doc) = row;
        Ok(Cursor {
            generation: generation.clone(),
            after: id_of(store, rtype, *doc)?,
            keys: columns.iter().map(|c| c.rank(*doc)).collect(),
        })
    };
    let next = match page.last() {
        Some(last) if more => Some(cursor_of(last)?),
        _ => None,
    };
    let previous = if start == 0 || count == 0 {
        None
    } else if start <= count {
        Some(None)
    } else {
        // The smallest of the `count + 1` largest rows up to the cursor ends the page before
        // the previous one.
        let Reverse(row) = before.peek().expect("start > count rows were kept");
        Some(Some(cursor_of(row)?))
    };
    Ok(Page {
        documents: page.into_iter().map(|(_, doc)| doc).collect(),
        next,
        previous,
    })
}
