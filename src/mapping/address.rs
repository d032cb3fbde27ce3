//! Postal addresses (`as-address-extended`) from RPPS structure columns or FINESS fields.
//!
//! Both sources describe the same AFNOR NF Z 10-011 lines (L2 recipient complement, L3 building
//! complement, L4 number and street, L5 distribution mention, L6 routing line `CP VILLE`). Each
//! non-empty line becomes one `line` entry with its text *and* its ISO 21090 parts in `_line`
//! (decision A12: string search needs the text, structured consumers the parts).

use fhir_json::types::{Address, Coding, Extension, ExtensionValue};

use super::elements::{coding, extension, field_extension, string_extension};
use super::nos;

/// One address, already split into its parts; empty strings are absent parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress<'a> {
    /// L2 `Complément destinataire` -> ADXP careOf (A9).
    pub care_of: &'a str,
    /// L3 `Complément point géographique` / FINESS `compldistrib` -> ADXP additionalLocator.
    pub additional_locator: &'a str,
    pub house_number: &'a str,
    pub number_suffix: &'a str,
    /// Street-type code (`R`, `AV`...).
    pub street_type: &'a str,
    pub street_name: &'a str,
    /// L5 `Mention distribution` / FINESS `lieuditbp`: a post box (`BP 12`, `CS 90000`) or a
    /// lieu-dit (A10).
    pub distribution: &'a str,
    pub postal_code: &'a str,
    pub city: &'a str,
    /// INSEE COG commune code (`21231`, `2A004`, `97411`).
    pub insee: String,
    /// Department code (`21`, `2A`, `974`).
    pub district: String,
    /// INSEE country code (`99132`); empty for France.
    pub country: &'a str,
}

impl<'a> PostalAddress<'a> {
    /// Splits a routing line `CP VILLE` (`21079 DIJON CEDEX`) into postcode and locality. A
    /// line that does not start with a 5-digit postcode is all locality.
    pub fn split_routing_line(routing: &'a str) -> (&'a str, &'a str) {
        let routing = routing.trim();
        match routing.get(..5) {
            Some(code) if code.bytes().all(|b| b.is_ascii_digit()) => {
                (code, routing[5..].trim_start())
            }
            _ => ("", routing),
        }
    }

    fn is_empty(&self) -> bool {
        self.care_of.is_empty()
            && self.additional_locator.is_empty()
            && self.street_line_is_empty()
            && self.distribution.is_empty()
            && self.postal_code.is_empty()
            && self.city.is_empty()
            && self.insee.is_empty()
            && self.country.is_empty()
    }

    fn street_line_is_empty(&self) -> bool {
        self.house_number.is_empty()
            && self.number_suffix.is_empty()
            && self.street_type.is_empty()
            && self.street_name.is_empty()
    }
}

/// Department of a COG commune code: 3 characters overseas (`97x`, `98x`), else 2 (A19).
pub fn district_of_commune(insee: &str) -> String {
    let len = if insee.starts_with("97") || insee.starts_with("98") {
        3
    } else {
        2
    };
    insee
        .get(..len)
        .filter(|_| insee.len() == 5)
        .unwrap_or_default()
        .to_owned()
}

