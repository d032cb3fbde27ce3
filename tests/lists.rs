//! Lists of correspondents (`List`): create, read, update with `If-Match` (428, 412), vread,
//! history, delete (410), search by each parameter, `_list` on the served types with the other
//! parameters, includes, paging and sorting, the flags an import puts on members it
//! deactivated or deleted, and an import that never touches `data/local`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use annuaire::clock::Clock;
use annuaire::generation::reconcile::Retention;
use annuaire::import::{self, ImportOptions, Safety};
use annuaire::local::{LocalStore, LocalType};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A server of its own over a copy of the demo data (its local store starts empty).
fn server(prefix: &str) -> (tempfile::TempDir, common::Served) {
    let dir = common::demo_copy(prefix);
    let served = common::spawn_server(common::settings_for(&dir.path().join("data")), None);
    (dir, served)
}

async fn get(url: &str) -> (StatusCode, Value) {
    let response = common::client().get(url).send().await.unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn ids_of(served: &common::Served, rtype: &str, count: usize) -> Vec<String> {
    let (_, bundle) = get(&served.url(&format!("/fhir/{rtype}?_count={count}&_sort=_id"))).await;
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn list_of(title: &str, members: &[String]) -> Value {
    json!({
        "resourceType": "List",
        "status": "current",
        "mode": "working",
        "title": title,
        "code": {"coding": [{"system": "urn:example:lists", "code": "correspondents"}]},
        "subject": {"reference": "Organization/hospital-1"},
        "entry": members.iter().map(|m| json!({"item": {"reference": m}})).collect::<Vec<_>>(),
    })
}

async fn post_list(served: &common::Served, list: &Value) -> (String, reqwest::Response) {
    let response = common::client()
        .post(served.url("/fhir/List"))
        .header("content-type", "application/fhir+json")
        .json(list)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let id = location
        .split("/List/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    (id, response)
}

#[actix_web::test]
async fn a_list_is_created_updated_with_if_match_read_by_version_and_deleted() {
    let (_dir, served) = server("annuaire-lists-crud-");
    let client = common::client();
    let practitioners = ids_of(&served, "Practitioner", 2).await;
    let first = format!("Practitioner/{}", practitioners[0]);
    let (id, response) = post_list(&served, &list_of("Mes correspondants", &[first.clone()])).await;
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    assert!(response.headers().contains_key("last-modified"));
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["id"], id.as_str());
    assert_eq!(created["meta"]["versionId"], "1");

    let url = served.url(&format!("/fhir/List/{id}"));
    let (status, read) = get(&url).await;
    assert_eq!(
        (status, &read["title"]),
        (StatusCode::OK, &json!("Mes correspondants"))
    );

    let mut changed = read.clone();
    changed["title"] = json!("Renamed");
    let put = |if_match: Option<&'static str>, body: Value| {
        let mut request = client
            .put(&url)
            .header("content-type", "application/fhir+json")
            .json(&body);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        request.send()
    };
    let without = put(None, changed.clone()).await.unwrap();
    assert_eq!(without.status(), StatusCode::PRECONDITION_REQUIRED);
    let outcome: Value = without.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(
        put(Some("W/\"7\""), changed.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::PRECONDITION_FAILED
    );
    let updated = put(Some("W/\"1\""), changed.clone()).await.unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.headers()["etag"], "W/\"2\"");
    // The same ETag again is stale now.
    assert_eq!(
        put(Some("W/\"1\""), changed.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::PRECONDITION_FAILED
    );

    let (status, v1) = get(&served.url(&format!("/fhir/List/{id}/_history/1"))).await;
    assert_eq!(
        (status, &v1["title"]),
        (StatusCode::OK, &json!("Mes correspondants"))
    );
    let (status, _) = get(&served.url(&format!("/fhir/List/{id}/_history/9"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, history) = get(&served.url(&format!("/fhir/List/{id}/_history"))).await;
    assert_eq!(history["type"], "history");
    let versions: Vec<&str> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2", "1"]);

    let minimal = client
        .delete(&url)
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(minimal.status(), StatusCode::PRECONDITION_FAILED);
    let deleted = client.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, gone) = get(&url).await;
    assert_eq!(status, StatusCode::GONE, "{gone}");
    assert_eq!(
        client.delete(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, history) = get(&served.url(&format!("/fhir/List/{id}/_history"))).await;
    assert_eq!(history["entry"][0]["request"]["method"], "DELETE");
    assert!(history["entry"][0].get("resource").is_none());

    // A write after the deletion continues the numbering.
    let mut again = changed.clone();
    again.as_object_mut().unwrap().remove("meta");
    let recreated = put(None, again).await.unwrap();
    assert_eq!(recreated.status(), StatusCode::CREATED);
    assert_eq!(recreated.headers()["etag"], "W/\"4\"");

    // A client-chosen id, and `Prefer: return=minimal`.
    let mine = client
        .put(served.url("/fhir/List/ma-liste"))
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=minimal")
        .json(&list_of("Mine", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), StatusCode::CREATED);
    assert!(mine.bytes().await.unwrap().is_empty());
}

#[actix_web::test]
async fn lists_that_are_not_acceptable_are_refused_saying_why() {
    let (_dir, served) = server("annuaire-lists-refused-");
    let client = common::client();
    let cases = [
        (json!({"resourceType": "List", "mode": "working"}), "status"),
        (
            json!({"resourceType": "List", "status": "current", "mode": "sometimes"}),
            "mode",
        ),
        (list_of("x", &["Patient/1".into()]), "Patient"),
        (
            list_of("x", &["Practitioner/no way".into()]),
            "not a valid resource id",
        ),
        (
            list_of("x", &["https://elsewhere.example/Practitioner/1".into()]),
            "Type/id",
        ),
        (
            json!({"resourceType": "List", "status": "current", "mode": "working", "contained": [{"resourceType": "Practitioner"}]}),
            "contained",
        ),
        (
            json!({"resourceType": "Group", "status": "current", "mode": "working"}),
            "Group",
        ),
    ];
    for (body, said) in cases {
        let response = client
            .post(served.url("/fhir/List"))
            .header("content-type", "application/fhir+json")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let outcome: Value = response.json().await.unwrap();
        let text = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(text.contains(said), "{text} does not name {said}");
    }
    let not_json = client
        .post(served.url("/fhir/List"))
        .header("content-type", "application/fhir+json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn lists_are_searched_by_each_parameter() {
    let (_dir, served) = server("annuaire-lists-search-");
    let practitioners = ids_of(&served, "Practitioner", 3).await;
    let member = |n: usize| format!("Practitioner/{}", practitioners[n]);
    let (a, _) = post_list(
        &served,
        &list_of("Cardiologues de ville", &[member(0), member(1)]),
    )
    .await;
    let mut other = list_of("Pédiatres", &[member(2)]);
    other["code"] = json!({"coding": [{"system": "urn:example:lists", "code": "other"}]});
    other["subject"] = json!({"reference": "Organization/hospital-2"});
    let (b, _) = post_list(&served, &other).await;
    let found = |query: &str| {
        let url = served.url(&format!("/fhir/List?{query}"));
        let query = query.to_owned();
        async move {
            let (status, bundle) = get(&url).await;
            assert_eq!(status, StatusCode::OK, "{query}: {bundle}");
            assert_eq!(bundle["type"], "searchset");
            let mut ids: Vec<String> = bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(found("title=cardio").await, [a.clone()]);
    assert_eq!(found("title=pediatre").await, [b.clone()], "accents folded");
    assert_eq!(found("code=correspondents").await, [a.clone()]);
    assert_eq!(found("code=urn:example:lists|other").await, [b.clone()]);
    assert_eq!(found("subject=Organization/hospital-2").await, [b.clone()]);
    assert_eq!(found(&format!("item={}", member(1))).await, [a.clone()]);
    assert_eq!(
        found(&format!("item={},{}", member(1), member(2))).await,
        sorted(vec![a.clone(), b.clone()])
    );
    assert_eq!(found(&format!("_id={b}")).await, [b.clone()]);
    assert_eq!(found("_lastUpdated=gt2000-01-01").await.len(), 2);
    assert!(found("_lastUpdated=lt2000-01-01").await.is_empty());
    assert!(found("member-status=deleted").await.is_empty());

    // Newest first unless asked otherwise; _count caps the page, total counts them all.
    let (_, bundle) = get(&served.url("/fhir/List?_count=1")).await;
    assert_eq!(bundle["total"], 2);
    assert_eq!(bundle["entry"][0]["resource"]["id"], b.as_str());
    let (_, bundle) = get(&served.url("/fhir/List?_sort=_lastUpdated")).await;
    assert_eq!(bundle["entry"][0]["resource"]["id"], a.as_str());
    let (_, bundle) = get(&served.url("/fhir/List?_sort=title")).await;
    assert_eq!(bundle["entry"][0]["resource"]["id"], a.as_str());

    // POST _search takes the same parameters.
    let posted: Value = common::client()
        .post(served.url("/fhir/List/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=cardio")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["total"], 1);

    // An unknown parameter: ignored and said when lenient, refused when strict.
    let (status, bundle) = get(&served.url("/fhir/List?colour=blue")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 2);
    assert!(bundle.to_string().contains("colour"));
    let strict = common::client()
        .get(served.url("/fhir/List?colour=blue"))
        .header("prefer", "handling=strict")
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), StatusCode::BAD_REQUEST);
    let (status, _) = get(&served.url("/fhir/List?_lastUpdated=yesterday")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn list_limits_a_search_with_the_other_parameters_includes_paging_and_sorting() {
    let (_dir, served) = server("annuaire-lists-list-");
    let roles = ids_of(&served, "PractitionerRole", 5).await;
    let members: Vec<String> = roles
        .iter()
        .map(|r| format!("PractitionerRole/{r}"))
        .collect();
    let (list, _) = post_list(&served, &list_of("Roles", &members)).await;
    let search = |query: String| {
        let url = served.url(&format!("/fhir/{query}"));
        async move { get(&url).await }
    };
    let (status, bundle) = search(format!("PractitionerRole?_list={list}&_count=2")).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["total"], 5);
    let next = common::link(&bundle, "next")
        .expect("a next page")
        .to_owned();
    assert!(
        next.contains(&format!("_list={list}")) || next.contains("_cursor"),
        "{next}"
    );
    let page2 = get(&next).await.1;
    assert_eq!(page2["entry"].as_array().unwrap().len(), 2);
    let first_page: Vec<&Value> = bundle["entry"].as_array().unwrap().iter().collect();
    assert_ne!(
        first_page[0]["resource"]["id"],
        page2["entry"][0]["resource"]["id"]
    );

    // `List/x` is the same list; sorting and _summary=count work as for _id.
    let (_, sorted) = search(format!("PractitionerRole?_list=List/{list}&_sort=-_id")).await;
    let ids: Vec<&str> = sorted["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = roles.iter().map(String::as_str).collect();
    expected.reverse();
    assert_eq!(ids, expected);
    let (_, counted) = search(format!("PractitionerRole?_list={list}&_summary=count")).await;
    assert_eq!(counted["total"], 5);

    // ANDed with another parameter.
    let (_, one) = search(format!("PractitionerRole?_list={list}&_id={}", roles[3])).await;
    assert_eq!(one["total"], 1);
    let (_, none) = search(format!("PractitionerRole?_list={list}&_id=nobody")).await;
    assert_eq!(none["total"], 0);

    // _include follows the members' references.
    let (_, included) = search(format!(
        "PractitionerRole?_list={list}&_include=PractitionerRole:practitioner"
    ))
    .await;
    let modes: Vec<&str> = included["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["search"]["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes.iter().filter(|m| **m == "match").count(), 5);
    assert!(modes.contains(&"include"));

    // _revinclude: Practitioners of a list, with the roles pointing at them.
    let (_, role) = get(&served.url(&format!("/fhir/PractitionerRole/{}", roles[0]))).await;
    let practitioner = role["practitioner"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let (people, _) = post_list(&served, &list_of("People", &[practitioner.clone()])).await;
    let (_, revincluded) = search(format!(
        "Practitioner?_list={people}&_revinclude=PractitionerRole:practitioner"
    ))
    .await;
    assert_eq!(revincluded["total"], 1);
    assert!(
        revincluded["entry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["search"]["mode"] == "include"
                && e["resource"]["resourceType"] == "PractitionerRole")
    );

    // A list without members of the type: nothing; an unknown list: 404; POST _search too.
    let (status, empty) = search(format!("Organization?_list={list}")).await;
    assert_eq!((status, &empty["total"]), (StatusCode::OK, &json!(0)));
    let (status, outcome) = search("Practitioner?_list=nothing-here".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(outcome.to_string().contains("nothing-here"));
    let posted: Value = common::client()
        .post(served.url("/fhir/PractitionerRole/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_list={list}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["total"], 5);
    let (status, _) = search("Practitioner?_list=a,b".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Day `n`'s import time: noon UTC, `n` days after 2026-11-01.
fn day(n: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-11-01 12:00:00 UTC) + time::Duration::days(n - 1)
}

/// Day 1 with the rows of `retired` persons removed, written under `dir`.
fn without_persons(
    day1: &annuaire_generate::GeneratedFiles,
    dir: &Path,
    retired: &[String],
) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(&day1.rpps).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let national = header
        .split('|')
        .position(|h| h == "Identification nationale PP")
        .unwrap();
    let mut out = vec![header.to_owned()];
    out.extend(
        lines
            .filter(|l| !l.is_empty())
            .filter(|l| {
                !retired
                    .iter()
                    .any(|r| l.split('|').nth(national) == Some(r.as_str()))
            })
            .map(str::to_owned),
    );
    let rpps = dir.join(day1.rpps.file_name().unwrap());
    std::fs::write(&rpps, out.join("\n") + "\n").unwrap();
    let finess = dir.join(day1.finess.file_name().unwrap());
    std::fs::copy(&day1.finess, &finess).unwrap();
    (rpps, finess)
}

fn import_day(rpps: &Path, finess: &Path, data: &Path, n: i64) {
    import::run(&ImportOptions {
        safety: Safety {
            retention: Retention {
                deactivated_days: 1,
                history_days: 30,
            },
            ..Safety::default()
        },
        ..common::import_options_of(rpps, finess, data, Some(day(n)))
    })
    .unwrap_or_else(|e| panic!("import of day {n}: {e}"));
}

fn flags(list: &Value) -> Vec<(String, Option<String>)> {
    list["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["item"]["reference"].as_str().unwrap().to_owned(),
                e["flag"]["coding"][0]["code"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Polls the list until `done` holds of it (the server reflags after it switches).
async fn list_when(url: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, list) = get(url).await;
        if done(&list) {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never flagged: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn an_import_flags_deactivated_and_deleted_members_and_unflags_those_back() {
    let dir = common::scratch_dir("annuaire-lists-flags-");
    let root = dir.path();
    let day1 = common::generate_files(&root.join("day1"), 300, 12);
    let rows = common::read_rpps_rows(&day1.rpps);
    let mut persons: Vec<&common::Row> = Vec::new();
    for row in rows.iter().filter(|r| r.type_id == "8") {
        if !persons.iter().any(|p| p.idnat == row.idnat) {
            persons.push(row);
        }
    }
    let (leaving, coming_back, staying) = (persons[10], persons[20], persons[30]);
    let data = root.join("data");
    import_day(&day1.rpps, &day1.finess, &data, 1);
    let served = common::spawn_server(
        common::settings_for(&data),
        Some(Duration::from_millis(100)),
    );
    let member = |row: &common::Row| format!("Practitioner/{}", row.practitioner_id());
    let never = "Practitioner/pp-never-was".to_owned();
    let (id, _) = post_list(
        &served,
        &list_of(
            "Flags",
            &[
                member(leaving),
                member(coming_back),
                member(staying),
                never.clone(),
            ],
        ),
    )
    .await;
    let url = served.url(&format!("/fhir/List/{id}"));
    // At start-up and after each switch: `unknown` for a member never in the directory.
    let list = list_when(&url, |l| flags(l)[3].1.is_some()).await;
    assert_eq!(
        flags(&list)[..3].iter().filter(|f| f.1.is_some()).count(),
        0
    );

    // Day 2: two persons leave: deactivated.
    let (rpps, finess) = without_persons(
        &day1,
        &root.join("day2"),
        &[leaving.idnat.clone(), coming_back.idnat.clone()],
    );
    import_day(&rpps, &finess, &data, 2);
    let list = list_when(&url, |l| flags(l)[0].1.is_some()).await;
    let codes: Vec<Option<String>> = flags(&list).into_iter().map(|f| f.1).collect();
    assert_eq!(
        codes,
        [
            Some("deactivated".into()),
            Some("deactivated".into()),
            None,
            Some("unknown".into())
        ]
    );
    assert_eq!(
        list["entry"][0]["flag"]["coding"][0]["system"],
        "urn:annuaire:CodeSystem/list-member-status"
    );
    let (_, flagged) = get(&served.url("/fhir/List?member-status=deactivated")).await;
    assert_eq!(flagged["total"], 1);
    let (_, inactive) =
        get(&served.url(&format!("/fhir/Practitioner?_list={id}&active=false"))).await;
    assert_eq!(inactive["total"], 2);
    let version_after_day2 = list["meta"]["versionId"].clone();

    // Day 4: one comes back, the other is past the retention: deleted.
    let (rpps, finess) = without_persons(&day1, &root.join("day4"), &[leaving.idnat.clone()]);
    import_day(&rpps, &finess, &data, 4);
    let list = list_when(&url, |l| flags(l)[1].1.is_none()).await;
    let codes: Vec<Option<String>> = flags(&list).into_iter().map(|f| f.1).collect();
    assert_eq!(
        codes,
        [Some("deleted".into()), None, None, Some("unknown".into())]
    );
    assert_ne!(list["meta"]["versionId"], version_after_day2);
    let (_, deleted) = get(&served.url("/fhir/List?member-status=deleted")).await;
    assert_eq!(deleted["total"], 1);
}

#[test]
fn an_import_never_touches_the_local_store() {
    let dir = common::scratch_dir("annuaire-lists-untouched-");
    let files = common::generate_files(&dir.path().join("files"), 40, 3);
    let data = dir.path().join("data");
    common::import_files(&files, &data, Some(day(1)));
    {
        let store = LocalStore::open(&data.join("local"), Clock::system()).unwrap();
        store
            .create(LocalType::List, list_of("kept", &[]), "anonymous")
            .unwrap();
    }
    let before = files_of(&data.join("local"));
    assert!(!before.is_empty());
    common::import_files(&files, &data, Some(day(2)));
    assert_eq!(files_of(&data.join("local")), before);
}

/// Every file under `dir` with its bytes.
fn files_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_of(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}
