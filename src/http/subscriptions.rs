//! (package B) `Subscription`: create, read, update, delete, search (the caller's own only),
//! `$status`, `$events`. See docs/correspondents.md.

use actix_web::web;

/// `Subscription`'s routes, registered before the generic `/{type}` ones.
pub fn routes(config: &mut web::ServiceConfig) {
    let _ = config;
}
