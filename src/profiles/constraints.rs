//! The constraint files of `profiles/` as the validator reads them: the resource profiles, the
//! datatype and extension profiles of `profiles/types/` and the datatype table
//! `profiles/datatypes.json`, compiled in and parsed once, with each profile's elements
//! indexed by id (children `X.name`, slices `X:name`).
//!
//! The keys are those of `profiles/README.md` ("What the files carry for validation"). A key
//! an element lacks means "no such constraint" (no `base`: the element's own `max` tells
//! whether it repeats), so the model reads older extractions too.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

/// The resource profiles (as-dp), one per file, as `(file text)`.
const RESOURCE_FILES: &[&str] = &[
    include_str!("../../profiles/as-dp-practitioner.json"),
    include_str!("../../profiles/as-dp-practitionerrole.json"),
    include_str!("../../profiles/as-dp-organization.json"),
    include_str!("../../profiles/as-dp-healthcareservice-healthcare-activity.json"),
    include_str!("../../profiles/as-dp-healthcareservice-social-equipment.json"),
    include_str!("../../profiles/as-dp-device.json"),
];

/// The datatype and extension profiles the resource profiles use (`profiles/types/`).
const TYPE_FILES: &[&str] = &[
    include_str!("../../profiles/types/as-address-extended.json"),
    include_str!("../../profiles/types/as-codeableconcept-timed.json"),
    include_str!("../../profiles/types/as-ext-authorization.json"),
    include_str!("../../profiles/types/as-ext-codeableconcept-timed-metadata.json"),
    include_str!("../../profiles/types/as-ext-data-trace.json"),
    include_str!("../../profiles/types/as-ext-digital-certificate.json"),
    include_str!("../../profiles/types/as-ext-education-level.json"),
    include_str!("../../profiles/types/as-ext-installation.json"),
    include_str!("../../profiles/types/as-ext-lieu-dit.json"),
    include_str!("../../profiles/types/as-ext-mailbox-mss-metadata.json"),
    include_str!("../../profiles/types/as-ext-organization-authorization-deadline.json"),
    include_str!("../../profiles/types/as-ext-organization-budget-type.json"),
    include_str!("../../profiles/types/as-ext-organization-closing-type.json"),
    include_str!("../../profiles/types/as-ext-organization-pharmacy-licence.json"),
    include_str!("../../profiles/types/as-ext-organization-pricing-model.json"),
    include_str!("../../profiles/types/as-ext-organization-types.json"),
    include_str!("../../profiles/types/as-ext-patient-type.json"),
    include_str!("../../profiles/types/as-ext-practitioner-authorization.json"),
    include_str!("../../profiles/types/as-ext-practitionerrole-contracted.json"),
    include_str!("../../profiles/types/as-ext-practitionerrole-hascas.json"),
    include_str!("../../profiles/types/as-ext-practitionerrole-vitale-accepted.json"),
    include_str!("../../profiles/types/as-ext-registration.json"),
    include_str!("../../profiles/types/as-ext-smartcard.json"),
    include_str!("../../profiles/types/as-ext-supported-capacity.json"),
    include_str!("../../profiles/types/as-mailbox-mss.json"),
];

/// `profiles/datatypes.json`: children of the complex datatypes, JSON kind and regular
/// expression of the primitives.
// TEMPORARY until package A's datatypes.json lands: include_str!("../../profiles/datatypes.json")
const DATATYPES: &str = r#"{"complex": {}, "primitives": {}, "valueSets": {}}"#;

/// Fixed (equality) or pattern (containment): R4 profiling, `fixed[x]` / `pattern[x]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    Fixed,
    Pattern,
}

