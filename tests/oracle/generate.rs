//! Query generation from the data. proptest draws vectors of "dice" (one vector per
//! criterion, so shrinking drops whole criteria and turns choices into the first option); a
//! builder turns them into a [`Query`] by picking resources and their values: prefixes of
//! 1..=len characters with random case, accent, ligature and apostrophe changes, the modifiers
//! declared for the parameter, OR lists of 1-3 values, values that match nothing, chains,
//! `_has`, `:missing`, `:not`, `_lastUpdated` around the data's instants, `_profile` canonicals
//! with and without their version and `:below`.

use unicode_normalization::UnicodeNormalization;

use super::data::{
    Dataset, Kind, ParamDef, RType, Resource, TokKind, Vals, modifiers, param, params,
};
use super::dates::{self, Precision, Prefix};
use super::fold::fold;
use super::query::{
    Crit, IdentifierSemantics, Include, Query, RefValue, Simple, StrMod, Test, TokValue, UriMod,
};

/// Reads dice; 0 once exhausted (the first option of every choice, so shrunk dice are simple).
pub struct Roll<'a> {
    dice: &'a [u32],
    at: usize,
}

impl<'a> Roll<'a> {
    pub fn new(dice: &'a [u32]) -> Roll<'a> {
        Roll { dice, at: 0 }
    }

    pub fn next(&mut self) -> u32 {
        let v = self.dice.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        v
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.next() as usize % n }
    }

    /// True with probability `percent`% (false for exhausted dice).
    pub fn chance(&mut self, percent: u32) -> bool {
        let v = self.next();
        v != 0 && v % 100 < percent
    }

    pub fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// String mutations
// ---------------------------------------------------------------------------------------------

fn accent_variants(c: char) -> &'static [char] {
    match c {
        'a' => &['à', 'â', 'ä'],
        'e' => &['é', 'è', 'ê', 'ë'],
        'i' => &['î', 'ï'],
        'o' => &['ô', 'ö'],
        'u' => &['ù', 'û', 'ü'],
        'c' => &['ç'],
        'y' => &['ÿ'],
        'A' => &['À', 'Â'],
        'E' => &['É', 'È', 'Ê', 'Ë'],
        'I' => &['Î', 'Ï'],
        'O' => &['Ô', 'Ö'],
        'U' => &['Ù', 'Û', 'Ü'],
        'C' => &['Ç'],
        _ => &[],
    }
}

/// The base letter of a precomposed accented letter (its canonical decomposition's first char).
fn strip_accent(c: char) -> char {
    c.to_string().nfd().next().unwrap_or(c)
}

fn single_case(c: char, upper: bool) -> char {
    let mut it: Vec<char> = if upper {
        c.to_uppercase().collect()
    } else {
        c.to_lowercase().collect()
    };
    if it.len() == 1 { it.pop().unwrap() } else { c }
}

