//! `Practitioner/$identify` over real HTTP, on the demo data (plan D7, issue #28): by the PSC
//! `SubjectNameID`, by RPPS number, by `system|value`; unknown and malformed identifiers; only
//! active roles and their organizations; restricted mailboxes as the caller may see them;
//! scopes; XML; POST Parameters; the CapabilityStatement and the OperationDefinition.

mod common;

use std::sync::OnceLock;

use common::{api_key_sha256, client};
use reqwest::StatusCode;
use serde_json::{Value, json};

use annuaire::settings::Settings;

/// Reads everything, restricted elements included.
const FULL_KEY: &str = "identify-full-key-0123456789abcdef";
/// Reads everything but the restricted elements.
const PLAIN_KEY: &str = "identify-plain-key-0123456789abcdef";
/// Reads Practitioner only: may not search the roles $identify lists.
const PRACTITIONERS_KEY: &str = "identify-practitioners-key-012345";
const RESTRICTED_SCOPE: &str = "annuaire/restricted.read";
const IDNPS: &str = "urn:oid:1.2.250.1.71.4.2.1";

fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let demo = common::demo();
        let dir = common::scratch_dir("annuaire-identify-").keep();
        let config = dir.join("annuaire.toml");
        let text = format!(
            r#"
[auth]
realm = "annuaire-test"

[[auth.api_keys]]
name = "full"
sha256 = "{full}"
scopes = ["system/*.rs", "{RESTRICTED_SCOPE}"]

[[auth.api_keys]]
name = "plain"
sha256 = "{plain}"
scopes = ["system/*.rs"]

[[auth.api_keys]]
name = "practitioners"
sha256 = "{practitioners}"
scopes = ["system/Practitioner.rs"]

[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "{RESTRICTED_SCOPE}"
"#,
            full = api_key_sha256(FULL_KEY),
            plain = api_key_sha256(PLAIN_KEY),
            practitioners = api_key_sha256(PRACTITIONERS_KEY),
        );
        std::fs::write(&config, text).expect("write the configuration");
        let settings = Settings::load(Settings {
            config: Some(config),
            ..common::settings_for(&demo.data)
        })
        .expect("the test configuration is valid");
        common::spawn_server(settings, None).base
    })
}

async fn get(path: &str, key: &str) -> (StatusCode, String) {
    let response = client()
        .get(format!("{}{path}", base()))
        .header("ESANTE-API-KEY", key)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.text().await.expect("a body"))
}

async fn get_json(path: &str, key: &str) -> (StatusCode, Value) {
    let (status, body) = get(path, key).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (status, json)
}

async fn identify(identifier: &str, key: &str) -> Value {
    let path = format!(
        "/fhir/Practitioner/$identify?identifier={}",
        urlencode(identifier)
    );
    let (status, bundle) = get_json(&path, key).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    bundle
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn resources<'b>(bundle: &'b Value, rtype: &str) -> Vec<&'b Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .map(|e| &e["resource"])
        .collect()
}

