//! Departures that can be found and named: a deactivated version keeps its Practitioner's
//! `name` and its PractitionerRole's `practitioner` and `organization` (reconcile.rs
//! `deactivated_body`), is indexed from that body, and searches, chains, `_include`,
//! `_revinclude` and `_has` reach it as they reach an active one (filter with `active`).
//! Redaction applies to the kept elements as to any other.

use std::collections::BTreeSet;

use super::*;

/// A scenario where `persons[70..72]` retire on day 2; the first of them with activities and
/// one profession is followed.
struct Departure {
    s: Scenario,
    /// Day 1 imported alone: what the departed person was.
    day1: Snapshot,
    practitioner: String,
    rpps: String,
}

fn departure(name: &str) -> Departure {
    let mut s = Scenario::new(name);
    let retired = s.persons[70..72].to_vec();
    let rows = common::read_rpps_rows(&s.day1.rpps);
    let person = retired
        .iter()
        .find(|p| {
            let own: Vec<_> = rows.iter().filter(|r| &r.idnat == *p).collect();
            own.iter().all(|r| r.profession == own[0].profession)
                && own.iter().any(|r| r.has_activity())
        })
        .expect("a retired person with activities and one profession")
        .clone();
    let row = rows.iter().find(|r| r.idnat == person).unwrap();
    let (practitioner, rpps) = (row.practitioner_id(), row.id_pp.clone());
    let day2 = s.day(Edits::default().retiring(&retired));
    let day1 = s.alone("alone1", &s.first_day(), 1);
    s.import(&s.first_day(), 1).import(&day2, 2);
    Departure {
        s,
        day1,
        practitioner,
        rpps,
    }
}

impl Departure {
    /// Day 1's resource of `rtype` with `id`.
    fn before(&self, rtype: ResourceType, id: &str) -> &Value {
        &self.day1[&(rtype, id.to_owned())].0
    }

    /// Day 1's activities of the followed practitioner.
    fn roles_before(&self) -> BTreeSet<String> {
        let reference = format!("Practitioner/{}", self.practitioner);
        self.day1
            .iter()
            .filter(|((t, _), (r, _, _))| {
                *t == ResourceType::PractitionerRole && r["practitioner"]["reference"] == reference
            })
            .map(|((_, id), _)| id.clone())
            .collect()
    }
}

