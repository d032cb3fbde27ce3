//! The walk of one JSON value against one profile of `profiles/`: the rules of
//! `profiles/README.md` ("Validation"), with `expression` built on the way.
//!
//! It follows the profile checker (`tests/interop/profile_check.py`) step for step where both
//! implement a rule, so that the two engines find the same `(rule, expression)` pairs:
//! occurrences of a property are read with their `_x` companions; each value is checked
//! against its element (type, fixed/pattern, required binding, reference target), then its
//! children: the snapshot's children of the element when it lists them, else the snapshot of
//! the type profile it is typed with (`profiles/types/`), else the children of its datatype
//! (`datatypes.json`). Repeating values are assigned to the first slice whose discriminators
//! match.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Map, Value};

use super::constraints::{
    Binding, Constraint, ConstraintKind, DatatypeChild, Discriminator, Element, LIBRARY, Library,
    Profile, ValueSet,
};
use super::findings::{Finding, Kind, Rule, Severity};
use super::primitives::{PrimitiveFault, is_primitive, primitive};

/// How many steps between two calls of `stop`.
const CHECK_EVERY: usize = 256;

/// One occurrence of a property in its parent object: the JSON key (`valueCode`), the value
/// and the `_key` companion of a primitive (either may be missing), and its expression.
#[derive(Clone)]
struct Occurrence<'v> {
    key: String,
    value: Option<&'v Value>,
    companion: Option<&'v Value>,
    expression: String,
    /// False for a value in the wrong JSON shape (an array for a single element, or the
    /// reverse): counted, but not walked (reported as `type` once).
    shape_ok: bool,
}

/// The paths an extension's `context` is compared with: the element path from the resource
/// (`Organization.type`), the same from each datatype on the way (`CodeableConcept`,
/// `Address.line`), and the URL of the extension it is nested in.
#[derive(Clone, Default)]
struct Place {
    paths: Vec<String>,
}

impl Place {
    fn root(rtype: &str) -> Place {
        Place {
            paths: vec![
                rtype.to_owned(),
                "Resource".to_owned(),
                "DomainResource".to_owned(),
            ],
        }
    }

    /// The place of child `name`, of type `datatype` when it is a complex one.
    fn child(&self, name: &str, datatype: Option<&str>) -> Place {
        let mut paths: Vec<String> = self
            .paths
            .iter()
            .filter(|p| !p.contains("://") && !p.is_empty())
            .map(|p| format!("{p}.{name}"))
            .collect();
        if let Some(t) = datatype {
            paths.push(t.to_owned());
        }
        Place { paths }
    }

    fn with(&self, extra: &str) -> Place {
        let mut place = self.clone();
        place.paths.push(extra.to_owned());
        place
    }

    /// Whether an extension whose `context` is `(kind, expression)` may be put here.
    fn allows(&self, kind: &str, expression: &str) -> bool {
        match kind {
            "extension" => self.paths.iter().any(|p| p == expression),
            _ => expression == "Element" || self.paths.iter().any(|p| p == expression),
        }
    }
}

/// The walker: findings, the `stop` callback, counts.
pub struct Walker<'s> {
    library: &'static Library,
    stop: &'s dyn Fn() -> bool,
    steps: usize,
    pub stopped: bool,
    pub findings: Vec<Finding>,
    /// Required bindings decided by code system only (no codes here: NOS JDV_*).
    pub by_system_only: usize,
}

