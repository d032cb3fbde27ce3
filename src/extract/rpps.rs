//! RPPS `PS_LibreAcces_Personne_activite` rows.
//!
//! `|`-separated, never quoted, one header line whose column names are the only reliable way to
//! find a column: the file had 48 columns (~2018), 52 (~2021) and 56 (2024 onwards), and most
//! generations end every line with an extra empty field. Columns absent from an older generation
//! read as empty.

use super::error::RowError;
use super::pipe::{MissingColumn, PipeLayout};

/// The columns annuaire reads, with their exact header labels (capitalisation kept verbatim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Col {
    TypeIdPp,
    IdPp,
    IdNatPp,
    CiviliteExerciceCode,
    CiviliteCode,
    NomExercice,
    PrenomExercice,
    ProfessionCode,
    CategorieCode,
    TypeSavoirFaireCode,
    SavoirFaireCode,
    ModeExerciceCode,
    Siret,
    Siren,
    FinessSite,
    FinessEj,
    StructureId,
    RaisonSociale,
    Enseigne,
    ComplementDestinataire,
    ComplementPointGeo,
    NumeroVoie,
    IndiceRepetition,
    TypeVoieCode,
    LibelleVoie,
    MentionDistribution,
    BureauCedex,
    CodePostal,
    CodeCommune,
    LibelleCommune,
    CodePays,
    Telephone,
    Telephone2,
    Telecopie,
    Email,
    CodeDepartement,
    AncienIdStructure,
    AutoriteEnregistrement,
    SecteurActiviteCode,
    SectionPharmacienCode,
    RoleCode,
    GenreActiviteCode,
    // The labels beside the codes: read only for the people's page (see `mapping::labels`).
    ProfessionLabel,
    CategorieLabel,
    TypeSavoirFaireLabel,
    SavoirFaireLabel,
    ModeExerciceLabel,
    SecteurActiviteLabel,
    SectionPharmacienLabel,
    RoleLabel,
    GenreActiviteLabel,
}

/// Number of [`Col`] variants.
const COLS: usize = Col::GenreActiviteLabel as usize + 1;

/// Header label of each [`Col`], in declaration order.
const LABELS: [(Col, &str); COLS] = [
    (Col::TypeIdPp, "Type d'identifiant PP"),
    (Col::IdPp, "Identifiant PP"),
    (Col::IdNatPp, "Identification nationale PP"),
    (Col::CiviliteExerciceCode, "Code civilité d'exercice"),
    (Col::CiviliteCode, "Code civilité"),
    (Col::NomExercice, "Nom d'exercice"),
    (Col::PrenomExercice, "Prénom d'exercice"),
    (Col::ProfessionCode, "Code profession"),
    (Col::CategorieCode, "Code catégorie professionnelle"),
    (Col::TypeSavoirFaireCode, "Code type savoir-faire"),
    (Col::SavoirFaireCode, "Code savoir-faire"),
    (Col::ModeExerciceCode, "Code mode exercice"),
    (Col::Siret, "Numéro SIRET site"),
    (Col::Siren, "Numéro SIREN site"),
    (Col::FinessSite, "Numéro FINESS site"),
    (Col::FinessEj, "Numéro FINESS établissement juridique"),
    (Col::StructureId, "Identifiant technique de la structure"),
    (Col::RaisonSociale, "Raison sociale site"),
    (Col::Enseigne, "Enseigne commerciale site"),
    (
        Col::ComplementDestinataire,
        "Complément destinataire (coord. structure)",
    ),
    (
        Col::ComplementPointGeo,
        "Complément point géographique (coord. structure)",
    ),
    (Col::NumeroVoie, "Numéro Voie (coord. structure)"),
    (
        Col::IndiceRepetition,
        "Indice répétition voie (coord. structure)",
    ),
    (Col::TypeVoieCode, "Code type de voie (coord. structure)"),
    (Col::LibelleVoie, "Libellé Voie (coord. structure)"),
    (
        Col::MentionDistribution,
        "Mention distribution (coord. structure)",
    ),
    (Col::BureauCedex, "Bureau cedex (coord. structure)"),
    (Col::CodePostal, "Code postal (coord. structure)"),
    (Col::CodeCommune, "Code commune (coord. structure)"),
    (Col::LibelleCommune, "Libellé commune (coord. structure)"),
    (Col::CodePays, "Code pays (coord. structure)"),
    (Col::Telephone, "Téléphone (coord. structure)"),
    (Col::Telephone2, "Téléphone 2 (coord. structure)"),
    (Col::Telecopie, "Télécopie (coord. structure)"),
    (Col::Email, "Adresse e-mail (coord. structure)"),
    (Col::CodeDepartement, "Code Département (structure)"),
    (Col::AncienIdStructure, "Ancien identifiant de la structure"),
    (Col::AutoriteEnregistrement, "Autorité d'enregistrement"),
    (Col::SecteurActiviteCode, "Code secteur d'activité"),
    (
        Col::SectionPharmacienCode,
        "Code section tableau pharmaciens",
    ),
    (Col::RoleCode, "Code rôle"),
    (Col::GenreActiviteCode, "Code genre activité"),
    (Col::ProfessionLabel, "Libellé profession"),
    (Col::CategorieLabel, "Libellé catégorie professionnelle"),
    (Col::TypeSavoirFaireLabel, "Libellé type savoir-faire"),
    (Col::SavoirFaireLabel, "Libellé savoir-faire"),
    (Col::ModeExerciceLabel, "Libellé mode exercice"),
    (Col::SecteurActiviteLabel, "Libellé secteur d'activité"),
    (
        Col::SectionPharmacienLabel,
        "Libellé section tableau pharmaciens",
    ),
    (Col::RoleLabel, "Libellé rôle"),
    (Col::GenreActiviteLabel, "Libellé genre activité"),
];

