//! FHIR search, everything about it: the parameters compiled from `conformance/`
//! ([`params`]), the index terms and their keys ([`terms`]), the index build at import
//! ([`index`]), query parsing ([`query`]), evaluation over the indexes ([`engine`]), paging
//! and cursors ([`page`], [`cursor`]) and the Bundle ([`bundle`]). The HTTP layer calls
//! [`query::parse`] then [`run`].

pub mod admission;
pub mod bundle;
pub mod cursor;
pub mod date;
pub mod engine;
pub mod expr;
pub mod fold;
pub mod history;
pub mod index;
pub mod limits;
pub mod page;
pub mod params;
pub mod query;
pub mod terms;

use roaring::RoaringBitmap;

use self::bundle::{Entry, Frame};
use self::cursor::CursorKey;
use self::engine::Engine;
use self::limits::{Budget, Interrupted, Limits};
use self::query::{QueryError, SearchRequest, Summary, Total};
use crate::auth::Redaction;
use crate::fhir::ResourceType;
use crate::store::{ResourceStore, StoreError};

/// Why a search could not be answered: the client's request, or the store.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What was asked for does not exist (the history of an unknown resource).
    #[error("{0}")]
    NotFound(String),
    /// The search ran out of time, or its client went away.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
}

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
}

/// Runs a parsed search on one generation.
pub fn run(
    store: &dyn ResourceStore,
    request: &SearchRequest,
    context: &Context<'_>,
) -> Result<SearchOutput, SearchError> {
    let (base, redaction, limits, budget) = (
        context.base,
        context.redaction,
        context.limits,
        context.budget,
    );
    let engine = Engine::new(store, budget, context.now);
    let rtype = request.rtype;
    let matches = engine.matches(rtype, &request.criteria)?;
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
    store: &dyn ResourceStore,
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
