#!/usr/bin/env python3
"""Extract the machine-readable constraints of the profiles the server claims.

Reads the ANS StructureDefinitions (IG ans.fhir.fr.annuaire) and writes one JSON file per
profile next to this script: url, version, type, and per element its path, slice name,
cardinality, fixed[x]/pattern[x] values, slicing, type profiles, bindings — and nothing of the
prose (short, definition, comment, requirements, mapping...); and, under types/, the same for
the datatype and extension profiles those use that the IG copy has. The server's profile claims
(src/profiles.rs) and the profile checker (tests/interop/profile_check.py) both read these
files, so the repository needs no copy of the IG at build or test time.

Usage: python3 profiles/extract.py [IG_DIR [OUT_DIR]]
IG_DIR defaults to ../shared/reference/ans-ig relative to the repository root, OUT_DIR to
profiles/ (another OUT_DIR lets a test compare a fresh extraction with the committed files).

Standard library only; output is deterministic (sorted keys, snapshot order, trailing
newline), so re-running on the same IG produces byte-identical files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
DEFAULT_IG_DIR = REPO_ROOT.parent / "shared" / "reference" / "ans-ig"

# The profiles the server claims in meta.profile and in its CapabilityStatement. The fr-core
# base profiles they derive from are not in the IG copy; the as-dp snapshots carry everything
# they inherit from fr-core, so nothing is lost by reading the as-dp files alone.
PROFILES = (
    "as-dp-practitioner",
    "as-dp-practitionerrole",
    "as-dp-organization",
    "as-dp-healthcareservice-healthcare-activity",
    "as-dp-healthcareservice-social-equipment",
    "as-dp-device",
)

# ElementDefinition keys that carry a checkable constraint. Everything else (short,
# definition, comment, requirements, alias, mapping, constraint expressions, example,
# mustSupport, isSummary...) is prose or not checked, and is dropped.
SCALAR_KEYS = ("id", "path", "sliceName", "min", "max")


def load_json(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def choice_values(element: dict) -> dict:
    """The fixed[x] and pattern[x] entries, under their FHIR names (e.g. `patternUri`)."""
    return {
        key: value
        for key, value in element.items()
        if key.startswith("fixed") or key.startswith("pattern")
    }


def slicing(element: dict) -> dict | None:
    """Discriminators, rules and order; the prose `description` is dropped."""
    s = element.get("slicing")
    if s is None:
        return None
    out = {"rules": s.get("rules", "open"), "ordered": s.get("ordered", False)}
    out["discriminator"] = [
        {"type": d["type"], "path": d["path"]} for d in s.get("discriminator", [])
    ]
    return out


# The resource type each target profile outside the IG copy profiles. The fr-core
# StructureDefinitions are not part of the copy, so their types are written here; a target
# neither in the IG copy, nor core FHIR, nor in this map stops the extraction.
FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
FR_CORE_TARGET_TYPES = {
    FR_CORE + "fr-core-healthcare-service": "HealthcareService",
    FR_CORE + "fr-core-location": "Location",
    FR_CORE + "fr-core-organization": "Organization",
    FR_CORE + "fr-core-patient": "Patient",
    FR_CORE + "fr-core-practitioner": "Practitioner",
    FR_CORE + "fr-core-practitioner-role": "PractitionerRole",
}
CORE_STRUCTURE_DEFINITION = "http://hl7.org/fhir/StructureDefinition/"
CORE_VALUE_SET = "http://hl7.org/fhir/ValueSet/"
FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


class ExtractError(Exception):
    """The IG copy or the supplement says something extract.py cannot turn into data."""


class TargetTypes:
    """Resolves a Reference's targetProfile to the resource type it profiles."""

    def __init__(self, ig_dir: Path):
        self.ig_types = {}
        for path in sorted(ig_dir.glob("StructureDefinition-*.json")):
            sd = load_json(path)
            self.ig_types[sd["url"]] = sd["type"]

    def resolve(self, canonical: str) -> str:
        url, _ = split_canonical(canonical)
        if url in self.ig_types:
            return self.ig_types[url]
        if url in FR_CORE_TARGET_TYPES:
            return FR_CORE_TARGET_TYPES[url]
        if url.startswith(CORE_STRUCTURE_DEFINITION):
            name = url[len(CORE_STRUCTURE_DEFINITION) :]
            if name and "/" not in name and name[0].isupper():
                return name
        raise ExtractError(f"unresolved reference target profile: {canonical}")


