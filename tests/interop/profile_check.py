#!/usr/bin/env python3
"""Profile checker: FHIR R4 resources against the constraint files in profiles/.

The constraint files (profiles/*.json, see profiles/README.md) are the ANS as-dp-*
StructureDefinitions reduced to data; this module walks a resource against them the way the
FHIR R4 profiling rules say (https://hl7.org/fhir/R4/profiling.html):

* cardinality (min/max) of every element the snapshot lists, at element and slice level, at
  any depth (e.g. Organization.identifier:finess.type.coding.system);
* fixed[x] (exact equality) and pattern[x] (the value contains the pattern: every property of
  the pattern is present with a matching value, every array item of the pattern is matched by
  some item of the instance array);
* slicing: each repeating value is assigned to the first slice whose discriminators all match.
  A value/pattern discriminator is evaluated with, in order: the slice's fixed/pattern value at
  the discriminator path; its required binding there; the slices of that element (e.g.
  qualification:degree by code.coding, itself sliced by binding); the fixed/pattern values of
  its descendants (e.g. identifier:finess by type, from type.coding.system). An exists
  discriminator uses the slice's min (>= 1: must exist) or max (0: must not) at the path.
  Slice min/max are counted; closed slicing rejects values no slice takes. Extensions are
  sliced by url (also where a snapshot lists extension slices without `slicing`), so required
  extensions are their slices' min. Primitive values' extensions (`_line` in JSON) are read;
* required bindings, where the value set's codes are known locally (profiles/*.json carry them
  only for value sets made of whole code systems shipped complete with the IG);
* meta.profile: the profiles to check are those of profiles/ whose URL the resource claims
  (any version); a resource that claims none, or claims one of another resource type, is a
  violation; the as-dp profiles' own meta.profile slices then require the exact url|version
  claims (as-dp and fr-core).

Skipped, knowingly (each would need content the repository does not have):

* required bindings to value sets whose codes are not local (NOS JDV_*, fr-core and FHIR core
  value sets): their membership is not decided. For *slice assignment only*, a value set's
  list of code systems (from the IG's publisher list) is used to decide whether a coding can
  belong to a binding-discriminated slice: a coding whose system is not one of the value set's
  systems cannot be in it;
* constraints of datatype or extension profiles that neither the as-dp snapshots expand nor
  the IG copy has (the fr-core ones: fr-core-address, fr-core-contact-point,
  fr-core-human-name, fr-core-practitioner-specialty..., and HL7 extensions such as
  humanname-assembly-order). Those the IG has (as-address-extended, as-ext-data-trace,
  as-ext-organization-*...) are in profiles/types/ and values typed with them are walked
  against them (violations name them: `[as-address-extended: Address.line]`);
* FHIRPath invariants (constraint expressions), primitive datatype formats, unknown
  properties, `type`/`profile` discriminators (none in the as-dp profiles), reference targets.
  A slice whose discriminator cannot be evaluated from the profile would get no values and its
  closed slicing would reject nothing (no such slice in today's profiles: every slice of the
  three profiles and of profiles/types/ has an evaluable discriminator).

Usage as a module:
    profiles = ProfileSet.load("profiles")
    violations = profiles.check(resource_dict)   # [] = conforms

CLI: python tests/interop/profile_check.py FILE...  (Bundles are checked entry by entry;
prints violations, exits 1 if any.)
Standard library only (Python 3.11).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROFILES_DIR = REPO_ROOT / "profiles"
# The files of profiles/ that are not a profile's constraints.
NOT_PROFILE_FILES = ("datatypes.json", "r4-supplement.json")

# A predicate on the instance values found at a discriminator path: True when the values
# satisfy the slice's criterion.
Criterion = Callable[[list], bool]


# ---------------------------------------------------------------------------------------------
# Instance navigation and value comparison
# ---------------------------------------------------------------------------------------------


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def child_values(value: Any, name: str) -> list[tuple[str, Any, dict | None]]:
    """Occurrences of property `name` of a complex value, as (JSON key, item, companion).
    A choice name `value[x]` matches any key `value<Type>`: the key tells the type the
    instance chose. The companion is the `_key` object of a primitive (its id and
    extensions, in the JSON representation); an occurrence may have only a companion."""
    if not isinstance(value, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        names = {k.lstrip("_") for k in value}
        keys = sorted(k for k in names if k.startswith(stem) and k[len(stem) :][:1].isupper())
    else:
        keys = [name] if name in value or f"_{name}" in value else []
    out = []
    for key in keys:
        items, companions = value.get(key), value.get(f"_{key}")
        if isinstance(items, list) or isinstance(companions, list):
            items, companions = as_list(items), as_list(companions)
            count = max(len(items), len(companions))
            items += [None] * (count - len(items))
            companions += [None] * (count - len(companions))
            out.extend((key, i, c) for i, c in zip(items, companions))
        else:
            out.append((key, items, companions))
    return out


def primitive_view(value: Any, companion: dict | None) -> Any:
    """What a value's children are read from: a complex value itself; for a primitive, its
    companion's id/extension plus the primitive as `value`."""
    if isinstance(value, dict) or (value is not None and companion is None):
        return value
    view = dict(companion or {})
    if value is not None:
        view["value"] = value
    return view


