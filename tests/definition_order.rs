//! What the server writes as JSON comes in the order of the FHIR definitions, as FHIR XML
//! requires (JSON does not, so nothing else would notice): every resource and Bundle below is
//! read into fhir-sdk's typed model and written back, and both must give the same XML element
//! order. The XML writer (`fhir::xml`) itself puts `extension` and `modifierExtension` first
//! and writes `id`s of elements and `url`s of extensions as attributes, so those are compared
//! as it writes them. (The server never does this round trip itself: it would compile
//! fhir-sdk's deserializers of every FHIR type into the server.)

mod common;

use annuaire::auth::Access;
use annuaire::auth::config::AuthConfig;
use annuaire::conformance::{capability_statement, search_parameter_resource, search_parameters};
use serde_json::{Value, json};

/// `resource` read into fhir-sdk's R4 model and written back.
fn in_definition_order(resource: &Value) -> Value {
    let typed: fhir_sdk::r4b::resources::Resource = serde_json::from_value(resource.clone())
        .unwrap_or_else(|e| panic!("not a valid resource ({e}): {resource}"));
    serde_json::to_value(&typed).expect("fhir-sdk types serialize")
}

/// Children a resource puts first, and every element (see `fhir::xml`).
const RESOURCE_HEAD: &[&str] = &[
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
];
const ELEMENT_HEAD: &[&str] = &["extension", "modifierExtension"];

