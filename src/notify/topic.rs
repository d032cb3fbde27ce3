//! The subscription topics this server offers, declared in `conformance/topics.json` and read
//! once: a `Subscription.criteria` must name one of them (Backport IG: "SHALL reject" an
//! unknown topic).

use std::sync::OnceLock;

use serde::Deserialize;

const TOPICS: &str = include_str!("../../conformance/topics.json");

/// The one topic: changes of directory resources and of lists.
pub const RESOURCE_CHANGE: &str = "urn:annuaire:SubscriptionTopic/resource-change";

/// A topic as declared.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Topic {
    pub url: String,
    pub title: String,
    pub description: String,
    /// The types its filters may name (`Practitioner`, ..., `List`).
    pub resource_types: Vec<String>,
}

#[derive(Deserialize)]
struct Declarations {
    topics: Vec<Topic>,
}

/// Every declared topic.
pub fn all() -> &'static [Topic] {
    static DECLARED: OnceLock<Vec<Topic>> = OnceLock::new();
    DECLARED.get_or_init(|| {
        serde_json::from_str::<Declarations>(TOPICS)
            .expect("conformance/topics.json is valid (checked by a test)")
            .topics
    })
}

/// The topic whose canonical URL is `url`.
pub fn find(url: &str) -> Option<&'static Topic> {
    all().iter().find(|t| t.url == url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_change_topic_covers_the_served_types_and_lists() {
        let topic = find(RESOURCE_CHANGE).expect("declared");
        for rtype in crate::fhir::ResourceType::ALL {
            assert!(topic.resource_types.iter().any(|t| t == rtype.as_str()));
        }
        assert!(topic.resource_types.iter().any(|t| t == "List"));
        assert!(find("http://example.org/other").is_none());
    }
}
