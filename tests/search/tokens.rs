//! Token parameters: each with its modifiers (a table of parameters run by
//! [`check_token_param`]), then what is particular to one of them.

use serde_json::Value;

use crate::common;
use crate::search_support::*;

/// `code`, `system|code` (and a wrong system), `|code`, `system|`, `:not`, `:text` (the codings'
/// displays: the files' labels) and `:missing` of one token parameter, around a
/// `(system, code)` that `pick` has.
async fn check_token_param(
    c: &Ctx,
    rtype: &str,
    param: &str,
    values: fn(&Value) -> Vec<Code>,
    pick: &Value,
    system: Option<&str>,
    code: &str,
) {
    let pid = id(pick);
    let mine = values(pick);
    assert!(
        mine.iter()
            .any(|(s, c)| s.as_deref() == system && c == code),
        "setup: {pid} has {param} {system:?}|{code}"
    );
    c.expect(
        rtype,
        &[(param, code)],
        |r| has_code(&values(r), code),
        &[pid],
    )
    .await;
    match system {
        Some(system) => {
            let full = format!("{system}|{code}");
            c.expect(
                rtype,
                &[(param, &full)],
                |r| has_system_code(&values(r), system, code),
                &[pid],
            )
            .await;
            let wrong = format!("urn:example:other|{code}");
            c.expect_none(rtype, &[(param, &wrong)]).await;
            let any_code = format!("{system}|");
            c.expect(
                rtype,
                &[(param, &any_code)],
                |r| has_system(&values(r), system),
                &[pid],
            )
            .await;
            // `|code`: the code with no system, which this one is not.
            let no_system = format!("|{code}");
            let got = c
                .expect(
                    rtype,
                    &[(param, &no_system)],
                    |r| has_systemless(&values(r), code),
                    &[],
                )
                .await;
            assert!(!got.contains(pid) || has_systemless(&mine, code));
        }
        None => {
            let no_system = format!("|{code}");
            c.expect(
                rtype,
                &[(param, &no_system)],
                |r| has_systemless(&values(r), code),
                &[pid],
            )
            .await;
            let wrong = format!("urn:example:other|{code}");
            c.expect_none(rtype, &[(param, &wrong)]).await;
        }
    }
    // Case matters for codes.
    if code.to_lowercase() != code {
        let lower = code.to_lowercase();
        c.expect(
            rtype,
            &[(param, &lower)],
            |r| has_code(&values(r), &lower),
            &[],
        )
        .await;
    }
    let not = format!("{param}:not");
    let got = c
        .expect(rtype, &[(&not, code)], |r| !has_code(&values(r), code), &[])
        .await;
    assert!(!got.contains(pid));
    let declared = declared_modifiers(rtype, param);
    if declared.contains(&"text".to_owned()) {
        // `:text` searches the codes' words: the displays of its codings (the files' labels),
        // accents and case ignored, starting with the value. Codes are not words.
        let texts = |r: &Value| displays_of(r, &values(r));
        let starts = |query: &str| {
            let query = fold(query);
            move |r: &Value| texts(r).iter().any(|t| fold(t).starts_with(&query))
        };
        let own = texts(pick);
        if let Some(word) = own.first().and_then(|t| t.split_whitespace().next()) {
            let word = word.to_lowercase();
            c.expect(rtype, &[(&text_param(param), &word)], starts(&word), &[pid])
                .await;
        }
        c.expect(rtype, &[(&text_param(param), code)], starts(code), &[])
            .await;
        c.expect(rtype, &[(&text_param(param), "a")], starts("a"), &[])
            .await;
    }
    let missing = format!("{param}:missing");
    c.expect(rtype, &[(&missing, "true")], |r| values(r).is_empty(), &[])
        .await;
    c.expect(
        rtype,
        &[(&missing, "false")],
        |r| !values(r).is_empty(),
        &[pid],
    )
    .await;
}

fn own_id(r: &Value) -> Vec<Code> {
    vec![(None, id(r).to_owned())]
}

fn active(r: &Value) -> Vec<Code> {
    match r["active"].as_bool() {
        Some(b) => vec![(None, b.to_string())],
        None => Vec::new(),
    }
}

#[tokio::test]
async fn token_id() {
    let c = ctx();
    for rtype in TYPES {
        let resources = c.corpus.of(rtype);
        let pick = &resources[resources.len() / 2];
        check_token_param(&c, rtype, "_id", own_id, pick, None, id(pick)).await;
        // OR of ids, one unknown.
        let (a, b) = (id(&resources[1]), id(&resources[resources.len() - 1]));
        let list = format!("{a},{b},nope-0");
        c.expect(
            rtype,
            &[("_id", &list)],
            |r| id(r) == a || id(r) == b,
            &[a, b],
        )
        .await;
    }
}

