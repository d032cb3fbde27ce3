//! FINESS establishments: the in-memory directory and the `etalab-cs1100507` writer.
//!
//! The directory is built first because the RPPS rows must point at its establishments (FINESS site
//! and legal-entity numbers must match). One entry per establishment (100 000 at national scale) is
//! the only table the generator keeps in memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::Rng;

use super::geo::{self, Address, ESTABLISHMENT_PROFILE};
use super::names;
use super::random::{
    GenRng, Weighted, date_between, date_until_extraction, derived_rng, digits, domain, percent,
    pick, pick_str,
};
use super::tables::{
    Category, DEPARTMENTS, FINESS_CATEGORIES, FINESS_MANIFEST, LAMBERT_SOURCES, PLACE_NAMES,
    SiteKind,
};

/// Longest `rs` (short name) FINESS uses.
const SHORT_NAME_MAX: usize = 38;

/// One `geolocalisation` record.
#[derive(Debug, Clone)]
pub(crate) struct Geoloc {
    pub x: f64,
    pub y: f64,
    pub source: String,
    pub date: String,
}

/// One `structureet` record (plus its optional geolocation).
#[derive(Debug, Clone)]
pub(crate) struct Establishment {
    /// nofinesset (9 chars).
    pub et: String,
    /// nofinessej (9 chars), shared by several establishments of one legal entity.
    pub ej: String,
    pub category: &'static Category,
    pub short_name: String,
    pub long_name: String,
    pub address: Address,
    pub phone: String,
    pub fax: String,
    pub siret: String,
    pub ape: &'static str,
    pub opened: String,
    pub authorised: String,
    pub updated: String,
    pub geoloc: Option<Geoloc>,
}

/// Establishments grouped by use, per department, so RPPS activities land near the person's home.
#[derive(Debug, Default)]
pub(crate) struct SiteIndex {
    by_dept: Vec<Vec<u32>>,
    all: Vec<u32>,
}

impl SiteIndex {
    fn new() -> Self {
        SiteIndex {
            by_dept: vec![Vec::new(); DEPARTMENTS.len()],
            all: Vec::new(),
        }
    }

    fn push(&mut self, index: u32, dept: usize) {
        self.by_dept[dept].push(index);
        self.all.push(index);
    }

    /// An establishment index, in `dept` most of the time when it has one; `None` if the index is empty.
    pub(crate) fn pick(&self, rng: &mut GenRng, dept: usize) -> Option<u32> {
        let local = &self.by_dept[dept];
        if !local.is_empty() && percent(rng, 85) {
            return Some(*pick(rng, local));
        }
        if self.all.is_empty() {
            None
        } else {
            Some(*pick(rng, &self.all))
        }
    }
}

/// All establishments plus the indexes RPPS activities draw their sites from.
#[derive(Debug)]
pub(crate) struct Directory {
    pub establishments: Vec<Establishment>,
    /// Hospitals (CH, CHR, clinics): sites of salaried activities.
    pub hospitals: SiteIndex,
    /// Health centres and medico-social establishments: other salaried sites.
    pub care: SiteIndex,
    /// Officines: sites of pharmacists' activities.
    pub pharmacies: SiteIndex,
}

/// What makes an establishment a showcase of a file quirk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quirk {
    None,
    /// Name with `"` (must be written quoted with doubled quotes).
    Quoted,
    /// Long name with `;` (must be written quoted).
    Semicolon,
    /// No `geolocalisation` record.
    NoGeoloc,
}

/// The first establishments are fixed so that every category the RPPS side needs, every overseas
/// department, Corsica and each FINESS quirk exist even in the smallest file (20 establishments).
const ROSTER: &[(&str, &str, Quirk)] = &[
    ("101", "21", Quirk::None),
    ("355", "69", Quirk::None),
    ("620", "13", Quirk::None),
    ("500", "33", Quirk::Quoted),
    ("124", "75", Quirk::Semicolon),
    ("355", "2A", Quirk::None),
    ("620", "2B", Quirk::None),
    ("355", "971", Quirk::None),
    ("620", "972", Quirk::None),
    ("500", "973", Quirk::Quoted),
    ("355", "974", Quirk::None),
    ("620", "976", Quirk::None),
    ("603", "35", Quirk::None),
    ("189", "59", Quirk::NoGeoloc),
    ("462", "29", Quirk::Quoted),
    ("620", "75", Quirk::None),
    ("355", "69", Quirk::None),
    ("365", "31", Quirk::None),
    ("620", "59", Quirk::None),
    ("106", "44", Quirk::None),
];

