//! The oracle's view of the data: every resource of the five types, and each search
//! parameter's values extracted from the resource JSON by hand-written code (one function per
//! parameter, following conformance/search-parameters.json's expressions and the FHIR R4
//! rules on which parts of a HumanName / Address a string parameter covers).

use std::collections::HashMap;

use serde_json::Value;

use super::dates;
use super::fold::fold;

pub const DATA_TRACE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-data-trace";
pub const INSEE_CODE: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code";
pub const EMAIL_TYPE: &str =
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type";
pub const MAILBOX_METADATA: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata";
pub const PHARMACY_LICENCE: &str = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-organization-pharmacy-licence";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RType {
    Practitioner,
    PractitionerRole,
    Organization,
    HealthcareService,
    Device,
}

impl RType {
    pub const ALL: [RType; 5] = [
        RType::Practitioner,
        RType::PractitionerRole,
        RType::Organization,
        RType::HealthcareService,
        RType::Device,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RType::Practitioner => "Practitioner",
            RType::PractitionerRole => "PractitionerRole",
            RType::Organization => "Organization",
            RType::HealthcareService => "HealthcareService",
            RType::Device => "Device",
        }
    }

    pub fn parse(name: &str) -> Option<RType> {
        RType::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// How a token parameter's values are typed (decides which `system|code` forms make sense).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// `Resource.id`.
    Id,
    /// A boolean (`true` / `false`).
    Bool,
    /// A `code` element (no system).
    Code,
    /// A `code` element from a small fixed set (Device `status`): no `:text`.
    Status,
    /// Codings (CodeableConcept.coding or Coding).
    Coding,
    /// Identifiers (system, value, type codings).
    Identifier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Tok(TokKind),
    Ref(RType),
    Date,
    /// A uri matched whole (`_profile`: canonicals `url|version`).
    Uri,
}

#[derive(Debug, Clone, Copy)]
pub struct ParamDef {
    pub name: &'static str,
    pub kind: Kind,
}

const fn p(name: &'static str, kind: Kind) -> ParamDef {
    ParamDef { name, kind }
}

/// The parameters of every type.
const COMMON: [ParamDef; 5] = [
    p("_id", Kind::Tok(TokKind::Id)),
    p("_lastUpdated", Kind::Date),
    p("_profile", Kind::Uri),
    p("data-information-system", Kind::Tok(TokKind::Code)),
    p("data-registration-authority", Kind::Tok(TokKind::Coding)),
];

/// The parameters Practitioner, PractitionerRole and Organization share (besides [`COMMON`]).
const FIRST_THREE: [ParamDef; 4] = [
    p("active", Kind::Tok(TokKind::Bool)),
    p("identifier", Kind::Tok(TokKind::Identifier)),
    p("mailbox-mss", Kind::Str),
    p("mailbox-mss-type", Kind::Tok(TokKind::Coding)),
];

/// The parameters of a type (those of conformance/search-parameters.json).
pub fn params(rtype: RType) -> Vec<ParamDef> {
    let mut out = COMMON.to_vec();
    if !matches!(rtype, RType::HealthcareService | RType::Device) {
        out.extend(FIRST_THREE);
    }
    match rtype {
        RType::Practitioner => out.extend([
            p("identifier-type", Kind::Tok(TokKind::Coding)),
            p("family", Kind::Str),
            p("given", Kind::Str),
            p("name", Kind::Str),
            p("qualification-code", Kind::Tok(TokKind::Coding)),
        ]),
        RType::PractitionerRole => out.extend([
            p("practitioner", Kind::Ref(RType::Practitioner)),
            p("organization", Kind::Ref(RType::Organization)),
            p("role", Kind::Tok(TokKind::Coding)),
        ]),
        RType::Organization => out.extend([
            p("identifier-type", Kind::Tok(TokKind::Coding)),
            p("name", Kind::Str),
            p("address", Kind::Str),
            p("address-city", Kind::Str),
            p("address-postalcode", Kind::Str),
            p("address-line", Kind::Str),
            p("address-insee", Kind::Str),
            p("type", Kind::Tok(TokKind::Coding)),
            p("partof", Kind::Ref(RType::Organization)),
            p("pharmacy-licence", Kind::Str),
        ]),
        RType::HealthcareService => out.extend([
            p("active", Kind::Tok(TokKind::Bool)),
            p("identifier", Kind::Tok(TokKind::Identifier)),
            p("organization", Kind::Ref(RType::Organization)),
            p("service-category", Kind::Tok(TokKind::Coding)),
            p("service-type", Kind::Tok(TokKind::Coding)),
            p("characteristic", Kind::Tok(TokKind::Coding)),
            p("eligibility", Kind::Tok(TokKind::Coding)),
        ]),
        RType::Device => out.extend([
            p("identifier", Kind::Tok(TokKind::Identifier)),
            p("manufacturer", Kind::Str),
            p("model", Kind::Str),
            p("organization", Kind::Ref(RType::Organization)),
            p("status", Kind::Tok(TokKind::Status)),
            p("type", Kind::Tok(TokKind::Coding)),
        ]),
    }
    out
}

