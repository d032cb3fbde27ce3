//! The lookup page's sign-in with the OpenID provider (Pro Santé Connect): start, the
//! provider's redirect back, sign-out, and what the page may know of its session. Package A of
//! issue #28 (plan D3, D5).
//!
//! Only a random session id reaches the browser, in an `HttpOnly; SameSite=Lax; Path=/`
//! cookie (`Secure` when the server is reached over https); a short-lived `annuaire_login`
//! cookie binds a pending login to the browser that started it. Every failure is a French page
//! in the lookup page's style, never a token or an internal detail; each sign-in, refusal and
//! sign-out is a line of the audit trail.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::paths;
use super::request::{client_address, fhir_base, get_or_head, query_pairs};
use super::state::AppState;
use crate::auth::oidc::login::LOGIN_LIFETIME;
use crate::auth::oidc::{Callback, Session, SignIn, SignInError};
use crate::auth::{Caller, Channel, Identity};

/// The cookie holding the session id.
pub const SESSION_COOKIE: &str = "annuaire_session";
/// The cookie binding a pending login to its browser.
pub const LOGIN_COOKIE: &str = "annuaire_login";
/// The header (and form field `csrf`) an unsafe request made with the session cookie carries.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The sign-in pages: this origin's style sheet only, nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(paths::SIGNIN, get_or_head().to(start))
        .route(paths::SIGNIN_CALLBACK, get_or_head().to(callback))
        .route(paths::SIGNOUT, web::post().to(sign_out))
        .route(paths::SESSION, get_or_head().to(session));
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// The live session the request's cookie names, if sign-in is configured.
pub fn session_of(req: &HttpRequest, state: &AppState) -> Option<Arc<Session>> {
    let signin = state.signin.as_ref()?;
    signin.session(cookie(req, SESSION_COOKIE)?)
}

