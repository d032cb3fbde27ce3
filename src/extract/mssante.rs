//! MSSanté mailboxes: `Extraction_Correspondance_MSSante_YYYYMMDDHHMM.txt` (docs/formats.md §5.1).
//!
//! One line per mailbox (`BAL`): a personal one (`PER`) names its owner by
//! `Identification nationale PP`, an organisational one (`ORG`) by `Type identifiant structure` +
//! `Identification Structure`; a personal mailbox may also name the structure it is attached to.
//! The file has no mailbox id and holds some addresses twice: deduplication is the mapping's job.

use super::error::RowError;
use super::pipe::{MissingColumn, PipeLayout};

const KIND: usize = 0;
const ADDRESS: usize = 1;
const PERSON: usize = 2;
const STRUCTURE_TYPE: usize = 3;
const STRUCTURE_ID: usize = 4;
const SERVICE: usize = 5;
const PROFESSION: usize = 6;
const DEMATERIALISATION: usize = 7;

const LABELS: &[&str] = &[
    "Type de BAL",
    "Adresse BAL",
    "Identification nationale PP",
    "Type identifiant structure",
    "Identification Structure",
    "Service de rattachement",
    "Code Profession",
    "Dématérialisation",
];

/// The columns an MSSanté extraction must have to be recognised as one.
const REQUIRED: &[&str] = &[
    "Type de BAL",
    "Adresse BAL",
    "Identification nationale PP",
    "Identification Structure",
];

/// An MSSanté extraction whose header has been read.
#[derive(Debug, Clone)]
pub struct MailboxFile {
    layout: PipeLayout,
}

/// The structure a mailbox belongs to: a TRE_G07 type digit (`1` FINESS, `3` SIRET, ...) and
/// the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructureRef<'a> {
    pub id_type: &'a str,
    pub id: &'a str,
}

impl StructureRef<'_> {
    /// The national structure id (`idNatSt`): type digit + number, as Organizations carry it.
    pub fn national_id(&self) -> String {
        format!("{}{}", self.id_type, self.id)
    }
}

/// One mailbox line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox<'a> {
    /// `Type de BAL` (TRE_R257-TypeBAL): `PER`, `ORG`, `APP`, `CAB`.
    pub kind: &'a str,
    pub address: &'a str,
    /// `Identification nationale PP`; empty for a structure's mailbox.
    pub person: &'a str,
    pub profession: &'a str,
    pub structure: Option<StructureRef<'a>>,
    /// `Service de rattachement`.
    pub service: &'a str,
    /// `Dématérialisation`: whether the mailbox accepts dematerialised documents.
    pub dematerialisation: Option<bool>,
}

impl MailboxFile {
    pub fn from_header(header: &str) -> Result<MailboxFile, MissingColumn> {
        Ok(MailboxFile {
            layout: PipeLayout::from_header(header, LABELS, REQUIRED)?,
        })
    }

    /// Parses one data line. A line without an address, or attached to neither a person nor a
    /// structure, cannot be placed anywhere and is rejected.
    pub fn parse<'a>(&self, line: &'a str) -> Result<Mailbox<'a>, RowError> {
        let fields = self.layout.split(line)?;
        let get = |i| self.layout.get(&fields, i);
        let address = get(ADDRESS);
        if address.is_empty() {
            return Err(RowError::MissingKey("Adresse BAL"));
        }
        if !is_plausible_address(address) {
            return Err(RowError::InvalidValue {
                column: "Adresse BAL",
                value: address.to_owned(),
                expected: "an e-mail address (local@domain)",
            });
        }
        let kind = get(KIND);
        if kind.is_empty() {
            return Err(RowError::MissingKey("Type de BAL"));
        }
        let structure = Some(StructureRef {
            id_type: get(STRUCTURE_TYPE),
            id: get(STRUCTURE_ID),
        })
        .filter(|s| !s.id.is_empty());
        let person = get(PERSON);
        if person.is_empty() && structure.is_none() {
            return Err(RowError::MissingKey(
                "Identification nationale PP or Identification Structure",
            ));
        }
        Ok(Mailbox {
            kind,
            address,
            person,
            profession: get(PROFESSION),
            structure,
            service: get(SERVICE),
            dematerialisation: parse_flag(get(DEMATERIALISATION)),
        })
    }
}

