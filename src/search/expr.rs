//! The subset of FHIRPath the search parameter declarations use, evaluated over a resource's
//! JSON: dotted paths, `|` unions, `.where(path = 'literal')` and `.value` (an extension's
//! `value[x]`). The path inside `where()` may itself hold `where()`s; the condition holds when
//! any value the path yields equals the literal. It runs at import time only (indexing), never on the request path.

use crate::fhir::node::Node;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Where { path: Vec<Step>, equals: String },
}

/// A parsed search parameter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    paths: Vec<Vec<Step>>,
}

impl Expression {
    /// Parses `expr`, whose paths may start with a resource type name or `Resource`.
    pub fn parse(expr: &str) -> Result<Expression, String> {
        let paths = split_top_level(expr, '|')
            .into_iter()
            .map(|path| parse_path(path.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expression { paths })
    }

    /// The nodes `resource_type`'s resource yields. A path that names another resource type
    /// yields nothing.
    pub fn evaluate<'n, 'j>(
        &self,
        resource_type: &str,
        resource: &'n Node<'j>,
    ) -> Vec<&'n Node<'j>> {
        let mut out = Vec::new();
        for steps in self.paths_of(resource_type) {
            let mut nodes = vec![resource];
            for step in steps {
                nodes = apply(step, nodes);
            }
            out.extend(nodes);
        }
        out
    }

    /// The steps of each path that applies to `resource_type`, after its leading type name
    /// (a path naming another resource type applies to none).
    fn paths_of<'e, 't>(
        &'e self,
        resource_type: &'t str,
    ) -> impl Iterator<Item = &'e [Step]> + use<'e, 't> {
        self.paths
            .iter()
            .filter_map(move |path| match path.first() {
                Some(Step::Field(first)) if starts_upper(first) => {
                    (first == resource_type || first == "Resource").then(|| &path[1..])
                }
                _ => Some(&path[..]),
            })
    }

    /// The top-level elements of `resource_type` the expression reads (`telecom` for
    /// `Practitioner.telecom.where(...).value`): what access control checks a search against.
    pub fn top_elements(&self, resource_type: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for steps in self.paths_of(resource_type) {
            if let Some(Step::Field(element)) = steps.first()
                && !out.contains(&element.as_str())
            {
                out.push(element.as_str());
            }
        }
        out
    }
}

fn starts_upper(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

fn apply<'n, 'j>(step: &Step, nodes: Vec<&'n Node<'j>>) -> Vec<&'n Node<'j>> {
    let mut out = Vec::new();
    for node in nodes {
        match step {
            Step::Field(name) => {
                let Node::Object(pairs) = node else { continue };
                let child = match node.get(name) {
                    Some(child) => Some(child),
                    // `.value` on an extension is its polymorphic `value[x]`.
                    None if name == "value" => pairs
                        .iter()
                        .find(|(k, _)| {
                            k.len() > 5
                                && k.starts_with("value")
                                && k[5..].starts_with(char::is_uppercase)
                        })
                        .map(|(_, v)| v),
                    None => None,
                };
                match child {
                    Some(Node::Array(items)) => out.extend(items.iter()),
                    Some(value) => out.push(value),
                    None => {}
                }
            }
            Step::Where { path, equals } => {
                let mut values = vec![node];
                for inner in path {
                    values = apply(inner, values);
                }
                if values.iter().any(|v| v.as_str() == Some(equals.as_str())) {
                    out.push(node);
                }
            }
        }
    }
    out
}

/// Splits on `separator` outside quotes and parentheses.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            c if c == separator && !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for part in split_top_level(path, '.') {
        let part = part.trim();
        if let Some(inner) = part
            .strip_prefix("where(")
            .and_then(|p| p.strip_suffix(')'))
        {
            let [field, literal] = split_top_level(inner, '=')[..] else {
                return Err(format!(
                    "unsupported where() condition `{inner}` in `{path}`"
                ));
            };
            let literal = literal.trim();
            let equals = literal
                .strip_prefix('\'')
                .and_then(|l| l.strip_suffix('\''))
                .ok_or_else(|| format!("where() needs a quoted literal in `{path}`"))?;
            steps.push(Step::Where {
                path: parse_path(field.trim())?,
                equals: equals.to_owned(),
            });
        } else if !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_') {
            steps.push(Step::Field(part.to_owned()));
        } else {
            return Err(format!("unsupported expression step `{part}` in `{path}`"));
        }
    }
    Ok(steps)
}

