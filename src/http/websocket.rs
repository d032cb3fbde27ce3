//! The websocket channel of subscriptions (Backport IG, channels.md):
//! `Subscription/<id>/$get-ws-binding-token` (a `Parameters` with `token`, `expiration`,
//! `subscription`, `websocket-url`) and the socket, `/fhir/$subscription-websocket`, where a
//! client sends `bind-with-token: <token>` and is sent its notifications
//! (`notify::websocket`). See docs/subscriptions.md.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use super::access;
use super::error::{ApiError, operation_outcome};
use super::media::FHIR_JSON;
use super::request::fhir_base;
use super::state::AppState;
use crate::notify::websocket::{Feed, Outgoing, issue};

/// The socket's path under `/fhir`.
const SOCKET: &str = "/$subscription-websocket";

/// The websocket channel's routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/Subscription/{id}/$get-ws-binding-token",
            web::get().to(binding_token),
        )
        .route(
            "/Subscription/{id}/$get-ws-binding-token",
            web::post().to(binding_token),
        )
        .route(SOCKET, web::get().to(socket));
}

/// `GET|POST /fhir/Subscription/{id}/$get-ws-binding-token`: a token for the caller's own
/// websocket subscription (another caller's is a 404, as if it did not exist).
async fn binding_token(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    // Issuing a token opens the subscription's events to whoever holds it: audited, and
    // only for a caller that may read its subscriptions.
    let owner = access::authorize_local(
        &req,
        &state,
        crate::local::LocalType::Subscription,
        crate::auth::LocalAction::Read,
    )?
    .owner();
    let id = path.into_inner();
    let lookup = id.clone();
    let binding = web::block(move || issue(&notifier, &lookup, &owner))
        .await
        .map_err(|_| ApiError::Unavailable("the server is stopping".into()))??
        .ok_or_else(|| ApiError::NotFound(format!("no Subscription `{id}`")))?;
    let expiration = binding
        .expiration
        .format(&Rfc3339)
        .map_err(|_| ApiError::Unavailable("cannot write the token's expiry".into()))?;
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "token", "valueString": binding.token},
            {"name": "expiration", "valueDateTime": expiration},
            {"name": "subscription", "valueString": format!("Subscription/{}", binding.subscription)},
            {"name": "websocket-url", "valueUrl": websocket_url(&fhir_base(&req))},
        ]
    });
    Ok(HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .insert_header(("Cache-Control", "no-store"))
        .body(parameters.to_string()))
}

/// The socket's URL from the FHIR base links are built from: `ws://` for `http://`, `wss://`
/// for `https://`.
fn websocket_url(base: &str) -> String {
    let socket = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => base.to_string(),
    };
    format!("{socket}{SOCKET}")
}

/// `GET /fhir/$subscription-websocket`: upgrades to a websocket and serves its bindings.
async fn socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let (response, session, messages) = actix_ws::handle(&req, body).map_err(|_| {
        ApiError::BadRequest(
            "this is the subscriptions' websocket: connect with a websocket client (Upgrade: websocket)".into(),
        )
    })?;
    let feed = Feed::new(
        notifier,
        state.generations.clone(),
        fhir_base(&req),
        state.metrics.clone(),
    );
    actix_web::rt::spawn(serve(feed, session, messages));
    Ok(response)
}

/// Serves one socket until either side closes it: binds tokens as they come, sends what is
/// due, answers pings.
async fn serve(
    mut feed: Feed,
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
) {
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Some(Ok(Message::Text(text))) => match feed.bind(&text).await {
                    Ok(handshake) => {
                        if !send(&feed, &mut session, handshake).await {
                            return;
                        }
                    }
                    Err(why) => return refuse(session, &why).await,
                },
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    let _ = session.close(None).await;
                    return;
                }
                Some(Ok(_)) => {}
            },
            () = feed.wait() => match feed.due().await {
                Ok(due) => {
                    for message in due {
                        if !send(&feed, &mut session, message).await {
                            return;
                        }
                    }
                }
                Err(why) => {
                    let _ = session
                        .close(Some(CloseReason {
                            code: CloseCode::Normal,
                            description: Some(why),
                        }))
                        .await;
                    return;
                }
            },
        }
    }
}

/// Writes a notification and records it delivered; `false` when the socket is gone.
async fn send(feed: &Feed, session: &mut actix_ws::Session, message: Outgoing) -> bool {
    if session.text(message.text.clone()).await.is_err() {
        feed.unsent();
        return false;
    }
    if let Err(why) = feed.sent(&message).await {
        tracing::warn!("websocket: a notification was sent but cannot be recorded ({why})");
    }
    true
}

/// Tells the client why its message was refused (an OperationOutcome), then closes.
async fn refuse(mut session: actix_ws::Session, why: &str) {
    let outcome = operation_outcome("error", "security", why);
    let _ = session.text(outcome.to_string()).await;
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Policy,
            description: Some(why.chars().take(120).collect()),
        }))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_url_follows_the_base_scheme() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8080/fhir"),
            "ws://127.0.0.1:8080/fhir/$subscription-websocket"
        );
        assert_eq!(
            websocket_url("https://annuaire.example/fhir"),
            "wss://annuaire.example/fhir/$subscription-websocket"
        );
    }
}
