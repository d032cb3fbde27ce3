//! `GET /List?…`: the search parameters of `conformance/local-search-parameters.json`,
//! evaluated in memory over the current lists (a hospital keeps tens of lists, not millions:
//! no index). The parameters' expressions run through `search::expr` like the served types'
//! do at import time; values are parsed and matched the way the generations' searches match
//! them (strings by folded prefix, tokens by `system|code`, references `Type/id`, dates with
//! the R4 prefixes).

use serde_json::Value;

use super::store::{LocalError, LocalResource, LocalStore, LocalType};
use crate::conformance::{SearchParamDeclaration, local_search_parameters};
use crate::fhir::node::Node;
use crate::search::date::{self, Prefix};
use crate::search::expr::{self, Expression};
use crate::search::fold::fold;
use crate::search::query::QueryError;
use crate::search::shared_params::{Count, is_presentation};

/// One AND-ed condition: any of `values` (OR).
struct Condition {
    declaration: &'static SearchParamDeclaration,
    expression: Expression,
    modifier: Option<String>,
    values: Vec<String>,
}

/// A parsed `List` search.
pub struct ListQuery {
    conditions: Vec<Condition>,
    pub count: usize,
    /// `(parameter, descending)`: `_lastUpdated`, `_id` or `title`.
    sort: Vec<(String, bool)>,
    /// The parameters applied, for the self link.
    pub applied: Vec<(String, String)>,
    /// Parameters ignored (lenient handling), with why.
    pub ignored: Vec<String>,
}

/// What a search found: every match (the total) and the page's.
pub struct Found {
    pub total: usize,
    pub page: Vec<LocalResource>,
}

/// Parses a `List` search; `strict`: an unknown parameter is refused rather than ignored.
pub fn parse(params: &[(String, String)], strict: bool) -> Result<ListQuery, QueryError> {
    let mut query = ListQuery {
        conditions: Vec::new(),
        count: Count::DEFAULT.get(),
        sort: Vec::new(),
        applied: Vec::new(),
        ignored: Vec::new(),
    };
    for (name, value) in params {
        let applied = match name.as_str() {
            "_count" => {
                query.count = Count::parse(value)?.get();
                true
            }
            "_sort" => {
                for key in value.split(',') {
                    let (code, descending) = match key.strip_prefix('-') {
                        Some(code) => (code, true),
                        None => (key, false),
                    };
                    if !["_lastUpdated", "_id", "title"].contains(&code) {
                        return Err(QueryError::invalid(
                            "_sort",
                            value,
                            format!("List is sorted by _lastUpdated, _id or title, not `{code}`"),
                        ));
                    }
                    query.sort.push((code.to_string(), descending));
                }
                true
            }
            "_total" | "_summary" | "_elements" => false,
            _ if is_presentation(name) => false,
            _ => match condition(name, value)? {
                Some(condition) => {
                    query.conditions.push(condition);
                    true
                }
                None if strict => {
                    return Err(QueryError::Unsupported(unknown(name)));
                }
                None => {
                    query.ignored.push(unknown(name));
                    false
                }
            },
        };
        if applied {
            query.applied.push((name.clone(), value.clone()));
        }
    }
    Ok(query)
}

fn unknown(name: &str) -> String {
    let known: Vec<&str> = list_parameters().map(|d| d.code.as_str()).collect();
    format!(
        "`{name}` is not a search parameter of List (those are {})",
        known.join(", ")
    )
}

fn list_parameters() -> impl Iterator<Item = &'static SearchParamDeclaration> {
    local_search_parameters()
        .iter()
        .filter(|d| d.base.iter().any(|b| b == "List"))
}