impl<'s> Walker<'s> {
    pub fn new(stop: &'s dyn Fn() -> bool) -> Walker<'s> {
        Walker {
            library: &LIBRARY,
            stop,
            steps: 0,
            stopped: false,
            findings: Vec::new(),
            by_system_only: 0,
        }
    }

    /// Walks `resource` against resource profile `profile`.
    pub fn resource(&mut self, profile: &'static Profile, resource: &Value) {
        let occurrence = Occurrence {
            key: profile.rtype.clone(),
            value: Some(resource),
            companion: None,
            expression: profile.rtype.clone(),
            shape_ok: true,
        };
        self.element_value(
            profile,
            profile.root(),
            &occurrence,
            &Place::root(&profile.rtype),
            true,
        );
    }

    /// Counts a step; true when the walk must end.
    fn tick(&mut self) -> bool {
        self.steps += 1;
        if !self.stopped && self.steps.is_multiple_of(CHECK_EVERY) && (self.stop)() {
            self.stopped = true;
        }
        self.stopped
    }

    fn report(
        &mut self,
        rule: Rule,
        expression: &str,
        element: &str,
        profile: Option<&Profile>,
        message: String,
    ) {
        self.findings.push(Finding {
            severity: Severity::Error,
            rule,
            expression: expression.to_owned(),
            element: element.to_owned(),
            profile: profile.map(Profile::canonical).unwrap_or_default(),
            message,
        });
    }

    // -- elements of a profile ------------------------------------------------------------

    /// One value of `element` (a profile element): its type, fixed/pattern, binding,
    /// reference target, then its children.
    fn element_value(
        &mut self,
        profile: &'static Profile,
        element: &'static Element,
        at: &Occurrence,
        place: &Place,
        root: bool,
    ) {
        if self.tick() || !at.shape_ok || self.empty(at, &element.id, Some(profile)) {
            return;
        }
        let Some(code) = self.chosen_type(profile, element, at) else {
            return;
        };
        self.check_constraints(profile, element, at);
        if let Some(value) = at.value {
            self.check_binding(
                profile,
                element.required_value_set(),
                &element.id,
                value,
                &at.expression,
            );
        }
        let children = profile.children(element);
        if code.as_deref().is_some_and(is_primitive) {
            let code = code.unwrap_or_default();
            self.primitive_value(Some(profile), &element.id, &code, at);
            if let Some(companion) = at.companion {
                if children.is_empty() {
                    self.element_object(companion, &at.expression, place);
                } else if let Some(object) = self.object(companion, &at.expression, &element.id) {
                    self.children_in_profile(profile, &children, object, at, place, false);
                }
            }
            return;
        }
        let Some(value) = at.value else {
            return;
        };
        let Some(object) = self.object(value, &at.expression, &element.id) else {
            return;
        };
        let datatype = code.clone().unwrap_or_else(|| profile.rtype.clone());
        self.complex_checks(object, &datatype, Some((profile, element)), at);
        if !children.is_empty() {
            self.children_in_profile(profile, &children, object, at, place, root);
            return;
        }
        if let Some(type_profile) = self.type_profile_of(element) {
            let root_element = type_profile.root();
            self.element_value(type_profile, root_element, at, place, false);
            return;
        }
        self.children_in_datatype(&datatype, object, &at.expression, place);
    }

    /// The type code of a value of `element` (`None` for a root, which has none), after
    /// checking a choice's suffix; `Err`-like `None` in the outer option when the suffix is
    /// not allowed (reported).
    fn chosen_type(
        &mut self,
        profile: &Profile,
        element: &Element,
        at: &Occurrence,
    ) -> Option<Option<String>> {
        let codes: Vec<&str> = element.types.iter().map(|t| t.fhir_code()).collect();
        let name = element.name();
        let Some(stem) = name.strip_suffix("[x]") else {
            return Some(codes.first().map(|c| (*c).to_owned()));
        };
        let suffix = &at.key[stem.len().min(at.key.len())..];
        match codes.iter().find(|c| upper_first(c) == suffix) {
            Some(code) => Some(Some((*code).to_owned())),
            None => {
                self.report(
                    Rule::Type,
                    &at.expression,
                    &element.id,
                    Some(profile),
                    format!("type {suffix} is not allowed here ({})", codes.join(", ")),
                );
                None
            }
        }
    }

    /// fixed[x] (equality) and pattern[x] (containment), after the type they are given for.
    fn check_constraints(&mut self, profile: &Profile, element: &Element, at: &Occurrence) {
        let Some(value) = at.value else {
            return;
        };
        let stem = element.name().strip_suffix("[x]");
        for constraint in &element.constraints {
            if let Some(stem) = stem {
                let chosen = &at.key[stem.len().min(at.key.len())..];
                if chosen != constraint.datatype {
                    let message =
                        format!("must be of type {}, found {}", constraint.datatype, at.key);
                    self.report(
                        Rule::Type,
                        &at.expression,
                        &element.id,
                        Some(profile),
                        message,
                    );
                    continue;
                }
            }
            if !matches_constraint(constraint, value) {
                let (rule, verb) = match constraint.kind {
                    ConstraintKind::Fixed => (Rule::Fixed, "must equal"),
                    ConstraintKind::Pattern => (Rule::Pattern, "must contain the pattern"),
                };
                self.report(
                    rule,
                    &at.expression,
                    &element.id,
                    Some(profile),
                    format!(
                        "{verb} {}, found {}",
                        short(&constraint.value),
                        short(value)
                    ),
                );
            }
        }
    }

    /// The type or extension profile of `profiles/types/` an element is typed with.
    fn type_profile_of(&self, element: &Element) -> Option<&'static Profile> {
        element
            .types
            .iter()
            .flat_map(|t| &t.profile)
            .find_map(|canonical| self.library.type_profile(canonical))
    }

