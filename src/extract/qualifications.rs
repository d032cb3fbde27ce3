//! Savoir-faire and diplomas: `PS_LibreAcces_SavoirFaire_*` and `PS_LibreAcces_Dipl_AutExerc_*`
//! (docs/formats.md §5.2 and §5.3). One line per (person × savoir-faire), and per (person × diploma or
//! exercise authorisation); the person is `Identification nationale PP`, as in the main file.

use super::error::RowError;
use super::pipe::{MissingColumn, PipeLayout};

/// A savoir-faire of a person, in the profession it was recognised for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavoirFaire<'a> {
    pub person: &'a str,
    pub profession: &'a str,
    /// TRE_R04-TypeSavoirFaire code.
    pub type_code: &'a str,
    pub code: &'a str,
    /// The labels the file gives beside the codes (for people: see `mapping::labels`).
    pub type_label: &'a str,
    pub label: &'a str,
}

/// A diploma or an exercise authorisation of a person (a line may carry both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diploma<'a> {
    pub person: &'a str,
    /// TRE_R14-TypeDiplome code.
    pub degree_type: &'a str,
    pub degree: &'a str,
    /// TRE_R17-TypeAutorisation code.
    pub authorization_type: &'a str,
    /// TRE_R18-DisciplineAutorisation code.
    pub authorization_field: &'a str,
    /// The labels the file gives beside the codes, in the order above.
    pub degree_type_label: &'a str,
    pub degree_label: &'a str,
    pub authorization_type_label: &'a str,
    pub authorization_field_label: &'a str,
}

const PERSON: &str = "Identification nationale PP";

/// A `PS_LibreAcces_SavoirFaire` file whose header has been read.
#[derive(Debug, Clone)]
pub struct SavoirFaireFile {
    layout: PipeLayout,
}

impl SavoirFaireFile {
    const LABELS: &'static [&'static str] = &[
        PERSON,
        "Code profession",
        "Code type savoir-faire",
        "Code savoir-faire",
        "Libellé type savoir-faire",
        "Libellé savoir-faire",
    ];

    pub fn from_header(header: &str) -> Result<Self, MissingColumn> {
        let required = &[PERSON, "Code type savoir-faire", "Code savoir-faire"];
        Ok(SavoirFaireFile {
            layout: PipeLayout::from_header(header, Self::LABELS, required)?,
        })
    }

    pub fn parse<'a>(&self, line: &'a str) -> Result<SavoirFaire<'a>, RowError> {
        let fields = self.layout.split(line)?;
        let get = |i| self.layout.get(&fields, i);
        let row = SavoirFaire {
            person: get(0),
            profession: get(1),
            type_code: get(2),
            code: get(3),
            type_label: get(4),
            label: get(5),
        };
        if row.person.is_empty() {
            return Err(RowError::MissingKey(PERSON));
        }
        if row.type_code.is_empty() && row.code.is_empty() {
            return Err(RowError::MissingKey("Code savoir-faire"));
        }
        Ok(row)
    }
}

/// A `PS_LibreAcces_Dipl_AutExerc` file whose header has been read.
#[derive(Debug, Clone)]
pub struct DiplomaFile {
    layout: PipeLayout,
}

impl DiplomaFile {
    const LABELS: &'static [&'static str] = &[
        PERSON,
        "Code type diplôme obtenu",
        "Code diplôme obtenu",
        "Code type autorisation",
        "Code discipline autorisation",
        "Libellé type diplôme obtenu",
        "Libellé diplôme obtenu",
        "Libellé type autorisation",
        "Libellé discipline autorisation",
    ];

    pub fn from_header(header: &str) -> Result<Self, MissingColumn> {
        let required = &[PERSON, "Code diplôme obtenu"];
        Ok(DiplomaFile {
            layout: PipeLayout::from_header(header, Self::LABELS, required)?,
        })
    }

    pub fn parse<'a>(&self, line: &'a str) -> Result<Diploma<'a>, RowError> {
        let fields = self.layout.split(line)?;
        let get = |i| self.layout.get(&fields, i);
        let row = Diploma {
            person: get(0),
            degree_type: get(1),
            degree: get(2),
            authorization_type: get(3),
            authorization_field: get(4),
            degree_type_label: get(5),
            degree_label: get(6),
            authorization_type_label: get(7),
            authorization_field_label: get(8),
        };
        if row.person.is_empty() {
            return Err(RowError::MissingKey(PERSON));
        }
        if !row.has_degree() && !row.has_authorization() {
            return Err(RowError::MissingKey(
                "Code diplôme obtenu or Code type autorisation",
            ));
        }
        Ok(row)
    }
}

impl Diploma<'_> {
    pub fn has_degree(&self) -> bool {
        !self.degree.is_empty() || !self.degree_type.is_empty()
    }

    pub fn has_authorization(&self) -> bool {
        !self.authorization_type.is_empty() || !self.authorization_field.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const SAVOIR_FAIRE_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|";
    pub const DIPLOMA_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code type diplôme obtenu|Libellé type diplôme obtenu|Code diplôme obtenu|Libellé diplôme obtenu|Code type autorisation|Libellé type autorisation|Code discipline autorisation|Libellé discipline autorisation|";

    #[test]
    fn savoir_faire_lines() {
        let file = SavoirFaireFile::from_header(SAVOIR_FAIRE_HEADER).unwrap();
        let row = file
            .parse("8|19990000017|819990000017|MARTINOT|Claire|10|Médecin|C|Civil|CAPA|Capacité|CAP13|Capacité de gérontologie|")
            .unwrap();
        assert_eq!(
            row,
            SavoirFaire {
                person: "819990000017",
                profession: "10",
                type_code: "CAPA",
                code: "CAP13",
                type_label: "Capacité",
                label: "Capacité de gérontologie",
            }
        );
        assert!(matches!(
            file.parse("8|19990000017|819990000017|MARTINOT|Claire|10|Médecin|C|Civil|||||"),
            Err(RowError::MissingKey(_))
        ));
        assert!(file.parse("8|19990000017|819990000017|").is_err());
    }

    #[test]
    fn diploma_and_authorisation_lines() {
        let file = DiplomaFile::from_header(DIPLOMA_HEADER).unwrap();
        let degree = file
            .parse("8|19990000017|819990000017|MARTINOT|Claire|DE|Diplôme d'Etat français|DE09|DE Docteur en médecine|||||")
            .unwrap();
        assert_eq!((degree.degree_type, degree.degree), ("DE", "DE09"));
        assert!(degree.has_degree() && !degree.has_authorization());
        let authorisation = file
            .parse("8|19990000058|819990000058|IVANOVA|Mira|||||AEX|Autorisation d'exercice|D10|Médecine générale|")
            .unwrap();
        assert_eq!(
            (
                authorisation.authorization_type,
                authorisation.authorization_field
            ),
            ("AEX", "D10")
        );
        assert!(!authorisation.has_degree());
        assert!(
            file.parse("8|19990000058|819990000058|IVANOVA|Mira|||||||||")
                .is_err()
        );
    }

    #[test]
    fn headers_are_told_apart() {
        assert!(SavoirFaireFile::from_header(DIPLOMA_HEADER).is_err());
        assert!(DiplomaFile::from_header(SAVOIR_FAIRE_HEADER).is_err());
    }
}
