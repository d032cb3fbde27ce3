//! The naive oracle: every criterion evaluated by scanning every resource, straight from the
//! FHIR R4 search rules; sorting and includes likewise.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::data::{Dataset, Kind, RType, Resource, Vals, param, params};
use super::fold::fold;
use super::query::{
    Crit, IdentifierSemantics, Include, Query, RefValue, Simple, StrMod, Test, TokValue, UriMod,
};

/// Indices (into `ds.of(rtype).resources`, i.e. in id order) of the resources matching every
/// criterion.
pub fn matches(ds: &Dataset, rtype: RType, crits: &[Crit]) -> Vec<usize> {
    let n = ds.of(rtype).resources.len();
    let mut keep = vec![true; n];
    for crit in crits {
        let m = eval(ds, rtype, crit);
        for (k, m) in keep.iter_mut().zip(m) {
            *k &= m;
        }
    }
    (0..n).filter(|&i| keep[i]).collect()
}

fn eval(ds: &Dataset, rtype: RType, crit: &Crit) -> Vec<bool> {
    let resources = &ds.of(rtype).resources;
    match crit {
        Crit::Simple(s) => {
            let prepared = Prepared::new(ds, rtype, s);
            resources.iter().map(|r| prepared.test(r)).collect()
        }
        Crit::Chain {
            param: p,
            target,
            inner,
            ..
        } => {
            let inner = eval(ds, *target, &Crit::Simple(inner.clone()));
            resources
                .iter()
                .map(|r| match r.vals(p) {
                    Vals::Ref(refs) => refs.iter().any(|rf| match ds.resolve(rf) {
                        Some((t, i)) => t == *target && inner[i],
                        None => false,
                    }),
                    _ => unreachable!(),
                })
                .collect()
        }
        Crit::Has {
            source,
            param: p,
            inner,
        } => {
            let inner = eval(ds, *source, &Crit::Simple(inner.clone()));
            let mut pointed = vec![false; resources.len()];
            for (s, _) in ds
                .of(*source)
                .resources
                .iter()
                .zip(&inner)
                .filter(|(_, m)| **m)
            {
                if let Vals::Ref(refs) = s.vals(p) {
                    for rf in refs {
                        if let Some((t, i)) = ds.resolve(rf)
                            && t == rtype
                        {
                            pointed[i] = true;
                        }
                    }
                }
            }
            pointed
        }
    }
}

fn tok_matches(toks: &[super::data::Tok], value: &TokValue) -> bool {
    toks.iter().any(|t| match value {
        TokValue::Code(c) => &t.code == c,
        TokValue::SysCode(s, c) => t.system.as_deref() == Some(s.as_str()) && &t.code == c,
        TokValue::NoSys(c) => t.system.is_none() && &t.code == c,
        TokValue::SysOnly(s) => t.system.as_deref() == Some(s.as_str()),
    })
}

/// A criterion ready to test resources: its parameter's kind and its folded values.
pub struct Prepared<'a> {
    kind: Kind,
    folded: Vec<String>,
    s: &'a Simple,
}

