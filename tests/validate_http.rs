//! `$validate` over real HTTP (issue #26): the routes at type and instance level, bodies
//! accepted (bare or `Parameters`, FHIR JSON or FHIR XML) and refused, modes, the stored
//! resource, XML in and out, bounds and access. What the findings say is the validator's
//! (`src/profiles/`, the corpus tests); here, that the HTTP layer hands it the right resource
//! and answers its OperationOutcome.

mod common;

use std::sync::OnceLock;

use annuaire::search::limits::Limits;
use annuaire::settings::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestApp, client, spawn_app};

const FHIR_JSON: &str = "application/fhir+json";
const FHIR_XML: &str = "application/fhir+xml";

/// An answer: status, `Content-Type`, body.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The issues of the OperationOutcome answered.
    fn issues(&self) -> Vec<Value> {
        let outcome = self.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
        outcome["issue"].as_array().cloned().unwrap_or_default()
    }

    /// Asserts a refusal with `status` and an OperationOutcome whose issue has `code` and
    /// diagnostics containing `says`.
    fn refused(&self, status: StatusCode, code: &str, says: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let issues = self.issues();
        assert_eq!(issues[0]["code"], code, "{}", self.body);
        let diagnostics = issues[0]["diagnostics"].as_str().unwrap_or_default();
        assert!(diagnostics.contains(says), "`{says}` in {}", self.body);
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.text().await.expect("body");
    Answer {
        status,
        content_type,
        body,
    }
}

async fn post(app: &TestApp, path: &str, content_type: &str, body: impl Into<String>) -> Answer {
    send(
        client()
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body.into()),
    )
    .await
}

async fn get(app: &TestApp, path: &str) -> Answer {
    send(client().get(app.url(path))).await
}

/// The first served resource of `rtype`, as JSON.
async fn served(app: &TestApp, rtype: &str) -> Value {
    let bundle = get(app, &format!("/fhir/{rtype}?_count=1")).await.json();
    bundle["entry"][0]["resource"].clone()
}

fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("an id").to_owned()
}

/// The answer of a validation performed: 200, an OperationOutcome with at least one issue.
fn performed(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.content_type.starts_with(FHIR_JSON),
        "{}",
        answer.content_type
    );
    let issues = answer.issues();
    assert!(!issues.is_empty(), "{}", answer.body);
    issues
}

/// An issue of this server's own (not the validator's): read-only, id mismatch.
fn has_issue(issues: &[Value], severity: &str, code: &str, says: &str) -> bool {
    issues.iter().any(|i| {
        i["severity"] == severity
            && i["code"] == code
            && i["diagnostics"].as_str().is_some_and(|d| d.contains(says))
    })
}

#[tokio::test]
async fn a_bare_resource_and_a_parameters_body_are_validated_at_type_level() {
    let app = spawn_app();
    let practitioner = served(&app, "Practitioner").await;
    let bare = post(
        &app,
        "/fhir/Practitioner/$validate",
        FHIR_JSON,
        practitioner.to_string(),
    )
    .await;
    let bare_issues = performed(&bare);
    assert!(
        !has_issue(&bare_issues, "error", "not-supported", "read-only"),
        "{}",
        bare.body
    );
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": practitioner}],
    });
    let wrapped = post(
        &app,
        "/fhir/Practitioner/$validate",
        "application/json",
        parameters.to_string(),
    )
    .await;
    assert_eq!(
        performed(&wrapped),
        bare_issues,
        "same resource, same outcome"
    );
}