/// Where each column sits in one particular file, learnt from its header line.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The [`Col`]s located by label (wanted column number = `Col as usize`).
    columns: PipeLayout,
}

/// Why a header line is not an RPPS `Personne_activite` header.
pub type HeaderError = MissingColumn;

impl Layout {
    /// Locates the columns by name. Only `Identification nationale PP` is required: without it
    /// rows cannot be grouped into persons, so the file is not one we can import.
    pub fn from_header(header: &str) -> Result<Layout, HeaderError> {
        let labels: Vec<&'static str> = LABELS.iter().map(|(_, label)| *label).collect();
        let columns = PipeLayout::from_header(header, &labels, &[LABELS[Col::IdNatPp as usize].1])?;
        Ok(Layout { columns })
    }

    /// Number of named columns in this file generation (48, 52 or 56 for the published ones).
    pub fn field_count(&self) -> usize {
        self.columns.field_count()
    }

    /// Splits a decoded data line into a row. Accepts exactly the header's field count, or one
    /// more when that extra trailing field is empty (the trailing `|`).
    pub fn split<'a>(&'a self, line: &'a str) -> Result<RppsRow<'a>, RowError> {
        let row = RppsRow {
            fields: self.columns.split(line)?,
            layout: self,
        };
        if row.get(Col::IdNatPp).is_empty() {
            return Err(RowError::MissingKey("Identification nationale PP"));
        }
        if row.get(Col::ProfessionCode).is_empty() && self.has(Col::ProfessionCode) {
            return Err(RowError::MissingKey("Code profession"));
        }
        Ok(row)
    }

    fn has(&self, col: Col) -> bool {
        self.columns.has(col as usize)
    }
}

/// One validated data row, its fields borrowed from the line.
#[derive(Debug, Clone)]
pub struct RppsRow<'a> {
    fields: Vec<&'a str>,
    layout: &'a Layout,
}

