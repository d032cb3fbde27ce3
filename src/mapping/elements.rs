//! Small constructors for the FHIR elements every mapping uses, over fhir-sdk's builders.
//!
//! The builders only fail when a required field is left unset; every constructor here sets its
//! required fields, so a failure is a bug in this file, not bad input: hence `expect`.

use fhir_json::BuilderError;
use fhir_json::codes::IdentifierUse;
use fhir_json::types::{
    CodeableConcept, Coding, Extension, ExtensionValue, FieldExtension, Identifier, Meta, Reference,
};

use super::nos;
use crate::fhir::ResourceType;

fn built<T>(result: Result<T, BuilderError>) -> T {
    result.expect("every required field of this element is set above")
}

pub fn coding(system: &str, code: &str) -> Coding {
    built(
        Coding::builder()
            .system(system.to_owned())
            .code(code.to_owned())
            .build(),
    )
}

pub fn concept(codings: Vec<Coding>) -> CodeableConcept {
    built(
        CodeableConcept::builder()
            .coding(codings.into_iter().map(Some).collect())
            .build(),
    )
}

/// A CodeableConcept with one coding from a NOS terminology.
pub fn nos_concept(terminology: &str, code: &str) -> CodeableConcept {
    concept(vec![coding(&nos::nos(terminology), code)])
}

/// An identifier typed with a `fr-core-cs-v2-0203` code. `official` is the `use` every
/// Practitioner and Organization identifier of the ANS examples carries; PractitionerRole
/// identifiers have none.
pub fn identifier(
    system: &str,
    type_code: Option<&str>,
    value: &str,
    official: bool,
) -> Identifier {
    let mut builder = Identifier::builder()
        .system(system.to_owned())
        .value(value.to_owned());
    if official {
        builder = builder.r#use(IdentifierUse::Official);
    }
    if let Some(code) = type_code {
        builder = builder.r#type(concept(vec![coding(nos::IDENTIFIER_TYPE, code)]));
    }
    built(builder.build())
}

pub fn reference(target: String) -> Reference {
    built(Reference::builder().reference(target).build())
}

pub fn extension(url: &str, value: ExtensionValue) -> Extension {
    built(
        Extension::builder()
            .url(url.to_owned())
            .value(value)
            .build(),
    )
}

/// A complex extension (sub-extensions only, no value).
pub fn complex_extension(url: &str, parts: Vec<Extension>) -> Extension {
    built(
        Extension::builder()
            .url(url.to_owned())
            .extension(parts)
            .build(),
    )
}

pub fn string_extension(url: &str, value: &str) -> Extension {
    extension(url, ExtensionValue::String(value.to_owned()))
}

/// Extensions attached to a primitive value (`_line[i]`, ...).
pub fn field_extension(extensions: Vec<Extension>) -> FieldExtension {
    built(FieldExtension::builder().extension(extensions).build())
}

/// Which information system a resource comes from (`as-ext-data-trace.systeme-information`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceSystem {
    Rpps,
    Finess,
}

/// Provenance of a resource: the `as-ext-data-trace` extension in `meta.extension`.
#[derive(Debug, Clone)]
pub struct DataTrace<'a> {
    /// A TRE_R60 registration authority; omitted when not in JDV_J83 (A6).
    pub authority: Option<&'a str>,
    pub system: SourceSystem,
    /// FINESS `datemaj`, `YYYY-MM-DD`.
    pub updated: Option<&'a str>,
}

impl DataTrace<'_> {
    fn extension(&self) -> Extension {
        let mut parts = Vec::with_capacity(3);
        if let Some(code) = self.authority.filter(|c| nos::is_registration_authority(c)) {
            parts.push(extension(
                "autorite-enregistrement",
                ExtensionValue::CodeableConcept(nos_concept(
                    "TRE_R60-AutoriteEnregistrement",
                    code,
                )),
            ));
        }
        let system = match self.system {
            SourceSystem::Rpps => "RPPS",
            SourceSystem::Finess => "FINESS",
        };
        parts.push(extension(
            "systeme-information",
            ExtensionValue::Code(system.into()),
        ));
        if let Some(date) = self.updated.and_then(full_date) {
            parts.push(extension("date-maj-ae", ExtensionValue::Date(date)));
        }
        complex_extension(nos::EXT_DATA_TRACE, parts)
    }
}

/// A `YYYY-MM-DD` date, or `None` for anything else. The shape is checked before fhir-sdk parses
/// it: its parser is lenient (it reads `0` as the year 0, a date it then cannot write, which
/// would fail the whole import).
pub fn full_date(text: &str) -> Option<fhir_json::Date> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped.then(|| text.parse().ok()).flatten()
}

/// The profiles a resource of `rtype` claims, fr-core base first then the as-dp profile, as
/// the as-dp profiles' `meta.profile` slices (`fr-canonical`, `as-dp-canonical`) require;
/// read from `profiles/*.json` so the claims and the profile checks share one source. For the
/// types with one as-dp profile; see [`claimed_as`] for the others.
pub fn claimed(rtype: ResourceType) -> Vec<&'static str> {
    crate::profiles::claim(rtype).claimed()
}

/// The profiles a resource of `rtype` claims when it makes the claim named `name`
/// (`as-dp-device`, or the generic `as-device`): the ANS profile alone for HealthcareService
/// and Device, which fr-core does not profile.
pub fn claimed_as(rtype: ResourceType, name: &str) -> Vec<&'static str> {
    crate::profiles::claim_named(rtype, name).claimed()
}

/// `meta` as the ANS profiles want it: data-trace, `source`, and the profiles the resource
/// claims. `versionId` and `lastUpdated` are the store's: it adds them when it serves the
/// resource (see `generation::record`).
pub fn meta(profiles: &[&str], trace: &DataTrace<'_>) -> Meta {
    built(
        Meta::builder()
            .extension(vec![trace.extension()])
            .source(nos::META_SOURCE.to_owned())
            .profile(profiles.iter().map(|p| Some((*p).to_owned())).collect())
            .build(),
    )
}

#[cfg(test)]
mod date_tests {
    use super::full_date;

    #[test]
    fn only_full_iso_dates_are_dates() {
        assert!(full_date("1975-01-01").is_some());
        for bad in [
            "0",
            "",
            "1975",
            "75-01-01",
            "1975-1-01",
            "1975-13-01",
            "1975-02-30",
            "01/01/1975",
            "1975-01-01T00:00",
        ] {
            assert!(full_date(bad).is_none(), "{bad}");
        }
    }
}