#[tokio::test]
async fn the_stored_resource_is_validated_at_instance_level_by_get_head_and_post() {
    let app = spawn_app();
    let id = id_of(&served(&app, "Organization").await);
    let path = format!("/fhir/Organization/{id}/$validate");
    let by_get = get(&app, &path).await;
    let issues = performed(&by_get);
    let by_post = send(client().post(app.url(&path))).await;
    assert_eq!(performed(&by_post), issues);
    let head = client().head(app.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.text().await.unwrap().is_empty());
    // Not a read of an id `$validate`, nor a write refused at `/{type}/{id}`.
    let type_level_get = get(&app, "/fhir/Organization/$validate").await;
    type_level_get.refused(StatusCode::BAD_REQUEST, "invalid", "POST it");
    let put = send(
        client()
            .put(app.url(&path))
            .header("content-type", FHIR_JSON)
            .body("{}"),
    )
    .await;
    put.refused(StatusCode::METHOD_NOT_ALLOWED, "not-supported", "read-only");
    // 404 as a read would answer, for an unknown id and an unknown type.
    get(&app, "/fhir/Organization/no-such-id/$validate")
        .await
        .refused(StatusCode::NOT_FOUND, "not-found", "no-such-id");
    post(
        &app,
        "/fhir/Patient/$validate",
        FHIR_JSON,
        r#"{"resourceType":"Patient"}"#,
    )
    .await
    .refused(StatusCode::NOT_FOUND, "not-found", "Patient");
    get(&app, "/fhir/Patient/x/$validate").await.refused(
        StatusCode::NOT_FOUND,
        "not-found",
        "Patient",
    );
}