/// Case, accent, ligature, apostrophe and normalization changes a case- and accent-insensitive
/// search must not see.
pub fn mutate(text: &str, roll: &mut Roll) -> String {
    let style = roll.below(6);
    let mut out = String::new();
    for c in text.chars() {
        let c = match style {
            0 => c,
            1 => single_case(c, false),
            2 => single_case(c, true),
            _ => {
                let r = roll.next();
                let c = if r.is_multiple_of(3) {
                    single_case(c, r.is_multiple_of(2))
                } else {
                    c
                };
                match (r >> 4) % 5 {
                    0 => strip_accent(c),
                    1 => {
                        let v = accent_variants(c);
                        if v.is_empty() {
                            c
                        } else {
                            v[(r >> 8) as usize % v.len()]
                        }
                    }
                    _ => c,
                }
            }
        };
        out.push(c);
    }
    if roll.chance(15) {
        out = out.replace('\'', "\u{2019}");
    }
    if roll.chance(15) {
        out = out.replace("oe", "œ").replace("OE", "Œ").replace("ae", "æ");
    }
    if roll.chance(15) {
        out = out.nfd().collect();
    }
    out
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// A prefix of 1..=len characters, without trailing white space (never empty).
fn prefix(raw: &str, roll: &mut Roll) -> String {
    let cs = chars(raw);
    let len = if roll.chance(25) {
        cs.len()
    } else {
        1 + roll.below(cs.len().max(1))
    };
    let out: String = cs[..len.min(cs.len())].iter().collect();
    let out = out.trim().to_owned();
    if out.is_empty() {
        raw.trim().to_owned()
    } else {
        out
    }
}

/// A substring of at least [`MIN_CONTAINS`] characters once folded (the server refuses shorter
/// `:contains` values as too costly), trimmed; a value too short for one is taken whole.
fn substring(raw: &str, roll: &mut Roll) -> String {
    let cs = chars(raw);
    if cs.len() <= MIN_CONTAINS {
        return raw.trim().to_owned();
    }
    let start = roll.below(cs.len() - MIN_CONTAINS + 1);
    let len = MIN_CONTAINS + roll.below((cs.len() - start - MIN_CONTAINS).max(1));
    let out: String = cs[start..(start + len).min(cs.len())].iter().collect();
    let out = out.trim().to_owned();
    if fold(&out).chars().count() < MIN_CONTAINS {
        raw.trim().to_owned()
    } else {
        out
    }
}

/// The shortest `:contains` value the server takes (its default `limits.min_contains_chars`).
const MIN_CONTAINS: usize = 3;

const NOTHING: [&str; 5] = ["zzqx", "QXW", "kwy", "0000000000", "éxqz"];

// ---------------------------------------------------------------------------------------------
// Criteria
// ---------------------------------------------------------------------------------------------

/// Generator options.
#[derive(Clone, Copy, Debug)]
pub struct Opts {
    /// Whether (and with which oracle semantics) to generate `:identifier` on references.
    pub identifier: Option<IdentifierSemantics>,
    /// How often, in percent of reference criteria.
    pub identifier_percent: u32,
}

impl Opts {
    /// Everything but `:identifier` on references (see tests/search_oracle.rs).
    pub const DEFAULT: Opts = Opts {
        identifier: None,
        identifier_percent: 0,
    };
}

/// A resource of `pool` (indices of `rtype`) having a value for `p`, if a few tries find one.
fn with_values<'d>(
    ds: &'d Dataset,
    rtype: RType,
    pool: &[usize],
    p: &str,
    roll: &mut Roll,
) -> Option<&'d Resource> {
    let resources = &ds.of(rtype).resources;
    if pool.is_empty() {
        return None;
    }
    for _ in 0..6 {
        let r = &resources[*roll.pick(pool)];
        if !r.vals(p).is_empty() {
            return Some(r);
        }
    }
    pool.iter()
        .map(|&i| &resources[i])
        .find(|r| !r.vals(p).is_empty())
}

fn n_values(roll: &mut Roll) -> usize {
    match roll.below(10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    }
}

/// One criterion on `rtype` (no chain), its values drawn from resources of `pool`.
pub fn simple(ds: &Dataset, rtype: RType, pool: &[usize], opts: Opts, roll: &mut Roll) -> Simple {
    let s = simple_unchecked(ds, rtype, pool, opts, roll);
    let (name, _) = s.pair();
    if let Some((_, modifier)) = name.split_once(':')
        && RType::parse(modifier).is_none()
    {
        assert!(
            modifiers(param(rtype, s.param).kind).contains(&modifier),
            "{name}: a modifier conformance/search-parameters.json does not declare"
        );
    }
    s
}