def fhir_type(type_entry: dict) -> str | None:
    """The FHIR type a `http://hl7.org/fhirpath/System.*` code stands for (`id`, `uri`,
    `string`), from the structuredefinition-fhir-type extension the snapshots carry."""
    for ext in type_entry.get("extension", []):
        if ext.get("url") == FHIR_TYPE_EXTENSION:
            return ext.get("valueUrl")
    return None


def types(element: dict, targets: TargetTypes) -> list[dict]:
    """Type codes with their profiles and target profiles (canonical `url|version`), the
    resource types those targets profile (`targetTypes`), and the FHIR type of a
    `System.String` code (`fhirType`)."""
    out = []
    for t in element.get("type", []):
        entry = {"code": t["code"]}
        for key in ("profile", "targetProfile"):
            if t.get(key):
                entry[key] = list(t[key])
        if t.get("targetProfile"):
            entry["targetTypes"] = sorted({targets.resolve(c) for c in t["targetProfile"]})
        if fhir_type(t) and fhir_type(t) != t["code"]:
            entry["fhirType"] = fhir_type(t)
        out.append(entry)
    return out


def extension_url(element: dict) -> str | None:
    """For an extension slice, the extension's URL (its profile canonical without version):
    extension slices are matched on `url`, and the snapshot does not always expand the
    slice's `url` child with its fixed value."""
    if not element.get("sliceName"):
        return None
    for t in element.get("type", []):
        if t["code"] == "Extension" and t.get("profile"):
            return t["profile"][0].split("|", 1)[0]
    return None


def binding(element: dict) -> dict | None:
    b = element.get("binding")
    if b is None:
        return None
    out = {"strength": b["strength"]}
    if "valueSet" in b:
        out["valueSet"] = b["valueSet"]
    return out


def base(element: dict) -> dict:
    """The element's definition in FHIR core: its path and unconstrained cardinality
    (`max` other than "1" means a JSON array)."""
    b = element["base"]
    return {"path": b["path"], "min": b["min"], "max": b["max"]}


def element_constraints(element: dict, targets: TargetTypes) -> dict:
    out = {key: element[key] for key in SCALAR_KEYS if key in element}
    out.update(choice_values(element))
    out["base"] = base(element)
    for key, value in (
        ("slicing", slicing(element)),
        ("type", types(element, targets)),
        ("extensionUrl", extension_url(element)),
        ("binding", binding(element)),
    ):
        if value:
            out[key] = value
    return out


def split_canonical(canonical: str) -> tuple[str, str | None]:
    url, _, version = canonical.partition("|")
    return url, version or None


class Terminology:
    """What the IG copy tells about value sets: the code systems each one draws from
    (publisher's list) and, for the few whose code systems ship in the IG with complete
    content, the exact codes. Lets the checker test required bindings it can decide and
    skip the others knowingly."""

    def __init__(self, ig_dir: Path):
        self.systems: dict[tuple[str, str | None], list[str]] = {}
        listing = ig_dir / "valueset-ref-all-list.json"
        if listing.exists():
            for vs in load_json(listing).get("codeSystems", []):
                systems = sorted(vs.get("systems", []))
                self.systems[(vs["url"], vs.get("version"))] = systems
                self.systems.setdefault((vs["url"], None), systems)
        self.value_sets = {}
        self.code_systems = {}
        for path in sorted(ig_dir.glob("ValueSet-*.json")):
            vs = load_json(path)
            self.value_sets[vs["url"]] = vs
        for path in sorted(ig_dir.glob("CodeSystem-*.json")):
            cs = load_json(path)
            if cs.get("resourceType") == "CodeSystem":
                self.code_systems[cs["url"]] = cs

    def codes(self, url: str) -> dict[str, list[str]] | None:
        """system -> codes for a value set made only of whole, locally complete code
        systems; None when membership cannot be decided from local content."""
        vs = self.value_sets.get(url)
        if vs is None or "exclude" in vs.get("compose", {}):
            return None
        out: dict[str, list[str]] = {}
        for include in vs.get("compose", {}).get("include", []):
            cs = self.code_systems.get(include.get("system", ""))
            if cs is None or cs.get("content") != "complete":
                return None
            if "concept" in include or "filter" in include or "valueSet" in include:
                return None
            out[cs["url"]] = sorted(flatten_concepts(cs.get("concept", [])))
        return out or None

    def describe(self, canonical: str) -> dict:
        url, version = split_canonical(canonical)
        entry: dict = {}
        systems = self.systems.get((url, version)) or self.systems.get((url, None))
        if systems:
            entry["systems"] = systems
        codes = self.codes(url)
        if codes is not None:
            entry["codes"] = codes
        return entry