#[tokio::test]
async fn bodies_that_are_not_a_resource_of_the_type_are_refused_with_a_reason() {
    let app = spawn_app();
    let path = "/fhir/Practitioner/$validate";
    for (content_type, body, says) in [
        (
            FHIR_JSON,
            r#"{"resourceType":"Practitioner","active":true,"active":false}"#,
            "`active` appears twice",
        ),
        (
            FHIR_JSON,
            r#"{"resourceType":"Practitioner","#,
            "invalid JSON",
        ),
        (FHIR_JSON, r#"{"active":true}"#, "no resourceType"),
        (
            FHIR_JSON,
            r#"[{"resourceType":"Practitioner"}]"#,
            "not a JSON object",
        ),
        (
            FHIR_JSON,
            r#"{"resourceType":"Organization"}"#,
            "call Organization/$validate",
        ),
        (
            FHIR_JSON,
            r#"{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}"#,
            "no `resource` parameter",
        ),
        (
            FHIR_JSON,
            r#"{"resourceType":"Parameters","parameter":[{"name":"colour","valueString":"blue"}]}"#,
            "not `colour`",
        ),
        (FHIR_JSON, "", "no resource to validate"),
        ("text/plain", "Practitioner please", "not `text/plain`"),
        ("", "Practitioner please", "neither JSON nor XML"),
        (
            FHIR_XML,
            r#"<Practitioner xmlns="http://hl7.org/fhir"><active value="true"/>"#,
            "ends inside",
        ),
        (
            FHIR_XML,
            r#"<Practitioner><active value="true"/></Practitioner>"#,
            "namespace",
        ),
        (
            "text/xml",
            r#"<Organization xmlns="http://hl7.org/fhir"/>"#,
            "call Organization/$validate",
        ),
    ] {
        let answer = post(&app, path, content_type, body).await;
        answer.refused(StatusCode::BAD_REQUEST, "invalid", says);
    }
}

#[tokio::test]
async fn modes_follow_r4_on_a_read_only_directory() {
    let app = spawn_app();
    let practitioner = served(&app, "Practitioner").await;
    let id = id_of(&practitioner);
    let body = practitioner.to_string();
    let type_path = "/fhir/Practitioner/$validate";
    // create: the content is validated, and the create would be refused.
    let create = post(
        &app,
        &format!("{type_path}?mode=create"),
        FHIR_JSON,
        body.clone(),
    )
    .await;
    let issues = performed(&create);
    assert_eq!(issues[0]["severity"], "error", "{}", create.body);
    assert_eq!(issues[0]["code"], "not-supported");
    assert!(
        issues.len() >= 2,
        "the validation's issues follow: {}",
        create.body
    );
    // The same in a Parameters body.
    let parameters = json!({"resourceType": "Parameters", "parameter": [
        {"name": "mode", "valueCode": "create"},
        {"name": "resource", "resource": practitioner},
    ]});
    assert_eq!(
        performed(&post(&app, type_path, FHIR_JSON, parameters.to_string()).await),
        issues
    );
    // update and delete name an existing resource: not at type level.
    for mode in ["update", "delete"] {
        post(
            &app,
            &format!("{type_path}?mode={mode}"),
            FHIR_JSON,
            body.clone(),
        )
        .await
        .refused(StatusCode::BAD_REQUEST, "invalid", "[id]/$validate");
    }
    // An unknown mode, and a mode given twice differently.
    post(
        &app,
        &format!("{type_path}?mode=merge"),
        FHIR_JSON,
        body.clone(),
    )
    .await
    .refused(
        StatusCode::BAD_REQUEST,
        "invalid",
        "`merge` is not a validation mode",
    );
    post(
        &app,
        &format!("{type_path}?mode=profile"),
        FHIR_JSON,
        parameters.to_string(),
    )
    .await
    .refused(StatusCode::BAD_REQUEST, "invalid", "given twice");
    // update at instance level: validated, would be refused.
    let instance_path = format!("/fhir/Practitioner/{id}/$validate");
    let update = post(
        &app,
        &format!("{instance_path}?mode=update"),
        FHIR_JSON,
        body.clone(),
    )
    .await;
    let update_issues = performed(&update);
    assert!(
        has_issue(&update_issues, "error", "not-supported", "read-only"),
        "{}",
        update.body
    );
    // delete: that issue alone, with or without a body.
    for delete in [
        get(&app, &format!("{instance_path}?mode=delete")).await,
        post(
            &app,
            &instance_path,
            FHIR_JSON,
            json!({"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "delete"}]})
                .to_string(),
        )
        .await,
    ] {
        let issues = performed(&delete);
        assert_eq!(issues.len(), 1, "{}", delete.body);
        assert!(has_issue(&issues, "error", "not-supported", "delete would be refused"));
    }
    // Plain validations carry no such issue.
    let plain = performed(&post(&app, &format!("{type_path}?mode=profile"), FHIR_JSON, body).await);
    assert!(!has_issue(&plain, "error", "not-supported", "read-only"));
}

#[tokio::test]
async fn a_body_at_instance_level_must_be_that_instance() {
    let app = spawn_app();
    let practitioner = served(&app, "Practitioner").await;
    let id = id_of(&practitioner);
    let same = post(
        &app,
        &format!("/fhir/Practitioner/{id}/$validate"),
        FHIR_JSON,
        practitioner.to_string(),
    )
    .await;
    assert!(
        !performed(&same)
            .iter()
            .any(|i| i["expression"][0] == "Practitioner.id")
    );
    let mut other = practitioner.clone();
    other["id"] = json!("someone-else");
    let answer = post(
        &app,
        &format!("/fhir/Practitioner/{id}/$validate"),
        FHIR_JSON,
        other.to_string(),
    )
    .await;
    let issues = performed(&answer);
    let mismatch = issues
        .iter()
        .find(|i| i["expression"][0] == "Practitioner.id")
        .unwrap_or_else(|| panic!("an issue at Practitioner.id: {}", answer.body));
    assert_eq!(mismatch["severity"], "error");
    assert_eq!(mismatch["code"], "invalid");
}

#[tokio::test]
async fn xml_in_and_out() {
    let app = spawn_app();
    let id = id_of(&served(&app, "Practitioner").await);
    let as_xml = client()
        .get(app.url(&format!("/fhir/Practitioner/{id}")))
        .header("accept", FHIR_XML)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let from_json = performed(&get(&app, &format!("/fhir/Practitioner/{id}/$validate")).await);
    for content_type in [FHIR_XML, "application/xml", "text/xml; charset=utf-8", ""] {
        let answer = post(
            &app,
            "/fhir/Practitioner/$validate",
            content_type,
            as_xml.clone(),
        )
        .await;
        assert_eq!(performed(&answer), from_json, "{content_type}");
    }
    // A Parameters in XML.
    let body = as_xml.replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "");
    let parameters = format!(
        r#"<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="mode"/><valueCode value="create"/></parameter><parameter><name value="resource"/><resource>{body}</resource></parameter></Parameters>"#
    );
    let answer = post(&app, "/fhir/Practitioner/$validate", FHIR_XML, parameters).await;
    assert!(has_issue(
        &performed(&answer),
        "error",
        "not-supported",
        "read-only"
    ));
    // The answer in XML when asked for.
    for request in [
        client().get(app.url(&format!("/fhir/Practitioner/{id}/$validate?_format=xml"))),
        client()
            .post(app.url("/fhir/Practitioner/$validate"))
            .header("content-type", FHIR_XML)
            .header("accept", FHIR_XML)
            .body(as_xml.clone()),
    ] {
        let answer = send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(
            answer.content_type.starts_with(FHIR_XML),
            "{}",
            answer.content_type
        );
        assert!(
            answer
                .body
                .contains(r#"<OperationOutcome xmlns="http://hl7.org/fhir"><issue>"#),
            "{}",
            answer.body
        );
    }
}

/// The XML the server writes for its own resources reads back as their JSON: the XML reader
/// and the writer agree, every served type (shapes from the profiles).
#[tokio::test]
async fn served_xml_reads_back_as_the_served_json() {
    let app = spawn_app();
    for rtype in [
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "HealthcareService",
        "Device",
    ] {
        let bundle = get(&app, &format!("/fhir/{rtype}?_count=20")).await.json();
        let entries = bundle["entry"].as_array().expect("entries");
        assert!(!entries.is_empty(), "the demo serves {rtype}");
        for entry in entries {
            let json = &entry["resource"];
            let path = format!("/fhir/{rtype}/{}", id_of(json));
            let xml = client()
                .get(app.url(&format!("{path}?_format=xml")))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let read = annuaire::fhir::xml_read::to_json(
                &xml,
                &shape,
                annuaire::fhir::xml_read::ReadLimits::default(),
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            if let Some(at) = first_difference(&read, json, rtype) {
                panic!("{path}: the XML reads back differently at {at}");
            }
        }
    }
}

/// Where two JSON values first differ, with both sides; `None` when equal.
fn first_difference(read: &Value, served: &Value, at: &str) -> Option<String> {
    match (read, served) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                first_difference(x, y, &format!("{at}.{k}"))
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]"))),
        _ if read == served => None,
        _ => Some(format!("{at}: read {read}, served {served}")),
    }
}

/// The shapes `$validate` gives the XML reader for the served types.
fn shape(path: &str) -> Option<annuaire::fhir::xml_read::Shape> {
    use annuaire::fhir::xml_read::{JsonKind, Shape};
    use annuaire::profiles::Kind;
    annuaire::profiles::element_shape(path).map(|s| Shape {
        repeats: s.repeats,
        kind: match s.kind {
            Kind::Boolean => JsonKind::Boolean,
            Kind::Number => JsonKind::Number,
            Kind::String => JsonKind::String,
            Kind::Object => JsonKind::Object,
        },
    })
}

#[tokio::test]
async fn the_query_takes_profile_mode_and_presentation_parameters_only() {
    let app = spawn_app();
    let body = served(&app, "Device").await.to_string();
    post(
        &app,
        "/fhir/Device/$validate?_count=3",
        FHIR_JSON,
        body.clone(),
    )
    .await
    .refused(StatusCode::BAD_REQUEST, "invalid", "not `_count`");
    performed(
        &post(
            &app,
            "/fhir/Device/$validate?_format=json&_pretty=true",
            FHIR_JSON,
            body,
        )
        .await,
    );
}

/// A server over a copy of the demo with its limits changed.
fn server_with(limits: Limits) -> TestApp {
    let dir = common::demo_copy("annuaire-validate-").keep();
    let mut settings = common::settings_for(&dir.join("data"));
    settings.limits = limits;
    TestApp {
        address: common::spawn_server(settings, None).base,
        demo: common::demo(),
    }
}

#[tokio::test]
async fn bodies_and_work_are_bounded() {
    let app = server_with(Limits {
        max_body_bytes: 2000,
        deadline_ms: 0,
        ..Limits::default()
    });
    let big = json!({"resourceType": "Practitioner", "name": [{"text": "a".repeat(3000)}]});
    post(
        &app,
        "/fhir/Practitioner/$validate",
        FHIR_JSON,
        big.to_string(),
    )
    .await
    .refused(StatusCode::PAYLOAD_TOO_LARGE, "too-long", "max_body_bytes");
    // Past its deadline (0 ms here), a validation is stopped and says so.
    post(
        &app,
        "/fhir/Practitioner/$validate",
        FHIR_JSON,
        r#"{"resourceType":"Practitioner"}"#,
    )
    .await
    .refused(StatusCode::BAD_REQUEST, "too-costly", "deadline_ms");
}

const FULL_KEY: &str = "validate-full-key-0123456789abcdef";
const PRACTITIONERS_KEY: &str = "validate-practitioners-key-012345";

const RESTRICTED_SCOPE: &str = "annuaire/restricted.read";

/// A server with access control: one key reads everything, restricted elements included; one
/// reads Practitioners only, without their restricted `identifier` (an element the as-dp
/// profile requires, so that validating what this caller may read shows the redaction).
fn guarded() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| {
        let dir = common::scratch_dir("annuaire-validate-auth-").keep();
        let config = format!(
            "[auth]\nrealm = \"t\"\n[[auth.api_keys]]\nname = \"full\"\nsha256 = \"{}\"\nscopes = [\"system/*.rs\", \"{RESTRICTED_SCOPE}\"]\n[[auth.api_keys]]\nname = \"practitioners\"\nsha256 = \"{}\"\nscopes = [\"system/Practitioner.read\"]\n[auth.restricted]\nelements = [\"Practitioner.identifier\"]\nscope = \"{RESTRICTED_SCOPE}\"\n",
            common::api_key_sha256(FULL_KEY),
            common::api_key_sha256(PRACTITIONERS_KEY),
        );
        let path = dir.join("annuaire.toml");
        std::fs::write(&path, config).unwrap();
        let settings = Settings::load(Settings {
            config: Some(path),
            ..common::settings_for(&common::demo_copy("annuaire-validate-auth-data-").keep().join("data"))
        })
        .expect("a valid configuration");
        TestApp {
            address: common::spawn_server(settings, None).base,
            demo: common::demo(),
        }
    })
}

