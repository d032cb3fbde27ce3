//! FHIR JSON to FHIR XML (R4, http://hl7.org/fhir/R4/xml.html), written with quick-xml's
//! streaming writer from the JSON the server would send.
//!
//! The rules applied:
//! - a resource is an element named by its `resourceType`, in the `http://hl7.org/fhir`
//!   namespace; a resource inside another (`Bundle.entry.resource`) is wrapped in the
//!   element of its property;
//! - a primitive is an element with a `value` attribute; its `_name` companion (element id and
//!   extensions) becomes the element's `id` attribute and children; arrays of primitives pair
//!   with their `_name` arrays by position;
//! - `id` of a datatype or backbone element is an attribute, and so is `url` of an extension;
//!   a resource's `id` is an element;
//! - arrays repeat their element;
//! - element order: XML requires the order of the definitions, which JSON does not. The JSON
//!   this server writes follows the definitions' order (fhir-sdk's types, the Bundles written
//!   in order, the CapabilityStatement put in order when built), except where the rule of
//!   every element applies: `extension` and `modifierExtension` come before the other children
//!   (after `id`, `meta`, `implicitRules`, `language`, `text` and `contained` in a resource).
//!   That rule is applied here, so that `meta.extension` (written after `versionId` and
//!   `lastUpdated` when the store splices them in) lands in its place;
//! - the XHTML narrative (`div`) is written as it is, being XHTML already.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, Event};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

pub const NAMESPACE: &str = "http://hl7.org/fhir";

/// Children a resource puts first, in this order, before its own elements.
const RESOURCE_HEAD: &[&str] = &[
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
];
/// Children every element puts first (after its `id` attribute).
const ELEMENT_HEAD: &[&str] = &["extension", "modifierExtension"];

/// The JSON is not a FHIR resource.
#[derive(Debug, thiserror::Error)]
#[error("cannot write this resource as XML: {0}")]
pub struct XmlError(String);

impl XmlError {
    /// The thread writing the XML stopped (the server is shutting down).
    pub fn stopped() -> XmlError {
        XmlError("the server stopped while writing it".into())
    }
}

/// The XML of one resource given as JSON bytes.
pub fn from_json(json: &[u8]) -> Result<Vec<u8>, XmlError> {
    let value: Value = serde_json::from_slice(json).map_err(|e| XmlError(e.to_string()))?;
    let Value::Object(resource) = value else {
        return Err(XmlError("not a JSON object".into()));
    };
    let mut writer = Writer::new(Vec::with_capacity(json.len() * 3 / 2));
    writer
        .write_event(Event::Decl(quick_xml::events::BytesDecl::new(
            "1.0",
            Some("UTF-8"),
            None,
        )))
        .map_err(io)?;
    write_resource(&mut writer, &resource)?;
    Ok(writer.into_inner())
}

fn io(e: impl std::fmt::Display) -> XmlError {
    XmlError(e.to_string())
}

/// The JSON, parsed for writing it out once: strings borrowed from the input where they need
/// no unescaping, objects kept as their members in order. FHIR objects have a handful of
/// members, so finding one by a scan costs less than hashing into a map (and building it).
enum Value<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Map<'a>),
}

/// The members of a JSON object, in order.
struct Map<'a>(Vec<(Cow<'a, str>, Value<'a>)>);

impl<'a> Map<'a> {
    fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The `_name` companion of `name` (its id and extensions).
    fn companion(&self, name: &str) -> Option<&Value<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k.strip_prefix('_') == Some(name))
            .map(|(_, v)| v)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Value<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor(PhantomData))
    }
}

struct ValueVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ValueVisitor<'a> {
    type Value = Value<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value<'a>, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value<'a>, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value<'a>, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value<'a>, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'a>, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value<'a>, E> {
        Ok(Value::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Value<'a>, E> {
        Ok(Value::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Value<'a>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'a>, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'a>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'a>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Value::Object(Map(members)))
    }
}

/// An object's key, borrowed when it can be.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_str(ValueVisitor(PhantomData))
            .and_then(|value| match value {
                Value::String(key) => Ok(Key(key)),
                _ => Err(serde::de::Error::custom("an object key is a string")),
            })
    }
}

type Out = Writer<Vec<u8>>;