def flatten_concepts(concepts: list[dict]) -> list[str]:
    out = []
    for c in concepts:
        out.append(c["code"])
        out.extend(flatten_concepts(c.get("concept", [])))
    return out


def extract_profile(sd: dict, terminology: Terminology, targets: TargetTypes) -> dict:
    source = "snapshot" if sd.get("snapshot", {}).get("element") else "differential"
    elements = [element_constraints(e, targets) for e in sd[source]["element"]]
    bound = sorted(
        {e["binding"]["valueSet"] for e in elements if "valueSet" in e.get("binding", {})}
    )
    out = {
        "url": sd["url"],
        "version": sd["version"],
        "name": sd["name"],
        "type": sd["type"],
        "baseDefinition": sd.get("baseDefinition"),
        "fhirVersion": sd.get("fhirVersion"),
        "elementsFrom": source,
        "elements": elements,
        "valueSets": {vs: terminology.describe(vs) for vs in bound},
    }
    if sd.get("context"):
        # Where an extension may be put: `Element` (anywhere), or an element path.
        out["context"] = [{"type": c["type"], "expression": c["expression"]} for c in sd["context"]]
    return out


def referenced_type_profiles(extracted: dict) -> set[str]:
    """URLs (without version) of the datatype and extension profiles an extraction's elements
    are typed with."""
    return {
        canonical.split("|", 1)[0]
        for element in extracted["elements"]
        for t in element.get("type", [])
        for canonical in t.get("profile", [])
    }


def type_profiles(
    ig_dir: Path, roots: list[dict], terminology: Terminology, targets: TargetTypes
) -> dict[str, dict]:
    """Extractions of the datatype/extension profiles the claimed profiles use, transitively,
    among those the IG copy has (with a snapshot): the claimed profiles' snapshots do not
    always expand them (e.g. as-address-extended on Organization.address, as-ext-data-trace
    on meta.extension). Keyed by the StructureDefinition id."""
    available = {}
    for path in sorted(ig_dir.glob("StructureDefinition-*.json")):
        sd = load_json(path)
        if sd.get("snapshot") and sd.get("kind") == "complex-type":
            available[sd["url"]] = sd
    out: dict[str, dict] = {}
    pending = set().union(*(referenced_type_profiles(r) for r in roots))
    while pending:
        url = pending.pop()
        sd = available.get(url)
        if sd is None or sd["id"] in out:
            continue
        out[sd["id"]] = extract_profile(sd, terminology, targets)
        pending |= referenced_type_profiles(out[sd["id"]])
    return out


SUPPLEMENT = HERE / "r4-supplement.json"


def child_types(element: dict) -> list[str]:
    """An element's type codes, a `System.String` code read as the FHIR type it stands for."""
    return sorted({fhir_type(t) or t["code"] for t in element.get("type", [])})


def ig_datatypes(ig_dir: Path) -> dict[str, dict]:
    """The children of every complex type (and Element, BackboneElement, Resource,
    DomainResource) that an IG snapshot expands, from the `base` of its elements: an element
    whose `base.path` is `Type.child` tells `child`'s core cardinality and types. A choice
    (`value[x]`) is the union of what the snapshots allow (profiles only narrow it); any other
    child seen with two cardinalities or two type lists is returned as a conflict (None) for
    the supplement to settle."""
    seen: dict[tuple[str, str], set] = {}
    for path in sorted(ig_dir.glob("StructureDefinition-*.json")):
        sd = load_json(path)
        resource_type = sd["type"] if sd.get("kind") == "resource" else None
        for element in sd.get("snapshot", {}).get("element", []):
            parts = element["base"]["path"].split(".")
            if len(parts) != 2 or parts[0] == resource_type or not parts[0][0].isupper():
                continue
            b = element["base"]
            seen.setdefault((parts[0], parts[1]), set()).add(
                (b["min"], b["max"], tuple(child_types(element)), required_value_set(element))
            )
    out: dict[str, dict] = {}
    for (type_name, child), variants in sorted(seen.items()):
        cardinalities = {(lo, hi) for lo, hi, _, _ in variants}
        type_lists = {t for _, _, t, _ in variants}
        if len(cardinalities) > 1 or (len(type_lists) > 1 and not child.endswith("[x]")):
            out.setdefault(type_name, {})[child] = None
            continue
        ((lo, hi),) = cardinalities
        union = sorted(set().union(*type_lists))
        out.setdefault(type_name, {})[child] = {"min": lo, "max": hi, "types": union}
        value_sets = {vs for _, _, _, vs in variants}
        if len(value_sets) == 1 and is_core_value_set(next(iter(value_sets))):
            # Every snapshot binds it to the same FHIR core value set, `required`: the core
            # binding (an IG-specific one, on every fr-core Address say, is not core's).
            binding = {"strength": "required", "valueSet": value_sets.pop()}
            out[type_name][child]["binding"] = binding
    return out