async fn with_key(app: &TestApp, key: Option<&str>, request: reqwest::RequestBuilder) -> Answer {
    let _ = app;
    let request = match key {
        Some(key) => request.header("esante-api-key", key),
        None => request,
    };
    send(request).await
}

#[tokio::test]
async fn validating_needs_the_right_to_read_the_type() {
    let app = guarded();
    let organizations = with_key(
        app,
        Some(FULL_KEY),
        client().get(app.url("/fhir/Organization?_count=1")),
    )
    .await
    .json();
    let organization = organizations["entry"][0]["resource"].clone();
    let id = id_of(&organization);
    let type_level = || {
        client()
            .post(app.url("/fhir/Organization/$validate"))
            .header("content-type", FHIR_JSON)
            .body(organization.to_string())
    };
    let instance_level = || client().get(app.url(&format!("/fhir/Organization/{id}/$validate")));
    for request in [type_level(), instance_level()] {
        let answer = with_key(app, None, request).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    }
    for request in [type_level(), instance_level()] {
        let answer = with_key(app, Some(PRACTITIONERS_KEY), request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    }
    for request in [type_level(), instance_level()] {
        performed(&with_key(app, Some(FULL_KEY), request).await);
    }
}

/// The `valid` count of `annuaire_validations_total` in `/metrics`.
async fn valid_count(app: &TestApp) -> u64 {
    let text = get(app, "/metrics").await.body;
    text.lines()
        .find(|l| l.starts_with("annuaire_validations_total{verdict=\"valid\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |n| n.parse().expect("a count"))
}

#[tokio::test]
async fn validations_are_counted_by_verdict_and_interaction() {
    let app = spawn_app();
    let before = valid_count(&app).await;
    let minimal = r#"{"resourceType":"Device","meta":{"profile":["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-device"]}}"#;
    let answer = post(&app, "/fhir/Device/$validate", FHIR_JSON, minimal).await;
    let valid = !performed(&answer)
        .iter()
        .any(|i| i["severity"] == "error" || i["severity"] == "fatal");
    let text = get(&app, "/metrics").await.body;
    let verdict = if valid { "valid" } else { "invalid" };
    assert!(
        text.contains(&format!(
            "annuaire_validations_total{{verdict=\"{verdict}\"}}"
        )),
        "{text}"
    );
    if valid {
        assert!(valid_count(&app).await > before);
    }
    assert!(
        text.lines().any(|l| l.starts_with(
            "annuaire_http_requests_total{interaction=\"operation\",resource_type=\"Device\",status=\"200\"}"
        )),
        "{text}"
    );
}

/// An unknown element, and an unknown profile, through both formats: the findings are the
/// validator's, the same whichever format carried the resource.
#[tokio::test]
async fn findings_are_the_same_in_json_and_xml() {
    let app = spawn_app();
    let id = id_of(&served(&app, "Organization").await);
    let mut organization = get(&app, &format!("/fhir/Organization/{id}")).await.json();
    organization["nickname"] = json!("x");
    organization["identifier"][0]["foo"] = json!("1");
    let in_json = performed(
        &post(
            &app,
            "/fhir/Organization/$validate",
            FHIR_JSON,
            organization.to_string(),
        )
        .await,
    );
    let expressions = |issues: &[Value]| -> Vec<String> {
        issues
            .iter()
            .filter(|i| i["severity"] == "error")
            .map(|i| i["expression"][0].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let found = expressions(&in_json);
    for expected in ["Organization.nickname", "Organization.identifier[0].foo"] {
        assert!(
            found.iter().any(|e| e == expected),
            "{expected} in {found:?}"
        );
    }
    let xml = String::from_utf8(
        annuaire::fhir::xml::from_json(organization.to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    let in_xml = performed(&post(&app, "/fhir/Organization/$validate", FHIR_XML, xml).await);
    let mut in_xml = expressions(&in_xml);
    let mut found = found;
    in_xml.sort();
    found.sort();
    assert_eq!(in_xml, found);
    // A profile this server does not validate Organizations against.
    let answer = post(
        &app,
        "/fhir/Organization/$validate?profile=https://example.org/StructureDefinition/other",
        FHIR_JSON,
        organization.to_string(),
    )
    .await;
    answer.refused(
        StatusCode::BAD_REQUEST,
        "not-supported",
        "as-dp-organization",
    );
}

/// At instance level the stored resource is validated as the caller may read it: without the
/// restricted scope its `identifier` is redacted, and the validation neither reports it missing
/// (a false error) nor says anything about it; the answer names it as not checked.
#[tokio::test]
async fn the_stored_resource_is_validated_as_the_caller_may_read_it() {
    let app = guarded();
    let page = with_key(
        app,
        Some(FULL_KEY),
        client().get(app.url(
            "/fhir/Practitioner?_count=1&_profile=https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner",
        )),
    )
    .await
    .json();
    let id = page["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|r| {
            r["meta"]["profile"]
                .to_string()
                .contains("as-dp-practitioner")
        })
        .map(id_of)
        .expect("the demo serves an as-dp practitioner");
    let path = format!("/fhir/Practitioner/{id}/$validate");
    let misses_identifier = |issues: &[Value]| {
        issues.iter().any(|i| {
            i["severity"] == "error"
                && i["code"] == "required"
                && i["diagnostics"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("Practitioner.identifier"))
        })
    };
    let full = performed(&with_key(app, Some(FULL_KEY), client().get(app.url(&path))).await);
    assert!(!misses_identifier(&full), "{full:?}");
    let redacted =
        performed(&with_key(app, Some(PRACTITIONERS_KEY), client().get(app.url(&path))).await);
    // The identifiers redacted from this caller's view are not reported missing (nor anything
    // else about them), and the answer says they were not checked.
    assert!(!misses_identifier(&redacted), "{redacted:?}");
    assert!(
        redacted.iter().all(|i| i["severity"] != "error"),
        "{redacted:?}"
    );
    assert!(
        redacted.iter().any(|i| i["severity"] == "information"
            && i["diagnostics"]
                .as_str()
                .is_some_and(|d| d.starts_with("not checked: Practitioner.identifier"))),
        "{redacted:?}"
    );
}