def path_values(value: Any, path: str) -> list:
    """Values at a discriminator path (a dotted path, `$this`, or `extension('url')` steps)."""
    values = [value]
    if path == "$this":
        return values
    for step in split_path(path):
        out = []
        for v in values:
            if step.startswith("extension(") and isinstance(v, dict):
                url = step[len("extension(") : -1].strip("'\"")
                out.extend(e for e in as_list(v.get("extension")) if e.get("url") == url)
            else:
                out.extend(
                    primitive_view(item, companion) for _, item, companion in child_values(v, step)
                )
        values = out
    return values


def split_path(path: str) -> list[str]:
    """Splits on dots outside parentheses (extension URLs contain dots)."""
    steps, depth, current = [], 0, ""
    for ch in path:
        if ch == "." and depth == 0:
            steps.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    steps.append(current)
    return [s for s in steps if s and s != "$this"]


def contains_pattern(value: Any, pattern: Any) -> bool:
    """FHIR R4 pattern[x] semantics: primitives are equal; an object has every property of
    the pattern with a matching value; an array has, for each pattern item, a matching item."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and contains_pattern(value[key], sub) for key, sub in pattern.items()
        )
    if isinstance(pattern, list):
        items = as_list(value)
        return all(any(contains_pattern(item, sub) for item in items) for sub in pattern)
    return value == pattern


def comparable(value: Any, expected: Any) -> Any:
    """A primitive seen with its companion (see primitive_view) compares by its value."""
    if isinstance(value, dict) and not isinstance(expected, (dict, list)):
        return value.get("value")
    return value


def choice_constraints(element: dict) -> list[tuple[str, str, Any]]:
    """(kind, datatype, value) for the element's fixed[x] / pattern[x]."""
    out = []
    for key, expected in element.items():
        for kind in ("fixed", "pattern"):
            if key.startswith(kind) and len(key) > len(kind):
                out.append((kind, key[len(kind) :], expected))
    return out


def matches_constraint(kind: str, value: Any, expected: Any) -> bool:
    return value == expected if kind == "fixed" else contains_pattern(value, expected)


def short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------------------------------
# Terminology known locally
# ---------------------------------------------------------------------------------------------


def codings_of(value: Any) -> list[dict] | None:
    """The codings of a Coding or CodeableConcept; None for a bare code (no system)."""
    if isinstance(value, dict) and "coding" in value:
        return [c for c in as_list(value["coding"]) if isinstance(c, dict)]
    if isinstance(value, dict) and ("system" in value or "code" in value):
        return [value]
    return None


@dataclass
class ValueSetInfo:
    """What profiles/*.json tell of a value set: its code systems, maybe its exact codes."""

    url: str
    systems: list[str]
    codes: dict[str, list[str]] | None

    def contains(self, value: Any) -> bool | None:
        """Membership of a code / Coding / CodeableConcept; None when undecidable locally."""
        if self.codes is None:
            return None
        codings = codings_of(value)
        if codings is None:
            if isinstance(value, str):
                return any(value in codes for codes in self.codes.values())
            return False
        return any(c.get("code") in self.codes.get(c.get("system"), ()) for c in codings)

    def may_contain(self, value: Any) -> bool | None:
        """Whether the value can be in the value set judging by code system (decides slice
        membership when codes are not local); None when not even that is decidable."""
        exact = self.contains(value)
        if exact is not None:
            return exact
        codings = codings_of(value)
        if codings is None or not self.systems:
            return None
        return any(c.get("system") in self.systems for c in codings)


