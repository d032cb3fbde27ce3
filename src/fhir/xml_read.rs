//! FHIR XML to FHIR JSON (R4, http://hl7.org/fhir/R4/xml.html and json.html): the reverse of
//! [`super::xml`], so that a body posted in XML is checked by the same JSON walk as one posted
//! in JSON.
//!
//! XML does not say what JSON needs: whether an element repeats (a JSON array even with one
//! value) and whether a primitive is a JSON boolean, number or string. The caller answers that
//! per element path through a [`Shapes`] callback (the profiles know it; this layer cannot
//! import them). The rules applied, those of the writer backwards:
//! - the root is a resource, in the `http://hl7.org/fhir` namespace; an element whose child is
//!   an element named with a capital (`resource`, `contained`) holds a resource, whose paths
//!   start again at its type;
//! - an element with a `value` attribute is a primitive (and so is one the shape says is
//!   primitive); its `id` attribute and `extension` children go to its `_name` companion,
//!   paired by position with the values when the element repeats;
//! - the `id` attribute of any other element, and `url` of an extension, are properties;
//! - the XHTML `div` is kept as a string, as it is written;
//! - an element the shapes do not know becomes a property (an array when it is repeated), so
//!   that validation reports it as unknown rather than the reader refusing it;
//! - depth and element count are capped: a hostile body costs bounded work.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use super::xml::NAMESPACE;

/// The JSON kind of an element's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Boolean,
    Number,
    String,
    /// A complex datatype, a backbone element or a resource.
    Object,
}

/// The JSON shape of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// A JSON array, even with one value.
    pub repeats: bool,
    pub kind: JsonKind,
}

/// The shape of the element at a path of FHIR element names from the resource type, choice
/// elements under their JSON name (`Organization.extension.valuePeriod.start`); `None` for an
/// element it does not know.
pub type Shapes<'a> = &'a dyn Fn(&str) -> Option<Shape>;

/// How much a document may hold.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Elements nested in one another, the root counting one.
    pub max_depth: usize,
    /// Elements in the document.
    pub max_elements: usize,
}

impl Default for ReadLimits {
    /// Far beyond any resource of the directory (depth about 10, a few hundred elements).
    fn default() -> ReadLimits {
        ReadLimits {
            max_depth: 64,
            max_elements: 20_000,
        }
    }
}

/// Why a document is not FHIR XML; the message is for the client (no internal detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not FHIR XML: {0}")]
pub struct XmlReadError(String);

fn fail(message: impl Into<String>) -> XmlReadError {
    XmlReadError(message.into())
}

/// The JSON resource a FHIR XML document holds.
pub fn to_json(xml: &[u8], shapes: Shapes, limits: ReadLimits) -> Result<Value, XmlReadError> {
    let text = std::str::from_utf8(xml).map_err(|_| fail("the document is not UTF-8"))?;
    let root = parse_tree(text, limits)?;
    if !root.in_fhir_namespace() {
        return Err(fail(format!(
            "the root element `{}` is not in the {NAMESPACE} namespace",
            root.name
        )));
    }
    resource(&root, shapes)
}

/// An XML element as read: its local name, attributes, child elements, and for the narrative
/// its markup as written.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    xhtml: Option<String>,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn in_fhir_namespace(&self) -> bool {
        self.attributes
            .iter()
            .any(|(n, v)| (n == "xmlns" || n.starts_with("xmlns:")) && v == NAMESPACE)
    }

    /// The resource this element wraps (`<resource><Practitioner>`), if it wraps one.
    fn wrapped_resource(&self) -> Option<&Element> {
        match self.children.as_slice() {
            [only] if only.name.starts_with(|c: char| c.is_ascii_uppercase()) => Some(only),
            _ => None,
        }
    }
}