fn simple_unchecked(
    ds: &Dataset,
    rtype: RType,
    pool: &[usize],
    opts: Opts,
    roll: &mut Roll,
) -> Simple {
    // Parameters every resource has the same value for match all or nothing: drawn less.
    let weighted: Vec<ParamDef> = params(rtype)
        .into_iter()
        .flat_map(|d| {
            let weight = match d.name {
                _ if ds
                    .of(rtype)
                    .resources
                    .iter()
                    .all(|r| r.vals(d.name).is_empty()) =>
                {
                    1
                }
                "active" | "data-information-system" => 1,
                "_lastUpdated" | "data-registration-authority" | "_id" | "_profile" => 2,
                _ => 4,
            };
            std::iter::repeat_n(d, weight)
        })
        .collect();
    let def = *roll.pick(&weighted);
    let p = def.name;
    if roll.chance(7) {
        return Simple {
            param: p,
            test: Test::Missing(roll.chance(50)),
        };
    }
    let n = n_values(roll);
    let test = match def.kind {
        Kind::Str => {
            let m = match roll.below(10) {
                0..=5 => StrMod::None,
                6..=7 => StrMod::Contains,
                _ => StrMod::Exact,
            };
            let mut values = Vec::new();
            for _ in 0..n {
                let source = with_values(ds, rtype, pool, p, roll);
                let raw = match source.map(|r| r.vals(p)) {
                    Some(Vals::Str(v)) if !roll.chance(4) => v[roll.below(v.len())].raw.clone(),
                    _ => roll.pick(&NOTHING).to_string(),
                };
                // Values too short for `:contains` (under three characters once folded) are
                // refused by the server as too costly: search one that matches nothing instead.
                let raw = if m == StrMod::Contains && fold(&raw).chars().count() < MIN_CONTAINS {
                    roll.pick(&NOTHING).to_string()
                } else {
                    raw
                };
                let mut value = match m {
                    StrMod::None => mutate(&prefix(&raw, roll), roll),
                    StrMod::Contains => mutate(&substring(&raw, roll), roll),
                    StrMod::Exact => match roll.below(10) {
                        0 => prefix(&raw, roll),
                        1 => mutate(&raw, roll),
                        _ => raw,
                    },
                };
                if roll.chance(6) {
                    // A character the query syntax escapes (`\,` `\|` `\$` `\\`), then more
                    // text: an engine splitting on it would match the part before.
                    value.push(*roll.pick(&[',', '|', '$', '\\']));
                    value.push_str(NOTHING[roll.below(NOTHING.len())]);
                }
                values.push(value);
            }
            Test::Str(m, values)
        }
        Kind::Tok(kind) => token(ds, rtype, pool, p, kind, n, roll),
        Kind::Ref(target) => {
            match opts.identifier {
                Some(semantics) if roll.chance(opts.identifier_percent) => {
                    // `:identifier`, from the identifiers of a resource pointed at.
                    let t = &ds.of(target).resources;
                    let pointed = with_values(ds, rtype, pool, p, roll)
                        .and_then(|r| match r.vals(p) {
                            Vals::Ref(refs) => ds.resolve(&refs[0]),
                            _ => None,
                        })
                        .map(|(_, i)| i);
                    let r = &t[pointed.unwrap_or_else(|| roll.below(t.len()))];
                    let Vals::Tok(ids) = r.vals("identifier") else {
                        unreachable!()
                    };
                    let skip = roll.below(ids.len());
                    let mut values: Vec<(String, String)> = ids
                        .iter()
                        .skip(skip)
                        .take(n)
                        .map(|i| (i.system.clone().unwrap_or_default(), i.code.clone()))
                        .collect();
                    if roll.chance(10) {
                        values.push(("urn:x".into(), "nothing".into()));
                    }
                    return Simple {
                        param: p,
                        test: Test::RefIdentifier(values, semantics),
                    };
                }
                _ => {}
            }
            let typed = roll.chance(15).then_some(target);
            let mut values = Vec::new();
            for _ in 0..n {
                let id = match with_values(ds, rtype, pool, p, roll).map(|r| r.vals(p)) {
                    Some(Vals::Ref(refs)) if !roll.chance(10) => refs[0].1.clone(),
                    _ if roll.chance(50) => {
                        let t = &ds.of(target).resources;
                        t[roll.below(t.len())].id.clone()
                    }
                    _ => format!("{}-nothing", &target.name()[..3].to_lowercase()),
                };
                let name = target.name().to_owned();
                values.push(match (typed, roll.below(10)) {
                    (Some(_), _) | (None, 0..=3) => RefValue::Id(id),
                    (None, 4..=8) => RefValue::Typed(name, id),
                    (None, _) => RefValue::Url(format!("{}/fhir/{name}/{id}", ds.base), name, id),
                });
            }
            Test::Ref(typed, values)
        }
        Kind::Date => {
            let mut values = Vec::new();
            for _ in 0..n {
                values.push(date_value(ds, rtype, pool, p, roll));
            }
            Test::Date(values)
        }
        Kind::Uri => uri(ds, rtype, pool, p, n, roll),
    };
    Simple { param: p, test }
}

