//! CodeSystem search and the `$lookup` operation, over the code systems of the generation
//! served (see [`crate::mapping::codesystem`]).
//!
//! A scan of a few dozen small systems, in memory: no index, no paging (one page holds them
//! all), no admission queue. The search parameters are declared once, in
//! `conformance/terminology.json` (not with the indexed types' in `search-parameters.json`,
//! whose declarations drive index building: CodeSystem has no index); that file names the
//! parameters this module recognizes and the CapabilityStatement declares. This module is their
//! evaluation, as [`super::query`] is for the indexed types'.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use super::shared_params::{QueryError, is_presentation};
use crate::mapping::codesystem::{CodeSystem, CodeSystems};

/// The search parameters of CodeSystem, as declared in `conformance/terminology.json`.
fn parameters() -> &'static [String] {
    static CODES: OnceLock<Vec<String>> = OnceLock::new();
    CODES.get_or_init(|| {
        crate::conformance::terminology()
            .search_params
            .into_iter()
            .map(|p| p.code)
            .collect()
    })
}

/// One parameter's values (OR) and how they compare.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Criterion {
    /// `_id`: the resource id, exactly.
    Id(Vec<String>),
    /// `url` and `system` (R4: "the system for any codes defined by this code system (same
    /// as 'url')"): the canonical URL, exactly.
    Url(Vec<String>),
    /// `name`, `title`: string, starts with, ignoring case (`:exact`: equal).
    Text {
        title: bool,
        exact: bool,
        values: Vec<String>,
    },
    /// `code`: a code the system holds (`code`, or `system|code`).
    Code(Vec<(Option<String>, String)>),
}

/// A parsed CodeSystem search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSystemSearch {
    criteria: Vec<Criterion>,
    /// Unknown parameters ignored (lenient handling), said in the Bundle.
    pub ignored: Vec<String>,
}

/// Splits a parameter value on unescaped commas (OR), unescaping `\,`.
fn or_values(value: &str) -> Vec<String> {
    let mut values = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    values.last_mut().expect("one value").push(next);
                }
            }
            ',' => values.push(String::new()),
            c => values.last_mut().expect("one value").push(c),
        }
    }
    values
}

/// Parses a CodeSystem search. Parameters this server recognizes but cannot honour on
/// CodeSystem (result parameters such as `_count` or `_sort`, chains, modifiers other than
/// `:exact` on a string) are refused whatever the handling: answering without them would
/// answer more, or otherwise, than was asked. Unknown parameters are refused when `strict`,
/// else ignored and named in the Bundle.
pub fn parse_search(
    params: &[(String, String)],
    strict: bool,
) -> Result<CodeSystemSearch, QueryError> {
    let mut search = CodeSystemSearch::default();
    for (key, value) in params {
        if is_presentation(key) {
            continue;
        }
        let (name, modifier) = match key.split_once(':') {
            Some((name, modifier)) => (name, Some(modifier)),
            None => (key.as_str(), None),
        };
        if !parameters().iter().any(|p| p == name) {
            let reason = format!("`{key}` is not a search parameter of CodeSystem");
            if strict || name.starts_with('_') || name.contains('.') {
                return Err(QueryError::Unsupported(format!(
                    "{reason} (CodeSystem is searched by {} only)",
                    parameters().join(", ")
                )));
            }
            search.ignored.push(reason);
            continue;
        }
        if value.is_empty() {
            return Err(QueryError::invalid(key, value, "a value is required"));
        }
        let is_text = matches!(name, "name" | "title");
        let exact = match modifier {
            None => false,
            Some("exact") if is_text => true,
            Some(modifier) => {
                return Err(QueryError::Unsupported(format!(
                    "the modifier `:{modifier}` is not supported on CodeSystem's `{name}`"
                )));
            }
        };
        let values = or_values(value);
        search.criteria.push(match name {
            "_id" => Criterion::Id(values),
            "url" | "system" => Criterion::Url(values),
            "code" => Criterion::Code(
                values
                    .into_iter()
                    .map(|v| match v.split_once('|') {
                        Some((system, code)) => (Some(system.to_owned()), code.to_owned()),
                        None => (None, v),
                    })
                    .collect(),
            ),
            "name" | "title" => Criterion::Text {
                title: name == "title",
                exact,
                values,
            },
            other => {
                return Err(QueryError::Unsupported(format!(
                    "`{other}` is declared for CodeSystem but not evaluated by this build"
                )));
            }
        });
    }
    Ok(search)
}