/// A `fixed[x]` / `pattern[x]` of an element: its kind, the datatype of `[x]`, the value.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub kind: ConstraintKind,
    pub datatype: String,
    pub value: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Discriminator {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Slicing {
    #[serde(default)]
    pub discriminator: Vec<Discriminator>,
    #[serde(default = "open")]
    pub rules: String,
}

fn open() -> String {
    "open".to_owned()
}

/// One `type` entry of an element.
#[derive(Debug, Clone, Deserialize)]
pub struct TypeRef {
    pub code: String,
    #[serde(default)]
    pub profile: Vec<String>,
    /// The resource types the target profiles profile (README: `targetTypes`).
    #[serde(default, rename = "targetTypes")]
    pub target_types: Vec<String>,
    /// The FHIR type a `http://hl7.org/fhirpath/System.String` code stands for (`id`, `uri`).
    #[serde(rename = "fhirType")]
    pub fhir_type: Option<String>,
}

impl TypeRef {
    /// The FHIR type code (`fhirType` for a FHIRPath system type).
    pub fn fhir_code(&self) -> &str {
        self.fhir_type.as_deref().unwrap_or(&self.code)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Binding {
    pub strength: String,
    #[serde(rename = "valueSet")]
    pub value_set: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Base {
    max: String,
}

/// One element of a profile's snapshot.
#[derive(Debug, Clone)]
pub struct Element {
    pub id: String,
    pub path: String,
    pub min: u64,
    /// `None`: unbounded (`*`).
    pub max: Option<u64>,
    /// The element repeats in the core definition (`base.max != "1"`): a JSON array, and an
    /// index in `expression`.
    pub repeats: bool,
    pub constraints: Vec<Constraint>,
    pub slicing: Option<Slicing>,
    pub types: Vec<TypeRef>,
    pub extension_url: Option<String>,
    pub binding: Option<Binding>,
}

impl Element {
    /// The last step of the path (`value[x]`, `identifier`).
    pub fn name(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }

    /// `max` as the file writes it.
    pub fn max_text(&self) -> String {
        self.max.map_or_else(|| "*".to_owned(), |m| m.to_string())
    }

    /// A required binding's value set.
    pub fn required_value_set(&self) -> Option<&str> {
        let binding = self.binding.as_ref()?;
        (binding.strength == "required")
            .then_some(binding.value_set.as_deref())
            .flatten()
    }
}

#[derive(Deserialize)]
struct ElementFile {
    id: String,
    path: String,
    #[serde(default)]
    min: u64,
    #[serde(default = "star")]
    max: String,
    base: Option<Base>,
    slicing: Option<Slicing>,
    #[serde(default, rename = "type")]
    types: Vec<TypeRef>,
    #[serde(rename = "extensionUrl")]
    extension_url: Option<String>,
    binding: Option<Binding>,
    /// `fixed*` / `pattern*`.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

fn star() -> String {
    "*".to_owned()
}

impl ElementFile {
    fn into_element(self) -> Element {
        let constraints = self
            .rest
            .into_iter()
            .filter_map(|(key, value)| {
                let (kind, datatype) = if let Some(t) = key.strip_prefix("fixed") {
                    (ConstraintKind::Fixed, t)
                } else {
                    (ConstraintKind::Pattern, key.strip_prefix("pattern")?)
                };
                (!datatype.is_empty()).then(|| Constraint {
                    kind,
                    datatype: datatype.to_owned(),
                    value,
                })
            })
            .collect();
        let max = self.max.parse().ok();
        let repeats = self.base.map_or(self.max != "1", |b| b.max != "1");
        Element {
            id: self.id,
            path: self.path,
            min: self.min,
            max,
            repeats,
            constraints,
            slicing: self.slicing,
            types: self.types,
            extension_url: self.extension_url,
            binding: self.binding,
        }
    }
}

/// What the files tell of a value set: its code systems and, when known, its exact codes
/// (per system).
#[derive(Debug, Clone, Deserialize)]
pub struct ValueSet {
    #[serde(default)]
    pub systems: Vec<String>,
    pub codes: Option<HashMap<String, Vec<String>>>,
}

/// Where an extension may be used (`StructureDefinition.context`).
#[derive(Debug, Clone, Deserialize)]
pub struct Context {
    #[serde(rename = "type")]
    pub kind: String,
    pub expression: String,
}

#[derive(Deserialize)]
struct ProfileFile {
    url: String,
    version: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(rename = "baseDefinition")]
    base_definition: Option<String>,
    elements: Vec<ElementFile>,
    #[serde(default, rename = "valueSets")]
    value_sets: HashMap<String, ValueSet>,
    #[serde(default)]
    context: Vec<Context>,
}

/// One constraint file, indexed.
#[derive(Debug)]
pub struct Profile {
    pub url: String,
    pub version: String,
    /// The type it profiles (`Practitioner`, `Extension`, `Address`).
    pub rtype: String,
    pub base_definition: Option<String>,
    pub elements: Vec<Element>,
    pub value_sets: HashMap<String, ValueSet>,
    pub context: Vec<Context>,
    by_id: HashMap<String, usize>,
    children: HashMap<usize, Vec<usize>>,
    slices: HashMap<usize, Vec<usize>>,
}

impl Profile {
    fn parse(text: &str) -> Profile {
        let file: ProfileFile = serde_json::from_str(text).expect("profiles/ files are valid");
        let elements: Vec<Element> = file
            .elements
            .into_iter()
            .map(ElementFile::into_element)
            .collect();
        let by_id: HashMap<String, usize> = elements
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut slices: HashMap<usize, Vec<usize>> = HashMap::new();
        for (index, element) in elements.iter().enumerate() {
            let (head, separator, last) = split_id(&element.id);
            let Some(&parent) = by_id.get(head) else {
                continue;
            };
            match separator {
                '.' => children.entry(parent).or_default().push(index),
                ':' if !last.contains('/') => slices.entry(parent).or_default().push(index),
                _ => {}
            }
        }
        Profile {
            url: file.url,
            version: file.version,
            rtype: file.rtype,
            base_definition: file.base_definition,
            elements,
            value_sets: file.value_sets,
            context: file.context,
            by_id,
            children,
            slices,
        }
    }

    /// `url|version`.
    pub fn canonical(&self) -> String {
        format!("{}|{}", self.url, self.version)
    }

    /// The root element (the resource or the datatype itself).
    pub fn root(&self) -> &Element {
        &self.elements[0]
    }

    pub fn element(&self, id: &str) -> Option<&Element> {
        self.by_id.get(id).map(|&i| &self.elements[i])
    }

    fn index_of(&self, element: &Element) -> Option<usize> {
        self.by_id.get(&element.id).copied()
    }

    /// The element's direct children (`X.name`), in snapshot order.
    pub fn children(&self, element: &Element) -> Vec<&Element> {
        self.related(&self.children, element)
    }

    /// The element's slices (`X:name`), in snapshot order.
    pub fn slices(&self, element: &Element) -> Vec<&Element> {
        self.related(&self.slices, element)
    }

    fn related(&self, map: &HashMap<usize, Vec<usize>>, element: &Element) -> Vec<&Element> {
        self.index_of(element)
            .and_then(|i| map.get(&i))
            .map(|list| list.iter().map(|&i| &self.elements[i]).collect())
            .unwrap_or_default()
    }

    /// The child of `element` named `name` (`system`, `value[x]`).
    pub fn child(&self, element: &Element, name: &str) -> Option<&Element> {
        self.element(&format!("{}.{name}", element.id))
    }

    pub fn value_set(&self, canonical: &str) -> Option<&ValueSet> {
        self.value_sets.get(canonical)
    }

    /// Whether some element at or under `element` has a fixed or pattern value.
    pub fn has_descendant_constraint(&self, element: &Element) -> bool {
        let prefix = format!("{}.", element.id);
        self.elements
            .iter()
            .any(|e| (e.id == element.id || e.id.starts_with(&prefix)) && !e.constraints.is_empty())
    }
}

/// Splits an element id at its last `.` (child) or `:` (slice): (parent, separator, name).
/// A slice name never contains `.`, so the later separator wins.
fn split_id(id: &str) -> (&str, char, &str) {
    let dot = id.rfind('.');
    let colon = id.rfind(':');
    match (dot, colon) {
        (d, Some(c)) if d.is_none_or(|d| c > d) => (&id[..c], ':', &id[c + 1..]),
        (Some(d), _) => (&id[..d], '.', &id[d + 1..]),
        _ => ("", ' ', id),
    }
}

/// A child of a complex datatype in `datatypes.json`: its core cardinality, its types, and
/// the value set a required binding of FHIR core ties it to (`Identifier.use`).
#[derive(Debug, Clone, Deserialize)]
pub struct DatatypeChild {
    #[serde(default)]
    pub min: u64,
    #[serde(default = "star")]
    pub max: String,
    #[serde(default)]
    pub types: Vec<String>,
    pub binding: Option<Binding>,
}

impl DatatypeChild {
    /// A JSON array, and an index in `expression`.
    pub fn repeats(&self) -> bool {
        self.max != "1"
    }

    pub fn max_count(&self) -> Option<u64> {
        self.max.parse().ok()
    }
}

/// A primitive type in `datatypes.json`: its JSON kind (`boolean`, `number`, `string`) and
/// its R4 regular expression.
#[derive(Debug, Clone, Deserialize)]
pub struct PrimitiveFile {
    pub json: String,
    pub regex: Option<String>,
}

/// `profiles/datatypes.json`.
#[derive(Debug, Default, Deserialize)]
pub struct Datatypes {
    /// Complex datatype -> child name (`value[x]` for choices) -> definition, in file order.
    #[serde(default)]
    pub complex: HashMap<String, serde_json::Map<String, Value>>,
    #[serde(default)]
    pub primitives: HashMap<String, PrimitiveFile>,
    #[serde(default, rename = "valueSets")]
    pub value_sets: HashMap<String, ValueSet>,
}

impl Datatypes {
    /// The children of complex datatype `name`, in file order; `None` when the table does
    /// not have it.
    /// Every datatype but `Element` inherits `Element`'s children (`id`, `extension`),
    /// which the table lists under `Element` (the `base.path` of `Coding.id` is `Element.id`).
    pub fn children(&self, name: &str) -> Option<Vec<(&str, DatatypeChild)>> {
        let own = self.complex.get(name)?;
        let inherited = self
            .complex
            .get("Element")
            .filter(|_| name != "Element")
            .into_iter()
            .flatten()
            .filter(|(k, _)| !own.contains_key(*k));
        Some(
            inherited
                .chain(own)
                .filter_map(|(k, v)| Some((k.as_str(), serde_json::from_value(v.clone()).ok()?)))
                .collect(),
        )
    }
}

/// Everything the validator reads, parsed once.
pub struct Library {
    /// The as-dp resource profiles.
    pub resources: Vec<Profile>,
    /// Datatype and extension profiles by URL (no version).
    pub types: HashMap<String, Profile>,
    pub datatypes: Datatypes,
}

impl Library {
    /// The resource profile with URL `url` (no version).
    pub fn resource_profile(&self, url: &str) -> Option<&Profile> {
        self.resources.iter().find(|p| p.url == url)
    }

    /// The as-dp profiles of resource type `rtype`.
    pub fn profiles_of(&self, rtype: &str) -> Vec<&Profile> {
        self.resources.iter().filter(|p| p.rtype == rtype).collect()
    }

    /// The type or extension profile a canonical (`url` or `url|version`) names.
    pub fn type_profile(&self, canonical: &str) -> Option<&Profile> {
        self.types
            .get(canonical.split('|').next().unwrap_or(canonical))
    }

    /// URLs (no version) a resource of `rtype` may claim that have no snapshot here: the
    /// fr-core base (`meta.profile:fr-canonical`) of its as-dp profiles, and the generic ANS
    /// profile (`baseDefinition`) where the directory claims it (healthcare activities and
    /// devices without an ARHGOS number: docs/mapping.md).
    pub fn unchecked_urls(&self, rtype: &str) -> Vec<String> {
        let slice = format!("{rtype}.meta.profile:fr-canonical");
        let mut urls = Vec::new();
        for profile in self.profiles_of(rtype) {
            let fr_core = profile.element(&slice).and_then(|e| {
                e.constraints
                    .iter()
                    .find_map(|c| c.value.as_str().map(str::to_owned))
            });
            let generic = profile
                .base_definition
                .clone()
                .filter(|g| GENERIC_CLAIMS.iter().any(|n| g.contains(&format!("/{n}|"))));
            for canonical in fr_core.into_iter().chain(generic) {
                let url = canonical.split('|').next().unwrap_or_default().to_owned();
                if !urls.contains(&url) && self.resource_profile(&url).is_none() {
                    urls.push(url);
                }
            }
        }
        urls
    }
}

/// The generic ANS profiles some resources claim instead of the as-dp one (as
/// `profiles::claims` says).
const GENERIC_CLAIMS: [&str; 2] = ["as-healthcareservice-healthcare-activity", "as-device"];

pub static LIBRARY: LazyLock<Library> = LazyLock::new(|| {
    let types = TYPE_FILES
        .iter()
        .map(|text| Profile::parse(text))
        .map(|p| (p.url.clone(), p))
        .collect();
    Library {
        resources: RESOURCE_FILES.iter().map(|t| Profile::parse(t)).collect(),
        types,
        datatypes: serde_json::from_str(DATATYPES).expect("profiles/datatypes.json is valid"),
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_indexes_its_children_and_slices() {
        let library = &*LIBRARY;
        assert_eq!(library.resources.len(), 6);
        assert_eq!(library.types.len(), TYPE_FILES.len());
        let practitioner = library.profiles_of("Practitioner")[0];
        let identifier = practitioner.element("Practitioner.identifier").unwrap();
        let ids: Vec<&str> = practitioner
            .slices(identifier)
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "Practitioner.identifier:idNatPs",
                "Practitioner.identifier:rpps"
            ]
        );
        assert!(identifier.repeats);
        let source = practitioner.element("Practitioner.meta.source").unwrap();
        assert_eq!(source.constraints[0].kind, ConstraintKind::Pattern);
        assert_eq!(source.constraints[0].datatype, "Uri");
        assert!(!source.repeats);
    }

    #[test]
    fn split_id_takes_the_later_separator() {
        assert_eq!(split_id("A.b:c"), ("A.b", ':', "c"));
        assert_eq!(split_id("A.b:c.d"), ("A.b:c", '.', "d"));
        assert_eq!(split_id("A"), ("", ' ', "A"));
    }

    #[test]
    fn unchecked_urls_are_the_fr_core_and_generic_claims() {
        let urls = LIBRARY.unchecked_urls("Device");
        assert_eq!(
            urls,
            ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-device"]
        );
        assert!(
            LIBRARY
                .unchecked_urls("Practitioner")
                .iter()
                .any(|u| u.ends_with("fr-core-practitioner"))
        );
    }
}
