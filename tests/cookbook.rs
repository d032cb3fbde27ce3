//! The README's client cookbook, run as written: every `GET` line of its "Client cookbook"
//! section is sent, literally, to a server over the demo dataset (`annuaire serve --demo`, the
//! data the README's examples name), and its answer is checked against what the request asks:
//! the identifiers, names and `active` it filters on, and the resources its `_include`,
//! `_include:iterate` and `_revinclude` must bring.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use annuaire::search::fold::fold;
use annuaire::settings::Settings;
use reqwest::StatusCode;
use serde_json::Value;

use common::{client, spawn_server};

const README: &str = include_str!("../README.md");

/// The request lines (`/fhir/...`) of the README's "Client cookbook" section.
fn cookbook_requests() -> Vec<&'static str> {
    let section = README
        .split("\n### Client cookbook\n")
        .nth(1)
        .expect("the README has a `### Client cookbook` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("    GET "))
        .map(str::trim)
        .collect()
}

/// The query pairs of a request line, decoded as the server decodes them.
fn pairs(request: &str) -> Vec<(String, String)> {
    let query = request.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A searchset's resources with `search.mode` = `mode`.
fn with_mode<'a>(bundle: &'a Value, mode: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| &e["resource"])
        .collect()
}

fn has_identifier(resource: &Value, token: &str) -> bool {
    let (system, value) = token.split_once('|').expect("system|value");
    resource["identifier"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|i| i["system"] == system && i["value"] == value)
    })
}

/// `Type/id` of a resource.
fn local_reference(resource: &Value) -> String {
    format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap(),
        resource["id"].as_str().unwrap()
    )
}

/// Whether one of a practitioner's names has a part of `part` (`given` or `family`) starting
/// with `prefix`, folded as the server folds.
fn name_starts(practitioner: &Value, part: &str, prefix: &str) -> bool {
    let prefix = fold(prefix);
    let parts = practitioner["name"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|n| match &n[part] {
            Value::Array(given) => given.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
            value => value.as_str().into_iter().collect(),
        });
    parts.into_iter().any(|p| fold(p).starts_with(&prefix))
}

/// What the request asks, checked on its answer; `read` fetches a resource by `Type/id`.
async fn check(request: &str, bundle: &Value, read: impl AsyncFn(&str) -> Value) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{request}: {what}"));
    let matches = with_mode(bundle, "match");
    let included = with_mode(bundle, "include");
    let included_refs: BTreeSet<String> = included.iter().map(|r| local_reference(r)).collect();
    if matches.is_empty() {
        fail("no match".into());
    }
    if !with_mode(bundle, "outcome").is_empty() {
        fail(format!("a warning: {bundle}"));
    }
    for (name, value) in pairs(request) {
        match name.as_str() {
            "identifier" => {
                for m in &matches {
                    if !has_identifier(m, &value) {
                        fail(format!("{} lacks {value}", m["id"]));
                    }
                }
            }
            "active" => {
                for m in &matches {
                    if m["active"].as_bool() != Some(value == "true") {
                        fail(format!("{} is not active={value}", m["id"]));
                    }
                }
            }
            "given" | "family" => {
                for m in &matches {
                    if !name_starts(m, &name, &value) {
                        fail(format!("{} has no {name} starting with {value}", m["id"]));
                    }
                }
            }
            chain if chain.ends_with(".identifier") => {
                let reference = chain.trim_end_matches(".identifier");
                for m in &matches {
                    let target = m[reference]["reference"].as_str().unwrap_or_default();
                    if !has_identifier(&read(target).await, &value) {
                        fail(format!("{}'s {reference} {target} lacks {value}", m["id"]));
                    }
                }
            }
            "_include" => {
                let (_, reference) = value.split_once(':').expect("Type:parameter");
                for m in &matches {
                    let target = m[reference]["reference"].as_str().unwrap_or_default();
                    if !included_refs.contains(target) {
                        fail(format!(
                            "{}'s {reference} {target} is not included",
                            m["id"]
                        ));
                    }
                }
            }
            "_include:iterate" => {
                let (source, reference) = value.split_once(':').expect("Type:parameter");
                let sources = included.iter().filter(|r| r["resourceType"] == source);
                for s in sources {
                    let target = s[reference]["reference"].as_str().unwrap_or_default();
                    if !included_refs.contains(target) {
                        fail(format!(
                            "{}'s {reference} {target} is not included",
                            s["id"]
                        ));
                    }
                }
            }
            "_revinclude" => {
                let (source, reference) = value.split_once(':').expect("Type:parameter");
                let pointing: BTreeMap<String, usize> = matches
                    .iter()
                    .map(|m| {
                        let target = local_reference(m);
                        let count = included
                            .iter()
                            .filter(|r| r["resourceType"] == source)
                            .filter(|r| r[reference]["reference"] == target.as_str())
                            .count();
                        (target, count)
                    })
                    .collect();
                if pointing.values().all(|count| *count == 0) {
                    fail(format!("no {source} pointing at a match: {pointing:?}"));
                }
            }
            other => fail(format!("the test does not know how to check `{other}`")),
        }
    }
    failures
}

#[tokio::test]
async fn every_cookbook_request_answers_what_it_says() {
    let requests = cookbook_requests();
    assert!(
        requests.len() >= 7,
        "the cookbook lost requests: {requests:?}"
    );
    let served = spawn_server(
        Settings {
            demo: true,
            listen: Some("127.0.0.1:0".into()),
            ..Settings::default()
        },
        None,
    );
    let client = client();
    let read = async |reference: &str| -> Value {
        let url = served.url(&format!("/fhir/{reference}"));
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        response.json().await.unwrap()
    };
    let mut failures = Vec::new();
    for request in requests {
        // Literally: the line as the README writes it, on the server's address.
        let url = served.url(request);
        let response = client.get(&url).send().await.unwrap();
        let status = response.status();
        let bundle: Value = response.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK || bundle["type"] != "searchset" {
            failures.push(format!("{request}: {status} {bundle}"));
            continue;
        }
        failures.extend(check(request, &bundle, &read).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