    /// The children of a profile element, in one object: unknown properties, then each
    /// child's occurrences (shape, cardinality, values, slices).
    fn children_in_profile(
        &mut self,
        profile: &'static Profile,
        children: &[&'static Element],
        object: &Map<String, Value>,
        at: &Occurrence,
        place: &Place,
        root: bool,
    ) {
        let names: Vec<(&str, Vec<String>)> = children
            .iter()
            .map(|c| {
                let types = c.types.iter().map(|t| t.fhir_code().to_owned()).collect();
                (c.name(), types)
            })
            .collect();
        self.unknown_properties(object, &names, &at.expression, root);
        self.extension_contexts(object, &at.expression, place);
        for child in children {
            let occurrences = self.occurrences(
                object,
                child.name(),
                child.repeats,
                &at.expression,
                &child.id,
            );
            self.cardinality(profile, child, &occurrences, &at.expression);
            let child_place = place.child(stem_of(child.name()), complex_code(child));
            for occurrence in &occurrences {
                let place = extension_place(&child_place, occurrence);
                self.element_value(profile, child, occurrence, &place, false);
            }
            if !profile.slices(child).is_empty() {
                self.slicing(profile, child, &occurrences, &at.expression, &child_place);
            }
        }
    }

    /// Too few or too many occurrences of `element` (an element or a slice).
    fn cardinality(
        &mut self,
        profile: &Profile,
        element: &Element,
        occurrences: &[Occurrence],
        parent: &str,
    ) {
        let count = occurrences.len() as u64;
        if count < element.min {
            self.report(
                Rule::Min,
                parent,
                &element.id,
                Some(profile),
                format!("minimum {} required, found {count}", element.min),
            );
        }
        if let Some(max) = element.max.filter(|m| count > *m) {
            let first_past = &occurrences[max as usize];
            self.report(
                Rule::Max,
                &first_past.expression,
                &element.id,
                Some(profile),
                format!("maximum {} allowed, found {count}", element.max_text()),
            );
        }
    }

    // -- slicing --------------------------------------------------------------------------

    /// Slice cardinalities, the slices' own constraints on the values they take, and the
    /// closed rule.
    fn slicing(
        &mut self,
        profile: &'static Profile,
        element: &'static Element,
        occurrences: &[Occurrence],
        parent: &str,
        place: &Place,
    ) {
        let slices = profile.slices(element);
        let discriminators = discriminators_of(element);
        let criteria: Vec<Vec<Option<Arc<Criterion>>>> = slices
            .iter()
            .map(|s| {
                discriminators
                    .iter()
                    .map(|d| criterion(profile, s, d))
                    .collect()
            })
            .collect();
        let decidable: Vec<bool> = criteria
            .iter()
            .map(|cs| !cs.is_empty() && cs.iter().all(Option::is_some))
            .collect();
        let mut assigned: Vec<Vec<&Occurrence>> = vec![Vec::new(); slices.len()];
        let mut unmatched = Vec::new();
        for occurrence in occurrences {
            let view = primitive_view(occurrence.value, occurrence.companion);
            let target = (0..slices.len()).find(|&i| {
                decidable[i]
                    && criteria[i].iter().zip(&discriminators).all(|(c, d)| {
                        c.as_ref()
                            .is_some_and(|c| c.holds(&path_values(&view, &d.path)))
                    })
            });
            match target {
                Some(i) => assigned[i].push(occurrence),
                None => unmatched.push(occurrence),
            }
        }
        for (i, slice) in slices.iter().enumerate() {
            if !decidable[i] {
                continue; // no way to tell which values are its own
            }
            let items: Vec<Occurrence> = assigned[i].iter().map(|o| (*o).clone()).collect();
            self.cardinality(profile, slice, &items, parent);
            for occurrence in &items {
                let place = extension_place(place, occurrence);
                self.element_value(profile, slice, occurrence, &place, false);
            }
        }
        let closed = element
            .slicing
            .as_ref()
            .is_some_and(|s| s.rules == "closed");
        if closed && decidable.iter().all(|d| *d) {
            for occurrence in unmatched {
                let value = primitive_view(occurrence.value, occurrence.companion);
                self.report(
                    Rule::Closed,
                    &occurrence.expression,
                    &element.id,
                    Some(profile),
                    format!("closed slicing: matches no slice: {}", short(&value)),
                );
            }
        }
    }

    // -- datatypes (datatypes.json) -------------------------------------------------------

    /// The children of a complex datatype the profiles do not expand, from `datatypes.json`.
    fn children_in_datatype(
        &mut self,
        datatype: &str,
        object: &Map<String, Value>,
        expression: &str,
        place: &Place,
    ) {
        let Some(children) = self.library.datatypes.children(datatype) else {
            return; // a type the table does not have: its content is not checked
        };
        let names: Vec<(&str, Vec<String>)> = children
            .iter()
            .map(|(name, c)| (*name, c.types.clone()))
            .collect();
        self.unknown_properties(object, &names, expression, false);
        self.extension_contexts(object, expression, place);
        let element_id = datatype.to_owned();
        for (name, child) in &children {
            let id = format!("{element_id}.{name}");
            let occurrences = self.occurrences(object, name, child.repeats(), expression, &id);
            self.datatype_cardinality(&id, child, &occurrences, expression);
            let single = (child.types.len() == 1).then(|| child.types[0].as_str());
            let child_place = place.child(stem_of(name), single.filter(|t| !is_primitive(t)));
            for occurrence in &occurrences {
                let place = extension_place(&child_place, occurrence);
                self.datatype_value(&id, name, child, occurrence, &place);
            }
        }
    }

    fn datatype_cardinality(
        &mut self,
        id: &str,
        child: &DatatypeChild,
        occurrences: &[Occurrence],
        parent: &str,
    ) {
        let count = occurrences.len() as u64;
        if count < child.min {
            let message = format!("minimum {} required, found {count}", child.min);
            self.report(Rule::Min, parent, id, None, message);
        }
        if let Some(max) = child.max_count().filter(|m| count > *m) {
            let message = format!("maximum {} allowed, found {count}", child.max);
            let at = occurrences[max as usize].expression.clone();
            self.report(Rule::Max, &at, id, None, message);
        }
    }

    /// One value of a datatype's child.
    fn datatype_value(
        &mut self,
        id: &str,
        name: &str,
        child: &DatatypeChild,
        at: &Occurrence,
        place: &Place,
    ) {
        if self.tick() || !at.shape_ok || self.empty(at, id, None) {
            return;
        }
        let code = match name.strip_suffix("[x]") {
            Some(stem) => {
                let suffix = &at.key[stem.len().min(at.key.len())..];
                match child.types.iter().find(|t| upper_first(t) == suffix) {
                    Some(t) => t.clone(),
                    None if child.types.is_empty() => lower_first(suffix),
                    None => {
                        let message = format!(
                            "type {suffix} is not allowed here ({})",
                            child.types.join(", ")
                        );
                        self.report(Rule::Type, &at.expression, id, None, message);
                        return;
                    }
                }
            }
            None => child.types.first().cloned().unwrap_or_default(),
        };
        if let Some(value) = at.value {
            let binding = child.binding.as_ref().and_then(required_value_set);
            self.check_binding_in(
                &self.library.datatypes.value_sets,
                None,
                binding,
                id,
                value,
                &at.expression,
            );
        }
        if is_primitive(&code) {
            self.primitive_value(None, id, &code, at);
            if let Some(companion) = at.companion {
                self.element_object(companion, &at.expression, place);
            }
            return;
        }
        let Some(value) = at.value else {
            return;
        };
        let Some(object) = self.object(value, &at.expression, id) else {
            return;
        };
        self.complex_checks(object, &code, None, at);
        self.children_in_datatype(&code, object, &at.expression, place);
    }

    /// A primitive's companion (`_x`): its `id` and `extension`, as `Element` has them.
    fn element_object(&mut self, companion: &Value, expression: &str, place: &Place) {
        if let Some(object) = self.object(companion, expression, "Element") {
            self.children_in_datatype("Element", object, expression, place);
        }
    }

    // -- checks on one value --------------------------------------------------------------

    /// ele-1, structurally, before anything else: a value (or a primitive's companion) that
    /// is null, an empty string, object or array has no value; nothing more is said of it.
    fn empty(&mut self, at: &Occurrence, id: &str, profile: Option<&Profile>) -> bool {
        let hollow = |v: &Value| match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        let empty = match (at.value, at.companion) {
            (None, None) => true,
            (Some(v), None) => hollow(v),
            (value, Some(c)) => value.is_some_and(|v| hollow(v) && !v.is_null()) || hollow(c),
        };
        if empty {
            let message = "ele-1: a value must not be empty or null".to_owned();
            self.report(Rule::Invariant, &at.expression, id, profile, message);
        }
        empty
    }

    /// A value that must be an object: reports `type` when it is not, `invariant` (ele-1)
    /// when it is empty.
    fn object<'v>(
        &mut self,
        value: &'v Value,
        expression: &str,
        id: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(object) if object.is_empty() => {
                let message = "ele-1: an empty object has no value and no children".to_owned();
                self.report(Rule::Invariant, expression, id, None, message);
                None
            }
            Value::Object(object) => Some(object),
            Value::Null => {
                self.report(
                    Rule::Invariant,
                    expression,
                    id,
                    None,
                    "ele-1: null".to_owned(),
                );
                None
            }
            other => {
                let message = format!("an object expected, found {}", short(other));
                self.report(Rule::Type, expression, id, None, message);
                None
            }
        }
    }

    /// A primitive value: not null or empty (ele-1), not an object or array (type), of its
    /// type's JSON kind and lexical form (format).
    fn primitive_value(
        &mut self,
        profile: Option<&Profile>,
        id: &str,
        code: &str,
        at: &Occurrence,
    ) {
        let Some(value) = at.value else {
            return;
        };
        match value {
            Value::Null => {
                let message = "ele-1: null is not a value".to_owned();
                self.report(Rule::Invariant, &at.expression, id, profile, message);
            }
            Value::String(s) if s.is_empty() => {
                let message = "ele-1: an empty string is not a value".to_owned();
                self.report(Rule::Invariant, &at.expression, id, profile, message);
            }
            Value::Object(_) | Value::Array(_) => {
                let message = format!("a primitive ({code}) expected, found {}", short(value));
                self.report(Rule::Type, &at.expression, id, profile, message);
            }
            _ => {
                let Some(primitive) = primitive(code) else {
                    return;
                };
                let message = match primitive.check(value) {
                    Ok(()) => return,
                    Err(PrimitiveFault::Kind(kind)) => {
                        format!(
                            "{code}: a JSON {} expected, found {}",
                            kind_name(kind),
                            short(value)
                        )
                    }
                    Err(PrimitiveFault::Lexical) => {
                        format!("{code}: {} is not a valid {code}", short(value))
                    }
                };
                self.report(Rule::Format, &at.expression, id, profile, message);
            }
        }
    }

    /// Checks of a complex value by its type: ext-1 for an Extension, the literal reference
    /// of a Reference (form, then target type when the element names its targets).
    fn complex_checks(
        &mut self,
        object: &Map<String, Value>,
        datatype: &str,
        element: Option<(&Profile, &Element)>,
        at: &Occurrence,
    ) {
        let id = element.map(|(_, e)| e.id.as_str()).unwrap_or(datatype);
        let profile = element.map(|(p, _)| p);
        match datatype {
            "Extension" => {
                let has_value = object.keys().any(|k| {
                    let k = k.trim_start_matches('_');
                    k.starts_with("value") && k[5..].starts_with(|c: char| c.is_ascii_uppercase())
                });
                let has_extension = object.contains_key("extension");
                if has_value == has_extension {
                    let message = if has_value {
                        "ext-1: an extension has a value or extensions, not both"
                    } else {
                        "ext-1: an extension needs a value or extensions"
                    };
                    self.report(
                        Rule::Invariant,
                        &at.expression,
                        id,
                        profile,
                        message.to_owned(),
                    );
                }
            }
            "Reference" => {
                let Some(Value::String(reference)) = object.get("reference") else {
                    return;
                };
                let targets: Vec<&str> = element
                    .map(|(_, e)| {
                        e.types
                            .iter()
                            .flat_map(|t| &t.target_types)
                            .map(String::as_str)
                            .collect()
                    })
                    .unwrap_or_default();
                self.check_reference(reference, &targets, id, profile, &at.expression);
            }
            _ => {}
        }
    }

    fn check_reference(
        &mut self,
        reference: &str,
        targets: &[&str],
        id: &str,
        profile: Option<&Profile>,
        expression: &str,
    ) {
        if reference.is_empty() {
            return; // ele-1 reports an empty value, and nothing else is said of it
        }
        match reference_type(reference) {
            ReferenceForm::Invalid => {
                let message = format!(
                    "{} is neither Type/id, an absolute URL nor #id",
                    short(&Value::String(reference.to_owned()))
                );
                let at = format!("{expression}.reference");
                self.report(Rule::Format, &at, id, profile, message);
            }
            ReferenceForm::Typed(rtype) if !targets.is_empty() && !targets.contains(&rtype) => {
                let message = format!(
                    "a reference to {rtype}, where only {} may be referenced",
                    targets.join(", ")
                );
                self.report(Rule::Reference, expression, id, profile, message);
            }
            _ => {}
        }
    }

    fn check_binding(
        &mut self,
        profile: &Profile,
        value_set: Option<&str>,
        id: &str,
        value: &Value,
        expression: &str,
    ) {
        self.check_binding_in(
            &profile.value_sets,
            Some(profile),
            value_set,
            id,
            value,
            expression,
        );
    }

    /// A required binding: the code in the value set's codes when they are known, else the
    /// coding's system among its systems (counted: checked by system only).
    fn check_binding_in(
        &mut self,
        value_sets: &HashMap<String, ValueSet>,
        profile: Option<&Profile>,
        value_set: Option<&str>,
        id: &str,
        value: &Value,
        expression: &str,
    ) {
        let Some(canonical) = value_set else {
            return;
        };
        let Some(set) = value_sets.get(canonical) else {
            return;
        };
        let verdict = match membership(set, value) {
            Membership::Undecided => return,
            Membership::BySystem(ok) => {
                self.by_system_only += 1;
                ok
            }
            Membership::ByCode(ok) => ok,
        };
        if !verdict {
            let message = format!(
                "not in the required value set {canonical}: {}",
                short(value)
            );
            self.report(Rule::Binding, expression, id, profile, message);
        }
    }

    // -- properties of an object ----------------------------------------------------------

    /// Properties the definition does not have (`names`: each child's name, `value[x]` for a
    /// choice, with its types); `_x` companions of known children; `resourceType` at the root.
    fn unknown_properties(
        &mut self,
        object: &Map<String, Value>,
        names: &[(&str, Vec<String>)],
        expression: &str,
        root: bool,
    ) {
        for (key, value) in object {
            let bare = key.strip_prefix('_').unwrap_or(key);
            if (root && key == "resourceType") || names.iter().any(|(n, _)| key_matches(n, bare)) {
                continue;
            }
            let at = format!("{expression}.{bare}");
            let message = format!("unknown element {key}");
            match value {
                Value::Array(items) => {
                    for i in 0..items.len() {
                        self.report(
                            Rule::Unknown,
                            &format!("{at}[{i}]"),
                            "",
                            None,
                            message.clone(),
                        );
                    }
                }
                _ => self.report(Rule::Unknown, &at, "", None, message),
            }
        }
    }

    /// The occurrences of child `name` (`value[x]` matching any `value<Type>` key) in
    /// `object`, with their `_key` companions, after checking the JSON shape: an array for a
    /// repeating element, a single value otherwise (`type`; the values of a wrong shape are
    /// not walked).
    fn occurrences<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        name: &str,
        repeats: bool,
        parent: &str,
        id: &str,
    ) -> Vec<Occurrence<'v>> {
        let keys = keys_of(object, name);
        let stem = stem_of(name);
        let at = format!("{parent}.{stem}");
        let mut out = Vec::new();
        for key in keys {
            let items = object.get(&key);
            let companions = object.get(&format!("_{key}"));
            let arrays = [items, companions].map(|v| v.map(Value::is_array));
            if arrays.iter().flatten().any(|is_array| *is_array != repeats) {
                let message = if repeats {
                    format!("{key}: an array expected (the element repeats)")
                } else {
                    format!("{key}: a single value expected, found an array")
                };
                self.report(Rule::Type, &at, id, None, message);
                // Counted as the values they hold (profile_check's child_values), not walked.
                let count = as_slice(items).len().max(as_slice(companions).len());
                for i in 0..count {
                    out.push(Occurrence {
                        key: key.clone(),
                        value: as_slice(items).get(i),
                        companion: as_slice(companions).get(i),
                        expression: if repeats {
                            format!("{at}[{i}]")
                        } else {
                            at.clone()
                        },
                        shape_ok: false,
                    });
                }
                continue;
            }
            if !repeats {
                out.push(Occurrence {
                    key,
                    value: items,
                    companion: companions,
                    expression: at.clone(),
                    shape_ok: true,
                });
                continue;
            }
            let items = items
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let companions = companions
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if items.is_empty() && companions.is_empty() {
                let message = "ele-1: an empty array is not a value".to_owned();
                self.report(Rule::Invariant, &at, id, None, message);
                continue;
            }
            for i in 0..items.len().max(companions.len()) {
                out.push(Occurrence {
                    key: key.clone(),
                    value: items
                        .get(i)
                        .filter(|v| !v.is_null() || companions.get(i).is_none()),
                    companion: companions.get(i).filter(|c| !c.is_null()),
                    expression: format!("{at}[{i}]"),
                    shape_ok: true,
                });
            }
        }
        out
    }

    /// Extensions of this directory (`profiles/types/`) used where their `context` does not
    /// allow them.
    fn extension_contexts(&mut self, object: &Map<String, Value>, expression: &str, place: &Place) {
        for key in ["extension", "modifierExtension"] {
            let Some(Value::Array(items)) = object.get(key) else {
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let Some(url) = item.get("url").and_then(Value::as_str) else {
                    continue;
                };
                let Some(definition) = self.library.type_profile(url) else {
                    continue;
                };
                if definition.context.is_empty()
                    || definition
                        .context
                        .iter()
                        .any(|c| place.allows(&c.kind, &c.expression))
                {
                    continue;
                }
                let allowed: Vec<&str> = definition
                    .context
                    .iter()
                    .map(|c| c.expression.as_str())
                    .collect();
                let message = format!("{url} may be used on {} only", allowed.join(", "));
                let at = format!("{expression}.{key}[{i}]");
                self.report(Rule::ExtensionContext, &at, "", Some(definition), message);
            }
        }
    }
}

