//! FINESS `etalab-cs1100507` establishments with geolocation.
//!
//! Line 1 is a manifest (`finess;etalab;<n>;<date>`), not a header; every following record
//! starts with its type: `structureet` (32 fields, 31 in extracts before numuai existed) or
//! `geolocalisation` (6 fields), joined on `nofinesset`. Values are RFC-4180 quoted when they
//! contain `"` or `;`, so this file, unlike the RPPS one, goes through a quote-aware reader.
//! The whole file is ~100 000 establishments (~40 MB): it is loaded in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::decode::{Encoding, LineGuard, MAX_LINE_BYTES, decode_line, strip_bom};
use super::error::{FileError, Rejected, RowError};
pub use super::finess_records::{
    CareActivity, FinessKind, HeavyEquipment, LegalEntity, SocialEquipment,
};

const EXPECTED: &str = "a FINESS etalab extraction (etalab-cs1100507)";

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

/// Everything read from one FINESS file.
#[derive(Debug, Default)]
pub struct FinessFile {
    /// Extraction date from the manifest line.
    pub extraction_date: String,
    /// Establishments in file order.
    pub establishments: Vec<Establishment>,
    pub geolocations: HashMap<String, Geolocation>,
    pub records_read: u64,
    pub rejected: Vec<Rejected>,
    pub windows_1252_lines: u64,
}

/// Reads a FINESS cs1100507 file.
pub fn read(path: &Path) -> Result<FinessFile, FileError> {
    let file = File::open(path).map_err(|e| FileError::io(path, e))?;
    let finess = read_from(path, BufReader::new(LineGuard::new(file, MAX_LINE_BYTES)))?;
    if finess.establishments.is_empty() {
        return Err(FileError::NotTheExpectedFormat {
            path: path.to_path_buf(),
            expected: "a FINESS etalab-cs1100507 extraction",
            detail: "it holds no establishment (structureet record): a cut or empty file is not imported".into(),
        });
    }
    Ok(finess)
}

/// Reads FINESS records from any reader; `path` only names the file in reports.
pub fn read_from(path: &Path, input: impl std::io::Read) -> Result<FinessFile, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut out = FinessFile::default();
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
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
                out.reject(path, line, RowError::Csv(err.to_string()));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if !manifest_seen {
            out.extraction_date = parse_manifest(path, &record)?;
            manifest_seen = true;
            continue;
        }
        out.records_read += 1;
        let fields = match decode_record(&record) {
            Ok((fields, encoding)) => {
                if encoding == Encoding::Windows1252 {
                    out.windows_1252_lines += 1;
                }
                fields
            }
            Err(reason) => {
                out.reject(path, line, reason);
                continue;
            }
        };
        match parse_record(line, fields) {
            Ok(Record::Establishment(est)) => {
                if let Some(first) = first_line_of.get(&est.nofinesset) {
                    let reason = RowError::DuplicateEstablishment {
                        nofinesset: est.nofinesset.clone(),
                        first_line: *first,
                    };
                    out.reject(path, line, reason);
                } else {
                    first_line_of.insert(est.nofinesset.clone(), line);
                    out.establishments.push(est);
                }
            }
            Ok(Record::Geolocation(id, geo)) => {
                out.geolocations.insert(id, geo);
            }
            Err(reason) => out.reject(path, line, reason),
        }
    }
    if !manifest_seen {
        return Err(not_finess(path, "the file is empty"));
    }
    Ok(out)
}

impl FinessFile {
    fn reject(&mut self, path: &Path, line: u64, reason: RowError) {
        self.rejected.push(Rejected {
            file: path.to_path_buf(),
            line,
            reason,
        });
    }
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

enum Record {
    Establishment(Establishment),
    Geolocation(String, Geolocation),
}

fn parse_record(line: u64, mut fields: Vec<String>) -> Result<Record, RowError> {
    match fields[0].as_str() {
        "structureet" => {
            if fields.len() != 32 && fields.len() != 31 {
                return Err(RowError::FieldCount {
                    expected: "32 fields in a `structureet` record (31 in extracts before 2018)"
                        .into(),
                    found: fields.len(),
                });
            }
            let est = establishment(line, &mut fields);
            if est.nofinesset.is_empty() {
                return Err(RowError::MissingKey("nofinesset"));
            }
            Ok(Record::Establishment(est))
        }
        "geolocalisation" => {
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
            Ok(Record::Geolocation(std::mem::take(&mut fields[1]), geo))
        }
        other => Err(RowError::UnknownRecord(other.to_owned())),
    }
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

/// Dates are ISO `YYYY-MM-DD`; older extracts wrote `DD/MM/YYYY`. Anything else is kept as is
/// (and later ignored by the mapping, which only accepts valid dates).
fn iso_date(value: String) -> String {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [day, month, year] if day.len() == 2 && month.len() == 2 && year.len() == 4 => {
            format!("{year}-{month}-{day}")
        }
        _ => value,
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
            .replace('\n', "\r\n");
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
}
