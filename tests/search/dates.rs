//! Date: `_lastUpdated` (every resource: 2026-11-01T00:00:00Z, an instant to the second), with
//! every prefix, precision and time zone.

use crate::common::DEMO_LAST_UPDATED;
use crate::search_support::*;

/// `(value, matches)`: whether the demo's `lastUpdated` instant [2026-11-01T00:00:00Z, +1 s)
/// matches, per the R4 range semantics: eq = the search range contains the target; ne = not
/// eq; gt/lt = the target extends above/below the search range; ge/le = gt/lt or eq; sa/eb =
/// the target starts at or after the search range's end / ends at or before its start;
/// ap = overlaps the search range widened by (at least) a day.
const LAST_UPDATED_CASES: &[(&str, bool)] = &[
    // eq (and no prefix), every precision
    ("2026", true),
    ("eq2026", true),
    ("2025", false),
    ("2026-11", true),
    ("eq2026-11", true),
    ("2026-10", false),
    ("2026-12", false),
    ("2026-11-01", true),
    ("2026-10-31", false),
    ("2026-11-02", false),
    ("2026-11-01T00:00Z", true),
    ("2026-11-01T00:01Z", false),
    ("2026-10-31T23:59Z", false),
    ("2026-11-01T00:00:00Z", true),
    ("eq2026-11-01T00:00:00Z", true),
    ("2026-11-01T00:00:01Z", false),
    ("2026-10-31T23:59:59Z", false),
    // time zones: the same instant written in other offsets
    ("2026-11-01T01:00:00+01:00", true),
    ("2026-11-01T05:30:00+05:30", true),
    ("2026-11-01T14:00:00+14:00", true),
    ("2026-10-31T19:00:00-05:00", true),
    ("2026-10-31T23:30:00-00:30", true),
    ("2026-11-01T00:00:00+00:00", true),
    ("2026-11-01T00:00:00-00:00", true),
    ("2026-11-01T00:00:00+01:00", false),
    ("2026-11-01T00:00:00-01:00", false),
    ("2026-11-01T01:00+01:00", true),
    ("2026-11-01T00:59+01:00", false),
    // ne
    ("ne2026", false),
    ("ne2025", true),
    ("ne2026-11", false),
    ("ne2026-11-01", false),
    ("ne2026-11-02", true),
    ("ne2026-11-01T00:00:00Z", false),
    ("ne2026-11-01T00:00:01Z", true),
    ("ne2026-11-01T01:00:00+01:00", false),
    // gt
    ("gt2025", true),
    ("gt2026", false),
    ("gt2026-10", true),
    ("gt2026-11", false),
    ("gt2026-10-31", true),
    ("gt2026-11-01", false),
    ("gt2026-10-31T23:59Z", true),
    ("gt2026-11-01T00:00Z", false),
    ("gt2026-10-31T23:59:59Z", true),
    ("gt2026-11-01T00:00:00Z", false),
    ("gt2026-11-01T00:00:00+01:00", true),
    ("gt2026-10-31T23:30:00-00:30", false),
    // lt
    ("lt2027", true),
    ("lt2026", false),
    ("lt2026-12", true),
    ("lt2026-11", false),
    ("lt2026-11-02", true),
    ("lt2026-11-01", false),
    ("lt2026-11-01T00:01Z", true),
    ("lt2026-11-01T00:00Z", false),
    ("lt2026-11-01T00:00:01Z", true),
    ("lt2026-11-01T00:00:00Z", false),
    ("lt2026-11-01T01:00:00+01:00", false),
    ("lt2026-11-01T01:00:01+01:00", true),
    ("lt2026-10-31T23:30:01-00:30", true),
    // ge
    ("ge2026", true),
    ("ge2027", false),
    ("ge2026-11", true),
    ("ge2026-12", false),
    ("ge2026-11-01", true),
    ("ge2026-11-02", false),
    ("ge2026-10-31", true),
    ("ge2026-11-01T00:00:00Z", true),
    ("ge2026-11-01T00:00:01Z", false),
    ("ge2026-10-31T23:59:59Z", true),
    ("ge2026-11-01T01:00:00+01:00", true),
    ("ge2026-11-01T01:00:01+01:00", false),
    // le
    ("le2026", true),
    ("le2025", false),
    ("le2026-11", true),
    ("le2026-10", false),
    ("le2026-11-01", true),
    ("le2026-10-31", false),
    ("le2026-11-02", true),
    ("le2026-11-01T00:00:00Z", true),
    ("le2026-10-31T23:59:59Z", false),
    ("le2026-10-31T23:30:00-00:30", true),
    ("le2026-10-31T23:29:59-00:30", false),
    // sa
    ("sa2025", true),
    ("sa2026", false),
    ("sa2026-10", true),
    ("sa2026-11", false),
    ("sa2026-10-31", true),
    ("sa2026-11-01", false),
    ("sa2026-10-31T23:59Z", true),
    ("sa2026-10-31T23:59:59Z", true),
    ("sa2026-11-01T00:00:00Z", false),
    ("sa2026-11-01T00:00:00+01:00", true),
    ("sa2026-11-01T01:00:00+01:00", false),
    // eb
    ("eb2027", true),
    ("eb2026", false),
    ("eb2026-12", true),
    ("eb2026-11", false),
    ("eb2026-11-02", true),
    ("eb2026-11-01", false),
    ("eb2026-11-01T00:01Z", true),
    ("eb2026-11-01T00:00Z", false),
    ("eb2026-11-01T00:00:01Z", true),
    ("eb2026-11-01T00:00:00Z", false),
    ("eb2026-11-01T01:00:01+01:00", true),
    ("eb2026-10-31T23:30:01-00:30", true),
    ("eb2026-10-31T23:30:00-00:30", false),
    // ap
    ("ap2026", true),
    ("ap2026-11", true),
    ("ap2026-11-01", true),
    ("ap2026-10-31", true),
    ("ap2026-11-01T00:00:00Z", true),
    ("ap2026-11-01T01:00:00+01:00", true),
    ("ap2000", false),
    ("ap2100", false),
];

