//! String parameters: each with its modifiers (a table of parameters run by
//! [`check_string_param`]), then what is particular to one of them.

use reqwest::StatusCode;
use serde_json::Value;

use crate::search_support::*;

/// The default (starts-with), `:exact` and `:contains` forms and `:missing` of one string
/// parameter, around `value`, a value `pick` has.
async fn check_string_param(
    c: &Ctx,
    rtype: &str,
    code: &str,
    values: fn(&Value) -> Vec<String>,
    pick: &Value,
    value: &str,
) {
    let pid = id(pick);
    assert!(
        values(pick).iter().any(|v| v == value),
        "setup: {pid} has {code} {value}"
    );
    let folded = fold(value);
    let n = folded.chars().count();
    assert!(n >= 4, "setup: {code} value {value} is long enough");

    // Default: case- and accent-insensitive starts-with, whole value or a prefix.
    for query in [
        value.to_owned(),
        folded.clone(),
        chars(&folded, 0, 3),
        value.to_lowercase(),
    ] {
        let exp = |r: &Value| starts(&values(r), &query);
        c.expect(rtype, &[(code, &query)], exp, &[pid]).await;
    }
    // A strict infix is not a prefix: the default does not find `pick` by it (unless another
    // of its values starts with it).
    let infix = chars(&folded, 1, 4);
    let got = c
        .expect(
            rtype,
            &[(code, &infix)],
            |r: &Value| starts(&values(r), &infix),
            &[],
        )
        .await;
    if !starts(&values(pick), &infix) {
        assert!(!got.contains(pid), "{code}={infix} is not starts-with");
    }

    // :exact — the whole value, same case and accents.
    let exact_name = format!("{code}:exact");
    c.expect(
        rtype,
        &[(&exact_name, value)],
        |r: &Value| values(r).iter().any(|v| v == value),
        &[pid],
    )
    .await;
    let other_case = if value.to_lowercase() != value {
        value.to_lowercase()
    } else {
        value.to_uppercase()
    };
    if other_case != value {
        let got = c
            .expect(
                rtype,
                &[(&exact_name, &other_case)],
                |r: &Value| values(r).contains(&other_case),
                &[],
            )
            .await;
        assert!(
            !got.contains(pid),
            "{exact_name}={other_case} must not match {value}"
        );
    }
    let prefix = chars(value, 0, value.chars().count() - 1);
    let got = c
        .expect(
            rtype,
            &[(&exact_name, &prefix)],
            |r: &Value| values(r).contains(&prefix),
            &[],
        )
        .await;
    assert!(
        !got.contains(pid) || values(pick).contains(&prefix),
        "{exact_name}={prefix} is not a prefix search"
    );

    // :contains — infixes of 3+ characters, in any case; shorter ones would match most of the
    // directory and are refused as too costly.
    let contains_name = format!("{code}:contains");
    for needle in [chars(&folded, 2, 4), chars(&folded, 1, 2)] {
        let url = search_url(&c.app, rtype, &[(&contains_name, &needle)]);
        let (status, outcome) = get_json(&c.client, &url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(
            outcome["issue"][0]["code"], "too-costly",
            "{url}: {outcome}"
        );
    }
    for needle in [
        chars(&folded, 1, 4),
        chars(value, 1, n.min(6)).to_uppercase(),
        chars(&folded, n - 3, n),
    ] {
        if fold(&needle).chars().count() < 3 {
            continue;
        }
        c.expect(
            rtype,
            &[(&contains_name, &needle)],
            |r: &Value| contains(&values(r), &needle),
            &[pid],
        )
        .await;
    }

    // :missing
    let missing_name = format!("{code}:missing");
    c.expect(
        rtype,
        &[(&missing_name, "true")],
        |r: &Value| values(r).is_empty(),
        &[],
    )
    .await;
    c.expect(
        rtype,
        &[(&missing_name, "false")],
        |r: &Value| !values(r).is_empty(),
        &[pid],
    )
    .await;
}

#[tokio::test]
async fn string_family_is_accent_and_case_insensitive_starts_with() {
    let c = ctx();
    let ps = c.corpus.of("Practitioner");
    // A family name with an accented capital (LEFÈVRE-style): searched by its folded prefix.
    let accented = ps
        .iter()
        .find(|p| {
            families(p)
                .iter()
                .any(|f| f.chars().count() >= 6 && f.chars().take(3).any(|ch| !ch.is_ascii()))
        })
        .expect("an accented family name in the first three letters");
    let family = families(accented)[0].clone();
    let folded = fold(&family);
    assert!(
        folded.is_ascii() && folded != family.to_lowercase(),
        "{family}"
    );
    let prefix = chars(&folded, 0, 5);
    let got = c
        .expect(
            "Practitioner",
            &[("family", &prefix)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(accented)],
        )
        .await;
    // Same results with the stored accents, in upper case.
    let accented_prefix = chars(&family, 0, 5);
    let again = c
        .expect(
            "Practitioner",
            &[("family", &accented_prefix)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(accented)],
        )
        .await;
    assert_eq!(got, again);
    // Decomposed (NFD) input: letters followed by combining accents.
    let decomposed: String = {
        use unicode_normalization::UnicodeNormalization;
        accented_prefix.nfd().collect()
    };
    assert_ne!(decomposed, accented_prefix);
    let nfd = c
        .expect(
            "Practitioner",
            &[("family", &decomposed)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(accented)],
        )
        .await;
    assert_eq!(got, nfd);

    // A family name with an apostrophe (D'ÉVIN-style): plain and typographic apostrophes.
    let apostrophe = ps
        .iter()
        .find(|p| {
            families(p)
                .iter()
                .any(|f| f.contains('\'') && !f.is_ascii())
        })
        .expect("a family name with an apostrophe and an accent");
    let family = families(apostrophe)[0].clone();
    let folded = fold(&family);
    let cut = folded.find('\'').unwrap() + 3;
    let prefix = folded[..cut].to_owned();
    assert!(prefix.is_ascii());
    let plain = c
        .expect(
            "Practitioner",
            &[("family", &prefix)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(apostrophe)],
        )
        .await;
    let typographic = prefix.replace('\'', "\u{2019}");
    let curly = c
        .expect(
            "Practitioner",
            &[("family", &typographic)],
            |p| families(p).iter().any(|f| fold(f).starts_with(&prefix)),
            &[id(apostrophe)],
        )
        .await;
    assert_eq!(plain, curly);
    // Upper-case query with the accent, whole name.
    c.expect(
        "Practitioner",
        &[("family", &family)],
        |p| families(p).iter().any(|f| fold(f).starts_with(&folded)),
        &[id(apostrophe)],
    )
    .await;
}

/// A string parameter, and the resource it is checked around: the first of `rtype` for which
/// `pick` gives a value (of those `values` reads), long enough to cut prefixes and infixes of.
struct StringRow {
    rtype: &'static str,
    code: &'static str,
    values: fn(&Value) -> Vec<String>,
    pick: fn(&Value) -> Option<String>,
}

impl StringRow {
    /// The resource the row is checked around, and its value.
    fn find(&self, c: &Ctx) -> (&'static Value, String) {
        c.corpus
            .of(self.rtype)
            .iter()
            .find_map(|r| (self.pick)(r).map(|value| (r, value)))
            .unwrap_or_else(|| panic!("setup: no {} to check {} around", self.rtype, self.code))
    }
}

/// A long accented family name, without apostrophe or space.
fn long_accented_family(p: &Value) -> Option<String> {
    families(p)
        .iter()
        .any(|f| f.chars().count() >= 7 && !f.is_ascii() && !f.contains(['\'', ' ']))
        .then(|| families(p)[0].clone())
}

/// A mixed-case accented given name.
fn mixed_case_accented_given(p: &Value) -> Option<String> {
    let mixed = givens(p)
        .iter()
        .any(|g| g.chars().count() >= 6 && !g.is_ascii() && g.chars().any(char::is_lowercase));
    mixed.then(|| {
        givens(p)
            .into_iter()
            .find(|g| g.chars().count() >= 6 && !g.is_ascii())
            .expect("the accented given name")
    })
}

/// The family name of a practitioner whose name has a prefix and a suffix.
fn family_with_prefix_and_suffix(p: &Value) -> Option<String> {
    let complete = !strs(&p["name"][0]["prefix"]).is_empty()
        && !strs(&p["name"][0]["suffix"]).is_empty()
        && families(p)[0].chars().count() >= 6;
    complete.then(|| families(p)[0].clone())
}

fn first_mailbox(r: &Value) -> Option<String> {
    mailboxes(r).first().cloned()
}

/// The name of an organization whose alias starts differently.
fn name_with_another_alias(o: &Value) -> Option<String> {
    let name = o["name"].as_str().unwrap_or("");
    let alias = strs(&o["alias"]);
    (name.len() >= 8 && !alias.is_empty() && fold(&alias[0])[..4] != fold(name)[..4])
        .then(|| name.to_owned())
}

/// An organization with a long line, a city of two words or more, and an INSEE code.
fn full_address(o: &Value) -> bool {
    address_field(o, "line").iter().any(|l| l.len() >= 10)
        && address_field(o, "city")
            .iter()
            .any(|l| l.len() >= 6 && l.contains(' '))
        && !insee_codes(o).is_empty()
}

/// `field` of an organization with a [`full_address`].
fn full_address_field(o: &Value, field: &str) -> Option<String> {
    full_address(o).then(|| address_field(o, field)[0].clone())
}

/// Every string parameter, each around a value it must find.
fn string_params() -> Vec<StringRow> {
    fn row(
        rtype: &'static str,
        code: &'static str,
        values: fn(&Value) -> Vec<String>,
        pick: fn(&Value) -> Option<String>,
    ) -> StringRow {
        StringRow {
            rtype,
            code,
            values,
            pick,
        }
    }
    vec![
        row("Practitioner", "family", families, long_accented_family),
        row("Practitioner", "given", givens, mixed_case_accented_given),
        row(
            "Practitioner",
            "name",
            name_parts,
            family_with_prefix_and_suffix,
        ),
        row("Practitioner", "mailbox-mss", mailboxes, first_mailbox),
        row("PractitionerRole", "mailbox-mss", mailboxes, first_mailbox),
        row("Organization", "mailbox-mss", mailboxes, first_mailbox),
        row("Organization", "name", org_names, name_with_another_alias),
        row("Organization", "address", address_parts, |o| {
            full_address_field(o, "line")
        }),
        row(
            "Organization",
            "address-city",
            |o| address_field(o, "city"),
            |o| full_address_field(o, "city"),
        ),
        row(
            "Organization",
            "address-postalcode",
            |o| address_field(o, "postalCode"),
            |o| full_address_field(o, "postalCode"),
        ),
        row(
            "Organization",
            "address-line",
            |o| address_field(o, "line"),
            |o| full_address_field(o, "line"),
        ),
        row("Organization", "address-insee", insee_codes, |o| {
            full_address(o).then(|| insee_codes(o)[0].clone())
        }),
    ]
}

/// The row of `rtype.code`.
fn string_row(rtype: &str, code: &str) -> StringRow {
    string_params()
        .into_iter()
        .find(|r| r.rtype == rtype && r.code == code)
        .unwrap_or_else(|| panic!("no row for {rtype}.{code}"))
}

/// [`check_string_param`] on every row whose type `of` accepts, the rows at once.
async fn check_string_rows(of: fn(&str) -> bool) {
    let rows = string_params()
        .into_iter()
        .filter(|r| of(r.rtype))
        .collect();
    check_rows(
        rows,
        |row: &StringRow| format!("{}.{}", row.rtype, row.code),
        |row| async move {
            let c = ctx();
            let (pick, value) = row.find(&c);
            check_string_param(&c, row.rtype, row.code, row.values, pick, &value).await;
        },
    )
    .await;
}

#[tokio::test]
async fn string_parameters_of_practitioners_and_roles() {
    check_string_rows(|rtype| rtype != "Organization").await;
}

#[tokio::test]
async fn string_parameters_of_organizations() {
    check_string_rows(|rtype| rtype == "Organization").await;
}

#[tokio::test]
async fn string_given_starts_with_the_whole_given_name_not_each_word() {
    let c = ctx();
    let compound = c
        .corpus
        .of("Practitioner")
        .iter()
        .find(|p| givens(p).iter().any(|g| g.contains('-') && g.len() > 6))
        .expect("a compound given name");
    let given = givens(compound)
        .into_iter()
        .find(|g| g.contains('-'))
        .unwrap();
    let second = fold(given.split('-').nth(1).unwrap());
    let got = c
        .expect(
            "Practitioner",
            &[("given", &second)],
            |p| givens(p).iter().any(|g| fold(g).starts_with(&second)),
            &[],
        )
        .await;
    if !givens(compound)
        .iter()
        .any(|g| fold(g).starts_with(&second))
    {
        assert!(!got.contains(id(compound)));
    }
}

#[tokio::test]
async fn string_name_covers_every_name_part() {
    let c = ctx();
    let (pick, _) = string_row("Practitioner", "name").find(&c);
    // The given name, the prefix and the suffix are parts of the name too.
    for part in [
        givens(pick)[0].clone(),
        strs(&pick["name"][0]["prefix"])[0].clone(),
        strs(&pick["name"][0]["suffix"])[0].clone(),
    ] {
        c.expect(
            "Practitioner",
            &[("name", &part.to_lowercase())],
            |p| starts(&name_parts(p), &part),
            &[id(pick)],
        )
        .await;
    }
}

#[tokio::test]
async fn string_mailbox_mss_is_neither_a_plain_email_nor_a_phone() {
    let c = ctx();
    let org = c
        .corpus
        .of("Organization")
        .iter()
        .find(|o| !plain_emails(o).is_empty())
        .expect("an organization with a plain e-mail");
    let plain = plain_emails(org)[0].clone();
    c.expect(
        "Organization",
        &[("mailbox-mss:exact", &plain)],
        |o| mailboxes(o).contains(&plain),
        &[],
    )
    .await;
    let phone = org["telecom"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["system"] == "phone")
        .and_then(|t| t["value"].as_str())
        .map(str::to_owned);
    if let Some(phone) = phone {
        c.expect(
            "Organization",
            &[("mailbox-mss", &phone)],
            |o| starts(&mailboxes(o), &phone),
            &[],
        )
        .await;
    }
}

#[tokio::test]
async fn string_organization_name_covers_the_alias() {
    let c = ctx();
    let (pick, _) = string_row("Organization", "name").find(&c);
    // The alias is searched too: by prefix and exactly.
    let alias = strs(&pick["alias"])[0].clone();
    let prefix = chars(&fold(&alias), 0, 6);
    c.expect(
        "Organization",
        &[("name", &prefix)],
        |o| starts(&org_names(o), &prefix),
        &[id(pick)],
    )
    .await;
    c.expect(
        "Organization",
        &[("name:exact", &alias)],
        |o| org_names(o).contains(&alias),
        &[id(pick)],
    )
    .await;
}

#[tokio::test]
async fn string_address_covers_the_city_and_the_postal_code() {
    let c = ctx();
    let (pick, _) = string_row("Organization", "address").find(&c);
    let city = address_field(pick, "city")[0].clone();
    let postal = address_field(pick, "postalCode")[0].clone();
    c.expect(
        "Organization",
        &[("address", &city.to_lowercase())],
        |o| starts(&address_parts(o), &city),
        &[id(pick)],
    )
    .await;
    c.expect(
        "Organization",
        &[("address", &postal)],
        |o| starts(&address_parts(o), &postal),
        &[id(pick)],
    )
    .await;
    // The postal code is not a line.
    c.expect(
        "Organization",
        &[("address-line:exact", &postal)],
        |o| address_field(o, "line").contains(&postal),
        &[],
    )
    .await;
}

#[tokio::test]
async fn string_pharmacy_licence_is_always_missing() {
    let c = ctx();
    assert!(
        c.corpus
            .of("Organization")
            .iter()
            .all(|o| pharmacy_licences(o).is_empty())
    );
    c.expect(
        "Organization",
        &[("pharmacy-licence:missing", "true")],
        |_| true,
        &[id(&c.corpus.of("Organization")[0])],
    )
    .await;
    c.expect_none("Organization", &[("pharmacy-licence:missing", "false")])
        .await;
    for (name, value) in [
        ("pharmacy-licence", "1"),
        ("pharmacy-licence", "a"),
        ("pharmacy-licence:exact", "1234"),
        ("pharmacy-licence:contains", "123"),
    ] {
        c.expect_none("Organization", &[(name, value)]).await;
    }
}