/// `value[x]` -> `value`; other names unchanged.
fn stem_of(name: &str) -> &str {
    name.strip_suffix("[x]").unwrap_or(name)
}

/// The complex datatype of an element with one type (for extension contexts).
fn complex_code(element: &Element) -> Option<&str> {
    match element.types.as_slice() {
        [one] if !is_primitive(one.fhir_code()) => Some(one.fhir_code()),
        _ => None,
    }
}

/// Inside an extension, the place also names that extension's URL (context type
/// `extension`).
fn extension_place(place: &Place, occurrence: &Occurrence) -> Place {
    match occurrence
        .value
        .and_then(|v| v.get("url"))
        .and_then(Value::as_str)
    {
        Some(url) if occurrence.key == "extension" || occurrence.key == "modifierExtension" => {
            place.with(url)
        }
        _ => place.clone(),
    }
}

fn required_value_set(binding: &Binding) -> Option<&str> {
    (binding.strength == "required")
        .then_some(binding.value_set.as_deref())
        .flatten()
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Boolean => "boolean",
        Kind::Number => "number",
        Kind::String => "string",
        Kind::Object => "object",
    }
}

/// Whether JSON key `key` (without `_`) is child `name`: equal, or for a choice `value[x]`
/// the stem followed by an upper-case type name.
pub(super) fn key_matches(name: &str, key: &str) -> bool {
    match name.strip_suffix("[x]") {
        Some(stem) => key
            .strip_prefix(stem)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())),
        None => key == name,
    }
}

