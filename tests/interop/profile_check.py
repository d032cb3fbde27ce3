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
* required bindings: membership where the value set's codes are in profiles/ (the value sets
  of whole code systems the IG ships complete, and the FHIR core ones from
  r4-supplement.json); otherwise, for a Coding or CodeableConcept, a coding from one of the
  value set's code systems (NOS JDV_*: their codes are not in the repository; the resource
  then gets one `information` finding saying how many values were checked that way);
* unknown properties (a property no child of the element has: snapshot children, else the
  FHIR core type's in datatypes.json; `_x` where `x` is allowed; `resourceType` at the root),
  types (a choice suffix the element does not allow, an object for a primitive or the
  reverse, an array for a single element or the reverse), primitive formats (JSON kind and
  the R4 regular expression, against the number's JSON text), ele-1 and ext-1 structurally
  (no empty value or null; an extension has a value[x] or extensions, not both), literal
  reference targets (`Type/id` against the element's target types; `#id` and `urn:` not
  checked for type), and the context of the extensions profiles/types/ defines;
* meta.profile: the profiles to check are those of profiles/ whose URL the resource claims
  (any version); a resource that claims none, or claims one of another resource type, is a
  violation; the as-dp profiles' own meta.profile slices then require the exact url|version
  claims (as-dp and fr-core).

Each finding has a rule, a severity and a FHIRPath `expression` (profiles/README.md, "Rules,
issue codes and expression": the server's `$validate` reports the same pairs).

Skipped, knowingly (each would need content the repository does not have):

* the codes of NOS JDV_* value sets (see bindings above);
* constraints of datatype or extension profiles that neither the as-dp snapshots expand nor
  the IG copy has (the fr-core ones: fr-core-address, fr-core-contact-point,
  fr-core-human-name, fr-core-practitioner-specialty..., and HL7 extensions such as
  humanname-assembly-order): their values are walked against the FHIR core type only. Those
  the IG has (as-address-extended, as-ext-data-trace, as-ext-organization-*...) are in
  profiles/types/ and values typed with them are walked against them (violations name them:
  `[as-address-extended: Address.line]`);
* FHIRPath invariants other than ele-1/ext-1, `type`/`profile` discriminators (none in the
  as-dp profiles), contained resources, and the inside of a value of a type datatypes.json
  does not describe (the open value[x] of an extension no profile here defines).
  A slice whose discriminator cannot be evaluated from the profile would get no values and its
  closed slicing would reject nothing (no such slice in today's profiles: every slice of the
  three profiles and of profiles/types/ has an evaluable discriminator).

Usage as a module:
    profiles = ProfileSet.load("profiles")
    violations = profiles.check(resource_dict)   # [] = conforms (the errors' text)
    findings = check_findings(resource_dict)     # Finding(severity, rule, expression, ...)

CLI: python tests/interop/profile_check.py FILE...  (Bundles are checked entry by entry;
prints each finding with its severity, rule and expression, exits 1 if any is an error.)
Standard library only (Python 3.11).
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROFILES_DIR = REPO_ROOT / "profiles"
# The files of profiles/ that are not a profile's constraints.
NOT_PROFILE_FILES = ("datatypes.json", "r4-supplement.json")

# A predicate on the instance values found at a discriminator path: True when the values
# satisfy the slice's criterion.
Criterion = Callable[[list], bool]

# OperationOutcome issue.code per rule (profiles/README.md, "Rules, issue codes and
# expression"; the Rust `$validate` has the same table).
ISSUE_CODES = {
    "min": "required",
    "max": "structure",
    "unknown": "structure",
    "type": "structure",
    "format": "value",
    "invariant": "invariant",
    "fixed": "value",
    "pattern": "value",
    "closed": "structure",
    "binding": "code-invalid",
    "reference": "structure",
    "extension-context": "structure",
    "profile-claim": "invalid",
    "unchecked": "informational",
}


@dataclass(frozen=True)
class Finding:
    """One issue: `expression` is the FHIRPath of the value (profiles/README.md convention),
    `element` the element id of the definition broken, `profile` its `url|version`.
    `str()` is the checker's historical text: `<location> [<element>]: <message>`, where the
    location names slices (`identifier[0]:rpps`) and `via` the datatype or extension profile
    the element comes from."""

    severity: str
    rule: str
    expression: str
    element: str
    profile: str
    message: str
    location: str = ""
    via: str = ""

    @property
    def code(self) -> str:
        return ISSUE_CODES[self.rule]

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "fatal")

    def __str__(self) -> str:
        element = f"{self.via}: {self.element}" if self.via else self.element
        location = self.location or self.expression
        if not element:
            return f"{location}: {self.message}"
        return f"{location} [{element}]: {self.message}"


class DuplicateKeyError(ValueError):
    """A JSON object with the same property twice: FHIR JSON forbids it, and readers disagree
    on which value wins (Python keeps the last), so the checker rejects the document."""


class JsonInt(int):
    """A JSON integer that remembers its text (the regular expressions of integer types are
    about the text)."""

    text: str

    def __new__(cls, text: str) -> "JsonInt":
        value = super().__new__(cls, text)
        value.text = text
        return value


class JsonFloat(float):
    """A JSON number with a fraction or exponent, with its text (`1.0` is not an integer)."""

    text: str

    def __new__(cls, text: str) -> "JsonFloat":
        value = super().__new__(cls, text)
        value.text = text
        return value


def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(f"duplicate JSON property {key!r}")
        out[key] = value
    return out


def loads(text: str | bytes) -> Any:
    """Parses FHIR JSON: duplicate properties rejected, numbers keeping their text."""
    return json.loads(
        text, object_pairs_hook=reject_duplicates, parse_int=JsonInt, parse_float=JsonFloat
    )


def number_text(value: Any) -> str:
    return getattr(value, "text", None) or json.dumps(value)


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
    # "resource" for a resource profile (its root may have `resourceType`), else "type".
    kind: str = "resource"
    # For an extension profile: where it may be used ([{type, expression}]).
    context: list[dict] = field(default_factory=list)
    children: dict[str, list[dict]] = field(default_factory=dict)
    slices: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    @classmethod
    def from_file(cls, path: Path, kind: str = "resource") -> "Profile":
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = cls(
            url=data["url"],
            version=data["version"],
            type=data["type"],
            elements={e["id"]: e for e in data["elements"]},
            value_sets=value_sets_of(data),
            kind=kind,
            context=data.get("context", []),
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


def value_sets_of(data: dict) -> dict[str, ValueSetInfo]:
    return {
        canonical: ValueSetInfo(canonical, info.get("systems", []), info.get("codes"))
        for canonical, info in data.get("valueSets", {}).items()
    }


CORE_STRUCTURE_DEFINITION = "http://hl7.org/fhir/StructureDefinition/"


class DataTypes:
    """profiles/datatypes.json: the FHIR core types' children (a complex value the snapshots
    do not expand is walked against them, as a profile of its own) and the primitive types'
    JSON kind and regular expression."""

    def __init__(self, data: dict):
        self.data = data
        self.regexes = {
            name: re.compile(p["regex"]) if p.get("regex") else None
            for name, p in data["primitives"].items()
        }
        self._profiles: dict[str, Profile | None] = {}

    @classmethod
    def load(cls, profiles_dir: str | os.PathLike = DEFAULT_PROFILES_DIR) -> "DataTypes | None":
        path = Path(profiles_dir) / "datatypes.json"
        return cls(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None

    def format_problem(self, datatype: str, value: Any) -> str | None:
        """Why a primitive value is not a valid `datatype` (JSON kind, then regular
        expression, matched against the whole value); None when it is, or the type is not
        known."""
        primitive = self.data["primitives"].get(datatype)
        if primitive is None:
            return None
        kind = primitive["json"]
        if kind == "boolean":
            ok_kind = isinstance(value, bool)
        elif kind == "number":
            ok_kind = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok_kind = isinstance(value, str)
        if not ok_kind:
            return f"a {datatype} is a JSON {kind}, found {short(value)}"
        regex = self.regexes.get(datatype)
        text = value if isinstance(value, str) else number_text(value)
        if kind == "boolean" or regex is None or regex.fullmatch(text):
            return None
        return f"not a valid {datatype}: {short(value)}"

    def children(self, name: str) -> list[tuple[str, str, dict]]:
        """(owner type, child name, definition): the type's own children and its bases'."""
        chain, current = [], name
        while current:
            chain.append(current)
            current = self.data["bases"].get(current)
        return [
            (owner, child, definition)
            for owner in reversed(chain)
            for child, definition in self.data["complex"].get(owner, {}).items()
        ]

    def profile(self, name: str) -> Profile | None:
        """A complex type as a profile (root `name`, one element per child), for the walk."""
        if name not in self._profiles:
            self._profiles[name] = self.build(name) if name in self.data["complex"] else None
        return self._profiles[name]

    def build(self, name: str) -> Profile:
        elements = [{"id": name, "path": name, "min": 0, "max": "*",
                     "base": {"path": name, "min": 0, "max": "*"}}]
        for owner, child, d in self.children(name):
            element = {
                "id": f"{name}.{child}", "path": f"{name}.{child}", "min": d["min"],
                "max": d["max"], "base": {"path": f"{owner}.{child}", "min": d["min"],
                                          "max": d["max"]},
                "type": [{"code": code} for code in d["types"]],
            }
            if "binding" in d:
                element["binding"] = d["binding"]
            elements.append(element)
        profile = Profile(
            url=CORE_STRUCTURE_DEFINITION + name, version="4.0.1", type=name,
            elements={e["id"]: e for e in elements}, value_sets=value_sets_of(self.data),
            kind="type",
        )
        profile.index()
        return profile


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


def repeats(element: dict) -> bool:
    """Whether the element is a JSON array: its core definition's max (`base.max`) is not 1.
    Definitions without `base` (hand-written test profiles) fall back on their own max."""
    base = element.get("base")
    if base is not None:
        return base.get("max") != "1"
    return max_allowed(element) > 1


def fhirpath_name(element: dict) -> str:
    """The element's name in `expression`: a choice without its `[x]` (`value`)."""
    name = element_name(element)
    return name[:-3] if name.endswith("[x]") else name


def type_codes(element: dict) -> list[str]:
    """The element's types, a `System.String` code read as the FHIR type it stands for."""
    return [t.get("fhirType") or t["code"] for t in element.get("type", [])]


def chosen_type(element: dict, key: str) -> str | None:
    """The type of one value: for a choice, the one its JSON key names (`valueCoding` ->
    `Coding`, `valueString` -> `string`), None when the element does not allow it; else the
    element's only type (None when it has several or none)."""
    codes = type_codes(element)
    stem = element_name(element)
    if stem.endswith("[x]"):
        suffix = key[len(stem) - 3 :]
        return next((c for c in codes if c[:1].upper() + c[1:] == suffix), None)
    return codes[0] if len(codes) == 1 else None


def is_primitive_type(code: str) -> bool:
    return code[:1].islower() or code.startswith("http://hl7.org/fhirpath/")


def is_choice_key(choice: str, key: str) -> bool:
    """Whether JSON key `key` (`valueCoding`) is a value of choice element `choice`
    (`value[x]`): the stem, then a type name."""
    stem = choice[:-3]
    return key.startswith(stem) and key[len(stem) :][:1].isupper()


def is_empty(value: Any) -> bool:
    """ele-1, structurally: null, an empty object, array or string has no value."""
    return value is None or value == "" or value == {} or value == []


# A literal reference: `Type/id` (with an optional version), relative or after a base URL.
LITERAL_REFERENCE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*/)?([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)
ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


class Walk:
    """One resource (or one value of a datatype/extension profile) checked against one
    profile: collects the findings. `where` is the historical location text (slice names
    included), `expr` the FHIRPath expression of the same node."""

    def __init__(
        self,
        profile: Profile,
        types: dict[str, Profile] | None = None,
        datatypes: "DataTypes | None" = None,
        via: str = "",
        root_places: frozenset[str] = frozenset(),
    ):
        self.profile = profile
        # For the walk of a value against its type (a datatype or extension profile, a core
        # type): where that value is in the resource, for the extension context rule.
        self.root_places = root_places
        self.types = types or {}
        self.datatypes = datatypes
        self.via = via
        self.findings: list[Finding] = []
        # Codings of a required binding whose value set's codes are not in the repository
        # (NOS JDV_*): checked by code system only.
        self.by_system_only = 0
        self._criteria: dict[tuple[str, str, str], Criterion | None] = {}

    @property
    def violations(self) -> list[str]:
        return [str(f) for f in self.findings if f.is_error]

    def report(
        self, rule: str, where: str, expr: str, element_id: str, message: str,
        severity: str = "error",
    ) -> None:
        self.findings.append(
            Finding(severity, rule, expr, element_id, self.profile.canonical, message, where,
                    self.via)
        )

    # -- elements ---------------------------------------------------------------------------

    def check_values(
        self, element: dict, values: list[tuple], location: str, parent_expr: str
    ) -> None:
        """`values` are all the occurrences of `element` in one parent (whose expression is
        `parent_expr`), as (key, value, companion) (see child_values)."""
        exprs = [self.item_expr(element, parent_expr, i) for i in range(len(values))]
        self.check_cardinality(element, len(values), location, parent_expr, exprs)
        for index, (key, value, companion) in enumerate(values):
            where = item_location(location, key, index, len(values), element)
            self.check_value(element, key, value, where, exprs[index], companion)
        if element["id"] in self.profile.slices:
            self.check_slicing(element, values, location, parent_expr, exprs)

    @staticmethod
    def item_expr(element: dict, parent_expr: str, index: int) -> str:
        expr = f"{parent_expr}.{fhirpath_name(element)}"
        return f"{expr}[{index}]" if repeats(element) else expr

    def check_cardinality(
        self, element: dict, count: int, location: str, parent_expr: str, exprs: list[str]
    ) -> None:
        """Too few: reported on the parent; too many: on the first value past max (`exprs`
        are the expressions of the values counted, in order)."""
        if "." not in element["id"] and ":" not in element["id"]:
            return  # the resource itself
        minimum, maximum = element.get("min", 0), max_allowed(element)
        if count < minimum:
            self.report("min", location, parent_expr, element["id"],
                        f"minimum {minimum} required, found {count}")
        if count > maximum:
            self.report("max", location, exprs[int(maximum)], element["id"],
                        f"maximum {element['max']} allowed, found {count}")

    def check_value(
        self, element: dict, key: str, value: Any, where: str, expr: str,
        companion: dict | None = None,
    ) -> None:
        """Invariants, type and format, fixed/pattern, required binding, reference target,
        extension context, then the element's children (unknown properties included)."""
        if (companion is None and is_empty(value)) or value in ("", {}, []) or companion == {}:
            self.report("invariant", where, expr, element["id"],
                        "ele-1: a value must not be empty or null")
            return
        datatype = chosen_type(element, key)
        if element_name(element).endswith("[x]") and datatype is None and type_codes(element):
            self.report("type", where, expr, element["id"],
                        f"must be of type {' or '.join(type_codes(element))}, found {key}")
            return
        if not self.check_shape(element, datatype, value, where, expr):
            return
        for kind, constrained_type, expected in choice_constraints(element):
            if not self.is_of_type(element, key, constrained_type, where, expr):
                continue
            if not matches_constraint(kind, value, expected):
                verb = "must equal" if kind == "fixed" else "must contain the pattern"
                self.report(kind, where, expr, element["id"],
                            f"{verb} {short(expected)}, found {short(value)}")
        self.check_binding(element, value, where, expr)
        if datatype == "Reference" or "Reference" in type_codes(element):
            self.check_reference(element, value, where, expr)
        if datatype == "Extension" or element_name(element) in ("extension", "modifierExtension"):
            self.check_extension(element, value, where, expr)
        children = self.profile.children.get(element["id"], [])
        view = primitive_view(value, companion)
        own = value if isinstance(value, dict) else companion
        if children and isinstance(own, dict):
            self.check_properties(element, children, own, where, expr)
        for child in children:
            name = element_name(child)
            self.check_values(child, child_values(view, name), f"{where}.{name}", expr)
        if not children and not self.check_type_profile(element, view, where, expr):
            self.check_datatype(element, datatype, value, companion, where, expr)

    def check_shape(
        self, element: dict, datatype: str | None, value: Any, where: str, expr: str
    ) -> bool:
        """An object where a primitive is expected or the reverse (`type`); a primitive of
        the wrong JSON kind or not matching its type's regular expression (`format`). False
        when the value cannot be walked further."""
        if datatype is None or self.datatypes is None:
            return True
        if is_primitive_type(datatype):
            if value is None:
                return True  # only a companion (`_x`): its extensions are walked
            if isinstance(value, (dict, list)):
                self.report("type", where, expr, element["id"],
                            f"a {datatype} is a primitive, found {short(value)}")
                return False
            problem = self.datatypes.format_problem(datatype, value)
            if problem:
                self.report("format", where, expr, element["id"], problem)
            return True
        if datatype not in ("Resource",) and not isinstance(value, dict):
            self.report("type", where, expr, element["id"],
                        f"a {datatype} is an object, found {short(value)}")
            return False
        return True

    def check_properties(
        self, element: dict, children: list[dict], own: dict, where: str, expr: str
    ) -> None:
        """The properties of one object against the element's children: a property no child
        has is `unknown` (`_x` is allowed where `x` is; `resourceType` at the root); an array
        for a single element or the reverse is `type`; an empty array or null is ele-1.
        Only definitions with `base` (extracted snapshots) list every child."""
        if not all("base" in c for c in children):
            return
        plain = {element_name(c): c for c in children if not element_name(c).endswith("[x]")}
        choices = [c for c in children if element_name(c).endswith("[x]")]
        is_root = element["id"] == self.profile.type
        for key, raw in own.items():
            name = key[1:] if key.startswith("_") else key
            if is_root and key == "resourceType" and self.profile.kind == "resource":
                continue
            child = plain.get(name) or next(
                (c for c in choices if is_choice_key(element_name(c), name)), None
            )
            target = f"{expr}.{fhirpath_name(child) if child else name}"
            if child is None:
                items = raw if isinstance(raw, list) else [raw]
                for i, _ in enumerate(items):
                    at = f"{target}[{i}]" if isinstance(raw, list) else target
                    self.report("unknown", f"{where}.{key}", at, element["id"],
                                f"unknown property {key!r}")
                continue
            if raw == [] or raw is None:
                self.report("invariant", f"{where}.{key}", target, child["id"],
                            "ele-1: a value must not be empty or null")
            elif isinstance(raw, list) != repeats(child):
                shape = "an array" if repeats(child) else "a single value"
                self.report("type", f"{where}.{key}", target, child["id"],
                            f"{key} must be {shape}")

    def check_type_profile(self, element: dict, value: Any, where: str, expr: str) -> bool:
        """An element typed with a datatype or extension profile the snapshot does not expand
        (as-address-extended, as-ext-data-trace...): the value is walked against that
        profile's own snapshot, when profiles/types/ has it. True when it was."""
        walked = False
        for t in element.get("type", []):
            for canonical in t.get("profile", []):
                profile = self.types.get(canonical.split("|", 1)[0])
                if profile is None or not isinstance(value, dict):
                    continue
                walk = Walk(profile, self.types, self.datatypes, profile_name(profile),
                            self.places(element))
                walk.check_value(profile.elements[profile.type], profile.type, value, where, expr)
                self.absorb(walk)
                walked = True
        return walked

    def check_datatype(
        self, element: dict, datatype: str | None, value: Any, companion: dict | None,
        where: str, expr: str,
    ) -> None:
        """A value the snapshot does not expand, walked against its FHIR core type
        (datatypes.json): a complex value against its type's children, a primitive's
        companion (`_x`: id, extension) against Element's."""
        if self.datatypes is None or datatype is None:
            return
        if is_primitive_type(datatype):
            target, own = "Element", companion
        else:
            target, own = datatype, value
        profile = self.datatypes.profile(target)
        if profile is None or not isinstance(own, dict):
            return
        walk = Walk(profile, self.types, self.datatypes, self.via, self.places(element))
        walk.check_value(profile.elements[profile.type], profile.type, own, where, expr)
        self.absorb(walk)

    def places(self, element: dict) -> frozenset[str]:
        """The names an extension context may give the element a value is on: `Element`, its
        path, its core path (`Address.line` for Organization.address.line), its types; for a
        resource's root, `Resource`/`DomainResource` too; for the root of a walk against a
        type, the places of the element the value is on in the resource."""
        out = {"Element", element["path"], element.get("base", {}).get("path", element["path"]),
               *type_codes(element)}
        if element["id"] == self.profile.type:
            out |= self.root_places
            if self.profile.kind == "resource":
                out |= {"Resource", "DomainResource"}
        return frozenset(out)

    def absorb(self, walk: "Walk") -> None:
        self.findings.extend(walk.findings)
        self.by_system_only += walk.by_system_only

    def is_of_type(
        self, element: dict, key: str, datatype: str, where: str, expr: str
    ) -> bool:
        """For a choice element (`value[x]`), the JSON key names the type the instance chose:
        a fixed/pattern value of another type cannot match."""
        stem = element_name(element)
        if not stem.endswith("[x]"):
            return True
        chosen = key[len(stem) - 3 :]
        if chosen == datatype:
            return True
        self.report("type", where, expr, element["id"], f"must be of type {datatype}, found {key}")
        return False

    def check_binding(self, element: dict, value: Any, where: str, expr: str) -> None:
        """Required bindings: membership where the value set's codes are known; else a
        coding must be from one of its code systems (NOS JDV_*: counted, see module doc)."""
        value_set = self.profile.value_set(element)
        if value_set is None:
            return
        verdict = value_set.contains(value)
        if verdict is None and value_set.systems and isinstance(value, dict):
            # A Coding, or a CodeableConcept (one with text only has no coding from it).
            self.by_system_only += 1
            codings = codings_of(value) or []
            verdict = any(c.get("system") in value_set.systems for c in codings)
        if verdict is False:
            self.report("binding", where, expr, element["id"],
                        f"not in the required value set {value_set.url}: {short(value)}")

    def check_reference(self, element: dict, value: Any, where: str, expr: str) -> None:
        """A literal reference (`Type/id`, relative or absolute) must name a resource type the
        element's target profiles allow; `#id` and other absolute URLs (`urn:uuid:`) are not
        checked for type; anything else is not a reference (`format`)."""
        reference = value.get("reference") if isinstance(value, dict) else None
        if not isinstance(reference, str) or not reference:
            return
        literal = LITERAL_REFERENCE.fullmatch(reference)
        if literal is None:
            if not reference.startswith("#") and not ABSOLUTE_URL.fullmatch(reference):
                self.report("format", f"{where}.reference", f"{expr}.reference", element["id"],
                            f"not a reference (Type/id, an absolute URL or #id): {reference!r}")
            return
        allowed = sorted({
            target for t in element.get("type", []) if t["code"] == "Reference"
            for target in t.get("targetTypes", [])
        })
        if allowed and literal.group(1) not in allowed:
            self.report("reference", where, expr, element["id"],
                        f"refers to a {literal.group(1)}, allowed: {', '.join(allowed)}")

    def check_extension(self, element: dict, value: Any, where: str, expr: str) -> None:
        """ext-1 (an extension has a value[x] or extensions, not both), and the context of an
        extension profiles/types/ defines: where it is used must be one its `context`
        allows (`Element` anywhere, `X.y` on that element)."""
        if not isinstance(value, dict) or element.get("sliceName"):
            return  # a slice revisits the values its base element has seen
        has_value = any(k.startswith("value") and k[5:6].isupper() for k in value)
        has_extensions = bool(value.get("extension"))
        if has_value == has_extensions:
            self.report("invariant", where, expr, element["id"],
                        "ext-1: an extension must have either extensions or a value[x], not both")
        if element["id"] == self.profile.type:
            return  # the root of an extension profile's walk: seen where it is used
        extension = self.types.get(str(value.get("url")))
        if extension is None or not extension.context:
            return
        holder = self.profile.elements.get(rsplit_id(element["id"])[0])
        if holder is None:
            return
        places = self.places(holder)
        allowed = [c["expression"] for c in extension.context]
        if not places.intersection(allowed):
            self.report("extension-context", where, expr, element["id"],
                        f"{value.get('url')} may be used on {', '.join(allowed)}, "
                        f"not on {holder['path']}")

    # -- slicing ----------------------------------------------------------------------------

    def check_slicing(
        self, element: dict, values: list[tuple], location: str, parent_expr: str,
        exprs: list[str],
    ) -> None:
        """Slice cardinalities, the slices' own constraints on the values they take, and the
        closed rule."""
        slices = self.profile.slices[element["id"]]
        assigned, unmatched, decidable = self.assign_slices(element, slices, values)
        for s in slices:
            if not decidable[s["id"]]:
                continue  # cannot tell which values are its own: see module doc
            items = assigned[s["id"]]
            self.check_cardinality(s, len(items), f"{location}:{s['sliceName']}", parent_expr,
                                   [exprs[index] for index, *_ in items])
            for index, key, value, companion in items:
                where = item_location(location, key, index, len(values), element)
                self.check_value(s, key, value, f"{where}:{s['sliceName']}", exprs[index],
                                 companion)
        rules = element.get("slicing", {}).get("rules", "open")
        if rules == "closed" and all(decidable.values()):
            for index, key, value, _ in unmatched:
                where = item_location(location, key, index, len(values), element)
                self.report("closed", where, exprs[index], element["id"],
                            f"closed slicing: matches no slice: {short(value)}")

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

    def __init__(
        self,
        profiles: Iterable[Profile],
        types: Iterable[Profile] = (),
        datatypes: DataTypes | None = None,
    ):
        self.profiles = {p.url: p for p in profiles}
        self.types = {p.url: p for p in types}
        self.datatypes = datatypes
        # `Type/id` of resources whose claims are in UNCHECKED_CLAIMS.
        self.unchecked: list[str] = []

    @classmethod
    def load(cls, profiles_dir: str | os.PathLike = DEFAULT_PROFILES_DIR) -> "ProfileSet":
        """Resource profiles from `profiles_dir/*.json`, datatype and extension profiles they
        use from `profiles_dir/types/*.json`, the core types from `datatypes.json` (without
        it, as for hand-written test profiles, values are not checked against their types)."""
        paths = sorted(
            p for p in Path(profiles_dir).glob("*.json") if p.name not in NOT_PROFILE_FILES
        )
        if not paths:
            raise FileNotFoundError(f"no profile constraint files in {profiles_dir}")
        type_paths = sorted(Path(profiles_dir).glob("types/*.json"))
        return cls(
            (Profile.from_file(p) for p in paths),
            (Profile.from_file(p, kind="type") for p in type_paths),
            DataTypes.load(profiles_dir),
        )

    def claimed(self, resource: dict) -> tuple[list[Profile], list[Finding]]:
        """The known profiles a resource claims in meta.profile, and the findings on its
        claims (`profile-claim` errors, or the `unchecked` information)."""
        rtype = resource.get("resourceType", "?")
        meta = resource.get("meta")
        claims = as_list(meta.get("profile")) if isinstance(meta, dict) else []
        chosen, problems = [], []
        for index, claim in enumerate(claims):
            profile = self.profiles.get(str(claim).split("|", 1)[0])
            if profile is None:
                continue
            if profile.type != rtype:
                problems.append(claim_finding(
                    f"{rtype}.meta.profile[{index}]", f"{rtype}.meta.profile",
                    f"claims {claim}, a profile of {profile.type}",
                ))
            else:
                chosen.append(profile)
        if not chosen and not problems and [str(c) for c in claims] in UNCHECKED_CLAIMS:
            # A documented exception: recorded, not a violation (see UNCHECKED_CLAIMS).
            self.unchecked.append(f"{rtype}/{resource.get('id')}")
            problems.append(Finding(
                "information", "unchecked", rtype, "", " ".join(map(str, claims)),
                "claims only profiles with no snapshot in this repository: not checked "
                "against a profile", rtype,
            ))
        elif not chosen and not problems:
            problems.append(claim_finding(
                rtype, f"{rtype}.meta.profile",
                f"claims no known profile ({short(claims)}), none of those in profiles/",
            ))
        return chosen, problems

    def check_findings(self, resource: Any) -> list[Finding]:
        """Every finding on `resource` against the profiles it claims, errors and
        information; no error means it conforms."""
        if not isinstance(resource, dict) or "resourceType" not in resource:
            return [Finding("error", "type", "", "", "", "not a FHIR resource (no resourceType)",
                            "not a FHIR resource (no resourceType)")]
        profiles, findings = self.claimed(resource)
        by_system_only = 0
        for profile in profiles:
            walk = Walk(profile, self.types, self.datatypes)
            root = profile.elements[profile.type]
            walk.check_value(root, profile.type, resource, profile.type, profile.type)
            findings.extend(walk.findings)
            by_system_only += walk.by_system_only
        if by_system_only:
            findings.append(Finding(
                "information", "binding", resource["resourceType"], "", "",
                f"{by_system_only} coded values bound to value sets whose codes are not in "
                "this repository (NOS JDV_*) were checked by code system only",
                resource["resourceType"],
            ))
        return list(dict.fromkeys(findings))

    def check(self, resource: Any) -> list[str]:
        """Violations (the errors' text) of `resource`; [] when it conforms."""
        if not isinstance(resource, dict) or "resourceType" not in resource:
            return ["not a FHIR resource (no resourceType)"]
        return list(dict.fromkeys(str(f) for f in self.check_findings(resource) if f.is_error))


def claim_finding(expression: str, location: str, message: str) -> Finding:
    return Finding("error", "profile-claim", expression, "", "", message, location)


_DEFAULT_SET: ProfileSet | None = None


def check_findings(resource: Any, profiles_dir: str | os.PathLike | None = None) -> list[Finding]:
    """The findings on one resource (a parsed JSON object) against profiles/ (or
    `profiles_dir`): the entry point for other tests. Loads the files on first use."""
    global _DEFAULT_SET
    if profiles_dir is not None:
        return ProfileSet.load(profiles_dir).check_findings(resource)
    if _DEFAULT_SET is None:
        _DEFAULT_SET = ProfileSet.load()
    return _DEFAULT_SET.check_findings(resource)


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
        return loads(response.read())


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
        try:
            document = loads(Path(name).read_bytes())
        except ValueError as e:  # not JSON, or a duplicate property
            print(f"{name}: not readable FHIR JSON: {e}")
            failed = True
            continue
        for resource in resources_in(document):
            label = f"{name}: {resource.get('resourceType')}/{resource.get('id')}"
            for finding in profiles.check_findings(resource):
                failed = failed or finding.is_error
                print(f"{label}: {finding.severity} {finding.rule} at {finding.expression}: "
                      f"{finding}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