/// Whether an L5 value is a post box (`BP`, `CS`, `TSA`, `CP` as a whole word) rather than a
/// lieu-dit.
fn is_post_box(value: &str) -> bool {
    ["BP", "CS", "TSA", "CP"].iter().any(|prefix| {
        value.strip_prefix(prefix).is_some_and(|rest| {
            rest.chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
    })
}

fn adxp(part: &str, value: &str) -> Extension {
    string_extension(&format!("{}{part}", nos::ADXP_PREFIX), value)
}

/// Builds the FHIR Address, or `None` when the source has no address at all.
pub fn to_fhir(address: &PostalAddress<'_>) -> Option<Address> {
    if address.is_empty() {
        return None;
    }
    let mut lines: Vec<(String, Vec<Extension>)> = Vec::with_capacity(4);
    if !address.care_of.is_empty() {
        lines.push((
            address.care_of.to_owned(),
            vec![adxp("careOf", address.care_of)],
        ));
    }
    if !address.additional_locator.is_empty() {
        let ext = adxp("additionalLocator", address.additional_locator);
        lines.push((address.additional_locator.to_owned(), vec![ext]));
    }
    if !address.street_line_is_empty() {
        lines.push(street_line(address));
    }
    if !address.distribution.is_empty() {
        let ext = if is_post_box(address.distribution) {
            adxp("postBox", address.distribution)
        } else {
            string_extension(nos::EXT_LIEU_DIT, address.distribution)
        };
        lines.push((address.distribution.to_owned(), vec![ext]));
    }

    let mut builder = Address::builder();
    if !address.insee.is_empty() {
        let commune: Coding = coding(&nos::nos("TRE_R13-Commune"), &address.insee);
        builder = builder.extension(vec![extension(
            nos::EXT_INSEE_CODE,
            ExtensionValue::Coding(commune),
        )]);
    }
    let (texts, parts): (Vec<_>, Vec<_>) = lines.into_iter().unzip();
    // FHIR JSON never has empty objects: a line without parts is `null` in `_line`, and
    // `_line` is left out when no line has parts.
    let parts: Vec<_> = parts
        .into_iter()
        .map(|p| (!p.is_empty()).then(|| field_extension(p)))
        .collect();
    builder = builder.line(texts.into_iter().map(Some).collect());
    if parts.iter().any(Option::is_some) {
        builder = builder.line_ext(parts);
    }
    if !address.city.is_empty() {
        builder = builder.city(address.city.to_owned());
    }
    if !address.district.is_empty() {
        builder = builder.district(address.district.clone());
    }
    if !address.postal_code.is_empty() {
        builder = builder.postal_code(address.postal_code.to_owned());
    }
    if !address.country.is_empty() {
        builder = builder.country(address.country.to_owned());
    }
    Some(builder.build().expect("Address has no required field"))
}

/// L4: `"num indice type voie"` single-spaced, with its parts. A street type outside TRE_R35
/// stays in the text only, since the extension's binding is required (A18).
fn street_line(address: &PostalAddress<'_>) -> (String, Vec<Extension>) {
    let words = [
        address.house_number,
        address.number_suffix,
        address.street_type,
        address.street_name,
    ];
    let text = words
        .iter()
        .filter(|w| !w.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut parts = Vec::with_capacity(4);
    if !address.house_number.is_empty() {
        parts.push(adxp("houseNumber", address.house_number));
    }
    if !address.number_suffix.is_empty() {
        parts.push(adxp("buildingNumberSuffix", address.number_suffix));
    }
    if nos::is_street_type(address.street_type) {
        parts.push(adxp("streetNameType", address.street_type));
    }
    if !address.street_name.is_empty() {
        parts.push(adxp("streetNameBase", address.street_name));
    }
    (text, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(address: &PostalAddress<'_>) -> serde_json::Value {
        // Serialize through a minimal Organization so the test exercises the real encoder.
        let org = fhir_json::Organization::builder()
            .address(vec![to_fhir(address)])
            .build()
            .unwrap();
        let value: serde_json::Value =
            serde_json::from_slice(&fhir_json::organization_to_vec(&org)).unwrap();
        value["address"][0].clone()
    }

    #[test]
    fn routing_line_split() {
        assert_eq!(
            PostalAddress::split_routing_line("21079 DIJON CEDEX"),
            ("21079", "DIJON CEDEX")
        );
        assert_eq!(PostalAddress::split_routing_line("LONDON"), ("", "LONDON"));
        assert_eq!(PostalAddress::split_routing_line(""), ("", ""));
    }

    #[test]
    fn districts() {
        assert_eq!(district_of_commune("21231"), "21");
        assert_eq!(district_of_commune("2A004"), "2A");
        assert_eq!(district_of_commune("97411"), "974");
        assert_eq!(district_of_commune(""), "");
    }

    #[test]
    fn post_box_or_lieu_dit() {
        assert!(is_post_box("BP 12"));
        assert!(is_post_box("CS 90000"));
        assert!(is_post_box("TSA 10001"));
        assert!(!is_post_box("BPERIE"));
        assert!(!is_post_box("LIEU DIT LES CHAMPS"));
    }

    #[test]
    fn lines_have_text_and_parts() {
        let address = PostalAddress {
            care_of: "SERVICE DE CARDIOLOGIE",
            house_number: "2",
            number_suffix: "B",
            street_type: "AV",
            street_name: "DU DOCTEUR INVENTE",
            distribution: "LES HAUTS DE VAL",
            postal_code: "21079",
            city: "DIJON CEDEX",
            insee: "21231".into(),
            district: "21".into(),
            ..Default::default()
        };
        let value = json(&address);
        assert_eq!(
            value["line"],
            serde_json::json!([
                "SERVICE DE CARDIOLOGIE",
                "2 B AV DU DOCTEUR INVENTE",
                "LES HAUTS DE VAL"
            ])
        );
        assert_eq!(
            value["_line"][0]["extension"][0]["url"],
            "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-careOf"
        );
        assert_eq!(value["_line"][1]["extension"].as_array().unwrap().len(), 4);
        assert_eq!(value["_line"][2]["extension"][0]["url"], nos::EXT_LIEU_DIT);
        assert_eq!(value["extension"][0]["valueCoding"]["code"], "21231");
        assert_eq!(value["district"], "21");
    }

    #[test]
    fn unknown_street_type_stays_in_text() {
        let address = PostalAddress {
            house_number: "5",
            street_type: "XYZ",
            street_name: "DES LILAS",
            ..Default::default()
        };
        let value = json(&address);
        assert_eq!(value["line"][0], "5 XYZ DES LILAS");
        let urls: Vec<&str> = value["_line"][0]["extension"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap())
            .collect();
        assert!(!urls.iter().any(|u| u.ends_with("streetNameType")));
    }

    #[test]
    fn no_address_at_all() {
        assert!(to_fhir(&PostalAddress::default()).is_none());
    }
}
