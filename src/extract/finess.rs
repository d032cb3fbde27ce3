//! FINESS etalab extractions: the establishments with geolocation (`etalab-cs1100507`) and
//! the other kinds (legal entities, heavy equipment, social equipment, healthcare activities;
//! their lines in `finess_lines`).
//!
//! Line 1 is a manifest (`finess;etalab;<n>;<date>`), not a header; every following record
//! starts with its tag. The establishments file holds `structureet` (32 fields, 31 in extracts
//! before numuai existed) and `geolocalisation` (6 fields) records, joined on `nofinesset`. The
//! other files hold their own tag (`structureej`, `equipmateriellourd`, `equipementsocial`,
//! `activiteoffresoin`), the activity and equipment files after `structureet` lines that only
//! link their establishments to their legal entities. A file's kind is read from its tags,
//! never from its name: the first own tag met, else establishments (docs/formats.md §4).
//! Values are RFC-4180 quoted when they contain `"` or `;`, so these files, unlike the RPPS
//! one, go through a quote-aware reader. A file is at most ~100 000 records (~40 MB): it is
//! loaded in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::decode::{Encoding, LineGuard, MAX_LINE_BYTES, decode_line, strip_bom};
use super::error::{FileError, Rejected, RowError};
use super::finess_lines::{self, UnconfirmedShape, iso_date};
pub use super::finess_records::{
    CareActivity, FinessKind, HeavyEquipment, LegalEntity, SocialEquipment,
};

const EXPECTED: &str = "a FINESS etalab extraction";

/// One `structureet` record: a FINESS establishment (entité géographique).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Establishment {
    /// 1-based line of the record, for reports and the "first wins" rule.
    pub line: u64,
    pub nofinesset: String,
    pub nofinessej: String,
    pub rs: String,
    pub rslongue: String,
    pub complrs: String,
    pub compldistrib: String,
    pub numvoie: String,
    pub typvoie: String,
    pub voie: String,
    pub compvoie: String,
    pub lieuditbp: String,
    pub commune: String,
    pub departement: String,
    pub ligneacheminement: String,
    pub telephone: String,
    pub telecopie: String,
    pub categetab: String,
    /// The category's label (for people: see `mapping::labels`).
    pub libcategetab: String,
    pub siret: String,
    pub codeape: String,
    pub codemft: String,
    pub codesph: String,
    pub dateouv: String,
    pub datemaj: String,
}

/// One `geolocalisation` record: coordinates in metres, in the reference system its source
/// names (Lambert 93 in metropolitan France, a UTM zone overseas).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geolocation {
    pub x: f64,
    pub y: f64,
    /// Last item of `sourcecoordet`, e.g. `LAMBERT_93`, `L93_METROPOLE`, `UTM_S40`.
    pub crs: String,
    /// The full `sourcecoordet` provenance string.
    pub source: String,
    pub date: String,
}

/// Everything read from one FINESS file. Only the records of its `kind` are filled (and
/// `site_links` for the activity and equipment files).
#[derive(Debug, Default)]
pub struct FinessFile {
    /// What the file holds, from its record tags.
    pub kind: FinessKind,
    /// Extraction date from the manifest line.
    pub extraction_date: String,
    /// Establishments in file order.
    pub establishments: Vec<Establishment>,
    pub geolocations: HashMap<String, Geolocation>,
    /// Legal entities in file order.
    pub legal_entities: Vec<LegalEntity>,
    pub heavy_equipment: Vec<HeavyEquipment>,
    pub social_equipment: Vec<SocialEquipment>,
    pub activities: Vec<CareActivity>,
    /// Establishment -> legal entity, from the `structureet` lines of the activity and
    /// equipment files (links, never Organizations).
    pub site_links: HashMap<String, String>,
    /// Whether the unconfirmed social-equipment columns passed the file's shape check and hold
    /// values (docs/mapping.md A30); when they did not pass they are all left empty.
    pub unconfirmed_fields_used: bool,
    /// Lines read after the manifest, of every tag.
    pub records_read: u64,
    pub rejected: Vec<Rejected>,
    pub windows_1252_lines: u64,
}