#[tokio::test]
async fn token_active_booleans() {
    let c = ctx();
    // Device has no `active` (its `status` says it: tests/search/finess_types.rs).
    for rtype in TYPES.into_iter().filter(|t| *t != "Device") {
        let pick = &c.corpus.of(rtype)[0];
        assert_eq!(pick["active"], true);
        check_token_param(&c, rtype, "active", active, pick, None, "true").await;
        c.expect(rtype, &[("active", "false")], |r| r["active"] == false, &[])
            .await;
        c.expect(
            rtype,
            &[("active", "|false")],
            |r| r["active"] == false,
            &[],
        )
        .await;
        c.expect(
            rtype,
            &[("active:not", "false")],
            |r| r["active"] != false,
            &[id(pick)],
        )
        .await;
        c.expect(
            rtype,
            &[("active", "true,false")],
            |r| r["active"].is_boolean(),
            &[id(pick)],
        )
        .await;
    }
}

#[tokio::test]
async fn token_identifier() {
    let c = ctx();
    let person = common::ordinary_person(&c.app.demo.rows);
    let row = person[0];
    let practitioner = c.corpus.get("Practitioner", &row.practitioner_id());

    check_token_param(
        &c,
        "Practitioner",
        "identifier",
        ident_codes,
        practitioner,
        Some(RPPS_SYSTEM),
        &row.id_pp,
    )
    .await;
    check_token_param(
        &c,
        "Practitioner",
        "identifier",
        ident_codes,
        practitioner,
        Some(IDNPS_SYSTEM),
        &row.idnat,
    )
    .await;
    // :of-type — type system|type code|value.
    for (kind, value) in [("RPPS", &row.id_pp), ("IDNPS", &row.idnat)] {
        let of_type = format!("{V2_0203}|{kind}|{value}");
        c.expect(
            "Practitioner",
            &[("identifier:of-type", &of_type)],
            |p| {
                identifiers(p).iter().any(|i| {
                    i.value == *value && i.types.iter().any(|(s, k)| s == V2_0203 && k == kind)
                })
            },
            &[id(practitioner)],
        )
        .await;
    }
    // The right value under the wrong type, or a wrong type system: nothing.
    c.expect_none(
        "Practitioner",
        &[(
            "identifier:of-type",
            &format!("{V2_0203}|ADELI|{}", row.id_pp),
        )],
    )
    .await;
    c.expect_none(
        "Practitioner",
        &[(
            "identifier:of-type",
            &format!("urn:example:types|RPPS|{}", row.id_pp),
        )],
    )
    .await;

    // PractitionerRole identifiers (no type).
    let role = c.corpus.of("PractitionerRole").get(7).unwrap();
    let ident = identifiers(role)[0].clone();
    check_token_param(
        &c,
        "PractitionerRole",
        "identifier",
        ident_codes,
        role,
        ident.system.as_deref(),
        &ident.value,
    )
    .await;
    c.expect_none(
        "PractitionerRole",
        &[(
            "identifier:of-type",
            &format!("{V2_0203}|RPPS|{}", ident.value),
        )],
    )
    .await;

    // Organization: FINESS establishment number, typed FINEG.
    let establishment = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| {
            identifiers(o)
                .iter()
                .any(|i| i.types.iter().any(|t| t.1 == "FINEG"))
        })
        .expect("an establishment");
    let fineg = identifiers(establishment)
        .into_iter()
        .find(|i| i.types.iter().any(|t| t.1 == "FINEG"))
        .unwrap();
    check_token_param(
        &c,
        "Organization",
        "identifier",
        ident_codes,
        establishment,
        fineg.system.as_deref(),
        &fineg.value,
    )
    .await;
    let of_type = format!("{V2_0203}|FINEG|{}", fineg.value);
    c.expect(
        "Organization",
        &[("identifier:of-type", &of_type)],
        |o| {
            identifiers(o)
                .iter()
                .any(|i| i.value == fineg.value && i.types.iter().any(|t| t.1 == "FINEG"))
        },
        &[id(establishment)],
    )
    .await;
    c.expect_none(
        "Organization",
        &[(
            "identifier:of-type",
            &format!("{V2_0203}|FINEJ|{}", fineg.value),
        )],
    )
    .await;
}

