//! Structure contact points (`fr-core-contact-point`): phones, fax, e-mail.
//!
//! The sources hold phone numbers in several shapes (`0380000001`, `03 80 00 00 01`,
//! `+33 3 80...`, and in old FINESS extracts `380000001` with the leading zero lost). They are
//! normalised once here, and duplicates dropped, so search by telecom compares like with like.

use fhir_json::codes::ContactPointSystem;
use fhir_json::types::{ContactPoint, ExtensionValue};

use super::elements::{coding, extension};
use super::nos;

/// A structure's raw contact columns.
#[derive(Debug, Clone, Default)]
pub struct Contacts<'a> {
    pub phone: &'a str,
    pub phone2: &'a str,
    pub fax: &'a str,
    pub email: &'a str,
    /// FINESS numbers: a 9-digit number lost its leading `0` in old extracts.
    pub restore_leading_zero: bool,
}

/// Removes spaces and dots; restores a lost leading zero when asked.
pub fn normalize_phone(raw: &str, restore_leading_zero: bool) -> String {
    let mut number: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    if restore_leading_zero && number.len() == 9 && number.bytes().all(|b| b.is_ascii_digit()) {
        number.insert(0, '0');
    }
    number
}

/// Whether an address is an MSSanté (secure health messaging) mailbox.
pub fn is_mssante(email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.to_ascii_lowercase().ends_with("mssante.fr"))
}

fn contact_point(system: ContactPointSystem, value: String, rank: Option<u32>) -> ContactPoint {
    let mut builder = ContactPoint::builder().system(system).value(value);
    if let Some(rank) = rank.and_then(std::num::NonZeroU32::new) {
        builder = builder.rank(rank);
    }
    builder.build().expect("ContactPoint has no required field")
}

/// The `mailbox-mss` slice: an e-mail typed MSSANTE (TRE_R256).
pub fn mailbox_mss(address: &str) -> ContactPoint {
    let kind = coding(&nos::nos("TRE_R256-TypeMessagerie"), "MSSANTE");
    ContactPoint::builder()
        .extension(vec![extension(
            nos::EXT_EMAIL_TYPE,
            ExtensionValue::Coding(kind),
        )])
        .system(ContactPointSystem::Email)
        .value(address.to_owned())
        .build()
        .expect("ContactPoint has no required field")
}

/// Phone (rank 1), second phone (rank 2), fax, e-mail — deduplicated, empty ones skipped.
pub fn to_fhir(contacts: &Contacts<'_>) -> Vec<ContactPoint> {
    let mut seen: Vec<(ContactPointSystem, String)> = Vec::with_capacity(4);
    let mut out = Vec::with_capacity(4);
    let phones = [
        (ContactPointSystem::Phone, contacts.phone, Some(1)),
        (ContactPointSystem::Phone, contacts.phone2, Some(2)),
        (ContactPointSystem::Fax, contacts.fax, None),
    ];
    for (system, raw, rank) in phones {
        let value = normalize_phone(raw, contacts.restore_leading_zero);
        if value.is_empty() || seen.contains(&(system, value.clone())) {
            continue;
        }
        seen.push((system, value.clone()));
        out.push(contact_point(system, value, rank));
    }
    let email = contacts.email.trim();
    if !email.is_empty() {
        out.push(if is_mssante(email) {
            mailbox_mss(email)
        } else {
            contact_point(ContactPointSystem::Email, email.to_owned(), None)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_shapes() {
        assert_eq!(normalize_phone("03 80 00 00 01", false), "0380000001");
        assert_eq!(normalize_phone("03.80.00.00.01", false), "0380000001");
        assert_eq!(normalize_phone("+33 3 80 00 00 01", false), "+33380000001");
        assert_eq!(normalize_phone("474454647", true), "0474454647");
        assert_eq!(normalize_phone("474454647", false), "474454647");
    }

    #[test]
    fn mssante_addresses() {
        assert!(is_mssante("secretariat@ch-imaginaire.mssante.fr"));
        assert!(is_mssante("a@pro.MSSANTE.fr"));
        assert!(!is_mssante("cabinet@example.fr"));
    }

    #[test]
    fn duplicates_and_empties_are_dropped() {
        let points = to_fhir(&Contacts {
            phone: "0380000001",
            phone2: "03 80 00 00 01",
            fax: "",
            email: "",
            restore_leading_zero: false,
        });
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].rank.map(|r| r.get()), Some(1));
    }
}
