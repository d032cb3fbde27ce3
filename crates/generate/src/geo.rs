//! Addresses, communes, phone numbers and coordinates.
//!
//! One [`Address`] value feeds both files: FINESS writes it positionally (commune as 3 chars within the
//! department), RPPS writes it in the `(coord. structure)` columns, possibly hiding some parts.

use rand::Rng;

use super::random::{GenRng, digits, percent, pick, pick_str};
use super::tables::{
    BUILDING_COMPLEMENTS, Code, DEPARTMENTS, Department, FOREIGN_PLACES, FOREIGN_STREETS, Geo,
    LIEUX_DITS, RECIPIENT_COMPLEMENTS, STREET_NAMES, STREET_TYPES, TOWN_BASES, TOWN_SUFFIXES,
};

/// Where an address is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    /// In France, in `DEPARTMENTS[index]`.
    France(usize),
    /// Abroad: `Code pays` / `Libellé pays`.
    Abroad(&'static Code),
}

/// A postal address as the two registries store it.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    /// Complément destinataire (recipient line).
    pub recipient: String,
    /// Complément point géographique (building, floor).
    pub building: String,
    /// Street number (free text in the RPPS file).
    pub number: String,
    /// Indice de répétition (`B`, `T`…).
    pub repetition: &'static str,
    /// Street type code and label; `None` when the type is only written inside `street`.
    pub street_type: Option<&'static Code>,
    pub street: String,
    /// Mention distribution / lieu-dit / BP / CS.
    pub distribution: String,
    pub postcode: String,
    /// `CP VILLE` routing line (Bureau cedex / ligneacheminement).
    pub routing: String,
    /// INSEE COG (5 chars), empty abroad.
    pub commune_code: String,
    /// Commune name in mixed case, empty abroad.
    pub commune_label: String,
    /// Commune name as in the routing line (`ST ETIENNE`, `LYON`), for establishment names.
    pub town: String,
    pub place: Place,
}

impl Address {
    /// The department, if the address is in France.
    pub(crate) fn department(&self) -> Option<&'static Department> {
        match self.place {
            Place::France(index) => Some(&DEPARTMENTS[index]),
            Place::Abroad(_) => None,
        }
    }

    /// The FINESS 3-character commune code (COG without its department part).
    pub(crate) fn finess_commune(&self) -> &str {
        let len = self.commune_code.len();
        if len >= 3 {
            &self.commune_code[len - 3..]
        } else {
            ""
        }
    }
}

/// How often the optional parts of an address are present, in percent; establishments use BP/CS and
/// CEDEX much more often than cabinets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddressProfile {
    pub recipient_pct: u32,
    pub building_pct: u32,
    pub distribution_pct: u32,
    pub cedex_pct: u32,
}

/// Address profile of libéral cabinets.
pub(crate) const CABINET_PROFILE: AddressProfile = AddressProfile {
    recipient_pct: 6,
    building_pct: 12,
    distribution_pct: 4,
    cedex_pct: 3,
};

/// Address profile of FINESS establishments.
pub(crate) const ESTABLISHMENT_PROFILE: AddressProfile = AddressProfile {
    recipient_pct: 0,
    building_pct: 10,
    distribution_pct: 18,
    cedex_pct: 15,
};

/// A commune: label, routing name, postcode, COG.
struct Town {
    label: String,
    routing_name: String,
    postcode: String,
    cog: String,
}

