//! A JSON tree read once, for indexing and for writing FHIR XML: objects as their members in
//! order (no hashing) and strings borrowed from the input when they have no escape. Indexing
//! parses every stored resource once, and the XML writer every resource it serves; with
//! `serde_json::Value` (an IndexMap per object, an allocation per string) that parse was most
//! of the index build, and half the XML writer's time.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    /// As serde_json reads it: an integer stays exact, and is written back as it was.
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Members<'a>),
}

/// The members of a JSON object, in order. FHIR objects have a handful of members, so finding
/// one by a scan costs less than hashing into a map (and building it).
#[derive(Debug, Clone, PartialEq)]
pub struct Members<'a>(pub Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Node<'a> {
    /// Parses JSON text, borrowing from it where possible.
    pub fn parse(json: &'a [u8]) -> serde_json::Result<Node<'a>> {
        serde_json::from_slice(json)
    }

    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(members) => members.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }
}

impl<'a> Members<'a> {
    pub fn get(&self, name: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The `_name` companion of a primitive `name` (its element id and extensions).
    pub fn companion(&self, name: &str) -> Option<&Node<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k.strip_prefix('_') == Some(name))
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Cow<'a, str>, Node<'a>)> {
        self.0.iter()
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            pairs.push((key, map.next_value()?));
        }
        Ok(Node::Object(Members(pairs)))
    }
}

/// An object key, borrowed from the input when it has no escape (serde's own `Cow<str>`
/// always copies: a key allocated per member was a fifth of the parse).
struct Key<'a>(Cow<'a, str>);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node<'de>, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_borrows() {
        let json = br#"{"a": [1, true, null, "x"], "b": {"c": "d\"e"}}"#;
        let node = Node::parse(json).unwrap();
        assert_eq!(node.get("a").unwrap().as_array().unwrap().len(), 4);
        assert!(matches!(
            node.get("a").unwrap().as_array().unwrap()[3],
            Node::String(Cow::Borrowed("x"))
        ));
        assert_eq!(
            node.get("b").unwrap().get("c").unwrap().as_str(),
            Some("d\"e")
        );
        assert_eq!(node.get("z"), None);
        let Node::Object(members) = &node else {
            panic!("an object")
        };
        assert!(
            matches!(members.0[0].0, Cow::Borrowed("a")),
            "keys are borrowed"
        );
    }
}
