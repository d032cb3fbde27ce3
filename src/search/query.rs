//! Parsing a FHIR search request (R4 §3.1.1) into criteria and result parameters.
//!
//! Values are split on unescaped `,` (OR) and `|`, then unescaped (`\,` `\|` `\$` `\\`).
//! Repeating a parameter ANDs it. A parameter this server does not recognize at all is an
//! error under `Prefer: handling=strict` and is otherwise ignored and reported back. One it
//! recognizes but cannot honour (a deeper chain, a nested `_has`, a modifier the parameter does
//! not take, an include it cannot follow, a FHIR parameter declared in
//! `conformance/refused-parameters.json`) is always refused: ignoring it would widen the
//! search, and a client counting with `_summary=count` would never see the warning.

use std::str::FromStr;

use super::cursor::{BadCursor, Cursor, CursorKey};
use super::date::{self, Prefix, Range};
use super::fold::fold;
use super::limits::{Limits, TooCostly};
use super::params::{ParamType, Registry, SearchParam};
/// The error of every parser of parameters, search's and those it shares with history.
pub use super::shared_params::QueryError;
use super::shared_params::{Count, is_presentation};
use crate::fhir::{FhirId, ResourceType};

fn invalid(parameter: &str, value: &str, reason: impl Into<String>) -> QueryError {
    QueryError::invalid(parameter, value, reason)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    None,
    Exact,
    Contains,
    Missing,
    Not,
    Text,
    OfType,
    Identifier,
    /// uri `:below`: the uris starting with the value.
    Below,
}

/// One value of an OR list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchValue {
    String(String),
    /// `code`, `system|code`, `|code` (system `Some("")`), `system|` (code `None`).
    Token {
        system: Option<String>,
        code: Option<String>,
    },
    OfType {
        type_system: String,
        type_code: String,
        value: String,
    },
    /// A literal reference normalized to `Type/id`.
    Reference(String),
    Date(Prefix, Range),
    /// A uri, whole: a `|` in it (`url|version`) is part of it.
    Uri(String),
    Missing(bool),
}

/// One AND-ed condition.
#[derive(Debug, Clone)]
pub enum Criterion {
    Param {
        param: &'static SearchParam,
        modifier: Modifier,
        values: Vec<SearchValue>,
    },
    /// `reference.param=...`: resources whose reference points at a target matching `inner`.
    Chain {
        reference: &'static SearchParam,
        target: ResourceType,
        inner: Box<Criterion>,
    },
    /// `_has:Source:reference:param=...`: resources some `Source` matching `inner` points at.
    Has {
        source: ResourceType,
        reference: &'static SearchParam,
        inner: Box<Criterion>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    None,
    Estimate,
    Accurate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    False,
    True,
    Text,
    Data,
    Count,
}

/// `_include` / `_revinclude` value: `Source:param[:Target]`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The type whose references are followed; `None` for `*:iterate`, which follows those
    /// of every type reached.
    pub source: Option<ResourceType>,
    /// `None` for `*`.
    pub param: Option<String>,
    pub target: Option<ResourceType>,
    pub iterate: bool,
}

impl Include {
    /// The reference parameters of `source` this include follows: the one it names, or all of
    /// them for `*`, keeping only those pointing at its target type when it names one. The one
    /// answer both the engine (which follows them) and access control (which checks what they
    /// would return) use.
    pub fn followed_params(
        &self,
        source: ResourceType,
    ) -> impl Iterator<Item = (&'static SearchParam, ResourceType)> + '_ {
        Registry::get()
            .references_of(source)
            .filter(|p| self.param.as_deref().is_none_or(|code| code == p.code))
            .filter_map(|p| Some((p, p.target()?)))
            .filter(|(_, target)| self.target.is_none_or(|t| t == *target))
    }
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub param: &'static SearchParam,
    pub descending: bool,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub rtype: ResourceType,
    pub criteria: Vec<Criterion>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    /// Entries per page (`_count`, see [`Count`]).
    pub count: usize,
    pub total: Total,
    pub summary: Summary,
    pub elements: Option<Vec<String>>,
    pub sort: Vec<SortKey>,
    /// Paging cursor (`_cursor`), opaque to clients, decoded.
    pub cursor: Option<Cursor>,
    /// `_list`: the ids of the lists whose members the search is limited to (each ANDed).
    /// Resolved against the local store by `search::lists::criteria` when the search runs.
    pub lists: Vec<String>,
    /// The parameters applied, in canonical form, for the self link.
    pub applied: Vec<(String, String)>,
    /// Parameters or modifiers ignored (lenient handling), with why.
    pub ignored: Vec<String>,
}

/// Splits on an unescaped `separator`.
fn split_unescaped(value: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => {
                    parts.last_mut().expect("one part").push('\\');
                    parts.last_mut().expect("one part").push(next);
                }
                None => parts.last_mut().expect("one part").push('\\'),
            }
        } else if c == separator {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("one part").push(c);
        }
    }
    parts
}

/// Removes escapes: `\,` `\|` `\$` `\\` become the character.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(next) = chars.next()
        {
            out.push(next);
            continue;
        }
        out.push(c);
    }
    out
}

