//! The FHIR HTTP API over real HTTP: one server on 127.0.0.1:0 over the demo dataset (see
//! `common::spawn_app`), resources checked against the rows of the generated RPPS and FINESS
//! files.

mod common;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::Value;

use common::{DEMO_LAST_MODIFIED, DEMO_LAST_UPDATED, TestApp, spawn_app};

const RESOURCES_JSON: &str = include_str!("../conformance/resources.json");
/// The constraint files the server's profile claims come from (profiles/README.md).
const PROFILE_FILES: [(&str, &str); 6] = [
    (
        "Practitioner",
        include_str!("../profiles/as-dp-practitioner.json"),
    ),
    (
        "PractitionerRole",
        include_str!("../profiles/as-dp-practitionerrole.json"),
    ),
    (
        "Organization",
        include_str!("../profiles/as-dp-organization.json"),
    ),
    (
        "HealthcareService",
        include_str!("../profiles/as-dp-healthcareservice-healthcare-activity.json"),
    ),
    (
        "HealthcareService",
        include_str!("../profiles/as-dp-healthcareservice-social-equipment.json"),
    ),
    ("Device", include_str!("../profiles/as-dp-device.json")),
];
const FR_CORE_PRACTITIONER: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner|2.2.0";
const AS_DP_PRACTITIONER: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-practitioner|1.2.0-snapshot-2";

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn assert_fhir_json(headers: &HeaderMap) {
    let ct = content_type(headers);
    assert!(
        ct.starts_with("application/fhir+json"),
        "Content-Type should be FHIR JSON, got `{ct}`"
    );
}

/// Parses a JSON body (key order preserved) and checks `resourceType` is its first key.
fn parse_resource(body: &[u8], resource_type: &str) -> Value {
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(body)));
    let first = value
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()));
    assert_eq!(
        first,
        Some(("resourceType".to_owned(), Value::from(resource_type))),
        "resourceType must be the first key: {value}"
    );
    value
}