# ---------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------


@dataclass
class Profile:
    """One constraint file: the snapshot elements indexed for the walk."""

    url: str
    version: str
    type: str
    elements: dict[str, dict]
    value_sets: dict[str, ValueSetInfo]
    children: dict[str, list[dict]] = field(default_factory=dict)
    slices: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    @classmethod
    def from_file(cls, path: Path) -> "Profile":
        data = json.loads(path.read_text(encoding="utf-8"))
        value_sets = {
            canonical: ValueSetInfo(canonical, info.get("systems", []), info.get("codes"))
            for canonical, info in data.get("valueSets", {}).items()
        }
        profile = cls(
            url=data["url"],
            version=data["version"],
            type=data["type"],
            elements={e["id"]: e for e in data["elements"]},
            value_sets=value_sets,
        )
        profile.index()
        return profile

    def index(self) -> None:
        """Direct children (`X.name`) and slices (`X:slice`) of each element id, in order."""
        for element_id, element in self.elements.items():
            head, sep, last = rsplit_id(element_id)
            if sep == ".":
                self.children.setdefault(head, []).append(element)
            elif sep == ":" and "/" not in last:
                self.slices.setdefault(head, []).append(element)

    def child(self, element_id: str, name: str) -> dict | None:
        return self.elements.get(f"{element_id}.{name}")

    def value_set(self, element: dict) -> ValueSetInfo | None:
        binding = element.get("binding", {})
        if binding.get("strength") != "required" or "valueSet" not in binding:
            return None
        return self.value_sets.get(binding["valueSet"])


def rsplit_id(element_id: str) -> tuple[str, str, str]:
    """Splits an element id at its last `.` (child) or `:` (slice): (parent id, separator,
    name)."""
    dot, colon = element_id.rfind("."), element_id.rfind(":")
    # A slice name never contains '.', so the later separator wins.
    if colon > dot:
        return element_id[:colon], ":", element_id[colon + 1 :]
    if dot >= 0:
        return element_id[:dot], ".", element_id[dot + 1 :]
    return "", "", element_id


def profile_name(profile: Profile) -> str:
    return profile.url.rsplit("/", 1)[-1]


def element_name(element: dict) -> str:
    return element["path"].rsplit(".", 1)[-1]


def max_allowed(element: dict) -> float:
    m = element.get("max", "*")
    return float("inf") if m == "*" else int(m)