/// Which kind of FINESS number to build (each kind has its own marker digits, so numbers of
/// different kinds never collide, and phantom numbers are never in the file).
#[derive(Debug, Clone, Copy)]
pub(crate) enum NumberKind {
    Site,
    LegalEntity,
    PhantomSite,
    PhantomLegalEntity,
    /// The establishment of the deliberately orphan lines of the activity and equipment files:
    /// in no file at all.
    OrphanSite,
}

/// A 9-character FINESS number: department prefix + kind marker + zero-padded sequence.
pub(crate) fn finess_number(dept: usize, kind: NumberKind, sequence: u32) -> String {
    let prefix = DEPARTMENTS[dept].finess_prefix;
    let marker = match (kind, prefix.len()) {
        (NumberKind::Site, 2) => "99",
        (NumberKind::LegalEntity, 2) => "98",
        (NumberKind::PhantomSite, 2) => "97",
        (NumberKind::PhantomLegalEntity, 2) => "96",
        (NumberKind::OrphanSite, 2) => "95",
        (NumberKind::Site, _) => "9",
        (NumberKind::LegalEntity, _) => "8",
        (NumberKind::PhantomSite, _) => "7",
        (NumberKind::PhantomLegalEntity, _) => "6",
        (NumberKind::OrphanSite, _) => "5",
    };
    format!("{prefix}{marker}{:05}", sequence % 100_000)
}

/// A 14-digit SIRET in the invented `99…` range: SIREN `99` + 7-digit entity number, then a NIC.
pub(crate) fn siret(rng: &mut GenRng, entity: u64) -> String {
    format!("99{:07}000{}", entity % 10_000_000, digits(rng, 2))
}

/// First SIREN entity number of FINESS establishments (cabinets use the range below it).
pub(crate) const ESTABLISHMENT_SIREN_BASE: u64 = 8_000_000;

/// Builds `count` establishments deterministically from the seed.
pub(crate) fn build_directory(seed: u64, count: u64) -> Directory {
    let mut builder = Builder::new(seed);
    let establishments: Vec<Establishment> = (0..count).map(|i| builder.establishment(i)).collect();
    let mut directory = Directory {
        establishments,
        hospitals: SiteIndex::new(),
        care: SiteIndex::new(),
        pharmacies: SiteIndex::new(),
    };
    index_sites(&mut directory);
    directory
}

/// Fills the site indexes from the establishments' categories.
fn index_sites(directory: &mut Directory) {
    for (i, est) in directory.establishments.iter().enumerate() {
        let Some(dept) = (match est.address.place {
            geo::Place::France(dept) => Some(dept),
            geo::Place::Abroad(_) => None,
        }) else {
            continue;
        };
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        match est.category.kind {
            SiteKind::Hospital => directory.hospitals.push(index, dept),
            SiteKind::Care | SiteKind::MedicoSocial => directory.care.push(index, dept),
            SiteKind::Pharmacy => directory.pharmacies.push(index, dept),
            SiteKind::Social => {}
        }
    }
}

