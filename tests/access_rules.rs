//! Access rules (`[[auth.rules]]`, plan D6) over real HTTP: what a caller may see follows who
//! it is. Tokens are signed by the tests' own keys (tests/auth_support) and carry Pro Santé
//! Connect's claims (`SubjectNameID`, `SubjectRole`); the server is the real application on
//! the demo data. Also: the audit trail names the rules, the start-up refuses bad rules naming
//! the setting, and the start-up log lists them.

mod auth_support;
mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use auth_support::{AUDIENCE, ISSUER, SigningKey, claims, jwks};
use common::{api_key_sha256, client};
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

const RESTRICTED_SCOPE: &str = "annuaire/restricted";
const FULL_KEY: &str = "rules-full-key-0123456789abcdef";
const PLAIN_KEY: &str = "rules-plain-key-0123456789abcdef";
const MEDECIN: &str = "10^1.2.250.1.213.1.1.5.5";
const KINE: &str = "70^1.2.250.1.213.1.1.5.5";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::rsa("rules-rsa", Algorithm::RS256))
}

/// The configuration: mailboxes of roles and practitioners restricted; médecins see the
/// roles' ones (not the practitioners'), through a rule alone; `extra` adds rules.
fn config_text(dir: &Path, extra: &str) -> String {
    format!(
        r#"
[auth]
[[auth.api_keys]]
name = "full"
sha256 = "{full}"
scopes = ["system/*.rs", "{RESTRICTED_SCOPE}"]

[[auth.api_keys]]
name = "plain"
sha256 = "{plain}"
scopes = ["system/*.rs"]

[auth.jwt]
jwks = "jwks.json"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithms = ["RS256"]

[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "{RESTRICTED_SCOPE}"

[[auth.rules]]
name = "medecins"
who = "professional"
professions = ["10"]
scopes = ["user/*.rs"]
restricted = ["PractitionerRole.telecom"]
{extra}
[audit]
destination = "{audit}"
"#,
        full = api_key_sha256(FULL_KEY),
        plain = api_key_sha256(PLAIN_KEY),
        audit = dir.join("audit.log").display(),
    )
}

struct Server {
    base: String,
    dir: PathBuf,
}

/// A server on `data` (one data directory per server: a server locks its own).
fn start(data: &Path, extra: &str) -> Server {
    let dir = common::scratch_dir("annuaire-rules-").keep();
    std::fs::write(dir.join("jwks.json"), jwks(&[key()])).expect("write the JWKS");
    let path = dir.join("annuaire.toml");
    std::fs::write(&path, config_text(&dir, extra)).expect("write the configuration");
    let settings = annuaire::settings::Settings::load(annuaire::settings::Settings {
        config: Some(path),
        ..common::settings_for(data)
    })
    .expect("the test configuration is valid");
    let base = common::spawn_server(settings, None).base;
    Server { base, dir }
}

/// The médecins' rule only.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start(&common::demo().data, ""))
}

/// With a rule for every token too (services' tokens included).
fn services_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let copy = common::demo_copy("annuaire-rules-services-").keep();
        start(
            &copy.join("data"),
            "\n[[auth.rules]]\nname = \"services\"\nwho = \"token\"\nscopes = [\"system/Organization.rs\"]\n",
        )
    })
}

/// A token for `subject` with these PSC claims (`None`: the claim is absent) and own scopes.
fn token(subject: &str, national_id: Option<&str>, roles: &[&str], scope: &str) -> String {
    let mut claims = claims(subject, scope);
    let map = claims.as_object_mut().unwrap();
    match national_id {
        Some(id) => map.insert("SubjectNameID".into(), json!(id)),
        None => map.remove("SubjectNameID"),
    };
    map.insert("SubjectRole".into(), json!(roles));
    key().sign(&claims)
}

fn medecin() -> String {
    token("medecin", Some("810000000001"), &[MEDECIN], "")
}

fn kine(scope: &str) -> String {
    token("kine", Some("810000000002"), &[KINE], scope)
}