class Walk:
    """One resource (or one value of a datatype/extension profile) checked against one
    profile: collects the violations."""

    def __init__(self, profile: Profile, types: dict[str, Profile] | None = None):
        self.profile = profile
        self.types = types or {}
        self.violations: list[str] = []
        self._criteria: dict[tuple[str, str, str], Criterion | None] = {}

    def report(self, location: str, element_id: str, message: str) -> None:
        self.violations.append(f"{location} [{element_id}]: {message}")

    # -- elements ---------------------------------------------------------------------------

    def check_values(self, element: dict, values: list[tuple], location: str) -> None:
        """`values` are all the occurrences of `element` in one parent, as (key, value,
        companion) (see child_values)."""
        self.check_cardinality(element, len(values), location)
        for index, (key, value, companion) in enumerate(values):
            where = item_location(location, key, index, len(values), element)
            self.check_value(element, key, value, where, companion)
        if element["id"] in self.profile.slices:
            self.check_slicing(element, values, location)

    def check_cardinality(self, element: dict, count: int, location: str) -> None:
        if "." not in element["id"] and ":" not in element["id"]:
            return  # the resource itself
        minimum, maximum = element.get("min", 0), max_allowed(element)
        if count < minimum:
            self.report(location, element["id"], f"minimum {minimum} required, found {count}")
        if count > maximum:
            self.report(
                location, element["id"], f"maximum {element['max']} allowed, found {count}"
            )

    def check_value(
        self, element: dict, key: str, value: Any, where: str, companion: dict | None = None
    ) -> None:
        """Fixed/pattern, required binding, then the element's children."""
        for kind, datatype, expected in choice_constraints(element):
            if not self.is_of_type(element, key, datatype, where):
                continue
            if not matches_constraint(kind, value, expected):
                verb = "must equal" if kind == "fixed" else "must contain the pattern"
                self.report(
                    where, element["id"], f"{verb} {short(expected)}, found {short(value)}"
                )
        self.check_binding(element, value, where)
        children = self.profile.children.get(element["id"], [])
        view = primitive_view(value, companion)
        for child in children:
            name = element_name(child)
            self.check_values(child, child_values(view, name), f"{where}.{name}")
        if not children:
            self.check_type_profile(element, view, where)

    def check_type_profile(self, element: dict, value: Any, where: str) -> None:
        """An element typed with a datatype or extension profile the snapshot does not expand
        (as-address-extended, as-ext-data-trace...): the value is walked against that
        profile's own snapshot, when profiles/types/ has it."""
        for t in element.get("type", []):
            for canonical in t.get("profile", []):
                profile = self.types.get(canonical.split("|", 1)[0])
                if profile is None or not isinstance(value, dict):
                    continue
                walk = Walk(profile, self.types)
                walk.check_value(profile.elements[profile.type], profile.type, value, where)
                self.violations.extend(
                    v.replace(" [", f" [{profile_name(profile)}: ", 1) for v in walk.violations
                )

    def is_of_type(self, element: dict, key: str, datatype: str, where: str) -> bool:
        """For a choice element (`value[x]`), the JSON key names the type the instance chose:
        a fixed/pattern value of another type cannot match."""
        stem = element_name(element)
        if not stem.endswith("[x]"):
            return True
        chosen = key[len(stem) - 3 :]
        if chosen == datatype:
            return True
        self.report(where, element["id"], f"must be of type {datatype}, found {key}")
        return False

    def check_binding(self, element: dict, value: Any, where: str) -> None:
        value_set = self.profile.value_set(element)
        if value_set is None:
            return
        # Membership is decided only for value sets with local codes; others: see module doc.
        if value_set.contains(value) is False:
            self.report(
                where,
                element["id"],
                f"not in the required value set {value_set.url}: {short(value)}",
            )

    # -- slicing ----------------------------------------------------------------------------

    def check_slicing(self, element: dict, values: list[tuple], location: str) -> None:
        """Slice cardinalities, the slices' own constraints on the values they take, and the
        closed rule."""
        slices = self.profile.slices[element["id"]]
        assigned, unmatched, decidable = self.assign_slices(element, slices, values)
        for s in slices:
            if not decidable[s["id"]]:
                continue  # cannot tell which values are its own: see module doc
            items = assigned[s["id"]]
            self.check_cardinality(s, len(items), f"{location}:{s['sliceName']}")
            for index, key, value, companion in items:
                where = item_location(location, key, index, len(values), element)
                self.check_value(s, key, value, f"{where}:{s['sliceName']}", companion)
        rules = element.get("slicing", {}).get("rules", "open")
        if rules == "closed" and all(decidable.values()):
            for index, key, value, _ in unmatched:
                where = item_location(location, key, index, len(values), element)
                self.report(
                    where, element["id"], f"closed slicing: matches no slice: {short(value)}"
                )

    def assign_slices(
        self, element: dict, slices: list[dict], values: list[tuple]
    ) -> tuple[dict[str, list[tuple]], list[tuple], dict[str, bool]]:
        """Each value goes to the first slice whose discriminators all match it (R4: slices
        are disjoint, the first match is the one). Returns the values per slice id (with
        their index), the unmatched ones, and which slices have evaluable discriminators."""
        discriminators = discriminators_of(element)
        criteria = {s["id"]: [self.criterion(s, d) for d in discriminators] for s in slices}
        decidable = {
            sid: bool(cs) and all(c is not None for c in cs) for sid, cs in criteria.items()
        }
        assigned: dict[str, list[tuple]] = {s["id"]: [] for s in slices}
        unmatched = []
        for index, (key, value, companion) in enumerate(values):
            view = primitive_view(value, companion)
            target = next(
                (
                    s["id"]
                    for s in slices
                    if decidable[s["id"]]
                    and all(
                        c(path_values(view, d["path"]))
                        for c, d in zip(criteria[s["id"]], discriminators)
                    )
                ),
                None,
            )
            entry = (index, key, value, companion)
            (unmatched if target is None else assigned[target]).append(entry)
        return assigned, unmatched, decidable

    def criterion(self, slice_element: dict, discriminator: dict) -> Criterion | None:
        """How to tell that a value belongs to `slice_element` for one discriminator; None
        when the profile gives no way to tell."""
        cache_key = (slice_element["id"], discriminator["type"], discriminator["path"])
        if cache_key not in self._criteria:
            self._criteria[cache_key] = self.find_criterion(slice_element, discriminator)
        return self._criteria[cache_key]

    def find_criterion(self, slice_element: dict, discriminator: dict) -> Criterion | None:
        kind, path = discriminator["type"], discriminator["path"]
        target = self.definition_at(slice_element, path)
        if kind in ("value", "pattern"):
            found = self.value_criterion(target) if target is not None else None
            url = slice_element.get("extensionUrl")
            if found is None and path == "url" and url:
                # An extension slice whose `url` child the snapshot does not expand: its
                # extension profile's URL is the value the discriminator looks for.
                return lambda values: url in values
            return found
        if kind == "exists" and target is not None:
            return exists_criterion(target)
        return None  # type / profile discriminators: not used by the as-dp profiles

    def definition_at(self, element: dict, path: str) -> dict | None:
        """The element definition a discriminator path leads to from a slice."""
        current = element
        for step in split_path(path):
            if step.startswith("extension("):
                url = step[len("extension(") : -1].strip("'\"")
                base = f"{current['id']}.extension"
                current = next(
                    (s for s in self.profile.slices.get(base, []) if s.get("extensionUrl") == url),
                    None,
                )
            else:
                current = self.profile.child(current["id"], step)
            if current is None:
                return None
        return current

    def value_criterion(self, target: dict) -> Criterion | None:
        """Value/pattern discriminator: the target's fixed/pattern value; else its required
        binding; else the slicing of the target itself (any of its slices' criteria); else the
        fixed/pattern values of its descendants, all of which must hold."""
        constraints = choice_constraints(target)
        if constraints:
            return lambda values: any(
                all(matches_constraint(k, comparable(v, e), e) for k, _, e in constraints)
                for v in values
            )
        value_set = self.profile.value_set(target)
        if value_set is not None and (value_set.codes is not None or value_set.systems):
            return lambda values: any(value_set.may_contain(v) for v in values)
        sub_slices = self.profile.slices.get(target["id"], [])
        if sub_slices:
            sub = [self.value_criterion(s) for s in sub_slices]
            if all(c is not None for c in sub):
                return lambda values: any(c(values) for c in sub)
        children = [
            (element_name(c), self.value_criterion(c))
            for c in self.profile.children.get(target["id"], [])
            if has_descendant_constraint(self.profile, c)
        ]
        children = [(name, c) for name, c in children if c is not None]
        if children:
            return lambda values: any(
                all(
                    c([primitive_view(i, comp) for _, i, comp in child_values(v, name)])
                    for name, c in children
                )
                for v in values
            )
        return None