impl<'a> RppsRow<'a> {
    /// The trimmed value of a column; empty when the column is empty or absent from this file
    /// generation.
    pub fn get(&self, col: Col) -> &'a str {
        self.layout.columns.get(&self.fields, col as usize)
    }

    /// `Identification nationale PP`: the person key.
    pub fn person_key(&self) -> &'a str {
        self.get(Col::IdNatPp)
    }

    /// The key of the structure this activity takes place in: the FINESS site when the row has
    /// one (that site is one Organization whatever RPPS structure ids point at it), else the RPPS
    /// technical structure id; `None` for a person without activity.
    pub fn structure_key(&self) -> Option<StructureKey<'a>> {
        let finess = self.get(Col::FinessSite);
        if !finess.is_empty() {
            return Some(StructureKey::FinessSite(finess));
        }
        let structure = self.get(Col::StructureId);
        (!structure.is_empty()).then_some(StructureKey::Rpps(structure))
    }

    /// Whether the row carries an activity (a person without activity has every activity and
    /// structure column empty).
    pub fn has_activity(&self) -> bool {
        [
            Col::StructureId,
            Col::FinessSite,
            Col::ModeExerciceCode,
            Col::RoleCode,
            Col::GenreActiviteCode,
            Col::SectionPharmacienCode,
        ]
        .iter()
        .any(|col| !self.get(*col).is_empty())
    }
}