/// The JSON keys (without `_`) of `object` that are child `name`, sorted.
fn keys_of(object: &Map<String, Value>, name: &str) -> Vec<String> {
    let mut keys: Vec<String> = object
        .keys()
        .map(|k| k.strip_prefix('_').unwrap_or(k))
        .filter(|k| key_matches(name, k))
        .map(str::to_owned)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// What a value's children are read from: a complex value itself; for a primitive, its
/// companion's `id`/`extension` plus the primitive as `value` (profile_check.primitive_view).
fn primitive_view(value: Option<&Value>, companion: Option<&Value>) -> Value {
    match (value, companion) {
        (Some(v), _) if v.is_object() => v.clone(),
        (Some(v), None) => v.clone(),
        (value, companion) => {
            let mut view = companion
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(v) = value {
                view.insert("value".to_owned(), v.clone());
            }
            Value::Object(view)
        }
    }
}

/// The occurrences of property `name` of a value (for discriminator paths).
fn child_views(value: &Value, name: &str) -> Vec<Value> {
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in keys_of(object, name) {
        let items = object.get(&key);
        let companions = object.get(&format!("_{key}"));
        if items.is_some_and(Value::is_array) || companions.is_some_and(Value::is_array) {
            let items = as_slice(items);
            let companions = as_slice(companions);
            for i in 0..items.len().max(companions.len()) {
                out.push(primitive_view(items.get(i), companions.get(i)));
            }
        } else {
            out.push(primitive_view(items, companions));
        }
    }
    out
}

fn as_slice(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        Some(one) => std::slice::from_ref(one),
        None => &[],
    }
}