#[tokio::test]
async fn date_last_updated_prefixes_precisions_and_time_zones() {
    let c = ctx();
    let all = c.corpus.of("Practitioner").len() as u64;
    let mut failures = Vec::new();
    for (value, matches) in LAST_UPDATED_CASES {
        let expected = if *matches { all } else { 0 };
        let got = count(
            &c.client,
            &c.app,
            "Practitioner",
            &[("_lastUpdated", value)],
        )
        .await;
        if got != expected {
            failures.push(format!(
                "_lastUpdated={value}: {got} results, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The other types, and the entries themselves.
    for rtype in TYPES {
        c.expect(
            rtype,
            &[("_lastUpdated", "ge2026-11-01T00:00:00Z")],
            |r| r["meta"]["lastUpdated"] == DEMO_LAST_UPDATED,
            &[id(&c.corpus.of(rtype)[0])],
        )
        .await;
        c.expect_none(rtype, &[("_lastUpdated", "sa2026-11-01T00:00:00Z")])
            .await;
        c.expect_all(rtype, &[("_lastUpdated:missing", "false")])
            .await;
        c.expect_none(rtype, &[("_lastUpdated:missing", "true")])
            .await;
    }
    // AND: a closed range; OR: two years.
    c.expect_all(
        "Practitioner",
        &[
            ("_lastUpdated", "ge2026-11-01"),
            ("_lastUpdated", "lt2026-11-02"),
        ],
    )
    .await;
    c.expect_none(
        "Practitioner",
        &[
            ("_lastUpdated", "gt2026-11-01T00:00:00Z"),
            ("_lastUpdated", "lt2027"),
        ],
    )
    .await;
    c.expect_all("Practitioner", &[("_lastUpdated", "2025,2026")])
        .await;
    c.expect_none("Practitioner", &[("_lastUpdated", "2025,2027-01")])
        .await;
}