impl FinessFile {
    /// The records of the file's own kind that were kept.
    pub fn records(&self) -> u64 {
        let count = match self.kind {
            FinessKind::Establishments => self.establishments.len(),
            FinessKind::LegalEntities => self.legal_entities.len(),
            FinessKind::HeavyEquipment => self.heavy_equipment.len(),
            FinessKind::SocialEquipment => self.social_equipment.len(),
            FinessKind::CareActivities => self.activities.len(),
        };
        count as u64
    }
}

/// Reads a FINESS file of any kind; refuses a file that holds no record of its kind (a cut or
/// empty download) or whose tags are none of FINESS's.
pub fn read(path: &Path) -> Result<FinessFile, FileError> {
    let file = File::open(path).map_err(|e| FileError::io(path, e))?;
    let finess = read_from(path, BufReader::new(LineGuard::new(file, MAX_LINE_BYTES)))?;
    if finess.records() == 0 {
        let detail = match finess.kind {
            FinessKind::Establishments => {
                "it holds no establishment (structureet record): a cut or empty file is not imported".to_owned()
            }
            kind => format!(
                "it holds no valid `{}` record: a cut or empty file is not imported",
                kind.tag()
            ),
        };
        return Err(not_finess(path, detail));
    }
    Ok(finess)
}

/// Reads FINESS records from any reader; `path` only names the file in reports.
pub fn read_from(path: &Path, input: impl std::io::Read) -> Result<FinessFile, FileError> {
    // Lines end at `\n`; the `\r` of a CRLF end is trimmed with the last field. (With the
    // default CRLF terminator the csv crate numbers CRLF lines one short: rust-csv #395.)
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut scan = Scan::default();
    let mut record = csv::ByteRecord::new();
    let mut manifest_seen = false;
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(err) if err.is_io_error() => {
                let csv::ErrorKind::Io(io) = err.into_kind() else {
                    unreachable!("an io error")
                };
                return Err(FileError::io(path, io));
            }
            Err(err) => {
                scan.reject(line, RowError::Csv(err.to_string()));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if is_blank(&record) {
            continue; // a blank CRLF line (the reader skips blank LF lines itself)
        }
        if !manifest_seen {
            scan.out.extraction_date = parse_manifest(path, &record)?;
            manifest_seen = true;
            continue;
        }
        scan.out.records_read += 1;
        match decode_record(&record) {
            Ok((fields, encoding)) => {
                if encoding == Encoding::Windows1252 {
                    scan.out.windows_1252_lines += 1;
                }
                scan.record(line, fields);
            }
            Err(reason) => scan.reject(line, reason),
        }
    }
    if !manifest_seen {
        return Err(not_finess(path, "the file is empty"));
    }
    scan.finish(path)
}

/// The records of one file as they are met: those of the file's own kind (the first own tag
/// met) parsed at once, the `structureet` and `geolocalisation` ones kept until the kind is
/// known (they are establishments in an establishments file, links elsewhere).
#[derive(Default)]
struct Scan {
    out: FinessFile,
    kind: Option<FinessKind>,
    structures: Vec<(u64, Vec<String>)>,
    geolocations: Vec<(u64, Vec<String>)>,
    unknown: Vec<(u64, String)>,
    /// Key -> line of its first record, for the "first wins" rule of the own records.
    first_line_of: HashMap<String, u64>,
}

impl Scan {
    fn reject(&mut self, line: u64, reason: RowError) {
        self.out.rejected.push(Rejected {
            file: Default::default(),
            line,
            reason,
        });
    }