/// Parses `params` (query string or form body pairs) for a search on `rtype`, within the
/// default [`Limits`].
pub fn parse(
    rtype: ResourceType,
    params: &[(String, String)],
    strict: bool,
) -> Result<SearchRequest, QueryError> {
    parse_within(
        rtype,
        params,
        strict,
        &Limits::default(),
        &CursorKey::new(b"tests"),
    )
}

/// Parses `params` for a search on `rtype`; refuses, before any work, what would cost more than
/// `limits` allow.
pub fn parse_within(
    rtype: ResourceType,
    params: &[(String, String)],
    strict: bool,
    limits: &Limits,
    key: &CursorKey,
) -> Result<SearchRequest, QueryError> {
    if params.len() > limits.max_parameters {
        return Err(TooCostly::new(
            "max_parameters",
            limits.max_parameters,
            format!("the search has {} parameters", params.len()),
        )
        .into());
    }
    let mut request = SearchRequest {
        rtype,
        criteria: Vec::new(),
        includes: Vec::new(),
        revincludes: Vec::new(),
        count: Count::DEFAULT.get(),
        total: Total::Accurate,
        summary: Summary::False,
        elements: None,
        sort: Vec::new(),
        cursor: None,
        lists: Vec::new(),
        applied: Vec::new(),
        ignored: Vec::new(),
    };
    for (name, value) in params {
        let outcome = parse_one(&mut request, name, value, limits, key);
        match outcome {
            Ok(true) => request.applied.push((name.clone(), value.clone())),
            Ok(false) => {}
            Err(Skip(reason)) if !strict => request.ignored.push(reason),
            Err(Skip(reason)) => return Err(QueryError::Unsupported(reason)),
            Err(Fail(e)) => return Err(e),
        }
    }
    let includes = request.includes.len() + request.revincludes.len();
    if includes > limits.max_include_parameters {
        return Err(TooCostly::new(
            "max_include_parameters",
            limits.max_include_parameters,
            format!("the search has {includes} _include and _revinclude parameters"),
        )
        .into());
    }
    if let Some(cursor) = &request.cursor
        && !request.sort.is_empty()
        && cursor.keys.len() != request.sort.len()
    {
        return Err(BadCursor::OtherSortOrder.into());
    }
    Ok(request)
}

/// Why a parameter was not applied. Only a parameter this server does not recognize at all is
/// ignorable (`Prefer: handling=lenient`, the default); one it recognizes but cannot honour, or
/// whose value is malformed, is always refused: ignoring it would answer more than was asked.
enum Problem {
    /// An unknown parameter: ignored and reported when lenient, refused when strict.
    Skip(String),
    /// A refusal whatever the handling.
    Fail(QueryError),
}
use Problem::{Fail, Skip};

/// `parameter` is recognized but cannot be honoured, for `reason`: refused in every mode.
fn refuse(parameter: &str, reason: impl Into<String>) -> Problem {
    Fail(QueryError::not_honoured(parameter, reason))
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Problem {
        Fail(e)
    }
}