pub fn param(rtype: RType, name: &str) -> ParamDef {
    params(rtype)
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{} has no parameter {name}", rtype.name()))
}

/// The modifiers declared for a parameter (conformance/search-parameters.json).
pub fn modifiers(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Str => &["exact", "contains", "missing"],
        Kind::Tok(TokKind::Identifier) => &["not", "text", "missing", "of-type"],
        Kind::Tok(TokKind::Id | TokKind::Bool | TokKind::Status) => &["not", "missing"],
        Kind::Tok(_) => &["not", "text", "missing"],
        Kind::Ref(_) => &["missing", "identifier"],
        Kind::Date => &["missing"],
        Kind::Uri => &["missing", "below"],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    pub system: Option<String>,
    pub code: String,
    /// For identifiers: the codings of `Identifier.type`.
    pub types: Vec<(Option<String>, String)>,
}

#[derive(Debug, Clone)]
pub struct Str {
    pub raw: String,
    pub folded: String,
}

#[derive(Debug, Clone)]
pub enum Vals {
    Str(Vec<Str>),
    Tok(Vec<Tok>),
    /// (type, id) of each literal reference.
    Ref(Vec<(String, String)>),
    Date(Vec<(i64, i64)>),
}

impl Vals {
    pub fn is_empty(&self) -> bool {
        match self {
            Vals::Str(v) => v.is_empty(),
            Vals::Tok(v) => v.is_empty(),
            Vals::Ref(v) => v.is_empty(),
            Vals::Date(v) => v.is_empty(),
        }
    }
}

pub struct Resource {
    pub id: String,
    pub json: Value,
    pub vals: HashMap<&'static str, Vals>,
}

impl Resource {
    pub fn vals(&self, name: &str) -> &Vals {
        self.vals
            .get(name)
            .unwrap_or_else(|| panic!("no values for {name}"))
    }
}

pub struct TypeData {
    pub rtype: RType,
    /// Sorted by id (byte order).
    pub resources: Vec<Resource>,
    pub by_id: HashMap<String, usize>,
}

/// `(type, id)` of a literal reference.
pub type RefKey = (String, String);

pub struct Dataset {
    /// The server's base URL (`http://127.0.0.1:port`).
    pub base: String,
    pub types: Vec<TypeData>,
    /// For each (source type, reference parameter): target -> the sources pointing at it.
    referrers: HashMap<(RType, &'static str), HashMap<RefKey, Vec<usize>>>,
}

impl Dataset {
    pub fn new(base: &str, mut all: Vec<(RType, Vec<Value>)>) -> Dataset {
        all.sort_by_key(|(t, _)| *t);
        let types = all
            .into_iter()
            .map(|(rtype, jsons)| {
                let mut resources: Vec<Resource> = jsons
                    .into_iter()
                    .map(|json| {
                        let id = json["id"].as_str().expect("an id").to_owned();
                        let vals = params(rtype)
                            .into_iter()
                            .map(|p| (p.name, extract(rtype, p, &json)))
                            .collect();
                        Resource { id, json, vals }
                    })
                    .collect();
                resources.sort_by(|a, b| a.id.cmp(&b.id));
                let by_id = resources
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.id.clone(), i))
                    .collect();
                TypeData {
                    rtype,
                    resources,
                    by_id,
                }
            })
            .collect::<Vec<TypeData>>();
        let mut referrers: HashMap<(RType, &'static str), HashMap<RefKey, Vec<usize>>> =
            HashMap::new();
        for data in &types {
            for p in params(data.rtype)
                .into_iter()
                .filter(|p| matches!(p.kind, Kind::Ref(_)))
            {
                let map = referrers.entry((data.rtype, p.name)).or_default();
                for (i, r) in data.resources.iter().enumerate() {
                    if let Vals::Ref(refs) = r.vals(p.name) {
                        for rf in refs {
                            map.entry(rf.clone()).or_default().push(i);
                        }
                    }
                }
            }
        }
        Dataset {
            base: base.to_owned(),
            types,
            referrers,
        }
    }