/// A token parameter, and the resource it is checked around: the first of `rtype` for which
/// `pick` gives a `(system, code)` (of those `values` reads).
struct TokenRow {
    rtype: &'static str,
    param: &'static str,
    values: fn(&Value) -> Vec<Code>,
    pick: fn(&Value) -> Option<Code>,
}

impl TokenRow {
    /// The resource the row is checked around, and its `(system, code)`.
    fn find(&self, c: &Ctx) -> (&'static Value, Code) {
        c.corpus
            .of(self.rtype)
            .iter()
            .find_map(|r| (self.pick)(r).map(|code| (r, code)))
            .unwrap_or_else(|| panic!("setup: no {} to check {} around", self.rtype, self.param))
    }
}

const MAILBOX_TYPES: &str = "https://mos.esante.gouv.fr/NOS/TRE_R257-TypeBAL/FHIR/TRE-R257-TypeBAL";
const ORGANIZATION_TYPES: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-3307";

/// `(system, code)` if `values` has `code`, with `system`.
fn coded(values: Vec<Code>, system: &str, code: &str) -> Option<Code> {
    has_code(&values, code).then(|| (Some(system.to_owned()), code.to_owned()))
}

/// The first of `values` whose system names `terminology` (`TRE_R38`...).
fn from_terminology(values: Vec<Code>, terminology: &str) -> Option<Code> {
    values
        .into_iter()
        .find(|(s, _)| s.as_deref().is_some_and(|s| s.contains(terminology)))
}

fn information_system(r: &Value) -> Vec<Code> {
    trace_tokens(r, "systeme-information")
}

fn registration_authority(r: &Value) -> Vec<Code> {
    trace_tokens(r, "autorite-enregistrement")
}

fn org_types(o: &Value) -> Vec<Code> {
    codings(&o["type"])
}

/// The fonction FON-05 of a role that has two more codes.
fn fonction_05(r: &Value) -> Option<Code> {
    let codes = role_codes(r);
    (codes.len() >= 3)
        .then(|| codes.into_iter().find(|(_, c)| c == "FON-05"))
        .flatten()
}

/// Every token parameter whose checks do not need a particular resource, each around a code it
/// must find.
fn token_params() -> Vec<TokenRow> {
    fn row(
        rtype: &'static str,
        param: &'static str,
        values: fn(&Value) -> Vec<Code>,
        pick: fn(&Value) -> Option<Code>,
    ) -> TokenRow {
        TokenRow {
            rtype,
            param,
            values,
            pick,
        }
    }
    fn registration(r: &Value) -> Option<Code> {
        registration_authority(r).into_iter().next()
    }
    vec![
        row("Practitioner", "mailbox-mss-type", mailbox_types, |r| {
            coded(mailbox_types(r), MAILBOX_TYPES, "PER")
        }),
        row("PractitionerRole", "mailbox-mss-type", mailbox_types, |r| {
            coded(mailbox_types(r), MAILBOX_TYPES, "PER")
        }),
        row("Organization", "mailbox-mss-type", mailbox_types, |r| {
            coded(mailbox_types(r), MAILBOX_TYPES, "ORG")
        }),
        row(
            "Practitioner",
            "identifier-type",
            identifier_type_codes,
            |p| coded(identifier_type_codes(p), V2_0203, "ADELI"),
        ),
        row(
            "Organization",
            "identifier-type",
            identifier_type_codes,
            |o| coded(identifier_type_codes(o), V2_0203, "FINEJ"),
        ),
        // A specialty, then diplomas (TRE_R48 diplôme d'État, TRE_R49 DES) from the diplomas
        // file.
        row(
            "Practitioner",
            "qualification-code",
            qualification_codes,
            |p| from_terminology(qualification_codes(p), "TRE_R38"),
        ),
        row(
            "Practitioner",
            "qualification-code",
            qualification_codes,
            |p| from_terminology(qualification_codes(p), "TRE_R48"),
        ),
        row(
            "Practitioner",
            "qualification-code",
            qualification_codes,
            |p| from_terminology(qualification_codes(p), "TRE_R49"),
        ),
        row(
            "Organization",
            "data-information-system",
            information_system,
            |o| has_code(&information_system(o), "FINESS").then(|| (None, "FINESS".to_owned())),
        ),
        row(
            "Practitioner",
            "data-registration-authority",
            registration_authority,
            registration,
        ),
        row(
            "PractitionerRole",
            "data-registration-authority",
            registration_authority,
            registration,
        ),
        row(
            "Organization",
            "data-registration-authority",
            registration_authority,
            registration,
        ),
        row("PractitionerRole", "role", role_codes, fonction_05),
        row("Organization", "type", org_types, |o| {
            coded(org_types(o), ORGANIZATION_TYPES, "LEGAL-ENTITY")
        }),
        row("Organization", "type", org_types, |o| {
            from_terminology(org_types(o), "TRE_R66")
        }),
    ]
}

