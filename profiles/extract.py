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


def types(element: dict) -> list[dict]:
    """Type codes with their profiles and target profiles (canonical `url|version`)."""
    out = []
    for t in element.get("type", []):
        entry = {"code": t["code"]}
        for key in ("profile", "targetProfile"):
            if t.get(key):
                entry[key] = list(t[key])
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


def element_constraints(element: dict) -> dict:
    out = {key: element[key] for key in SCALAR_KEYS if key in element}
    out.update(choice_values(element))
    for key, value in (
        ("slicing", slicing(element)),
        ("type", types(element)),
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


def extract_profile(sd: dict, terminology: Terminology) -> dict:
    source = "snapshot" if sd.get("snapshot", {}).get("element") else "differential"
    elements = [element_constraints(e) for e in sd[source]["element"]]
    bound = sorted(
        {e["binding"]["valueSet"] for e in elements if "valueSet" in e.get("binding", {})}
    )
    return {
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


def referenced_type_profiles(extracted: dict) -> set[str]:
    """URLs (without version) of the datatype and extension profiles an extraction's elements
    are typed with."""
    return {
        canonical.split("|", 1)[0]
        for element in extracted["elements"]
        for t in element.get("type", [])
        for canonical in t.get("profile", [])
    }


def type_profiles(ig_dir: Path, roots: list[dict], terminology: Terminology) -> dict[str, dict]:
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
        out[sd["id"]] = extract_profile(sd, terminology)
        pending |= referenced_type_profiles(out[sd["id"]])
    return out


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    ig_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_IG_DIR
    out_dir = Path(argv[2]) if len(argv) > 2 else HERE
    if not ig_dir.is_dir():
        print(f"extract.py: IG directory not found: {ig_dir}", file=sys.stderr)
        return 2
    terminology = Terminology(ig_dir)
    claimed = []
    for name in PROFILES:
        sd = load_json(ig_dir / f"StructureDefinition-{name}.json")
        claimed.append(extract_profile(sd, terminology))
        out = out_dir / f"{name}.json"
        write_json(out, claimed[-1])
        print(f"wrote {out}")
    types_dir = out_dir / "types"
    types_dir.mkdir(exist_ok=True)
    for name, extracted in sorted(type_profiles(ig_dir, claimed, terminology).items()):
        out = types_dir / f"{name}.json"
        write_json(out, extracted)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