/// Applies one parameter; `Ok(false)` for parameters that do not belong in the self link.
fn parse_one(
    request: &mut SearchRequest,
    name: &str,
    value: &str,
    limits: &Limits,
    key: &CursorKey,
) -> Result<bool, Problem> {
    let rtype = request.rtype;
    match name {
        "_count" => {
            request.count = Count::parse(value)?.get();
            Ok(true)
        }
        "_total" => {
            request.total = match value {
                "none" => Total::None,
                "estimate" => Total::Estimate,
                "accurate" => Total::Accurate,
                _ => {
                    return Err(Fail(invalid(
                        name,
                        value,
                        "must be none, estimate or accurate",
                    )));
                }
            };
            Ok(true)
        }
        "_summary" => {
            request.summary = match value {
                "true" => Summary::True,
                "false" => Summary::False,
                "text" => Summary::Text,
                "data" => Summary::Data,
                "count" => Summary::Count,
                _ => {
                    return Err(Fail(invalid(
                        name,
                        value,
                        "must be true, false, text, data or count",
                    )));
                }
            };
            Ok(true)
        }
        "_elements" => {
            request.elements = Some(parse_elements(rtype, value)?);
            Ok(true)
        }
        "_contained" | "_containedType" => {
            check_contained(name, value)?;
            Ok(true)
        }
        "_sort" => {
            let keys: Vec<&str> = value.split(',').collect();
            if request.sort.len() + keys.len() > limits.max_sort_keys {
                return Err(Fail(
                    TooCostly::new(
                        "max_sort_keys",
                        limits.max_sort_keys,
                        format!("_sort has {} keys", request.sort.len() + keys.len()),
                    )
                    .into(),
                ));
            }
            for key in keys {
                let (descending, code) = match key.strip_prefix('-') {
                    Some(code) => (true, code),
                    None => (false, key),
                };
                let param = Registry::get()
                    .find(rtype, code)
                    .filter(|p| {
                        matches!(
                            p.param_type,
                            ParamType::String | ParamType::Token | ParamType::Date
                        )
                    })
                    .ok_or_else(|| {
                        invalid(
                            name,
                            value,
                            format!("`{code}` is not a string, token or date parameter of {rtype}"),
                        )
                    })?;
                if request.sort.iter().any(|k| k.param.code == param.code) {
                    return Err(Fail(invalid(
                        name,
                        value,
                        format!("`{}` is sorted on twice", param.code),
                    )));
                }
                request.sort.push(SortKey { param, descending });
            }
            Ok(true)
        }
        "_list" => {
            request.lists.push(parse_list(value)?);
            Ok(true)
        }
        _ if name.starts_with("_list:") => Err(refuse(name, "_list takes no modifier")),
        "_cursor" => {
            let cursor = Cursor::decode(value, key).map_err(QueryError::from)?;
            request.cursor = Some(cursor);
            Ok(false)
        }
        _ if is_presentation(name) => Ok(false),
        _ if name == "_include"
            || name.starts_with("_include:")
            || name == "_revinclude"
            || name.starts_with("_revinclude:") =>
        {
            let (kind, modifier) = name.split_once(':').unwrap_or((name, ""));
            let iterate = match modifier {
                "" => false,
                "iterate" | "recurse" => true,
                other => {
                    return Err(refuse(
                        name,
                        format!("{kind} takes no modifier `:{other}` (only :iterate)"),
                    ));
                }
            };
            let include = parse_include(name, value, iterate, kind == "_revinclude", rtype)?;
            if kind == "_include" {
                request.includes.push(include);
            } else {
                request.revincludes.push(include);
            }
            Ok(true)
        }
        _ => {
            if let Some(refused) =
                crate::conformance::refused_parameter(rtype.as_str(), base_code(name))
                && Registry::get().find(rtype, base_code(name)).is_none()
            {
                return Err(refuse(name, refused.reason.clone()));
            }
            let criterion = parse_criterion(rtype, name, value, Nesting::TOP, limits)
                .map_err(|problem| named_whole(problem, name))?;
            request.criteria.push(criterion);
            Ok(true)
        }
    }
}

/// `_list`: one list per parameter, `x` or `List/x` (R4 §3.1.1.5.10); repeating `_list` ANDs.
fn parse_list(value: &str) -> Result<String, Problem> {
    let id = value.strip_prefix("List/").unwrap_or(value);
    if id.contains(',') {
        return Err(Fail(invalid(
            "_list",
            value,
            "names one list; repeat _list to search the members of several lists at once",
        )));
    }
    FhirId::parse(id).map_err(|e| Fail(invalid("_list", value, e.to_string())))?;
    Ok(id.to_string())
}

/// A refusal of a chain's or a `_has`'s inner part, told under the parameter's whole name.
fn named_whole(problem: Problem, name: &str) -> Problem {
    match problem {
        Fail(QueryError::NotHonoured { parameter, reason }) if parameter != name => {
            refuse(name, format!("`{parameter}`: {reason}"))
        }
        other => other,
    }
}

/// The parameter a name starts with: `family` in `family:exact`, `organization` in
/// `organization.name`, `_has` in `_has:PractitionerRole:...`.
fn base_code(name: &str) -> &str {
    name.split([':', '.']).next().unwrap_or(name)
}

/// `_elements`: top-level elements of `rtype`. A name the type does not define is refused:
/// answering without it would hide that the client asked for something that cannot exist.
fn parse_elements(rtype: ResourceType, value: &str) -> Result<Vec<String>, Problem> {
    let elements: Vec<String> = value
        .split(',')
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    if elements
        .iter()
        .any(|e| !e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(Fail(invalid(
            "_elements",
            value,
            "must be a comma-separated list of top-level element names",
        )));
    }
    // Resource's and DomainResource's elements every type has, besides its own; and
    // `resourceType`, which clients such as fhirpy name too (it is always kept).
    const EVERY_RESOURCE: [&str; 7] = [
        "resourceType",
        "id",
        "meta",
        "implicitRules",
        "language",
        "contained",
        "modifierExtension",
    ];
    if let Some(unknown) = elements
        .iter()
        .find(|e| !EVERY_RESOURCE.contains(&e.as_str()) && !rtype.has_element(e))
    {
        return Err(Fail(invalid(
            "_elements",
            value,
            format!("{rtype} has no element `{unknown}`"),
        )));
    }
    Ok(elements)
}

/// `_contained` and `_containedType` (R4 3.1.1.5.9): this server writes no contained resources,
/// so their defaults (`false`, `container`) are what every search does; asking for contained
/// resources as matches cannot be honoured.
fn check_contained(name: &str, value: &str) -> Result<(), Problem> {
    let (default, others): (&str, &[&str]) = match name {
        "_contained" => ("false", &["true", "both"]),
        _ => ("container", &["contained"]),
    };
    if value == default {
        Ok(())
    } else if others.contains(&value) {
        Err(refuse(
            name,
            "the resources served here contain no other resources, so none can be searched as a match",
        ))
    } else {
        Err(Fail(invalid(
            name,
            value,
            format!("must be {default} or {}", others.join(", ")),
        )))
    }
}