/// [`check_token_param`] on every row whose type `of` accepts, the rows at once.
async fn check_token_rows(of: fn(&str) -> bool) {
    let rows = token_params().into_iter().filter(|r| of(r.rtype)).collect();
    check_rows(
        rows,
        |row: &TokenRow| format!("{}.{}", row.rtype, row.param),
        |row| async move {
            let c = ctx();
            let (pick, (system, code)) = row.find(&c);
            check_token_param(
                &c,
                row.rtype,
                row.param,
                row.values,
                pick,
                system.as_deref(),
                &code,
            )
            .await;
        },
    )
    .await;
}

#[tokio::test]
async fn token_parameters_of_practitioners_and_roles() {
    check_token_rows(|rtype| rtype != "Organization").await;
}

#[tokio::test]
async fn token_parameters_of_organizations() {
    check_token_rows(|rtype| rtype == "Organization").await;
}

#[tokio::test]
async fn token_mailbox_mss_type_personal_is_never_on_an_organization() {
    let c = ctx();
    c.expect_none("Organization", &[("mailbox-mss-type", "PER")])
        .await;
}

#[tokio::test]
async fn token_identifier_type_of_an_rpps_practitioner() {
    let c = ctx();
    let rpps = c.corpus.get(
        "Practitioner",
        &common::ordinary_person(&c.app.demo.rows)[0].practitioner_id(),
    );
    check_token_param(
        &c,
        "Practitioner",
        "identifier-type",
        identifier_type_codes,
        rpps,
        Some(V2_0203),
        "RPPS",
    )
    .await;
}

#[tokio::test]
async fn token_qualification_code_of_the_profession() {
    let c = ctx();
    // The profession code (TRE_G15) of the practitioner with a specialty.
    let specialty = token_params()
        .into_iter()
        .find(|r| r.param == "qualification-code")
        .expect("the specialty row");
    let (specialist, _) = specialty.find(&c);
    let (system, code) =
        from_terminology(qualification_codes(specialist), "TRE_G15").expect("a profession code");
    c.expect(
        "Practitioner",
        &[(
            "qualification-code",
            &format!("{}|{code}", system.as_deref().unwrap()),
        )],
        |p| has_system_code(&qualification_codes(p), system.as_deref().unwrap(), &code),
        &[id(specialist)],
    )
    .await;
}

#[tokio::test]
async fn token_data_information_system_of_rpps_resources() {
    let c = ctx();
    for rtype in ["Practitioner", "PractitionerRole"] {
        let pick = &c.corpus.of(rtype)[3];
        check_token_param(
            &c,
            rtype,
            "data-information-system",
            information_system,
            pick,
            None,
            "RPPS",
        )
        .await;
    }
}

#[tokio::test]
async fn token_role_by_another_code_of_the_same_role() {
    let c = ctx();
    let (pick, _) = token_params()
        .into_iter()
        .find(|r| r.param == "role")
        .expect("the role row")
        .find(&c);
    // Another kind of code of the same role: its mode d'exercice / genre d'activité.
    let (system, code) = role_codes(pick)
        .into_iter()
        .find(|(_, c)| c != "FON-05")
        .unwrap();
    check_token_param(
        &c,
        "PractitionerRole",
        "role",
        role_codes,
        pick,
        system.as_deref(),
        &code,
    )
    .await;
}

/// `param:text`.
fn text_param(param: &str) -> String {
    format!("{param}:text")
}

/// The displays of the codings of `r` that are among `codes` (a parameter's values).
fn displays_of(r: &Value, codes: &[Code]) -> Vec<String> {
    fn walk(value: &Value, codes: &[Code], out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                if let (Some(code), Some(display)) = (
                    object.get("code").and_then(Value::as_str),
                    object.get("display").and_then(Value::as_str),
                ) {
                    let system = object.get("system").and_then(Value::as_str);
                    if codes
                        .iter()
                        .any(|(s, c)| c == code && s.as_deref() == system)
                    {
                        out.push(display.to_owned());
                    }
                }
                object.values().for_each(|v| walk(v, codes, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, codes, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(r, codes, &mut out);
    out
}