fn modes(bundle: &Value, rtype: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .map(|e| e["search"]["mode"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn ids(resources: &[&Value]) -> Vec<String> {
    let mut ids: Vec<String> = resources
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

fn identifier_value(resource: &Value, system: &str) -> Option<String> {
    resource["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == system)
        .and_then(|i| i["value"].as_str())
        .map(String::from)
}

/// A searchset Bundle of everything the search finds (one page of up to 1000).
async fn search(path: &str) -> Value {
    let (status, bundle) = get_json(path, FULL_KEY).await;
    assert_eq!(status, StatusCode::OK, "{path}: {bundle}");
    bundle
}

/// The national id of the practitioner a role points at.
async fn national_id_of_role_practitioner(role: &Value) -> String {
    let reference = role["practitioner"]["reference"]
        .as_str()
        .expect("a practitioner");
    let (status, practitioner) = get_json(&format!("/fhir/{reference}"), FULL_KEY).await;
    assert_eq!(status, StatusCode::OK);
    identifier_value(&practitioner, IDNPS).expect("an idNatPs")
}

/// What `$identify` must answer for `national_id`, found with the ordinary searches.
async fn expected(national_id: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let practitioners = search(&format!(
        "/fhir/Practitioner?identifier={}&_count=1000",
        urlencode(&format!("{IDNPS}|{national_id}"))
    ))
    .await;
    let practitioner_ids = ids(&resources(&practitioners, "Practitioner"));
    let references: Vec<String> = practitioner_ids
        .iter()
        .map(|id| format!("Practitioner/{id}"))
        .collect();
    let roles = search(&format!(
        "/fhir/PractitionerRole?practitioner={}&active=true&_include=PractitionerRole:organization&_count=1000",
        references.join(",")
    ))
    .await;
    (
        practitioner_ids,
        ids(&resources(&roles, "PractitionerRole")),
        ids(&resources(&roles, "Organization")),
    )
}

/// A practitioner of the demo with at least one active role at an organization.
async fn someone_with_a_practice() -> (String, Value) {
    let roles =
        search("/fhir/PractitionerRole?active=true&organization:missing=false&_count=1").await;
    let role = resources(&roles, "PractitionerRole")[0].clone();
    (national_id_of_role_practitioner(&role).await, role)
}

#[actix_web::test]
async fn by_subject_name_id_the_practitioner_its_active_roles_and_their_organizations() {
    let (national_id, _) = someone_with_a_practice().await;
    let bundle = identify(&national_id, FULL_KEY).await;
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    let (practitioners, roles, organizations) = expected(&national_id).await;
    assert!(!roles.is_empty() && !organizations.is_empty());
    assert_eq!(ids(&resources(&bundle, "Practitioner")), practitioners);
    assert_eq!(ids(&resources(&bundle, "PractitionerRole")), roles);
    assert_eq!(ids(&resources(&bundle, "Organization")), organizations);
    assert_eq!(bundle["total"], practitioners.len());
    assert!(modes(&bundle, "Practitioner").iter().all(|m| m == "match"));
    assert!(
        modes(&bundle, "PractitionerRole")
            .iter()
            .all(|m| m == "include")
    );
    assert!(
        modes(&bundle, "Organization")
            .iter()
            .all(|m| m == "include")
    );
    for resource in resources(&bundle, "Practitioner") {
        assert_eq!(
            identifier_value(resource, IDNPS).as_deref(),
            Some(national_id.as_str())
        );
    }
}

#[actix_web::test]
async fn by_rpps_number_and_by_system_value_the_same_answer() {
    let (national_id, _) = someone_with_a_practice().await;
    let by_national_id = identify(&national_id, FULL_KEY).await;
    let rpps = national_id.strip_prefix('8').expect("an RPPS national id");
    let by_rpps = identify(rpps, FULL_KEY).await;
    let by_token = identify(&format!("{IDNPS}|{national_id}"), FULL_KEY).await;
    for other in [&by_rpps, &by_token] {
        for rtype in ["Practitioner", "PractitionerRole", "Organization"] {
            assert_eq!(
                ids(&resources(other, rtype)),
                ids(&resources(&by_national_id, rtype)),
                "{rtype}"
            );
        }
    }
    assert!(!resources(&by_rpps, "Practitioner").is_empty());
}

/// Day 1 of a small generated set, and day 2 without one line of a person who practises in
/// two places: that role is deactivated (kept, `active: false`) by the day-2 import.
#[actix_web::test]
async fn only_active_roles_are_listed() {
    let dir = common::scratch_dir("annuaire-identify-active-");
    let root = dir.path();
    let day1 = common::generate_files(&root.join("day1"), 300, 28);
    let rows = common::read_rpps_rows(&day1.rpps);
    let person = rows
        .iter()
        .filter(|r| r.type_id == "8" && r.organization_id().is_some())
        .find(|r| {
            rows.iter()
                .filter(|o| o.idnat == r.idnat && o.organization_id().is_some())
                .map(|o| o.role_id())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                >= 2
        })
        .expect("someone practises in two places");
    let leaving = rows
        .iter()
        .rfind(|o| o.idnat == person.idnat && o.role_id() != person.role_id())
        .expect("a second practice");
    let bytes = std::fs::read(&day1.rpps).unwrap();
    let kept: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(index, _)| *index as u64 + 1 != leaving.line)
        .map(|(_, line)| line)
        .collect();
    let day2 = root.join("day2");
    std::fs::create_dir_all(&day2).unwrap();
    let rpps2 = day2.join(day1.rpps.file_name().unwrap());
    std::fs::write(&rpps2, kept.join(&b'\n')).unwrap();
    let data = root.join("data");
    common::import_files(&day1, &data, None);
    annuaire::import::run(&annuaire::import::ImportOptions {
        rpps: rpps2,
        ..common::import_options(&day1, &data, None)
    })
    .expect("the day-2 import");
    let served = common::spawn_server(common::settings_for(&data), None);
    let get = |path: String| {
        let url = served.url(&path);
        async move {
            let response = client().get(url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let all_roles = get(format!(
        "/fhir/PractitionerRole?practitioner=Practitioner/{}&_count=1000",
        person.practitioner_id()
    ))
    .await;
    let gone = resources(&all_roles, "PractitionerRole")
        .into_iter()
        .find(|r| r["id"] == leaving.role_id())
        .expect("the deactivated role is still served");
    assert_eq!(gone["active"], false);

    let bundle = get(format!(
        "/fhir/Practitioner/$identify?identifier={}",
        person.idnat
    ))
    .await;
    let listed = ids(&resources(&bundle, "PractitionerRole"));
    assert!(listed.contains(&person.role_id()), "{listed:?}");
    assert!(
        !listed.contains(&leaving.role_id()),
        "the inactive role is listed: {listed:?}"
    );
    assert!(
        resources(&bundle, "PractitionerRole")
            .iter()
            .all(|r| r["active"] == true)
    );
}

#[actix_web::test]
async fn an_unknown_professional_is_an_empty_bundle_with_an_outcome() {
    let bundle = identify("899999999999", FULL_KEY).await;
    assert_eq!(bundle["total"], 0);
    let entries = bundle["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{bundle}");
    assert_eq!(entries[0]["search"]["mode"], "outcome");
    let issue = &entries[0]["resource"]["issue"][0];
    assert_eq!(entries[0]["resource"]["resourceType"], "OperationOutcome");
    assert_eq!(issue["severity"], "information");
    let text = issue["diagnostics"].as_str().unwrap();
    assert!(
        text.contains("L'annuaire ne connaît pas") && text.contains("899999999999"),
        "{text}"
    );
}

#[actix_web::test]
async fn a_malformed_or_missing_identifier_is_a_400_outcome() {
    for path in [
        "/fhir/Practitioner/$identify?identifier=hello",
        "/fhir/Practitioner/$identify?identifier=123",
        "/fhir/Practitioner/$identify?identifier=%7C123",
        "/fhir/Practitioner/$identify",
        "/fhir/Practitioner/$identify?identifier=810001234567&identifier=810001234568",
    ] {
        let (status, outcome) = get_json(path, FULL_KEY).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{path}");
        assert!(
            outcome["issue"][0]["diagnostics"]
                .as_str()
                .is_some_and(|d| d.contains("identifier")),
            "{path}: {outcome}"
        );
    }
}

/// A practitioner whose role carries an MSSanté mailbox.
async fn someone_with_a_mailbox() -> String {
    let roles =
        search("/fhir/PractitionerRole?mailbox-mss:missing=false&active=true&_count=1").await;
    let role = resources(&roles, "PractitionerRole")
        .first()
        .copied()
        .cloned()
        .expect("the demo data has a role with a mailbox");
    national_id_of_role_practitioner(&role).await
}

fn has_telecom(bundle: &Value) -> bool {
    resources(bundle, "PractitionerRole")
        .iter()
        .chain(resources(bundle, "Practitioner").iter())
        .any(|r| r.get("telecom").is_some())
}

#[actix_web::test]
async fn restricted_mailboxes_follow_the_callers_scope() {
    let national_id = someone_with_a_mailbox().await;
    let full = identify(&national_id, FULL_KEY).await;
    assert!(has_telecom(&full), "the mailbox is shown with the scope");
    let plain = identify(&national_id, PLAIN_KEY).await;
    assert!(
        !has_telecom(&plain),
        "the mailbox is hidden without the scope: {plain}"
    );
    assert_eq!(
        ids(&resources(&plain, "PractitionerRole")),
        ids(&resources(&full, "PractitionerRole"))
    );
}

#[actix_web::test]
async fn a_caller_who_may_not_read_roles_is_refused_403() {
    let (national_id, _) = someone_with_a_practice().await;
    let path = format!("/fhir/Practitioner/$identify?identifier={national_id}");
    let (status, outcome) = get_json(&path, PRACTITIONERS_KEY).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, _) = get(&path, "not-a-key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn xml_is_served_too() {
    let (national_id, _) = someone_with_a_practice().await;
    let response = client()
        .get(format!(
            "{}/fhir/Practitioner/$identify?identifier={national_id}&_format=xml",
            base()
        ))
        .header("ESANTE-API-KEY", FULL_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/fhir+xml"),
        "{content_type}"
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<Bundle xmlns=\"http://hl7.org/fhir\">"),
        "{body}"
    );
    assert!(body.contains(&format!("<value value=\"{national_id}\"/>")));
    assert!(body.contains("<PractitionerRole"));
}

#[actix_web::test]
async fn post_parameters_answers_as_get() {
    let (national_id, _) = someone_with_a_practice().await;
    let by_get = identify(&national_id, FULL_KEY).await;
    let bodies = [
        json!({"resourceType": "Parameters", "parameter": [
            {"name": "identifier", "valueString": national_id}]}),
        json!({"resourceType": "Parameters", "parameter": [
            {"name": "identifier", "valueIdentifier": {"system": IDNPS, "value": national_id}}]}),
    ];
    for body in bodies {
        let response = client()
            .post(format!("{}/fhir/Practitioner/$identify", base()))
            .header("ESANTE-API-KEY", FULL_KEY)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bundle: Value = response.json().await.unwrap();
        for rtype in ["Practitioner", "PractitionerRole", "Organization"] {
            assert_eq!(
                ids(&resources(&bundle, rtype)),
                ids(&resources(&by_get, rtype))
            );
        }
    }
    let xml = format!(
        r#"<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="identifier"/><valueString value="{national_id}"/></parameter></Parameters>"#
    );
    let response = client()
        .post(format!("{}/fhir/Practitioner/$identify", base()))
        .header("ESANTE-API-KEY", FULL_KEY)
        .header("Content-Type", "application/fhir+xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bundle: Value = response.json().await.unwrap();
    assert_eq!(
        ids(&resources(&bundle, "Practitioner")),
        ids(&resources(&by_get, "Practitioner"))
    );
    for bad in [
        json!({"resourceType": "Patient"}),
        json!({"resourceType": "Parameters", "parameter": [{"name": "identifier", "valueBoolean": true}]}),
    ] {
        let response = client()
            .post(format!("{}/fhir/Practitioner/$identify", base()))
            .header("ESANTE-API-KEY", FULL_KEY)
            .header("Content-Type", "application/fhir+json")
            .body(bad.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn the_capability_statement_lists_the_operation_and_its_definition_is_served() {
    let (status, statement) = get_json("/fhir/metadata", FULL_KEY).await;
    assert_eq!(status, StatusCode::OK);
    let practitioner = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Practitioner")
        .expect("Practitioner is served");
    let operation = practitioner["operation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "identify")
        .expect("$identify is listed")
        .clone();
    let (status, definition) =
        get_json("/fhir/OperationDefinition/annuaire-identify", FULL_KEY).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(definition["resourceType"], "OperationDefinition");
    assert_eq!(definition["url"], operation["definition"]);
    assert_eq!(definition["code"], "identify");
    assert_eq!(definition["resource"], json!(["Practitioner"]));
    assert_eq!(definition["type"], true);
    assert_eq!(definition["parameter"][0]["name"], "identifier");
    let (status, _) = get(
        "/fhir/OperationDefinition/annuaire-identify?_format=xml",
        FULL_KEY,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// `/ui/moi` is the signed-in professional's record: without a live session (no cookie, or one
/// the server does not know), a 401 in JSON the page can read, never cached.
#[actix_web::test]
async fn my_record_needs_a_session() {
    for cookie in [None, Some("annuaire_session=not-a-session")] {
        let mut request = client()
            .get(format!("{}/ui/moi", base()))
            .header("ESANTE-API-KEY", FULL_KEY)
            .header("Accept", "application/json");
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{cookie:?}");
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(cache.contains("no-store"), "{cache}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not-signed-in");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("Pro Santé Connect")
        );
    }
}
