//! What a request says besides its path: the client's address and the FHIR base it reached
//! (forwarding headers are believed only from trusted proxies), its query parameters, and its
//! `Prefer` headers.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use super::error::ApiError;
use super::state::AppState;
use crate::search::shared_params::Prefer;

/// Whether the request came from a reverse proxy whose forwarding headers are believed.
fn peer_is_trusted_proxy(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<AppState>>()
        .zip(req.peer_addr())
        .is_some_and(|(state, peer)| state.trusted_proxies.contains(&peer.ip()))
}

/// The client's address: the peer's, or, behind a trusted proxy, the one the proxy forwarded.
/// Rate limits of an open server are kept by it. The last hop is taken (`Forwarded: for=`, else
/// `X-Forwarded-For`): it is the one our proxy added, while earlier ones come from the client
/// and could be anything.
pub fn client_address(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |p| p.ip());
    if !peer_is_trusted_proxy(req) {
        return peer;
    }
    let last_value = |name: &str| {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .last()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
    };
    let forwarded_for = last_value("forwarded").and_then(|element| {
        element
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
            .map(|(_, value)| value)
    });
    forwarded_for
        .or_else(|| last_value("x-forwarded-for"))
        .and_then(parse_address)
        .unwrap_or(peer)
}

/// `203.0.113.7`, `203.0.113.7:4711`, `"[2001:db8::1]:4711"`, `[2001:db8::1]` or `2001:db8::1`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
}

/// The FHIR base URL every absolute link of a response starts with: the configured public
/// base URL; else the host the request reached, if the allow-list names it (forwarded by a
/// trusted proxy, with its scheme, or the `Host` header); else the address the server listens
/// on. A client's own `Host` or forwarding headers never choose it alone.
pub fn fhir_base(req: &HttpRequest) -> String {
    let links = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.links.clone())
        .unwrap_or_default();
    if let Some(public) = &links.public {
        return format!("{public}/fhir");
    }
    if peer_is_trusted_proxy(req) {
        // A proxy we trust says how the client reached it (Forwarded, X-Forwarded-*).
        let info = req.connection_info();
        if links.allows(info.host(), true) {
            return format!("{}://{}/fhir", info.scheme(), info.host());
        }
    } else if let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .filter(|h| links.allows(h, false))
    {
        return format!("http://{host}/fhir");
    }
    format!("http://{}/fhir", links.listen)
}

/// The `name=value` pairs of a query string or form body, decoded; none if it cannot be read.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// The preferences of the request's `Prefer` headers, all of them.
pub fn prefer(req: &HttpRequest) -> Prefer {
    Prefer::parse(
        req.headers()
            .get_all("prefer")
            .filter_map(|value| value.to_str().ok()),
    )
}

/// The version an `If-Match` header names (`W/"3"`, or `"3"`), for the updates of what hospitals
/// write (lists, subscriptions); `None` without the header. Anything else is a 400 that says what
/// to send.
pub fn if_match_version(req: &HttpRequest) -> Result<Option<u32>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let digits = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    digits.parse::<u32>().map(Some).map_err(|_| {
        ApiError::BadRequest(format!(
            "If-Match `{text}` is not a version ETag such as W/\"3\": send the ETag of the version read"
        ))
    })
}

/// GET, and HEAD (same headers, no body: actix drops the body of HEAD responses).
pub fn get_or_head() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}