/// The condition `name=value`, `None` when `name` is no parameter of List.
fn condition(name: &str, value: &str) -> Result<Option<Condition>, QueryError> {
    let (code, modifier) = match name.split_once(':') {
        Some((code, modifier)) => (code, Some(modifier.to_string())),
        None => (name, None),
    };
    let Some(declaration) = list_parameters().find(|d| d.code == code) else {
        return Ok(None);
    };
    if let Some(modifier) = &modifier
        && !declaration.modifiers.contains(modifier)
    {
        return Err(QueryError::not_honoured(
            name,
            format!("List's `{code}` takes no modifier `:{modifier}`"),
        ));
    }
    let values: Vec<String> = value.split(',').map(str::to_string).collect();
    if declaration.param_type == "date" {
        for v in &values {
            let (_, text) = Prefix::split(v);
            date::parse(text).map_err(|reason| QueryError::invalid(name, v, reason))?;
        }
    }
    let expression = Expression::parse(&declaration.expression)
        .map_err(|e| QueryError::invalid(name, value, e))?;
    Ok(Some(Condition {
        declaration,
        expression,
        modifier,
        values,
    }))
}

/// Runs `query` over the current lists: the matches in the order asked (newest first by
/// default), the first `count` of them.
pub fn run(store: &LocalStore, query: &ListQuery, now: i64) -> Result<Found, LocalError> {
    let mut matches = Vec::new();
    for list in store.current(LocalType::List)? {
        let bytes = serde_json::to_vec(&list.json).expect("JSON value serializes");
        let node = Node::parse(&bytes).map_err(|e| LocalError::Store(e.to_string()))?;
        if query.conditions.iter().all(|c| holds(c, &node, now)) {
            matches.push(list);
        }
    }
    sort(&mut matches, &query.sort);
    let total = matches.len();
    matches.truncate(query.count);
    Ok(Found {
        total,
        page: matches,
    })
}

fn sort(lists: &mut [LocalResource], keys: &[(String, bool)]) {
    let default = [("_lastUpdated".to_string(), true)];
    let keys = if keys.is_empty() { &default[..] } else { keys };
    lists.sort_by(|a, b| {
        for (key, descending) in keys {
            let order = match key.as_str() {
                "_lastUpdated" => a.last_updated.cmp(&b.last_updated),
                "title" => title(a).cmp(&title(b)),
                _ => a.id.cmp(&b.id),
            };
            let order = if *descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        a.id.cmp(&b.id)
    });
}

fn title(list: &LocalResource) -> String {
    fold(list.json.get("title").and_then(Value::as_str).unwrap_or(""))
}

/// Whether some value of the condition matches some node its expression yields.
fn holds(condition: &Condition, list: &Node<'_>, now: i64) -> bool {
    let nodes = condition.expression.evaluate("List", list);
    condition.values.iter().any(|value| {
        nodes
            .iter()
            .any(|node| matches(condition, value, node, now))
    })
}

fn matches(condition: &Condition, value: &str, node: &Node<'_>, now: i64) -> bool {
    match condition.declaration.param_type.as_str() {
        "string" => {
            let wanted = fold(value);
            expr::strings(node).iter().any(|s| {
                let folded = fold(s);
                match condition.modifier.as_deref() {
                    Some("exact") => *s == value,
                    Some("contains") => folded.contains(&wanted),
                    _ => folded.starts_with(&wanted),
                }
            })
        }
        "token" => {
            let (system, code) = match value.split_once('|') {
                Some((system, code)) => (Some(system), (!code.is_empty()).then_some(code)),
                None => (None, Some(value)),
            };
            expr::tokens(node).iter().any(|token| {
                token.code.is_some()
                    && system.is_none_or(|s| token.system.unwrap_or("") == s)
                    && code.is_none_or(|c| token.code == Some(c))
            })
        }
        "reference" => expr::reference(node).is_some_and(|r| {
            r == value || r.rsplit('/').next() == Some(value) && !value.contains('/')
        }),
        "date" => {
            let (prefix, text) = Prefix::split(value);
            let (Ok(search), Some(Ok(target))) =
                (date::parse(text), node.as_str().map(date::parse))
            else {
                return false;
            };
            date::matches(prefix, search, target, now)
        }
        _ => false,
    }
}
