//! The corpus itself: the demo dataset, and the facts about it the expectations of the other
//! modules rely on.

use std::collections::BTreeSet;

use crate::common::DEMO_LAST_UPDATED;
use crate::search_support::*;

#[tokio::test]
async fn the_corpus_is_the_demo_dataset() {
    let c = ctx();
    let rows = &c.app.demo.rows;
    let practitioners: BTreeSet<String> = rows.iter().map(|r| r.practitioner_id()).collect();
    assert_eq!(c.corpus.all_ids("Practitioner"), practitioners);
    let roles: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.has_activity())
        .map(|r| r.role_id())
        .collect();
    assert_eq!(c.corpus.all_ids("PractitionerRole"), roles);
    assert!(c.corpus.of("Organization").len() > 100);
    // Facts the expectations below rely on.
    for rtype in TYPES {
        for r in c.corpus.of(rtype) {
            assert_eq!(
                r["meta"]["lastUpdated"],
                DEMO_LAST_UPDATED,
                "{rtype}/{}",
                id(r)
            );
            assert_eq!(r["meta"]["versionId"], "1");
        }
        // No narrative, no CodeableConcept.text: `:text` searches the codings' displays only
        // (the files' labels, issue #24).
        let json = serde_json::to_string(c.corpus.of(rtype)).unwrap();
        assert!(!json.contains("\"text\""), "{rtype} has a text");
    }
}
