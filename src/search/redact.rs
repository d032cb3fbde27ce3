//! Restricted elements: removed from every resource returned to a caller without the extra
//! scope, and the resource labelled `REDACTED` in `meta.security`.
//!
//! The stored JSON is rewritten at the top level only (each top-level value is kept as raw
//! bytes, never parsed into a tree), so redaction costs little more than a copy.
//!
//! What redaction does not hide: that a hidden element changed. A resource's `versionId`,
//! `lastUpdated`, ETag and history are those of the stored resource, whose versions follow its
//! whole content (`crate::generation::reconcile`): when an import changes only a restricted
//! element, a caller without the restricted scope sees a new version whose visible content is
//! the same as the last one's, and so learns that some hidden element changed, and when —
//! never what. This is a documented limit, kept on purpose:
//! - versions are decided once per store, at import, while which elements are hidden is each
//!   server's configuration (replicas of one store may hide different elements; changing the
//!   list needs no re-import), so the import cannot know which changes are "hidden";
//! - a version sequence per view would need a second sequence per set of hidden elements in
//!   `versions.bin` and in the history (a store format change), and versions computed when
//!   serving could not be read back: `_history/N` and conditional reads need one numbering;
//! - dropping `versionId` and the ETag from redacted answers would break version-aware
//!   clients and conditional requests for every restricted caller.
//!
//! What leaks is at most one bit per resource per import (daily), about a field whose value
//! stays hidden; an operator for whom even that matters keeps such elements out of the
//! served store instead of restricting them.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::params::{Registry, SearchParam};
use crate::fhir::ResourceType;

/// The security label of a resource some elements were removed from
/// (http://terminology.hl7.org/CodeSystem/v3-ObservationValue#REDACTED).
pub fn redacted_label() -> Value {
    json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "REDACTED",
        "display": "redacted"
    })
}

/// The restricted elements of each type. Cheap to clone (handed to each search).
#[derive(Debug, Clone, Default)]
pub struct Redaction {
    elements: Arc<[Vec<String>; ResourceType::ALL.len()]>,
}

impl Redaction {
    pub fn none() -> Redaction {
        Redaction::default()
    }

    /// Hides `element` (a top-level element name) of each `(type, element)` pair.
    pub fn new<'e>(restricted: impl IntoIterator<Item = (ResourceType, &'e str)>) -> Redaction {
        let mut elements: [Vec<String>; ResourceType::ALL.len()] = Default::default();
        for (rtype, element) in restricted {
            let list = &mut elements[rtype as usize];
            if !list.iter().any(|e| e == element) {
                list.push(element.to_owned());
            }
        }
        Redaction {
            elements: Arc::new(elements),
        }
    }

    /// This redaction but for the elements `visible` lets through: what a caller sees when
    /// access rules unlocked some restricted elements for it (and what its subscriptions
    /// are sent).
    pub fn except(&self, visible: impl Fn(ResourceType, &str) -> bool) -> Redaction {
        let mut hidden = Vec::new();
        for rtype in ResourceType::ALL {
            for element in self.elements(rtype) {
                if !visible(rtype, element) {
                    hidden.push((rtype, element.as_str()));
                }
            }
        }
        Redaction::new(hidden)
    }

    pub fn elements(&self, rtype: ResourceType) -> &[String] {
        &self.elements[rtype as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.elements.iter().all(Vec::is_empty)
    }

    /// The restricted element `param` reads on `rtype`, if any.
    pub fn restricted_element_of(&self, rtype: ResourceType, param: &SearchParam) -> Option<&str> {
        let restricted = self.elements(rtype);
        if restricted.is_empty() {
            return None;
        }
        param
            .expression
            .top_elements(rtype.as_str())
            .into_iter()
            .find_map(|e| restricted.iter().find(|r| *r == e).map(String::as_str))
    }

    /// Whether any parameter code in a query key (`mailbox-mss:contains`,
    /// `practitioner.mailbox-mss`, `_has:PractitionerRole:practitioner:mailbox-mss`) reads a
    /// restricted element of some type: its value must not reach the audit trail.
    pub fn touches_restricted(&self, key: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let registry = Registry::get();
        key.split([':', '.']).any(|code| {
            registry.all().iter().filter(|p| p.code == code).any(|p| {
                p.base
                    .iter()
                    .any(|t| self.restricted_element_of(*t, p).is_some())
            })
        })
    }

    /// `json` without the restricted elements of `rtype`, labelled; unchanged bytes when the
    /// type has none.
    pub fn apply<'a>(&self, rtype: ResourceType, json: &'a [u8]) -> Cow<'a, [u8]> {
        let restricted = self.elements(rtype);
        if restricted.is_empty() {
            return Cow::Borrowed(json);
        }
        match serde_json::from_slice::<TopLevel<'_>>(json) {
            Ok(top) => Cow::Owned(rewrite(&top.0, restricted)),
            // Our stored resources are always objects; if one were not, hiding it all is the
            // safe answer.
            Err(_) => Cow::Owned(br#"{}"#.to_vec()),
        }
    }
}