/// Reads the document into its element tree, within `limits`.
fn parse_tree(text: &str, limits: ReadLimits) -> Result<Element, XmlReadError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut elements = 0usize;
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|e| fail(format!("{e}")))?;
        match event {
            Event::Start(start) => {
                admit(&mut elements, stack.len(), root.is_some(), limits)?;
                let mut element = element(&start)?;
                if element.name == "div" {
                    let inner = reader
                        .read_to_end(start.name())
                        .map_err(|e| fail(format!("{e}")))?;
                    let markup = &text[inner.start as usize..inner.end as usize];
                    element.xhtml =
                        Some(format!("<{}>{markup}</{}>", &*start, start.name().as_ref()));
                    attach(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::Empty(start) => {
                admit(&mut elements, stack.len(), root.is_some(), limits)?;
                let mut element = element(&start)?;
                if element.name == "div" {
                    element.xhtml = Some(format!("<{}/>", &*start));
                }
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| fail("an end tag with no start"))?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(content) => {
                if !content.trim().is_empty() {
                    return Err(text_content(&stack));
                }
            }
            Event::CData(_) | Event::GeneralRef(_) => return Err(text_content(&stack)),
            Event::DocType(_) => return Err(fail("a DOCTYPE is not allowed")),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(fail("the document ends inside an element"));
    }
    root.ok_or_else(|| fail("the document has no element"))
}

/// Counts one more element opening at `depth` (elements open above it), refused past the
/// limits or after the root has closed.
fn admit(
    elements: &mut usize,
    depth: usize,
    root_closed: bool,
    limits: ReadLimits,
) -> Result<(), XmlReadError> {
    if root_closed {
        return Err(fail("more than one root element"));
    }
    *elements += 1;
    if *elements > limits.max_elements {
        return Err(fail(format!("more than {} elements", limits.max_elements)));
    }
    if depth + 1 > limits.max_depth {
        return Err(fail(format!(
            "elements nested deeper than {} levels",
            limits.max_depth
        )));
    }
    Ok(())
}

/// FHIR XML carries values in attributes: text between tags (outside the narrative) is not FHIR.
fn text_content(stack: &[Element]) -> XmlReadError {
    match stack.last() {
        Some(element) => fail(format!(
            "text content in `{}` (FHIR XML puts values in `value` attributes)",
            element.name
        )),
        None => fail("text outside the root element"),
    }
}

/// Adds a finished element to its parent, or makes it the root.
fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// An element's local name and unescaped attributes.
fn element(start: &BytesStart<'_>) -> Result<Element, XmlReadError> {
    let name = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| fail(format!("in `{name}`: {e}")))?;
        let key = attribute.key.as_ref().to_owned();
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| fail(format!("in `{name}`: {e}")))?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        xhtml: None,
    })
}

/// A resource element as its JSON object: `resourceType` first, then its elements.
fn resource(element: &Element, shapes: Shapes) -> Result<Value, XmlReadError> {
    let mut object = Map::new();
    object.insert("resourceType".into(), Value::String(element.name.clone()));
    members(&mut object, &element.children, &element.name, shapes)?;
    Ok(Value::Object(object))
}

/// The shape of `path`, with the rule every element shares when the callback does not know
/// it: extensions repeat.
fn shape_of(path: &str, name: &str, shapes: Shapes) -> Option<Shape> {
    shapes(path).or_else(|| {
        matches!(name, "extension" | "modifierExtension").then_some(Shape {
            repeats: true,
            kind: JsonKind::Object,
        })
    })
}

/// The children of an object at `path` as its JSON members, grouped by name in the order of
/// their first appearance.
fn members(
    object: &mut Map<String, Value>,
    children: &[Element],
    path: &str,
    shapes: Shapes,
) -> Result<(), XmlReadError> {
    let mut names: Vec<&str> = Vec::new();
    for child in children {
        if !names.contains(&child.name.as_str()) {
            names.push(&child.name);
        }
    }
    for name in names {
        let group: Vec<&Element> = children.iter().filter(|c| c.name == name).collect();
        let child_path = format!("{path}.{name}");
        let shape = shape_of(&child_path, name, shapes);
        let repeats = group.len() > 1 || shape.is_some_and(|s| s.repeats);
        let primitive = group.iter().any(|e| e.attribute("value").is_some())
            || shape.is_some_and(|s| s.kind != JsonKind::Object);
        if primitive {
            let kind = shape.map_or(JsonKind::String, |s| s.kind);
            primitives(object, name, &group, repeats, kind, &child_path, shapes)?;
        } else {
            let mut values = Vec::with_capacity(group.len());
            for element in &group {
                values.push(complex(element, &child_path, shapes)?);
            }
            object.insert(name.to_owned(), collected(values, repeats));
        }
    }
    Ok(())
}

/// One value, or the array of them.
fn collected(mut values: Vec<Value>, repeats: bool) -> Value {
    if repeats || values.len() != 1 {
        Value::Array(values)
    } else {
        values.remove(0)
    }
}