    /// Target -> sources of a reference parameter.
    pub fn referrers(&self, source: RType, p: &str) -> &HashMap<RefKey, Vec<usize>> {
        self.referrers
            .iter()
            .find(|((t, name), _)| *t == source && *name == p)
            .map(|(_, m)| m)
            .unwrap_or_else(|| panic!("{}.{p} is not a reference parameter", source.name()))
    }

    pub fn of(&self, rtype: RType) -> &TypeData {
        &self.types[rtype.index()]
    }

    /// The resource a reference `(type, id)` resolves to, if it exists.
    pub fn resolve(&self, (rtype, id): &(String, String)) -> Option<(RType, usize)> {
        let rtype = RType::parse(rtype)?;
        self.of(rtype).by_id.get(id).map(|&i| (rtype, i))
    }
}

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

fn arr(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// The values of an element that is a list in some types and single in others (`type`: a list
/// of CodeableConcepts in Organization and HealthcareService, one in Device).
pub fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

fn strs(values: impl IntoIterator<Item = String>) -> Vals {
    Vals::Str(
        values
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|raw| Str {
                folded: fold(&raw),
                raw,
            })
            .collect(),
    )
}

fn codings(v: &Value) -> Vec<Tok> {
    arr(&v["coding"])
        .filter_map(|c| {
            Some(Tok {
                system: c["system"].as_str().map(str::to_owned),
                code: c["code"].as_str()?.to_owned(),
                types: Vec::new(),
            })
        })
        .collect()
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// `meta.extension[url=data-trace].extension[url=sub]`.
fn data_trace<'a>(json: &'a Value, sub: &'a str) -> impl Iterator<Item = &'a Value> {
    arr(&json["meta"]["extension"])
        .filter(|e| e["url"] == DATA_TRACE)
        .flat_map(|e| arr(&e["extension"]))
        .filter(move |e| e["url"] == sub)
}

fn human_name_parts(name: &Value) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(str_of(&name["family"]));
    for key in ["given", "prefix", "suffix"] {
        out.extend(arr(&name[key]).filter_map(str_of));
    }
    out.extend(str_of(&name["text"]));
    out
}

fn address_parts(address: &Value) -> Vec<String> {
    let mut out: Vec<String> = arr(&address["line"]).filter_map(str_of).collect();
    for key in ["city", "district", "state", "postalCode", "country", "text"] {
        out.extend(str_of(&address[key]));
    }
    out
}