/// A random French address in the department `dept_index`.
pub(crate) fn french_address(
    rng: &mut GenRng,
    dept_index: usize,
    profile: AddressProfile,
) -> Address {
    let dept = &DEPARTMENTS[dept_index];
    let town = town(rng, dept);
    let (number, repetition) = street_number(rng);
    let (street_type, street) = street(rng);
    let cedex = percent(rng, profile.cedex_pct);
    let (postcode, routing) = if cedex {
        let code = cedex_code(rng, dept);
        let suffix = if percent(rng, 20) {
            format!(" {}", rng.random_range(1..=9))
        } else {
            String::new()
        };
        let routing = format!("{code} {} CEDEX{suffix}", town.routing_name);
        (code, routing)
    } else {
        let routing = format!("{} {}", town.postcode, town.routing_name);
        (town.postcode, routing)
    };
    Address {
        recipient: optional(rng, profile.recipient_pct, RECIPIENT_COMPLEMENTS),
        building: optional(rng, profile.building_pct, BUILDING_COMPLEMENTS),
        number,
        repetition,
        street_type,
        street,
        distribution: if cedex || percent(rng, profile.distribution_pct) {
            distribution(rng)
        } else {
            String::new()
        },
        postcode,
        routing,
        commune_code: town.cog,
        commune_label: town.label,
        town: town.routing_name,
        place: Place::France(dept_index),
    }
}

/// A random address abroad: `99xxx` country, non-French postcode, no commune, no street type code.
pub(crate) fn foreign_address(rng: &mut GenRng) -> Address {
    let (country, places) = pick(rng, FOREIGN_PLACES);
    let (postcode, city) = *pick(rng, places);
    let routing = if percent(rng, 50) {
        city.to_string()
    } else {
        format!("{postcode} {city}")
    };
    let town = city.to_string();
    Address {
        recipient: String::new(),
        building: String::new(),
        number: rng.random_range(1..=220u32).to_string(),
        repetition: "",
        street_type: None,
        street: pick(rng, FOREIGN_STREETS).to_string(),
        distribution: String::new(),
        postcode: postcode.to_string(),
        routing,
        commune_code: String::new(),
        commune_label: String::new(),
        town,
        place: Place::Abroad(country),
    }
}

/// The text of an optional field: a random value `pct` % of the time, else empty.
fn optional(rng: &mut GenRng, pct: u32, values: &[&str]) -> String {
    if percent(rng, pct) {
        pick(rng, values).to_string()
    } else {
        String::new()
    }
}

/// Street number (sometimes missing) and repetition index (sometimes `B`/`T`).
fn street_number(rng: &mut GenRng) -> (String, &'static str) {
    if percent(rng, 8) {
        return (String::new(), "");
    }
    let number = if percent(rng, 80) {
        rng.random_range(1..=120u32)
    } else {
        rng.random_range(121..=1650u32)
    };
    let repetition = match rng.random_range(0..100) {
        0..=2 => "B",
        3 => "T",
        _ => "",
    };
    (number.to_string(), repetition)
}

/// Street type and name. In ~2 % of addresses the type is only written inside the name (`R PASTEUR`),
/// a real quirk of the RPPS file.
fn street(rng: &mut GenRng) -> (Option<&'static Code>, String) {
    let (street_type, _) = &STREET_TYPES[weighted_street(rng)];
    let name = pick(rng, STREET_NAMES).to_string();
    if percent(rng, 2) {
        return (None, format!("{} {name}", street_type.code));
    }
    (Some(street_type), name)
}

/// Index into `STREET_TYPES` drawn by weight (rue dominates).
fn weighted_street(rng: &mut GenRng) -> usize {
    let total: u32 = STREET_TYPES.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (i, (_, w)) in STREET_TYPES.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    0
}

/// BP / CS / lieu-dit line.
fn distribution(rng: &mut GenRng) -> String {
    match rng.random_range(0..10) {
        0..=4 => format!("BP {}", rng.random_range(1..=999u32)),
        5..=8 => format!("CS {}", rng.random_range(10000..=99999u32)),
        _ => pick(rng, LIEUX_DITS).to_string(),
    }
}

/// A commune of the department: the seat a third of the time (always in Paris, which is a single
/// commune), otherwise an invented commune.
fn town(rng: &mut GenRng, dept: &Department) -> Town {
    if dept.code == "75" || percent(rng, 35) {
        seat_town(rng, dept)
    } else {
        invented_town(rng, dept)
    }
}