def discriminators_of(element: dict) -> list[dict]:
    """The element's slicing discriminators. Extensions are always sliced by url (R4
    profiling §5.1.0.9), even where a snapshot lists extension slices without `slicing`."""
    if "slicing" in element:
        return element["slicing"]["discriminator"]
    if element_name(element) in ("extension", "modifierExtension"):
        return [{"type": "value", "path": "url"}]
    return []


def exists_criterion(target: dict) -> Criterion | None:
    if target.get("min", 0) >= 1:
        return lambda values: bool(values)
    if target.get("max") == "0":
        return lambda values: not values
    return None


def has_descendant_constraint(profile: Profile, element: dict) -> bool:
    prefix = element["id"]
    return any(
        (eid == prefix or eid.startswith(prefix + ".")) and choice_constraints(e)
        for eid, e in profile.elements.items()
    )


def item_location(location: str, key: str, index: int, count: int, element: dict) -> str:
    """`Practitioner.identifier[1]`: an index only for repeating elements."""
    base = location
    if element["path"].endswith("[x]"):
        base = location.rsplit(".", 1)[0] + "." + key
    return f"{base}[{index}]" if max_allowed(element) > 1 or count > 1 else base


# ---------------------------------------------------------------------------------------------
# The profile set
# ---------------------------------------------------------------------------------------------