/// Sequential state of establishment generation (numbering per department, current legal entities).
struct Builder {
    rng: GenRng,
    categories: Weighted,
    departments: Weighted,
    site_counters: Vec<u32>,
    entity_counters: Vec<u32>,
    last_entity: Vec<Option<String>>,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Builder {
            rng: derived_rng(seed, domain::FINESS, 0),
            categories: Weighted::new(FINESS_CATEGORIES.iter().map(|c| c.weight)),
            departments: Weighted::new(DEPARTMENTS.iter().map(|d| d.weight)),
            site_counters: vec![0; DEPARTMENTS.len()],
            entity_counters: vec![0; DEPARTMENTS.len()],
            last_entity: vec![None; DEPARTMENTS.len()],
        }
    }

    /// Establishment number `i` (roster entry or random draw).
    fn establishment(&mut self, i: u64) -> Establishment {
        let (category, dept, quirk) = match ROSTER.get(i as usize) {
            Some(&(cat_code, dept_code, quirk)) => (
                category_by_code(cat_code),
                department_index(dept_code),
                quirk,
            ),
            None => {
                let category = &FINESS_CATEGORIES[self.categories.sample(&mut self.rng)];
                let dept = self.departments.sample(&mut self.rng);
                (category, dept, self.random_quirk(category))
            }
        };
        let rng = &mut self.rng;
        let address = geo::french_address(rng, dept, ESTABLISHMENT_PROFILE);
        let (short_name, long_name) = names_for(rng, category, &address, quirk);
        let et = finess_number(dept, NumberKind::Site, self.site_counters[dept]);
        self.site_counters[dept] += 1;
        let ej = self.legal_entity(dept, category, i == 16);
        let rng = &mut self.rng;
        let dept_row = &DEPARTMENTS[dept];
        let opened = date_between(rng, 1950, 2024);
        Establishment {
            et,
            ej,
            category,
            short_name,
            long_name,
            phone: if percent(rng, 90) {
                geo::phone(rng, dept_row)
            } else {
                String::new()
            },
            fax: if percent(rng, 45) {
                geo::phone(rng, dept_row)
            } else {
                String::new()
            },
            siret: if percent(rng, 85) {
                siret(rng, ESTABLISHMENT_SIREN_BASE + i)
            } else {
                String::new()
            },
            ape: pick_str(rng, category.ape),
            authorised: if percent(rng, 70) {
                opened.clone()
            } else {
                date_between(rng, 1950, 2024)
            },
            opened,
            updated: date_until_extraction(rng, 2016),
            geoloc: if quirk == Quirk::NoGeoloc || percent(rng, 4) {
                None
            } else {
                Some(geoloc(rng, dept))
            },
            address,
        }
    }

    /// Rare name quirks outside the roster: quotes in residential names, `;` in a few long names.
    fn random_quirk(&mut self, category: &Category) -> Quirk {
        let residential = matches!(category.code, "500" | "462" | "202");
        if residential && percent(&mut self.rng, 6) {
            Quirk::Quoted
        } else if self.rng.random_range(0..1000) < 3 {
            Quirk::Semicolon
        } else {
            Quirk::None
        }
    }

    /// The legal entity: often the department's current one for hospitals and medico-social
    /// establishments (several sites per EJ), almost always a new one for officines.
    fn legal_entity(&mut self, dept: usize, category: &Category, force_share: bool) -> String {
        let share_pct = match category.kind {
            SiteKind::Hospital => 40,
            SiteKind::MedicoSocial | SiteKind::Social => 30,
            SiteKind::Care => 20,
            SiteKind::Pharmacy => 2,
        };
        if (force_share || percent(&mut self.rng, share_pct))
            && let Some(ej) = &self.last_entity[dept]
        {
            return ej.clone();
        }
        let ej = finess_number(dept, NumberKind::LegalEntity, self.entity_counters[dept]);
        self.entity_counters[dept] += 1;
        self.last_entity[dept] = Some(ej.clone());
        ej
    }
}

/// The category with this code (the roster only uses codes of `FINESS_CATEGORIES`).
fn category_by_code(code: &str) -> &'static Category {
    FINESS_CATEGORIES
        .iter()
        .find(|c| c.code == code)
        .unwrap_or(&FINESS_CATEGORIES[0])
}

/// Index in `DEPARTMENTS` of a department code (the roster only uses existing codes).
pub(crate) fn department_index(code: &str) -> usize {
    DEPARTMENTS.iter().position(|d| d.code == code).unwrap_or(0)
}

/// Short and long names of an establishment, with the requested quirk.
fn names_for(
    rng: &mut GenRng,
    category: &Category,
    address: &Address,
    quirk: Quirk,
) -> (String, String) {
    let town = address.town.clone();
    let subject = match category.kind {
        SiteKind::Hospital if category.code != "365" => town,
        SiteKind::Pharmacy if percent(rng, 50) => names::simple_name(rng),
        _ if quirk == Quirk::Quoted || percent(rng, 50) => pick(rng, PLACE_NAMES).to_string(),
        _ => town,
    };
    let room = SHORT_NAME_MAX.saturating_sub(category.short_prefix.chars().count() + 3);
    let subject = truncate_chars(&subject, room);
    let short = if quirk == Quirk::Quoted {
        format!("{} \"{subject}\"", category.short_prefix)
    } else {
        format!("{} {subject}", category.short_prefix)
    };
    let mut long = if category.long_prefix.is_empty() || percent(rng, 30) {
        String::new()
    } else {
        format!("{} {subject}", category.long_prefix)
    };
    if category.kind == SiteKind::Pharmacy && percent(rng, 30) {
        long = format!("SELARL PHARMACIE {}", names::simple_name(rng));
    }
    if quirk == Quirk::Semicolon {
        let base = if long.is_empty() { short.clone() } else { long };
        let wing = pick(rng, &["NORD", "SUD", "EST", "OUEST"]);
        long = format!("{base}; ANTENNE {wing}");
    }
    (short, long)
}