/// `(resourceType/id, search.mode)` of each entry.
fn matched(bundle: &Value) -> BTreeSet<(String, String)> {
    entries(bundle)
        .iter()
        .map(|e| {
            (
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap(),
                    e["resource"]["id"].as_str().unwrap()
                ),
                e["search"]["mode"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn with_mode(
    ids: impl IntoIterator<Item = String>,
    prefix: &str,
    mode: &str,
) -> BTreeSet<(String, String)> {
    ids.into_iter()
        .map(|id| (format!("{prefix}/{id}"), mode.to_owned()))
        .collect()
}

#[test]
fn a_departed_practitioner_keeps_their_name_and_their_closed_activities_are_found() {
    let d = departure("departed");
    let base = serve(&d.s.data);
    let x = &d.practitioner;
    let roles = d.roles_before();
    assert!(!roles.is_empty());

    // Named: the deactivated version has day 1's name, and nothing else personal.
    let (status, practitioner) = get(&format!("{base}/fhir/Practitioner/{x}"));
    assert_eq!(status, 200, "{practitioner}");
    let before = d.before(ResourceType::Practitioner, x);
    assert_eq!(practitioner["active"], false);
    assert_eq!(practitioner["name"], before["name"], "{practitioner}");
    assert_eq!(practitioner["identifier"], before["identifier"]);
    assert_eq!(practitioner["meta"]["profile"], before["meta"]["profile"]);
    assert!(practitioner.get("qualification").is_none() && practitioner.get("telecom").is_none());

    // Found: its closed activities, with their references, by practitioner and active=false.
    let (_, closed) = get(&format!(
        "{base}/fhir/PractitionerRole?practitioner=Practitioner/{x}&active=false&_count=100"
    ));
    assert_eq!(
        matched(&closed),
        with_mode(roles.clone(), "PractitionerRole", "match")
    );
    for entry in entries(&closed) {
        let role = &entry["resource"];
        let was = d.before(ResourceType::PractitionerRole, role["id"].as_str().unwrap());
        assert_eq!(role["active"], false);
        assert_eq!(role["organization"], was["organization"], "{role}");
        assert!(role.get("code").is_none(), "otherwise minimal: {role}");
    }
    let (_, open) = get(&format!(
        "{base}/fhir/PractitionerRole?practitioner={x}&active=true"
    ));
    assert_eq!(open["total"], 0, "{open}");

    // Chains reach the closed activities through the kept name and identifiers.
    let family = before["name"][0]["family"].as_str().unwrap();
    let (_, chained) = get(&format!(
        "{base}/fhir/PractitionerRole?practitioner.family:exact={}&practitioner.identifier={}&_count=100",
        enc(family),
        d.rpps
    ));
    assert_eq!(
        matched(&chained),
        with_mode(roles.clone(), "PractitionerRole", "match")
    );
    // The kept name is indexed: a name search finds the departed practitioner.
    let (_, named) = get(&format!(
        "{base}/fhir/Practitioner?family:exact={}&active=false",
        enc(family)
    ));
    assert!(
        matched(&named).contains(&(format!("Practitioner/{x}"), "match".into())),
        "{named}"
    );

    // _revinclude returns every role that references X, closed ones included.
    let (_, revinclude) = get(&format!(
        "{base}/fhir/Practitioner?_id={x}&_revinclude=PractitionerRole:practitioner"
    ));
    let mut expected = with_mode(roles.clone(), "PractitionerRole", "include");
    expected.insert((format!("Practitioner/{x}"), "match".into()));
    assert_eq!(matched(&revinclude), expected);

    // _include follows the kept organization references.
    let organizations: BTreeSet<String> = roles
        .iter()
        .filter_map(|r| {
            d.before(ResourceType::PractitionerRole, r)["organization"]["reference"]
                .as_str()
                .map(|o| o.trim_start_matches("Organization/").to_owned())
        })
        .collect();
    assert!(!organizations.is_empty());
    let (_, included) = get(&format!(
        "{base}/fhir/PractitionerRole?practitioner={x}&_include=PractitionerRole:organization&_count=100"
    ));
    let mut expected = with_mode(roles.clone(), "PractitionerRole", "match");
    expected.extend(with_mode(organizations.clone(), "Organization", "include"));
    assert_eq!(matched(&included), expected);

    // _has: a practitioner with a closed activity, an organization that had one of X's.
    let (_, has) = get(&format!(
        "{base}/fhir/Practitioner?_id={x}&_has:PractitionerRole:practitioner:active=false"
    ));
    assert_eq!(has["total"], 1, "{has}");
    let (_, has) = get(&format!(
        "{base}/fhir/Organization?_has:PractitionerRole:organization:practitioner={x}&_count=100"
    ));
    assert_eq!(
        matched(&has),
        with_mode(organizations, "Organization", "match")
    );
}

#[test]
fn restricted_kept_elements_are_redacted_in_deactivated_versions() {
    let d = departure("departed-redacted");
    let dir = common::scratch_dir("annuaire-departures-auth-");
    let (desk, full) = ("desk-departures-key", "full-departures-key");
    let config = dir.path().join("annuaire.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[auth]
[[auth.api_keys]]
name = "desk"
sha256 = "{}"
scopes = ["system/*.rs"]
[[auth.api_keys]]
name = "full"
sha256 = "{}"
scopes = ["system/*.rs", "annuaire/restricted.read"]
[auth.restricted]
elements = ["Practitioner.name", "PractitionerRole.organization"]
scope = "annuaire/restricted.read"
"#,
            common::api_key_sha256(desk),
            common::api_key_sha256(full)
        ),
    )
    .unwrap();
    let settings = annuaire::settings::Settings::load(annuaire::settings::Settings {
        config: Some(config),
        ..common::settings_for(&d.s.data)
    })
    .expect("the test configuration is valid");
    let base = common::spawn_server(settings, None).base;
    let x = d.practitioner.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get_as = |key: &str, path: String| -> Value {
        runtime.block_on(async {
            let response = common::client()
                .get(format!("{base}{path}"))
                .header("ESANTE-API-KEY", key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json().await.unwrap()
        })
    };
    let redacted = |resource: &Value| {
        resource["meta"]["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|l| l["code"] == "REDACTED"))
    };
    let practitioner = get_as(desk, format!("/fhir/Practitioner/{x}"));
    assert_eq!(practitioner["active"], false);
    assert!(
        practitioner.get("name").is_none() && redacted(&practitioner),
        "{practitioner}"
    );
    let practitioner = get_as(full, format!("/fhir/Practitioner/{x}"));
    assert!(
        practitioner.get("name").is_some() && !redacted(&practitioner),
        "{practitioner}"
    );

    let path = format!("/fhir/PractitionerRole?practitioner={x}&active=false");
    let closed = get_as(desk, path.clone());
    assert!(!entries(&closed).is_empty());
    for entry in entries(&closed) {
        let role = &entry["resource"];
        assert!(
            role.get("organization").is_none() && redacted(role),
            "{role}"
        );
        assert!(role.get("practitioner").is_some());
    }
    let closed = get_as(full, path);
    assert!(
        entries(&closed)
            .iter()
            .all(|e| e["resource"].get("organization").is_some())
    );
}

#[test]
fn a_closed_structure_keeps_its_name_and_its_legal_entity() {
    let d = departure("closed");
    let base = serve(&d.s.data);
    let (_, closed) = get(&format!(
        "{base}/fhir/Organization?active=false&_count=1000"
    ));
    let closed = entries(&closed);
    assert!(
        !closed.is_empty(),
        "the retired persons' own structures closed"
    );
    for entry in closed {
        let organization = &entry["resource"];
        let was = d.before(
            ResourceType::Organization,
            organization["id"].as_str().unwrap(),
        );
        assert_eq!(organization["name"], was["name"], "{organization}");
        assert_eq!(organization["partOf"], was["partOf"], "{organization}");
        assert!(organization.get("address").is_none(), "otherwise minimal");
        // Found by name, and named in the activities that were there.
        let name = organization["name"].as_str().unwrap();
        let (_, named) = get(&format!(
            "{base}/fhir/Organization?name:exact={}&active=false",
            enc(name)
        ));
        assert!(
            entries(&named)
                .iter()
                .any(|e| e["resource"]["id"] == organization["id"]),
            "{named}"
        );
        let id = organization["id"].as_str().unwrap();
        let (_, roles) = get(&format!(
            "{base}/fhir/PractitionerRole?organization={id}&active=false"
        ));
        assert!(roles["total"].as_u64() > Some(0), "{roles}");
    }
}
