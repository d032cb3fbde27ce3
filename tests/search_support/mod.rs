//! Helpers of the search tests (`tests/search_*.rs`): the context of a test and its central
//! assertion ([`Ctx::expect`]), URL building, searches over real HTTP, the whole demo corpus
//! read once (to compute the expected result set of a search independently of the server's
//! indexes), accessors for the values the search parameters read, and reads from child
//! servers.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::Value;

pub use crate::common::link;
use crate::common::{self, TestApp};

pub const TYPES: [&str; 5] = [
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "HealthcareService",
    "Device",
];
pub const V2_0203: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203";
pub const IDNPS_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.1";
pub const RPPS_SYSTEM: &str = "https://rpps.esante.gouv.fr";
pub const FINESS_SYSTEM: &str = "https://finess.esante.gouv.fr";
pub const DATA_TRACE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-data-trace";
pub const INSEE_EXT: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code";
pub const PHARMACY_EXT: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-pharmacy-licence";
pub const SUBSETTED_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

// ---------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------

/// Percent-encodes a query component: everything but the RFC 3986 unreserved characters.
pub fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `k=v&k=v` with every name and value percent-encoded.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `<address>/fhir/<type>?<query>`.
pub fn search_url(app: &TestApp, rtype: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        app.url(&format!("/fhir/{rtype}"))
    } else {
        app.url(&format!("/fhir/{rtype}?{}", query_string(pairs)))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded query pairs of a URL.
pub fn url_pairs(url: &str) -> Vec<(String, String)> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

pub use crate::common::client;

/// GETs `url`: status and JSON body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    let status = response.status();
    let body = response.bytes().await.expect("body");
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "GET {url} ({status}): body is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, json)
}

/// Checks a searchset Bundle's invariant shape and returns it.
pub fn assert_searchset(bundle: &Value, what: &str) {
    assert_eq!(bundle["resourceType"], "Bundle", "{what}: {bundle}");
    assert_eq!(bundle["type"], "searchset", "{what}");
    assert!(
        bundle["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{what}: a Bundle id"
    );
    assert!(
        bundle["link"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["relation"] == "self")),
        "{what}: a self link: {}",
        bundle["link"]
    );
}

/// GETs a search URL that must succeed: the searchset Bundle.
pub async fn bundle_at(client: &reqwest::Client, url: &str) -> Value {
    let (status, bundle) = get_json(client, url).await;
    assert_eq!(status, StatusCode::OK, "GET {url}: {bundle}");
    assert_searchset(&bundle, url);
    bundle
}

/// A search that must succeed.
pub async fn search(
    client: &reqwest::Client,
    app: &TestApp,
    rtype: &str,
    pairs: &[(&str, &str)],
) -> Value {
    bundle_at(client, &search_url(app, rtype, pairs)).await
}

/// The status and body of a search, whatever they are.
pub async fn search_raw(
    client: &reqwest::Client,
    app: &TestApp,
    rtype: &str,
    pairs: &[(&str, &str)],
    prefer_strict: bool,
) -> (StatusCode, Value) {
    let url = search_url(app, rtype, pairs);
    let mut request = client.get(&url);
    if prefer_strict {
        request = request.header("Prefer", "handling=strict");
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    let status = response.status();
    let body = response.bytes().await.expect("body");
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json)
}

pub fn entries(bundle: &Value) -> &[Value] {
    bundle["entry"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Resources of the entries with `search.mode` = `mode`.
pub fn resources_with_mode<'a>(bundle: &'a Value, mode: &str) -> Vec<&'a Value> {
    entries(bundle)
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| &e["resource"])
        .collect()
}