# Claim lists accepted without a profile check, each for a stated reason. ADELI practitioners
# (no RPPS number) cannot claim as-dp-practitioner, whose identifier:rpps is 1..1, so the
# server claims only fr-core-practitioner for them (mapping decision A14); fr-core's
# StructureDefinition is not among the ANS files profiles/ is extracted from. They are still
# checked by the structural validators (fhir.resources, FHIR.js), and counted in `unchecked`.
# Healthcare activities (no ARHGOS number in the open file, mapping decision D1) and heavy
# equipment without an ARHGOS number (docs/mapping.md A28) claim the generic ANS profile their as-dp profile
# derives from; the IG copy has those only as differentials (no snapshot), so profiles/ has no
# extraction of them to check against.
UNCHECKED_CLAIMS = [
    ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner|2.2.0"],
    ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-healthcareservice-healthcare-activity|1.2.0-snapshot-2"],
    ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-device|1.2.0-snapshot-2"],
]


class ProfileSet:
    """The profiles of profiles/*.json, keyed by canonical URL."""

    def __init__(self, profiles: Iterable[Profile], types: Iterable[Profile] = ()):
        self.profiles = {p.url: p for p in profiles}
        self.types = {p.url: p for p in types}
        # `Type/id` of resources whose claims are in UNCHECKED_CLAIMS.
        self.unchecked: list[str] = []

    @classmethod
    def load(cls, profiles_dir: str | os.PathLike = DEFAULT_PROFILES_DIR) -> "ProfileSet":
        """Resource profiles from `profiles_dir/*.json`, datatype and extension profiles they
        use from `profiles_dir/types/*.json`."""
        paths = sorted(
            p for p in Path(profiles_dir).glob("*.json") if p.name not in NOT_PROFILE_FILES
        )
        if not paths:
            raise FileNotFoundError(f"no profile constraint files in {profiles_dir}")
        type_paths = sorted(Path(profiles_dir).glob("types/*.json"))
        return cls(
            (Profile.from_file(p) for p in paths), (Profile.from_file(p) for p in type_paths)
        )

    def claimed(self, resource: dict) -> tuple[list[Profile], list[str]]:
        """The known profiles a resource claims in meta.profile, and violations of the claim."""
        rtype = resource.get("resourceType", "?")
        meta = resource.get("meta")
        claims = as_list(meta.get("profile")) if isinstance(meta, dict) else []
        chosen, problems = [], []
        for claim in claims:
            profile = self.profiles.get(str(claim).split("|", 1)[0])
            if profile is None:
                continue
            if profile.type != rtype:
                problems.append(
                    f"{rtype}.meta.profile: claims {claim}, a profile of {profile.type}"
                )
            else:
                chosen.append(profile)
        if not chosen and not problems and [str(c) for c in claims] in UNCHECKED_CLAIMS:
            # A documented exception: recorded, not a violation (see UNCHECKED_CLAIMS).
            self.unchecked.append(f"{rtype}/{resource.get('id')}")
        elif not chosen and not problems:
            problems.append(
                f"{rtype}.meta.profile: claims no known profile ({short(claims)}), "
                "none of those in profiles/"
            )
        return chosen, problems

    def check(self, resource: dict) -> list[str]:
        """Violations of `resource` against the profiles it claims; [] when it conforms."""
        if not isinstance(resource, dict) or "resourceType" not in resource:
            return ["not a FHIR resource (no resourceType)"]
        profiles, violations = self.claimed(resource)
        for profile in profiles:
            walk = Walk(profile, self.types)
            root = profile.elements[profile.type]
            walk.check_value(root, profile.type, resource, profile.type)
            violations.extend(walk.violations)
        return list(dict.fromkeys(violations))