fn write_resource(w: &mut Out, resource: &Map<'_>) -> Result<(), XmlError> {
    let Some(Value::String(rtype)) = resource.get("resourceType") else {
        return Err(XmlError("a resource without resourceType".into()));
    };
    let mut start = BytesStart::new(rtype.as_ref());
    start.push_attribute(("xmlns", NAMESPACE));
    w.write_event(Event::Start(start)).map_err(io)?;
    write_children(w, resource, RESOURCE_HEAD, &["resourceType"])?;
    w.write_event(Event::End(BytesEnd::new(rtype.as_ref())))
        .map_err(io)?;
    Ok(())
}

/// The properties of an object as child elements: `head` first, then the others in JSON
/// order; `skip` (and every `_name` companion) are not children.
fn write_children(
    w: &mut Out,
    object: &Map<'_>,
    head: &[&str],
    skip: &[&str],
) -> Result<(), XmlError> {
    let mut names: Vec<&str> = head
        .iter()
        .copied()
        .filter(|name| object.contains_key(name) || object.companion(name).is_some())
        .collect();
    for key in object.keys() {
        let name = key.strip_prefix('_').unwrap_or(key);
        if !skip.contains(&name) && !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        write_property(w, name, object.get(name), object.companion(name))?;
    }
    Ok(())
}

/// One JSON property (and its `_name` companion) as one element, or one per array item.
fn write_property(
    w: &mut Out,
    name: &str,
    value: Option<&Value<'_>>,
    companion: Option<&Value<'_>>,
) -> Result<(), XmlError> {
    match (value, companion) {
        (Some(Value::Array(items)), companion) => {
            let companions = match companion {
                Some(Value::Array(c)) => c.as_slice(),
                _ => &[],
            };
            for (i, item) in items.iter().enumerate() {
                write_element(w, name, Some(item), companions.get(i))?;
            }
            // Companions beyond the values (values all null) still carry extensions.
            for extra in companions.iter().skip(items.len()) {
                write_element(w, name, None, Some(extra))?;
            }
            Ok(())
        }
        (None, Some(Value::Array(companions))) => {
            for companion in companions {
                write_element(w, name, None, Some(companion))?;
            }
            Ok(())
        }
        (value, companion) => write_element(w, name, value, companion),
    }
}

fn write_element(
    w: &mut Out,
    name: &str,
    value: Option<&Value<'_>>,
    companion: Option<&Value<'_>>,
) -> Result<(), XmlError> {
    let companion = match companion {
        Some(Value::Object(c)) => Some(c),
        _ => None,
    };
    match value {
        Some(Value::Object(object)) if object.contains_key("resourceType") => {
            w.write_event(Event::Start(BytesStart::new(name)))
                .map_err(io)?;
            write_resource(w, object)?;
            w.write_event(Event::End(BytesEnd::new(name))).map_err(io)
        }
        Some(Value::Object(object)) => write_complex(w, name, object),
        Some(Value::String(text)) if name == "div" => {
            // The narrative is XHTML already (its own namespace): written as is.
            w.get_mut().extend_from_slice(text.as_bytes());
            Ok(())
        }
        Some(Value::Array(_)) => Err(XmlError(format!("an array inside an array at `{name}`"))),
        primitive => write_primitive(w, name, primitive.and_then(primitive_text), companion),
    }
}

fn primitive_text<'v>(value: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s.as_ref())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A datatype or backbone element: `id` (and an extension's `url`) as attributes.
fn write_complex(w: &mut Out, name: &str, object: &Map<'_>) -> Result<(), XmlError> {
    let mut start = BytesStart::new(name);
    let mut attributes = vec!["id"];
    if name == "extension" || name == "modifierExtension" {
        attributes.push("url");
    }
    for attribute in &attributes {
        if let Some(Value::String(value)) = object.get(*attribute) {
            start.push_attribute((*attribute, value.as_ref()));
        }
    }
    let has_children = object
        .keys()
        .any(|k| !attributes.contains(&k.strip_prefix('_').unwrap_or(k)));
    if !has_children {
        return w.write_event(Event::Empty(start)).map_err(io);
    }
    w.write_event(Event::Start(start)).map_err(io)?;
    write_children(w, object, ELEMENT_HEAD, &attributes)?;
    w.write_event(Event::End(BytesEnd::new(name))).map_err(io)
}