/// GETs a resource that must exist: 200, FHIR JSON, the resource's type and id.
async fn get_resource(app: &TestApp, client: &reqwest::Client, reference: &str) -> Value {
    let response = client
        .get(app.url(&format!("/fhir/{reference}")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "GET /fhir/{reference}");
    assert_fhir_json(response.headers());
    let body = response.bytes().await.expect("body");
    let (rtype, id) = reference.split_once('/').expect("Type/id");
    let resource = parse_resource(&body, rtype);
    assert_eq!(resource["id"], id, "id of {reference}");
    resource
}

/// Checks an error is a FHIR OperationOutcome with `status` and `code`; returns diagnostics.
async fn assert_outcome(response: reqwest::Response, status: StatusCode, code: &str) -> String {
    let url = response.url().to_string();
    assert_eq!(response.status(), status, "status of {url}");
    assert_fhir_json(response.headers());
    let body = response.bytes().await.expect("body");
    let outcome = parse_resource(&body, "OperationOutcome");
    let issue = &outcome["issue"][0];
    assert_eq!(issue["severity"], "error", "{outcome}");
    assert_eq!(issue["code"], code, "{outcome}");
    let diagnostics = issue["diagnostics"].as_str().unwrap_or("").to_owned();
    assert!(
        !diagnostics.trim().is_empty(),
        "empty diagnostics: {outcome}"
    );
    diagnostics
}

/// The identifier whose `type` is coded `code` (IDNPS, RPPS, ADELI, FINEJ...).
fn identifier_typed<'a>(resource: &'a Value, code: &str) -> Option<&'a Value> {
    resource["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["type"]["coding"][0]["code"] == code)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The profile URL and the `supportedProfile` list a CapabilityStatement entry for `rtype` must
/// show, read from profiles/*.json: per as-dp profile, the profile it is built on (the fr-core
/// base of its `fr-canonical` meta.profile slice, or else its generic ANS `baseDefinition`),
/// then its own `url|version`. `profile` only when the type has one as-dp profile.
fn claimed_profiles(rtype: &str) -> (Option<String>, Vec<String>) {
    let mut urls = Vec::new();
    let mut supported = Vec::new();
    for (_, text) in PROFILE_FILES.iter().filter(|(t, _)| *t == rtype) {
        let profile: Value = serde_json::from_str(text).expect("profile file is JSON");
        let url = profile["url"].as_str().expect("url").to_owned();
        let canonical = format!("{url}|{}", profile["version"].as_str().expect("version"));
        let slice = format!("{rtype}.meta.profile:fr-canonical");
        let base = profile["elements"]
            .as_array()
            .expect("elements")
            .iter()
            .find(|e| e["id"] == slice.as_str())
            .and_then(|e| e["patternCanonical"].as_str())
            .or(profile["baseDefinition"].as_str())
            .expect("a base profile")
            .to_owned();
        supported.extend([base, canonical]);
        urls.push(url);
    }
    assert!(!urls.is_empty(), "a profile file for {rtype}");
    let url = (urls.len() == 1).then(|| urls.remove(0));
    (url, supported)
}

/// HealthcareService and Device are served from the demo's FINESS extractions: searches answer
/// searchsets of them (not 404 for the whole type), with their includes; a parameter the files
/// never fill matches nothing; Organization's revincludes bring an establishment's activities,
/// equipment and units; a missing id is a 404 for that resource.
#[tokio::test]
async fn the_finess_service_types_are_served() {
    let app = spawn_app();
    let client = common::client();
    for (query, found) in [
        ("HealthcareService", true),
        ("Device", true),
        (
            "HealthcareService?service-type=https://mos.esante.gouv.fr/NOS/TRE_R274-ActiviteSanitaireRegulee/FHIR/TRE-R274-ActiviteSanitaireRegulee|07&_include=HealthcareService:organization",
            true,
        ),
        (
            "Device?type=05602&organization.address-postalcode=69&_total=accurate",
            true,
        ),
        ("Device?model=x", false),
    ] {
        let response = client
            .get(app.url(&format!("/fhir/{query}")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let bundle = parse_resource(&response.bytes().await.expect("body"), "Bundle");
        assert_eq!(bundle["type"], "searchset", "{query}");
        assert_eq!(bundle.get("entry").is_some(), found, "{query}: {bundle}");
    }
    // The demo's first establishment, a CHR, has activities and heavy equipment.
    let response = client
        .get(app.url("/fhir/Organization?_id=eg-219900000&_revinclude=HealthcareService:organization&_revinclude=Device:organization"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let bundle = parse_resource(&response.bytes().await.expect("body"), "Bundle");
    let entries = bundle["entry"].as_array().expect("entries");
    for rtype in ["Organization", "HealthcareService", "Device"] {
        assert!(
            entries
                .iter()
                .any(|e| e["resource"]["resourceType"] == rtype),
            "{rtype} in {bundle}"
        );
    }
    let missing = client
        .get(app.url("/fhir/Device/eml-0123456789abcdef0123456789abcdef"))
        .send()
        .await
        .expect("request");
    let diagnostics = assert_outcome(missing, StatusCode::NOT_FOUND, "not-found").await;
    assert!(!diagnostics.contains("not served"), "{diagnostics}");
    // R4 parameters these types have and the files cannot fill are refused, not ignored.
    for (query, named) in [
        ("HealthcareService?name=urgences", "service-type"),
        ("Device?udi-carrier=x", "UDI"),
        ("Device?location=x", "organization.address-city"),
    ] {
        let refused = client
            .get(app.url(&format!("/fhir/{query}")))
            .send()
            .await
            .expect("request");
        let diagnostics = assert_outcome(refused, StatusCode::BAD_REQUEST, "not-supported").await;
        assert!(diagnostics.contains(named), "{query}: {diagnostics}");
    }
}

#[tokio::test]
async fn metadata_is_an_r4_capability_statement_declaring_read_and_search() {
    let app = spawn_app();
    let response = common::client()
        .get(app.url("/fhir/metadata"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_fhir_json(response.headers());
    let body = response.bytes().await.expect("body");
    let statement = parse_resource(&body, "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    assert_eq!(statement["kind"], "instance");

    let declared: Vec<Value> = serde_json::from_str(RESOURCES_JSON).expect("resources.json");
    let served = statement["rest"][0]["resource"]
        .as_array()
        .expect("rest[0].resource");
    let served_types: Vec<&str> = served.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(
        served_types,
        [
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "HealthcareService",
            "Device",
            "CodeSystem",
            "List",
            "Subscription",
            "SearchParameter"
        ]
    );
    // Besides the declared types: CodeSystem (conformance/terminology.json), what hospitals
    // write (List, Subscription) and SearchParameter.
    assert_eq!(served.len(), declared.len() + 4);
    for local in ["List", "Subscription"] {
        let resource = served.iter().find(|r| r["type"] == local).expect(local);
        let interactions: Vec<&str> = resource["interaction"]
            .as_array()
            .expect("interaction")
            .iter()
            .filter_map(|i| i["code"].as_str())
            .collect();
        for code in ["create", "read", "vread", "update", "delete", "search-type"] {
            assert!(interactions.contains(&code), "{local} declares {code}");
        }
        assert_eq!(resource["versioning"], "versioned-update", "{local}");
    }
    // List's own parameters are served as SearchParameter resources too.
    let list = served.iter().find(|r| r["type"] == "List").expect("List");
    for param in list["searchParam"].as_array().expect("List searchParam") {
        let url = param["definition"].as_str().expect("definition");
        let id = url.rsplit(['/', ':']).next().unwrap();
        let response = common::client()
            .get(app.url(&format!("/fhir/SearchParameter/{id}")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{url}");
    }
    for declaration in &declared {
        let rtype = declaration["type"].as_str().expect("type");
        let resource = served
            .iter()
            .find(|r| r["type"] == rtype)
            .unwrap_or_else(|| panic!("{rtype} missing from the CapabilityStatement"));
        let (url, supported) = claimed_profiles(rtype);
        assert_eq!(
            resource.get("profile").and_then(Value::as_str),
            url.as_deref(),
            "{rtype}"
        );
        assert_eq!(strings(&resource["supportedProfile"]), supported, "{rtype}");
        assert_eq!(
            resource["interaction"],
            serde_json::json!([{"code": "read"}, {"code": "vread"}, {"code": "search-type"}, {"code": "history-instance"}, {"code": "history-type"}]),
            "{rtype} declares exactly its read, search and history interactions"
        );
        assert_eq!(resource["versioning"], "versioned", "{rtype}");
        assert_eq!(resource["readHistory"], true, "{rtype}");
        // Every declared search parameter is served as a SearchParameter resource.
        for param in resource["searchParam"].as_array().expect("searchParam") {
            let url = param["definition"].as_str().expect("definition");
            let id = url.rsplit(['/', ':']).next().unwrap();
            let served = common::client()
                .get(app.url(&format!("/fhir/SearchParameter/{id}")))
                .send()
                .await
                .expect("request");
            assert_eq!(served.status(), StatusCode::OK, "{url}");
            let body = served.bytes().await.expect("body");
            let definition = parse_resource(&body, "SearchParameter");
            assert_eq!(definition["url"], url);
            assert_eq!(definition["code"], param["name"]);
        }
    }
}

#[tokio::test]
async fn practitioner_matches_its_rpps_row_with_version_headers() {
    let app = spawn_app();
    let person = common::ordinary_person(&app.demo.rows);
    let row = person[0];
    let id = row.practitioner_id();
    let response = common::client()
        .get(app.url(&format!("/fhir/Practitioner/{id}")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_fhir_json(response.headers());
    let headers = response.headers().clone();
    assert_eq!(headers[header::ETAG], "W/\"1\"");
    assert_eq!(
        headers
            .get(header::LAST_MODIFIED)
            .expect("Last-Modified is present"),
        DEMO_LAST_MODIFIED
    );
    let body = response.bytes().await.expect("body");
    let practitioner = parse_resource(&body, "Practitioner");

    assert_eq!(practitioner["id"], id.as_str());
    let idnps = identifier_typed(&practitioner, "IDNPS").expect("an IDNPS identifier");
    assert_eq!(idnps["value"], row.idnat.as_str());
    assert_eq!(idnps["system"], "urn:oid:1.2.250.1.71.4.2.1");
    let rpps = identifier_typed(&practitioner, "RPPS").expect("an RPPS identifier");
    assert_eq!(rpps["value"], row.id_pp.as_str());
    assert_eq!(rpps["system"], "https://rpps.esante.gouv.fr");
    assert!(
        identifier_typed(&practitioner, "ADELI").is_none(),
        "an RPPS-typed person has no ADELI identifier"
    );

    let name = &practitioner["name"][0];
    assert_eq!(name["family"], row.family.as_str());
    assert_eq!(strings(&name["given"]), [row.given.as_str()]);

    let meta = &practitioner["meta"];
    assert_eq!(meta["versionId"], "1");
    assert_eq!(meta["lastUpdated"], DEMO_LAST_UPDATED);
    assert_eq!(
        strings(&meta["profile"]),
        [FR_CORE_PRACTITIONER, AS_DP_PRACTITIONER]
    );
}

#[tokio::test]
async fn adeli_practitioner_claims_fr_core_only() {
    let app = spawn_app();
    let person = common::adeli_person(&app.demo.rows);
    let row = person[0];
    let practitioner = get_resource(
        &app,
        &common::client(),
        &format!("Practitioner/{}", row.practitioner_id()),
    )
    .await;
    assert_eq!(
        strings(&practitioner["meta"]["profile"]),
        [FR_CORE_PRACTITIONER]
    );
    let identifiers = practitioner["identifier"].as_array().expect("identifiers");
    let adeli = identifiers
        .iter()
        .find(|i| i["system"] == "https://adeli.esante.gouv.fr")
        .unwrap_or_else(|| panic!("no ADELI identifier in {practitioner}"));
    assert_eq!(adeli["value"], row.id_pp.as_str());
    assert!(
        identifiers
            .iter()
            .all(|i| i["system"] != "https://rpps.esante.gouv.fr"),
        "an ADELI person has no RPPS identifier: {practitioner}"
    );
    let idnps = identifier_typed(&practitioner, "IDNPS").expect("an IDNPS identifier");
    assert_eq!(idnps["value"], row.idnat.as_str());
}

#[tokio::test]
async fn practitioner_role_references_resolve() {
    let app = spawn_app();
    let client = common::client();
    let person = common::ordinary_person(&app.demo.rows);
    let activity = person
        .iter()
        .find(|r| r.has_activity())
        .expect("an activity");
    let role = get_resource(
        &app,
        &client,
        &format!("PractitionerRole/{}", activity.role_id()),
    )
    .await;
    let practitioner_ref = format!("Practitioner/{}", activity.practitioner_id());
    assert_eq!(role["practitioner"]["reference"], practitioner_ref.as_str());
    let organization_ref = format!(
        "Organization/{}",
        activity
            .organization_id()
            .expect("an activity has a structure")
    );
    assert_eq!(role["organization"]["reference"], organization_ref.as_str());
    assert_eq!(role["meta"]["versionId"], "1");

    // Both references resolve on the same server.
    let practitioner = get_resource(&app, &client, &practitioner_ref).await;
    assert_eq!(
        identifier_typed(&practitioner, "IDNPS").expect("IDNPS")["value"],
        activity.idnat.as_str()
    );
    get_resource(&app, &client, &organization_ref).await;
}

#[tokio::test]
async fn establishment_part_of_resolves_to_its_legal_entity() {
    let app = spawn_app();
    let client = common::client();
    let finess = annuaire::extract::finess::read(&app.demo.finess).expect("read FINESS");
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let establishment = finess
        .establishments
        .iter()
        .find(|e| plain(&e.nofinesset) && plain(&e.nofinessej))
        .expect("an establishment with a legal entity");
    let organization = get_resource(
        &app,
        &client,
        &format!("Organization/eg-{}", establishment.nofinesset),
    )
    .await;
    let part_of = organization["partOf"]["reference"]
        .as_str()
        .unwrap_or_else(|| panic!("no partOf in {organization}"));
    assert_eq!(
        part_of,
        format!("Organization/ej-{}", establishment.nofinessej)
    );
    let legal_entity = get_resource(&app, &client, part_of).await;
    let finej = identifier_typed(&legal_entity, "FINEJ").expect("a FINEJ identifier");
    assert_eq!(finej["value"], establishment.nofinessej.as_str());
}

#[tokio::test]
async fn conditional_reads() {
    let app = spawn_app();
    let client = common::client();
    let id = common::ordinary_person(&app.demo.rows)[0].practitioner_id();
    let url = app.url(&format!("/fhir/Practitioner/{id}"));
    let get = |name: &'static str, value: &'static str| {
        let request = client.get(&url);
        async move { request.header(name, value).send().await.expect("request") }
    };

    for tag in ["W/\"1\"", "\"1\"", "*", "W/\"7\", W/\"1\""] {
        let response = get("If-None-Match", tag).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {tag}"
        );
        assert_eq!(response.headers()[header::ETAG], "W/\"1\"");
        assert!(
            response.bytes().await.expect("body").is_empty(),
            "a 304 has no body"
        );
    }
    let response = get("If-None-Match", "W/\"2\"").await;
    assert_eq!(response.status(), StatusCode::OK);
    parse_resource(&response.bytes().await.expect("body"), "Practitioner");

    for (since, expected) in [
        ("Mon, 02 Nov 2026 00:00:00 GMT", StatusCode::NOT_MODIFIED),
        (DEMO_LAST_MODIFIED, StatusCode::NOT_MODIFIED),
        ("Sat, 31 Oct 2026 23:59:59 GMT", StatusCode::OK),
        ("not a date", StatusCode::OK),
    ] {
        let response = get("If-Modified-Since", since).await;
        assert_eq!(response.status(), expected, "If-Modified-Since: {since}");
    }

    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    let response = client
        .get(&url)
        .header("If-None-Match", "W/\"2\"")
        .header("If-Modified-Since", "Mon, 02 Nov 2026 00:00:00 GMT")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn gzip_when_asked() {
    let app = spawn_app();
    let id = common::ordinary_person(&app.demo.rows)[0].practitioner_id();
    let url = app.url(&format!("/fhir/Practitioner/{id}"));

    let identity = common::client().get(&url).send().await.expect("request");
    assert_eq!(identity.status(), StatusCode::OK);
    assert!(identity.headers().get(header::CONTENT_ENCODING).is_none());
    let identity = identity.bytes().await.expect("body");
    parse_resource(&identity, "Practitioner");

    let raw = common::client()
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(raw.headers()[header::CONTENT_ENCODING], "gzip");
    assert_fhir_json(raw.headers());
    let compressed = raw.bytes().await.expect("body");
    assert!(
        compressed.starts_with(&[0x1f, 0x8b]),
        "the body is a gzip stream"
    );
    assert_ne!(compressed, identity);

    // reqwest's gzip feature asks for gzip and decompresses: the same JSON comes out.
    let decoding = reqwest::Client::builder()
        .gzip(true)
        .build()
        .expect("client");
    let decoded = decoding.get(&url).send().await.expect("request");
    assert_eq!(decoded.status(), StatusCode::OK);
    assert_eq!(decoded.bytes().await.expect("body"), identity);
}

#[tokio::test]
async fn errors_are_operation_outcomes() {
    let app = spawn_app();
    let client = common::client();
    let known = common::ordinary_person(&app.demo.rows)[0].practitioner_id();

    let get = |path: &str| client.get(app.url(path)).send();

    let diagnostics = assert_outcome(
        get("/fhir/Practitioner/pp-000000000000-00").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert!(diagnostics.contains("pp-000000000000-00"), "{diagnostics}");

    let diagnostics = assert_outcome(
        get("/fhir/Patient/1").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert!(diagnostics.contains("Patient"), "{diagnostics}");

    assert_outcome(
        get("/fhir/Practitioner/a%20b").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid",
    )
    .await;
    let too_long = "x".repeat(65);
    assert_outcome(
        get(&format!("/fhir/Practitioner/{too_long}"))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid",
    )
    .await;
    // 64 characters is still a valid id: unknown, not invalid.
    let longest = "x".repeat(64);
    assert_outcome(
        get(&format!("/fhir/Practitioner/{longest}")).await.unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;

    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = client
            .request(
                method.clone(),
                app.url(&format!("/fhir/Practitioner/{known}")),
            )
            .header(header::CONTENT_TYPE, "application/fhir+json")
            .body(r#"{"resourceType":"Practitioner"}"#)
            .send()
            .await
            .unwrap();
        let diagnostics =
            assert_outcome(response, StatusCode::METHOD_NOT_ALLOWED, "not-supported").await;
        assert!(diagnostics.contains(method.as_str()), "{diagnostics}");
    }
    // Still there, unchanged.
    get_resource(&app, &client, &format!("Practitioner/{known}")).await;

    // Search is served: a searchset Bundle, not an error.
    let response = get("/fhir/Practitioner?_count=1").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bundle: Value = response.json().await.unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");

    assert_outcome(
        get("/nowhere").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_outcome(
        get("/fhir/Practitioner/a/b").await.unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;

    // A form body over the configured limit is refused before it is read whole, as an
    // OperationOutcome naming the limit (FHIR's `too-long`).
    let oversized = client
        .post(app.url("/fhir/Practitioner/_search"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("family={}", "A".repeat(1 << 20)))
        .send()
        .await
        .unwrap();
    let diagnostics = assert_outcome(oversized, StatusCode::PAYLOAD_TOO_LARGE, "too-long").await;
    assert!(diagnostics.contains("limit"), "{diagnostics}");
}

#[tokio::test]
async fn head_and_allow_follow_http() {
    let app = spawn_app();
    let client = common::client();
    let known = common::ordinary_person(&app.demo.rows)[0].practitioner_id();
    let url = app.url(&format!("/fhir/Practitioner/{known}"));

    // HEAD: the GET headers, no body.
    let get = client.get(&url).send().await.unwrap();
    let get_etag = get.headers()[header::ETAG].clone();
    let get_length = get.bytes().await.unwrap().len();
    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::ETAG], get_etag);
    assert_fhir_json(head.headers());
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH].to_str().unwrap(),
        get_length.to_string()
    );
    assert!(head.bytes().await.unwrap().is_empty());
    let head = client.head(app.url("/fhir/metadata")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    // 405 names what is allowed, on resources and on /metadata alike.
    for path in [
        format!("/fhir/Practitioner/{known}"),
        "/fhir/metadata".to_owned(),
    ] {
        let response = client.post(app.url(&path)).send().await.unwrap();
        assert_eq!(response.headers()[header::ALLOW], "GET, HEAD", "{path}");
        assert_outcome(response, StatusCode::METHOD_NOT_ALLOWED, "not-supported").await;
    }

    // `_format=application/fhir+json` written unencoded (the `+` arrives as a space).
    let response = client
        .get(format!("{url}?_format=application/fhir+json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn json_and_xml_are_served_and_nothing_else() {
    let app = spawn_app();
    let client = common::client();
    let known = common::ordinary_person(&app.demo.rows)[0].practitioner_id();
    let read = format!("/fhir/Practitioner/{known}");

    for (path, root) in [
        ("/fhir/metadata", "CapabilityStatement"),
        (read.as_str(), "Practitioner"),
    ] {
        // XML, asked for by `_format` or `Accept`.
        let xml_requests = [
            client.get(app.url(&format!("{path}?_format=xml"))),
            client.get(app.url(&format!("{path}?_format=application/fhir%2Bxml"))),
            client
                .get(app.url(path))
                .header(header::ACCEPT, "application/fhir+xml"),
            client.get(app.url(path)).header(
                header::ACCEPT,
                "application/fhir+json;q=0.5, application/xml",
            ),
        ];
        for request in xml_requests {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/fhir+xml; charset=utf-8"
            );
            let body = response.text().await.unwrap();
            assert!(
                body.starts_with(&format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="http://hl7.org/fhir">"#
                )),
                "{}",
                &body[..body.len().min(200)]
            );
        }
        // Anything else: 406, as an OperationOutcome.
        for query in ["?_format=turtle", "?_format=text/html"] {
            let response = client
                .get(app.url(&format!("{path}{query}")))
                .send()
                .await
                .unwrap();
            let diagnostics =
                assert_outcome(response, StatusCode::NOT_ACCEPTABLE, "not-supported").await;
            assert!(diagnostics.contains("XML"), "{diagnostics}");
        }
        let response = client
            .get(app.url(path))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        assert_outcome(response, StatusCode::NOT_ACCEPTABLE, "not-supported").await;

        // JSON, however asked for.
        // `+` must be percent-encoded in a query string (a literal `+` reads as a space).
        for query in ["?_format=json", "?_format=application/fhir%2Bjson"] {
            let response = client
                .get(app.url(&format!("{path}{query}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}{query}");
            assert_fhir_json(response.headers());
        }
        for accept in [
            "application/fhir+json",
            "application/fhir+json; fhirVersion=4.0",
            "application/fhir+xml;q=0.8, application/json;q=0.9",
            "text/html, */*;q=0.8",
        ] {
            let response = client
                .get(app.url(path))
                .header(header::ACCEPT, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path} Accept: {accept}");
            assert_fhir_json(response.headers());
        }
    }
    // Errors follow the format asked for.
    let response = client
        .get(app.url("/fhir/Practitioner/pp-0-0?_format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = response.text().await.unwrap();
    assert!(body.contains(r#"<OperationOutcome xmlns="http://hl7.org/fhir"><issue><severity value="error"/><code value="not-found"/>"#), "{body}");
}

#[tokio::test]
async fn parallel_reads() {
    let app = spawn_app();
    let client = common::client();
    let mut ids: Vec<String> = common::persons(&app.demo.rows)
        .iter()
        .map(|person| format!("Practitioner/{}", person[0].practitioner_id()))
        .take(150)
        .collect();
    ids.extend(
        app.demo
            .rows
            .iter()
            .filter(|r| r.has_activity())
            .map(|r| format!("PractitionerRole/{}", r.role_id()))
            .take(50),
    );
    assert_eq!(ids.len(), 200);
    let mut tasks = Vec::new();
    for reference in ids {
        let client = client.clone();
        let url = app.url(&format!("/fhir/{reference}"));
        tasks.push(tokio::spawn(async move {
            let response = client.get(&url).send().await.expect("request");
            let status = response.status();
            let body = response.bytes().await.expect("body");
            (reference, status, body)
        }));
    }
    for task in tasks {
        let (reference, status, body) = task.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{reference}");
        let (rtype, id) = reference.split_once('/').unwrap();
        let resource = parse_resource(&body, rtype);
        assert_eq!(resource["id"], id);
    }
}
