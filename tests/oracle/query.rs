//! Generated search queries: a structured form the oracle evaluates, rendered to the
//! `name=value` pairs sent over HTTP. `Debug` prints the query string, so a failing (shrunk)
//! case reads as the request to replay.

use std::fmt;

use super::data::RType;
use super::dates::Prefix;

/// Escapes a search value component (R4 §3.1.1.5.7: `\` `,` `|` `$`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | ',' | '|' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes a uri value: only `\` and `,` (an OR list's separator). Its `|` stays as it is: a
/// uri is taken whole, so `url|version` is one value, not a token's `system|code`.
pub fn escape_uri(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How a uri value matches: whole (or, for a versioned canonical, its url alone), or `:below`
/// (the uris starting with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriMod {
    None,
    Below,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrMod {
    None,
    Exact,
    Contains,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokValue {
    /// `code`: any system.
    Code(String),
    /// `system|code`.
    SysCode(String, String),
    /// `|code`: no system.
    NoSys(String),
    /// `system|`: any code of the system.
    SysOnly(String),
}

impl TokValue {
    fn render(&self) -> String {
        match self {
            TokValue::Code(c) => escape(c),
            TokValue::SysCode(s, c) => format!("{}|{}", escape(s), escape(c)),
            TokValue::NoSys(c) => format!("|{}", escape(c)),
            TokValue::SysOnly(s) => format!("{}|", escape(s)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefValue {
    /// `Type/id`.
    Typed(String, String),
    /// `id`.
    Id(String),
    /// An absolute URL on the server's base: `(url, type, id)`.
    Url(String, String, String),
}

/// What `:identifier` on a reference matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentifierSemantics {
    /// FHIR R4: `Reference.identifier`.
    R4,
}

/// The test one parameter applies (the part after the parameter name's chain / _has prefix).
#[derive(Clone, Debug)]
pub enum Test {
    Str(StrMod, Vec<String>),
    Tok(Vec<TokValue>),
    TokNot(Vec<TokValue>),
    /// `:text`: string search on the text of the codes (CodeableConcept.text, Coding.display,
    /// Identifier.type.text).
    TokText(Vec<String>),
    /// `:of-type=typesystem|typecode|value`.
    OfType(Vec<(String, String, String)>),
    /// With `Some(type)`, the `:Type` modifier (values are then plain ids).
    Ref(Option<RType>, Vec<RefValue>),
    /// `:identifier=system|value` (Reference.identifier).
    RefIdentifier(Vec<(String, String)>, IdentifierSemantics),
    /// `(prefix or none, text, range)`.
    Date(Vec<(Option<Prefix>, String, (i64, i64))>),
    Uri(UriMod, Vec<String>),
    Missing(bool),
}

#[derive(Clone, Debug)]
pub struct Simple {
    pub param: &'static str,
    pub test: Test,
}

impl Simple {
    fn modifier(&self) -> String {
        match &self.test {
            Test::Ref(Some(t), _) => format!(":{}", t.name()),
            _ => self.plain_modifier().to_owned(),
        }
    }

    fn plain_modifier(&self) -> &'static str {
        match &self.test {
            Test::Str(StrMod::Exact, _) => ":exact",
            Test::Str(StrMod::Contains, _) => ":contains",
            Test::TokNot(_) => ":not",
            Test::TokText(_) => ":text",
            Test::OfType(_) => ":of-type",
            Test::RefIdentifier(..) => ":identifier",
            Test::Missing(_) => ":missing",
            Test::Uri(UriMod::Below, _) => ":below",
            _ => "",
        }
    }

    fn value(&self) -> String {
        let join = |v: Vec<String>| v.join(",");
        match &self.test {
            Test::Str(_, v) | Test::TokText(v) => join(v.iter().map(|s| escape(s)).collect()),
            Test::Tok(v) | Test::TokNot(v) => join(v.iter().map(TokValue::render).collect()),
            Test::OfType(v) => join(
                v.iter()
                    .map(|(s, c, val)| format!("{}|{}|{}", escape(s), escape(c), escape(val)))
                    .collect(),
            ),
            Test::Ref(_, v) => join(
                v.iter()
                    .map(|r| match r {
                        RefValue::Typed(t, id) => format!("{t}/{}", escape(id)),
                        RefValue::Id(id) => escape(id),
                        RefValue::Url(url, _, _) => escape(url),
                    })
                    .collect(),
            ),
            Test::RefIdentifier(v, _) => join(
                v.iter()
                    .map(|(s, val)| format!("{}|{}", escape(s), escape(val)))
                    .collect(),
            ),
            Test::Date(v) => join(
                v.iter()
                    .map(|(p, text, _)| format!("{}{text}", p.map_or("", |p| p.text())))
                    .collect(),
            ),
            Test::Uri(_, v) => join(v.iter().map(|u| escape_uri(u)).collect()),
            Test::Missing(b) => b.to_string(),
        }
    }

    pub fn pair(&self) -> (String, String) {
        (format!("{}{}", self.param, self.modifier()), self.value())
    }
}

#[derive(Clone, Debug)]
pub enum Crit {
    Simple(Simple),
    /// `ref[:Target].inner=...`: resources whose `ref` points at a `target` matching `inner`.
    Chain {
        param: &'static str,
        target: RType,
        typed: bool,
        inner: Simple,
    },
    /// `_has:Source:ref:inner=...`: resources some `source` matching `inner` points at by `ref`.
    Has {
        source: RType,
        param: &'static str,
        inner: Simple,
    },
}

impl Crit {
    pub fn pair(&self) -> (String, String) {
        match self {
            Crit::Simple(s) => s.pair(),
            Crit::Chain {
                param,
                target,
                typed,
                inner,
            } => {
                let (name, value) = inner.pair();
                let typed = if *typed {
                    format!(":{}", target.name())
                } else {
                    String::new()
                };
                (format!("{param}{typed}.{name}"), value)
            }
            Crit::Has {
                source,
                param,
                inner,
            } => {
                let (name, value) = inner.pair();
                (format!("_has:{}:{param}:{name}", source.name()), value)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    pub rev: bool,
    pub iterate: bool,
    /// `None` for `*`.
    pub spec: Option<(RType, &'static str, Option<RType>)>,
}

impl Include {
    pub fn pair(&self) -> (String, String) {
        let name = format!(
            "_{}include{}",
            if self.rev { "rev" } else { "" },
            if self.iterate { ":iterate" } else { "" }
        );
        let value = match &self.spec {
            None => "*".to_owned(),
            Some((source, param, None)) => format!("{}:{param}", source.name()),
            Some((source, param, Some(target))) => {
                format!("{}:{param}:{}", source.name(), target.name())
            }
        };
        (name, value)
    }
}

#[derive(Clone)]
pub struct Query {
    pub rtype: RType,
    pub crits: Vec<Crit>,
    /// `_count` asked for (the check may raise it to bound the number of pages).
    pub count: u32,
    /// `(parameter, descending)`.
    pub sort: Vec<(&'static str, bool)>,
    pub includes: Vec<Include>,
    /// Other result parameters (`_total`...).
    pub extra: Vec<(String, String)>,
    /// Sent as `POST [type]/_search` with a form body instead of `GET [type]?`.
    pub post: bool,
}

impl Query {
    pub fn new(rtype: RType) -> Query {
        Query {
            rtype,
            crits: Vec::new(),
            count: 10,
            sort: Vec::new(),
            includes: Vec::new(),
            extra: Vec::new(),
            post: false,
        }
    }

    /// Every pair but `_count`.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.crits.iter().map(Crit::pair).collect();
        if !self.sort.is_empty() {
            let keys: Vec<String> = self
                .sort
                .iter()
                .map(|(p, desc)| format!("{}{p}", if *desc { "-" } else { "" }))
                .collect();
            out.push(("_sort".into(), keys.join(",")));
        }
        out.extend(self.includes.iter().map(Include::pair));
        out.extend(self.extra.iter().cloned());
        out
    }

    /// `Type?a=b&c=d` (unencoded, for people).
    pub fn display(&self, count: u32) -> String {
        let mut pairs = self.pairs();
        pairs.push(("_count".into(), count.to_string()));
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if self.post {
            format!("POST {}/_search {}", self.rtype.name(), query.join("&"))
        } else {
            format!("GET {}?{}", self.rtype.name(), query.join("&"))
        }
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.display(self.count))
    }
}