impl Criterion {
    fn matches(&self, system: &CodeSystem<'_>) -> bool {
        match self {
            Criterion::Id(ids) => ids.contains(&system.id()),
            Criterion::Url(urls) => urls.iter().any(|u| u == system.url()),
            Criterion::Text {
                title,
                exact,
                values,
            } => {
                let text = if *title {
                    system.title()
                } else {
                    system.name()
                };
                values.iter().any(|v| {
                    if *exact {
                        text == *v
                    } else {
                        text.to_lowercase().starts_with(&v.to_lowercase())
                    }
                })
            }
            Criterion::Code(codes) => codes.iter().any(|(url, code)| {
                url.as_deref()
                    .is_none_or(|u| u.is_empty() || u == system.url())
                    && system.display(code).is_some()
            }),
        }
    }
}

/// The searchset Bundle of the systems matching `search`, all on one page. `self_link` is the
/// request's URL as the Bundle names it; `last_updated` the generation's stamp.
pub fn search(
    systems: &CodeSystems,
    search: &CodeSystemSearch,
    base: &str,
    self_link: &str,
    last_updated: &str,
) -> Value {
    let mut entries: Vec<Value> = systems
        .iter()
        .filter(|system| search.criteria.iter().all(|c| c.matches(system)))
        .map(|system| {
            json!({
                "fullUrl": format!("{base}/CodeSystem/{}", system.id()),
                "resource": system.resource(last_updated),
                "search": {"mode": "match"},
            })
        })
        .collect();
    let total = entries.len();
    if !search.ignored.is_empty() {
        let issues: Vec<Value> = search
            .ignored
            .iter()
            .map(|reason| json!({"severity": "warning", "code": "not-supported", "diagnostics": format!("ignored: {reason}")}))
            .collect();
        entries.push(json!({
            "resource": {"resourceType": "OperationOutcome", "issue": issues},
            "search": {"mode": "outcome"},
        }));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "meta": {"lastUpdated": last_updated},
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_link}],
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

/// What a `$lookup` asks for: a code, in a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub system: String,
    pub code: String,
}

/// The `$lookup` input parameters this server reads (R4 OperationDefinition
/// `CodeSystem-lookup`): `code` + `system`, or `coding`. `displayLanguage` (the labels are
/// French, and only French) and `property` (none is kept beyond the display) are accepted and
/// change nothing. `version` and `date` are refused: the labels have no version to choose
/// from, and answering for another one would be answering something else.
const LOOKUP_READ: [&str; 3] = ["code", "system", "coding"];
const LOOKUP_ACCEPTED: [&str; 2] = ["displayLanguage", "property"];

/// The parameters of a `$lookup`, from a query string or the `parameter`s of a `Parameters`
/// body, as name and value (a `coding` as `system|code`). `instance` is the system of
/// `CodeSystem/{id}/$lookup`, which a `system` parameter may only repeat.
pub fn parse_lookup(
    params: &[(String, String)],
    instance: Option<&str>,
) -> Result<Lookup, QueryError> {
    let mut found: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in params {
        if is_presentation(name) || LOOKUP_ACCEPTED.contains(&name.as_str()) {
            continue;
        }
        if !LOOKUP_READ.contains(&name.as_str()) {
            return Err(QueryError::Unsupported(format!(
                "`{name}` is not a parameter of $lookup here (it takes code and system, or coding; displayLanguage and property are accepted)"
            )));
        }
        if found.insert(name, value).is_some() {
            return Err(QueryError::invalid(name, value, "given more than once"));
        }
    }
    let (system, code): (Option<&str>, &str) = match (found.get("coding"), found.get("code")) {
        (Some(_), Some(_)) => {
            return Err(QueryError::Unsupported(
                "$lookup takes `code` (with `system`) or `coding`, not both".into(),
            ));
        }
        (Some(coding), None) => {
            let (system, code) = coding.split_once('|').unwrap_or(("", coding));
            (Some(system), code)
        }
        (None, Some(code)) => (found.get("system").copied(), *code),
        (None, None) => {
            return Err(QueryError::Unsupported(
                "$lookup needs the `code` to look up (and its `system`, or a `coding`)".into(),
            ));
        }
    };
    if code.is_empty() {
        return Err(QueryError::invalid("code", code, "a code is required"));
    }
    let system = match (instance, system.filter(|s| !s.is_empty())) {
        (Some(own), Some(given)) if own != given => {
            return Err(QueryError::invalid(
                "system",
                given,
                format!("this CodeSystem is {own}"),
            ));
        }
        (Some(own), _) => own,
        (None, Some(given)) => given,
        (None, None) => {
            return Err(QueryError::Unsupported(
                "$lookup on CodeSystem needs the `system` of the code (or CodeSystem/{id}/$lookup)"
                    .into(),
            ));
        }
    };
    Ok(Lookup {
        system: system.to_owned(),
        code: code.to_owned(),
    })
}

