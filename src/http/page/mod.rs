//! The lookup page for people, at `/`: one static HTML page, a script and a style sheet, built
//! into the binary. The script calls the FHIR API of the same server with the caller's own
//! credentials, so a person sees exactly what the API would show them (the same access control,
//! the same redaction) and pages with the API's own cursors. Nothing is loaded from elsewhere:
//! the Content-Security-Policy allows this origin only.
//!
//! Codes are shown with the labels the extraction files give them (see
//! [`crate::mapping::labels`]), served at [`LABELS`].

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use crate::fhir::short_hash;

/// Paths of the page: the search (`/`, its query in the URL), a practitioner and an
/// establishment. All three answer the same document; the script reads the path.
pub const SEARCH: &str = "/";
pub const PRACTITIONER: &str = "/professionnels/{id}";
pub const ESTABLISHMENT: &str = "/etablissements/{id}";
pub const SCRIPT_PATH: &str = "/ui/app.js";
pub const STYLE_PATH: &str = "/ui/app.css";
pub const ICON_PATH: &str = "/ui/icon.svg";
/// The labels of the codes of the generation served.
pub const LABELS: &str = "/ui/labels.json";

/// Whether `path` is one of the page's (served without credentials: the page asks for them).
/// Exactly the routes below: nothing else under these prefixes is let through unauthenticated.
pub fn is_page(path: &str) -> bool {
    let one_segment = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    matches!(path, SEARCH | SCRIPT_PATH | STYLE_PATH | ICON_PATH | LABELS)
        || one_segment("/professionnels/")
        || one_segment("/etablissements/")
}

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
    let held = super::handlers::not_modified(req, etag, None);
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

async fn page(req: HttpRequest) -> HttpResponse {
    INDEX.respond(&req)
}

async fn script(req: HttpRequest) -> HttpResponse {
    SCRIPT.respond(&req)
}

async fn style(req: HttpRequest) -> HttpResponse {
    STYLE.respond(&req)
}

async fn icon(req: HttpRequest) -> HttpResponse {
    ICON.respond(&req)
}

/// What the page needs to show codes to people, for the generation served: its id and date,
/// whether the API asks for credentials, the code systems it tells apart (see [`crate::mapping::labels::systems`]) and the labels
/// (`{system: {code: label}}`). Terminology, not directory data: served without credentials,
/// like the page itself.
async fn labels(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
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

/// Registers the page's routes.
pub fn configure(config: &mut web::ServiceConfig) {
    let get = super::get_or_head;
    config
        .route(SEARCH, get().to(page))
        .route(PRACTITIONER, get().to(page))
        .route(ESTABLISHMENT, get().to(page))
        .route(SCRIPT_PATH, get().to(script))
        .route(STYLE_PATH, get().to(style))
        .route(ICON_PATH, get().to(icon))
        .route(LABELS, get().to(labels));
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn only_the_page_routes_are_page_paths() {
        for path in [
            "/",
            "/ui/app.js",
            "/ui/labels.json",
            "/professionnels/pp-1-10",
            "/etablissements/eg-1",
        ] {
            assert!(is_page(path), "{path}");
        }
        for path in [
            "/fhir/Practitioner",
            "/ui/",
            "/ui/other",
            "/professionnels/",
            "/professionnels/a/b",
            "/etablissements/x/../../fhir/Practitioner",
            "//",
        ] {
            assert!(!is_page(path), "{path}");
        }
    }
}
