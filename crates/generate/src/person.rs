//! What the side files (savoir-faire, diplomas, MSSanté mailboxes) know of a generated person and
//! of the places they work: handed over by the RPPS generator, read by [`super::side`] and
//! [`super::mssante`].

use super::geo::{Address, Place};
use super::structure::Structure;
use super::tables::{Code, Profession, SavoirFaire};

/// One profession of a person with its savoir-faire, exactly as in the RPPS rows.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub profession: &'static Profession,
    pub savoir_faire: Vec<&'static SavoirFaire>,
}

/// What the side files need to know of a generated person.
#[derive(Debug)]
pub(crate) struct PersonRecord<'a> {
    /// Index of the person in the generation (digits of personal mailbox addresses).
    pub index: u64,
    /// `Type d'identifiant PP` (`8` RPPS, `0` ADELI) and `Identifiant PP`.
    pub id_type: &'static str,
    pub id: &'a str,
    /// Civilité d'exercice (`DR`, `PR`) if any.
    pub title: Option<&'static Code>,
    pub family: &'a str,
    pub given: &'a str,
    pub category: &'static Code,
    /// One or (rarely) two professions, never none.
    pub professions: &'a [Registration],
    /// The structure of the person's first activity, if they have one.
    pub site: Option<&'a Site>,
    /// The cabinets the person works in that have an organisational mailbox (as drawn on day 1;
    /// unused by [`SideFiles::write`]).
    pub cabinets: &'a [Site],
}

/// What a mailbox line copies from a structure of the RPPS or FINESS data.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// `Identifiant technique de la structure` (RPPS column 24): the key of cabinet mailboxes.
    pub id: String,
    pub finess_site: String,
    pub siret: String,
    pub name: String,
    pub brand: String,
    /// The 11 fields `L2COMPLEMENTLOCALISATION` … `Pays`, joined by `|`.
    pub postal: String,
}

impl Site {
    /// The mailbox view of an RPPS structure.
    pub(crate) fn from_structure(structure: &Structure<'_>) -> Site {
        Site::new(
            &structure.id,
            &structure.finess_site,
            &structure.siret,
            &structure.name,
            &structure.brand,
            &structure.address,
        )
    }

    /// The postal lines follow the AFNOR line numbers the column names carry: L2 = complément
    /// destinataire, L3 = complément point géographique, L4 = number, repetition, street type code
    /// and street, L5 = lieu-dit / mention, L6 = routing line; then postcode, department code and
    /// country (`France`, or the foreign country's name).
    pub(crate) fn new(
        id: &str,
        finess: &str,
        siret: &str,
        name: &str,
        brand: &str,
        a: &Address,
    ) -> Site {
        let country = match a.place {
            Place::France(_) => "France",
            Place::Abroad(country) => country.label,
        };
        let postal = [
            a.recipient.as_str(),
            &a.building,
            &a.number,
            a.repetition,
            a.street_type.map_or("", |t| t.code),
            &a.street,
            &a.distribution,
            &a.routing,
            &a.postcode,
            a.department().map_or("", |d| d.code),
            country,
        ]
        .join("|");
        Site {
            id: id.to_string(),
            finess_site: finess.to_string(),
            siret: siret.to_string(),
            name: name.to_string(),
            brand: brand.to_string(),
            postal,
        }
    }

    /// `Type identifiant structure` and `Identification Structure`: `1` + FINESS site when the site
    /// has one, else `3` + SIRET.
    pub(crate) fn identification(&self) -> (&'static str, &str) {
        if !self.finess_site.is_empty() {
            ("1", &self.finess_site)
        } else if !self.siret.is_empty() {
            ("3", &self.siret)
        } else {
            ("", "")
        }
    }
}
