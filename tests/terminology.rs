//! Codes with words (issue #24, item 4): the `display` of the served codings is the label the
//! extraction files give the code, the CodeSystem resources hold the same words, and
//! `$lookup` answers them; over real HTTP against the demo dataset (see `common::spawn_app`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestApp, client, spawn_app};

const G15: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
const R22: &str = "https://mos.esante.gouv.fr/NOS/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite";
const R21: &str = "https://mos.esante.gouv.fr/NOS/TRE_R21-Fonction/FHIR/TRE-R21-Fonction";
const R23: &str = "https://mos.esante.gouv.fr/NOS/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice";

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client().get(app.url(path)).send().await.expect("request");
    (response.status(), response.text().await.expect("body"))
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let (status, body) = get(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The first label the RPPS file gives each code of a column, read from the file itself
/// (independently of the server): `code column -> {code: label}`.
fn first_labels(rpps: &Path, columns: &[(&str, &str)]) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read(rpps).expect("read the RPPS file");
    let mut lines = text.split(|b| *b == b'\n');
    let header = String::from_utf8_lossy(lines.next().expect("a header"));
    let names: Vec<&str> = header.split('|').map(str::trim).collect();
    let at = |name: &str| names.iter().position(|c| *c == name).expect(name);
    let positions: Vec<(usize, usize)> = columns
        .iter()
        .map(|(code, label)| (at(code), at(label)))
        .collect();
    let mut labels = vec![BTreeMap::new(); columns.len()];
    for line in lines.filter_map(|l| std::str::from_utf8(l).ok()) {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        for (i, (code, label)) in positions.iter().enumerate() {
            if let (Some(c), Some(l)) = (fields.get(*code), fields.get(*label))
                && !c.is_empty()
                && !l.is_empty()
            {
                labels[i]
                    .entry(c.to_string())
                    .or_insert_with(|| l.to_string());
            }
        }
    }
    labels
}

/// Every coding (an object with `system` and `code`) anywhere in `value`.
fn codings<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Object(object) => {
            if object.get("system").is_some_and(Value::is_string)
                && object.get("code").is_some_and(Value::is_string)
            {
                out.push(value);
            }
            object.values().for_each(|v| codings(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| codings(v, out)),
        _ => {}
    }
}

/// Every resource of every page of a search.
async fn all_pages(app: &TestApp, first: &str) -> Vec<Value> {
    let mut resources = Vec::new();
    let mut path = Some(first.to_owned());
    while let Some(current) = path.take() {
        let bundle = get_json(app, &current).await;
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            resources.push(entry["resource"].clone());
        }
        path =
            common::link(&bundle, "next").map(|url| url[url.find("/fhir/").unwrap()..].to_owned());
    }
    resources
}

/// The code systems served, by URL: `{code: display}`.
async fn served_code_systems(app: &TestApp) -> BTreeMap<String, BTreeMap<String, String>> {
    let bundle = get_json(app, "/fhir/CodeSystem").await;
    let mut systems = BTreeMap::new();
    for entry in bundle["entry"].as_array().expect("entries") {
        let resource = &entry["resource"];
        let concepts = resource["concept"]
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
        systems.insert(resource["url"].as_str().unwrap().to_owned(), concepts);
    }
    systems
}

