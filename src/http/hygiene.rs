//! What every request and response goes through before and after the handlers: requests too
//! long are refused as OperationOutcomes (414, 431) before any work ([`guard`]), and responses
//! say how caches may keep them (`Cache-Control`, `Vary`: answers depend on the caller's
//! credentials when access control is on, so shared caches must not keep them then) and what a
//! browser may do with them ([`decorate`]).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, HeaderName, HeaderValue, VARY};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use super::error::ApiError;
use super::paths;
use super::state::AppState;

pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let limits = state.limits;
    let url_len = req.uri().to_string().len();
    if url_len > limits.max_url_bytes {
        let message = format!(
            "the URL is {url_len} bytes long, more than the {} this server reads (limit `limits.max_url_bytes`); send long searches as POST [type]/_search with a form body",
            limits.max_url_bytes
        );
        return Ok(req.into_response(ApiError::UrlTooLong(message).error_response()));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > limits.max_header_bytes {
        let message = format!(
            "the request headers take {header_bytes} bytes, more than the {} this server reads (limit `limits.max_header_bytes`)",
            limits.max_header_bytes
        );
        return Ok(req.into_response(ApiError::HeadersTooLarge(message).error_response()));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// The headers every API response carries, refusals written below actix included: browsers
/// must not guess another type than the one said (a JSON body read as HTML), and nothing of
/// an API response may run or be framed as a page. The lookup page sets its own policy.
pub const API_HEADERS: [(&str, &str); 2] = [
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// Says how caches may keep every response and what a browser may do with it. Wrapped
/// outside the middlewares that rewrite responses (bare errors as OperationOutcomes, JSON as
/// XML), so that what they write carries these headers too.
pub async fn decorate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let open = state.access.policy.is_open();
    // The operators' paths and the lookup page's files say themselves how they may be kept
    // (`/readyz`: never; the page: by anyone, as it holds no directory data). Every other
    // answer is told here, whatever its handler said.
    let path = req.path();
    let own_policy = paths::is_page(path) || paths::is_operators(path);
    let mut response = next.call(req).await?.map_into_boxed_body();
    let headers = response.headers_mut();
    if !(own_policy && headers.contains_key(CACHE_CONTROL)) {
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static(if open {
                // Anyone may keep it, but must check it is still current (ETag, Last-Modified).
                "no-cache"
            } else {
                // The answer depends on who asked: never stored.
                "private, no-store"
            }),
        );
    }
    headers.append(
        VARY,
        HeaderValue::from_static(if open {
            "Accept, Accept-Encoding"
        } else {
            "Accept, Accept-Encoding, Authorization, ESANTE-API-KEY"
        }),
    );
    for (name, value) in API_HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}