/// A non-primitive element: the narrative, a wrapped resource, or an object.
fn complex(element: &Element, path: &str, shapes: Shapes) -> Result<Value, XmlReadError> {
    if let Some(xhtml) = &element.xhtml {
        return Ok(Value::String(xhtml.clone()));
    }
    if element.attributes.is_empty()
        && let Some(inner) = element.wrapped_resource()
    {
        return resource(inner, shapes);
    }
    let mut object = Map::new();
    for (name, value) in &element.attributes {
        if name != "xmlns" && !name.starts_with("xmlns:") {
            object.insert(name.clone(), Value::String(value.clone()));
        }
    }
    members(&mut object, &element.children, path, shapes)?;
    Ok(Value::Object(object))
}

/// Primitive elements as `name` (values) and `_name` (element ids and extensions).
fn primitives(
    object: &mut Map<String, Value>,
    name: &str,
    group: &[&Element],
    repeats: bool,
    kind: JsonKind,
    path: &str,
    shapes: Shapes,
) -> Result<(), XmlReadError> {
    let mut values = Vec::with_capacity(group.len());
    let mut companions = Vec::with_capacity(group.len());
    for element in group {
        values.push(
            element
                .attribute("value")
                .map_or(Value::Null, |v| typed(v, kind)),
        );
        companions.push(companion(element, path, shapes)?);
    }
    if values.iter().any(|v| !v.is_null()) {
        object.insert(name.to_owned(), collected(values, repeats));
    }
    if companions.iter().any(|c| !c.is_null()) {
        object.insert(format!("_{name}"), collected(companions, repeats));
    }
    Ok(())
}

/// A primitive's `_name` companion: its `id` attribute, other attributes but `value`, and its
/// children (extensions); `null` when it has none.
fn companion(element: &Element, path: &str, shapes: Shapes) -> Result<Value, XmlReadError> {
    let mut object = Map::new();
    for (name, value) in &element.attributes {
        if name != "value" && name != "xmlns" && !name.starts_with("xmlns:") {
            object.insert(name.clone(), Value::String(value.clone()));
        }
    }
    members(&mut object, &element.children, path, shapes)?;
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}