/// Values at a discriminator path (dotted, `$this`, `extension('url')` steps).
fn path_values(value: &Value, path: &str) -> Vec<Value> {
    let mut values = vec![value.clone()];
    for step in split_path(path) {
        let mut out = Vec::new();
        for v in &values {
            if let Some(url) = extension_step(&step) {
                out.extend(
                    as_slice(v.get("extension"))
                        .iter()
                        .filter(|e| e.get("url").and_then(Value::as_str) == Some(url))
                        .cloned(),
                );
            } else {
                out.extend(child_views(v, &step));
            }
        }
        values = out;
    }
    values
}

/// `extension('url')` -> `url`.
fn extension_step(step: &str) -> Option<&str> {
    let inner = step.strip_prefix("extension(")?.strip_suffix(')')?;
    Some(inner.trim_matches(|c| c == '\'' || c == '"'))
}

/// Splits on dots outside parentheses (extension URLs contain dots); `$this` steps dropped.
fn split_path(path: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for ch in path.chars() {
        if ch == '.' && depth == 0 {
            steps.push(std::mem::take(&mut current));
            continue;
        }
        depth += i32::from(ch == '(') - i32::from(ch == ')');
        current.push(ch);
    }
    steps.push(current);
    steps
        .into_iter()
        .filter(|s| !s.is_empty() && s != "$this")
        .collect()
}