fn is_plausible_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// `O`/`N` as published; also the spellings other exports use. Anything else is unknown.
fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_uppercase().as_str() {
        "O" | "OUI" | "Y" | "YES" | "1" | "TRUE" => Some(true),
        "N" | "NON" | "NO" | "0" | "FALSE" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// docs/formats.md §5.1 header, verbatim.
    pub const HEADER: &str = "Type de BAL|Adresse BAL|Type Identifiant PP|Identifiant PP|Identification nationale PP|Type identifiant structure|Identification Structure|Service de rattachement|Civilité d'exercice|Nom d'exercice|Prénom d'exercice|Catégorie profession|Libellé de catégorie profession|Code Profession|Libellé Profession|Code savoir-faire|Libellé savoir-faire|Dématérialisation|Raison Sociale structure BAL|Enseigne commerciale structure BAL|L2COMPLEMENTLOCALISATION|L3COMPLEMENTDISTRIBUTION|L4NUMEROVOIE|L4COMPLEMENTNUMEROVOIE|NL4TYPEVOIE|L4LIBELLEVOIE|L5LIEUDITMENTION|L6LIGNEACHEMINEMENT|Code postal|Département|Pays";
    /// docs/formats.md §5.1 synthetic examples.
    pub const PER_LINE: &str = "PER|claire.martinot@exemple-fictif.mssante.fr|8|19990000017|819990000017||||DR|MARTINOT|Claire|C|Civil|10|Médecin|SM54|Médecine Générale|O|CABINET DU DR CLAIRE MARTINOT||||12||R|DES TILLEULS FICTIFS||21000 DIJON|21000|21|France";
    pub const ORG_LINE: &str = "ORG|secretariat.cardio@ch-imaginaire.mssante.fr||||1|219990001|Service de cardiologie||||||||||N|CENTRE HOSPITALIER IMAGINAIRE||||2|B|AV|DU DOCTEUR INVENTE||21079 DIJON CEDEX|21079|21|France";

    fn file() -> MailboxFile {
        MailboxFile::from_header(HEADER).unwrap()
    }

    #[test]
    fn personal_mailbox() {
        let m = file().parse(PER_LINE).unwrap();
        assert_eq!(m.kind, "PER");
        assert_eq!(m.address, "claire.martinot@exemple-fictif.mssante.fr");
        assert_eq!(m.person, "819990000017");
        assert_eq!(m.profession, "10");
        assert_eq!(m.structure, None);
        assert_eq!(m.dematerialisation, Some(true));
    }

    #[test]
    fn organisational_mailbox() {
        let m = file().parse(ORG_LINE).unwrap();
        assert_eq!(m.kind, "ORG");
        assert_eq!(m.person, "");
        let s = m.structure.unwrap();
        assert_eq!(s.national_id(), "1219990001");
        assert_eq!(m.service, "Service de cardiologie");
        assert_eq!(m.dematerialisation, Some(false));
    }

    #[test]
    fn header_with_spaces_around_separators() {
        let spaced = HEADER.replace('|', " | ");
        let m = MailboxFile::from_header(&spaced)
            .unwrap()
            .parse(ORG_LINE)
            .unwrap();
        assert_eq!(m.address, "secretariat.cardio@ch-imaginaire.mssante.fr");
    }

    #[test]
    fn unplaceable_lines_are_rejected() {
        let no_owner = ORG_LINE.replace("|1|219990001|", "|||");
        assert!(matches!(
            file().parse(&no_owner),
            Err(RowError::MissingKey(_))
        ));
        let no_address = PER_LINE.replace("claire.martinot@exemple-fictif.mssante.fr", "");
        assert_eq!(
            file().parse(&no_address),
            Err(RowError::MissingKey("Adresse BAL"))
        );
        let not_an_address = PER_LINE.replace("@", " at ");
        assert!(matches!(
            file().parse(&not_an_address),
            Err(RowError::InvalidValue { .. })
        ));
        assert!(file().parse("PER|a@b.fr|8").is_err(), "short line");
    }

    #[test]
    fn not_an_mssante_header() {
        let err = MailboxFile::from_header("Type d'identifiant PP|Identifiant PP").unwrap_err();
        assert_eq!(err.missing, "Type de BAL");
    }
}