/// A uri criterion (`_profile`): a claim of a resource taken whole (`url|version`), its bare
/// url, the url with another version, a cut of it under `:below`, or a uri nobody claims.
fn uri(ds: &Dataset, rtype: RType, pool: &[usize], p: &str, n: usize, roll: &mut Roll) -> Test {
    let below = roll.chance(25);
    let mut values = Vec::new();
    for _ in 0..n {
        let claim = match with_values(ds, rtype, pool, p, roll).map(|r| r.vals(p)) {
            Some(Vals::Str(v)) if !roll.chance(8) => v[roll.below(v.len())].raw.clone(),
            _ => "urn:annuaire:nothing|1".to_owned(),
        };
        let url = claim.split('|').next().unwrap_or_default().to_owned();
        let value = if below {
            let cs = chars(&claim);
            match roll.below(4) {
                0 => claim,
                1 => url,
                _ => cs[..1 + roll.below(cs.len().max(1))].iter().collect(),
            }
        } else {
            match roll.below(6) {
                0..=2 => claim,
                3 | 4 => url,
                _ => format!("{url}|0.0.1"),
            }
        };
        values.push(value);
    }
    Test::Uri(if below { UriMod::Below } else { UriMod::None }, values)
}

fn date_value(
    ds: &Dataset,
    rtype: RType,
    pool: &[usize],
    p: &str,
    roll: &mut Roll,
) -> (Option<Prefix>, String, (i64, i64)) {
    let base = match with_values(ds, rtype, pool, p, roll).map(|r| r.vals(p)) {
        Some(Vals::Date(v)) => v[0].0,
        _ => dates::days_from_civil(2026, 11, 1) * dates::MS_PER_DAY,
    };
    const DELTAS: [i64; 12] = [
        0,
        1,
        -1,
        1000,
        -1000,
        60_000,
        -3_600_000,
        86_400_000,
        -86_400_000,
        31 * 86_400_000,
        -366 * 86_400_000,
        400 * 86_400_000,
    ];
    let mut instant = base + DELTAS[roll.below(DELTAS.len())];
    let precision = *roll.pick(&[
        Precision::Year,
        Precision::Month,
        Precision::Day,
        Precision::Second,
        Precision::Milli,
    ]);
    // A millisecond value inside the target's second would depend on whether an instant is a
    // point or its second: the spec leaves it open, the generator avoids it.
    if precision == Precision::Milli && (base..base + 1000).contains(&instant) {
        instant = base - 1;
    }
    let offset = *roll.pick(&[0i64, 0, 60, 120, -300, 330, -600]);
    let (text, range) = dates::render(instant, precision, offset, !roll.chance(20));
    let prefix = if roll.chance(20) {
        None
    } else {
        Some(*roll.pick(&Prefix::ALL))
    };
    (prefix, text, range)
}