# ---------------------------------------------------------------------------------------------
# Server checks and CLI
# ---------------------------------------------------------------------------------------------

# Searches whose results are checked: every type, paged past the first page, with the
# _include/_revinclude paths (included resources are checked too), and the RPPS-numbered
# practitioners (ids sort ADELI persons, type digit 0, first).
SERVER_SEARCHES = (
    "Practitioner?_count=50",
    "Practitioner?identifier=https://rpps.esante.gouv.fr|&_count=50",
    "PractitionerRole?_count=50",
    "Organization?_count=50",
    "PractitionerRole?_count=20&_include=PractitionerRole:practitioner"
    "&_include=PractitionerRole:organization",
    "Practitioner?_count=20&_revinclude=PractitionerRole:practitioner",
    "Organization?identifier=https://finess.esante.gouv.fr|&_count=20",
    "Organization?identifier-type=FINEJ&_count=20",
    "HealthcareService?_count=50",
    "HealthcareService?active=false&_count=20",
    "Device?_count=50",
    "Organization?_count=20&_revinclude=HealthcareService:organization"
    "&_revinclude=Device:organization",
)
PAGES_PER_SEARCH = 3


def fetch_json(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def server_resources(base_url: str) -> Iterable[tuple[str, str, dict]]:
    """(search, label, resource) for every resource the searches return, following `next`
    links; OperationOutcome entries (search mode `outcome`) are not resources to check."""
    base = base_url.rstrip("/")
    for search in SERVER_SEARCHES:
        url = f"{base}/{search}"
        for _ in range(PAGES_PER_SEARCH):
            bundle = fetch_json(url)
            for entry in bundle.get("entry", []):
                if entry.get("search", {}).get("mode") == "outcome":
                    continue
                resource = entry.get("resource", {})
                label = f"{resource.get('resourceType')}/{resource.get('id')}"
                yield search, label, resource
            url = next_link(bundle)
            if url is None:
                break


def next_link(bundle: dict) -> str | None:
    links = bundle.get("link", [])
    return next((link["url"] for link in links if link.get("relation") == "next"), None)


def check_server_resources(
    base_url: str, profiles_dir: str | os.PathLike = DEFAULT_PROFILES_DIR
) -> list[str]:
    """Violations, prefixed with `Type/id`, of the resources a set of searches on the server
    at `base_url` (the FHIR base, e.g. http://127.0.0.1:8080/fhir) returns. A search that
    returns nothing is a violation too: it would make the check vacuous."""
    profiles = ProfileSet.load(profiles_dir)
    violations, seen, productive = [], set(), set()
    for search, label, resource in server_resources(base_url):
        productive.add(search)
        if label in seen:
            continue
        seen.add(label)
        violations.extend(f"{label}: {v}" for v in profiles.check(resource))
    violations.extend(
        f"{base_url}/{search}: returned no resources to check"
        for search in SERVER_SEARCHES
        if search not in productive
    )
    if profiles.unchecked:
        print(
            f"profile checks: {len(seen) - len(profiles.unchecked)} resources checked, "
            f"{len(profiles.unchecked)} accepted without a profile check (UNCHECKED_CLAIMS: "
            "ADELI practitioners claim only fr-core-practitioner)",
            file=sys.stderr,
        )
    return violations


def resources_in(document: dict) -> Iterable[dict]:
    if document.get("resourceType") == "Bundle":
        for entry in document.get("entry", []):
            yield entry.get("resource", {})
    else:
        yield document


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        print("usage: profile_check.py FILE...", file=sys.stderr)
        return 2
    profiles = ProfileSet.load()
    failed = False
    for name in argv[1:]:
        document = json.loads(Path(name).read_text(encoding="utf-8"))
        for resource in resources_in(document):
            label = f"{name}: {resource.get('resourceType')}/{resource.get('id')}"
            for violation in profiles.check(resource):
                failed = True
                print(f"{label}: {violation}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