def required_value_set(element: dict) -> str | None:
    b = element.get("binding", {})
    return b.get("valueSet") if b.get("strength") == "required" else None


def is_core_value_set(canonical: str | None) -> bool:
    return bool(canonical) and canonical.startswith(CORE_VALUE_SET)


def resource_types(ig_dir: Path) -> set[str]:
    return {
        load_json(path)["type"]
        for path in sorted(ig_dir.glob("StructureDefinition-*.json"))
        if load_json(path).get("kind") == "resource"
    }


def merge_supplement(ig: dict[str, dict], supplement: dict) -> dict[str, dict]:
    """The IG's datatype children completed by the supplement's. The supplement may add a
    datatype the IG never expands, and settle a child the IG's snapshots disagree on (with
    one of the IG's own answers); it may not say anything else about what the IG expands."""
    merged = {name: dict(children) for name, children in ig.items()}
    for name, entry in sorted(supplement["complex"].items()):
        for child, definition in sorted(entry["children"].items()):
            mine = {k: definition[k] for k in ("min", "max", "types")}
            if "binding" in definition:
                mine["binding"] = definition["binding"]
            theirs = ig.get(name, {}).get(child, "absent")
            if theirs == "absent" and name in ig:
                raise ExtractError(f"r4-supplement.json: {name}.{child} is not in the IG's {name}")
            if theirs not in ("absent", None) and theirs != mine:
                raise ExtractError(
                    f"r4-supplement.json contradicts the IG on {name}.{child}: "
                    f"{mine} vs {theirs}"
                )
            merged.setdefault(name, {})[child] = mine
    unsettled = sorted(f"{n}.{c}" for n, cs in merged.items() for c, d in cs.items() if d is None)
    if unsettled:
        raise ExtractError(
            f"IG snapshots disagree on {unsettled}; settle them in r4-supplement.json"
        )
    return merged


def named_complex_types(extractions: list[dict], datatypes: dict[str, dict]) -> set[str]:
    """The complex types a profile element, or the value of an extension profile, allows
    (an element with `max` 0 allows nothing), and those their children reach in turn: each
    one must have its children in datatypes.json for the engines to walk its values. The
    open `Extension.value[x]` of the core Extension type (any of some fifty types, for an
    extension no profile here defines) is not followed: such values are not walked."""
    pending = {
        code
        for extracted in extractions
        for element in extracted["elements"]
        if element.get("max") != "0"
        for t in element.get("type", [])
        for code in [t.get("fhirType") or t["code"]]
        if code[0].isupper()
    }
    out: set[str] = set()
    while pending:
        name = pending.pop()
        if name in out:
            continue
        out.add(name)
        for child, definition in datatypes.get(name, {}).items():
            if definition is not None and (name, child) != ("Extension", "value[x]"):
                pending |= {t for t in definition["types"] if t[0].isupper()}
    return out