/// A `value` attribute as the JSON kind its element takes; kept as a string when it is not of
/// that kind, so that validation reports it (`"yes"` for a boolean).
fn typed(value: &str, kind: JsonKind) -> Value {
    match kind {
        JsonKind::Boolean => match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value.to_owned()),
        },
        JsonKind::Number => value
            .parse::<serde_json::Number>()
            .map_or_else(|_| Value::String(value.to_owned()), Value::Number),
        JsonKind::String | JsonKind::Object => Value::String(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A few shapes of Practitioner, as the profiles give them.
    fn practitioner_shapes(path: &str) -> Option<Shape> {
        let (repeats, kind) = match path {
            "Practitioner.identifier" | "Practitioner.name" | "Practitioner.name.given" => {
                (true, JsonKind::Object)
            }
            "Practitioner.active" => (false, JsonKind::Boolean),
            "Practitioner.id" | "Practitioner.birthDate" | "Practitioner.identifier.system" => {
                (false, JsonKind::String)
            }
            "Practitioner.extension.valueInteger" => (false, JsonKind::Number),
            "Practitioner.text" | "Practitioner.meta" => (false, JsonKind::Object),
            "Practitioner.meta.profile" => (true, JsonKind::String),
            _ => return None,
        };
        let kind = if path.ends_with("given") {
            JsonKind::String
        } else {
            kind
        };
        Some(Shape { repeats, kind })
    }

    fn read(xml: &str) -> Result<Value, XmlReadError> {
        to_json(xml.as_bytes(), &practitioner_shapes, ReadLimits::default())
    }

    #[test]
    fn values_arrays_companions_and_the_narrative_follow_the_json_rules() {
        let value = read(concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<Practitioner xmlns="http://hl7.org/fhir"><id value="p1"/>"#,
            r#"<meta><profile value="http://p"/></meta>"#,
            r#"<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>a &amp; b</p></div></text>"#,
            r#"<extension url="http://x/e"><valueInteger value="3"/></extension>"#,
            r#"<identifier id="i"><system value="urn:a&amp;b"/></identifier>"#,
            r#"<active value="true"/>"#,
            r#"<name><given value="Jean"/><given id="g"><extension url="http://u"><valueString value="x"/></extension></given></name>"#,
            r#"<birthDate id="b" value="1970-01-01"/>"#,
            r#"</Practitioner>"#
        ))
        .unwrap();
        assert_eq!(
            value,
            json!({
                "resourceType": "Practitioner",
                "id": "p1",
                "meta": {"profile": ["http://p"]},
                "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a &amp; b</p></div>"},
                "extension": [{"url": "http://x/e", "valueInteger": 3}],
                "identifier": [{"id": "i", "system": "urn:a&b"}],
                "active": true,
                "name": [{"given": ["Jean", null], "_given": [null, {"id": "g", "extension": [{"url": "http://u", "valueString": "x"}]}]}],
                "birthDate": "1970-01-01",
                "_birthDate": {"id": "b"},
            })
        );
    }

    #[test]
    fn unknown_elements_are_kept_for_validation_to_report() {
        let value = read(concat!(
            r#"<Practitioner xmlns="http://hl7.org/fhir"><nickname value="x"/>"#,
            r#"<active value="yes"/><identifier><foo value="1"/></identifier>"#,
            r#"<hobby><kind value="a"/></hobby><hobby><kind value="b"/></hobby></Practitioner>"#
        ))
        .unwrap();
        assert_eq!(
            value,
            json!({
                "resourceType": "Practitioner",
                "nickname": "x",
                "active": "yes",
                "identifier": [{"foo": "1"}],
                "hobby": [{"kind": "a"}, {"kind": "b"}],
            })
        );
    }

    #[test]
    fn a_wrapped_resource_starts_its_paths_again() {
        let shapes = |path: &str| match path {
            "Parameters.parameter" => Some(Shape {
                repeats: true,
                kind: JsonKind::Object,
            }),
            _ => practitioner_shapes(path),
        };
        let value = to_json(
            concat!(
                r#"<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="resource"/>"#,
                r#"<resource><Practitioner xmlns="http://hl7.org/fhir"><active value="false"/></Practitioner></resource>"#,
                r#"</parameter></Parameters>"#
            )
            .as_bytes(),
            &shapes,
            ReadLimits::default(),
        )
        .unwrap();
        assert_eq!(
            value,
            json!({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Practitioner", "active": false}}]})
        );
    }

    #[test]
    fn what_is_not_fhir_xml_is_refused_with_a_reason() {
        for (xml, reason) in [
            ("<Practitioner/>", "namespace"),
            ("{\"resourceType\":\"Practitioner\"}", "outside the root"),
            ("", "no element"),
            (
                r#"<Practitioner xmlns="http://hl7.org/fhir"><id value="a"/>"#,
                "ends inside",
            ),
            (
                r#"<Practitioner xmlns="http://hl7.org/fhir"><id>a</id></Practitioner>"#,
                "text content",
            ),
            (
                r#"<!DOCTYPE x [<!ENTITY e "x">]><Practitioner xmlns="http://hl7.org/fhir"/>"#,
                "DOCTYPE",
            ),
            (
                r#"<Practitioner xmlns="http://hl7.org/fhir"></Organization>"#,
                "",
            ),
            (
                r#"<Practitioner xmlns="http://hl7.org/fhir"/><Practitioner xmlns="http://hl7.org/fhir"/>"#,
                "more than one root",
            ),
            (
                r#"<Practitioner xmlns="http://hl7.org/fhir"><id value="&unknown;"/></Practitioner>"#,
                "",
            ),
        ] {
            let error = read(xml).expect_err(xml);
            assert!(error.to_string().contains(reason), "{xml}: {error}");
        }
    }

    #[test]
    fn depth_and_element_count_are_capped() {
        let limits = ReadLimits {
            max_depth: 4,
            max_elements: 10,
        };
        let deep = format!(
            r#"<Practitioner xmlns="http://hl7.org/fhir">{}{}</Practitioner>"#,
            "<a>".repeat(4),
            "</a>".repeat(4)
        );
        let error = to_json(deep.as_bytes(), &practitioner_shapes, limits).unwrap_err();
        assert!(error.to_string().contains("deeper than 4"), "{error}");
        let wide = format!(
            r#"<Practitioner xmlns="http://hl7.org/fhir">{}</Practitioner>"#,
            r#"<b value="1"/>"#.repeat(10)
        );
        let error = to_json(wide.as_bytes(), &practitioner_shapes, limits).unwrap_err();
        assert!(error.to_string().contains("more than 10"), "{error}");
        let fits = format!(
            r#"<Practitioner xmlns="http://hl7.org/fhir">{}</Practitioner>"#,
            r#"<b value="1"/>"#.repeat(9)
        );
        assert!(to_json(fits.as_bytes(), &practitioner_shapes, limits).is_ok());
    }
}