/// `<name value="..."/>`, with the companion's `id` and extensions.
fn write_primitive(
    w: &mut Out,
    name: &str,
    value: Option<Cow<'_, str>>,
    companion: Option<&Map<'_>>,
) -> Result<(), XmlError> {
    let mut start = BytesStart::new(name);
    if let Some(Value::String(id)) = companion.and_then(|c| c.get("id")) {
        start.push_attribute(("id", id.as_ref()));
    }
    if let Some(value) = &value {
        start.push_attribute(("value", value.as_ref()));
    }
    let extended = companion.is_some_and(|c| c.keys().any(|k| k != "id"));
    if !extended {
        return w.write_event(Event::Empty(start)).map_err(io);
    }
    w.write_event(Event::Start(start)).map_err(io)?;
    write_children(
        w,
        companion.expect("extended implies a companion"),
        ELEMENT_HEAD,
        &["id"],
    )?;
    w.write_event(Event::End(BytesEnd::new(name))).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(json: &str) -> String {
        String::from_utf8(from_json(json.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn resources_primitives_and_attributes_follow_the_xml_rules() {
        let out = xml(
            r#"{"resourceType":"Practitioner","id":"p1","meta":{"versionId":"2","lastUpdated":"2026-11-01T00:00:00Z","extension":[{"url":"http://x/e","valueCode":"A&B"}],"profile":["http://p"]},"active":true,"name":[{"family":"Dupont","given":["Jean","Marie"]}],"birthDate":"1970-01-01","_birthDate":{"id":"b","extension":[{"url":"http://x/precision","valueInteger":3}]}}"#,
        );
        assert_eq!(
            out,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<Practitioner xmlns="http://hl7.org/fhir"><id value="p1"/>"#,
                r#"<meta><extension url="http://x/e"><valueCode value="A&amp;B"/></extension>"#,
                r#"<versionId value="2"/><lastUpdated value="2026-11-01T00:00:00Z"/><profile value="http://p"/></meta>"#,
                r#"<active value="true"/><name><family value="Dupont"/><given value="Jean"/><given value="Marie"/></name>"#,
                r#"<birthDate id="b" value="1970-01-01"><extension url="http://x/precision"><valueInteger value="3"/></extension></birthDate>"#,
                r#"</Practitioner>"#
            )
        );
    }

    #[test]
    fn escaped_strings_numbers_and_keys_read_as_json_reads_them() {
        // Strings with escapes are unescaped (not borrowed), numbers keep serde_json's text.
        let out = xml(
            r#"{"resourceType":"Basic","id":"b","n\u0061me":[{"text":"a\"b\u00e9<\n"}],"valueDecimal":1.50,"count":-3,"big":18446744073709551615}"#,
        );
        assert!(out.contains(r#"<name><text value="a&quot;bé&lt;"#), "{out}");
        assert!(out.contains(r#"<valueDecimal value="1.5"/>"#), "{out}");
        assert!(out.contains(r#"<count value="-3"/>"#), "{out}");
        assert!(
            out.contains(r#"<big value="18446744073709551615"/>"#),
            "{out}"
        );
        assert!(from_json(b"[1]").is_err());
        assert!(from_json(br#"{"resourceType":"Basic","a":}"#).is_err());
    }

    #[test]
    fn nested_resources_are_wrapped_and_primitive_arrays_pair_with_their_companions() {
        let out = xml(
            r#"{"resourceType":"Bundle","type":"searchset","total":1,"link":[{"relation":"self","url":"http://s/fhir/X?a=1&b=2"}],"entry":[{"fullUrl":"http://s/fhir/Organization/o","resource":{"resourceType":"Organization","id":"o","alias":["a",null],"_alias":[null,{"extension":[{"url":"http://u","valueString":"x"}]}]},"search":{"mode":"match"}}]}"#,
        );
        assert!(
            out.contains(
                r#"<link><relation value="self"/><url value="http://s/fhir/X?a=1&amp;b=2"/></link>"#
            ),
            "{out}"
        );
        assert!(out.contains(r#"<resource><Organization xmlns="http://hl7.org/fhir"><id value="o"/><alias value="a"/><alias><extension url="http://u"><valueString value="x"/></extension></alias></Organization></resource>"#), "{out}");
        assert!(out.contains(r#"<total value="1"/>"#), "{out}");
    }
}