/// Ids of the `match` entries, in order.
pub fn match_ids(bundle: &Value) -> Vec<String> {
    resources_with_mode(bundle, "match")
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Every matching resource of a search: `_count=1000`, following `next` to the end. Checks
/// every page reports the same total and no resource comes twice.
pub async fn all_matches(
    client: &reqwest::Client,
    app: &TestApp,
    rtype: &str,
    pairs: &[(&str, &str)],
) -> Vec<Value> {
    let mut pairs = pairs.to_vec();
    pairs.push(("_count", "1000"));
    let first = search(client, app, rtype, &pairs).await;
    let total = first["total"].as_u64();
    let mut out: Vec<Value> = Vec::new();
    let mut bundle = first;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 50, "{rtype}?{pairs:?}: too many pages");
        assert_eq!(
            bundle["total"].as_u64(),
            total,
            "total changes between pages"
        );
        out.extend(resources_with_mode(&bundle, "match").into_iter().cloned());
        match link(&bundle, "next") {
            Some(next) => bundle = bundle_at(client, next).await,
            None => break,
        }
    }
    if let Some(total) = total {
        assert_eq!(
            out.len() as u64,
            total,
            "{rtype}?{pairs:?}: total vs entries"
        );
    }
    let unique: BTreeSet<&str> = out.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), out.len(), "{rtype}?{pairs:?}: duplicates");
    for r in &out {
        assert_eq!(r["resourceType"], rtype, "{rtype}?{pairs:?}");
    }
    out
}

/// `_summary=count` total of a search.
pub async fn count(
    client: &reqwest::Client,
    app: &TestApp,
    rtype: &str,
    pairs: &[(&str, &str)],
) -> u64 {
    let mut pairs = pairs.to_vec();
    pairs.push(("_summary", "count"));
    let bundle = search(client, app, rtype, &pairs).await;
    assert!(
        entries(&bundle).is_empty(),
        "_summary=count has no entries: {bundle}"
    );
    bundle["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("_summary=count gives a total: {bundle}"))
}

// ---------------------------------------------------------------------------------------------
// The corpus: every resource the demo server holds
// ---------------------------------------------------------------------------------------------

pub struct Corpus {
    pub by_type: BTreeMap<&'static str, Vec<Value>>,
}

impl Corpus {
    pub fn of(&self, rtype: &str) -> &[Value] {
        &self.by_type[rtype]
    }

    pub fn get(&self, rtype: &str, id: &str) -> &Value {
        self.of(rtype)
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{rtype}/{id} is not in the corpus"))
    }

    /// Ids of the resources of `rtype` satisfying `pred`.
    pub fn ids(&self, rtype: &str, pred: impl Fn(&Value) -> bool) -> BTreeSet<String> {
        self.of(rtype)
            .iter()
            .filter(|r| pred(r))
            .map(|r| id(r).to_owned())
            .collect()
    }

    pub fn all_ids(&self, rtype: &str) -> BTreeSet<String> {
        self.ids(rtype, |_| true)
    }
}

pub fn socket(app: &TestApp) -> SocketAddr {
    app.address
        .strip_prefix("http://")
        .expect("http address")
        .parse()
        .expect("a socket address")
}

/// Reads every resource of the demo server once (blocking HTTP, unfiltered paging with
/// `_count=1000`).
pub fn corpus(app: &TestApp) -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    let address = socket(app);
    let prefix = app.address.clone();
    CORPUS.get_or_init(|| {
        let mut by_type = BTreeMap::new();
        for rtype in TYPES {
            let mut path = format!("/fhir/{rtype}?_count=1000");
            let mut resources: Vec<Value> = Vec::new();
            loop {
                let (status, body) =
                    common::http_get(address, &path).unwrap_or_else(|| panic!("GET {path}"));
                assert_eq!(status, 200, "GET {path}");
                let bundle: Value = serde_json::from_slice(&body).expect("a JSON bundle");
                resources.extend(resources_with_mode(&bundle, "match").into_iter().cloned());
                match link(&bundle, "next") {
                    Some(next) => {
                        path = next
                            .strip_prefix(prefix.as_str())
                            .unwrap_or_else(|| panic!("next link {next} on {prefix}"))
                            .to_owned()
                    }
                    None => {
                        assert_eq!(bundle["total"].as_u64(), Some(resources.len() as u64));
                        break;
                    }
                }
            }
            let ids: BTreeSet<&str> = resources.iter().map(id).collect();
            assert_eq!(ids.len(), resources.len(), "{rtype}: ids are unique");
            by_type.insert(rtype, resources);
        }
        Corpus { by_type }
    })
}

