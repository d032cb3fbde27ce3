//! Access control over real HTTP: API keys, JWT bearer tokens (with every attack we know of),
//! SMART scopes, restricted elements, rate limits, the audit trail and the configuration
//! file. The tests draw their own keys and sign their own tokens (tests/auth_support).

mod auth_support;
mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use annuaire::auth::Access;
use annuaire::clock::{Clock, ClockHandle};
use annuaire::settings::Settings;
use auth_support::{AUDIENCE, ISSUER, SigningKey, b64url, claims_at, jwks};
use common::{api_key_sha256 as sha256_hex, client};
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FULL_KEY: &str = "full-access-key-0123456789abcdef";
const PRACTITIONERS_KEY: &str = "practitioners-only-key-0123456789";
const LIMITED_KEY: &str = "rate-limited-key-0123456789abcdef";
const RESTRICTED_SCOPE: &str = "annuaire/restricted.read";

struct Keys {
    rs256: SigningKey,
    ps256: SigningKey,
    es256: SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rs256: SigningKey::rsa("rsa-1", Algorithm::RS256),
        ps256: SigningKey::rsa("rsa-ps", Algorithm::PS256),
        es256: SigningKey::ec("ec-1"),
    })
}

struct Server {
    base: String,
    dir: PathBuf,
    /// The server's clock: tokens are issued at its time, and a test moves it to see one
    /// expire.
    clock: ClockHandle,
}

fn config_text(dir: &Path) -> String {
    format!(
        r#"
[auth]
realm = "annuaire-test"

[[auth.api_keys]]
name = "full"
sha256 = "{full}"
scopes = ["system/*.rs", "{RESTRICTED_SCOPE}"]

[[auth.api_keys]]
name = "practitioners-only"
sha256 = "{practitioners}"
scopes = ["system/Practitioner.read"]

[[auth.api_keys]]
name = "limited"
sha256 = "{limited}"
scopes = ["system/*.read"]
rate_limit = {{ per_second = 1, burst = 3 }}

[auth.jwt]
jwks = "jwks.json"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithms = ["RS256", "PS256", "ES256"]
leeway_seconds = 0

[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom", "HealthcareService.characteristic"]
scope = "{RESTRICTED_SCOPE}"

[auth.smart]
token_endpoint = "https://auth.example.test/token"
authorization_endpoint = "https://auth.example.test/authorize"

[audit]
destination = "{audit}"
"#,
        full = sha256_hex(FULL_KEY),
        practitioners = sha256_hex(PRACTITIONERS_KEY),
        limited = sha256_hex(LIMITED_KEY),
        audit = dir.join("audit.log").display(),
    )
}

fn write_jwks(dir: &Path, keys: &[&SigningKey]) {
    let tmp = dir.join("jwks.json.tmp");
    std::fs::write(&tmp, jwks(keys)).expect("write the JWKS");
    std::fs::rename(&tmp, dir.join("jwks.json")).expect("replace the JWKS");
}

/// One server for the whole binary, over the demo data, with the configuration above, on a
/// manual clock set to the time it starts.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let demo = common::demo();
        let dir = common::scratch_dir("annuaire-access-").keep();
        let k = keys();
        write_jwks(&dir, &[&k.rs256, &k.ps256, &k.es256]);
        let config_path = dir.join("annuaire.toml");
        std::fs::write(&config_path, config_text(&dir)).expect("write the configuration");
        let settings = Settings::load(Settings {
            config: Some(config_path),
            ..common::settings_for(&demo.data)
        })
        .expect("the test configuration is valid");
        let (clock, handle) = Clock::manual(time::OffsetDateTime::now_utc());
        let base = common::spawn_server_on(settings, Some(Duration::from_millis(200)), clock).base;
        Server {
            base,
            dir,
            clock: handle,
        }
    })
}

/// The shared server's time, in seconds since the epoch (what `exp` and `nbf` are in).
fn now() -> u64 {
    server().clock.now_utc().unix_timestamp() as u64
}

/// Claims valid for an hour at the shared server's time, granting `scope`.
fn claims(subject: &str, scope: &str) -> Value {
    claims_at(subject, scope, now())
}