/// String values of a node for a `string` parameter: the node itself, or the string parts of
/// a HumanName, an Address or a Coding.
pub fn strings<'n>(node: &'n Node<'_>) -> Vec<&'n str> {
    const PARTS: [&str; 11] = [
        "text",
        "family",
        "given",
        "prefix",
        "suffix",
        "line",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
    ];
    match node {
        Node::String(s) => vec![s.as_ref()],
        Node::Object(_) => {
            let mut out = Vec::new();
            for key in PARTS {
                match node.get(key) {
                    Some(Node::String(s)) => out.push(s.as_ref()),
                    Some(Node::Array(items)) => out.extend(items.iter().filter_map(Node::as_str)),
                    _ => {}
                }
            }
            if out.is_empty() {
                // A Coding under a string parameter (address-insee): its code.
                out.extend(node.get("code").and_then(Node::as_str));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// One value of a `token` parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Token<'a> {
    pub system: Option<&'a str>,
    pub code: Option<&'a str>,
    /// Text for `:text` (CodeableConcept.text, Coding.display, Identifier.type.text).
    pub text: Option<&'a str>,
    /// Identifier.type codings, for `:of-type`.
    pub types: Vec<(&'a str, &'a str)>,
}

/// Token values of a node: a code or boolean, a Coding, a CodeableConcept, an Identifier or a
/// ContactPoint.
pub fn tokens<'n>(node: &'n Node<'_>) -> Vec<Token<'n>> {
    match node {
        Node::String(s) => vec![Token {
            code: Some(s.as_ref()),
            ..Token::default()
        }],
        Node::Bool(b) => vec![Token {
            code: Some(if *b { "true" } else { "false" }),
            ..Token::default()
        }],
        Node::Object(_) => {
            let str_of = |key: &str| node.get(key).and_then(Node::as_str);
            if let Some(Node::Array(codings)) = node.get("coding") {
                let mut out: Vec<Token<'n>> = codings.iter().flat_map(tokens).collect();
                if let Some(text) = str_of("text") {
                    out.push(Token {
                        text: Some(text),
                        ..Token::default()
                    });
                }
                return out;
            }
            if let Some(code) = str_of("code") {
                return vec![Token {
                    system: str_of("system"),
                    code: Some(code),
                    text: str_of("display"),
                    types: Vec::new(),
                }];
            }
            if let Some(value) = str_of("value") {
                let kind = node.get("type");
                let types = kind
                    .and_then(|t| t.get("coding"))
                    .and_then(Node::as_array)
                    .map(|codings| {
                        codings
                            .iter()
                            .filter_map(|c| {
                                Some((c.get("system")?.as_str()?, c.get("code")?.as_str()?))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return vec![Token {
                    system: str_of("system"),
                    code: Some(value),
                    text: kind.and_then(|t| t.get("text")).and_then(Node::as_str),
                    types,
                }];
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// The literal reference of a Reference node (`Practitioner/pp-...`).
pub fn reference<'n>(node: &'n Node<'_>) -> Option<&'n str> {
    node.get("reference").and_then(Node::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parses a `json!` value into a node (owned strings: the text is temporary).
    fn node(value: serde_json::Value) -> Node<'static> {
        let text: &'static [u8] = Box::leak(value.to_string().into_bytes().into_boxed_slice());
        Node::parse(text).unwrap()
    }

    #[test]
    fn paths_unions_and_type_prefixes() {
        let org = node(json!({"resourceType": "Organization", "name": "CH", "alias": ["A", "B"]}));
        let expr = Expression::parse("Organization.name | Organization.alias").unwrap();
        let values: Vec<_> = expr
            .evaluate("Organization", &org)
            .into_iter()
            .flat_map(strings)
            .collect();
        assert_eq!(values, ["CH", "A", "B"]);
        assert!(expr.evaluate("Practitioner", &org).is_empty());
    }

    #[test]
    fn where_and_polymorphic_value() {
        let trace =
            "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-data-trace";
        let resource = node(json!({"meta": {"extension": [{"url": trace, "extension": [
            {"url": "autorite-enregistrement", "valueCodeableConcept": {"coding": [{"system": "S", "code": "CNOM"}]}},
            {"url": "systeme-information", "valueCode": "RPPS"}]}]}}));
        let expr = Expression::parse(&format!(
            "meta.extension.where(url='{trace}').extension.where(url='systeme-information').value"
        ))
        .unwrap();
        let found: Vec<_> = expr
            .evaluate("Practitioner", &resource)
            .into_iter()
            .flat_map(tokens)
            .collect();
        assert_eq!(found[0].code, Some("RPPS"));
        let expr = Expression::parse(&format!(
            "meta.extension.where(url = '{trace}').extension.where(url = 'autorite-enregistrement').value"
        ))
        .unwrap();
        let found: Vec<_> = expr
            .evaluate("Practitioner", &resource)
            .into_iter()
            .flat_map(tokens)
            .collect();
        assert_eq!((found[0].system, found[0].code), (Some("S"), Some("CNOM")));
    }

    #[test]
    fn where_on_a_nested_path() {
        let email_type =
            "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type";
        let resource = node(json!({"telecom": [
            {"system": "email", "value": "plain@example.fr"},
            {"extension": [{"url": email_type, "valueCoding": {"code": "MSSANTE"}}],
             "system": "email", "value": "a@x.mssante.fr"}]}));
        let expr = Expression::parse(&format!(
            "telecom.where(extension.where(url='{email_type}').value.code='MSSANTE').value"
        ))
        .unwrap();
        let found: Vec<_> = expr
            .evaluate("Practitioner", &resource)
            .into_iter()
            .flat_map(strings)
            .collect();
        assert_eq!(found, ["a@x.mssante.fr"]);
        assert!(Expression::parse("telecom.where(a='1'='2')").is_err());
    }

    #[test]
    fn datatype_values() {
        let name = node(json!({"family": "MARTINOT", "given": ["Claire"], "suffix": ["DR"]}));
        assert_eq!(strings(&name), ["MARTINOT", "Claire", "DR"]);
        let id = node(
            json!({"system": "urn:oid:1", "value": "81", "type": {"coding": [{"system": "T", "code": "IDNPS"}]}}),
        );
        let token = &tokens(&id)[0];
        assert_eq!((token.system, token.code), (Some("urn:oid:1"), Some("81")));
        assert_eq!(token.types, [("T", "IDNPS")]);
        assert_eq!(tokens(&node(json!(true)))[0].code, Some("true"));
        assert_eq!(
            reference(&node(json!({"reference": "Organization/eg-1"}))),
            Some("Organization/eg-1")
        );
    }

    #[test]
    fn unsupported_syntax_is_an_error() {
        assert!(Expression::parse("Practitioner.name.first()").is_err());
        assert!(Expression::parse("x.where(url)").is_err());
    }
}
