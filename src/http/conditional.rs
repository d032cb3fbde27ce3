//! Conditional requests (RFC 9110 §13): whether the client's copy is still current. A leaf:
//! resource reads and the page's files both answer 304 from it.

use std::time::SystemTime;

use actix_web::HttpRequest;
use actix_web::http::header::{self, HttpDate};

/// `If-None-Match` (weak comparison, `*`) or, without it, `If-Modified-Since`.
pub fn not_modified(req: &HttpRequest, etag: &str, last_modified: Option<SystemTime>) -> bool {
    if let Some(value) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let weak = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
        return value
            .split(',')
            .any(|tag| tag.trim() == "*" || weak(tag) == weak(etag));
    }
    let since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .map(SystemTime::from);
    matches!((since, last_modified), (Some(since), Some(modified)) if modified <= since)
}