pub fn extract(rtype: RType, param: ParamDef, json: &Value) -> Vals {
    let addresses = || arr(&json["address"]);
    match param.name {
        "_id" => Vals::Tok(vec![Tok {
            system: None,
            code: json["id"].as_str().unwrap_or_default().to_owned(),
            types: Vec::new(),
        }]),
        "_lastUpdated" => Vals::Date(
            json["meta"]["lastUpdated"]
                .as_str()
                .map(|t| dates::parse_instant(t).unwrap_or_else(|| panic!("instant {t}")))
                .into_iter()
                .collect(),
        ),
        "active" => Vals::Tok(
            json["active"]
                .as_bool()
                .map(|b| Tok {
                    system: None,
                    code: b.to_string(),
                    types: Vec::new(),
                })
                .into_iter()
                .collect(),
        ),
        "identifier" => Vals::Tok(
            arr(&json["identifier"])
                .filter_map(|i| {
                    Some(Tok {
                        system: str_of(&i["system"]),
                        code: str_of(&i["value"])?,
                        types: codings(&i["type"])
                            .into_iter()
                            .map(|t| (t.system, t.code))
                            .collect(),
                    })
                })
                .collect(),
        ),
        "identifier-type" => Vals::Tok(
            arr(&json["identifier"])
                .flat_map(|i| codings(&i["type"]))
                .collect(),
        ),
        "data-information-system" => Vals::Tok(
            data_trace(json, "systeme-information")
                .filter_map(|e| str_of(&e["valueCode"]))
                .map(|code| Tok {
                    system: None,
                    code,
                    types: Vec::new(),
                })
                .collect(),
        ),
        "data-registration-authority" => Vals::Tok(
            data_trace(json, "autorite-enregistrement")
                .flat_map(|e| {
                    let mut out = codings(&e["valueCodeableConcept"]);
                    if let Some(code) = e["valueCoding"]["code"].as_str() {
                        out.push(Tok {
                            system: str_of(&e["valueCoding"]["system"]),
                            code: code.to_owned(),
                            types: Vec::new(),
                        });
                    }
                    out
                })
                .collect(),
        ),
        // Only e-mails typed MSSANTE are mailboxes.
        "mailbox-mss" => strs(
            arr(&json["telecom"])
                .filter(|t| {
                    t["system"] == "email"
                        && arr(&t["extension"]).any(|e| {
                            e["url"] == EMAIL_TYPE && e["valueCoding"]["code"] == "MSSANTE"
                        })
                })
                .filter_map(|t| str_of(&t["value"])),
        ),
        "mailbox-mss-type" => Vals::Tok(
            arr(&json["telecom"])
                .flat_map(|t| arr(&t["extension"]))
                .filter(|e| e["url"] == MAILBOX_METADATA)
                .flat_map(|e| arr(&e["extension"]))
                .filter(|e| e["url"] == "type")
                .flat_map(|e| codings(&e["valueCodeableConcept"]))
                .collect(),
        ),
        "family" => strs(arr(&json["name"]).filter_map(|n| str_of(&n["family"]))),
        "given" => strs(
            arr(&json["name"])
                .flat_map(|n| arr(&n["given"]))
                .filter_map(str_of),
        ),
        "name" if rtype == RType::Practitioner => {
            strs(arr(&json["name"]).flat_map(human_name_parts))
        }
        "name" => strs(
            str_of(&json["name"])
                .into_iter()
                .chain(arr(&json["alias"]).filter_map(str_of)),
        ),
        "qualification-code" => Vals::Tok(
            arr(&json["qualification"])
                .flat_map(|q| codings(&q["code"]))
                .collect(),
        ),
        "role" => Vals::Tok(arr(&json["code"]).flat_map(codings).collect()),
        "type" | "service-type" => Vals::Tok(
            one_or_many(&json["type"])
                .into_iter()
                .flat_map(codings)
                .collect(),
        ),
        "service-category" => Vals::Tok(arr(&json["category"]).flat_map(codings).collect()),
        "characteristic" => Vals::Tok(arr(&json["characteristic"]).flat_map(codings).collect()),
        "eligibility" => Vals::Tok(
            arr(&json["eligibility"])
                .flat_map(|e| codings(&e["code"]))
                .collect(),
        ),
        "status" => Vals::Tok(
            str_of(&json["status"])
                .map(|code| Tok {
                    system: None,
                    code,
                    types: Vec::new(),
                })
                .into_iter()
                .collect(),
        ),
        "manufacturer" => strs(str_of(&json["manufacturer"])),
        "model" => strs(str_of(&json["modelNumber"])),
        // Uris are compared whole: `raw` is what counts, `folded` goes unused.
        "_profile" => strs(arr(&json["meta"]["profile"]).filter_map(str_of)),
        "address" => strs(addresses().flat_map(address_parts)),
        "address-city" => strs(addresses().filter_map(|a| str_of(&a["city"]))),
        "address-postalcode" => strs(addresses().filter_map(|a| str_of(&a["postalCode"]))),
        "address-line" => strs(addresses().flat_map(|a| arr(&a["line"])).filter_map(str_of)),
        "address-insee" => strs(
            addresses()
                .flat_map(|a| arr(&a["extension"]))
                .filter(|e| e["url"] == INSEE_CODE)
                .filter_map(|e| str_of(&e["valueCoding"]["code"])),
        ),
        "pharmacy-licence" => strs(
            arr(&json["extension"])
                .filter(|e| e["url"] == PHARMACY_LICENCE)
                .filter_map(|e| {
                    str_of(&e["valueString"])
                        .or_else(|| str_of(&e["valueIdentifier"]["value"]))
                        .or_else(|| str_of(&e["valueCode"]))
                }),
        ),
        "practitioner" | "organization" | "partof" => {
            let element = match (rtype, param.name) {
                (_, "practitioner") => &json["practitioner"],
                (RType::HealthcareService, "organization") => &json["providedBy"],
                (RType::Device, "organization") => &json["owner"],
                (_, "organization") => &json["organization"],
                _ => &json["partOf"],
            };
            Vals::Ref(
                element["reference"]
                    .as_str()
                    .and_then(|r| r.split_once('/'))
                    .map(|(t, id)| (t.to_owned(), id.to_owned()))
                    .into_iter()
                    .collect(),
            )
        }
        other => panic!("no extraction for {}.{other}", rtype.name()),
    }
}