enum As<'a> {
    Key(&'a str),
    Bearer(&'a str),
}

async fn get_on(server: &Server, path: &str, who: &As<'_>) -> (StatusCode, String) {
    let request = client().get(format!("{}{path}", server.base));
    let request = match who {
        As::Key(key) => request.header("ESANTE-API-KEY", *key),
        As::Bearer(token) => request.bearer_auth(token),
    };
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn get(path: &str, who: &As<'_>) -> (StatusCode, String) {
    get_on(server(), path, who).await
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// MSSanté addresses found anywhere in a JSON body.
fn mailboxes(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
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
    found.sort();
    found
}

/// The mailboxes of each resource type in a body (a resource, a Bundle, or NDJSON lines).
fn mailboxes_by_type(body: &str) -> (Vec<String>, Vec<String>) {
    let resources: Vec<Value> = if body.trim_start().starts_with('{') && !body.contains("\n{") {
        let value = json_of(body);
        match value["resourceType"].as_str() {
            Some("Bundle") => value["entry"]
                .as_array()
                .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
                .unwrap_or_default(),
            _ => vec![value],
        }
    } else {
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(json_of)
            .collect()
    };
    let of = |rtype: &str| -> Vec<String> {
        let mut found: Vec<String> = resources
            .iter()
            .filter(|r| r["resourceType"] == rtype)
            .flat_map(mailboxes)
            .collect();
        found.sort();
        found
    };
    (of("PractitionerRole"), of("Practitioner"))
}

/// A role with an MSSanté mailbox whose practitioner has one too: (role id, practitioner id).
async fn role_and_practitioner_with_mailboxes() -> (String, String) {
    let (status, body) = get(
        "/fhir/PractitionerRole?mailbox-mss:missing=false&_include=PractitionerRole:practitioner&_count=200",
        &As::Key(FULL_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bundle = json_of(&body);
    let entries = bundle["entry"].as_array().expect("entries");
    for role in entries.iter().map(|e| &e["resource"]) {
        if role["resourceType"] != "PractitionerRole" {
            continue;
        }
        let reference = role["practitioner"]["reference"]
            .as_str()
            .unwrap_or_default();
        let practitioner = entries.iter().map(|e| &e["resource"]).find(|r| {
            format!("Practitioner/{}", r["id"].as_str().unwrap_or_default()) == reference
        });
        if let Some(practitioner) = practitioner
            && !mailboxes(practitioner).is_empty()
        {
            return (
                role["id"].as_str().unwrap().to_owned(),
                practitioner["id"].as_str().unwrap().to_owned(),
            );
        }
    }
    panic!("the demo data has a role and its practitioner both with mailboxes: {body}");
}

/// Runs an export of `types` as `who` to completion: the files' contents.
async fn export(who: &As<'_>, types: &str) -> Result<String, (StatusCode, String)> {
    let with = |request: reqwest::RequestBuilder| match who {
        As::Key(key) => request.header("ESANTE-API-KEY", *key),
        As::Bearer(token) => request.bearer_auth(token),
    };
    let kick_off = with(client().get(format!("{}/fhir/$export?_type={types}", server().base)))
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
    let manifest: Value = loop {
        let status = with(client().get(&status_url)).send().await.unwrap();
        if status.status() == StatusCode::OK {
            break status.json().await.unwrap();
        }
        assert_eq!(status.status(), StatusCode::ACCEPTED);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut content = String::new();
    for file in manifest["output"].as_array().unwrap() {
        let response = with(client().get(file["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        content.push_str(&response.text().await.unwrap());
    }
    Ok(content)
}

/// A médecin's token holds no scope of its own: the rule grants reading, and unlocks the roles'
/// mailboxes (not the practitioners'), the same through read, search, `_include` and
/// `$export`; a masseur-kinésithérapeute with reading scopes of its own sees none.
#[tokio::test]
async fn a_medecin_sees_the_unlocked_mailboxes_through_every_path_and_a_kine_does_not() {
    let (role, practitioner) = role_and_practitioner_with_mailboxes().await;
    let medecin = medecin();
    let kine = kine("system/*.rs");
    let paths = [
        format!("/fhir/PractitionerRole/{role}"),
        format!("/fhir/PractitionerRole?_id={role}"),
        format!("/fhir/PractitionerRole?_id={role}&_include=PractitionerRole:practitioner"),
        format!("/fhir/Practitioner?_id={practitioner}&_revinclude=PractitionerRole:practitioner"),
        format!("/fhir/PractitionerRole/{role}/_history"),
    ];
    for path in &paths {
        let (status, full) = get(path, &As::Key(FULL_KEY)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {full}");
        let (full_roles, full_practitioners) = mailboxes_by_type(&full);
        assert!(!full_roles.is_empty(), "{path}: {full}");

        let (status, seen) = get(path, &As::Bearer(&medecin)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {seen}");
        let (roles, practitioners) = mailboxes_by_type(&seen);
        assert_eq!(
            roles, full_roles,
            "{path}: the médecin sees the roles' mailboxes"
        );
        assert!(practitioners.is_empty(), "{path}: {seen}");
        if !full_practitioners.is_empty() {
            assert!(
                seen.contains("REDACTED"),
                "{path}: the practitioner is labelled"
            );
        }

        let (status, seen) = get(path, &As::Bearer(&kine)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {seen}");
        assert_eq!(mailboxes_by_type(&seen), (vec![], vec![]), "{path}: {seen}");
        assert!(seen.contains("REDACTED"), "{path}: {seen}");
    }

    // $export: the same redaction as the searches, recorded when the job starts.
    let full = export(&As::Key(FULL_KEY), "PractitionerRole,Practitioner")
        .await
        .unwrap();
    let seen = export(&As::Bearer(&medecin), "PractitionerRole,Practitioner")
        .await
        .unwrap();
    let (full_roles, full_practitioners) = mailboxes_by_type(&full);
    let (roles, practitioners) = mailboxes_by_type(&seen);
    assert!(!full_roles.is_empty() && !full_practitioners.is_empty());
    assert_eq!(
        roles, full_roles,
        "the médecin's export holds the roles' mailboxes"
    );
    assert!(practitioners.is_empty(), "and not the practitioners'");
    assert_eq!(seen.lines().count(), full.lines().count());
    let kine_export = export(&As::Bearer(&kine), "PractitionerRole,Practitioner")
        .await
        .unwrap();
    assert_eq!(mailboxes_by_type(&kine_export), (vec![], vec![]));
    assert_eq!(kine_export.lines().count(), full.lines().count());
}

/// Searching on an element is allowed where the rule unlocked it, refused where it did not.
#[tokio::test]
async fn a_medecin_may_search_the_unlocked_mailboxes_only() {
    let medecin = medecin();
    let (status, body) = get(
        "/fhir/PractitionerRole?mailbox-mss:missing=false&_count=1",
        &As::Bearer(&medecin),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get(
        "/fhir/Practitioner?mailbox-mss:missing=false&_count=1",
        &As::Bearer(&medecin),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Practitioner.telecom"), "{body}");
    let (status, body) = get(
        "/fhir/PractitionerRole?mailbox-mss:missing=false&_count=1",
        &As::Bearer(&kine("system/*.rs")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

/// Without a scope of its own, a professional no rule applies to is refused, and the message
/// says that no rule grants what is missing.
#[tokio::test]
async fn a_kine_without_scopes_is_refused_and_told_no_rule_grants_it() {
    let (status, body) = get("/fhir/Practitioner?_count=1", &As::Bearer(&kine(""))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let message = json_of(&body)["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("system/Practitioner.read"), "{message}");
    assert!(
        message.contains("no access rule grants it to this professional"),
        "{message}"
    );
}

/// A token carrying a médecin's role but no national id is not a professional: the médecins'
/// rule does not apply. A `who = "token"` rule applies to it (a service's token).
#[tokio::test]
async fn a_token_without_national_id_is_not_a_professional_but_is_a_token() {
    let service = token("service-a", None, &[MEDECIN], "");
    let (status, body) = get("/fhir/Practitioner?_count=1", &As::Bearer(&service)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("no access rule grants it to this caller"),
        "{body}"
    );

    let services = services_server();
    let (status, body) = get_on(
        services,
        "/fhir/Organization?_count=1",
        &As::Bearer(&service),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get_on(
        services,
        "/fhir/Practitioner?_count=1",
        &As::Bearer(&service),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the services' rule grants organizations only: {body}"
    );
    // The médecin gets both rules there.
    let (status, body) = get_on(
        services,
        "/fhir/Organization?_count=1",
        &As::Bearer(&medecin()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// API keys keep the scopes an operator gave them: no rule applies to them.
#[tokio::test]
async fn rules_never_apply_to_api_keys() {
    let services = services_server();
    let (status, body) = get_on(
        services,
        "/fhir/PractitionerRole?mailbox-mss:missing=false&_count=1",
        &As::Key(PLAIN_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = get_on(
        services,
        "/fhir/PractitionerRole?_count=5",
        &As::Key(PLAIN_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(mailboxes(&json_of(&body)).is_empty());
}

/// The audit lines holding `marker`, once `count` are written (off the request path).
async fn audit_lines(dir: &Path, marker: &str, count: usize) -> Vec<Value> {
    let mut lines = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(dir.join("audit.log")).unwrap_or_default();
        lines = text
            .lines()
            .filter(|l| l.contains(marker))
            .map(json_of)
            .collect();
        if lines.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lines
}

#[tokio::test]
async fn audit_lines_name_the_rules_that_granted_and_none_for_a_withheld_caller() {
    let marker = "audit-rules-marker";
    let path = format!("/fhir/Organization?name={marker}");
    let (status, _) = get(&path, &As::Bearer(&medecin())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&path, &As::Bearer(&kine("system/*.rs"))).await;
    assert_eq!(status, StatusCode::OK);
    let lines = audit_lines(&server().dir, marker, 2).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let caller_of = |subject: &str| {
        lines
            .iter()
            .find(|l| l["caller"]["subject"] == subject)
            .unwrap_or_else(|| panic!("a line for {subject}: {lines:?}"))["caller"]
            .clone()
    };
    assert_eq!(
        caller_of("medecin"),
        json!({
            "kind": "token",
            "issuer": ISSUER,
            "subject": "medecin",
            "national_id": "810000000001",
            "roles": [MEDECIN],
            "rules": ["medecins"],
        })
    );
    let kine = caller_of("kine");
    assert_eq!(kine["rules"], json!([]));
    assert_eq!(kine["kind"], "token");
}

/// Bad rules stop the server at start-up, each message naming the setting.
#[test]
fn bad_rules_stop_the_start_naming_the_setting() {
    let dir = common::scratch_dir("annuaire-bad-rules-");
    std::fs::write(dir.path().join("jwks.json"), jwks(&[key()])).unwrap();
    let rule =
        |body: &str| format!("[[auth.rules]]\nname = \"r\"\nwho = \"professional\"\n{body}\n");
    let cases = [
        (
            rule("professions = [\"10\", \"99\"]\nscopes = [\"user/*.rs\"]"),
            "auth.rules[1].professions[1]",
            "`99` is not a profession code (TRE_G15",
        ),
        (
            rule("scopes = [\"user/Practitioner.rx\"]"),
            "auth.rules[1].scopes[0]",
            "user/Practitioner.rx",
        ),
        (
            rule("restricted = [\"Organization.telecom\"]"),
            "auth.rules[1].restricted[0]",
            "is not one of `auth.restricted.elements`",
        ),
        (
            format!(
                "{}{}",
                rule("scopes = [\"user/*.rs\"]"),
                rule("scopes = [\"user/*.rs\"]")
            ),
            "auth.rules[2].name",
            "`r` names two rules",
        ),
        (
            rule("professions = [\"10\"]"),
            "auth.rules[1]",
            "grants nothing",
        ),
    ];
    for (i, (rules, setting, reason)) in cases.iter().enumerate() {
        let text = config_text(dir.path(), rules).replace(
            "[[auth.rules]]\nname = \"medecins\"",
            "[[auth.rules]]\nname = \"medecins-base\"",
        );
        let path = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_annuaire"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .output()
            .expect("run annuaire");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{rules}: {stderr}");
        assert!(
            stderr.contains(&format!("`{setting}`")),
            "{setting}: {stderr}"
        );
        assert!(stderr.contains(reason), "{reason}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// The start-up log lists the rules by name, with whom they apply to and what they grant.
#[test]
fn the_start_up_log_lists_the_rules() {
    let dir = common::scratch_dir("annuaire-rules-log-");
    std::fs::write(dir.path().join("jwks.json"), jwks(&[key()])).unwrap();
    let path = dir.path().join("annuaire.toml");
    std::fs::write(&path, config_text(dir.path(), "")).unwrap();
    let server = common::spawn_serve(&[
        OsStr::new("--demo"),
        OsStr::new("--config"),
        path.as_os_str(),
    ]);
    let stderr = server.child.stderr();
    let line = stderr
        .lines()
        .find(|l| l.contains("access control:"))
        .unwrap_or_else(|| panic!("no access control line: {stderr}"));
    assert!(
        line.contains(
            "access rules medecins [professional (10 Médecin)]: scopes user/*.rs, unlocks PractitionerRole.telecom"
        ),
        "{line}"
    );
}

/// A `Subscription` on the resource-change topic with one filter, full-resource payloads, over
/// a websocket (nothing is delivered while the test reads the queue).
fn full_resource_subscription(filter: &str) -> Value {
    json!({
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "the correspondents of a ward",
        "criteria": "urn:annuaire:SubscriptionTopic/resource-change",
        "_criteria": {"extension": [{
            "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria",
            "valueString": filter
        }]},
        "channel": {
            "type": "websocket",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{
                "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content",
                "valueCode": "full-resource"
            }]}
        }
    })
}

/// A subscription's notifications carry what its creator may see when it subscribed: the
/// roles' mailboxes the médecins' rule unlocks, none for a kiné's subscription (recorded at
/// creation, as its redaction is). Day 1 is served, day 2 imported into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_sent_what_the_rules_let_its_creator_see() {
    let root = common::scratch_dir("annuaire-rules-subscriptions-");
    let noon =
        |n: i64| time::macros::datetime!(2026-11-01 12:00:00 UTC) + time::Duration::days(n - 1);
    let generate = |day: u32| {
        annuaire_generate::generate(
            &annuaire_generate::GenerateOptions::new(300, 28).with_day(day),
            &root.path().join(format!("day{day}")),
        )
        .expect("generate a day")
    };
    let (day1, day2) = (generate(1), generate(2));
    let data = root.path().join("data");
    common::import_files(&day1, &data, Some(noon(1)));
    std::fs::write(root.path().join("jwks.json"), jwks(&[key()])).unwrap();
    let path = root.path().join("annuaire.toml");
    std::fs::write(&path, config_text(root.path(), "")).unwrap();
    let settings = annuaire::settings::Settings::load(annuaire::settings::Settings {
        config: Some(path),
        subscription_allow: vec!["127.0.0.1".into()],
        ..common::settings_for(&data)
    })
    .expect("the test configuration is valid");
    let base = common::spawn_server(settings, Some(Duration::from_millis(100))).base;

    let subscribe = |token: String| {
        let base = base.clone();
        async move {
            let response = client()
                .post(format!("{base}/fhir/Subscription"))
                .bearer_auth(&token)
                .json(&full_resource_subscription("PractitionerRole?active=true"))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::CREATED, "{body}");
            (token, body["id"].as_str().unwrap().to_owned())
        }
    };
    let medecin = subscribe(token(
        "medecin",
        Some("810000000001"),
        &[MEDECIN],
        "user/Subscription.cruds",
    ))
    .await;
    let kine = subscribe(kine("system/*.rs user/Subscription.cruds")).await;

    common::import_files(&day2, &data, Some(noon(2)));
    let events = |(token, id): (String, String)| {
        let base = base.clone();
        async move {
            for _ in 0..300 {
                let response = client()
                    .get(format!(
                        "{base}/fhir/Subscription/{id}/$events?content=full-resource"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let bundle: Value = response.json().await.unwrap();
                if bundle["entry"].as_array().is_some_and(|e| e.len() > 1) {
                    return bundle;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no events for {id} after day 2");
        }
    };
    let seen_by_medecin = events(medecin).await;
    let seen_by_kine = events(kine).await;
    let roles = |bundle: &Value| -> (usize, Vec<String>) {
        let entries: Vec<&Value> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == "PractitionerRole")
            .collect();
        let mut found: Vec<String> = entries.iter().flat_map(|r| mailboxes(r)).collect();
        found.sort();
        (entries.len(), found)
    };
    let (medecin_count, medecin_mailboxes) = roles(&seen_by_medecin);
    let (kine_count, kine_mailboxes) = roles(&seen_by_kine);
    assert!(medecin_count > 0 && medecin_count == kine_count);
    assert!(
        !medecin_mailboxes.is_empty(),
        "the médecin's notifications carry the roles' mailboxes: {seen_by_medecin}"
    );
    assert!(kine_mailboxes.is_empty(), "{seen_by_kine}");
    assert!(seen_by_kine.to_string().contains("REDACTED"));
}