fn token(
    ds: &Dataset,
    rtype: RType,
    pool: &[usize],
    p: &str,
    kind: TokKind,
    n: usize,
    roll: &mut Roll,
) -> Test {
    let pick_tok = |roll: &mut Roll| -> Option<super::data::Tok> {
        match with_values(ds, rtype, pool, p, roll).map(|r| r.vals(p)) {
            Some(Vals::Tok(v)) => Some(v[roll.below(v.len())].clone()),
            _ => None,
        }
    };
    let modifier = roll.below(100);
    if kind == TokKind::Identifier && modifier < 15 {
        let mut values = Vec::new();
        for _ in 0..n {
            let Some(t) = pick_tok(roll) else { continue };
            let (ts, tc) = match t.types.first() {
                Some((s, c)) if !roll.chance(10) => (s.clone().unwrap_or_default(), c.clone()),
                _ => (
                    "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203".to_owned(),
                    "RPPS".to_owned(),
                ),
            };
            values.push((ts, tc, t.code));
        }
        if values.is_empty() {
            values.push(("urn:x".into(), "X".into(), "nothing".into()));
        }
        return Test::OfType(values);
    }
    if !matches!(kind, TokKind::Id | TokKind::Bool | TokKind::Status) && modifier >= 95 {
        let mut values = Vec::new();
        for _ in 0..n {
            values.push(pick_tok(roll).map_or("x".to_owned(), |t| t.code));
        }
        return Test::TokText(values);
    }
    let mut values = Vec::new();
    for _ in 0..n {
        let t = pick_tok(roll);
        let v = match (kind, t) {
            (TokKind::Bool, _) => {
                TokValue::Code(if roll.chance(80) { "true" } else { "false" }.into())
            }
            (_, None) => TokValue::Code(roll.pick(&NOTHING).to_string()),
            (TokKind::Id | TokKind::Code | TokKind::Status, Some(t)) => match roll.below(10) {
                0 => TokValue::Code(format!("{}0", t.code)),
                1 => TokValue::Code(t.code.chars().take(3).collect()),
                _ => TokValue::Code(t.code),
            },
            (_, Some(t)) => {
                let system = t.system.clone();
                match (roll.below(16), system) {
                    (0..=5, _) | (_, None) => TokValue::Code(t.code),
                    (6..=11, Some(s)) => TokValue::SysCode(s, t.code),
                    (12, Some(s)) => TokValue::SysOnly(s),
                    (13, _) => TokValue::NoSys(t.code),
                    (14, Some(s)) => {
                        // A system and a code of two different values (likely no such pair).
                        let other = pick_tok(roll).map_or("0".to_owned(), |o| o.code);
                        TokValue::SysCode(s, other)
                    }
                    (_, Some(s)) => TokValue::SysCode(format!("{s}-other"), t.code),
                }
            }
        };
        values.push(v);
    }
    if modifier >= 80 {
        Test::TokNot(values)
    } else {
        Test::Tok(values)
    }
}

/// The resources of `target` some resource of `source` points at through `p`.
fn referenced(ds: &Dataset, source: RType, p: &str, target: RType) -> Vec<usize> {
    let mut out: Vec<usize> = ds
        .referrers(source, p)
        .keys()
        .filter_map(|rf| ds.resolve(rf))
        .filter(|(t, _)| *t == target)
        .map(|(_, i)| i)
        .collect();
    out.sort_unstable();
    out
}

/// The resources of `source` whose `p` points at something.
fn referencing(ds: &Dataset, source: RType, p: &str) -> Vec<usize> {
    (0..ds.of(source).resources.len())
        .filter(|&i| !ds.of(source).resources[i].vals(p).is_empty())
        .collect()
}

/// `(source type, reference parameter)` pairs pointing at `rtype` (for `_has`).
fn pointing_at(rtype: RType) -> Vec<(RType, &'static str)> {
    RType::ALL
        .into_iter()
        .flat_map(|s| params(s).into_iter().map(move |p| (s, p)))
        .filter(|(_, p)| p.kind == Kind::Ref(rtype))
        .map(|(s, p)| (s, p.name))
        .collect()
}

