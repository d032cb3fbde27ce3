//! Sign-in with an OpenID provider (issue #28, package A), over real HTTP against the real
//! server: the provider's keys (rotation, a removed key, a flood of unknown `kid`s), an
//! unreachable provider and its recovery, an issuer that does not match, the start of a sign-in
//! (the authorization request and the login cookie), and every refused callback.
//!
//! The provider here is a tiny actix app on port 0 serving a discovery document, a JWKS the
//! test changes at will, and a token endpoint that refuses every code: only such a key server
//! can show rotation timing, an unreachable provider, a mismatched issuer and rate-limited
//! refetches. The sign-in flow itself, end to end, runs against the real `oidc-provider` from
//! npm in tests/oidc (package D).

mod auth_support;
mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use annuaire::settings::Settings;
use auth_support::{SigningKey, b64url};
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT_ID: &str = "annuaire-test";
const AUDIENCE: &str = "annuaire";

/// What the tiny provider serves, changed by the tests.
struct ProviderState {
    /// Answers 503 to everything while false.
    up: bool,
    /// The issuer its discovery document names.
    issuer: String,
    jwks: String,
    jwks_fetches: usize,
    /// Discovery documents asked for (answered or not).
    discoveries: usize,
}

struct TinyProvider {
    base: String,
    state: Arc<Mutex<ProviderState>>,
}

