//! The CodeSystem resources of the terminologies the served codings use, built from the
//! labels the import kept ([`super::labels`], `labels.json` in the generation).
//!
//! One CodeSystem per system met in the files: its canonical `url` is the system the codings
//! name, and its concepts are the codes met with the label kept for each, so a coding's
//! `display`, its CodeSystem's concept and `$lookup` say the same words. It holds only the codes
//! the files used, not the whole NOS terminology: `content` is `fragment` (R4: "a subset of the
//! code system concepts are included"), never `complete`.
//!
//! Why not stored and indexed like the directory's resources: a few dozen systems of at most a
//! few hundred codes each, derived whole from one small file; kept in memory per generation and
//! searched by a scan of them, which costs less than a lookup in the index would.

use std::collections::BTreeMap;

use serde_json::{Value, json};

type Codes = BTreeMap<String, String>;

/// The code systems of a generation, by canonical URL.
#[derive(Debug, Default, Clone)]
pub struct CodeSystems {
    systems: BTreeMap<String, Codes>,
}

/// The labels file could not be read as labels.
#[derive(Debug, thiserror::Error)]
#[error("the code labels of this generation are not readable: {0}")]
pub struct BadLabels(#[from] serde_json::Error);

impl CodeSystems {
    /// The systems of a generation's labels file (`{"<system>": {"<code>": "<label>"}}`).
    pub fn from_labels_json(json: &[u8]) -> Result<CodeSystems, BadLabels> {
        Ok(CodeSystems {
            systems: serde_json::from_slice(json)?,
        })
    }

    /// Every system, in URL order.
    pub fn iter(&self) -> impl Iterator<Item = CodeSystem<'_>> {
        self.systems
            .iter()
            .map(|(url, concepts)| CodeSystem { url, concepts })
    }

    /// The system whose canonical URL is `url`.
    pub fn by_url(&self, url: &str) -> Option<CodeSystem<'_>> {
        self.systems
            .get_key_value(url)
            .map(|(url, concepts)| CodeSystem { url, concepts })
    }

    /// The system whose resource id is `id`.
    pub fn by_id(&self, id: &str) -> Option<CodeSystem<'_>> {
        self.iter().find(|system| system.id() == id)
    }
}

/// One code system: its URL and the concepts met.
#[derive(Debug, Clone, Copy)]
pub struct CodeSystem<'a> {
    url: &'a str,
    concepts: &'a Codes,
}

/// The last segment of a URL's path.
fn last_segment(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// Whether `id` is a FHIR id: `[A-Za-z0-9\-\.]{1,64}`.
fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl<'a> CodeSystem<'a> {
    pub fn url(&self) -> &'a str {
        self.url
    }

    /// The resource id: the last segment of the URL, which is the id the ANS gives its own
    /// CodeSystem resources (`TRE-R22-GenreActivite`, `tre-r394-competence-metier`); stable as
    /// long as the URL is. A URL whose last segment is no FHIR id gets `cs-` and a digest.
    pub fn id(&self) -> String {
        let segment = last_segment(self.url);
        if is_fhir_id(segment) {
            segment.to_owned()
        } else {
            format!("cs-{}", crate::fhir::short_hash(self.url))
        }
    }

    /// The terminology's name as people know it: the NOS name in the URL
    /// (`https://mos.esante.gouv.fr/NOS/TRE_R22-GenreActivite/FHIR/...` is
    /// `TRE_R22-GenreActivite`), else the id.
    pub fn title(&self) -> String {
        self.url
            .strip_prefix("https://mos.esante.gouv.fr/NOS/")
            .and_then(|rest| rest.split('/').next())
            .filter(|name| !name.is_empty())
            .map_or_else(|| self.id(), str::to_owned)
    }

    /// A computer-friendly name (R4 `cnl-0`: a capital, then letters, digits and `_`):
    /// `TRE_R22_GenreActivite`.
    pub fn name(&self) -> String {
        let mut name: String = self
            .title()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if let Some(first) = name.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            name.insert(0, 'C');
        }
        name
    }

    /// The label kept for `code`.
    pub fn display(&self, code: &str) -> Option<&'a str> {
        self.concepts.get(code).map(String::as_str)
    }

    /// The codes met, with their labels, in code order.
    pub fn concepts(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.concepts
            .iter()
            .map(|(code, label)| (code.as_str(), label.as_str()))
    }

    /// The CodeSystem resource. `last_updated` is the generation's stamp: the concepts change
    /// only with an import.
    pub fn resource(&self, last_updated: &str) -> Value {
        let concepts: Vec<Value> = self
            .concepts()
            .map(|(code, display)| json!({"code": code, "display": display}))
            .collect();
        json!({
            "resourceType": "CodeSystem",
            "id": self.id(),
            "meta": {"lastUpdated": last_updated},
            "language": "fr",
            "url": self.url,
            "name": self.name(),
            "title": self.title(),
            "status": "active",
            "experimental": false,
            "date": last_updated,
            "description": format!(
                "Les codes de {} rencontrés dans les fichiers d'extraction de l'annuaire, avec le \
                 libellé que ces fichiers leur donnent (le premier rencontré quand ils en donnent \
                 plusieurs). Un extrait : la terminologie complète est publiée par l'ANS.",
                self.title()
            ),
            "caseSensitive": true,
            "content": "fragment",
            "concept": concepts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str = r#"{
        "https://mos.esante.gouv.fr/NOS/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite": {"GENR01": "Activité de soin"},
        "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r394-competence-metier": {"CM1": "Un métier"},
        "urn:odd:a b": {"x": "y"}
    }"#;

    #[test]
    fn ids_names_and_titles_come_from_the_url() {
        let systems = CodeSystems::from_labels_json(LABELS.as_bytes()).unwrap();
        let r22 = systems
            .by_url(
                "https://mos.esante.gouv.fr/NOS/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite",
            )
            .unwrap();
        assert_eq!(r22.id(), "TRE-R22-GenreActivite");
        assert_eq!(r22.title(), "TRE_R22-GenreActivite");
        assert_eq!(r22.name(), "TRE_R22_GenreActivite");
        assert_eq!(r22.display("GENR01"), Some("Activité de soin"));
        let cm = systems.by_id("tre-r394-competence-metier").unwrap();
        assert_eq!(cm.name(), "Tre_r394_competence_metier");
        let odd = systems.iter().find(|s| s.url() == "urn:odd:a b").unwrap();
        assert!(odd.id().starts_with("cs-"), "{}", odd.id());
        assert!(systems.by_id(&odd.id()).is_some());
        let resource = r22.resource("2026-01-15T10:00:00Z");
        assert_eq!(resource["content"], "fragment");
        assert_eq!(resource["concept"][0]["display"], "Activité de soin");
    }
}