#[tokio::test]
async fn displays_are_the_files_labels_and_the_code_systems_say_the_same() {
    let app = spawn_app();
    let columns = [
        ("Code profession", "Libellé profession"),
        ("Code genre activité", "Libellé genre activité"),
        ("Code rôle", "Libellé rôle"),
        ("Code mode exercice", "Libellé mode exercice"),
    ];
    let files = first_labels(&app.demo.rpps, &columns);
    let expected: BTreeMap<&str, &BTreeMap<String, String>> =
        [G15, R22, R21, R23].into_iter().zip(files.iter()).collect();
    assert!(files.iter().all(|labels| !labels.is_empty()), "{files:?}");
    let systems = served_code_systems(&app).await;

    let mut resources = all_pages(&app, "/fhir/Practitioner?_count=1000").await;
    resources.extend(all_pages(&app, "/fhir/PractitionerRole?_count=1000").await);
    resources.extend(all_pages(&app, "/fhir/Organization?_count=1000").await);
    let mut checked_against_files = 0;
    let mut described = BTreeSet::new();
    for resource in &resources {
        let mut found = Vec::new();
        codings(resource, &mut found);
        for coding in found {
            let system = coding["system"].as_str().unwrap();
            let code = coding["code"].as_str().unwrap();
            let display = coding["display"].as_str();
            // The file's first label for the code, where the test read it.
            if let Some(labels) = expected.get(system) {
                assert_eq!(
                    display,
                    labels.get(code).map(String::as_str),
                    "{system}|{code} in {}",
                    resource["id"]
                );
                checked_against_files += 1;
            }
            // Whatever the system: the CodeSystem's word for the code, and only then.
            assert_eq!(
                display,
                systems
                    .get(system)
                    .and_then(|codes| codes.get(code))
                    .map(String::as_str),
                "{system}|{code} in {}",
                resource["id"]
            );
            if let Some(display) = display {
                described.insert((system.to_owned(), code.to_owned(), display.to_owned()));
            }
        }
    }
    assert!(checked_against_files > 1000, "{checked_against_files}");
    // Organizations' categories (FINESS) and savoir-faire are described too.
    let described_systems: BTreeSet<&str> = described.iter().map(|(s, _, _)| s.as_str()).collect();
    assert!(
        described_systems
            .iter()
            .any(|s| s.contains("TRE_R66-CategorieEtablissement")),
        "{described_systems:?}"
    );
    assert!(described_systems.len() >= 8, "{described_systems:?}");

    // And $lookup answers each of those words.
    for (system, code, display) in described.iter().step_by(7) {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("system", system)
            .append_pair("code", code)
            .finish();
        let answer = get_json(&app, &format!("/fhir/CodeSystem/$lookup?{query}")).await;
        assert_eq!(answer["resourceType"], "Parameters");
        assert_eq!(
            parameter(&answer, "display"),
            display.as_str(),
            "{system}|{code}"
        );
    }
}

/// The `value[x]` of the parameter `name` of a Parameters resource.
fn parameter<'v>(parameters: &'v Value, name: &str) -> &'v str {
    parameters["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["valueString"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {parameters}"))
}