    fn record(&mut self, line: u64, mut fields: Vec<String>) {
        match fields[0].as_str() {
            "structureet" => self.structures.push((line, fields)),
            "geolocalisation" => self.geolocations.push((line, fields)),
            tag => match FinessKind::of_tag(tag) {
                Some(kind) if *self.kind.get_or_insert(kind) == kind => {
                    if let Err(reason) = self.own_record(kind, line, &mut fields) {
                        self.reject(line, reason);
                    }
                }
                Some(_) => {
                    let kind_tag = self.kind.map_or("", FinessKind::tag);
                    let reason = RowError::ForeignRecord {
                        tag: tag.to_owned(),
                        kind_tag,
                    };
                    self.reject(line, reason);
                }
                None => self.unknown.push((line, tag.to_owned())),
            },
        }
    }

    /// Parses a record of the file's own kind (not establishments) and keeps it unless its key
    /// was seen before.
    fn own_record(
        &mut self,
        kind: FinessKind,
        line: u64,
        fields: &mut [String],
    ) -> Result<(), RowError> {
        let out = &mut self.out;
        let firsts = &mut self.first_line_of;
        match kind {
            FinessKind::Establishments => unreachable!("structureet records wait for the kind"),
            FinessKind::LegalEntities => {
                let entity = finess_lines::legal_entity(line, fields)?;
                let key = entity.nofinessej.clone();
                first_wins(firsts, "legal entity", key, line)?;
                out.legal_entities.push(entity);
            }
            FinessKind::HeavyEquipment => {
                let unit = finess_lines::heavy_equipment(line, fields)?;
                let key = [
                    &unit.nofinesset,
                    &unit.eml,
                    &unit.noautor,
                    &unit.noimplarhgos,
                ];
                first_wins(firsts, "heavy equipment", slashed(&key), line)?;
                out.heavy_equipment.push(unit);
            }
            FinessKind::SocialEquipment => {
                let equipment = finess_lines::social_equipment(line, fields)?;
                let key = [
                    &equipment.nofinesset,
                    &equipment.de,
                    &equipment.ta,
                    &equipment.client,
                ];
                first_wins(firsts, "social equipment", slashed(&key), line)?;
                out.social_equipment.push(equipment);
            }
            FinessKind::CareActivities => {
                let activity = finess_lines::care_activity(line, fields)?;
                let key = [
                    &activity.nofinesset,
                    &activity.activite,
                    &activity.modalite,
                    &activity.forme,
                ];
                first_wins(firsts, "healthcare activity", slashed(&key), line)?;
                out.activities.push(activity);
            }
        }
        Ok(())
    }

    /// Once every line is read: the kind, the waiting records as establishments or links, the
    /// unknown tags reported against the kind's, the social columns checked; rejected lines in
    /// line order, each naming `path`.
    fn finish(mut self, path: &Path) -> Result<FinessFile, FileError> {
        let kind = match self.kind {
            Some(kind) => kind,
            None if self.structures.is_empty()
                && self.geolocations.is_empty()
                && !self.unknown.is_empty() =>
            {
                return Err(unknown_kind(path, &self.unknown));
            }
            None => FinessKind::Establishments,
        };
        self.out.kind = kind;
        if kind == FinessKind::Establishments {
            self.establishments();
        } else {
            self.links(kind);
        }
        let expected = expected_tags(kind);
        for (line, tag) in std::mem::take(&mut self.unknown) {
            let reason = RowError::UnknownRecord {
                tag,
                expected: expected.clone(),
            };
            self.reject(line, reason);
        }
        if kind == FinessKind::SocialEquipment {
            self.check_unconfirmed(path);
        }
        let mut out = self.out;
        out.rejected.sort_by_key(|r| r.line);
        for rejected in &mut out.rejected {
            rejected.file = path.to_path_buf();
        }
        Ok(out)
    }