/// One criterion; with `anchor` (a resource of `rtype`), its values come from that resource
/// (or what it points at / what points at it) most of the time, so that ANDed criteria match
/// together often enough.
pub fn crit(ds: &Dataset, rtype: RType, anchor: usize, opts: Opts, roll: &mut Roll) -> Crit {
    let everything: Vec<usize> = (0..ds.of(rtype).resources.len()).collect();
    let refs: Vec<(&'static str, RType)> = params(rtype)
        .into_iter()
        .filter_map(|p| match p.kind {
            Kind::Ref(t) => Some((p.name, t)),
            _ => None,
        })
        .collect();
    let has = pointing_at(rtype);
    let anchored = roll.chance(90);
    let anchor = &ds.of(rtype).resources[anchor.min(everything.len() - 1)];
    match roll.below(100) {
        70..=84 if !refs.is_empty() => {
            let (p, target) = *roll.pick(&refs);
            let mut pool: Vec<usize> = match (anchored, anchor.vals(p)) {
                (true, Vals::Ref(rs)) => rs
                    .iter()
                    .filter_map(|rf| ds.resolve(rf))
                    .filter(|(t, _)| *t == target)
                    .map(|(_, i)| i)
                    .collect(),
                _ => Vec::new(),
            };
            if pool.is_empty() {
                pool = referenced(ds, rtype, p, target);
            }
            let inner = simple(ds, target, &pool, opts, roll);
            Crit::Chain {
                param: p,
                target,
                typed: roll.chance(20),
                inner,
            }
        }
        85..=99 if !has.is_empty() => {
            let (source, p) = *roll.pick(&has);
            let key = (rtype.name().to_owned(), anchor.id.clone());
            let mut pool = match ds.referrers(source, p).get(&key) {
                Some(sources) if anchored => sources.clone(),
                _ => Vec::new(),
            };
            if pool.is_empty() {
                pool = referencing(ds, source, p);
            }
            let inner = simple(ds, source, &pool, opts, roll);
            Crit::Has {
                source,
                param: p,
                inner,
            }
        }
        _ => {
            let pool = if anchored {
                vec![everything[ds.of(rtype).by_id[&anchor.id]]]
            } else {
                everything
            };
            Crit::Simple(simple(ds, rtype, &pool, opts, roll))
        }
    }
}

/// A query of 1-3 ANDed criteria; `_total` sometimes.
pub fn query(
    ds: &Dataset,
    rtype: RType,
    crit_dice: &[Vec<u32>],
    count: u32,
    extra: u32,
    opts: Opts,
) -> Query {
    let mut q = Query::new(rtype);
    let anchor = (extra >> 3) as usize % ds.of(rtype).resources.len();
    q.crits = crit_dice
        .iter()
        .map(|d| crit(ds, rtype, anchor, opts, &mut Roll::new(d)))
        .collect();
    q.count = count;
    match extra % 8 {
        1 | 4 => q.extra.push(("_total".into(), "none".into())),
        2 => q.extra.push(("_total".into(), "accurate".into())),
        _ => {}
    }
    // POST [type]/_search with a form body, the same search.
    q.post = matches!(extra % 8, 3 | 4);
    q
}

// ---------------------------------------------------------------------------------------------
// Sorting and includes
// ---------------------------------------------------------------------------------------------

/// Parameters to sort on: strings, single-system tokens (so that "the lowest value" is the
/// lowest code), the date. HealthcareService `service-type` and `characteristic` hold codes of
/// two systems (activities and social equipment), whose equal codes the oracle could not order:
/// `tests/search` sorts on them.
pub fn sortable(rtype: RType) -> Vec<&'static str> {
    match rtype {
        RType::Practitioner => vec![
            "family",
            "given",
            "name",
            "_id",
            "active",
            "data-information-system",
            "_lastUpdated",
        ],
        RType::PractitionerRole => vec![
            "identifier",
            "_id",
            "data-information-system",
            "mailbox-mss",
            "_lastUpdated",
        ],
        RType::Organization => vec![
            "name",
            "address-city",
            "address-postalcode",
            "address",
            "mailbox-mss",
            "_id",
            "data-information-system",
            "_lastUpdated",
        ],
        RType::HealthcareService => vec![
            "service-category",
            "eligibility",
            "active",
            "_id",
            "data-information-system",
            "_lastUpdated",
        ],
        RType::Device => vec![
            "type",
            "identifier",
            "status",
            "_id",
            "data-information-system",
            "_lastUpdated",
        ],
    }
}