// ---------------------------------------------------------------------------------------------
// Values the search parameters read, computed from the JSON (independently of the server)
// ---------------------------------------------------------------------------------------------

/// Case- and accent-insensitive form of a string (what FHIR string search compares): the
/// server's own folding, so that the tests and the server can never disagree on it (its rules
/// are unit-tested where it is defined).
pub use annuaire::search::fold::fold;

pub fn id(resource: &Value) -> &str {
    resource["id"].as_str().expect("a resource id")
}

/// A string or the strings of an array.
pub fn strs(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn array(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub fn families(p: &Value) -> Vec<String> {
    array(&p["name"])
        .iter()
        .flat_map(|n| strs(&n["family"]))
        .collect()
}

pub fn givens(p: &Value) -> Vec<String> {
    array(&p["name"])
        .iter()
        .flat_map(|n| strs(&n["given"]))
        .collect()
}

/// Every part of every HumanName: text, family, given, prefix, suffix.
pub fn name_parts(p: &Value) -> Vec<String> {
    array(&p["name"])
        .iter()
        .flat_map(|n| {
            ["text", "family", "given", "prefix", "suffix"]
                .iter()
                .flat_map(|k| strs(&n[*k]))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Organization.name and Organization.alias.
pub fn org_names(o: &Value) -> Vec<String> {
    let mut out = strs(&o["name"]);
    out.extend(strs(&o["alias"]));
    out
}

/// Every string part of every Address: text, line, city, district, state, postalCode, country.
pub fn address_parts(o: &Value) -> Vec<String> {
    array(&o["address"])
        .iter()
        .flat_map(|a| {
            [
                "text",
                "line",
                "city",
                "district",
                "state",
                "postalCode",
                "country",
            ]
            .iter()
            .flat_map(|k| strs(&a[*k]))
            .collect::<Vec<_>>()
        })
        .collect()
}

pub fn address_field(o: &Value, field: &str) -> Vec<String> {
    array(&o["address"])
        .iter()
        .flat_map(|a| strs(&a[field]))
        .collect()
}

pub fn insee_codes(o: &Value) -> Vec<String> {
    array(&o["address"])
        .iter()
        .flat_map(|a| array(&a["extension"]).iter())
        .filter(|e| e["url"] == INSEE_EXT)
        .filter_map(|e| {
            e["valueCoding"]["code"]
                .as_str()
                .or(e["valueString"].as_str())
                .or(e["valueCode"].as_str())
        })
        .map(str::to_owned)
        .collect()
}

const EMAIL_TYPE: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type";
const MAILBOX_METADATA: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata";

/// The contact points that are MSSanté mailboxes: e-mails typed MSSANTE.
fn mailbox_points(r: &Value) -> Vec<&Value> {
    array(&r["telecom"])
        .iter()
        .filter(|t| {
            t["system"] == "email"
                && array(&t["extension"])
                    .iter()
                    .any(|e| e["url"] == EMAIL_TYPE && e["valueCoding"]["code"] == "MSSANTE")
        })
        .collect()
}

/// MSSanté mailbox addresses (the `mailbox-mss` parameter).
pub fn mailboxes(r: &Value) -> Vec<String> {
    mailbox_points(r)
        .into_iter()
        .flat_map(|t| strs(&t["value"]))
        .collect()
}

/// Plain e-mail addresses (not mailboxes).
pub fn plain_emails(r: &Value) -> Vec<String> {
    let boxes = mailboxes(r);
    array(&r["telecom"])
        .iter()
        .filter(|t| t["system"] == "email")
        .flat_map(|t| strs(&t["value"]))
        .filter(|v| !boxes.contains(v))
        .collect()
}

/// The mailbox types (TRE_R257) of a resource's mailboxes (the `mailbox-mss-type` parameter).
pub fn mailbox_types(r: &Value) -> Vec<Code> {
    array(&r["telecom"])
        .iter()
        .flat_map(|t| array(&t["extension"]).iter())
        .filter(|e| e["url"] == MAILBOX_METADATA)
        .flat_map(|e| array(&e["extension"]).iter())
        .filter(|e| e["url"] == "type")
        .flat_map(|e| codings(&e["valueCodeableConcept"]))
        .collect()
}

pub fn pharmacy_licences(o: &Value) -> Vec<String> {
    array(&o["extension"])
        .iter()
        .filter(|e| e["url"] == PHARMACY_EXT)
        .map(|e| e.to_string())
        .collect()
}

/// One Identifier.
#[derive(Debug, Clone)]
pub struct Ident {
    pub system: Option<String>,
    pub value: String,
    /// `(system, code)` of its type codings.
    pub types: Vec<(String, String)>,
}

pub fn identifiers(r: &Value) -> Vec<Ident> {
    array(&r["identifier"])
        .iter()
        .filter_map(|i| {
            Some(Ident {
                system: i["system"].as_str().map(str::to_owned),
                value: i["value"].as_str()?.to_owned(),
                types: array(&i["type"]["coding"])
                    .iter()
                    .filter_map(|c| {
                        Some((
                            c["system"].as_str()?.to_owned(),
                            c["code"].as_str()?.to_owned(),
                        ))
                    })
                    .collect(),
            })
        })
        .collect()
}

/// `(system, code)` of a Coding.
pub type Code = (Option<String>, String);

/// Codings of a CodeableConcept (or of an array of them).
pub fn codings(value: &Value) -> Vec<Code> {
    match value {
        Value::Array(items) => items.iter().flat_map(codings).collect(),
        Value::Object(map) => array(map.get("coding").unwrap_or(&Value::Null))
            .iter()
            .filter_map(|c| {
                Some((
                    c["system"].as_str().map(str::to_owned),
                    c["code"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn identifier_type_codes(r: &Value) -> Vec<Code> {
    array(&r["identifier"])
        .iter()
        .flat_map(|i| codings(&i["type"]))
        .collect()
}

pub fn qualification_codes(p: &Value) -> Vec<Code> {
    array(&p["qualification"])
        .iter()
        .flat_map(|q| codings(&q["code"]))
        .collect()
}

/// The `value[x]` of the data-trace sub-extension `url`, as tokens.
pub fn trace_tokens(r: &Value, url: &str) -> Vec<Code> {
    array(&r["meta"]["extension"])
        .iter()
        .filter(|e| e["url"] == DATA_TRACE)
        .flat_map(|e| array(&e["extension"]).iter())
        .filter(|e| e["url"] == url)
        .flat_map(|e| {
            if let Some(code) = e["valueCode"].as_str() {
                vec![(None, code.to_owned())]
            } else {
                codings(&e["valueCodeableConcept"])
            }
        })
        .collect()
}

pub fn reference(r: &Value, field: &str) -> Option<String> {
    r[field]["reference"].as_str().map(str::to_owned)
}

/// Whether `codes` hold `code` (any system).
pub fn has_code(codes: &[Code], code: &str) -> bool {
    codes.iter().any(|(_, c)| c == code)
}

/// Whether `codes` hold `system|code`.
pub fn has_system_code(codes: &[Code], system: &str, code: &str) -> bool {
    codes
        .iter()
        .any(|(s, c)| s.as_deref() == Some(system) && c == code)
}

pub fn has_system(codes: &[Code], system: &str) -> bool {
    codes.iter().any(|(s, _)| s.as_deref() == Some(system))
}

/// Whether `codes` hold `code` without a system (`|code`).
pub fn has_systemless(codes: &[Code], code: &str) -> bool {
    codes.iter().any(|(s, c)| s.is_none() && c == code)
}

pub fn ident_codes(r: &Value) -> Vec<Code> {
    identifiers(r)
        .into_iter()
        .map(|i| (i.system, i.value))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Child servers (for paging across a live import)
// ---------------------------------------------------------------------------------------------

/// Blocking GET of a JSON document on a child server.
pub fn child_json(address: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) =
        common::http_get(address, path).unwrap_or_else(|| panic!("GET {path}: no answer"));
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "GET {path} ({status}): not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, json)
}

/// Blocking GET of a search page on a child server (absolute links are made relative).
pub fn child_page(address: SocketAddr, url_or_path: &str) -> Value {
    let path = match url_or_path.strip_prefix(&format!("http://{address}")) {
        Some(path) => path.to_owned(),
        None => url_or_path.to_owned(),
    };
    let (status, bundle) = child_json(address, &path);
    assert_eq!(status, 200, "GET {path}: {bundle}");
    assert_searchset(&bundle, &path);
    bundle
}

// ---------------------------------------------------------------------------------------------
// The context of a search test and its central assertion
// ---------------------------------------------------------------------------------------------

/// What conformance/ declares: every search parameter, its base types and modifiers.
pub const PARAMETERS_JSON: &str = include_str!("../../conformance/search-parameters.json");

/// What a search test works with: the shared server, a client, and the corpus it serves.
pub struct Ctx {
    pub app: TestApp,
    pub client: reqwest::Client,
    pub corpus: &'static Corpus,
}

/// The context of a search test (the shared server is started, and the corpus read, once).
pub fn ctx() -> Ctx {
    let app = common::spawn_app();
    let corpus = corpus(&app);
    Ctx {
        app,
        client: client(),
        corpus,
    }
}

/// The set of `items`.
pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Up to five elements of `a` not in `b`, for messages.
pub fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).take(5).cloned().collect()
}

impl Ctx {
    /// Searches `rtype` with `pairs` (all pages) and checks: every returned resource satisfies
    /// `pred` (its JSON really has the searched value), the result set is exactly the corpus
    /// filtered by `pred`, and it holds each of `must` (concrete ids taken from the data).
    pub async fn expect(
        &self,
        rtype: &str,
        pairs: &[(&str, &str)],
        pred: impl Fn(&Value) -> bool,
        must: &[&str],
    ) -> BTreeSet<String> {
        let label = format!("{rtype}?{}", query_string(pairs));
        let got = all_matches(&self.client, &self.app, rtype, pairs).await;
        for resource in &got {
            assert!(
                pred(resource),
                "{label}: returned {} which does not have the searched value: {resource}",
                id(resource)
            );
        }
        let got: BTreeSet<String> = got.iter().map(|r| id(r).to_owned()).collect();
        let want = self.corpus.ids(rtype, &pred);
        for m in must {
            assert!(
                want.contains(*m),
                "test setup: {rtype}/{m} should satisfy the expectation of {label}"
            );
            assert!(got.contains(*m), "{label}: {rtype}/{m} is missing");
        }
        assert_eq!(
            got,
            want,
            "{label}: {} results, {} expected; missing {:?}, unexpected {:?}",
            got.len(),
            want.len(),
            diff(&want, &got),
            diff(&got, &want)
        );
        got
    }

    /// A search that must match nothing: total 0, no entry.
    pub async fn expect_none(&self, rtype: &str, pairs: &[(&str, &str)]) {
        let bundle = search(&self.client, &self.app, rtype, pairs).await;
        assert_eq!(
            bundle["total"],
            0,
            "{rtype}?{}: {bundle}",
            query_string(pairs)
        );
        assert!(entries(&bundle).is_empty(), "{bundle}");
    }

    /// A search that must match every resource of the type.
    pub async fn expect_all(&self, rtype: &str, pairs: &[(&str, &str)]) {
        let n = self.corpus.of(rtype).len() as u64;
        assert!(n > 0);
        assert_eq!(
            count(&self.client, &self.app, rtype, pairs).await,
            n,
            "{rtype}?{} should match all {n}",
            query_string(pairs)
        );
    }

    pub fn base(&self) -> String {
        format!("{}/fhir", self.app.address)
    }
}

/// The characters `from..to` of `text`.
pub fn chars(text: &str, from: usize, to: usize) -> String {
    text.chars().skip(from).take(to - from).collect()
}

/// Whether a value starts with `prefix`, folded (FHIR string search).
pub fn starts(values: &[String], prefix: &str) -> bool {
    let prefix = fold(prefix);
    values.iter().any(|v| fold(v).starts_with(&prefix))
}

/// Whether a value contains `needle`, folded (`:contains`).
pub fn contains(values: &[String], needle: &str) -> bool {
    let needle = fold(needle);
    values.iter().any(|v| fold(v).contains(&needle))
}

/// The modifiers `conformance/search-parameters.json` declares for `rtype.code`.
pub fn declared_modifiers(rtype: &str, code: &str) -> Vec<String> {
    let declarations: Vec<Value> = serde_json::from_str(PARAMETERS_JSON).unwrap();
    declarations
        .iter()
        .find(|d| d["code"] == code && strs(&d["base"]).iter().any(|b| b == rtype))
        .map(|d| strs(&d["modifiers"]))
        .unwrap_or_else(|| panic!("{rtype}.{code} is not declared"))
}

/// The reference `field` of `r` (`Type/id`), if any.
pub fn reference_of(r: &Value, field: &str) -> Option<String> {
    reference(r, field)
}

/// A role at a FINESS establishment that belongs to a legal entity.
pub fn role_at_establishment(c: &Ctx) -> (&'static Value, &'static Value, String) {
    let corpus = c.corpus;
    for role in corpus.of("PractitionerRole") {
        let Some(org_ref) = reference(role, "organization") else {
            continue;
        };
        let org_id = org_ref.strip_prefix("Organization/").unwrap();
        let org = corpus.get("Organization", org_id);
        if let Some(parent) = reference(org, "partOf") {
            return (
                role,
                org,
                parent.strip_prefix("Organization/").unwrap().to_owned(),
            );
        }
    }
    panic!("no role at an establishment with a legal entity");
}

/// The diagnostics of every issue of an OperationOutcome, joined.
pub fn diagnostics(outcome: &Value) -> String {
    outcome["issue"]
        .as_array()
        .map(|issues| {
            issues
                .iter()
                .filter_map(|i| i["diagnostics"].as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_default()
}

/// The codes of a PractitionerRole's `code` (fonction, mode and genre of activity).
pub fn role_codes(r: &Value) -> Vec<Code> {
    codings(&r["code"])
}

/// Runs `check` on every row of a table at once, each on a task of the test's runtime (their
/// requests interleave instead of waiting for each other), and fails naming the first row
/// (by `label`) whose check failed.
pub async fn check_rows<R, Fut>(rows: Vec<R>, label: fn(&R) -> String, check: fn(R) -> Fut)
where
    R: Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    assert!(!rows.is_empty(), "an empty table checks nothing");
    let tasks: Vec<(String, tokio::task::JoinHandle<()>)> = rows
        .into_iter()
        .map(|row| (label(&row), tokio::spawn(check(row))))
        .collect();
    for (label, task) in tasks {
        if let Err(error) = task.await {
            let payload = error.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("row {label} failed: {message}");
        }
    }
}