impl TinyProvider {
    fn start(up: bool, keys: &[&SigningKey]) -> TinyProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the provider");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ProviderState {
            up,
            issuer: base.clone(),
            jwks: auth_support::jwks(keys),
            jwks_fetches: 0,
            discoveries: 0,
        }));
        let shared = state.clone();
        let own = base.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new((shared.clone(), own.clone())))
                        .default_service(web::to(serve))
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run()
                .await
            })
        });
        TinyProvider { base, state }
    }

    fn set(&self, change: impl FnOnce(&mut ProviderState)) {
        change(&mut self.state.lock().unwrap());
    }

    fn jwks_fetches(&self) -> usize {
        self.state.lock().unwrap().jwks_fetches
    }

    /// Waits until the server has asked for the discovery document `count` times: a retry
    /// shows that the attempts before it ended (refused or unanswered).
    async fn wait_for_discoveries(&self, count: usize) {
        let started = Instant::now();
        while self.state.lock().unwrap().discoveries < count {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the server never asked for the discovery document {count} times"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

type Shared = web::Data<(Arc<Mutex<ProviderState>>, String)>;

async fn serve(req: actix_web::HttpRequest, shared: Shared) -> HttpResponse {
    let (state, base) = &**shared;
    let mut state = state.lock().unwrap();
    if req.path() == "/.well-known/openid-configuration" {
        state.discoveries += 1;
    }
    if !state.up {
        return HttpResponse::ServiceUnavailable().finish();
    }
    match req.path() {
        "/.well-known/openid-configuration" => HttpResponse::Ok().json(json!({
            "issuer": state.issuer,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": format!("{base}/token"),
            "userinfo_endpoint": format!("{base}/me"),
            "jwks_uri": format!("{base}/jwks"),
            "end_session_endpoint": format!("{base}/session/end"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        })),
        "/jwks" => {
            state.jwks_fetches += 1;
            HttpResponse::Ok()
                .content_type("application/json")
                .body(state.jwks.clone())
        }
        // Every code is refused, as a provider refuses a replayed one (RFC 6749 §5.2).
        "/token" => HttpResponse::BadRequest().json(json!({
            "error": "invalid_grant",
            "error_description": "grant request is invalid",
        })),
        _ => HttpResponse::NotFound().finish(),
    }
}

/// A server over a copy of the demo data, with `[auth.oidc]` on `provider` and bearer tokens
/// verified with the provider's keys, an audit trail in its directory.
struct Server {
    served: common::Served,
    dir: tempfile::TempDir,
}

impl Server {
    fn url(&self, path: &str) -> String {
        self.served.url(path)
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("audit.log")).unwrap_or_default()
    }
}

fn start_server(oidc: Option<(&TinyProvider, u64)>) -> Server {
    let dir = common::demo_copy("annuaire-signin-");
    let auth = match oidc {
        Some((provider, min_refetch)) => format!(
            r#"
[auth.oidc]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
acr_values = ["eidas1"]
jwks_min_refetch_seconds = {min_refetch}
timeout_seconds = 2

[auth.jwt]
audience = "{AUDIENCE}"
"#,
            issuer = provider.base,
        ),
        None => format!(
            r#"
[[auth.api_keys]]
name = "k"
sha256 = "{}"
scopes = ["system/*.read"]
"#,
            common::api_key_sha256("a-key")
        ),
    };
    let config = format!(
        "{auth}\n[audit]\ndestination = \"{}\"\n",
        dir.path().join("audit.log").display()
    );
    let path = dir.path().join("annuaire.toml");
    std::fs::write(&path, config).unwrap();
    let settings = Settings::load(Settings {
        config: Some(path),
        ..common::settings_for(&dir.path().join("data"))
    })
    .expect("the test configuration is valid");
    let served = common::spawn_server(settings, Some(Duration::from_millis(200)));
    Server { served, dir }
}

/// A client that shows redirects instead of following them, and keeps no cookies.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn session_json(server: &Server) -> Value {
    client()
        .get(server.url("/ui/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until `/ui/session` says `signin` is `wanted`.
async fn wait_for_signin(server: &Server, wanted: &str, within: Duration) {
    let started = Instant::now();
    loop {
        let session = session_json(server).await;
        if session["signin"] == wanted {
            return;
        }
        assert!(
            started.elapsed() < within,
            "signin is still {} after {within:?}",
            session["signin"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn token(key: &SigningKey, issuer: &str) -> String {
    let now = auth_support::now();
    key.sign(&json!({
        "iss": issuer, "aud": AUDIENCE, "sub": "platform", "iat": now, "exp": now + 3600,
        "scope": "system/*.read",
    }))
}

async fn read_with(server: &Server, token: &str) -> StatusCode {
    client()
        .get(server.url("/fhir/Practitioner?_count=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn bearer_tokens_follow_the_providers_key_rotation() {
    let old = SigningKey::rsa("old", Algorithm::RS256);
    let new = SigningKey::ec("new");
    let provider = TinyProvider::start(true, &[&old]);
    let server = start_server(Some((&provider, 1)));
    wait_for_signin(&server, "available", Duration::from_secs(10)).await;
    let old_token = token(&old, &provider.base);
    assert_eq!(read_with(&server, &old_token).await, StatusCode::OK);

    // The provider rotates: only the new key is published now.
    provider.set(|p| p.jwks = auth_support::jwks(&[&new]));
    let new_token = token(&new, &provider.base);
    // The unknown kid makes the keys be fetched again (no sooner than 1 s after the last), and
    // the request waits for that fetch: the first token of the new key is accepted.
    assert_eq!(read_with(&server, &new_token).await, StatusCode::OK);
    // The removed key stops verifying, although its token was verified (and cached) before.
    assert_eq!(
        read_with(&server, &old_token).await,
        StatusCode::UNAUTHORIZED
    );
    // A token of another issuer is refused with the provider's keys all the same.
    assert_eq!(
        read_with(&server, &token(&new, "https://elsewhere.example")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_keys_at_most_once_per_interval() {
    let key = SigningKey::rsa("only", Algorithm::RS256);
    let provider = TinyProvider::start(true, &[&key]);
    let server = start_server(Some((&provider, 3)));
    wait_for_signin(&server, "available", Duration::from_secs(10)).await;
    let before = provider.jwks_fetches();
    // Forty requests at once, each naming a key nobody has: each waits for the one fetch its
    // unknown kid asks for (3 s at most), then is refused.
    let forged = |n: usize| {
        let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"bogus-{n}"}}"#);
        format!(
            "{}.{}.{}",
            b64url(header.as_bytes()),
            b64url(b"{}"),
            b64url(b"sig")
        )
    };
    let tokens: Vec<String> = (0..40).map(forged).collect();
    let statuses =
        futures_util::future::join_all(tokens.iter().map(|t| read_with(&server, t))).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let sent = statuses.len();
    let fetched = provider.jwks_fetches() - before;
    // Fetches at least 3 s apart, and the requests waited 3 s at most: one or two (with the
    // periodic one), whatever the number of tokens.
    assert!(
        (1..=2).contains(&fetched),
        "{fetched} fetches of the keys for {sent} unknown kids"
    );
}

#[tokio::test]
async fn an_unreachable_provider_makes_sign_in_unavailable_until_it_answers() {
    let key = SigningKey::rsa("k", Algorithm::RS256);
    let provider = TinyProvider::start(false, &[&key]);
    let server = start_server(Some((&provider, 1)));
    // The second attempt comes only after the first was answered 503.
    provider.wait_for_discoveries(2).await;
    let session = session_json(&server).await;
    assert_eq!(session, json!({"signin": "unavailable", "signedIn": false}));
    let start = client()
        .get(server.url("/ui/connexion"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        start
            .text()
            .await
            .unwrap()
            .contains("Pro Santé Connect ne répond pas")
    );

    provider.set(|p| p.up = true);
    // Retried with back-off from 1 s: 1, 2, 4, 8 s.
    wait_for_signin(&server, "available", Duration::from_secs(20)).await;
    assert_eq!(
        read_with(&server, &token(&key, &provider.base)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_discovery_document_of_another_issuer_is_not_used() {
    let key = SigningKey::rsa("k", Algorithm::RS256);
    let provider = TinyProvider::start(true, &[&key]);
    provider.set(|p| p.issuer = "https://impostor.example".into());
    let server = start_server(Some((&provider, 1)));
    // A second discovery means the first document was refused (an accepted one is not asked
    // for again: the keys are fetched next).
    provider.wait_for_discoveries(2).await;
    assert_eq!(session_json(&server).await["signin"], "unavailable");
    assert_eq!(
        provider.jwks_fetches(),
        0,
        "no key fetched from a mismatched provider"
    );
    assert_eq!(
        read_with(&server, &token(&key, &provider.base)).await,
        StatusCode::UNAUTHORIZED
    );
}

/// The query pairs of a URL.
fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `annuaire_login=<value>` from a sign-in start.
fn login_cookie(response: &reqwest::Response) -> String {
    set_cookies(response)
        .iter()
        .find_map(|c| c.strip_prefix("annuaire_login="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a login cookie")
}

async fn callback(server: &Server, query: &str, login: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.url(&format!("/ui/connexion/retour?{query}")));
    if let Some(login) = login {
        request = request.header("cookie", format!("annuaire_login={login}"));
    }
    request.send().await.unwrap()
}

async fn assert_page(response: reqwest::Response, status: StatusCode, words: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let body = response.text().await.unwrap();
    assert!(body.contains(words), "{body}");
    assert!(body.contains("/ui/app.css") && body.contains("href=\"/ui/connexion\""));
}

#[tokio::test]
async fn sign_in_starts_with_pkce_state_nonce_and_a_login_cookie_and_refuses_bad_callbacks() {
    let key = SigningKey::rsa("k", Algorithm::RS256);
    let provider = TinyProvider::start(true, &[&key]);
    let server = start_server(Some((&provider, 1)));
    wait_for_signin(&server, "available", Duration::from_secs(10)).await;

    let start = client()
        .get(server.url("/ui/connexion?retour=/professionnels/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/auth?", provider.base)),
        "{location}"
    );
    let pairs = query_of(&location);
    assert_eq!(param(&pairs, "response_type"), Some("code"));
    assert_eq!(param(&pairs, "client_id"), Some(CLIENT_ID));
    assert_eq!(param(&pairs, "code_challenge_method"), Some("S256"));
    assert_eq!(param(&pairs, "code_challenge").map(str::len), Some(43));
    assert_eq!(param(&pairs, "acr_values"), Some("eidas1"));
    let scopes: Vec<&str> = param(&pairs, "scope").unwrap().split(' ').collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"scope_all"),
        "{scopes:?}"
    );
    assert_eq!(
        param(&pairs, "redirect_uri"),
        Some(server.url("/ui/connexion/retour").as_str())
    );
    let state = param(&pairs, "state").expect("state").to_owned();
    assert!(param(&pairs, "nonce").is_some_and(|n| n.len() >= 16));
    let cookies = set_cookies(&start);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let flags: Vec<&str> = cookies[0].split("; ").skip(1).collect();
    assert_eq!(flags, ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"]);
    assert!(
        start.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let login = login_cookie(&start);

    // No login cookie: this browser did not start the login.
    let query = format!("code=c0de&state={state}");
    assert_page(
        callback(&server, &query, None).await,
        StatusCode::BAD_REQUEST,
        "n'a pas été commencée dans ce navigateur",
    )
    .await;
    // Another browser's cookie (its own login), or a made-up state.
    let other = client()
        .get(server.url("/ui/connexion"))
        .send()
        .await
        .unwrap();
    let other_login = login_cookie(&other);
    assert_page(
        callback(&server, &query, Some(&other_login)).await,
        StatusCode::BAD_REQUEST,
        "n'a pas été commencée dans ce navigateur",
    )
    .await;
    assert_page(
        callback(&server, "code=c0de&state=made-up", Some(&login)).await,
        StatusCode::BAD_REQUEST,
        "n'a pas été commencée dans ce navigateur",
    )
    .await;
    // The right browser: the provider refuses the code (as it does a replayed one).
    let refused = callback(&server, &query, Some(&login)).await;
    let cleared = set_cookies(&refused);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("annuaire_login=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    assert_page(refused, StatusCode::BAD_REQUEST, "déjà servi").await;
    // The state was used: a second try is refused before reaching the provider.
    assert_page(
        callback(&server, &query, Some(&login)).await,
        StatusCode::BAD_REQUEST,
        "n'a pas été commencée dans ce navigateur",
    )
    .await;
    // A person who cancels at the provider.
    let other_state = param(
        &query_of(other.headers()["location"].to_str().unwrap()),
        "state",
    )
    .unwrap()
    .to_owned();
    assert_page(
        callback(
            &server,
            &format!("error=access_denied&state={other_state}"),
            Some(&other_login),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "annulée ou refusée",
    )
    .await;
    // Nonsense never makes a 500.
    for query in ["", "state=%FF%FE", "code=&state=", "error=%3Cscript%3E"] {
        let response = callback(&server, query, Some("x")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let audit = server.audit();
    let events: Vec<Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("event").is_some())
        .collect();
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "signin-refused")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    for reason in [
        "no-login-cookie",
        "unknown-state",
        "code-rejected",
        "access-denied",
    ] {
        assert!(reasons.contains(&reason), "{reason} not in {reasons:?}");
    }
    assert!(
        !audit.contains("c0de") && !audit.contains(&login),
        "no secret in the trail"
    );
}

#[tokio::test]
async fn sessions_and_their_pages_without_a_provider() {
    let server = start_server(None);
    assert_eq!(
        session_json(&server).await,
        json!({"signin": "not-configured", "signedIn": false})
    );
    let response = client()
        .get(server.url("/ui/session"))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    assert_page(
        client()
            .get(server.url("/ui/connexion"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "n'est pas configurée",
    )
    .await;
    // A session cookie is no credential here: 401, as without one.
    let read = client()
        .get(server.url("/fhir/Practitioner?_count=1"))
        .header("cookie", "annuaire_session=made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);
    // `/ui/moi` is not public: it needs a session.
    let mine = client().get(server.url("/ui/moi")).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_made_up_session_cookie_is_no_credential_and_sign_out_without_a_session_goes_home() {
    let key = SigningKey::rsa("k", Algorithm::RS256);
    let provider = TinyProvider::start(true, &[&key]);
    let server = start_server(Some((&provider, 1)));
    let read = client()
        .get(server.url("/fhir/Practitioner?_count=1"))
        .header("cookie", "annuaire_session=made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);
    let out = client()
        .post(server.url("/ui/deconnexion"))
        .header("cookie", "annuaire_session=made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()["location"], "/");
    let cleared = set_cookies(&out);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("annuaire_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    // The page's script asks in JSON, and is told where to go.
    let out = client()
        .post(server.url("/ui/deconnexion"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert!(set_cookies(&out)[0].starts_with("annuaire_session=;"));
    assert_eq!(out.json::<Value>().await.unwrap(), json!({"redirect": "/"}));
}

#[test]
fn jwt_without_jwks_needs_a_provider() {
    let dir = common::scratch_dir("annuaire-signin-config-");
    let path = dir.path().join("annuaire.toml");
    std::fs::write(
        &path,
        "[auth.jwt]\nissuer = \"https://i.example\"\naudience = \"a\"\n",
    )
    .unwrap();
    let settings = Settings::load(Settings {
        config: Some(path),
        ..common::settings_for(dir.path())
    });
    let error = match settings {
        Err(e) => e.to_string(),
        Ok(settings) => match annuaire::app::Application::build(settings) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a [auth.jwt] without keys was accepted"),
        },
    };
    assert!(error.contains("auth.jwt.jwks"), "{error}");
}