/// Whether a request made with the session cookie may go on: safe methods always; unsafe ones
/// (POST, PUT, PATCH, DELETE) only with the session's CSRF token in `X-CSRF-Token` (or `sent`).
pub fn csrf_holds(method: &Method, sent: Option<&str>, session: &Session) -> bool {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return true;
    }
    sent.is_some_and(|sent| {
        sent.len() == session.csrf.len()
            && sent
                .bytes()
                .zip(session.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// The request's `X-CSRF-Token` header.
pub fn csrf_header(req: &HttpRequest) -> Option<&str> {
    req.headers().get(CSRF_HEADER)?.to_str().ok()
}

/// The site's base (`https://annuaire.example`): the public base URL, else the checked host
/// of the request, as for every absolute link.
fn site_base(req: &HttpRequest) -> String {
    let base = fhir_base(req);
    base.strip_suffix("/fhir").unwrap_or(&base).to_owned()
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, `Secure` over https, and a
/// lifetime when given (`Some(0)` deletes the cookie).
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut cookie = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    cookie
}

/// Whether the cookies this request sets get `Secure`: the site is reached over https.
fn secure(req: &HttpRequest) -> bool {
    site_base(req).starts_with("https://")
}

/// `retour` when it is a local path (`/…`, not `//…` nor `/\…`, no control character); `/`
/// otherwise, so that sign-in never sends a person elsewhere.
pub fn local_return(retour: Option<&str>) -> String {
    match retour {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A sign-in page of the lookup page's look: what happened, and where to go from there.
fn page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — Annuaire santé</title>\
         <link rel=\"stylesheet\" href=\"{style}\"></head>\
         <body><main><h1>{title}</h1><p>{text}</p>\
         <p><a href=\"{signin}\">Réessayer de se connecter</a> · <a href=\"/\">Revenir à l'annuaire</a></p>\
         </main></body></html>\n",
        style = paths::STYLE_PATH,
        signin = paths::SIGNIN,
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

fn not_configured() -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        "Connexion indisponible",
        "La connexion avec Pro Santé Connect n'est pas configurée sur cet annuaire.",
    )
}

fn refused_page(error: &SignInError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    page(status, "Connexion impossible", error.page_text())
}

/// The sign-in events of the audit trail (plan D10): `signin`, `signin-refused`, `signout`.
fn audit(req: &HttpRequest, state: &AppState, event: &str, extra: Value) {
    let Some(audit) = &state.access.audit else {
        return;
    };
    let time = state
        .clock
        .now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut line = json!({
        "time": time,
        "event": event,
        "client_address": client_address(req).to_string(),
    });
    if let (Value::Object(line), Value::Object(extra)) = (&mut line, extra) {
        line.extend(extra);
    }
    audit.event(&line);
}

/// The caller a session stands for: what the access rules (`[[auth.rules]]`) grant the
/// signed-in person; a session has no scopes of its own.
fn session_caller(state: &AppState, identity: Identity) -> Caller {
    let mut caller = state.access.policy.caller_for_identity(identity, &[]);
    caller.channel = Channel::Session;
    caller
}

/// `GET /ui/connexion?retour=/path`: 302 to the provider's authorization endpoint.
async fn start(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(signin) = &state.signin else {
        return not_configured();
    };
    let pairs = query_pairs(req.query_string());
    let retour = pairs
        .iter()
        .find(|(n, _)| n == "retour")
        .map(|(_, v)| v.as_str());
    let return_to = local_return(retour);
    let redirect_url = redirect_url(&req, signin);
    match signin.start(&redirect_url, &return_to) {
        Ok(login) => HttpResponse::Found()
            .insert_header((header::LOCATION, login.authorize_url))
            .insert_header((
                header::SET_COOKIE,
                set_cookie(
                    LOGIN_COOKIE,
                    &login.browser,
                    secure(&req),
                    Some(LOGIN_LIFETIME.as_secs()),
                ),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(error) => {
            audit(
                &req,
                &state,
                "signin-refused",
                json!({"reason": error.reason()}),
            );
            refused_page(&error)
        }
    }
}

/// The redirect URI: the configured one, else this site's `/ui/connexion/retour`.
fn redirect_url(req: &HttpRequest, signin: &SignIn) -> String {
    signin
        .config()
        .redirect_url
        .clone()
        .unwrap_or_else(|| format!("{}{}", site_base(req), paths::SIGNIN_CALLBACK))
}

/// `GET /ui/connexion/retour?code&state`: finishes the sign-in, opens the session, 303 to
/// where the person was going.
async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(signin) = &state.signin else {
        return not_configured();
    };
    let callback: Callback = web::Query::<Callback>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let browser = cookie(&req, LOGIN_COOKIE);
    let secure = secure(&req);
    let forget_login = set_cookie(LOGIN_COOKIE, "", secure, Some(0));
    let finished = signin
        .finish(&callback, browser, |identity| {
            session_caller(&state, identity)
        })
        .await;
    match finished {
        Ok(signed_in) => {
            // A session opened before in this browser is replaced, never reused.
            if let Some(old) = cookie(&req, SESSION_COOKIE) {
                signin.end(old);
            }
            let session = &signed_in.session;
            audit(
                &req,
                &state,
                "signin",
                json!({"caller": session_audit(session)}),
            );
            let max_age = session.ends_at.saturating_sub(session.signed_in);
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, signed_in.return_to))
                .append_header((header::SET_COOKIE, forget_login))
                .append_header((
                    header::SET_COOKIE,
                    set_cookie(SESSION_COOKIE, &signed_in.id, secure, Some(max_age)),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Err(error) => {
            match &error {
                SignInError::Provider(detail) => {
                    tracing::warn!("Pro Santé Connect sign-in failed: {detail}")
                }
                other => tracing::info!("sign-in refused: {other}"),
            }
            audit(
                &req,
                &state,
                "signin-refused",
                json!({"reason": error.reason()}),
            );
            let mut response = refused_page(&error);
            if let Ok(value) = HeaderValue::from_str(&forget_login) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
    }
}

/// Who a session is, for the audit trail: never its id, its tokens or its CSRF token.
fn session_audit(session: &Session) -> Value {
    session.caller.audit_json()
}

/// `POST /ui/deconnexion` (with `X-CSRF-Token`, or a form field `csrf`): ends the session,
/// clears the cookie, 303 to the provider's end-session endpoint, or to `/`.
async fn sign_out(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(signin) = &state.signin else {
        return not_configured();
    };
    let session = cookie(&req, SESSION_COOKIE).and_then(|id| Some((id, signin.session(id)?)));
    let form_token = query_pairs(std::str::from_utf8(&body).unwrap_or(""))
        .into_iter()
        .find(|(n, _)| n == "csrf")
        .map(|(_, v)| v);
    let sent = csrf_header(&req).or(form_token.as_deref());
    let mut ended = None;
    if let Some((id, session)) = &session {
        if !csrf_holds(req.method(), sent, session) {
            return page(
                StatusCode::FORBIDDEN,
                "Déconnexion refusée",
                "La demande de déconnexion ne vient pas de la page de l'annuaire (jeton anti-CSRF absent ou faux).",
            );
        }
        signin.end(id);
        audit(
            &req,
            &state,
            "signout",
            json!({"caller": session_audit(session)}),
        );
        ended = Some(session.clone());
    }
    // Without a session here there is nothing to end at the provider either.
    let location = ended
        .as_deref()
        .and_then(|session| signin.logout_url(session, &format!("{}/", site_base(&req))))
        .unwrap_or_else(|| "/".to_owned());
    let forget = set_cookie(SESSION_COOKIE, "", secure(&req), Some(0));
    // The page's script asks in JSON and goes there itself: a redirect to the provider would
    // be stopped by its Content-Security-Policy (`form-action 'self'`).
    if wants_json(&req) {
        return HttpResponse::Ok()
            .insert_header((header::SET_COOKIE, forget))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({"redirect": location}));
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::SET_COOKIE, forget))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Whether the request asks for JSON (`Accept: application/json`) rather than a page.
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// `GET /ui/session`: what the page may know: whether sign-in is offered, and, when signed
/// in, who, with what rules, the CSRF token for writes, and when the session ends.
async fn session(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let body = match &state.signin {
        None => json!({"signin": "not-configured", "signedIn": false}),
        Some(signin) => {
            let availability = signin.availability().as_str();
            match session_of(&req, &state) {
                None => json!({"signin": availability, "signedIn": false}),
                Some(session) => {
                    let expires = time::OffsetDateTime::from_unix_timestamp(
                        session.expires().min(i64::MAX as u64) as i64,
                    )
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    });
                    json!({
                        "signin": availability,
                        "signedIn": true,
                        "name": session.name,
                        "nationalId": session.claims.national_id,
                        "professions": session.claims.professions,
                        "rules": session.caller.rules,
                        "csrf": session.csrf,
                        "expires": expires,
                    })
                }
            }
        }
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            local_return(Some("/professionnels/pp-1?x=1")),
            "/professionnels/pp-1?x=1"
        );
        for outside in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_return(Some(outside)), "/", "{outside:?}");
        }
        assert_eq!(local_return(None), "/");
    }

    #[test]
    fn cookies_are_http_only_lax_on_the_root_and_secure_over_https() {
        assert_eq!(
            set_cookie(SESSION_COOKIE, "abc", true, None),
            "annuaire_session=abc; HttpOnly; SameSite=Lax; Path=/; Secure"
        );
        assert_eq!(
            set_cookie(LOGIN_COOKIE, "x", false, Some(600)),
            "annuaire_login=x; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"
        );
    }

    #[test]
    fn unsafe_methods_with_the_session_cookie_need_its_csrf_token() {
        use crate::auth::oidc::sessions::{NewSession, Sessions};
        let sessions = Sessions::new(
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(3600),
            crate::clock::Clock::system(),
        );
        let (_, session) = sessions.create(NewSession {
            caller: Arc::new(Caller::open()),
            claims: Default::default(),
            name: None,
            id_token: "t".into(),
        });
        let csrf = session.csrf.clone();
        for method in [Method::GET, Method::HEAD] {
            assert!(csrf_holds(&method, None, &session));
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(!csrf_holds(&method, None, &session), "{method}");
            assert!(!csrf_holds(&method, Some("wrong"), &session), "{method}");
            assert!(!csrf_holds(&method, Some(&csrf[1..]), &session), "{method}");
            assert!(csrf_holds(&method, Some(&csrf), &session), "{method}");
        }
    }
}