/// What identifies the Organization of an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StructureKey<'a> {
    /// `Numéro FINESS site`: the FINESS establishment (EG).
    FinessSite(&'a str),
    /// `Identifiant technique de la structure` of a structure without FINESS site.
    Rpps(&'a str),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The current 56-column header, verbatim, with its trailing `|`.
    pub const HEADER_56: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|Complément destinataire (coord. structure)|Complément point géographique (coord. structure)|Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Mention distribution (coord. structure)|Bureau cedex (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|Téléphone (coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|Adresse e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|Code section tableau pharmaciens|Libellé section tableau pharmaciens|Code rôle|Libellé rôle|Code genre activité|Libellé genre activité|";

    /// docs/formats.md §3.5, first synthetic row (Claire MARTINOT, libéral cabinet).
    pub const MARTINOT_CABINET: &str = "8|19990000017|819990000017|DR|Docteur|||MARTINOT|Claire|10|Médecin|C|Civil|S|Spécialité ordinale|SM54|Médecine Générale|L|Libéral|||||C19990000017001|CABINET DU DR CLAIRE MARTINOT||||12||R|Rue|DES TILLEULS FICTIFS||21000 DIJON|21000|21231|Dijon|||0380000001|||||||ARS/CNOM/CNOM|SA07|Cabinet individuel|||FON-01|Titulaire de cabinet|GENR01|Activité de soin et de pharmacie|";
    /// docs/formats.md §3.5, second row: the same person salaried in a FINESS establishment.
    pub const MARTINOT_HOSPITAL: &str = "8|19990000017|819990000017|DR|Docteur|||MARTINOT|Claire|10|Médecin|C|Civil|S|Spécialité ordinale|SM54|Médecine Générale|S|Salarié|99900000000018||219990001|219990002|F219990001|CENTRE HOSPITALIER IMAGINAIRE||||2|B|AV|Avenue|DU DOCTEUR INVENTE|CS 90000|21079 DIJON CEDEX|21079|21231|Dijon|||0380000002||||21|Côte-d'Or|1219990001|CNOM/CNOM/CNOM|SA01|Etablissement public de santé|||FON-05|Adjoint|GENR01|Activité de soin et de pharmacie|";
    /// docs/formats.md §3.5, a person without any activity (ADELI-typed).
    pub const VERNIER_NO_ACTIVITY: &str = "0|759999991|0759999991|||MME|Madame|VERNIER|Lucie|91|Orthophoniste|C|Civil||||||||||||||||||||||||||||||||||||||||||||";

    fn layout() -> Layout {
        Layout::from_header(HEADER_56).unwrap()
    }

    #[test]
    fn labels_are_in_column_order() {
        // `Layout` finds column `col` at wanted index `col as usize`.
        for (index, (col, _)) in LABELS.iter().enumerate() {
            assert_eq!(*col as usize, index, "{col:?}");
        }
    }

    #[test]
    fn current_header_has_56_columns_and_a_trailing_separator() {
        assert_eq!(layout().field_count(), 56);
    }

    #[test]
    fn columns_are_found_by_name_not_position() {
        // Same columns, shuffled order: values follow their names.
        let header = "Code profession|Identification nationale PP|Nom d'exercice";
        let layout = Layout::from_header(header).unwrap();
        let row = layout.split("10|819990000017|MARTINOT").unwrap();
        assert_eq!(row.person_key(), "819990000017");
        assert_eq!(row.get(Col::ProfessionCode), "10");
        assert_eq!(row.get(Col::NomExercice), "MARTINOT");
        assert_eq!(row.get(Col::RoleCode), "", "absent column reads empty");
    }

    #[test]
    fn older_generations_48_and_52_columns() {
        let names: Vec<&str> = HEADER_56.trim_end_matches('|').split('|').collect();
        for count in [48, 52] {
            let header = names[..count].join("|");
            let layout = Layout::from_header(&header).unwrap();
            assert_eq!(layout.field_count(), count);
            let fields: Vec<&str> = MARTINOT_CABINET.split('|').take(count).collect();
            let line = fields.join("|");
            let row = layout.split(&line).unwrap();
            assert_eq!(row.get(Col::StructureId), "C19990000017001");
            assert_eq!(row.get(Col::RoleCode), "");
            if count == 52 {
                assert_eq!(row.get(Col::SecteurActiviteCode), "SA07");
            } else {
                assert_eq!(row.get(Col::SecteurActiviteCode), "");
            }
        }
    }

    #[test]
    fn trailing_field_is_optional() {
        let layout = layout();
        let without = MARTINOT_CABINET.strip_suffix('|').unwrap();
        assert!(layout.split(without).is_ok());
        assert!(layout.split(MARTINOT_CABINET).is_ok());
        // A non-empty 57th field is not a trailing separator: the row is malformed.
        let extra = format!("{MARTINOT_CABINET}x");
        assert!(matches!(
            layout.split(&extra),
            Err(RowError::FieldCount { found: 57, .. })
        ));
    }

    #[test]
    fn wrong_field_count_is_reported() {
        let err = layout().split("8|1|2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 56 fields (or 57 with a trailing `|`), found 3"
        );
    }

    #[test]
    fn quotes_and_apostrophes_are_literal() {
        let line = MARTINOT_CABINET.replace("MARTINOT|Claire", "\"O'NEIL|Jean \"Jo\"");
        let layout = layout();
        let row = layout.split(&line).unwrap();
        assert_eq!(row.get(Col::NomExercice), "\"O'NEIL");
        assert_eq!(row.get(Col::PrenomExercice), "Jean \"Jo\"");
    }

    #[test]
    fn missing_person_key_is_reported() {
        let line = MARTINOT_CABINET.replacen("819990000017", "", 1);
        assert_eq!(
            layout().split(&line).unwrap_err(),
            RowError::MissingKey("Identification nationale PP")
        );
    }

    #[test]
    fn header_without_person_key_is_not_an_rpps_file() {
        let err = Layout::from_header("finess;etalab;98;2026-05-12").unwrap_err();
        assert_eq!(err.missing, "Identification nationale PP");
    }

    #[test]
    fn identifiers_keep_leading_zeros() {
        let layout = layout();
        let row = layout.split(VERNIER_NO_ACTIVITY).unwrap();
        assert_eq!(row.get(Col::IdPp), "759999991");
        assert_eq!(row.person_key(), "0759999991");
        assert_eq!(row.get(Col::TypeIdPp), "0");
    }

    #[test]
    fn structure_key_prefers_the_finess_site() {
        let layout = layout();
        let cabinet = layout.split(MARTINOT_CABINET).unwrap();
        assert_eq!(
            cabinet.structure_key(),
            Some(StructureKey::Rpps("C19990000017001"))
        );
        let hospital = layout.split(MARTINOT_HOSPITAL).unwrap();
        assert_eq!(
            hospital.structure_key(),
            Some(StructureKey::FinessSite("219990001"))
        );
        let none = layout.split(VERNIER_NO_ACTIVITY).unwrap();
        assert_eq!(none.structure_key(), None);
        assert!(!none.has_activity());
        assert!(cabinet.has_activity());
    }
}