def build_datatypes(
    ig_dir: Path,
    supplement: dict,
    extractions: list[dict],
    types_of_resources: set[str],
    terminology: Terminology,
) -> dict:
    """datatypes.json: per complex type its children, per primitive type its JSON kind and
    regular expression, and the codes of the value sets those children bind."""
    complex_types = merge_supplement(ig_datatypes(ig_dir), supplement)
    aliases = supplement.get("aliases", {})
    named = named_complex_types(extractions, complex_types) - types_of_resources
    described = set(complex_types) | set(aliases) | {"Resource"}  # contained: not walked
    missing = sorted(named - described)
    if missing:
        raise ExtractError(f"complex types named by the profiles with no children: {missing}")
    bases = dict(supplement["bases"]["types"])
    for alias, target in sorted(aliases.items()):
        complex_types[alias] = complex_types[target["as"]]
        bases[alias] = bases[target["as"]]
    unbased = sorted(set(complex_types) - set(bases) - {"Element", "Resource"})
    if unbased:
        raise ExtractError(f"r4-supplement.json: no base type for {unbased}")
    bound = sorted(
        {
            d["binding"]["valueSet"]
            for children in complex_types.values()
            for d in children.values()
            if "binding" in d
        }
    )
    return {
        "bases": dict(sorted(bases.items())),
        "complex": complex_types,
        "primitives": {
            name: {"json": p["json"], "regex": p["regex"]}
            for name, p in sorted(supplement["primitives"].items())
        },
        "valueSets": {vs: describe_value_set(supplement, terminology, vs) for vs in bound},
    }


def describe_value_set(supplement: dict, terminology: Terminology, canonical: str) -> dict:
    """A value set bound in datatypes.json: the supplement's codes for a FHIR core one, what
    the IG tells otherwise."""
    if split_canonical(canonical)[0] in supplement["valueSets"]:
        return supplement_value_set(supplement, canonical)
    return terminology.describe(canonical)


def supplement_value_set(supplement: dict, canonical: str) -> dict:
    url, _ = split_canonical(canonical)
    entry = supplement["valueSets"].get(url)
    if entry is None:
        raise ExtractError(f"no codes in r4-supplement.json for the required value set {canonical}")
    return {"codes": {entry["system"]: sorted(entry["codes"])}, "systems": [entry["system"]]}


def add_core_codes(extracted: dict, supplement: dict) -> None:
    """Gives the FHIR core value sets a profile binds with a `required` strength their codes
    (from the supplement), so that `codes` present means membership is decidable; fails on a
    required core value set the supplement lacks."""
    required = {
        e["binding"]["valueSet"]
        for e in extracted["elements"]
        if e.get("binding", {}).get("strength") == "required" and "valueSet" in e["binding"]
    }
    for canonical, entry in extracted["valueSets"].items():
        url, version = split_canonical(canonical)
        if url in supplement["valueSets"]:
            if version not in (None, "4.0.1"):
                raise ExtractError(f"{canonical}: r4-supplement.json has the 4.0.1 codes only")
            from_supplement = supplement_value_set(supplement, canonical)
            if entry.get("systems", from_supplement["systems"]) != from_supplement["systems"]:
                raise ExtractError(f"{canonical}: the IG's systems differ from r4-supplement.json")
            entry.update(from_supplement)
        elif canonical in required and is_core_value_set(url):
            raise ExtractError(
                f"required core value set {canonical} missing from r4-supplement.json"
            )


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    ig_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_IG_DIR
    out_dir = Path(argv[2]) if len(argv) > 2 else HERE
    if not ig_dir.is_dir():
        print(f"extract.py: IG directory not found: {ig_dir}", file=sys.stderr)
        return 2
    try:
        written = extract(ig_dir)
    except ExtractError as e:
        print(f"extract.py: {e}", file=sys.stderr)
        return 1
    (out_dir / "types").mkdir(parents=True, exist_ok=True)
    for relative, data in written.items():
        write_json(out_dir / relative, data)
        print(f"wrote {out_dir / relative}")
    return 0


def extract(ig_dir: Path) -> dict[str, dict]:
    """Every output file (path relative to profiles/ -> content)."""
    terminology = Terminology(ig_dir)
    targets = TargetTypes(ig_dir)
    supplement = load_json(SUPPLEMENT)
    claimed = {}
    for name in PROFILES:
        sd = load_json(ig_dir / f"StructureDefinition-{name}.json")
        claimed[f"{name}.json"] = extract_profile(sd, terminology, targets)
    used = type_profiles(ig_dir, list(claimed.values()), terminology, targets)
    written = dict(claimed)
    for name, extracted in sorted(used.items()):
        written[f"types/{name}.json"] = extracted
    for extracted in written.values():
        add_core_codes(extracted, supplement)
    written["datatypes.json"] = build_datatypes(
        ig_dir, supplement, list(written.values()), resource_types(ig_dir), terminology
    )
    return written


if __name__ == "__main__":
    sys.exit(main(sys.argv))