    /// The waiting records of an establishments file: `structureet` of 31 or 32 fields, the
    /// first of a number wins; `geolocalisation` of 6.
    fn establishments(&mut self) {
        for (line, mut fields) in std::mem::take(&mut self.structures) {
            let parsed = establishment_record(line, &mut fields).and_then(|est| {
                first_wins(
                    &mut self.first_line_of,
                    "establishment",
                    est.nofinesset.clone(),
                    line,
                )?;
                Ok(est)
            });
            match parsed {
                Ok(est) => self.out.establishments.push(est),
                Err(reason) => self.reject(line, reason),
            }
        }
        for (line, mut fields) in std::mem::take(&mut self.geolocations) {
            match geolocation_record(&mut fields) {
                Ok((id, geo)) => {
                    self.out.geolocations.insert(id, geo);
                }
                Err(reason) => self.reject(line, reason),
            }
        }
    }

    /// The waiting records of another kind's file: `structureet` lines are links; a
    /// `geolocalisation` belongs to the establishments file.
    fn links(&mut self, kind: FinessKind) {
        for (line, mut fields) in std::mem::take(&mut self.structures) {
            match finess_lines::site_link(&mut fields) {
                Ok((et, ej)) => {
                    self.out.site_links.entry(et).or_insert(ej);
                }
                Err(reason) => self.reject(line, reason),
            }
        }
        for (line, _) in std::mem::take(&mut self.geolocations) {
            let reason = RowError::ForeignRecord {
                tag: "geolocalisation".into(),
                kind_tag: kind.tag(),
            };
            self.reject(line, reason);
        }
    }

    /// D4: the unconfirmed social columns are used only when every record fits their supposed
    /// shapes; otherwise all are emptied, with one warning naming the first line that does not.
    fn check_unconfirmed(&mut self, path: &Path) {
        let records = &mut self.out.social_equipment;
        match UnconfirmedShape::check(records).first_misfit {
            None => {
                self.out.unconfirmed_fields_used = UnconfirmedShape::any_value(records);
            }
            Some(line) => {
                UnconfirmedShape::blank(records);
                tracing::warn!(
                    "{}:{line}: the unconfirmed columns of the social equipment file (capacities by sex and housing, age ranges, authorisation dates, 10-14 and 16-27) do not hold what they should; they are ignored for the whole file (docs/formats.md §4.7)",
                    path.display()
                );
            }
        }
    }
}

fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].trim_ascii().is_empty()
}

/// Records `key` at `line` unless it was seen before: then the line is a duplicate of the first.
fn first_wins(
    firsts: &mut HashMap<String, u64>,
    what: &'static str,
    key: String,
    line: u64,
) -> Result<(), RowError> {
    if let Some(first) = firsts.get(&key) {
        return Err(RowError::Duplicate {
            what,
            key,
            first_line: *first,
        });
    }
    firsts.insert(key, line);
    Ok(())
}

