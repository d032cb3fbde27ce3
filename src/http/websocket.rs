//! (package C) The websocket channel: `Subscription/$get-ws-binding-token` and the socket
//! clients connect to. See docs/correspondents.md.

use actix_web::web;

/// The websocket channel's routes.
pub fn routes(config: &mut web::ServiceConfig) {
    let _ = config;
}