fn parse_include(
    name: &str,
    value: &str,
    iterate: bool,
    reverse: bool,
    rtype: ResourceType,
) -> Result<Include, Problem> {
    if value == "*" {
        return Ok(Include {
            source: (!iterate).then_some(rtype),
            param: None,
            target: None,
            iterate,
        });
    }
    let parts: Vec<&str> = value.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(Fail(invalid(
            name,
            value,
            "expected Type:parameter[:TargetType] or *",
        )));
    }
    let source = ResourceType::from_str(parts[0]).map_err(|_| {
        refuse(
            &format!("{name}={value}"),
            format!("type `{}` is not served here", parts[0]),
        )
    })?;
    if parts[1] == "*" {
        // `Type:*` (R4 3.1.1.5.5: the wildcard stands for the search parameter name): every
        // reference parameter of Type, optionally only those pointing at a target type.
        let target = match parts.get(2) {
            Some(t) => Some(ResourceType::from_str(t).map_err(|_| {
                refuse(
                    &format!("{name}={value}"),
                    format!("type `{t}` is not served here"),
                )
            })?),
            None => None,
        };
        let mut references = Registry::get().references_of(source);
        if !iterate && !reverse && source != rtype {
            return Err(refuse(
                &format!("{name}={value}"),
                format!("the search is on {rtype}, not {source} (use :iterate)"),
            ));
        }
        let wanted = if !iterate && reverse {
            Some(rtype)
        } else {
            target
        };
        if !references.any(|p| wanted.is_none_or(|w| p.target() == Some(w))) {
            return Err(refuse(
                &format!("{name}={value}"),
                format!(
                    "no reference parameter of {source} points at {}",
                    wanted.map_or("anything".to_string(), |w| w.to_string())
                ),
            ));
        }
        return Ok(Include {
            source: Some(source),
            param: None,
            target,
            iterate,
        });
    }
    let param = Registry::get()
        .find(source, parts[1])
        .filter(|p| p.is_reference())
        .ok_or_else(|| {
            refuse(
                &format!("{name}={value}"),
                format!("`{}` is not a reference parameter of {source}", parts[1]),
            )
        })?;
    let target = match parts.get(2) {
        Some(t) => Some(ResourceType::from_str(t).map_err(|_| {
            refuse(
                &format!("{name}={value}"),
                format!("type `{t}` is not served here"),
            )
        })?),
        None => None,
    };
    if target.is_some() && target != param.target() {
        return Err(refuse(
            &format!("{name}={value}"),
            format!("{source}.{} never points at {}", param.code, parts[2]),
        ));
    }
    // An include starts from the matched type unless it iterates; a revinclude's
    // reference must point at it.
    if !iterate && !reverse && source != rtype {
        return Err(refuse(
            &format!("{name}={value}"),
            format!("the search is on {rtype}, not {source} (use :iterate)"),
        ));
    }
    if !iterate && reverse && param.target() != Some(rtype) {
        return Err(refuse(
            &format!("{name}={value}"),
            format!("{source}.{} does not point at {rtype}", param.code),
        ));
    }
    Ok(Include {
        source: Some(source),
        param: Some(param.code.clone()),
        target,
        iterate,
    })
}

fn parse_modifier(text: &str) -> Option<Modifier> {
    Some(match text {
        "exact" => Modifier::Exact,
        "contains" => Modifier::Contains,
        "missing" => Modifier::Missing,
        "not" => Modifier::Not,
        "text" => Modifier::Text,
        "of-type" => Modifier::OfType,
        "identifier" => Modifier::Identifier,
        "below" => Modifier::Below,
        _ => return None,
    })
}

/// Where a criterion sits: inside a chain, inside a `_has`, or at the top of the query. A
/// chain is one level deep (`organization.name`), a `_has` is not nested, and a `_has` may hold
/// a chain (`_has:PractitionerRole:practitioner:organization.address-city`).
#[derive(Debug, Clone, Copy)]
struct Nesting {
    chained: bool,
    in_has: bool,
}

impl Nesting {
    const TOP: Nesting = Nesting {
        chained: false,
        in_has: false,
    };

    fn is_top(self) -> bool {
        !self.chained && !self.in_has
    }
}

