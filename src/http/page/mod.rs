//! The lookup page for people, at `/`: one static HTML page, a script and a style sheet, built
//! into the binary. The script calls the FHIR API of the same server with the caller's own
//! credentials, so a person sees exactly what the API would show them (the same access control,
//! the same redaction) and pages with the API's own cursors. Nothing is loaded from elsewhere:
//! the Content-Security-Policy allows this origin only.
//!
//! Codes are shown with the labels the extraction files give them (see
//! [`crate::mapping::labels`]): the codings' own `display`, and, for the lists, the concepts of
//! `/fhir/CodeSystem`, the same words. [`LABELS`](super::paths::LABELS) is the page's settings
//! (generation, credentials, the systems it tells apart) with the same labels table, public and
//! documented in the README. The routes are registered with the others in [`super`]; the paths
//! are in [`super::paths`].

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::conditional::not_modified;
use super::error::ApiError;
use super::state::AppState;
use crate::fhir::short_hash;

/// A file of the page, with its validator.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: &'static str, content_type: &'static str) -> Asset {
        let etag = format!("\"{}\"", short_hash(body));
        Asset {
            body,
            content_type,
            etag,
        }
    }

    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        respond_with(req, &self.etag, self.content_type, self.body.as_bytes())
    }
}

static INDEX: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(include_str!("index.html"), "text/html; charset=utf-8"));
static SCRIPT: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(include_str!("app.js"), "text/javascript; charset=utf-8"));
static STYLE: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(include_str!("app.css"), "text/css; charset=utf-8"));
static ICON: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(include_str!("icon.svg"), "image/svg+xml"));

/// The code systems the page tells apart, and a digest of them for the labels' ETag.
static SYSTEMS: LazyLock<(serde_json::Value, String)> = LazyLock::new(|| {
    let systems = crate::mapping::labels::systems();
    let digest = short_hash(&systems.to_string());
    (systems, digest)
});

/// This origin only; no inline script or style, no frames, forms submit here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// 200 with the body, or 304 when the client holds it already.
fn respond_with(
    req: &HttpRequest,
    etag: &str,
    content_type: &'static str,
    body: &[u8],
) -> HttpResponse {
    let held = not_modified(req, etag, None);
    let mut response = if held {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        // The same for every caller, and no directory data: kept, but checked at each use.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if held {
        return response.finish();
    }
    response
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .body(body.to_vec())
}

/// The page's document, the same for its search, practitioner and establishment paths.
pub(super) async fn document(req: HttpRequest) -> HttpResponse {
    INDEX.respond(&req)
}

pub(super) async fn script(req: HttpRequest) -> HttpResponse {
    SCRIPT.respond(&req)
}

pub(super) async fn style(req: HttpRequest) -> HttpResponse {
    STYLE.respond(&req)
}

pub(super) async fn icon(req: HttpRequest) -> HttpResponse {
    ICON.respond(&req)
}

/// What the page needs to show codes to people, for the generation served: its id and date,
/// whether the API asks for credentials, the code systems it tells apart (see [`crate::mapping::labels::systems`]) and the labels
/// (`{system: {code: label}}`). Terminology, not directory data: served without credentials,
/// like the page itself.
pub(super) async fn labels(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = state.current()?;
    let info = store.info();
    let credentials = if state.access.policy.is_open() {
        "none"
    } else {
        "required"
    };
    // The body depends on the generation, on the systems this program names, and on whether
    // credentials are asked for.
    let etag = format!("\"labels-{}-{}-{credentials}\"", info.id(), SYSTEMS.1);
    let head = json!({
        "generation": {"id": info.id(), "lastUpdated": info.last_updated},
        "credentials": credentials,
        "systems": SYSTEMS.0,
    });
    let mut body = serde_json::to_vec(&head).expect("JSON value serializes");
    body.pop(); // the closing brace: the labels follow
    body.extend_from_slice(b",\"labels\":");
    body.extend_from_slice(store.labels_json());
    body.push(b'}');
    Ok(respond_with(
        &req,
        &etag,
        "application/json; charset=utf-8",
        &body,
    ))
}
