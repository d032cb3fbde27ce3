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

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, Event};

use super::node::{Members, Node};

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
    let value = Node::parse(json).map_err(io)?;
    let Node::Object(resource) = value else {
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

type Out = Writer<Vec<u8>>;

fn write_resource(w: &mut Out, resource: &Members<'_>) -> Result<(), XmlError> {
    let Some(Node::String(rtype)) = resource.get("resourceType") else {
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
    object: &Members<'_>,
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
    value: Option<&Node<'_>>,
    companion: Option<&Node<'_>>,
) -> Result<(), XmlError> {
    match (value, companion) {
        (Some(Node::Array(items)), companion) => {
            let companions = match companion {
                Some(Node::Array(c)) => c.as_slice(),
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
        (None, Some(Node::Array(companions))) => {
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
    value: Option<&Node<'_>>,
    companion: Option<&Node<'_>>,
) -> Result<(), XmlError> {
    let companion = match companion {
        Some(Node::Object(c)) => Some(c),
        _ => None,
    };
    match value {
        Some(Node::Object(object)) if object.contains_key("resourceType") => {
            w.write_event(Event::Start(BytesStart::new(name)))
                .map_err(io)?;
            write_resource(w, object)?;
            w.write_event(Event::End(BytesEnd::new(name))).map_err(io)
        }
        Some(Node::Object(object)) => write_complex(w, name, object),
        Some(Node::String(text)) if name == "div" => {
            // The narrative is XHTML already (its own namespace): written as is.
            w.get_mut().extend_from_slice(text.as_bytes());
            Ok(())
        }
        Some(Node::Array(_)) => Err(XmlError(format!("an array inside an array at `{name}`"))),
        primitive => write_primitive(w, name, primitive.and_then(primitive_text), companion),
    }
}

fn primitive_text<'v>(value: &'v Node<'_>) -> Option<Cow<'v, str>> {
    match value {
        Node::String(s) => Some(Cow::Borrowed(s.as_ref())),
        Node::Number(n) => Some(Cow::Owned(n.to_string())),
        Node::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A datatype or backbone element: `id` (and an extension's `url`) as attributes.
fn write_complex(w: &mut Out, name: &str, object: &Members<'_>) -> Result<(), XmlError> {
    let mut start = BytesStart::new(name);
    let mut attributes = vec!["id"];
    if name == "extension" || name == "modifierExtension" {
        attributes.push("url");
    }
    for attribute in &attributes {
        if let Some(Node::String(value)) = object.get(attribute) {
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
    companion: Option<&Members<'_>>,
) -> Result<(), XmlError> {
    let mut start = BytesStart::new(name);
    if let Some(Node::String(id)) = companion.and_then(|c| c.get("id")) {
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