fn slashed(parts: &[&String]) -> String {
    parts
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// The tags a file of `kind` holds, for the report of an unknown one.
fn expected_tags(kind: FinessKind) -> String {
    match kind {
        FinessKind::Establishments => "`structureet` or `geolocalisation`".to_owned(),
        FinessKind::LegalEntities => "`structureej`".to_owned(),
        other => format!("`structureet` or `{}`", other.tag()),
    }
}

/// A file none of whose tags is FINESS's: refused by name, with the tags it has.
fn unknown_kind(path: &Path, unknown: &[(u64, String)]) -> FileError {
    let mut tags: Vec<&str> = Vec::new();
    for (_, tag) in unknown {
        if !tags.contains(&tag.as_str()) && tags.len() < 5 {
            tags.push(tag);
        }
    }
    let known: Vec<String> = std::iter::once("structureet")
        .chain(std::iter::once("geolocalisation"))
        .chain(FinessKind::ALL[1..].iter().map(|k| k.tag()))
        .map(|t| format!("`{t}`"))
        .collect();
    let shown: Vec<String> = tags.iter().map(|t| format!("`{t}`")).collect();
    not_finess(
        path,
        format!(
            "its records are tagged {} (known: {})",
            shown.join(", "),
            known.join(", ")
        ),
    )
}

fn not_finess(path: &Path, detail: impl Into<String>) -> FileError {
    FileError::NotTheExpectedFormat {
        path: path.to_path_buf(),
        expected: EXPECTED,
        detail: detail.into(),
    }
}

/// Checks the manifest line `finess;etalab;<n>;<YYYY-MM-DD>` and returns its date.
fn parse_manifest(path: &Path, record: &csv::ByteRecord) -> Result<String, FileError> {
    let field = |i: usize| {
        record
            .get(i)
            .map(|f| String::from_utf8_lossy(strip_bom(f)).trim().to_owned())
    };
    if field(0).as_deref() != Some("finess") || field(1).as_deref() != Some("etalab") {
        let shown: Vec<String> = (0..record.len().min(4)).filter_map(field).collect();
        return Err(not_finess(
            path,
            format!(
                "line 1 should be the manifest `finess;etalab;<n>;<date>`, found `{}`",
                shown.join(";")
            ),
        ));
    }
    Ok(field(3).unwrap_or_default())
}

/// Decodes every field of a record with the same encoding (UTF-8, else Windows-1252).
fn decode_record(record: &csv::ByteRecord) -> Result<(Vec<String>, Encoding), RowError> {
    let mut encoding = Encoding::Utf8;
    let mut fields = Vec::with_capacity(record.len());
    for field in record.iter() {
        let (text, enc) = decode_line(field)?;
        if enc == Encoding::Windows1252 {
            encoding = enc;
        }
        fields.push(text.trim().to_owned());
    }
    Ok((fields, encoding))
}

/// A `structureet` record of the establishments file.
fn establishment_record(line: u64, fields: &mut [String]) -> Result<Establishment, RowError> {
    if fields.len() != 32 && fields.len() != 31 {
        return Err(RowError::FieldCount {
            expected: "32 fields in a `structureet` record (31 in extracts before 2018)".into(),
            found: fields.len(),
        });
    }
    let est = establishment(line, fields);
    if est.nofinesset.is_empty() {
        return Err(RowError::MissingKey("nofinesset"));
    }
    Ok(est)
}

/// A `geolocalisation` record: the establishment it places and its coordinates.
fn geolocation_record(fields: &mut [String]) -> Result<(String, Geolocation), RowError> {
    if fields.len() != 6 {
        return Err(RowError::FieldCount {
            expected: "6 fields in a `geolocalisation` record".into(),
            found: fields.len(),
        });
    }
    if fields[1].is_empty() {
        return Err(RowError::MissingKey("nofinesset"));
    }
    let source = std::mem::take(&mut fields[4]);
    let geo = Geolocation {
        x: parse_coordinate(&fields[2]).ok_or(RowError::MissingKey("coordxet"))?,
        y: parse_coordinate(&fields[3]).ok_or(RowError::MissingKey("coordyet"))?,
        crs: source
            .rsplit(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        source,
        date: std::mem::take(&mut fields[5]),
    };
    Ok((std::mem::take(&mut fields[1]), geo))
}

/// Coordinates use a decimal point; a few third-party copies use a comma.
fn parse_coordinate(value: &str) -> Option<f64> {
    value.replace(',', ".").parse().ok()
}

fn establishment(line: u64, fields: &mut [String]) -> Establishment {
    let mut take = |i: usize| std::mem::take(&mut fields[i]);
    Establishment {
        line,
        nofinesset: take(1),
        nofinessej: take(2),
        rs: take(3),
        rslongue: take(4),
        complrs: take(5),
        compldistrib: take(6),
        numvoie: take(7),
        typvoie: take(8),
        voie: take(9),
        compvoie: take(10),
        lieuditbp: take(11),
        commune: take(12),
        departement: take(13),
        ligneacheminement: take(15),
        telephone: take(16),
        telecopie: take(17),
        categetab: take(18),
        libcategetab: take(19),
        siret: take(22),
        codeape: take(23),
        codemft: take(24),
        codesph: take(26),
        dateouv: iso_date(take(28)),
        datemaj: iso_date(take(30)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// docs/formats.md §4.4, verbatim (synthetic).
    pub const SAMPLE: &str = "finess;etalab;99;2026-01-15
structureet;219990001;219990002;CH IMAGINAIRE;CENTRE HOSPITALIER IMAGINAIRE DE DIJON;;;2;AV;DU DOCTEUR INVENTE;B;CS 90000;231;21;COTE D OR;21079 DIJON CEDEX;0380000002;0380000009;355;Centre Hospitalier (C.H.);1102;Centres Hospitaliers;99900000000018;8610Z;03;ARS établissements Publics de santé dotation globale;1;Etablissement public de santé;1975-01-01;1975-01-01;2025-11-03;
structureet;139990001;139990003;PHARMACIE DU PONT FICTIF;;;;;PL;DU MARCHE IMAGINAIRE;;;206;13;BOUCHES DU RHONE;13006 MARSEILLE;0490000004;;620;Pharmacie d'Officine;3301;Pharmacies d'Officine;99900000000026;4773Z;01;Etablissement Tarif Libre;;;1990-06-01;1990-06-01;2024-03-12;
structureet;9D9990001;9D9990002;\"EHPAD \"\"LES FILAOS FICTIFS\"\"\";;;;12;R;DES FLAMBOYANTS;;;411;9D;LA REUNION;97400 ST DENIS;0262000005;;500;Etablissement d'hébergement pour personnes âgées dépendantes;4401;Etablissements d'Hébergement pour Personnes Âgées;;8710A;40;ARS/PCD, Tarif global, habilité aide sociale, recours PUI;;;2001-09-01;2000-12-15;2025-02-20;
geolocalisation;219990001;854000.5;6692000.2;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2025-11-04
geolocalisation;139990001;894500.0;6246800.7;1,ATLASANTE,96,BAN,L93_METROPOLE;2025-11-04
geolocalisation;9D9990001;338500.0;7690500.0;1,ATLASANTE,90,BAN,UTM_S40;2025-11-04
";

    fn read_str(text: &[u8]) -> FinessFile {
        read_from(Path::new("etalab.csv"), text).unwrap()
    }

    #[test]
    fn manifest_records_and_join() {
        let file = read_str(SAMPLE.as_bytes());
        assert_eq!(file.extraction_date, "2026-01-15");
        assert_eq!(file.establishments.len(), 3);
        assert_eq!(file.records_read, 6);
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        let ch = &file.establishments[0];
        assert_eq!(ch.nofinesset, "219990001");
        assert_eq!(ch.nofinessej, "219990002");
        assert_eq!(ch.ligneacheminement, "21079 DIJON CEDEX");
        assert_eq!(ch.categetab, "355");
        assert_eq!(ch.datemaj, "2025-11-03");
        assert_eq!(ch.line, 2);
        let geo = &file.geolocations["219990001"];
        assert_eq!((geo.x, geo.y), (854000.5, 6692000.2));
        assert_eq!(geo.crs, "LAMBERT_93");
    }

    #[test]
    fn quoted_values_are_unquoted() {
        let file = read_str(SAMPLE.as_bytes());
        assert_eq!(file.establishments[2].rs, "EHPAD \"LES FILAOS FICTIFS\"");
        let text = SAMPLE.replace("PHARMACIE DU PONT FICTIF", "\"PHARMACIE; DU PONT\"");
        assert_eq!(
            read_str(text.as_bytes()).establishments[1].rs,
            "PHARMACIE; DU PONT"
        );
    }

    #[test]
    fn overseas_coordinates_keep_their_utm_zone() {
        let file = read_str(SAMPLE.as_bytes());
        assert_eq!(file.geolocations["9D9990001"].crs, "UTM_S40");
    }

    #[test]
    fn older_31_field_records_and_crlf() {
        let text = SAMPLE
            .replace("2025-11-03;\n", "2025-11-03\n")
            .replace('\n', "\r\n")
            .replace("structureet;9D9990001", "\r\nstructureet;9D9990001");
        let file = read_str(text.as_bytes());
        assert_eq!(file.establishments.len(), 3);
        assert_eq!(file.establishments[0].datemaj, "2025-11-03");
        assert!(file.rejected.is_empty());
    }

    #[test]
    fn windows_1252_file() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(SAMPLE);
        let file = read_str(&bytes);
        assert_eq!(file.windows_1252_lines, 2, "lines 2 and 4 have accents");
        assert_eq!(file.establishments[2].rs, "EHPAD \"LES FILAOS FICTIFS\"");
    }

    #[test]
    fn old_french_dates_become_iso() {
        let text = SAMPLE.replace(
            "1975-01-01;1975-01-01;2025-11-03",
            "01/01/1975;01/01/1975;03/11/2025",
        );
        let file = read_str(text.as_bytes());
        assert_eq!(file.establishments[0].dateouv, "1975-01-01");
        assert_eq!(file.establishments[0].datemaj, "2025-11-03");
    }

    #[test]
    fn comma_decimal_coordinates() {
        let text = SAMPLE.replace("854000.5;6692000.2", "854000,5;6692000,2");
        // Quote them as a CSV writer would not need to: commas are not separators here.
        assert_eq!(
            read_str(text.as_bytes()).geolocations["219990001"].x,
            854000.5
        );
    }

    #[test]
    fn malformed_records_are_reported_and_skipped() {
        let text = format!(
            "{SAMPLE}structureet;1;2;3\nautre;x\ngeolocalisation;;1;2;L;d\nstructureet;219990001;2;{}\n",
            ";".repeat(28)
        );
        let file = read_str(text.as_bytes());
        assert_eq!(file.establishments.len(), 3);
        let reasons: Vec<String> = file.rejected.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            reasons,
            [
                "etalab.csv:8: expected 32 fields in a `structureet` record (31 in extracts before 2018), found 4",
                "etalab.csv:9: unknown record type `autre` (expected `structureet` or `geolocalisation`)",
                "etalab.csv:10: missing key `nofinesset`",
                "etalab.csv:11: duplicate establishment 219990001: first defined on line 2",
            ]
        );
    }

    #[test]
    fn a_file_without_manifest_is_not_finess() {
        let err = read_from(
            Path::new("x.csv"),
            "Type d'identifiant PP|Identifiant PP\n".as_bytes(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("is not a FINESS etalab extraction"),
            "{err}"
        );
    }

    /// An EML file: `structureet` links first (three fields each, here 50 of them), then its own
    /// records. The links make no establishment; a record of another kind is reported, not fatal.
    #[test]
    fn an_equipment_file_is_known_by_its_own_tag_not_its_first_one() {
        let mut text = String::from("finess;etalab;1;2026-01-15\n");
        for n in 0..50 {
            text.push_str(&format!("structureet;0100{n:05};010099991\n"));
        }
        text.push_str("equipmateriellourd;010099991;CH;05602;Scanographe;1;84-82-1;84-82-2;01/03/2019;010000000;2019-09-01\n");
        text.push_str("equipementsocial;010000000;924;x;11;y;436;z;S;40\n");
        text.push_str("equipmateriellourd;010099991;CH;05701;IRM;2;;;2019-03-01;010000001;2019-09-01;trailing\n");
        text.push_str("equipmateriellourd;010099991;CH;05602;Scanographe;1;84-82-1;84-82-2;2019-03-01;010000000;2019-09-01\n");
        text.push_str("equipmateriellourd;010099991;CH;05602\n");
        let file = read_str(text.as_bytes());
        assert_eq!(file.kind, FinessKind::HeavyEquipment);
        assert!(file.establishments.is_empty());
        assert_eq!(file.site_links.len(), 50);
        assert_eq!(file.site_links["010000007"], "010099991");
        assert_eq!(file.heavy_equipment.len(), 2);
        assert_eq!(file.heavy_equipment[0].dateautor, "2019-03-01");
        assert_eq!(file.heavy_equipment[1].nofinesset, "010000001");
        let reasons: Vec<String> = file.rejected.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            reasons,
            [
                "etalab.csv:53: a `equipementsocial` record in a file of `equipmateriellourd` records",
                "etalab.csv:55: duplicate heavy equipment 010000000/05602/1/84-82-2: first defined on line 52",
                "etalab.csv:56: expected at least 11 fields in a `equipmateriellourd` record, found 4",
            ]
        );
    }

    #[test]
    fn a_file_of_unknown_tags_is_refused_by_name() {
        let err = read_from(
            Path::new("mystery.csv"),
            "finess;etalab;1;2026-01-15\nautre;1;2\nautre;3\nencore;x\n".as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("mystery.csv is not a FINESS etalab extraction: its records are tagged `autre`, `encore` (known: `structureet`, `geolocalisation`, `structureej`"), "{err}");
    }

    #[test]
    fn the_social_file_keeps_its_unconfirmed_columns_only_when_they_all_fit() {
        let full = "equipementsocial;010000000;924;Accueil;11;Hébergement complet;436;Alzheimer;S;40;18;22;40;60;99;N;2020-01-01;2001-05-01;45;20;25;45;60;99;N;2001-05-01;2024-01-01;2024-01-01";
        let good = format!("finess;etalab;1;2026-01-15\nstructureet;010000000;010099991\n{full}\n");
        let file = read_str(good.as_bytes());
        assert_eq!(file.kind, FinessKind::SocialEquipment);
        assert!(file.unconfirmed_fields_used);
        assert_eq!(file.social_equipment[0].capinstm, "18");
        let bad = format!(
            "{good}{}\n",
            full.replace(";924;", ";925;")
                .replace(";18;22;", ";ABC;22;")
        );
        let file = read_str(bad.as_bytes());
        assert!(!file.unconfirmed_fields_used);
        assert_eq!(file.social_equipment.len(), 2);
        assert!(
            file.social_equipment
                .iter()
                .all(|r| r.capinstm.is_empty() && r.agemaxiinst.is_empty())
        );
        assert_eq!(file.social_equipment[0].capinstot, "40");
        assert!(file.rejected.is_empty(), "a misfit is not a bad line");
    }

    #[test]
    fn legal_entities_quoted_windows_1252_and_duplicates() {
        let text = "finess;etalab;1;2026-01-15\r\nstructureej;010099991;\"CH \"\"LE PR\u{c9}\"\"; NORD\";CENTRE;;12;R;DES ESSAIS;B;BAT A;BP 3;451;01440 TESTVILLE;01;AIN;0400000000;13;Etablissement Public;;;260100000;8610Z;01/01/1970\r\nstructureej;010099991;AUTRE;;;;;;;;;;;;;;;;;;;;\r\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let file = read_str(&bytes);
        assert_eq!(file.kind, FinessKind::LegalEntities);
        assert_eq!(file.windows_1252_lines, 1);
        assert_eq!(file.legal_entities.len(), 1);
        assert_eq!(file.legal_entities[0].rs, "CH \"LE PRÉ\"; NORD");
        assert_eq!(file.legal_entities[0].datecrea, "1970-01-01");
        assert_eq!(
            file.rejected[0].to_string(),
            "etalab.csv:3: duplicate legal entity 010099991: first defined on line 2"
        );
    }
}
