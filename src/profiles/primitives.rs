//! The FHIR R4 primitive types: their JSON kind and regular expression, read from
//! `profiles/datatypes.json` and compiled once (R4 datatypes page: "Primitive Types").

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::constraints::LIBRARY;
use super::findings::Kind;

/// A primitive type as validation checks it.
pub struct Primitive {
    pub kind: Kind,
    /// Anchored: the whole lexical form must match.
    regex: Option<Regex>,
}

/// Why a primitive value is wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum PrimitiveFault {
    /// A JSON kind other than the type's (`"true"` for a boolean).
    Kind(Kind),
    /// The lexical form does not match the type's regular expression.
    Lexical,
}

impl Primitive {
    /// Checks a JSON value (not null, not an object or array) against the type.
    pub fn check(&self, value: &Value) -> Result<(), PrimitiveFault> {
        let lexical = match (self.kind, value) {
            (Kind::Boolean, Value::Bool(b)) => b.to_string(),
            (Kind::Number, Value::Number(n)) => n.to_string(),
            (Kind::String, Value::String(s)) => s.clone(),
            _ => return Err(PrimitiveFault::Kind(self.kind)),
        };
        match &self.regex {
            Some(re) if !re.is_match(&lexical) => Err(PrimitiveFault::Lexical),
            _ => Ok(()),
        }
    }
}

static PRIMITIVES: LazyLock<HashMap<String, Primitive>> = LazyLock::new(|| {
    LIBRARY
        .datatypes
        .primitives
        .iter()
        .map(|(name, p)| {
            let regex = p.regex.as_ref().map(|r| {
                Regex::new(&format!("^(?:{r})$"))
                    .unwrap_or_else(|e| panic!("datatypes.json: regex of {name}: {e}"))
            });
            let primitive = Primitive {
                kind: kind_named(&p.json),
                regex,
            };
            (name.clone(), primitive)
        })
        .collect()
});

fn kind_named(json: &str) -> Kind {
    match json {
        "boolean" => Kind::Boolean,
        "number" => Kind::Number,
        _ => Kind::String,
    }
}

/// The FHIRPath system types some snapshot elements are typed with (`Element.id`,
/// `Extension.url`) when the file does not say which FHIR type they stand for.
const SYSTEM: &str = "http://hl7.org/fhirpath/System.";

/// Whether type `code` is a primitive (lower-case first letter in FHIR, or a FHIRPath system
/// type).
pub fn is_primitive(code: &str) -> bool {
    code.starts_with(SYSTEM) || code.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// The primitive type `code` as checked; `None` when the table does not have it (its values
/// are then not checked).
pub fn primitive(code: &str) -> Option<&'static Primitive> {
    let name = match code.strip_prefix(SYSTEM) {
        Some("String") => "string",
        Some("Boolean") => "boolean",
        Some("Integer") => "integer",
        Some("Decimal") => "decimal",
        Some("Date") => "date",
        Some("DateTime") => "dateTime",
        Some("Time") => "time",
        Some(other) => other,
        None => code,
    };
    PRIMITIVES.get(name)
}

/// The JSON kind of primitive type `code` (string when unknown: most primitives are).
pub fn kind_of(code: &str) -> Kind {
    primitive(code).map_or(Kind::String, |p| p.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fhirpath_system_types_are_primitives() {
        assert!(is_primitive("http://hl7.org/fhirpath/System.String"));
        assert!(is_primitive("dateTime"));
        assert!(!is_primitive("CodeableConcept"));
    }

    #[test]
    fn a_primitive_checks_its_json_kind_and_its_lexical_form() {
        let Some(boolean) = primitive("boolean") else {
            return; // datatypes.json without primitives: nothing to check
        };
        assert_eq!(boolean.check(&json!(true)), Ok(()));
        assert_eq!(
            boolean.check(&json!("true")),
            Err(PrimitiveFault::Kind(Kind::Boolean))
        );
        let date = primitive("date").expect("date is in datatypes.json");
        assert_eq!(date.check(&json!("2025-07-14")), Ok(()));
        assert_eq!(
            date.check(&json!("14/07/2025")),
            Err(PrimitiveFault::Lexical)
        );
        let integer = primitive("integer").expect("integer is in datatypes.json");
        assert_eq!(integer.check(&json!(15)), Ok(()));
        assert_eq!(integer.check(&json!(15.5)), Err(PrimitiveFault::Lexical));
    }
}