/// Why a `$lookup` has no answer: the system, or the code in it, is not known here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupMiss {
    #[error(
        "the code system `{0}` is not one this server knows (GET CodeSystem lists those it holds)"
    )]
    System(String),
    #[error(
        "the code `{code}` is not in {system} as this server holds it (only the codes met in the extraction files are)"
    )]
    Code { system: String, code: String },
}

/// The `$lookup` answer (R4 `CodeSystem-lookup` out parameters): `name` (the system's
/// title) and `display` (the label kept for the code, the codings' own display).
pub fn lookup(systems: &CodeSystems, lookup: &Lookup) -> Result<Value, LookupMiss> {
    let system = systems
        .by_url(&lookup.system)
        .ok_or_else(|| LookupMiss::System(lookup.system.clone()))?;
    let display = system
        .display(&lookup.code)
        .ok_or_else(|| LookupMiss::Code {
            system: lookup.system.clone(),
            code: lookup.code.clone(),
        })?;
    Ok(json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "name", "valueString": system.title()},
            {"name": "display", "valueString": display},
        ],
    }))
}

/// The parameters of a `Parameters` resource given to `$lookup` by POST, as name and value
/// (`valueCode`, `valueUri`, `valueString`...; a `valueCoding` as `system|code`).
pub fn parameters_body(body: &Value) -> Result<Vec<(String, String)>, QueryError> {
    let refused = |why: &str| QueryError::Unsupported(format!("the body of POST $lookup {why}"));
    if body["resourceType"] != "Parameters" {
        return Err(refused("must be a Parameters resource"));
    }
    let mut out = Vec::new();
    for parameter in body["parameter"].as_array().into_iter().flatten() {
        let name = parameter["name"]
            .as_str()
            .ok_or_else(|| refused("has a parameter without a name"))?;
        let object = parameter.as_object().into_iter().flatten();
        let value = object
            .filter(|(key, _)| key.starts_with("value"))
            .map(|(_, value)| value)
            .next();
        let text = match value {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Object(coding)) => format!(
                "{}|{}",
                coding.get("system").and_then(Value::as_str).unwrap_or(""),
                coding.get("code").and_then(Value::as_str).unwrap_or("")
            ),
            Some(Value::Bool(b)) => b.to_string(),
            _ => return Err(refused(&format!("has no usable value for `{name}`"))),
        };
        out.push((name.to_owned(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_declared_parameter_is_evaluated() {
        for code in parameters() {
            parse_search(&pairs(&[(code, "x")]), true).unwrap();
        }
    }

    #[test]
    fn recognized_but_unsupported_parameters_are_refused_even_when_lenient() {
        for key in [
            "_count",
            "_sort",
            "_summary",
            "url:below",
            "name:contains",
            "x.y",
        ] {
            assert!(parse_search(&pairs(&[(key, "1")]), false).is_err(), "{key}");
        }
        let lenient = parse_search(&pairs(&[("unknown", "1")]), false).unwrap();
        assert_eq!(lenient.ignored.len(), 1);
        assert!(parse_search(&pairs(&[("unknown", "1")]), true).is_err());
    }

    #[test]
    fn lookup_takes_code_and_system_or_a_coding() {
        let l = parse_lookup(&pairs(&[("system", "s"), ("code", "c")]), None).unwrap();
        assert_eq!((l.system.as_str(), l.code.as_str()), ("s", "c"));
        let l = parse_lookup(&pairs(&[("coding", "s|c")]), None).unwrap();
        assert_eq!((l.system.as_str(), l.code.as_str()), ("s", "c"));
        let l = parse_lookup(&pairs(&[("code", "c")]), Some("own")).unwrap();
        assert_eq!(l.system, "own");
        for bad in [
            pairs(&[("code", "c")]),
            pairs(&[("system", "s")]),
            pairs(&[("system", "s"), ("code", "c"), ("version", "1")]),
            pairs(&[("system", "s"), ("code", "c"), ("coding", "s|c")]),
        ] {
            assert!(parse_lookup(&bad, None).is_err(), "{bad:?}");
        }
        assert!(parse_lookup(&pairs(&[("system", "other"), ("code", "c")]), Some("own")).is_err());
    }
}