impl<'a> Prepared<'a> {
    pub fn new(_ds: &'a Dataset, rtype: RType, s: &'a Simple) -> Prepared<'a> {
        let folded = match &s.test {
            Test::Str(_, v) | Test::TokText(v) => v.iter().map(|q| fold(q)).collect(),
            _ => Vec::new(),
        };
        Prepared {
            kind: param(rtype, s.param).kind,
            folded,
            s,
        }
    }

    /// Whether one resource matches.
    pub fn test(&self, r: &Resource) -> bool {
        let s = self.s;
        let vals = r.vals(s.param);
        match (&s.test, vals) {
            (Test::Missing(missing), vals) => vals.is_empty() == *missing,
            (Test::Str(m, queries), Vals::Str(values)) => {
                queries.iter().zip(&self.folded).any(|(q, folded)| {
                    values.iter().any(|v| match m {
                        StrMod::None => v.folded.starts_with(folded.as_str()),
                        StrMod::Contains => v.folded.contains(folded.as_str()),
                        StrMod::Exact => &v.raw == q,
                    })
                })
            }
            (Test::Tok(queries), Vals::Tok(toks)) => queries.iter().any(|q| tok_matches(toks, q)),
            (Test::TokNot(queries), Vals::Tok(toks)) => {
                !queries.iter().any(|q| tok_matches(toks, q))
            }
            // `:text` is a string search on the text of the codes; the data carries none
            // (no CodeableConcept.text, Coding.display, Identifier.type.text), so it finds
            // nothing unless that changes.
            (Test::TokText(_), Vals::Tok(_)) => {
                let texts: Vec<String> = token_texts(&r.json, s.param)
                    .iter()
                    .map(|t| fold(t))
                    .collect();
                self.folded
                    .iter()
                    .any(|q| texts.iter().any(|t| t.starts_with(q.as_str())))
            }
            (Test::OfType(queries), Vals::Tok(toks)) => queries.iter().any(|(ts, tc, v)| {
                toks.iter().any(|t| {
                    &t.code == v
                        && t.types
                            .iter()
                            .any(|(s, c)| s.as_deref() == Some(ts.as_str()) && c == tc)
                })
            }),
            (Test::Ref(typed, queries), Vals::Ref(refs)) => queries.iter().any(|q| {
                refs.iter().any(|(t, id)| match q {
                    RefValue::Typed(qt, qid) | RefValue::Url(_, qt, qid) => qt == t && qid == id,
                    RefValue::Id(qid) => qid == id && typed.is_none_or(|x| x.name() == t),
                })
            }),
            (Test::RefIdentifier(_queries, semantics), Vals::Ref(_refs)) => match semantics {
                // R4: `:identifier` matches Reference.identifier; the references of this data
                // are literal only (no identifier), so nothing matches.
                IdentifierSemantics::R4 => false,
            },
            // A uri matches whole; a versioned canonical `url|version` also matches its bare
            // `url` (every version); `:below` matches the uris starting with the value.
            (Test::Uri(m, queries), Vals::Str(values)) => queries.iter().any(|q| {
                values.iter().any(|v| match m {
                    UriMod::None => {
                        &v.raw == q || v.raw.split_once('|').is_some_and(|(url, _)| url == q)
                    }
                    UriMod::Below => v.raw.starts_with(q.as_str()),
                })
            }),
            (Test::Date(queries), Vals::Date(ranges)) => {
                queries.iter().any(|(prefix, _, range)| {
                    let prefix = prefix.unwrap_or(super::dates::Prefix::Eq);
                    ranges.iter().any(|t| prefix.matches(*range, *t))
                })
            }
            (test, _) => panic!("{test:?} does not apply to {} ({:?})", s.param, self.kind),
        }
    }
}