/// Parses `name=value` as a criterion on `rtype`, at `nesting`.
fn parse_criterion(
    rtype: ResourceType,
    name: &str,
    value: &str,
    nesting: Nesting,
    limits: &Limits,
) -> Result<Criterion, Problem> {
    if let Some(rest) = name.strip_prefix("_has:") {
        return parse_has(rtype, name, rest, value, nesting, limits);
    }
    if name == "_has" {
        return Err(Fail(invalid(
            name,
            value,
            "expected _has:Type:reference:parameter",
        )));
    }
    if let Some((head, tail)) = name.split_once('.') {
        if nesting.chained {
            return Err(refuse(
                name,
                "chains deeper than one level are not supported (`organization.name` is, `organization.partof.name` is not)",
            ));
        }
        let (code, type_modifier) = head.split_once(':').unwrap_or((head, ""));
        let Some(reference) = Registry::get().find(rtype, code) else {
            return Err(unknown(rtype, name, code, nesting));
        };
        let target = reference.target().ok_or_else(|| {
            refuse(
                name,
                format!(
                    "`{code}` is not a reference parameter of {rtype}, so it cannot be chained"
                ),
            )
        })?;
        if !type_modifier.is_empty() && type_modifier != target.as_str() {
            return Err(refuse(
                name,
                format!("{rtype}.{code} never points at {type_modifier}"),
            ));
        }
        let inner = parse_criterion(
            target,
            tail,
            value,
            Nesting {
                chained: true,
                ..nesting
            },
            limits,
        )?;
        return Ok(Criterion::Chain {
            reference,
            target,
            inner: Box::new(inner),
        });
    }
    let (code, modifier_text) = name.split_once(':').unwrap_or((name, ""));
    let Some(param) = Registry::get().find(rtype, code) else {
        return Err(unknown(rtype, name, code, nesting));
    };
    let modifier = if modifier_text.is_empty() {
        Modifier::None
    } else if let Some(m) = parse_modifier(modifier_text).filter(|_| param.supports(modifier_text))
    {
        m
    } else if param.target().map(ResourceType::as_str) == Some(modifier_text) {
        Modifier::None // `:Type` on a single-target reference
    } else {
        return Err(refuse(name, modifier_refusal(rtype, param, modifier_text)));
    };
    let values = split_unescaped(value, ',');
    if values.len() > limits.max_or_values {
        return Err(Fail(
            TooCostly::new(
                "max_or_values",
                limits.max_or_values,
                format!("`{name}` has {} values", values.len()),
            )
            .into(),
        ));
    }
    if modifier == Modifier::Contains {
        for v in &values {
            let needle = fold(&unescape(v));
            if needle.chars().count() < limits.min_contains_chars {
                return Err(Fail(
                    TooCostly::new(
                        "min_contains_chars",
                        limits.min_contains_chars,
                        format!("`{name}={v}`: a :contains value needs more characters (it would match most of the directory)"),
                    )
                    .into(),
                ));
            }
        }
    }
    let values = values
        .into_iter()
        .map(|v| parse_value(param, modifier, name, &v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Criterion::Param {
        param,
        modifier,
        values,
    })
}

/// `code` is no parameter of `rtype`. At the top of the query the whole parameter is unknown
/// (ignorable when lenient); inside a chain or a `_has`, ignoring it would drop the part the
/// server recognizes with it, so it is refused.
fn unknown(rtype: ResourceType, name: &str, code: &str, nesting: Nesting) -> Problem {
    let why = format!("unknown search parameter `{code}` for {rtype}");
    if nesting.is_top() {
        Skip(why)
    } else {
        refuse(name, why)
    }
}

/// Why `:modifier` cannot be applied to `param`, and which modifiers it takes.
fn modifier_refusal(rtype: ResourceType, param: &SearchParam, modifier: &str) -> String {
    let takes = if param.modifiers.is_empty() {
        "none".to_owned()
    } else {
        param
            .modifiers
            .iter()
            .map(|m| format!(":{m}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{rtype}.{} does not take the modifier `:{modifier}` (it takes {takes})",
        param.code
    )
}

fn parse_has(
    rtype: ResourceType,
    name: &str,
    rest: &str,
    value: &str,
    nesting: Nesting,
    limits: &Limits,
) -> Result<Criterion, Problem> {
    let mut parts = rest.splitn(3, ':');
    let (Some(source), Some(reference), Some(inner_name)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Fail(invalid(
            name,
            value,
            "expected _has:Type:reference:parameter",
        )));
    };
    if nesting.in_has {
        return Err(refuse(name, "nested _has is not supported"));
    }
    if nesting.chained {
        return Err(refuse(name, "_has inside a chain is not supported"));
    }
    let source = ResourceType::from_str(source)
        .map_err(|_| refuse(name, format!("type `{source}` is not served here")))?;
    let reference = Registry::get()
        .find(source, reference)
        .filter(|p| p.target() == Some(rtype))
        .ok_or_else(|| {
            refuse(
                name,
                format!("{source}.{reference} is not a reference to {rtype}"),
            )
        })?;
    let inner = parse_criterion(
        source,
        inner_name,
        value,
        Nesting {
            chained: false,
            in_has: true,
        },
        limits,
    )?;
    Ok(Criterion::Has {
        source,
        reference,
        inner: Box::new(inner),
    })
}

fn parse_value(
    param: &SearchParam,
    modifier: Modifier,
    name: &str,
    raw: &str,
) -> Result<SearchValue, Problem> {
    if raw.is_empty() {
        return Err(Fail(invalid(name, raw, "empty value")));
    }
    if modifier == Modifier::Missing {
        return match raw {
            "true" => Ok(SearchValue::Missing(true)),
            "false" => Ok(SearchValue::Missing(false)),
            _ => Err(Fail(invalid(name, raw, ":missing takes true or false"))),
        };
    }
    match param.param_type {
        ParamType::String => Ok(SearchValue::String(unescape(raw))),
        ParamType::Token if modifier == Modifier::Text => Ok(SearchValue::String(unescape(raw))),
        ParamType::Token if modifier == Modifier::OfType => {
            let parts = split_unescaped(raw, '|');
            let [type_system, type_code, value] = parts.as_slice() else {
                return Err(Fail(invalid(
                    name,
                    raw,
                    ":of-type takes type-system|type-code|value",
                )));
            };
            Ok(SearchValue::OfType {
                type_system: unescape(type_system),
                type_code: unescape(type_code),
                value: unescape(value),
            })
        }
        ParamType::Token => parse_token(name, raw),
        // R4 `:identifier`: the value is a token matched against `Reference.identifier`.
        ParamType::Reference { .. } if modifier == Modifier::Identifier => parse_token(name, raw),
        ParamType::Reference { target } => {
            let value = unescape(raw);
            Ok(SearchValue::Reference(
                normalize_reference(target, &value).ok_or_else(|| {
                    invalid(
                        name,
                        raw,
                        format!(
                            "expected an id, {target}/id or an absolute URL ending in {target}/id"
                        ),
                    )
                })?,
            ))
        }
        ParamType::Uri => Ok(SearchValue::Uri(unescape(raw))),
        ParamType::Date => {
            let (prefix, rest) = Prefix::split(raw);
            let range = date::parse(rest).map_err(|reason| invalid(name, raw, reason))?;
            Ok(SearchValue::Date(prefix, range))
        }
    }
}

/// `code`, `system|code`, `|code` or `system|`.
fn parse_token(name: &str, raw: &str) -> Result<SearchValue, Problem> {
    let parts = split_unescaped(raw, '|');
    match parts.as_slice() {
        [code] => Ok(SearchValue::Token {
            system: None,
            code: Some(unescape(code)),
        }),
        [system, code] => Ok(SearchValue::Token {
            system: Some(unescape(system)),
            code: (!code.is_empty()).then(|| unescape(code)),
        }),
        _ => Err(Fail(invalid(
            name,
            raw,
            "a token is code, system|code, |code or system|",
        ))),
    }
}

/// `id` or `Type/id` as `Type/id`; an absolute URL ending in `Type/id` is kept whole (see
/// [`SearchRequest::localize_references`]). A history suffix is dropped.
fn normalize_reference(target: ResourceType, value: &str) -> Option<String> {
    let value = value.split("/_history/").next().unwrap_or(value);
    let absolute = value.starts_with("http://") || value.starts_with("https://");
    let segments: Vec<&str> = value.trim_end_matches('/').rsplit('/').take(2).collect();
    let valid_id = |id: &str| FhirId::parse(id).is_ok();
    match segments.as_slice() {
        [id] if valid_id(id) && !absolute => Some(format!("{target}/{id}")),
        [id, kind] if *kind == target.as_str() && valid_id(id) => Some(if absolute {
            value.trim_end_matches('/').to_owned()
        } else {
            format!("{target}/{id}")
        }),
        _ => None,
    }
}

impl SearchRequest {
    /// Whether the search only looks up resources by `_id` or `identifier` values, without
    /// sorting or includes: one posting list read and a page of documents. Such searches cost
    /// less than handing them to a blocking thread pool and back, so the HTTP layer runs them
    /// on its own worker; every other shape may take long and goes to the pool.
    pub fn is_point_lookup(&self) -> bool {
        self.sort.is_empty()
            && self.includes.is_empty()
            && self.revincludes.is_empty()
            && !self.criteria.is_empty()
            && self.criteria.iter().all(|c| {
                matches!(c, Criterion::Param { param, modifier: Modifier::None, values }
                    if (param.code == "_id" || param.code == "identifier")
                        && values.iter().all(names_one_code))
            })
    }

    /// Absolute references on this server's `base` become local `Type/id`; those on another
    /// server stay absolute, and match nothing here (they name resources elsewhere).
    pub fn localize_references(&mut self, base: &str) {
        let prefix = format!("{}/", base.trim_end_matches('/'));
        for criterion in &mut self.criteria {
            localize(criterion, &prefix);
        }
    }
}

/// A token value that names a code (`code`, `system|code`, `|code`): it finds a handful of
/// resources at most. `system|` names none and matches every resource with an identifier in that
/// system, which is a scan, not a lookup.
fn names_one_code(value: &SearchValue) -> bool {
    matches!(value, SearchValue::Token { code: Some(code), .. } if !code.is_empty())
}

fn localize(criterion: &mut Criterion, prefix: &str) {
    match criterion {
        Criterion::Param { values, .. } => {
            for value in values {
                if let SearchValue::Reference(reference) = value
                    && let Some(local) = reference.strip_prefix(prefix)
                {
                    *reference = local.to_owned();
                }
            }
        }
        Criterion::Chain { inner, .. } | Criterion::Has { inner, .. } => localize(inner, prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse_ok(rtype: ResourceType, query: &[(&str, &str)]) -> SearchRequest {
        parse(rtype, &pairs(query), true).unwrap()
    }

    #[test]
    fn list_names_one_list_per_parameter() {
        let request = parse_ok(
            ResourceType::Practitioner,
            &[("_list", "List/mine"), ("_list", "other"), ("family", "X")],
        );
        assert_eq!(request.lists, ["mine", "other"]);
        assert_eq!(request.criteria.len(), 1);
        assert_eq!(request.applied.len(), 3, "the self link keeps _list");
        for bad in ["a,b", "List/", "no spaces", "Group/x"] {
            let err = parse(ResourceType::Practitioner, &pairs(&[("_list", bad)]), false);
            assert!(err.is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn point_lookups_are_id_and_identifier_searches_only() {
        let practitioner = |q: &[(&str, &str)]| parse_ok(ResourceType::Practitioner, q);
        assert!(practitioner(&[("identifier", "urn:oid:1|81")]).is_point_lookup());
        assert!(practitioner(&[("_id", "pp-1-10"), ("_count", "10")]).is_point_lookup());
        assert!(!practitioner(&[]).is_point_lookup());
        // A system without a code matches every resource identified in it: not a lookup.
        assert!(!practitioner(&[("identifier", "urn:oid:1|")]).is_point_lookup());
        assert!(!practitioner(&[("identifier", "urn:oid:1|81,urn:oid:1|")]).is_point_lookup());
        assert!(practitioner(&[("identifier", "|81,urn:oid:1|82")]).is_point_lookup());
        assert!(!practitioner(&[("identifier:not", "81")]).is_point_lookup());
        assert!(!practitioner(&[("identifier", "81"), ("family", "du")]).is_point_lookup());
        assert!(!practitioner(&[("identifier", "81"), ("_sort", "family")]).is_point_lookup());
        assert!(
            !practitioner(&[
                ("identifier", "81"),
                ("_revinclude", "PractitionerRole:practitioner")
            ])
            .is_point_lookup()
        );
    }

    #[test]
    fn escaping_and_or_lists() {
        assert_eq!(split_unescaped(r"a\,b,c", ','), [r"a\,b", "c"]);
        assert_eq!(unescape(r"a\,b\|c\$d\\e"), r"a,b|c$d\e");
        let request = parse_ok(
            ResourceType::Practitioner,
            &[("family", r"DUPONT\,JR,MARTIN")],
        );
        let Criterion::Param { values, .. } = &request.criteria[0] else {
            panic!()
        };
        assert_eq!(
            values,
            &[
                SearchValue::String("DUPONT,JR".into()),
                SearchValue::String("MARTIN".into())
            ]
        );
    }

    #[test]
    fn token_forms() {
        let request = parse_ok(
            ResourceType::Practitioner,
            &[("identifier", "sys|1,|2,3,sys|,a\\|b|c")],
        );
        let Criterion::Param { values, .. } = &request.criteria[0] else {
            panic!()
        };
        assert_eq!(
            values,
            &[
                SearchValue::Token {
                    system: Some("sys".into()),
                    code: Some("1".into())
                },
                SearchValue::Token {
                    system: Some(String::new()),
                    code: Some("2".into())
                },
                SearchValue::Token {
                    system: None,
                    code: Some("3".into())
                },
                SearchValue::Token {
                    system: Some("sys".into()),
                    code: None
                },
                SearchValue::Token {
                    system: Some("a|b".into()),
                    code: Some("c".into())
                },
            ]
        );
    }

    #[test]
    fn a_uri_is_taken_whole_with_its_version() {
        let request = parse_ok(
            ResourceType::Device,
            &[("_profile", "https://x.fr/as-device|1.2,urn:a\\,b")],
        );
        let Criterion::Param { values, .. } = &request.criteria[0] else {
            panic!()
        };
        assert_eq!(
            values,
            &[
                SearchValue::Uri("https://x.fr/as-device|1.2".into()),
                SearchValue::Uri("urn:a,b".into())
            ]
        );
        let request = parse_ok(
            ResourceType::Organization,
            &[("_profile:below", "https://x")],
        );
        assert!(matches!(
            &request.criteria[0],
            Criterion::Param {
                modifier: Modifier::Below,
                ..
            }
        ));
        for modifier in ["_profile:not", "_profile:exact", "_profile:text"] {
            let err = parse(ResourceType::Device, &pairs(&[(modifier, "x")]), false).unwrap_err();
            assert!(
                matches!(&err, QueryError::NotHonoured { parameter, .. } if parameter == modifier),
                "{modifier}: {err:?}"
            );
        }
        // Nothing sorts by a uri.
        assert!(
            parse(
                ResourceType::Device,
                &pairs(&[("_sort", "_profile")]),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn references_chains_and_has() {
        let mut request = parse_ok(
            ResourceType::PractitionerRole,
            &[
                ("practitioner", "http://x/fhir/Practitioner/pp-1-10"),
                ("organization.address-city", "DIJON"),
            ],
        );
        request.localize_references("http://x/fhir");
        let Criterion::Param { values, .. } = &request.criteria[0] else {
            panic!()
        };
        assert_eq!(
            values,
            &[SearchValue::Reference("Practitioner/pp-1-10".into())]
        );
        assert!(matches!(
            &request.criteria[1],
            Criterion::Chain {
                target: ResourceType::Organization,
                ..
            }
        ));
        let request = parse_ok(
            ResourceType::Practitioner,
            &[("_has:PractitionerRole:practitioner:role", "FON-01")],
        );
        assert!(matches!(
            &request.criteria[0],
            Criterion::Has {
                source: ResourceType::PractitionerRole,
                ..
            }
        ));
    }

    #[test]
    fn unknown_parameters_strict_or_lenient() {
        let query = pairs(&[
            ("colour", "blue"),
            ("role", "x"),
            ("colour.name", "x"),
            ("family", "MARTIN"),
        ]);
        let err = parse(ResourceType::Practitioner, &query, true).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let request = parse(ResourceType::Practitioner, &query, false).unwrap();
        assert_eq!(request.criteria.len(), 1);
        assert_eq!(request.ignored.len(), 3);
        assert_eq!(request.applied, pairs(&[("family", "MARTIN")]));
    }

    #[test]
    fn recognized_parameters_it_cannot_honour_are_refused_even_when_lenient() {
        for (rtype, name, value) in [
            (ResourceType::Practitioner, "family:fuzzy", "x"),
            (ResourceType::Practitioner, "active:exact", "true"),
            (ResourceType::Practitioner, "_list:x", "List/x"),
            (ResourceType::Practitioner, "gender", "female"),
            (
                ResourceType::PractitionerRole,
                "organization.partof.name",
                "x",
            ),
            (ResourceType::PractitionerRole, "practitioner.colour", "x"),
            (
                ResourceType::Practitioner,
                "_has:PractitionerRole:practitioner:_has:PractitionerRole:practitioner:role",
                "x",
            ),
            (ResourceType::PractitionerRole, "_include:deep", "*"),
            (ResourceType::Practitioner, "_contained", "true"),
        ] {
            let err = parse(rtype, &pairs(&[(name, value)]), false).unwrap_err();
            assert!(
                matches!(&err, QueryError::NotHonoured { parameter, .. } if parameter == name),
                "{name}: {err:?}"
            );
        }
    }

    #[test]
    fn a_has_may_hold_a_one_level_chain() {
        let request = parse_ok(
            ResourceType::Practitioner,
            &[(
                "_has:PractitionerRole:practitioner:organization.address-insee",
                "69",
            )],
        );
        let Criterion::Has { inner, .. } = &request.criteria[0] else {
            panic!("a _has")
        };
        assert!(matches!(
            **inner,
            Criterion::Chain {
                target: ResourceType::Organization,
                ..
            }
        ));
    }

    #[test]
    fn malformed_values_are_errors_even_when_lenient() {
        for (name, value) in [
            ("_count", "-1"),
            ("_count", "1001"),
            ("_count", "ten"),
            ("_lastUpdated", "gt2026-13-01"),
            ("_lastUpdated", "xx2026"),
            ("_summary", "maybe"),
            ("_total", "some"),
            ("family:missing", "perhaps"),
            ("identifier:of-type", "a|b"),
        ] {
            let err =
                parse(ResourceType::Practitioner, &pairs(&[(name, value)]), false).unwrap_err();
            assert!(
                err.to_string().contains(name.split(':').next().unwrap()),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn result_parameters() {
        let request = parse_ok(
            ResourceType::Practitioner,
            &[
                ("_count", "0"),
                ("_summary", "count"),
                ("_sort", "family,-_lastUpdated"),
                ("_elements", "identifier,name"),
            ],
        );
        assert_eq!(request.count, 0);
        assert_eq!(request.summary, Summary::Count);
        assert_eq!(request.sort.len(), 2);
        assert!(request.sort[1].descending);
        assert_eq!(
            request.elements.as_deref(),
            Some(&["identifier".to_owned(), "name".to_owned()][..])
        );
        // As fhirpy asks; an element the type does not have is refused.
        let practitioner = |elements| {
            parse(
                ResourceType::Practitioner,
                &pairs(&[("_elements", elements)]),
                false,
            )
        };
        assert!(practitioner("id,name,resourceType").is_ok());
        assert!(practitioner("name,partOf").is_err());
    }

    #[test]
    fn includes() {
        let request = parse_ok(
            ResourceType::PractitionerRole,
            &[
                ("_include", "PractitionerRole:organization"),
                ("_include:iterate", "Organization:partof"),
                ("_include", "*"),
            ],
        );
        assert_eq!(request.includes.len(), 3);
        let request = parse_ok(
            ResourceType::Practitioner,
            &[("_revinclude", "PractitionerRole:practitioner")],
        );
        assert_eq!(
            request.revincludes[0].source,
            Some(ResourceType::PractitionerRole)
        );
        assert!(
            parse(
                ResourceType::Practitioner,
                &pairs(&[("_include", "PractitionerRole:organization")]),
                true
            )
            .is_err()
        );
    }
}
