//! MSSanté mailboxes -> the `mailbox-mss` ContactPoint (`as-mailbox-mss`) on their owner.
//!
//! A mailbox is an e-mail contact point typed `MSSANTE` (fr-core email type, TRE_R256) with the
//! `as-ext-mailbox-mss-metadata` extension: `type` (TRE_R257-TypeBAL: PER, ORG, APP, CAB),
//! `service` (the file's `Service de rattachement`) and `dematerialisation` (the file's
//! `Dématérialisation` flag). The IG's metadata extension has no slice for that flag; its
//! sub-extension slicing is open, so it travels as an extra `dematerialisation` sub-extension
//! rather than being dropped.
//!
//! Where a mailbox goes (personal ones on the Practitioner and on the PractitionerRole at the
//! mailbox's structure; organisational ones on the Organization) is decided by matching the
//! file's structure reference against [`activity_keys`] and [`organization_keys`].

use fhir_json::Organization;
use fhir_json::codes::ContactPointSystem;
use fhir_json::types::{ContactPoint, ExtensionValue};

use super::elements::{coding, complex_extension, concept, extension};
use super::nos;
use super::telecom::mailbox_mss;
use crate::extract::mssante::Mailbox;
use crate::extract::rpps::{Col, RppsRow};

/// Name of the sub-extension carrying `Dématérialisation` (not declared by the IG, see above).
pub const DEMATERIALISATION: &str = "dematerialisation";

/// The `mailbox-mss` contact point of one mailbox line.
pub fn contact_point(mailbox: &Mailbox<'_>) -> ContactPoint {
    let mut parts = vec![extension(
        "type",
        ExtensionValue::CodeableConcept(concept(vec![coding(
            &nos::nos(nos::TYPE_BAL),
            mailbox.kind,
        )])),
    )];
    if !mailbox.service.is_empty() {
        parts.push(extension(
            "service",
            ExtensionValue::String(mailbox.service.to_owned()),
        ));
    }
    if let Some(flag) = mailbox.dematerialisation {
        parts.push(extension(DEMATERIALISATION, ExtensionValue::Boolean(flag)));
    }
    let mut point = mailbox_mss(mailbox.address);
    point
        .extension
        .push(complex_extension(nos::EXT_MAILBOX_MSS_METADATA, parts));
    point
}

/// Adds `mailboxes` (in the order given) to `telecom`, once per address: an address already
/// there (compared case-insensitively, as mail domains are) keeps its place but takes the
/// richer mailbox form; a second line for the same address is ignored (the first line wins).
pub fn attach(telecom: &mut Vec<Option<ContactPoint>>, mailboxes: &[&Mailbox<'_>]) {
    let mut from_file: Vec<String> = Vec::with_capacity(mailboxes.len());
    for mailbox in mailboxes {
        let key = mailbox.address.to_ascii_lowercase();
        if from_file.contains(&key) {
            continue;
        }
        let point = contact_point(mailbox);
        let existing = telecom.iter_mut().flatten().find(|p| {
            p.system == Some(ContactPointSystem::Email)
                && p.value.as_deref().map(str::to_ascii_lowercase).as_deref() == Some(&key)
        });
        match existing {
            Some(slot) => *slot = point,
            None => telecom.push(Some(point)),
        }
        from_file.push(key);
    }
}

/// The structure references an activity row answers to: `1` + FINESS site, the RPPS
/// `Ancien identifiant de la structure` (already type digit + number), `3` + SIRET.
pub fn activity_keys(row: &RppsRow<'_>) -> Vec<String> {
    let mut keys = Vec::with_capacity(3);
    let finess = row.get(Col::FinessSite);
    if !finess.is_empty() {
        keys.push(format!("1{finess}"));
    }
    let national = row.get(Col::AncienIdStructure);
    if !national.is_empty() {
        keys.push(national.to_owned());
    }
    let siret = row.get(Col::Siret);
    if !siret.is_empty() {
        keys.push(format!("3{siret}"));
    }
    keys
}

/// The structure references an Organization answers to, from its identifiers: `idNatSt`,
/// `1` + FINESS (site or legal entity), `3` + SIRET.
pub fn organization_keys(organization: &Organization) -> Vec<String> {
    let mut keys = Vec::with_capacity(3);
    for id in organization.identifier.iter().flatten() {
        let (Some(system), Some(value)) = (id.system.as_deref(), id.value.as_deref()) else {
            continue;
        };
        let type_code = id
            .r#type
            .as_ref()
            .and_then(|t| t.coding.iter().flatten().find_map(|c| c.code.as_deref()));
        let key = match (system, type_code) {
            (nos::SYSTEM_IDNST, _) => value.to_owned(),
            (nos::SYSTEM_FINESS, _) => format!("1{value}"),
            (nos::SYSTEM_SIRENE, Some("SIRET")) => format!("3{value}"),
            _ => continue,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::mssante::StructureRef;

    fn mailbox<'a>(address: &'a str, kind: &'a str) -> Mailbox<'a> {
        Mailbox {
            kind,
            address,
            person: "",
            profession: "",
            structure: Some(StructureRef {
                id_type: "1",
                id: "219990001",
            }),
            service: "Cardiologie",
            dematerialisation: Some(true),
        }
    }

    #[test]
    fn metadata_carries_type_service_and_dematerialisation() {
        // Serialised through a resource: serde stays behind the fhir-json crate's functions.
        let practitioner = fhir_json::Practitioner::builder()
            .telecom(vec![Some(contact_point(&mailbox("a@x.mssante.fr", "ORG")))])
            .build()
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&fhir_json::practitioner_to_vec(&practitioner)).unwrap();
        let point = &json["telecom"][0];
        assert_eq!(point["system"], "email");
        assert_eq!(point["extension"][0]["valueCoding"]["code"], "MSSANTE");
        let meta = &point["extension"][1];
        assert_eq!(meta["url"], nos::EXT_MAILBOX_MSS_METADATA);
        assert_eq!(
            meta["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
            "ORG"
        );
        assert_eq!(meta["extension"][1]["valueString"], "Cardiologie");
        assert_eq!(meta["extension"][2]["url"], DEMATERIALISATION);
        assert_eq!(meta["extension"][2]["valueBoolean"], true);
    }

    #[test]
    fn attach_dedupes_and_enriches() {
        let mut telecom = vec![Some(mailbox_mss("A@x.mssante.fr"))];
        let first = mailbox("a@x.mssante.fr", "ORG");
        let mut second = mailbox("a@X.mssante.fr", "ORG");
        second.service = "Other";
        let other = mailbox("b@x.mssante.fr", "ORG");
        attach(&mut telecom, &[&first, &second, &other]);
        assert_eq!(telecom.len(), 2);
        let values: Vec<_> = telecom
            .iter()
            .flatten()
            .map(|p| p.value.clone().unwrap())
            .collect();
        assert_eq!(values, ["a@x.mssante.fr", "b@x.mssante.fr"]);
        assert_eq!(telecom[0].as_ref().unwrap().extension.len(), 2);
    }
}