/// `value` with its members in the order the XML writer writes them: attributes (an element's
/// `id`, an extension's `url`) first, then the head elements, then the rest as written; a
/// primitive's `_name` companion right after it.
fn as_xml_writes(value: &Value, in_extension: bool) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| as_xml_writes(item, in_extension))
                .collect(),
        ),
        Value::Object(members) => {
            let is_resource = members.contains_key("resourceType");
            let head = if is_resource {
                RESOURCE_HEAD
            } else {
                ELEMENT_HEAD
            };
            let is_attribute =
                |key: &str| !is_resource && (key == "id" || (in_extension && key == "url"));
            let mut keys: Vec<&String> = members.keys().filter(|k| is_attribute(k)).collect();
            keys.sort();
            keys.extend(
                head.iter()
                    .filter_map(|h| members.get_key_value(*h).map(|(k, _)| k)),
            );
            for key in members.keys() {
                if !keys.contains(&key) && !key.starts_with('_') {
                    keys.push(key);
                }
            }
            let mut out = serde_json::Map::new();
            for key in keys {
                let child_in_extension = key == "extension" || key == "modifierExtension";
                out.insert(
                    key.clone(),
                    as_xml_writes(&members[key], child_in_extension),
                );
                let companion = format!("_{key}");
                if let Some(value) = members.get(&companion) {
                    out.insert(companion, as_xml_writes(value, false));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn assert_in_definition_order(what: &str, resource: &Value) {
    let written = serde_json::to_string_pretty(&as_xml_writes(resource, false)).unwrap();
    let ordered =
        serde_json::to_string_pretty(&as_xml_writes(&in_definition_order(resource), false))
            .unwrap();
    if written != ordered {
        let first = written
            .lines()
            .zip(ordered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{what} is not in definition order; first difference at line {}:\n  written: {}\n  ordered: {}",
            first + 1,
            written.lines().nth(first).unwrap_or(""),
            ordered.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn the_capability_statement_of_every_kind_of_server() {
    let keys_and_smart: AuthConfig = serde_json::from_value(json!({
        "api_keys": [{
            "name": "hospital",
            "sha256": hex_of(&annuaire::auth::hash_api_key("secret")),
            "scopes": ["system/*.rs"]
        }],
        "smart": {
            "authorization_endpoint": "https://login.example/authorize",
            "token_endpoint": "https://login.example/token"
        }
    }))
    .unwrap();
    let policies = [
        ("an open server", Access::open()),
        (
            "a server with API keys and SMART",
            Access::from_config(keys_and_smart, annuaire::clock::Clock::system()).unwrap(),
        ),
    ];
    for (what, policy) in policies {
        let statement = capability_statement("0.0.0", policy.capability_security());
        assert_in_definition_order(what, &statement);
        assert_eq!(
            statement["rest"][0]["security"],
            policy.capability_security(),
            "{what}: the security section is kept"
        );
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_served_search_parameter() {
    for declaration in search_parameters() {
        let resource = search_parameter_resource(&declaration);
        assert_in_definition_order(&format!("SearchParameter {}", declaration.code), &resource);
    }
}

#[tokio::test]
async fn bundles_and_outcomes_as_served() {
    let app = common::spawn_app();
    let client = reqwest::Client::new();
    for path in [
        "/fhir/metadata",
        "/fhir/Practitioner?_count=3&_revinclude=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization",
        "/fhir/PractitionerRole?_count=2&_sort=-_lastUpdated&_total=accurate",
        "/fhir/Organization?_summary=count",
        "/fhir/HealthcareService?_count=5&_include=HealthcareService:organization",
        "/fhir/Device?_count=5&_sort=type&_include=Device:organization",
        "/fhir/Organization?_count=3&_revinclude=HealthcareService:organization&_revinclude=Device:organization",
        "/fhir/_history?_count=5",
        "/fhir/SearchParameter?_count=2",
        "/fhir/Practitioner?unknown-parameter=1",
        "/fhir/Practitioner/no-such-id",
        "/fhir/CodeSystem",
        "/fhir/CodeSystem?colour=blue",
        "/fhir/CodeSystem/TRE-G15-ProfessionSante",
        "/fhir/CodeSystem/$lookup?system=https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante&code=10",
    ] {
        let body: Value = client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_in_definition_order(path, &body);
    }
}

/// `$validate`'s OperationOutcomes (the validator's issues, and the server's own for a mode it
/// would refuse) in definition order, as FHIR XML needs them.
#[tokio::test]
async fn validation_outcomes_as_served() {
    let app = common::spawn_app();
    let client = reqwest::Client::new();
    for rtype in ["Practitioner", "Organization", "Device"] {
        let bundle: Value = client
            .get(app.url(&format!("/fhir/{rtype}?_count=1")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resource = &bundle["entry"][0]["resource"];
        let id = resource["id"].as_str().expect("the demo serves it");
        let mut broken = resource.clone();
        broken["id"] = json!("another-id");
        broken["nickname"] = json!("unknown element");
        for request in [
            client.get(app.url(&format!("/fhir/{rtype}/{id}/$validate"))),
            client.get(app.url(&format!("/fhir/{rtype}/{id}/$validate?mode=delete"))),
            client
                .post(app.url(&format!("/fhir/{rtype}/{id}/$validate?mode=update")))
                .header("content-type", "application/fhir+json")
                .body(broken.to_string()),
        ] {
            let outcome: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
            assert_in_definition_order(&format!("{rtype}/{id}/$validate"), &outcome);
        }
    }
}

/// The FINESS services as served, JSON and XML: each Bundle holds them (the demo has both
/// types), in definition order, and the XML writer takes them (FHIR XML needs that order).
#[tokio::test]
async fn the_finess_services_in_json_and_xml() {
    let app = common::spawn_app();
    let client = reqwest::Client::new();
    for rtype in ["HealthcareService", "Device"] {
        let path = format!("/fhir/{rtype}?_count=20");
        let body: Value = client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = body["entry"].as_array().map(Vec::len).unwrap_or(0);
        assert!(entries > 0, "{path}: the demo serves {rtype}");
        assert_in_definition_order(&path, &body);
        let response = client
            .get(app.url(&format!("{path}&_format=xml")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path} as XML");
        let xml = response.text().await.unwrap();
        assert_eq!(
            xml.matches(&format!("<{rtype} xmlns=\"http://hl7.org/fhir\">"))
                .count(),
            entries,
            "{path}: one XML {rtype} per entry: {}",
            &xml[..xml.len().min(600)]
        );
    }
}