/// FHIR R4 pattern[x]: primitives equal; an object has every property of the pattern with a
/// matching value; an array has, for each pattern item, a matching item.
fn contains_pattern(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Object(p) => value.as_object().is_some_and(|v| {
            p.iter()
                .all(|(k, sub)| v.get(k).is_some_and(|x| contains_pattern(x, sub)))
        }),
        Value::Array(p) => {
            let items = as_slice(Some(value));
            p.iter()
                .all(|sub| items.iter().any(|item| contains_pattern(item, sub)))
        }
        _ => value == pattern,
    }
}

fn matches_constraint(constraint: &Constraint, value: &Value) -> bool {
    match constraint.kind {
        ConstraintKind::Fixed => value == &constraint.value,
        ConstraintKind::Pattern => contains_pattern(value, &constraint.value),
    }
}

/// A primitive seen with its companion (see [`primitive_view`]) compares by its value.
fn comparable<'v>(value: &'v Value, expected: &Value) -> &'v Value {
    match value {
        Value::Object(o) if !expected.is_object() && !expected.is_array() => {
            o.get("value").unwrap_or(&Value::Null)
        }
        _ => value,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 160 {
        text
    } else {
        text.chars().take(157).collect::<String>() + "..."
    }
}

// -- terminology ----------------------------------------------------------------------------

enum Membership {
    Undecided,
    ByCode(bool),
    BySystem(bool),
}

/// The codings of a Coding or CodeableConcept; `None` for a bare code.
fn codings_of(value: &Value) -> Option<Vec<&Value>> {
    let object = value.as_object()?;
    if let Some(coding) = object.get("coding") {
        return Some(
            as_slice(Some(coding))
                .iter()
                .filter(|c| c.is_object())
                .collect(),
        );
    }
    if object.contains_key("system") || object.contains_key("code") {
        return Some(vec![value]);
    }
    if object.contains_key("text") {
        return Some(Vec::new()); // a CodeableConcept with text only
    }
    None
}

fn membership(set: &ValueSet, value: &Value) -> Membership {
    // An object with no coding at all (text only, or misspelt properties) has no coding from
    // the value set: under a required binding that is a finding, not an undecided case.
    let codings = codings_of(value).or_else(|| value.is_object().then(Vec::new));
    if let Some(codes) = &set.codes {
        return Membership::ByCode(match (codings, value) {
            (None, Value::String(code)) => codes.values().any(|cs| cs.contains(code)),
            (None, _) => return Membership::Undecided,
            (Some(codings), _) => codings.iter().any(|c| {
                let system = c.get("system").and_then(Value::as_str).unwrap_or_default();
                let code = c.get("code").and_then(Value::as_str).unwrap_or_default();
                codes
                    .get(system)
                    .is_some_and(|cs| cs.iter().any(|x| x == code))
            }),
        });
    }
    match codings {
        Some(codings) if !set.systems.is_empty() => Membership::BySystem(codings.iter().any(|c| {
            c.get("system")
                .and_then(Value::as_str)
                .is_some_and(|s| set.systems.iter().any(|x| x == s))
        })),
        _ => Membership::Undecided,
    }
}

/// Whether a value may be in the value set judging by its codes, else its systems (slice
/// assignment: profile_check.ValueSetInfo.may_contain).
fn may_contain(set: &ValueSet, value: &Value) -> bool {
    match membership(set, value) {
        Membership::ByCode(ok) | Membership::BySystem(ok) => ok,
        Membership::Undecided => false,
    }
}

// -- references -----------------------------------------------------------------------------

enum ReferenceForm<'r> {
    /// `Type/id` (or an absolute URL ending so): the type.
    Typed(&'r str),
    /// An absolute URL without a type, or `#id`.
    Untyped,
    Invalid,
}

static RELATIVE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^([A-Z][A-Za-z]+)/[A-Za-z0-9\-\.]{1,64}(/_history/[A-Za-z0-9\-\.]{1,64})?$")
        .expect("a valid regex")
});
static ABSOLUTE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$").expect("a valid regex"));
static ABSOLUTE_TYPED: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"/([A-Z][A-Za-z]+)/[A-Za-z0-9\-\.]{1,64}(/_history/[A-Za-z0-9\-\.]{1,64})?$")
        .expect("a valid regex")
});

/// The form of a literal reference (R4 references: relative `Type/id`, absolute URL, or
/// `#id` to a contained resource).
fn reference_type(reference: &str) -> ReferenceForm<'_> {
    if let Some(c) = RELATIVE.captures(reference) {
        return ReferenceForm::Typed(c.get(1).map_or("", |m| m.as_str()));
    }
    if reference.len() > 1 && reference.starts_with('#') {
        return ReferenceForm::Untyped;
    }
    if ABSOLUTE.is_match(reference) {
        if let Some(c) = ABSOLUTE_TYPED.captures(reference) {
            return ReferenceForm::Typed(c.get(1).map_or("", |m| m.as_str()));
        }
        return ReferenceForm::Untyped;
    }
    ReferenceForm::Invalid
}

