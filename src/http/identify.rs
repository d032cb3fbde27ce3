//! "Who is this professional": `Practitioner/$identify` for services, and the signed-in
//! professional's own record for the lookup page. Package C of issue #28 (plan D7, D8).

use actix_web::{HttpResponse, web};

use super::paths;
use super::request::get_or_head;

/// `$identify`, registered among the FHIR routes (before the generic `/{type}/{id}`).
pub fn operation_routes(config: &mut web::ServiceConfig) {
    config
        .route("/Practitioner/$identify", get_or_head().to(not_yet))
        .route("/Practitioner/$identify", web::post().to(not_yet));
}

/// The page's "my record" route.
pub fn page_routes(config: &mut web::ServiceConfig) {
    config.route(paths::MY_RECORD, get_or_head().to(not_yet));
}

async fn not_yet() -> HttpResponse {
    HttpResponse::NotImplemented().finish()
}