/// Rewrites a resource's top level: restricted keys dropped, `meta.security` labelled (`meta`
/// is added after `id` when the resource has none).
fn rewrite(fields: &[(&str, &RawValue)], restricted: &[String]) -> Vec<u8> {
    let total: usize = fields
        .iter()
        .map(|(k, v)| k.len() + v.get().len() + 4)
        .sum();
    let mut out = Vec::with_capacity(total + 160);
    let has_meta = fields.iter().any(|(k, _)| *k == "meta");
    let mut kept: Vec<(&str, Cow<'_, [u8]>)> = Vec::with_capacity(fields.len() + 1);
    for (key, value) in fields {
        if restricted.iter().any(|r| r == key) {
            continue;
        }
        if *key == "meta" {
            kept.push((key, Cow::Owned(labelled_meta(Some(value)))));
            continue;
        }
        kept.push((key, Cow::Borrowed(value.get().as_bytes())));
        if *key == "id" && !has_meta {
            kept.push(("meta", Cow::Owned(labelled_meta(None))));
        }
    }
    if !kept.iter().any(|(k, _)| *k == "meta") {
        kept.push(("meta", Cow::Owned(labelled_meta(None))));
    }
    out.push(b'{');
    for (i, (key, value)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key).expect("writing to a Vec cannot fail");
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
    out
}

/// `meta` (the resource's own, if any) with the REDACTED label, serialized.
fn labelled_meta(meta: Option<&RawValue>) -> Vec<u8> {
    let mut meta: Value = meta
        .and_then(|m| serde_json::from_str(m.get()).ok())
        .unwrap_or_else(|| json!({}));
    label(&mut meta);
    serde_json::to_vec(&meta).expect("JSON serializes")
}

fn label(meta: &mut Value) {
    if !meta.is_object() {
        *meta = json!({});
    }
    let security = meta
        .as_object_mut()
        .expect("an object")
        .entry("security")
        .or_insert_with(|| json!([]));
    if !security.is_array() {
        *security = json!([]);
    }
    let labels = security.as_array_mut().expect("an array");
    if !labels.iter().any(|l| l["code"] == "REDACTED") {
        labels.push(redacted_label());
    }
}

/// A JSON object's top-level fields, values kept raw.
struct TopLevel<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<TopLevel<'de>, M::Error> {
                let mut fields = Vec::new();
                while let Some(key) = map.next_key::<&'de str>()? {
                    fields.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(TopLevel(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redaction() -> Redaction {
        Redaction::new([(ResourceType::Practitioner, "telecom")])
    }

    #[test]
    fn except_keeps_hidden_what_is_not_let_through() {
        let both = Redaction::new([
            (ResourceType::Practitioner, "telecom"),
            (ResourceType::PractitionerRole, "telecom"),
        ]);
        let fewer =
            both.except(|rtype, e| rtype == ResourceType::PractitionerRole && e == "telecom");
        assert_eq!(fewer.elements(ResourceType::Practitioner), ["telecom"]);
        assert!(fewer.elements(ResourceType::PractitionerRole).is_empty());
        assert!(both.except(|_, _| true).is_empty());
        assert_eq!(
            both.except(|_, _| false)
                .elements(ResourceType::PractitionerRole),
            ["telecom"]
        );
    }

    #[test]
    fn removes_and_labels() {
        let json = br#"{"resourceType":"Practitioner","id":"pp-1","meta":{"versionId":"3","security":[{"code":"X"}]},"telecom":[{"value":"a@b.mssante.fr"}],"name":[{"family":"A"}]}"#;
        let out = redaction().apply(ResourceType::Practitioner, json);
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert!(value.get("telecom").is_none());
        assert_eq!(value["name"][0]["family"], "A");
        assert_eq!(value["meta"]["versionId"], "3");
        assert_eq!(value["meta"]["security"][1]["code"], "REDACTED");
        assert!(!String::from_utf8_lossy(&out).contains("mssante"));
    }

    #[test]
    fn adds_meta_when_absent_and_leaves_other_types() {
        let json = br#"{"resourceType":"Practitioner","id":"pp-1","telecom":[]}"#;
        let out = redaction().apply(ResourceType::Practitioner, json);
        assert_eq!(
            String::from_utf8(out.to_vec()).unwrap(),
            r#"{"resourceType":"Practitioner","id":"pp-1","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"REDACTED","display":"redacted"}]}}"#
        );
        let org = br#"{"resourceType":"Organization","telecom":[]}"#;
        assert!(matches!(
            redaction().apply(ResourceType::Organization, org),
            Cow::Borrowed(_)
        ));
    }
}
