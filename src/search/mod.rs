//! FHIR search, everything about it: the parameters compiled from `conformance/`
//! ([`params`]), the index terms and their keys ([`terms`]), the index build at import
//! ([`index`]), query parsing ([`query`]), evaluation over the indexes ([`engine`]), paging
//! and cursors ([`page`], [`cursor`]) and the Bundle ([`bundle`]). The HTTP layer calls
//! [`query::parse`] then [`run`].

pub mod bundle;
pub mod cursor;
pub mod date;
pub mod engine;
pub mod expr;
pub mod fold;
pub mod history;
pub mod index;
pub mod node;
pub mod page;
pub mod params;
pub mod query;
pub mod terms;

use roaring::RoaringBitmap;

use self::bundle::{Entry, Frame};
use self::engine::Engine;
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
}

/// A searchset Bundle's JSON, and how many resources it holds (matches and includes).
pub struct SearchOutput {
    pub bundle: Vec<u8>,
    pub returned: u64,
}

/// Runs a parsed search on one generation. `base` is the FHIR base URL the request came
/// through; `redaction` removes the elements the caller may not see.
pub fn run(
    store: &dyn ResourceStore,
    request: &SearchRequest,
    base: &str,
    redaction: &Redaction,
) -> Result<SearchOutput, SearchError> {
    let engine = Engine::new(store);
    let rtype = request.rtype;
    let matches = engine.matches(rtype, &request.criteria)?;
    let want_entries = request.summary != Summary::Count && request.count > 0;
    let page = page::select(&engine, store, request, &matches)?;

    let mut entries = Vec::new();
    if want_entries {
        let page_set: RoaringBitmap = page.documents.iter().copied().collect();
        for doc in &page.documents {
            entries.push(entry(store, rtype, *doc, "match")?);
        }
        for (included_type, doc) in
            engine.includes(rtype, &page_set, &request.includes, &request.revincludes)?
        {
            entries.push(entry(store, included_type, doc, "include")?);
        }
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
        ),
    };
    Ok(SearchOutput {
        bundle: bundle::write(&frame, &entries, request, redaction),
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