/// The department seat; Paris, Lyon and Marseille are split into arrondissements like in the files.
fn seat_town(rng: &mut GenRng, dept: &Department) -> Town {
    let arrondissements = match dept.code {
        "75" => Some(("Paris", "750", "751", 20)),
        "69" => Some(("Lyon", "6900", "6938", 9)),
        "13" => Some(("Marseille", "130", "132", 16)),
        _ => None,
    };
    if let Some((city, postcode_prefix, cog_prefix, count)) = arrondissements {
        let n: u32 = rng.random_range(1..=count);
        let width = 5 - postcode_prefix.len();
        let ordinal = if n == 1 {
            "1er".to_string()
        } else {
            format!("{n}e")
        };
        return Town {
            label: format!("{city} {ordinal} Arrondissement"),
            routing_name: routing_name(city),
            postcode: format!("{postcode_prefix}{n:0width$}"),
            cog: format!("{cog_prefix}{n:0w2$}", w2 = 5 - cog_prefix.len()),
        };
    }
    Town {
        label: dept.seat.to_string(),
        routing_name: routing_name(dept.seat),
        postcode: dept.seat_postcode.to_string(),
        cog: dept.seat_cog.to_string(),
    }
}

/// An invented commune with a postcode and a COG shaped like the department's.
fn invented_town(rng: &mut GenRng, dept: &Department) -> Town {
    let mut label = pick(rng, TOWN_BASES).to_string();
    if percent(rng, 40) {
        label.push_str(pick_str(rng, TOWN_SUFFIXES));
    }
    Town {
        routing_name: routing_name(&label),
        label,
        postcode: invented_postcode(rng, dept),
        cog: invented_cog(rng, dept),
    }
}

/// A postcode of the department (`20xxx` for Corsica, `97x` + 2 digits overseas).
fn invented_postcode(rng: &mut GenRng, dept: &Department) -> String {
    let d = rng.random_range(0..10);
    match dept.code {
        "2A" => format!("20{}{d}0", rng.random_range(0..=1)),
        "2B" => format!("20{}{d}0", rng.random_range(2..=6)),
        code if code.len() == 3 => format!("{code}{d}0"),
        code => format!("{code}{}{d}0", rng.random_range(0..10)),
    }
}

/// A CEDEX code of the department (distinct from ordinary postcodes: not ending in 0).
fn cedex_code(rng: &mut GenRng, dept: &Department) -> String {
    let tail = rng.random_range(1..=99u32);
    match dept.code {
        "2A" => format!("201{tail:02}"),
        "2B" => format!("204{tail:02}"),
        code if code.len() == 3 => format!("{code}{tail:02}"),
        code => format!("{code}0{tail:02}"),
    }
}

/// A COG of the department: `dd` + 3 digits, `2A`/`2B` + 3 digits, or `97x` + 2 digits.
fn invented_cog(rng: &mut GenRng, dept: &Department) -> String {
    if dept.code.len() == 3 {
        format!("{}{:02}", dept.code, rng.random_range(1..=34u32))
    } else {
        format!("{}{:03}", dept.code, rng.random_range(1..=699u32))
    }
}