// -- slice criteria -------------------------------------------------------------------------

/// How to tell that a value belongs to a slice, for one discriminator.
enum Criterion {
    /// The slice's fixed/pattern values at the path: some value matches them all.
    Constraints(Vec<Constraint>),
    /// The slice's required binding at the path: some value may be in the value set.
    ValueSet(ValueSet),
    /// The slices of the element at the path: some value is in one of them.
    AnyOf(Vec<Criterion>),
    /// Descendants' fixed/pattern values: some value satisfies every child's criterion.
    Children(Vec<(String, Criterion)>),
    /// An extension slice's URL.
    Url(String),
    /// `exists`: values present (true) or absent (false).
    Exists(bool),
}

impl Criterion {
    fn holds(&self, values: &[Value]) -> bool {
        match self {
            Criterion::Constraints(cs) => values.iter().any(|v| {
                cs.iter()
                    .all(|c| matches_constraint(c, comparable(v, &c.value)))
            }),
            Criterion::ValueSet(set) => values.iter().any(|v| may_contain(set, v)),
            Criterion::AnyOf(subs) => subs.iter().any(|c| c.holds(values)),
            Criterion::Children(children) => values.iter().any(|v| {
                children
                    .iter()
                    .all(|(name, c)| c.holds(&child_views(v, name)))
            }),
            Criterion::Url(url) => values.iter().any(|v| v.as_str() == Some(url)),
            Criterion::Exists(present) => values.is_empty() != *present,
        }
    }
}

type CriterionKey = (String, String, String, String);

/// Criteria are a function of the profile files alone: computed once per (profile, slice,
/// discriminator).
static CRITERIA: LazyLock<Mutex<HashMap<CriterionKey, Option<Arc<Criterion>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn criterion(
    profile: &Profile,
    slice: &Element,
    discriminator: &Discriminator,
) -> Option<Arc<Criterion>> {
    let key = (
        profile.url.clone(),
        slice.id.clone(),
        discriminator.kind.clone(),
        discriminator.path.clone(),
    );
    if let Some(found) = CRITERIA.lock().expect("criteria cache").get(&key) {
        return found.clone();
    }
    let found = find_criterion(profile, slice, discriminator).map(Arc::new);
    CRITERIA
        .lock()
        .expect("criteria cache")
        .insert(key, found.clone());
    found
}

fn find_criterion(profile: &Profile, slice: &Element, d: &Discriminator) -> Option<Criterion> {
    let target = definition_at(profile, slice, &d.path);
    match d.kind.as_str() {
        "value" | "pattern" => {
            let found = target.and_then(|t| value_criterion(profile, t));
            match (&found, &slice.extension_url) {
                (None, Some(url)) if d.path == "url" => Some(Criterion::Url(url.clone())),
                _ => found,
            }
        }
        "exists" => {
            let target = target?;
            if target.min >= 1 {
                Some(Criterion::Exists(true))
            } else if target.max == Some(0) {
                Some(Criterion::Exists(false))
            } else {
                None
            }
        }
        _ => None, // type / profile discriminators: not used by the as-dp profiles
    }
}

/// The element definition a discriminator path leads to from a slice.
fn definition_at<'p>(profile: &'p Profile, slice: &'p Element, path: &str) -> Option<&'p Element> {
    let mut current = slice;
    for step in split_path(path) {
        current = match extension_step(&step) {
            Some(url) => {
                let base = profile.element(&format!("{}.extension", current.id))?;
                profile
                    .slices(base)
                    .into_iter()
                    .find(|s| s.extension_url.as_deref() == Some(url))?
            }
            None => profile.child(current, &step)?,
        };
    }
    Some(current)
}

/// A value/pattern discriminator: the target's fixed/pattern values; else its required
/// binding; else its own slices; else its descendants' fixed/pattern values.
fn value_criterion(profile: &Profile, target: &Element) -> Option<Criterion> {
    if !target.constraints.is_empty() {
        return Some(Criterion::Constraints(target.constraints.clone()));
    }
    if let Some(set) = target
        .required_value_set()
        .and_then(|c| profile.value_set(c))
        && (set.codes.is_some() || !set.systems.is_empty())
    {
        return Some(Criterion::ValueSet(set.clone()));
    }
    let sub_slices = profile.slices(target);
    if !sub_slices.is_empty() {
        let subs: Option<Vec<Criterion>> = sub_slices
            .iter()
            .map(|s| value_criterion(profile, s))
            .collect();
        if let Some(subs) = subs {
            return Some(Criterion::AnyOf(subs));
        }
    }
    let children: Vec<(String, Criterion)> = profile
        .children(target)
        .into_iter()
        .filter(|c| profile.has_descendant_constraint(c))
        .filter_map(|c| Some((c.name().to_owned(), value_criterion(profile, c)?)))
        .collect();
    (!children.is_empty()).then_some(Criterion::Children(children))
}

/// The element's slicing discriminators; extensions are always sliced by url (R4 profiling),
/// even where a snapshot lists extension slices without `slicing`.
fn discriminators_of(element: &Element) -> Vec<Discriminator> {
    if let Some(slicing) = &element.slicing {
        return slicing.discriminator.clone();
    }
    if matches!(element.name(), "extension" | "modifierExtension") {
        return vec![Discriminator {
            kind: "value".to_owned(),
            path: "url".to_owned(),
        }];
    }
    Vec::new()
}