/// The first `max` characters of `text`.
fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A geolocation near the department centre: Lambert 93 in metropole, UTM overseas.
fn geoloc(rng: &mut GenRng, dept: usize) -> Geoloc {
    let (x, y, utm_zone) = geo::coordinates(rng, &DEPARTMENTS[dept]);
    let quality = rng.random_range(80..=100u32);
    let source = match utm_zone {
        Some(zone) => format!("1,ATLASANTE,{quality},BAN,{zone}"),
        None => pick(rng, LAMBERT_SOURCES).replace("{q}", &quality.to_string()),
    };
    Geoloc {
        x,
        y,
        source,
        date: date_until_extraction(rng, 2020),
    }
}

/// Appends one tagged record: `tag;field;field…` and a line feed, each field quoted when needed.
pub(crate) fn push_record(line: &mut String, tag: &str, fields: &[&str]) {
    line.push_str(tag);
    for field in fields {
        line.push(';');
        push_csv_field(line, field);
    }
    line.push('\n');
}

/// Writes the FINESS file: manifest (dated `extraction_date`, `YYYY-MM-DD`), every
/// `structureet` line, then every `geolocalisation` line.
pub(crate) fn write_file(
    directory: &Directory,
    path: &Path,
    extraction_date: &str,
) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(FINESS_MANIFEST.as_bytes())?;
    out.write_all(extraction_date.as_bytes())?;
    out.write_all(b"\n")?;
    let mut line = String::with_capacity(512);
    for est in &directory.establishments {
        line.clear();
        structureet_line(est, &mut line);
        out.write_all(line.as_bytes())?;
    }
    for est in &directory.establishments {
        if let Some(geoloc) = &est.geoloc {
            line.clear();
            geolocalisation_line(&est.et, geoloc, &mut line);
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()
}

/// The 32-field `structureet` record (the last field, numuai, is empty so the line ends with `;`).
pub(crate) fn structureet_line(est: &Establishment, line: &mut String) {
    let a = &est.address;
    let dept = a.department();
    let (type_code, repetition) = (a.street_type.map_or("", |t| t.code), a.repetition);
    let dept_label = dept.map(|d| geo::upper_plain(d.label)).unwrap_or_default();
    let category = est.category;
    let (sph_code, sph_label) = category.sph.map_or(("", ""), |s| (s.code, s.label));
    let fields: [&str; 31] = [
        &est.et,
        &est.ej,
        &est.short_name,
        &est.long_name,
        &a.recipient,
        &a.building,
        &a.number,
        type_code,
        &a.street,
        repetition,
        &a.distribution,
        a.finess_commune(),
        dept.map_or("", |d| d.finess_code),
        &dept_label,
        &a.routing,
        &est.phone,
        &est.fax,
        category.code,
        category.label,
        category.aggregate.code,
        category.aggregate.label,
        &est.siret,
        est.ape,
        category.mft.code,
        category.mft.label,
        sph_code,
        sph_label,
        &est.opened,
        &est.authorised,
        &est.updated,
        "",
    ];
    line.push_str("structureet");
    for field in fields {
        line.push(';');
        push_csv_field(line, field);
    }
    line.push('\n');
}

/// The 6-field `geolocalisation` record.
fn geolocalisation_line(et: &str, geoloc: &Geoloc, line: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(
        line,
        "geolocalisation;{et};{:.1};{:.1};{};{}",
        geoloc.x, geoloc.y, geoloc.source, geoloc.date
    );
}

/// Appends a value RFC-4180 style: quoted (inner quotes doubled) only when it contains `;`, `"` or a
/// line break, as the real FINESS files do.
pub(crate) fn push_csv_field(line: &mut String, value: &str) {
    if !value.contains([';', '"', '\n', '\r']) {
        line.push_str(value);
        return;
    }
    line.push('"');
    for ch in value.chars() {
        if ch == '"' {
            line.push('"');
        }
        line.push(ch);
    }
    line.push('"');
}