pub fn sorted_query(
    ds: &Dataset,
    rtype: RType,
    crit_dice: &[Vec<u32>],
    sort_dice: &[u32],
    count: u32,
) -> Query {
    // The last die picks the anchor (its low bits, which would pick `_total`, cleared).
    let anchor = sort_dice.last().copied().unwrap_or(0) & !7;
    let mut q = query(ds, rtype, crit_dice, count, anchor, Opts::DEFAULT);
    add_sort(&mut q, &mut Roll::new(sort_dice));
    q
}

/// `_sort` on one or two keys, each ascending or descending.
pub fn add_sort(q: &mut Query, roll: &mut Roll) {
    let keys = sortable(q.rtype);
    let n = 1 + roll.below(2);
    for _ in 0..n {
        let p = *roll.pick(&keys);
        let _ = param(q.rtype, p); // a declared parameter
        if !q.sort.iter().any(|(k, _)| *k == p) {
            q.sort.push((p, roll.chance(50)));
        }
    }
}

pub fn includes(rtype: RType, roll: &mut Roll) -> Vec<Include> {
    use RType::*;
    let inc = |rev, iterate, source, p, target| Include {
        rev,
        iterate,
        spec: Some((source, p, target)),
    };
    let options: Vec<Include> = match rtype {
        Practitioner => vec![
            inc(true, false, PractitionerRole, "practitioner", None),
            inc(
                true,
                false,
                PractitionerRole,
                "practitioner",
                Some(Practitioner),
            ),
            inc(false, true, PractitionerRole, "organization", None),
            inc(false, true, Organization, "partof", None),
            inc(true, true, PractitionerRole, "practitioner", None),
        ],
        PractitionerRole => vec![
            inc(false, false, PractitionerRole, "practitioner", None),
            inc(false, false, PractitionerRole, "organization", None),
            inc(
                false,
                false,
                PractitionerRole,
                "organization",
                Some(Organization),
            ),
            Include {
                rev: false,
                iterate: false,
                spec: None,
            },
            inc(false, true, Organization, "partof", None),
            inc(true, true, Organization, "partof", None),
        ],
        Organization => vec![
            inc(false, false, Organization, "partof", None),
            Include {
                rev: false,
                iterate: false,
                spec: None,
            },
            inc(false, true, Organization, "partof", None),
            inc(true, false, PractitionerRole, "organization", None),
            inc(true, false, Organization, "partof", None),
            inc(true, true, Organization, "partof", None),
            inc(false, true, PractitionerRole, "practitioner", None),
            inc(true, false, HealthcareService, "organization", None),
            inc(true, false, Device, "organization", Some(Organization)),
        ],
        HealthcareService => vec![
            inc(false, false, HealthcareService, "organization", None),
            inc(
                false,
                false,
                HealthcareService,
                "organization",
                Some(Organization),
            ),
            Include {
                rev: false,
                iterate: false,
                spec: None,
            },
            inc(false, true, Organization, "partof", None),
            inc(true, true, Device, "organization", None),
        ],
        Device => vec![
            inc(false, false, Device, "organization", None),
            Include {
                rev: false,
                iterate: false,
                spec: None,
            },
            inc(false, true, Organization, "partof", None),
            inc(true, true, HealthcareService, "organization", None),
            inc(true, true, PractitionerRole, "organization", None),
        ],
    };
    let n = 1 + roll.below(3);
    let mut out: Vec<Include> = Vec::new();
    for _ in 0..n {
        let i = roll.pick(&options).clone();
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
