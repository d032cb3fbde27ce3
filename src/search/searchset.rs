//! A search's answer: the matches of a parsed request on one generation, a page of them with
//! their includes, as a searchset Bundle.

use roaring::RoaringBitmap;

use super::bundle::{self, Entry, Frame};
use super::cursor::CursorKey;
use super::engine::Engine;
use super::error::SearchError;
use super::index::reader::IndexReader;
use super::limits::{Budget, Limits};
use super::lists::{self, ListMembers};
use super::page;
use super::query::{SearchRequest, Summary, Total};
use super::redact::Redaction;
use crate::fhir::ResourceType;
use crate::generation::{Generation, StoreError};

/// A searchset Bundle's JSON, and how many resources it holds (matches and includes).
pub struct SearchOutput {
    pub bundle: Vec<u8>,
    pub returned: u64,
}

/// What a search runs with besides its request: where the client came from, what it may see,
/// what it may cost, and the key its paging cursors are signed with.
pub struct Context<'a> {
    /// The FHIR base URL the request came through (links and `fullUrl`s use it).
    pub base: &'a str,
    /// Removes the elements the caller may not see.
    pub redaction: &'a Redaction,
    pub limits: &'a Limits,
    /// Stops the work at its deadline, or when the client leaves.
    pub budget: &'a Budget,
    /// When the search runs, by the server's clock (`ap` dates are near it).
    pub now: time::OffsetDateTime,
    pub cursor_key: &'a CursorKey,
    /// Where `_list` finds the lists' members: `None` where no list is kept (a replica).
    pub lists: Option<&'a dyn ListMembers>,
}

/// Runs a parsed search on one generation.
pub fn run(
    store: &Generation,
    request: &SearchRequest,
    context: &Context<'_>,
) -> Result<SearchOutput, SearchError> {
    let (base, redaction, limits, budget) = (
        context.base,
        context.redaction,
        context.limits,
        context.budget,
    );
    let engine = Engine::new(IndexReader::new(store, budget), context.now);
    let rtype = request.rtype;
    let listed = lists::criteria(request, context.lists)?;
    let matches = if listed.is_empty() {
        engine.matches(rtype, &request.criteria)?
    } else {
        let criteria: Vec<_> = request.criteria.iter().cloned().chain(listed).collect();
        engine.matches(rtype, &criteria)?
    };
    let want_entries = request.summary != Summary::Count && request.count > 0;
    let page = page::select(&engine, store, request, &matches)?;

    let mut entries = Vec::new();
    let mut notes = Vec::new();
    if want_entries {
        let page_set: RoaringBitmap = page.documents.iter().copied().collect();
        for doc in &page.documents {
            entries.push(entry(store, rtype, *doc, "match")?);
        }
        let (included, capped) = engine.includes(
            rtype,
            &page_set,
            &request.includes,
            &request.revincludes,
            limits,
        )?;
        for (step, (included_type, doc)) in included.into_iter().enumerate() {
            if step % 256 == 0 {
                budget.check()?;
            }
            entries.push(entry(store, included_type, doc, "include")?);
        }
        notes.extend(capped);
    }
    let total = match request.total {
        Total::None if request.summary != Summary::Count => None,
        _ => Some(matches.len()),
    };
    let frame = Frame {
        base,
        generation: store.info(),
        total,
        links: bundle::links(
            base,
            request,
            page.next.as_ref(),
            page.previous.as_ref().map(Option::as_ref),
            want_entries,
            context.cursor_key,
        ),
    };
    Ok(SearchOutput {
        bundle: bundle::write(
            &frame,
            &entries,
            request,
            &notes,
            redaction,
            context.cursor_key,
        ),
        returned: entries.len() as u64,
    })
}

fn entry(
    store: &Generation,
    rtype: ResourceType,
    doc: u32,
    mode: &'static str,
) -> Result<Entry, StoreError> {
    let (id, resource) = store
        .document(rtype, doc)?
        .ok_or_else(|| StoreError::Damaged {
            path: std::path::PathBuf::from("(generation)"),
            detail: format!("document {rtype} #{doc} is indexed but missing"),
        })?;
    Ok(Entry {
        rtype,
        id,
        resource,
        mode,
    })
}
