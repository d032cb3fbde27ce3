//! The lookup page's sign-in with the OpenID provider (Pro Santé Connect): start, the
//! provider's redirect back, sign-out, and what the page may know of its session. Package A of
//! issue #28 (plan D3, D5).

use actix_web::{HttpResponse, web};

use super::paths;
use super::request::get_or_head;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(paths::SIGNIN, get_or_head().to(not_yet))
        .route(paths::SIGNIN_CALLBACK, get_or_head().to(not_yet))
        .route(paths::SIGNOUT, web::post().to(not_yet))
        .route(paths::SESSION, get_or_head().to(not_yet));
}

async fn not_yet() -> HttpResponse {
    HttpResponse::NotImplemented().finish()
}