/// The texts `:text` searches (Coding.display, CodeableConcept.text, Identifier.type.text).
fn token_texts(json: &serde_json::Value, param: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut concept = |cc: &serde_json::Value| {
        out.extend(cc["text"].as_str().map(str::to_owned));
        for c in cc["coding"].as_array().into_iter().flatten() {
            out.extend(c["display"].as_str().map(str::to_owned));
        }
    };
    let each = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    match param {
        "identifier" | "identifier-type" => each(&json["identifier"])
            .iter()
            .for_each(|i| concept(&i["type"])),
        "role" => each(&json["code"]).iter().for_each(&mut concept),
        "type" | "service-type" => super::data::one_or_many(&json["type"])
            .into_iter()
            .for_each(&mut concept),
        "service-category" => each(&json["category"]).iter().for_each(&mut concept),
        "characteristic" => each(&json["characteristic"]).iter().for_each(&mut concept),
        "eligibility" => each(&json["eligibility"])
            .iter()
            .for_each(|e| concept(&e["code"])),
        "qualification-code" => each(&json["qualification"])
            .iter()
            .for_each(|q| concept(&q["code"])),
        "data-registration-authority" => {
            for e in each(&json["meta"]["extension"]) {
                for sub in each(&e["extension"]) {
                    if sub["url"] == "autorite-enregistrement" {
                        concept(&sub["valueCodeableConcept"]);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Sorting
// ---------------------------------------------------------------------------------------------

/// The sort key of one resource for one parameter: the lowest value ascending, the highest
/// descending; `None` when it has none.
fn sort_key(r: &Resource, name: &str, desc: bool) -> Option<String> {
    let mut keys: Vec<String> = match r.vals(name) {
        Vals::Str(v) => v.iter().map(|s| s.folded.clone()).collect(),
        Vals::Tok(v) => v.iter().map(|t| t.code.clone()).collect(),
        Vals::Date(v) => v.iter().map(|(s, _)| format!("{s:020}")).collect(),
        Vals::Ref(v) => v.iter().map(|(t, id)| format!("{t}/{id}")).collect(),
    };
    keys.sort();
    if desc {
        keys.pop()
    } else {
        keys.into_iter().next()
    }
}

/// Orders matched indices by `_sort`: each key in its direction, resources without a value
/// last, ties by id ascending.
pub fn sort(ds: &Dataset, rtype: RType, matched: &mut [usize], keys: &[(&'static str, bool)]) {
    let resources = &ds.of(rtype).resources;
    let key_of = |i: usize| -> Vec<Option<String>> {
        keys.iter()
            .map(|(p, desc)| sort_key(&resources[i], p, *desc))
            .collect()
    };
    let mut keyed: Vec<(Vec<Option<String>>, usize)> =
        matched.iter().map(|&i| (key_of(i), i)).collect();
    keyed.sort_by(|(ka, ia), (kb, ib)| {
        for ((a, b), (_, desc)) in ka.iter().zip(kb).zip(keys) {
            let o = match (a, b) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => {
                    if *desc {
                        b.cmp(a)
                    } else {
                        a.cmp(b)
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        resources[*ia].id.cmp(&resources[*ib].id)
    });
    for (slot, (_, i)) in matched.iter_mut().zip(keyed) {
        *slot = i;
    }
}

// ---------------------------------------------------------------------------------------------
// Includes
// ---------------------------------------------------------------------------------------------

/// The reference parameters of a type.
fn reference_params(rtype: RType) -> Vec<(&'static str, RType)> {
    params(rtype)
        .into_iter()
        .filter_map(|p| match p.kind {
            Kind::Ref(t) => Some((p.name, t)),
            _ => None,
        })
        .collect()
}

/// What `_include` / `_revinclude` add to a page whose matches are `page` (ids of `rtype`):
/// the first round applies every include to the matches, later rounds apply the `:iterate`
/// ones to what the previous round added, until nothing new; matches themselves excluded.
pub fn included(
    ds: &Dataset,
    rtype: RType,
    page: &[String],
    includes: &[Include],
) -> BTreeSet<(RType, String)> {
    let matches: BTreeSet<(RType, String)> = page.iter().map(|id| (rtype, id.clone())).collect();
    let mut all = matches.clone();
    let mut frontier: Vec<(RType, String)> = matches.iter().cloned().collect();
    let mut round = 0;
    loop {
        let mut found: BTreeSet<(RType, String)> = BTreeSet::new();
        for inc in includes.iter().filter(|i| round == 0 || i.iterate) {
            for (t, id) in &frontier {
                let resource = &ds.of(*t).resources[ds.of(*t).by_id[id]];
                match (&inc.spec, inc.rev) {
                    (None, false) => {
                        for (p, _) in reference_params(*t) {
                            add_targets(ds, resource, p, None, &mut found);
                        }
                    }
                    (Some((source, p, target)), false) => {
                        if source == t {
                            add_targets(ds, resource, p, *target, &mut found);
                        }
                    }
                    (None, true) => {
                        for source in RType::ALL {
                            for (p, target) in reference_params(source) {
                                if target == *t {
                                    add_sources(ds, source, p, *t, id, &mut found);
                                }
                            }
                        }
                    }
                    (Some((source, p, target)), true) => {
                        let declared = match param(*source, p).kind {
                            Kind::Ref(t) => t,
                            _ => unreachable!(),
                        };
                        if declared == *t && target.is_none_or(|x| x == *t) {
                            add_sources(ds, *source, p, *t, id, &mut found);
                        }
                    }
                }
            }
        }
        let new: Vec<(RType, String)> = found.into_iter().filter(|k| !all.contains(k)).collect();
        if new.is_empty() {
            break;
        }
        all.extend(new.iter().cloned());
        frontier = new;
        round += 1;
    }
    all.retain(|k| !matches.contains(k));
    all
}

fn add_targets(
    ds: &Dataset,
    r: &Resource,
    p: &str,
    target: Option<RType>,
    out: &mut BTreeSet<(RType, String)>,
) {
    if let Vals::Ref(refs) = r.vals(p) {
        for rf in refs {
            if let Some((t, i)) = ds.resolve(rf)
                && target.is_none_or(|x| x == t)
            {
                out.insert((t, ds.of(t).resources[i].id.clone()));
            }
        }
    }
}

fn add_sources(
    ds: &Dataset,
    source: RType,
    p: &str,
    t: RType,
    id: &str,
    out: &mut BTreeSet<(RType, String)>,
) {
    let key = (t.name().to_owned(), id.to_owned());
    for &i in ds.referrers(source, p).get(&key).into_iter().flatten() {
        out.insert((source, ds.of(source).resources[i].id.clone()));
    }
}

/// The oracle's answer to a query: matched ids, in the order the server must return them.
pub fn answer(ds: &Dataset, q: &Query) -> Vec<String> {
    let mut m = matches(ds, q.rtype, &q.crits);
    if !q.sort.is_empty() {
        sort(ds, q.rtype, &mut m, &q.sort);
    }
    let resources = &ds.of(q.rtype).resources;
    m.into_iter().map(|i| resources[i].id.clone()).collect()
}