/// Routing-line form of a commune name: upper case, no accents, no hyphens/apostrophes, `SAINT` → `ST`
/// (the La Poste convention both files follow).
pub(crate) fn routing_name(label: &str) -> String {
    let plain = upper_plain(label);
    plain
        .split(' ')
        .map(|word| match word {
            "SAINT" => "ST",
            "SAINTE" => "STE",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Upper case without accents, hyphens and apostrophes turned into spaces (`Côte-d'Or` → `COTE D OR`),
/// as FINESS writes department names.
pub(crate) fn upper_plain(label: &str) -> String {
    strip_accents(label)
        .chars()
        .map(|ch| {
            if ch == '-' || ch == '\'' {
                ' '
            } else {
                ch.to_ascii_uppercase()
            }
        })
        .collect()
}

/// Removes French diacritics (`É` → `E`, `œ` → `oe`).
pub(crate) fn strip_accents(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            'à' | 'â' | 'ä' => out.push('a'),
            'À' | 'Â' | 'Ä' => out.push('A'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'É' | 'È' | 'Ê' | 'Ë' => out.push('E'),
            'î' | 'ï' => out.push('i'),
            'Î' | 'Ï' => out.push('I'),
            'ô' | 'ö' => out.push('o'),
            'Ô' | 'Ö' => out.push('O'),
            'ù' | 'û' | 'ü' => out.push('u'),
            'Ù' | 'Û' | 'Ü' => out.push('U'),
            'ç' => out.push('c'),
            'Ç' => out.push('C'),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            other => out.push(other),
        }
    }
    out
}

/// ARCEP ranges reserved for fiction, per landline zone, so invented numbers never reach a real line.
const FICTION_RANGES: &[(&str, &str)] = &[
    ("01", "019900"),
    ("02", "026191"),
    ("03", "035301"),
    ("04", "046571"),
    ("05", "053649"),
];

/// A 10-digit landline number of the department (no spaces).
pub(crate) fn phone(rng: &mut GenRng, dept: &Department) -> String {
    let block = FICTION_RANGES
        .iter()
        .find(|(zone, _)| *zone == dept.phone_prefix)
        .map(|(_, block)| *block);
    match block {
        Some(block) => format!("{block}{}", digits(rng, 4)),
        None => format!(
            "{}99{}",
            dept.phone_prefix,
            digits(rng, 10 - dept.phone_prefix.len() - 2)
        ),
    }
}

/// A number as some sources type it: usually bare, sometimes grouped with spaces or in `+33` form.
pub(crate) fn phone_display(rng: &mut GenRng, raw: String) -> String {
    match rng.random_range(0..100) {
        0..=2 => raw
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        3 => format!("+33{}", &raw[1..]),
        _ => raw,
    }
}

/// Coordinates of a point near the department centre, with the CRS tag of `sourcecoordet`
/// (`None` for the Lambert 93 tag, which the caller picks among several provenance strings).
pub(crate) fn coordinates(rng: &mut GenRng, dept: &Department) -> (f64, f64, Option<&'static str>) {
    match dept.geo {
        Geo::Lambert93 { lon, lat } => {
            let lon = lon + rng.random_range(-0.30..0.30);
            let lat = lat + rng.random_range(-0.22..0.22);
            let (x, y) = lambert93(lon, lat);
            (round1(x), round1(y), None)
        }
        Geo::Utm {
            zone,
            easting,
            northing,
            spread_m,
        } => {
            let x = easting + rng.random_range(-spread_m..spread_m);
            let y = northing + rng.random_range(-spread_m..spread_m);
            (round1(x), round1(y), Some(zone))
        }
    }
}

/// Rounds to one decimal (FINESS coordinates have one).
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Projects WGS84/RGF93 degrees to Lambert 93 (EPSG:2154), the CRS of metropolitan FINESS coordinates.
/// Standard Lambert conformal conic on GRS80 with parallels 44°/49°, origin 46.5°N 3°E, false origin
/// (700 000, 6 600 000).
pub(crate) fn lambert93(lon_deg: f64, lat_deg: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E: f64 = 0.081_819_191_042_815_79;
    const X0: f64 = 700_000.0;
    const Y0: f64 = 6_600_000.0;
    let m = |phi: f64| phi.cos() / (1.0 - E * E * phi.sin() * phi.sin()).sqrt();
    let t = |phi: f64| {
        let es = E * phi.sin();
        (std::f64::consts::FRAC_PI_4 - phi / 2.0).tan() / ((1.0 - es) / (1.0 + es)).powf(E / 2.0)
    };
    let (phi1, phi2, phi0) = (44f64.to_radians(), 49f64.to_radians(), 46.5f64.to_radians());
    let n = (m(phi1).ln() - m(phi2).ln()) / (t(phi1).ln() - t(phi2).ln());
    let f = m(phi1) / (n * t(phi1).powf(n));
    let rho0 = A * f * t(phi0).powf(n);
    let rho = A * f * t(lat_deg.to_radians()).powf(n);
    let theta = n * (lon_deg - 3.0).to_radians();
    (X0 + rho * theta.sin(), Y0 + rho0 - rho * theta.cos())
}