#[tokio::test]
async fn code_systems_are_read_and_searched_by_url_id_name_and_code() {
    let app = spawn_app();
    let bundle = get_json(&app, "/fhir/CodeSystem").await;
    assert_eq!(bundle["type"], "searchset");
    assert!(bundle["total"].as_u64().unwrap() >= 8, "{bundle}");
    for entry in bundle["entry"].as_array().unwrap() {
        let resource = &entry["resource"];
        assert_eq!(resource["resourceType"], "CodeSystem");
        assert_eq!(resource["status"], "active");
        assert_eq!(resource["content"], "fragment", "only the codes met");
        assert!(
            entry["fullUrl"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/CodeSystem/{}", resource["id"].as_str().unwrap()))
        );
    }

    let by_url = get_json(&app, &format!("/fhir/CodeSystem?url={G15}")).await;
    assert_eq!(by_url["total"], 1, "{by_url}");
    let g15 = &by_url["entry"][0]["resource"];
    assert_eq!(g15["id"], "TRE-G15-ProfessionSante");
    assert_eq!(g15["url"], G15);
    assert_eq!(g15["title"], "TRE_G15-ProfessionSante");
    assert_eq!(g15["name"], "TRE_G15_ProfessionSante");
    let doctor = g15["concept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "10")
        .expect("doctors in the demo");
    assert_eq!(doctor["display"], "Médecin");

    let read = get_json(&app, "/fhir/CodeSystem/TRE-G15-ProfessionSante").await;
    assert_eq!(&read, g15);
    for query in [
        format!("system={G15}"),
        "_id=TRE-G15-ProfessionSante".into(),
        "name=tre_g15".into(),
        "title:exact=TRE_G15-ProfessionSante".into(),
        format!("code={G15}|10"),
    ] {
        let found = get_json(&app, &format!("/fhir/CodeSystem?{query}")).await;
        let ids: Vec<&str> = found["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["TRE-G15-ProfessionSante"], "{query}");
    }
    let none = get_json(&app, "/fhir/CodeSystem?url=http://example.org/none").await;
    assert_eq!(none["total"], 0);

    let (status, body) = get(&app, "/fhir/CodeSystem/TRE-R999-Nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("OperationOutcome"), "{body}");
    // In XML like every answer.
    let (status, body) = get(&app, "/fhir/CodeSystem/TRE-G15-ProfessionSante?_format=xml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<CodeSystem xmlns=\"http://hl7.org/fhir\">"),
        "{body}"
    );
    assert!(body.contains("<content value=\"fragment\"/>"), "{body}");
}

#[tokio::test]
async fn parameters_code_systems_cannot_honour_are_refused_and_unknown_ones_follow_prefer() {
    let app = spawn_app();
    for query in [
        "_count=1",
        "_sort=name",
        "_summary=count",
        "url:below=https://mos",
        "name:contains=G15",
    ] {
        let (status, body) = get(&app, &format!("/fhir/CodeSystem?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body.contains("OperationOutcome"), "{body}");
    }
    let lenient = get_json(&app, "/fhir/CodeSystem?colour=blue").await;
    let entries = lenient["entry"].as_array().unwrap();
    let outcome = entries.last().unwrap();
    assert_eq!(outcome["search"]["mode"], "outcome");
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let strict = client()
        .get(app.url("/fhir/CodeSystem?colour=blue"))
        .header("Prefer", "handling=strict")
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn lookup_answers_by_get_post_and_instance_and_refuses_what_it_cannot() {
    let app = spawn_app();
    let lookup = get_json(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={G15}&code=10"),
    )
    .await;
    assert_eq!(lookup["resourceType"], "Parameters");
    assert_eq!(parameter(&lookup, "name"), "TRE_G15-ProfessionSante");
    assert_eq!(parameter(&lookup, "display"), "Médecin");

    let instance = get_json(
        &app,
        "/fhir/CodeSystem/TRE-G15-ProfessionSante/$lookup?code=10",
    )
    .await;
    assert_eq!(instance, lookup);

    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": G15, "code": "10"}}
    ]});
    for path in [
        "/fhir/CodeSystem/$lookup",
        "/fhir/CodeSystem/TRE-G15-ProfessionSante/$lookup",
    ] {
        let response = client()
            .post(app.url(path))
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let posted: Value = response.json().await.unwrap();
        assert_eq!(posted, lookup, "{path}");
    }
    let by_code = json!({"resourceType": "Parameters", "parameter": [
        {"name": "system", "valueUri": G15}, {"name": "code", "valueCode": "10"}
    ]});
    let response = client()
        .post(app.url("/fhir/CodeSystem/$lookup"))
        .header("Content-Type", "application/fhir+json")
        .body(by_code.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // XML like every answer.
    let (status, xml) = get(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system={G15}&code=10&_format=xml"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        xml.contains("<Parameters xmlns=\"http://hl7.org/fhir\">"),
        "{xml}"
    );
    assert!(xml.contains("Médecin"), "{xml}");

    // Unknown code or system: 404; a request missing what it needs or asking what this server
    // cannot honour: 400. Each an OperationOutcome.
    for (path, expected) in [
        (
            format!("/fhir/CodeSystem/$lookup?system={G15}&code=nope"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/fhir/CodeSystem/$lookup?system=http://example.org/x&code=10".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/fhir/CodeSystem/TRE-R999-Nothing/$lookup?code=10".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/fhir/CodeSystem/$lookup?code=10".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/fhir/CodeSystem/$lookup?system={G15}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/fhir/CodeSystem/$lookup?system={G15}&code=10&version=2024"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/fhir/CodeSystem/$lookup?system={G15}&code=10&date=2024"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/fhir/CodeSystem/TRE-R22-GenreActivite/$lookup?system={G15}&code=10"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = get(&app, &path).await;
        assert_eq!(status, expected, "{path}: {body}");
        let outcome: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{path}");
    }
    let response = client()
        .post(app.url("/fhir/CodeSystem/$lookup"))
        .header("Content-Type", "application/fhir+xml")
        .body("<Parameters xmlns=\"http://hl7.org/fhir\"/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_capability_statement_declares_code_system_and_lookup() {
    let app = spawn_app();
    let statement = get_json(&app, "/fhir/metadata").await;
    let code_system = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "CodeSystem")
        .expect("CodeSystem declared");
    let interactions: Vec<&str> = code_system["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(interactions, ["read", "search-type"]);
    let params: Vec<&str> = code_system["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["_id", "url", "system", "name", "title", "code"]);
    assert_eq!(code_system["operation"][0]["name"], "lookup");
    assert_eq!(
        code_system["operation"][0]["definition"],
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"
    );
}