enum Credential<'a> {
    None,
    Key(&'a str),
    Bearer(&'a str),
    Raw(&'a str),
}

async fn get(
    path: &str,
    credential: Credential<'_>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = client().get(format!("{}{path}", server().base));
    request = match credential {
        Credential::None => request,
        Credential::Key(key) => request.header("ESANTE-API-KEY", key),
        Credential::Bearer(token) => request.bearer_auth(token),
        Credential::Raw(value) => request.header("Authorization", value),
    };
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    (status, headers, body)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Asserts an OperationOutcome with this issue code, and returns its diagnostics.
fn outcome(body: &str, code: &str) -> String {
    let value = json(body);
    assert_eq!(value["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(value["issue"][0]["code"], code, "{body}");
    value["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn token(scope: &str) -> String {
    keys().rs256.sign(&claims("client-a", scope))
}

fn full_token() -> String {
    token(&format!("system/*.rs {RESTRICTED_SCOPE}"))
}

#[tokio::test]
async fn no_credentials_get_401_with_a_challenge() {
    for path in [
        "/fhir/Practitioner",
        "/fhir/Practitioner/pp-1-10",
        "/fhir/Organization?name=a",
    ] {
        let (status, headers, body) = get(path, Credential::None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            headers["www-authenticate"].to_str().unwrap(),
            r#"Bearer realm="annuaire-test""#
        );
        assert!(outcome(&body, "login").contains("ESANTE-API-KEY"));
    }
}

#[tokio::test]
async fn metadata_and_smart_configuration_stay_open() {
    let (status, _, body) = get("/fhir/metadata", Credential::None).await;
    assert_eq!(status, StatusCode::OK);
    let security = &json(&body)["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    assert_eq!(
        security["extension"][0]["extension"][0]["valueUri"],
        "https://auth.example.test/token"
    );
    for path in [
        "/.well-known/smart-configuration",
        "/fhir/.well-known/smart-configuration",
    ] {
        let (status, _, body) = get(path, Credential::None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let smart = json(&body);
        assert_eq!(smart["token_endpoint"], "https://auth.example.test/token");
        assert_eq!(
            smart["authorization_endpoint"],
            "https://auth.example.test/authorize"
        );
        assert_eq!(smart["issuer"], ISSUER);
        let scopes = smart["scopes_supported"].as_array().unwrap();
        assert!(scopes.contains(&json!("system/Practitioner.read")));
        assert!(scopes.contains(&json!("system/HealthcareService.read")));
        assert!(scopes.contains(&json!("system/Device.rs")));
        assert!(scopes.contains(&json!(RESTRICTED_SCOPE)));
        assert!(
            smart["capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!("permission-v2"))
        );
        assert_eq!(smart["code_challenge_methods_supported"], json!(["S256"]));
    }
}

#[tokio::test]
async fn api_keys_in_the_ans_gateway_header() {
    let (status, _, body) = get("/fhir/Organization?_count=1", Credential::Key(FULL_KEY)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["resourceType"], "Bundle");

    let (status, headers, body) = get("/fhir/Organization", Credential::Key("not-a-key")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key("www-authenticate"));
    let message = outcome(&body, "login");
    assert!(
        !message.contains("not-a-key"),
        "the key is not echoed: {message}"
    );

    let (status, _, body) = get(
        "/fhir/Organization?_count=1",
        Credential::Key(PRACTITIONERS_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let message = outcome(&body, "forbidden");
    assert!(
        message.contains("practitioners-only") && message.contains("Organization"),
        "{message}"
    );
    let (status, _, _) = get(
        "/fhir/Practitioner?_count=1",
        Credential::Key(PRACTITIONERS_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_signed_with_each_accepted_algorithm() {
    let k = keys();
    for key in [&k.rs256, &k.ps256, &k.es256] {
        let token = key.sign(&claims("client-b", "system/*.read"));
        for _ in 0..2 {
            // The second request is answered from the cache of verified tokens.
            let (status, _, body) =
                get("/fhir/Practitioner?_count=1", Credential::Bearer(&token)).await;
            assert_eq!(status, StatusCode::OK, "{:?}: {body}", key.algorithm);
        }
    }
}

/// A token whose header and payload are given as JSON, with this signature.
fn hand_made(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(payload.to_string().as_bytes()),
        b64url(signature)
    )
}

#[tokio::test]
async fn every_attack_on_the_bearer_token_is_refused_with_401() {
    let k = keys();
    let valid = claims("attacker", "system/*.read");
    let with = |field: &str, value: Value| {
        let mut c = valid.clone();
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = valid.clone();
        c.as_object_mut().unwrap().remove(field);
        c
    };
    let stranger = SigningKey::rsa("rsa-1", Algorithm::RS256);
    let unknown = SigningKey::rsa("nobody", Algorithm::RS256);
    let hs256_with_public_key = {
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(
            &header,
            &valid,
            &jsonwebtoken::EncodingKey::from_secret(&k.rs256.public_der),
        )
        .unwrap()
    };
    let valid_token = k.rs256.sign(&valid);
    let oversized = k.rs256.sign(&with("padding", json!("x".repeat(9000))));
    assert!(oversized.len() > 8 * 1024);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            k.rs256.sign(&with("exp", json!(now() - 120))),
            "expired",
        ),
        (
            "not yet valid",
            k.rs256.sign(&with("nbf", json!(now() + 600))),
            "not valid yet",
        ),
        (
            "wrong issuer",
            k.rs256.sign(&with("iss", json!("https://evil.example"))),
            "issuer",
        ),
        (
            "wrong audience",
            k.rs256.sign(&with("aud", json!("another-api"))),
            "audience",
        ),
        ("bad signature", stranger.sign(&valid), "signature"),
        (
            "alg none",
            hand_made(
                &json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"}),
                &valid,
                b"",
            ),
            "malformed",
        ),
        (
            "HS256 signed with the public key",
            hs256_with_public_key,
            "algorithm",
        ),
        (
            "unknown kid",
            unknown.sign(&valid),
            "key this server does not know",
        ),
        (
            "truncated",
            valid_token[..valid_token.len() - 12].to_owned(),
            "",
        ),
        ("oversized", oversized, "larger than 8 KB"),
        ("no subject", k.rs256.sign(&without("sub")), "sub"),
        ("no expiry", k.rs256.sign(&without("exp")), "exp"),
        ("garbage", "not.a.token".into(), "malformed"),
    ];
    for (name, token, expected) in cases {
        let started = std::time::Instant::now();
        let (status, headers, body) =
            get("/fhir/Practitioner?_count=1", Credential::Bearer(&token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{name}: {challenge}"
        );
        let code = if name == "expired" {
            "expired"
        } else {
            "login"
        };
        let message = outcome(&body, code);
        assert!(message.contains(expected), "{name}: {message}");
        assert!(
            !message.contains(&token[..20.min(token.len())]),
            "{name}: the token is not echoed"
        );
        if name == "oversized" {
            assert!(started.elapsed() < Duration::from_secs(2), "refused fast");
        }
    }
    let (status, _, _) = get("/fhir/Practitioner", Credential::Raw("Basic dXNlcjpwYXNz")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The valid token the attacks were derived from does work.
    let (status, _, _) = get(
        "/fhir/Practitioner?_count=1",
        Credential::Bearer(&valid_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_cached_token_stops_working_when_it_expires() {
    // Keys and server first: drawing RSA keys and importing the demo take seconds.
    let key = &keys().es256;
    server();
    let mut short = claims("short-lived", "system/*.read");
    short["exp"] = json!(now() + 2);
    let token = key.sign(&short);
    let (status, _, body) = get("/fhir/Practitioner?_count=1", Credential::Bearer(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Past `exp` (the leeway is 0) on the server's clock; tokens of the other tests are valid
    // for an hour.
    server().clock.advance(Duration::from_secs(3));
    let (status, _, body) = get("/fhir/Practitioner?_count=1", Credential::Bearer(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    outcome(&body, "expired");
}

#[tokio::test]
async fn scopes_decide_which_types_may_be_read_and_searched() {
    let cases: &[(&str, &str, StatusCode)] = &[
        (
            "openid fhirUser",
            "/fhir/Practitioner?_count=1",
            StatusCode::FORBIDDEN,
        ),
        (
            "system/Organization.read",
            "/fhir/Practitioner?_count=1",
            StatusCode::FORBIDDEN,
        ),
        (
            "system/Organization.read",
            "/fhir/Organization?_count=1",
            StatusCode::OK,
        ),
        (
            "patient/*.read",
            "/fhir/Organization?_count=1",
            StatusCode::FORBIDDEN,
        ),
        (
            "user/*.read",
            "/fhir/PractitionerRole?_count=1",
            StatusCode::OK,
        ),
        (
            "system/Practitioner.s",
            "/fhir/Practitioner?_count=1",
            StatusCode::OK,
        ),
        (
            "system/Practitioner.r",
            "/fhir/Practitioner?_count=1",
            StatusCode::FORBIDDEN,
        ),
        (
            "system/Organization.rs?type=x",
            "/fhir/Organization?_count=1",
            StatusCode::FORBIDDEN,
        ),
    ];
    for (scope, path, expected) in cases {
        let (status, _, body) = get(path, Credential::Bearer(&token(scope))).await;
        assert_eq!(status, *expected, "{scope} {path}: {body}");
        if *expected == StatusCode::FORBIDDEN {
            outcome(&body, "forbidden");
        }
    }
    // Read by id needs `r`; `s` alone does not give it.
    let (_, _, body) = get(
        "/fhir/Practitioner?_count=1",
        Credential::Bearer(&full_token()),
    )
    .await;
    let id = json(&body)["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = format!("/fhir/Practitioner/{id}");
    let (status, _, _) = get(&read, Credential::Bearer(&token("system/Practitioner.s"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = get(&read, Credential::Bearer(&token("system/Practitioner.r"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn includes_chains_and_reverse_chains_towards_a_forbidden_type_are_refused() {
    let roles_only = token("system/PractitionerRole.rs");
    for path in [
        "/fhir/PractitionerRole?_include=PractitionerRole:organization",
        "/fhir/PractitionerRole?_include=PractitionerRole:*",
        "/fhir/PractitionerRole?_include=*",
        "/fhir/PractitionerRole?organization.name=a",
        "/fhir/PractitionerRole?practitioner.identifier=1",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&roles_only)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        outcome(&body, "forbidden");
    }
    let practitioners_only = token("system/Practitioner.rs");
    for path in [
        "/fhir/Practitioner?_revinclude=PractitionerRole:practitioner",
        "/fhir/Practitioner?_has:PractitionerRole:practitioner:role=FON-01",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&practitioners_only)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // With both types allowed, the same include answers and returns the included type.
    let (status, _, body) = get(
        "/fhir/PractitionerRole?_count=5&_include=PractitionerRole:organization",
        Credential::Bearer(&token("system/PractitionerRole.rs system/Organization.rs")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        json(&body)["entry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"]["resourceType"] == "Organization")
    );
}

#[tokio::test]
async fn searching_or_sorting_on_a_restricted_element_is_refused() {
    let without = token("system/*.rs");
    for path in [
        "/fhir/Practitioner?mailbox-mss=someone@test.mssante.fr",
        "/fhir/Practitioner?mailbox-mss:missing=false",
        "/fhir/PractitionerRole?mailbox-mss-type=PER",
        "/fhir/PractitionerRole?practitioner.mailbox-mss=someone@test.mssante.fr",
        "/fhir/Practitioner?_has:PractitionerRole:practitioner:mailbox-mss=someone",
        "/fhir/Practitioner?_sort=mailbox-mss",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&without)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        let message = outcome(&body, "forbidden");
        assert!(message.contains("telecom"), "{message}");
        assert!(!message.contains("someone"), "{message}");
    }
    // Organization.telecom is not restricted; with the scope everything is allowed.
    let (status, _, body) = get(
        "/fhir/Organization?mailbox-mss:missing=false&_count=1",
        Credential::Bearer(&without),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = get(
        "/fhir/Practitioner?mailbox-mss:missing=false&_count=1",
        Credential::Bearer(&full_token()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// HealthcareService and Device are guarded like the first three types: a scope names each,
/// and following a reference towards one the caller may not read is refused. Holds on empty
/// types too (a refusal never depends on what the data holds).
#[tokio::test]
async fn the_finess_service_types_need_their_own_scopes() {
    let organizations_only = token("system/Organization.rs");
    for path in [
        "/fhir/HealthcareService?_count=1",
        "/fhir/Device?_count=1",
        "/fhir/HealthcareService/asr-0",
        "/fhir/Organization?_revinclude=Device:organization",
        "/fhir/Organization?_revinclude=HealthcareService:organization",
        "/fhir/Organization?_has:HealthcareService:organization:service-type=x",
        "/fhir/Organization?_has:Device:organization:type=05602",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&organizations_only)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        outcome(&body, "forbidden");
    }
    // The other way: a service without its establishments' type.
    let services_only = token("system/HealthcareService.rs system/Device.rs");
    for path in [
        "/fhir/HealthcareService?_include=HealthcareService:organization",
        "/fhir/Device?_include=*",
        "/fhir/HealthcareService?organization.address-postalcode=69",
        "/fhir/Device?organization.name=a",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&services_only)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        outcome(&body, "forbidden");
    }
    for path in [
        "/fhir/HealthcareService?service-type=x&_count=1",
        "/fhir/Device?type=05602&_count=1",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&services_only)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // `r` reads by id, `s` searches; one type's scope says nothing of the other's.
    let device_read = token("system/Device.r");
    let (status, _, body) = get("/fhir/Device/eml-0", Credential::Bearer(&device_read)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "read allowed: {body}");
    let (status, _, _) = get("/fhir/Device?_count=1", Credential::Bearer(&device_read)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "search needs s");
    let (status, _, _) = get(
        "/fhir/HealthcareService/asr-0",
        Credential::Bearer(&device_read),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Device.r is not HealthcareService.r"
    );
    // API keys are scoped the same way (this one holds Practitioner only).
    let (status, _, _) = get("/fhir/Device?_count=1", Credential::Key(PRACTITIONERS_KEY)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A restricted element of a new type (`HealthcareService.characteristic` in this server's
/// configuration) can be neither searched nor sorted on without the scope.
#[tokio::test]
async fn searching_a_restricted_element_of_a_service_is_refused() {
    let without = token("system/*.rs");
    for path in [
        "/fhir/HealthcareService?characteristic=21",
        "/fhir/HealthcareService?characteristic:missing=false",
        "/fhir/HealthcareService?_sort=characteristic",
        "/fhir/Organization?_has:HealthcareService:organization:characteristic=21",
    ] {
        let (status, _, body) = get(path, Credential::Bearer(&without)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        let message = outcome(&body, "forbidden");
        assert!(message.contains("characteristic"), "{message}");
    }
    let (status, _, body) = get(
        "/fhir/HealthcareService?characteristic=21&_count=1",
        Credential::Bearer(&full_token()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The restricted `characteristic` is absent from what a caller without the scope sees, in
/// every shape, and there with the scope (needs the demo's services).
#[tokio::test]
async fn a_restricted_element_of_a_service_is_redacted() {
    let with = full_token();
    let without = token("system/*.rs");
    let (_, _, body) = get(
        "/fhir/HealthcareService?characteristic:missing=false&_count=1",
        Credential::Bearer(&with),
    )
    .await;
    let bundle = json(&body);
    let service = &bundle["entry"][0]["resource"];
    let id = service["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the demo has a service with a characteristic: {body}"))
        .to_owned();
    let establishment = service["providedBy"]["reference"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    for path in [
        format!("/fhir/HealthcareService/{id}"),
        format!("/fhir/HealthcareService?_id={id}"),
        format!("/fhir/HealthcareService?_id={id}&_elements=characteristic,type"),
        format!(
            "/fhir/Organization?_id={establishment}&_revinclude=HealthcareService:organization"
        ),
    ] {
        let (status, _, seen_with) = get(&path, Credential::Bearer(&with)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            seen_with.contains("\"characteristic\""),
            "{path}: {seen_with}"
        );
        let (status, _, seen_without) = get(&path, Credential::Bearer(&without)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {seen_without}");
        assert!(
            !seen_without.contains("\"characteristic\""),
            "{path}: {seen_without}"
        );
        assert!(seen_without.contains("REDACTED"), "{path} is labelled");
    }
}

/// MSSanté addresses found in a body.
fn mailboxes(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    let value = json(body);
    let mut stack = vec![&value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(v)) = map.get("value")
                    && v.contains("mssante")
                {
                    found.push(v.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

#[tokio::test]
async fn restricted_values_are_absent_from_every_answer_shape() {
    let with = full_token();
    let without = token("system/*.rs");
    // A role with an MSSanté mailbox, and its practitioner, seen by a caller with the scope.
    let (_, _, body) = get(
        "/fhir/PractitionerRole?mailbox-mss:missing=false&_count=1&_include=PractitionerRole:practitioner",
        Credential::Bearer(&with),
    )
    .await;
    let secrets = mailboxes(&body);
    assert!(
        !secrets.is_empty(),
        "the demo data has MSSanté mailboxes: {body}"
    );
    let bundle = json(&body);
    let role_id = bundle["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let practitioner_ref = bundle["entry"][0]["resource"]["practitioner"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let practitioner_id = practitioner_ref.rsplit('/').next().unwrap().to_owned();
    let (_, _, body) = get(
        &"/fhir/Practitioner?mailbox-mss:missing=false&_count=1".to_string(),
        Credential::Bearer(&with),
    )
    .await;
    let practitioner_with_mailbox = json(&body)["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let practitioner_secrets = mailboxes(&body);
    assert!(!practitioner_secrets.is_empty());

    let shapes = [
        format!("/fhir/Practitioner/{practitioner_with_mailbox}"),
        format!("/fhir/Practitioner?_id={practitioner_with_mailbox}"),
        format!("/fhir/Practitioner?_id={practitioner_with_mailbox}&_elements=telecom,name"),
        format!("/fhir/Practitioner?_id={practitioner_with_mailbox}&_summary=true"),
        format!(
            "/fhir/Practitioner?_id={practitioner_with_mailbox}&_revinclude=PractitionerRole:practitioner"
        ),
        format!("/fhir/PractitionerRole/{role_id}"),
        format!("/fhir/PractitionerRole?_id={role_id}&_include=PractitionerRole:practitioner"),
        format!("/fhir/Practitioner/{practitioner_id}"),
    ];
    for path in &shapes {
        let (status, _, seen_with) = get(path, Credential::Bearer(&with)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let (status, _, seen_without) = get(path, Credential::Bearer(&without)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {seen_without}");
        for secret in secrets.iter().chain(&practitioner_secrets) {
            assert!(
                !seen_without.contains(secret.as_str()),
                "{path} leaks {secret}"
            );
        }
        assert!(
            !seen_without.contains("\"telecom\""),
            "{path}: {seen_without}"
        );
        assert!(seen_without.contains("REDACTED"), "{path} is labelled");
        if !path.contains("_elements") && !path.contains("_summary") {
            assert!(
                !mailboxes(&seen_with).is_empty() || path.contains(&practitioner_id),
                "{path}: the caller with the scope sees mailboxes"
            );
        }
    }
    // The label sits in meta.security of each redacted resource.
    let (_, _, body) = get(
        &format!("/fhir/Practitioner/{practitioner_with_mailbox}"),
        Credential::Bearer(&without),
    )
    .await;
    let security = &json(&body)["meta"]["security"];
    assert!(
        security
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["code"] == "REDACTED"
                && l["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"),
        "{security}"
    );
}

#[tokio::test]
async fn over_the_rate_limit_a_key_gets_429_with_retry_after() {
    let mut limited = 0;
    for _ in 0..8 {
        let (status, headers, body) =
            get("/fhir/Organization?_count=1", Credential::Key(LIMITED_KEY)).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&retry), "{retry}");
            let message = outcome(&body, "throttled");
            assert!(
                message.contains("limited") && !message.contains(LIMITED_KEY),
                "{message}"
            );
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
    assert!(
        limited >= 4,
        "a burst of 3 then 1/s: most of 8 quick requests are refused ({limited})"
    );
    // Other callers have their own buckets.
    let (status, _, _) = get("/fhir/Organization?_count=1", Credential::Key(FULL_KEY)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_audit_trail_names_callers_and_never_holds_secrets() {
    let token = full_token();
    let marker = format!("audit-{}", now());
    get(
        &format!("/fhir/Organization?name={marker}"),
        Credential::Key(FULL_KEY),
    )
    .await;
    get(
        &format!("/fhir/Practitioner?family={marker}"),
        Credential::Bearer(&token),
    )
    .await;
    let secret = "secret.mailbox@audit.mssante.fr";
    let refused_token = token_without_restricted();
    let (status, _, _) = get(
        &format!("/fhir/Practitioner?mailbox-mss={secret}&given={marker}"),
        Credential::Bearer(&refused_token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    get(
        &format!("/fhir/Practitioner?family={marker}"),
        Credential::Key("wrong-key-for-audit"),
    )
    .await;
    // A POST _search: its form body is audited as a query would be, redaction included.
    let response = client()
        .post(format!("{}/fhir/Practitioner/_search", server().base))
        .bearer_auth(&refused_token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("mailbox-mss={secret}&name={marker}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let path = server().dir.join("audit.log");
    let mut lines = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        lines = text
            .lines()
            .filter(|l| l.contains(&marker))
            .map(str::to_owned)
            .collect();
        if lines.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(lines.len(), 5, "{lines:?}");
    let records: Vec<Value> = lines.iter().map(|l| json(l)).collect();
    let key_line = records
        .iter()
        .find(|r| r["caller"]["name"] == "full")
        .expect("API key line");
    assert_eq!(key_line["method"], "GET");
    assert_eq!(key_line["path"], "/fhir/Organization");
    assert_eq!(key_line["resource_type"], "Organization");
    assert_eq!(key_line["status"], 200);
    assert_eq!(key_line["returned"], 0);
    assert!(key_line["latency_ms"].as_f64().is_some());
    assert!(key_line["time"].as_str().unwrap().ends_with('Z'));
    let token_line = records
        .iter()
        .find(|r| r["caller"]["kind"] == "token" && r["status"] == 200)
        .expect("token line");
    assert_eq!(token_line["caller"]["subject"], "client-a");
    assert_eq!(token_line["caller"]["national_id"], "810000000001");
    let posted = records
        .iter()
        .find(|r| r["method"] == "POST")
        .expect("POST _search line");
    assert_eq!(posted["path"], "/fhir/Practitioner/_search");
    assert_eq!(posted["status"], 403);
    let posted_query = posted["query"].as_str().unwrap();
    assert!(
        posted_query.contains("mailbox-mss=REDACTED") && posted_query.contains(&marker),
        "{posted}"
    );
    let refused = records
        .iter()
        .find(|r| r["status"] == 403 && r["method"] == "GET")
        .expect("refused line");
    assert!(
        refused["query"]
            .as_str()
            .unwrap()
            .contains("mailbox-mss=REDACTED"),
        "{refused}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["status"] == 401 && r["caller"]["kind"] == "refused")
    );
    let all = lines.join("\n");
    for secret in [
        FULL_KEY,
        "wrong-key-for-audit",
        token.as_str(),
        refused_token.as_str(),
        secret,
        "secret.mailbox",
    ] {
        assert!(!all.contains(secret), "the audit trail holds a secret");
    }
}

/// The audit lines holding `marker`, once `count` of them are written (the writer is off the
/// request path).
async fn audit_lines(audit: &Path, marker: &str, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(audit).unwrap_or_default();
        lines = text
            .lines()
            .filter(|l| l.contains(marker))
            .map(str::to_owned)
            .collect();
        if lines.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lines
}

/// A token signed with `key` whose header is `header` (kid and alg set from the key).
fn sign_with_header(key: &SigningKey, mut header: jsonwebtoken::Header, claims: &Value) -> String {
    header.alg = key.algorithm;
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

#[tokio::test]
async fn a_token_whose_header_names_critical_extensions_is_refused() {
    let key = &keys().rs256;
    let valid = claims("crit-client", "system/*.read");
    for crit in [vec!["http://example.invalid/ext"], vec!["exp"], vec![]] {
        let mut header = jsonwebtoken::Header::new(key.algorithm);
        header.crit = Some(crit.iter().map(|c| c.to_string()).collect());
        let token = sign_with_header(key, header, &valid);
        let (status, headers, body) =
            get("/fhir/Practitioner?_count=1", Credential::Bearer(&token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "crit {crit:?}: {body}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let message = outcome(&body, "login");
        assert!(message.contains("crit"), "{message}");
    }
    let plain = sign_with_header(key, jsonwebtoken::Header::new(key.algorithm), &valid);
    let (status, _, _) = get("/fhir/Practitioner?_count=1", Credential::Bearer(&plain)).await;
    assert_eq!(status, StatusCode::OK);
}

/// A second server, as the shared one but requiring `typ: at+jwt` and trusting 127.0.0.1 as
/// a proxy; returns its base URL and its directory (audit.log).
fn typed_server() -> &'static (String, PathBuf) {
    static SERVER: OnceLock<(String, PathBuf)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = common::demo_copy("annuaire-access-typ-").keep();
        let k = keys();
        write_jwks(&dir, &[&k.rs256, &k.ps256, &k.es256]);
        let config_path = dir.join("annuaire.toml");
        let config = config_text(&dir).replace(
            "leeway_seconds = 0\n",
            "leeway_seconds = 0\nrequired_typ = \"at+jwt\"\n",
        );
        assert!(config.contains("required_typ"));
        std::fs::write(&config_path, config).expect("write the configuration");
        let settings = Settings::load(Settings {
            config: Some(config_path),
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..common::settings_for(&dir.join("data"))
        })
        .expect("the test configuration is valid");
        let base = common::spawn_server(settings, None).base;
        (base, dir)
    })
}

#[tokio::test]
async fn a_required_typ_refuses_tokens_of_another_type() {
    let key = &keys().es256;
    let (base, _) = typed_server();
    let valid = claims_at("typed-client", "system/*.read", auth_support::now());
    let with_typ = |typ: Option<&str>| {
        let mut header = jsonwebtoken::Header::new(key.algorithm);
        header.typ = typ.map(str::to_owned);
        sign_with_header(key, header, &valid)
    };
    let status_of = |token: String| async move {
        let response = client()
            .get(format!("{base}/fhir/Practitioner?_count=1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    };
    for accepted in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let (status, body) = status_of(with_typ(Some(accepted))).await;
        assert_eq!(status, StatusCode::OK, "typ {accepted}: {body}");
    }
    for refused in [Some("JWT"), Some("id_token+jwt"), None] {
        let (status, body) = status_of(with_typ(refused)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "typ {refused:?}: {body}");
        let message = outcome(&body, "login");
        assert!(message.contains("typ `at+jwt`"), "{message}");
    }
    // Without the setting (the shared server), `typ` is not checked.
    let shared = claims("untyped-client", "system/*.read");
    let (status, _, _) = get(
        "/fhir/Practitioner?_count=1",
        Credential::Bearer(&sign_with_header(
            key,
            jsonwebtoken::Header::new(key.algorithm),
            &shared,
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn scopes_are_split_on_the_space_character_only() {
    // A no-break space (or a tab) joins two scopes into one string that is no scope at all:
    // it must not unlock the restricted elements, nor grant `system/*.rs`.
    for joiner in ['\u{a0}', '\t', '\u{2003}'] {
        let token = token(&format!(
            "system/*.rs{joiner}{RESTRICTED_SCOPE} system/Practitioner.rs"
        ));
        let (status, _, body) = get(
            "/fhir/Practitioner?mailbox-mss:missing=false&_count=1",
            Credential::Bearer(&token),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{joiner:?}: {body}");
        assert!(outcome(&body, "forbidden").contains("restricted"), "{body}");
        let (status, _, _) = get("/fhir/Organization?_count=1", Credential::Bearer(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{joiner:?}");
        let (status, _, _) = get("/fhir/Practitioner?_count=1", Credential::Bearer(&token)).await;
        assert_eq!(status, StatusCode::OK, "{joiner:?}");
    }
}

#[tokio::test]
async fn identity_claims_reach_the_audit_whole_with_control_characters_escaped() {
    let marker = format!("whole-{}", now());
    let national_id = "8 1000 00001\u{202e}4321\u{9b}31m\nforged";
    let mut claims = claims("whole-client", "system/*.rs");
    claims["SubjectNameID"] = json!(national_id);
    claims["SubjectRole"] = json!("10^1.2.250 and more");
    let token = keys().rs256.sign(&claims);
    let (status, _, _) = get(
        &format!("/fhir/Practitioner?family={marker}"),
        Credential::Bearer(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lines = audit_lines(&server().dir.join("audit.log"), &marker, 1).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    for raw in ['\u{202e}', '\u{9b}'] {
        assert!(!line.contains(raw), "{raw:?} written raw: {line:?}");
    }
    assert!(
        line.contains(r"\u202e") && line.contains(r"\u009b"),
        "{line}"
    );
    let record = json(line);
    assert_eq!(record["caller"]["national_id"], national_id);
    assert_eq!(record["caller"]["roles"], json!(["10^1.2.250 and more"]));
}

#[tokio::test]
async fn audit_lines_carry_the_client_address_and_the_known_caller_of_a_refusal() {
    let marker = format!("who-{}", now());
    // From an untrusted peer, a forwarded address is not believed.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = client()
            .get(format!("{}/fhir/Organization?name={marker}", server().base))
            .header("ESANTE-API-KEY", LIMITED_KEY)
            .header("X-Forwarded-For", "203.0.113.9")
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let refused_token = token_without_restricted();
    let (status, _, _) = get(
        &format!("/fhir/Practitioner?mailbox-mss=x&given={marker}"),
        Credential::Bearer(&refused_token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    get(
        &format!("/fhir/Practitioner?given={marker}"),
        Credential::Key("not-a-key-of-this-server"),
    )
    .await;
    let lines = audit_lines(&server().dir.join("audit.log"), &marker, 10).await;
    assert_eq!(lines.len(), 10, "{lines:?}");
    let records: Vec<Value> = lines.iter().map(|l| json(l)).collect();
    for record in &records {
        assert_eq!(record["client_address"], "127.0.0.1", "{record}");
    }
    let throttled: Vec<&Value> = records.iter().filter(|r| r["status"] == 429).collect();
    assert!(!throttled.is_empty());
    for record in throttled {
        assert_eq!(record["caller"]["kind"], "api-key", "{record}");
        assert_eq!(record["caller"]["name"], "limited", "{record}");
    }
    let forbidden = records.iter().find(|r| r["status"] == 403).unwrap();
    assert_eq!(forbidden["caller"]["subject"], "client-c", "{forbidden}");
    let unknown = records.iter().find(|r| r["status"] == 401).unwrap();
    assert_eq!(
        unknown["caller"],
        json!({"kind": "refused", "reason": "unknown_api_key"})
    );

    // Behind a trusted proxy, the address it forwarded.
    let (base, dir) = typed_server();
    let response = client()
        .get(format!("{base}/fhir/Organization?name={marker}"))
        .header("ESANTE-API-KEY", FULL_KEY)
        .header("X-Forwarded-For", "198.51.100.7, 203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let lines = audit_lines(&dir.join("audit.log"), &marker, 1).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(json(&lines[0])["client_address"], "203.0.113.9");
}

#[tokio::test]
async fn the_audit_log_the_server_creates_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let _ = get("/fhir/metadata", Credential::None).await;
    let path = server().dir.join("audit.log");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

/// Answers depend on who asks: caches must not keep them, nor mix a redacted answer with a full
/// one.
#[tokio::test]
async fn answers_that_depend_on_credentials_are_kept_by_no_cache() {
    let with = full_token();
    let without = token("system/*.rs");
    let (_, _, body) = get(
        "/fhir/Practitioner?mailbox-mss:missing=false&_count=1",
        Credential::Bearer(&with),
    )
    .await;
    let id = json(&body)["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/fhir/Practitioner/{id}");
    let (status, full, _) = get(&path, Credential::Bearer(&with)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, redacted, _) = get(&path, Credential::Bearer(&without)).await;
    assert_eq!(status, StatusCode::OK);
    for headers in [&full, &redacted] {
        assert_eq!(headers["cache-control"], "private, no-store");
        let vary: Vec<String> = headers
            .get_all("vary")
            .iter()
            .flat_map(|v| {
                v.to_str()
                    .unwrap()
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
            })
            .collect();
        for header in ["authorization", "esante-api-key", "accept"] {
            assert!(
                vary.iter().any(|v| v == header),
                "Vary {vary:?} lacks {header}"
            );
        }
    }
    assert_ne!(
        full["etag"], redacted["etag"],
        "a redacted representation has its own ETag"
    );
    // A client revalidating with the full answer's ETag while allowed only the redacted one
    // gets the redacted body, not a 304 for something it was never shown.
    let response = client()
        .get(format!("{}{path}", server().base))
        .bearer_auth(&without)
        .header("If-None-Match", full["etag"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Refusals are not cached either.
    let (status, refused, _) = get(&path, Credential::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused["cache-control"], "private, no-store");
}

fn token_without_restricted() -> String {
    keys().ps256.sign(&claims("client-c", "system/*.rs"))
}

#[tokio::test]
async fn a_new_key_in_the_jwks_file_is_picked_up_without_a_restart() {
    let dir = &server().dir;
    let rotated = SigningKey::ec("rotated-1");
    let token = rotated.sign(&claims("client-rotated", "system/*.read"));
    let (status, _, _) = get("/fhir/Organization?_count=1", Credential::Bearer(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let k = keys();
    write_jwks(dir, &[&k.rs256, &k.ps256, &k.es256, &rotated]);
    let mut status = StatusCode::UNAUTHORIZED;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = get("/fhir/Organization?_count=1", Credential::Bearer(&token))
            .await
            .0;
        if status == StatusCode::OK {
            break;
        }
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "the rotated key is accepted after the reload"
    );
}

#[test]
fn the_example_configuration_is_valid() {
    let dir = common::scratch_dir("annuaire-example-config-");
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/annuaire.example.toml");
    let path = dir.path().join("annuaire.toml");
    std::fs::copy(&example, &path).unwrap();
    let key = SigningKey::ec("example");
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&key])).unwrap();
    let settings = Settings::load(Settings {
        config: Some(path),
        ..Settings::default()
    })
    .expect("the example loads");
    let auth = settings
        .auth
        .as_ref()
        .expect("the example configures access control");
    assert_eq!(auth.api_keys.len(), 2);
    assert_eq!(settings.listen(), "127.0.0.1:8080");
    let restricted: Vec<String> = auth
        .restricted
        .as_ref()
        .unwrap()
        .elements
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        restricted,
        ["Practitioner.telecom", "PractitionerRole.telecom"]
    );
    let access =
        Access::from_config(auth.clone(), Clock::system()).expect("the example's policy starts");
    assert!(!access.is_open());
    assert_eq!(
        access.smart_configuration().unwrap()["issuer"],
        "https://auth.esante.gouv.fr/auth/realms/esante-wallet"
    );
}

#[test]
fn an_invalid_configuration_stops_the_server_naming_the_setting() {
    let dir = common::scratch_dir("annuaire-bad-config-");
    let cases = [
        (
            "[auth]\n[[auth.api_keys]]\nname = \"a\"\nsha256 = \"xyz\"\nscopes = []\n",
            "auth.api_keys[0].sha256",
        ),
        ("[auth]\nrealmm = \"typo\"\n", "realmm"),
        (
            "[auth.jwt]\njwks = \"missing.json\"\nissuer = \"i\"\naudience = \"a\"\n",
            "auth.jwt.jwks",
        ),
        (
            "[auth]\n[[auth.api_keys]]\nname = \"a\"\nsha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\nscopes = [\"system/*.read\"]\n[auth.restricted]\nelements = [\"Practitioner.email\"]\nscope = \"x\"\n",
            "auth.restricted.elements",
        ),
        ("cache_mb = \"lots\"\n", "cache_mb"),
    ];
    for (i, (text, setting)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_annuaire"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .output()
            .expect("run annuaire");
        assert!(!output.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(setting), "{setting}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn sighup_reloads_the_jwks_file_even_when_its_modification_time_did_not_change() {
    let dir = common::scratch_dir("annuaire-sighup-");
    let first = SigningKey::ec("first");
    let second = SigningKey::ec("second");
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, jwks(&[&first])).unwrap();
    let config = dir.path().join("annuaire.toml");
    std::fs::write(
        &config,
        format!(
            "[auth.jwt]\njwks = \"jwks.json\"\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\nalgorithms = [\"ES256\"]\n"
        ),
    )
    .unwrap();
    // The real binary on the system clock: its watcher says (at trace level) each time it
    // finds the JWKS file unchanged.
    let mut command = common::serve_command(&[
        OsStr::new("--demo"),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    command.env("RUST_LOG", "info,annuaire::app=trace");
    let server = common::spawn_serve_command(command);
    let base = format!("http://{}/fhir", server.address);
    let ask = |token: String| {
        let url = format!("{base}/Organization?_count=1");
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status())
                .ok()
        }
    };
    let first_token = first.sign(&auth_support::claims("hup", "system/*.read"));
    assert_eq!(
        ask(first_token.clone()).await,
        Some(StatusCode::OK),
        "the server answers with the first key"
    );
    // Replace the key set, keeping the file's modification time (set on the new file before
    // it takes the old one's place): the watcher sees no change...
    let modified = std::fs::metadata(&jwks_path).unwrap().modified().unwrap();
    let replacement = dir.path().join("jwks.json.new");
    std::fs::write(&replacement, jwks(&[&second])).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&replacement)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::fs::rename(&replacement, &jwks_path).unwrap();
    server.child.forget_lines();
    assert!(
        server
            .child
            .wait_for_line("unchanged", Duration::from_secs(10))
            .is_some(),
        "the watcher looked at the JWKS file:\n{}",
        server.child.stderr()
    );
    let second_token = second.sign(&auth_support::claims("hup", "system/*.read"));
    assert_eq!(
        ask(second_token.clone()).await,
        Some(StatusCode::UNAUTHORIZED),
        "...and keeps the keys it has"
    );
    // ...until SIGHUP.
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &server.child.child.id().to_string()])
        .status()
        .expect("send SIGHUP");
    assert!(hup.success());
    let mut status = None;
    for _ in 0..50 {
        status = ask(second_token.clone()).await;
        if status == Some(StatusCode::OK) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(StatusCode::OK), "SIGHUP reloaded the key set");
    assert_eq!(
        ask(first_token).await,
        Some(StatusCode::UNAUTHORIZED),
        "the removed key stops working"
    );
}

#[test]
fn the_api_key_command_prints_a_key_and_its_hash_for_the_configuration() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_annuaire"))
        .args([
            "api-key",
            "--name",
            "dpi-test",
            "--scopes",
            "system/Practitioner.read",
        ])
        .output()
        .expect("run annuaire api-key");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("a 64-digit key");
    let config: toml_snippet::Snippet = toml_snippet::parse(&text);
    assert_eq!(config.name, "dpi-test");
    assert_eq!(config.sha256, sha256_hex(key));
    assert_eq!(config.scopes, ["system/Practitioner.read"]);
}

/// The `[[auth.api_keys]]` lines the command prints.
mod toml_snippet {
    pub struct Snippet {
        pub name: String,
        pub sha256: String,
        pub scopes: Vec<String>,
    }

    pub fn parse(text: &str) -> Snippet {
        let value = |field: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{field} = ")))
                .unwrap_or_else(|| panic!("no `{field}` line in {text}"))
                .to_owned()
        };
        let unquote = |s: String| s.trim_matches('"').to_owned();
        let scopes = value("scopes");
        Snippet {
            name: unquote(value("name")),
            sha256: unquote(value("sha256")),
            scopes: scopes
                .trim_matches(['[', ']'])
                .split(", ")
                .map(|s| s.trim_matches('"').to_owned())
                .collect(),
        }
    }
}

/// Runs an export as `key` to completion: the manifest and the concatenated file contents.
async fn export_as(key: &str, query: &str) -> Result<(Value, String), (StatusCode, String)> {
    let kick_off = client()
        .get(format!("{}/fhir/$export?{query}", server().base))
        .header("ESANTE-API-KEY", key)
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    if kick_off.status() != StatusCode::ACCEPTED {
        let status = kick_off.status();
        return Err((status, kick_off.text().await.unwrap()));
    }
    let status_url = kick_off.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_owned();
    // Someone else cannot see the job.
    let other = client()
        .get(&status_url)
        .header("ESANTE-API-KEY", PRACTITIONERS_KEY)
        .send()
        .await
        .unwrap();
    if key != PRACTITIONERS_KEY {
        assert_eq!(
            other.status(),
            StatusCode::NOT_FOUND,
            "another caller's export"
        );
    }
    let manifest: Value = loop {
        let status = client()
            .get(&status_url)
            .header("ESANTE-API-KEY", key)
            .send()
            .await
            .unwrap();
        if status.status() == StatusCode::OK {
            break status.json().await.unwrap();
        }
        assert_eq!(status.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut content = String::new();
    for file in manifest["output"].as_array().unwrap() {
        let url = file["url"].as_str().unwrap();
        let anonymous = client().get(url).send().await.unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "files need the token"
        );
        let response = client()
            .get(url)
            .header("ESANTE-API-KEY", key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        content.push_str(&response.text().await.unwrap());
    }
    Ok((manifest, content))
}

#[tokio::test]
async fn bulk_export_needs_every_type_and_redacts_restricted_elements() {
    // Without access to every exported type: 403, naming what is missing.
    let (status, body) = export_as(PRACTITIONERS_KEY, "").await.unwrap_err();
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(outcome(&body, "forbidden").contains("PractitionerRole"));
    let (manifest, content) = export_as(PRACTITIONERS_KEY, "_type=Practitioner")
        .await
        .unwrap();
    assert_eq!(manifest["requiresAccessToken"], true);
    assert!(!content.is_empty());
    assert!(
        mailboxes(&format!("[{}]", content.trim_end().replace('\n', ","))).is_empty(),
        "restricted mailboxes are not exported to a caller without the scope"
    );
    assert!(
        content.contains("REDACTED"),
        "redacted resources are labelled"
    );
    // With the restricted scope, the mailboxes are there.
    let (_, full) = export_as(FULL_KEY, "_type=Practitioner").await.unwrap();
    assert!(!mailboxes(&format!("[{}]", full.trim_end().replace('\n', ","))).is_empty());
    assert_eq!(full.lines().count(), content.lines().count());
}

/// The first label the RPPS file gives each profession code (lines that are not UTF-8 aside).
fn profession_labels_of_the_file(rpps: &Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read(rpps).expect("read the RPPS file");
    let mut lines = text.split(|b| *b == b'\n');
    let header = String::from_utf8_lossy(lines.next().expect("a header"));
    let columns: Vec<&str> = header.split('|').map(str::trim).collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).expect(name);
    let (code, label) = (at("Code profession"), at("Libellé profession"));
    let mut labels = std::collections::BTreeMap::new();
    for line in lines.filter_map(|l| std::str::from_utf8(l).ok()) {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        if let (Some(c), Some(l)) = (fields.get(code), fields.get(label))
            && !c.is_empty()
            && !l.is_empty()
        {
            labels.entry(c.to_string()).or_insert_with(|| l.to_string());
        }
    }
    labels
}

#[tokio::test]
async fn the_lookup_page_and_its_labels_are_open_and_the_data_behind_them_is_not() {
    for path in ["/", "/professionnels/pp-1-10", "/etablissements/eg-1"] {
        let (status, headers, body) = get(path, Credential::None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(body.contains("<html lang=\"fr\">"), "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"));
        // The same for every caller: browsers may keep it (and check it), unlike FHIR answers.
        assert_eq!(headers["cache-control"], "no-cache");
    }
    let (_, headers, _) = get("/readyz", Credential::None).await;
    assert_eq!(headers["cache-control"], "no-store");
    let (status, headers, _) = get("/ui/app.js", Credential::None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    // Unchanged assets are not sent again.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = client()
        .get(format!("{}/ui/app.js", server().base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The labels: the extraction file's own, found by the system and code of the codings.
    let (status, _, body) = get("/ui/labels.json", Credential::None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = json(&body);
    assert_eq!(page["credentials"], "required");
    let g15 = page["systems"]["profession"][0].as_str().unwrap();
    assert!(g15.contains("TRE_G15-ProfessionSante"));
    let expected = profession_labels_of_the_file(&common::demo().rpps);
    assert!(expected.len() > 5, "{expected:?}");
    for (code, label) in &expected {
        assert_eq!(
            page["labels"][g15][code],
            label.as_str(),
            "profession {code}"
        );
    }
    // What the page shows still needs credentials.
    let (status, _, _) = get("/fhir/Practitioner?name=a", Credential::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Every coding of a searchset, and the path of the next page.
async fn codings_of_pages(first: &str, element: &str) -> Vec<(String, String)> {
    let mut codings = Vec::new();
    let mut path = Some(first.to_owned());
    while let Some(current) = path.take() {
        let (status, _, body) = get(&current, Credential::Key(FULL_KEY)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let bundle = json(&body);
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            for concept in entry["resource"][element].as_array().into_iter().flatten() {
                let concept = if element == "qualification" {
                    &concept["code"]
                } else {
                    concept
                };
                for coding in concept["coding"].as_array().into_iter().flatten() {
                    codings.push((
                        coding["system"].as_str().unwrap().to_owned(),
                        coding["code"].as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
        path =
            common::link(&bundle, "next").map(|url| url[url.find("/fhir/").unwrap()..].to_owned());
    }
    codings
}

#[tokio::test]
async fn every_qualification_and_activity_code_served_has_its_label() {
    // The files give a label beside every one of these codes: each must be found by the system
    // and code of its coding, whatever terminology the mapping chose for it.
    let (_, _, body) = get("/ui/labels.json", Credential::None).await;
    let labels = json(&body)["labels"].clone();
    let mut codings = codings_of_pages(
        "/fhir/Practitioner?_count=500&_elements=qualification",
        "qualification",
    )
    .await;
    codings
        .extend(codings_of_pages("/fhir/PractitionerRole?_count=500&_elements=code", "code").await);
    codings.sort();
    codings.dedup();
    assert!(codings.len() > 50, "{} distinct codes", codings.len());
    let missing: Vec<&(String, String)> = codings
        .iter()
        .filter(|(system, code)| labels[system][code].as_str().is_none_or(str::is_empty))
        .collect();
    assert!(missing.is_empty(), "codes without a label: {missing:?}");
}

#[tokio::test]
async fn code_systems_are_open_like_the_capability_statement_and_nothing_else_is() {
    // Terminology, no directory data: read, searched and looked up without credentials.
    let g15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
    for path in [
        "/fhir/CodeSystem".to_owned(),
        format!("/fhir/CodeSystem?url={g15}"),
        "/fhir/CodeSystem/TRE-G15-ProfessionSante".to_owned(),
        format!("/fhir/CodeSystem/$lookup?system={g15}&code=10"),
        "/fhir/CodeSystem/TRE-G15-ProfessionSante/$lookup?code=10".to_owned(),
    ] {
        let (status, _, body) = get(&path, Credential::None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // The words are the file's.
    let (_, _, body) = get("/fhir/CodeSystem/TRE-G15-ProfessionSante", Credential::None).await;
    let concepts: std::collections::BTreeMap<String, String> = json(&body)["concept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap().to_owned(),
                c["display"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // (Psychologists, `93`, are in TRE_R95: see `mapping::nos::profession_system`.)
    let mut expected = profession_labels_of_the_file(&common::demo().rpps);
    expected.remove("93");
    assert_eq!(concepts, expected);
    // Only those routes' shapes: anything else under the prefix still asks for credentials.
    for path in [
        "/fhir/CodeSystem/TRE-G15-ProfessionSante/_history",
        "/fhir/CodeSystemX",
        "/fhir/Practitioner?qualification-code=10",
    ] {
        let (status, _, _) = get(path, Credential::None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

// Lists and subscriptions: their own scopes, named (never by `*`), the owner's subscriptions
// only, every write audited, and replicas sending them to the writer.

const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";

/// Sends `method path` with a bearer `token` and an optional JSON body.
async fn send_with(
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = client()
        .request(method, format!("{}{path}", server().base))
        .bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

fn token_of(subject: &str, scope: &str) -> String {
    keys().rs256.sign(&claims(subject, scope))
}

fn a_list(title: &str) -> Value {
    json!({"resourceType": "List", "status": "current", "mode": "working", "title": title})
}

/// A websocket subscription (no endpoint to allow) to the changes of list `list`.
fn a_subscription(list: &str) -> Value {
    json!({
        "resourceType": "Subscription",
        "meta": {"profile": [format!("{BACKPORT}/backport-subscription")]},
        "status": "requested",
        "reason": "access test",
        "criteria": "urn:annuaire:SubscriptionTopic/resource-change",
        "_criteria": {"extension": [{
            "url": format!("{BACKPORT}/backport-filter-criteria"),
            "valueString": format!("List?_id={list}")
        }]},
        "channel": {
            "type": "websocket",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{
                "url": format!("{BACKPORT}/backport-payload-content"),
                "valueCode": "id-only"
            }]}
        }
    })
}

#[tokio::test]
async fn list_scopes_grant_and_refuse_reads_and_writes() {
    use reqwest::Method;
    let marker = format!("scoped-list-{}", now());
    // Without credentials: 401, as for the directory.
    for path in ["/fhir/List", "/fhir/Subscription"] {
        let (status, _, body) = get(path, Credential::None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        outcome(&body, "login");
    }
    // The wildcard is the directory: neither lists nor `_list`.
    let directory = token_of("reader", "system/*.rs system/*.cruds");
    for (method, path) in [
        (Method::GET, "/fhir/List".to_owned()),
        (Method::GET, format!("/fhir/Practitioner?_list={marker}")),
        (Method::POST, "/fhir/List".to_owned()),
    ] {
        let body = (method == Method::POST).then(|| a_list(&marker));
        let (status, _, text) = send_with(method, &path, &directory, body.as_ref(), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {text}");
        let diagnostics = outcome(&text, "forbidden");
        assert!(diagnostics.contains("system/List."), "{diagnostics}");
    }
    // Write without read: creates, cannot search.
    let writer = token_of("list-writer", "system/List.cud");
    let (status, headers, text) = send_with(
        Method::POST,
        "/fhir/List",
        &writer,
        Some(&a_list(&marker)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let location = headers["location"].to_str().unwrap().to_owned();
    let id = location
        .split("/List/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let (status, _, _) = send_with(
        Method::GET,
        &format!("/fhir/List?title={marker}"),
        &writer,
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Read (v1 `read`, or v2 with both `r` and `s`) without write: reads every list, writes none.
    for scope in ["system/List.read", "user/List.r user/List.s"] {
        let reader = token_of("list-reader", scope);
        let (status, _, text) =
            send_with(Method::GET, &format!("/fhir/List/{id}"), &reader, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{scope}: {text}");
        let (status, _, text) = send_with(
            Method::GET,
            &format!("/fhir/Practitioner?_list={id}"),
            &token_of("list-reader", &format!("{scope} system/Practitioner.rs")),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{scope}: _list: {text}");
        let (status, _, _) = send_with(
            Method::PUT,
            &format!("/fhir/List/{id}"),
            &reader,
            Some(
                &json!({"resourceType": "List", "id": id, "status": "current", "mode": "working"}),
            ),
            &[("If-Match", "W/\"1\"")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scope}");
        let (status, _, _) = send_with(
            Method::DELETE,
            &format!("/fhir/List/{id}"),
            &reader,
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scope}");
    }
    // A partial v2 grant is not the permission: `r` alone does not read, `cu` does not write.
    let (status, _, _) = send_with(
        Method::GET,
        &format!("/fhir/List/{id}"),
        &token_of("list-reader", "system/List.r"),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send_with(
        Method::POST,
        "/fhir/List",
        &token_of("list-writer", "system/List.cu"),
        Some(&a_list(&marker)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send_with(
        Method::DELETE,
        &format!("/fhir/List/{id}"),
        &writer,
        None,
        &[],
    )
    .await;
    assert!(status.is_success(), "{status}");
}

#[tokio::test]
async fn subscription_scopes_and_another_callers_subscription_is_invisible() {
    use reqwest::Method;
    let list = format!("watched-{}", now());
    let reader = token_of("hospital-a", "system/Subscription.read");
    let (status, _, text) = send_with(
        Method::POST,
        "/fhir/Subscription",
        &reader,
        Some(&a_subscription(&list)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(outcome(&text, "forbidden").contains("Subscription"));
    let owner = token_of("hospital-a", "system/Subscription.*");
    let (status, headers, text) = send_with(
        Method::POST,
        "/fhir/Subscription",
        &owner,
        Some(&a_subscription(&list)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let location = headers["location"].to_str().unwrap();
    let id = location
        .split("/Subscription/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // Its owner reads it with the read scope alone (a new token, the same subject).
    let (status, _, text) = send_with(
        Method::GET,
        &format!("/fhir/Subscription/{id}"),
        &reader,
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // Write without read cannot read it; the directory's wildcard cannot either.
    for scope in ["system/Subscription.cud", "system/*.read"] {
        let token = token_of("hospital-a", scope);
        let (status, _, _) = send_with(
            Method::GET,
            &format!("/fhir/Subscription/{id}"),
            &token,
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{scope}");
    }
    // Another subject with every right: 404 everywhere, and absent from its searches.
    let other = token_of("hospital-b", "system/Subscription.*");
    for path in [
        format!("/fhir/Subscription/{id}"),
        format!("/fhir/Subscription/{id}/$status"),
        format!("/fhir/Subscription/{id}/$events"),
        format!("/fhir/Subscription/{id}/$get-ws-binding-token"),
    ] {
        let (status, _, text) = send_with(Method::GET, &path, &other, None, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {text}");
    }
    let (status, _, _) = send_with(
        Method::DELETE,
        &format!("/fhir/Subscription/{id}"),
        &other,
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, text) = send_with(Method::GET, "/fhir/Subscription", &other, None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(!text.contains(&id), "{text}");
    let (status, _, text) = send_with(Method::GET, "/fhir/Subscription", &owner, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains(&id), "{text}");
}

#[tokio::test]
async fn audit_lines_name_every_write_with_its_version_and_outcome() {
    use reqwest::Method;
    let id = format!("audited-{}", now());
    let token = token_of("auditor", "system/List.* system/Subscription.*");
    let path = format!("/fhir/List/{id}");
    let list = json!({"resourceType": "List", "id": id, "status": "current", "mode": "working"});
    let (status, _, text) = send_with(Method::PUT, &path, &token, Some(&list), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let (status, _, _) = send_with(
        Method::PUT,
        &path,
        &token,
        Some(&list),
        &[("If-Match", "W/\"1\"")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A stale version: refused, nothing written.
    let (status, _, _) = send_with(
        Method::PUT,
        &path,
        &token,
        Some(&list),
        &[("If-Match", "W/\"1\"")],
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = send_with(Method::DELETE, &path, &token, None, &[]).await;
    assert!(status.is_success(), "{status}");
    // A subscription, and a binding token for it.
    let (status, headers, text) = send_with(
        Method::POST,
        "/fhir/Subscription",
        &token,
        Some(&a_subscription(&id)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let subscription = headers["location"]
        .to_str()
        .unwrap()
        .split("/Subscription/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    send_with(
        Method::GET,
        &format!("/fhir/Subscription/{subscription}/$get-ws-binding-token"),
        &token,
        None,
        &[],
    )
    .await;
    let writes: Vec<Value> = audit_lines(&server().dir.join("audit.log"), &id, 4)
        .await
        .iter()
        .map(|line| json(line))
        .filter(|line| line["method"] != "GET")
        .map(|line| line["write"].clone())
        .collect();
    let expected = |version: Option<u32>, outcome: &str| json!({"type": "List", "id": id, "version": version, "outcome": outcome});
    assert_eq!(
        writes,
        vec![
            expected(Some(1), "created"),
            expected(Some(2), "updated"),
            expected(None, "refused"),
            expected(Some(3), "deleted"),
        ]
    );
    let lines = audit_lines(&server().dir.join("audit.log"), &subscription, 2).await;
    let writes: Vec<Value> = lines.iter().map(|l| json(l)["write"].clone()).collect();
    assert!(
        writes.contains(
            &json!({"type": "Subscription", "id": subscription, "version": 1, "outcome": "created"})
        ),
        "{writes:?}"
    );
    assert!(
        writes
            .iter()
            .any(|w| w["outcome"] == "token-issued" && w["id"] == subscription.as_str()),
        "{writes:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| json(l)["resource_type"] == "Subscription"),
        "{lines:?}"
    );
}

/// A replica keeps no lists or subscriptions: 421 for them, for `_list`, and for the
/// websocket, an OperationOutcome that says to go to the writer; the directory is served.
#[tokio::test]
async fn a_replica_sends_lists_subscriptions_and_list_searches_to_the_writer() {
    // A copy of its own: one server per data directory.
    let copy = common::demo_copy("annuaire-replica-");
    let served = common::spawn_server(
        Settings {
            replica: true,
            ..common::settings_for(&copy.path().join("data"))
        },
        None,
    );
    let http = client();
    for (method, path) in [
        ("GET", "/fhir/List"),
        ("POST", "/fhir/List"),
        ("GET", "/fhir/List/x"),
        ("PUT", "/fhir/List/x"),
        ("GET", "/fhir/Subscription"),
        ("POST", "/fhir/Subscription"),
        ("GET", "/fhir/Subscription/x/$status"),
        ("GET", "/fhir/Subscription/x/$get-ws-binding-token"),
        ("GET", "/fhir/Practitioner?_list=x"),
        ("POST", "/fhir/Organization/_search"),
        ("GET", "/fhir/$subscription-websocket"),
    ] {
        let mut request = http.request(method.parse().unwrap(), served.url(path));
        if path.ends_with("_search") {
            request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("_list=x");
        } else if method != "GET" {
            request = request
                .header("Content-Type", "application/fhir+json")
                .body(a_list("x").to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::MISDIRECTED_REQUEST,
            "{method} {path}"
        );
        let text = response.text().await.unwrap();
        assert!(outcome(&text, "not-supported").contains("writer"), "{text}");
    }
    let response = http
        .get(served.url("/fhir/Practitioner?_count=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
