"""Tests of the profile checker (profile_check.py) and of the server's output against it.

* every resource in fixtures/valid/ (the ANS DP examples of the IG, copied, and resources
  served by the demo server) conforms;
* every resource in fixtures/broken/ is rejected with the expected message. File names say
  which rule each one breaks: `<Type>--<rule>--<what>.json`, rule one of the RULES below;
* the checker's comparison semantics (pattern vs fixed) on a synthetic profile, since the as-dp
  profiles only fix values on discriminator paths, where a wrong value cannot show as a fixed
  violation (the value simply matches no slice);
* profiles/*.json are what profiles/extract.py makes of the IG (when the IG copy is there);
* every resource a set of searches returns from the server at ANNUAIRE_BASE_URL conforms.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import profile_check  # noqa: E402

PROFILES_DIR = REPO_ROOT / "profiles"
VALID = sorted((HERE / "fixtures" / "valid").glob("*.json"))
# The profile checker's broken fixtures are named `Type--rule--what.json`; the other
# validators' fixtures in the same folder are prefixed by the validator's name.
BROKEN = sorted((HERE / "fixtures" / "broken").glob("*--*--*.json"))
IG_DIR = REPO_ROOT.parent / "shared" / "reference" / "ans-ig"

RULES = {"min", "max", "pattern", "type", "binding", "slice", "closed", "extension", "profile"}

# The message each broken fixture must produce (a substring of one violation).
EXPECTED = {
    "Organization--binding--type-extension-code-unknown.json": (
        "[Organization.type:organizationType.extension:as-ext-organization-types.value[x]]: "
        "not in the required value set "
        "https://interop.esante.gouv.fr/ig/fhir/annuaire/ValueSet/as-vs-organization-types"
    ),
    "Organization--extension--type-organizationtype-extension-missing.json": (
        "[Organization.type:organizationType.extension:as-ext-organization-types]: "
        "minimum 1 required, found 0"
    ),
    "Organization--max--address-line-house-number-twice.json": (
        "Organization.address[0].line[0].extension:houseNumber "
        "[as-address-extended: Address.line.extension:houseNumber]: maximum 1 allowed, found 2"
    ),
    "Organization--max--data-trace-systeme-information-twice.json": (
        "[as-ext-data-trace: Extension.extension:systeme-information]: maximum 1 allowed, found 2"
    ),
    "Organization--max--data-trace-value-forbidden.json": (
        "Organization.meta.extension[0]:as-ext-data-trace.value[x] "
        "[as-ext-data-trace: Extension.value[x]]: maximum 0 allowed, found 1"
    ),
    "Organization--max--contact-forbidden.json": (
        "[Organization.contact]: maximum 0 allowed, found 1"
    ),
    "Organization--max--type-organizationtype-twice.json": (
        "[Organization.type:organizationType]: maximum 1 allowed, found 2"
    ),
    "Organization--min--active-missing.json": "[Organization.active]: minimum 1 required, found 0",
    "Organization--min--identifier-idnatst-use-missing.json": (
        "Organization.identifier[0]:idNatSt.use [Organization.identifier:idNatSt.use]: "
        "minimum 1 required, found 0"
    ),
    "Organization--pattern--identifier-idnatst-use.json": (
        '[Organization.identifier:idNatSt.use]: must contain the pattern "official", '
        'found "usual"'
    ),
    "Organization--pattern--type-extension-code.json": (
        "[Organization.type:organizationType.extension:as-ext-organization-types.value[x]]: "
        'must contain the pattern "organizationType", found "typeEtablissement"'
    ),
    "Organization--type--type-extension-value-not-code.json": (
        "[Organization.type:organizationType.extension:as-ext-organization-types.value[x]]: "
        "must be of type code, found valueString"
    ),
    "Practitioner--closed--qualification-coding-unknown-system.json": (
        "Practitioner.qualification[1]:exercicePro.code.coding[2] "
        "[Practitioner.qualification:exercicePro.code.coding]: closed slicing: matches no slice"
    ),
    "Practitioner--closed--telecom-email-without-email-type.json": (
        "Practitioner.telecom[0] [Practitioner.telecom]: closed slicing: matches no slice"
    ),
    "Practitioner--closed--telecom-phone.json": (
        "Practitioner.telecom[1] [Practitioner.telecom]: closed slicing: matches no slice"
    ),
    "Practitioner--max--authorization-type-twice.json": (
        "[Practitioner.extension:as-ext-frpractitioner-authorization.extension:type]: "
        "maximum 1 allowed, found 2"
    ),
    "Practitioner--max--gender-forbidden.json": "[Practitioner.gender]: maximum 0 allowed, found 1",
    "Practitioner--max--identifier-idnatps-twice.json": (
        "[Practitioner.identifier:idNatPs]: maximum 1 allowed, found 2"
    ),
    "Practitioner--max--qualification-exercicepro-twice.json": (
        "[Practitioner.qualification:exercicePro]: maximum 1 allowed, found 2"
    ),
    "Practitioner--min--active-missing.json": "[Practitioner.active]: minimum 1 required, found 0",
    "Practitioner--min--identifier-idnatps-value-missing.json": (
        "Practitioner.identifier[0]:idNatPs.value [Practitioner.identifier:idNatPs.value]: "
        "minimum 1 required, found 0"
    ),
    "Practitioner--min--identifier-rpps-missing.json": (
        "[Practitioner.identifier:rpps]: minimum 1 required, found 0"
    ),
    "Practitioner--pattern--identifier-rpps-type-code.json": (
        "[Practitioner.identifier:rpps.type]: must contain the pattern "
        '{"coding": [{"code": "RPPS", '
        '"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"}]}'
    ),
    "Practitioner--pattern--mailbox-email-type-code.json": (
        "[Practitioner.telecom:mailbox-mss.extension:emailType.value[x]]: "
        'must contain the pattern {"code": "MSSANTE"'
    ),
    "Practitioner--profile--claims-organization-profile.json": (
        "Practitioner.meta.profile: claims "
        "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/"
        "as-dp-organization|1.2.0-snapshot-2, a profile of Organization"
    ),
    "Practitioner--profile--meta-profile-fr-core-missing.json": (
        "[Practitioner.meta.profile:fr-canonical]: minimum 1 required, found 0"
    ),
    "Practitioner--profile--meta-profile-missing.json": (
        "Practitioner.meta.profile: claims no known profile ([])"
    ),
    "Practitioner--profile--meta-profile-wrong-version.json": (
        "[Practitioner.meta.profile:as-dp-canonical]: minimum 1 required, found 0"
    ),
    "Practitioner--slice--identifier-idnatps-wrong-system.json": (
        "[Practitioner.identifier:idNatPs]: minimum 1 required, found 0"
    ),
    "PractitionerRole--max--code-genreactivite-twice.json": (
        "[PractitionerRole.code:genreActivite]: maximum 1 allowed, found 2"
    ),
    "PractitionerRole--max--specialty-forbidden.json": (
        "[PractitionerRole.specialty]: maximum 0 allowed, found 1"
    ),
    "PractitionerRole--min--identifier-idsituationexercice-missing.json": (
        "[PractitionerRole.identifier:idSituationExercice]: minimum 1 required, found 0"
    ),
    "PractitionerRole--min--practitioner-missing.json": (
        "[PractitionerRole.practitioner]: minimum 1 required, found 0"
    ),
    "Device--max--modelnumber-forbidden.json": (
        "[Device.modelNumber]: maximum 0 allowed, found 1"
    ),
    "Device--min--identifier-arhgos-missing.json": (
        "[Device.identifier:numAutorisationArhgos]: minimum 1 required, found 0"
    ),
    "Device--min--status-missing.json": "[Device.status]: minimum 1 required, found 0",
    "HealthcareService--max--social-identifier-forbidden.json": (
        "[HealthcareService.identifier]: maximum 0 allowed, found 1"
    ),
    "HealthcareService--max--social-specialty-forbidden.json": (
        "[HealthcareService.specialty]: maximum 0 allowed, found 1"
    ),
    "HealthcareService--min--social-active-missing.json": (
        "[HealthcareService.active]: minimum 1 required, found 0"
    ),
    "PractitionerRole--pattern--meta-source.json": (
        '[PractitionerRole.meta.source]: must contain the pattern "https://annuaire.esante.gouv.fr"'
        ', found "https://example.org"'
    ),
}


@pytest.fixture(scope="module")
def profiles() -> profile_check.ProfileSet:
    return profile_check.ProfileSet.load(PROFILES_DIR)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def rule_of(path: Path) -> str:
    return path.name.split("--")[1]


# -- fixtures ---------------------------------------------------------------------------------


def test_fixture_sets_are_complete():
    """Every broken fixture has an expected message and names a known rule; every rule has a
    fixture; the valid fixtures cover the five types."""
    assert {p.name for p in BROKEN} == set(EXPECTED)
    assert {rule_of(p) for p in BROKEN} == RULES
    valid_types = {load(p)["resourceType"] for p in VALID}
    assert valid_types == {
        "Practitioner", "PractitionerRole", "Organization", "HealthcareService", "Device"
    }


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixture_conforms(profiles, path):
    assert profiles.check(load(path)) == []


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_broken_fixture_is_rejected_with_the_expected_message(profiles, path):
    violations = profiles.check(load(path))
    assert any(EXPECTED[path.name] in v for v in violations), "\n".join(violations)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_broken_fixture_differs_from_a_valid_one_by_its_break_only(profiles, path):
    """Each broken fixture breaks one rule: all its violations are about the element its
    expected message names (a second message may follow from the same break, e.g. the
    element's own minimum and its slice's)."""
    violations = profiles.check(load(path))
    assert 1 <= len(violations) <= 2, "\n".join(violations)


def test_cli_exits_1_on_violations_and_0_on_conformance():
    script = HERE / "profile_check.py"
    ok = subprocess.run([sys.executable, script, *VALID], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, script, BROKEN[0]], capture_output=True, text=True)
    assert bad.returncode == 1
    assert EXPECTED[BROKEN[0].name] in bad.stdout


# -- semantics on a synthetic profile ---------------------------------------------------------


def synthetic_profile(tmp_path: Path) -> profile_check.ProfileSet:
    """A profile fixing Practitioner.language and patterning Practitioner.name: the as-dp
    profiles have no fixed value off a discriminator path."""
    url = "http://example.org/StructureDefinition/test-practitioner"
    elements = [
        {"id": "Practitioner", "path": "Practitioner", "min": 0, "max": "*"},
        {"id": "Practitioner.language", "path": "Practitioner.language", "min": 0, "max": "1",
         "fixedCode": "fr"},
        {"id": "Practitioner.name", "path": "Practitioner.name", "min": 1, "max": "*",
         "patternHumanName": {"use": "official", "given": ["Anne"]}},
        {"id": "Practitioner.photo", "path": "Practitioner.photo", "min": 0, "max": "1",
         "fixedAttachment": {"contentType": "image/png"}},
    ]
    profile = {"url": url, "version": "1", "type": "Practitioner", "elements": elements,
               "valueSets": {}}
    (tmp_path / "test-practitioner.json").write_text(json.dumps(profile))
    return profile_check.ProfileSet.load(tmp_path)


def practitioner(**fields) -> dict:
    resource = {"resourceType": "Practitioner",
                "meta": {"profile": ["http://example.org/StructureDefinition/test-practitioner|1"]},
                "name": [{"use": "official", "family": "Martin", "given": ["Anne", "Marie"]}]}
    resource.update(fields)
    return resource


def test_fixed_means_equal(tmp_path):
    profiles = synthetic_profile(tmp_path)
    assert profiles.check(practitioner(language="fr")) == []
    assert profiles.check(practitioner(language="en")) == [
        'Practitioner.language [Practitioner.language]: must equal "fr", found "en"'
    ]
    extra = practitioner(photo={"contentType": "image/png", "title": "x"})
    assert profiles.check(extra) == [
        "Practitioner.photo [Practitioner.photo]: must equal "
        '{"contentType": "image/png"}, found {"contentType": "image/png", "title": "x"}'
    ]


def test_pattern_means_contains(tmp_path):
    profiles = synthetic_profile(tmp_path)
    # Extra properties and extra array items are allowed by a pattern.
    assert profiles.check(practitioner()) == []
    wrong = practitioner(name=[{"use": "official", "given": ["Marie"]}])
    violations = profiles.check(wrong)
    assert len(violations) == 1 and "must contain the pattern" in violations[0], violations


def test_pattern_semantics():
    contains = profile_check.contains_pattern
    assert contains({"a": [1, 2], "b": "x"}, {"a": [2]})
    assert not contains({"a": [1]}, {"a": [2]})
    assert not contains({"b": "x"}, {"a": [2]})
    assert contains("x", "x") and not contains("x", "y")


def test_every_slice_has_an_evaluable_discriminator(profiles):
    """A slice the checker cannot assign values to would silently escape its min/max and the
    closed rule: none may exist in the profiles checked."""
    undecidable = []
    for profile in [*profiles.profiles.values(), *profiles.types.values()]:
        walk = profile_check.Walk(profile, profiles.types)
        for base, slices in profile.slices.items():
            discriminators = profile_check.discriminators_of(profile.elements[base])
            for s in slices:
                criteria = [walk.criterion(s, d) for d in discriminators]
                if not criteria or None in criteria:
                    undecidable.append(s["id"])
    assert undecidable == []
    # as-dp Practitioner, PractitionerRole, Organization, the two HealthcareService ones, Device
    assert len(profiles.profiles) == 6 and profiles.types


def test_not_a_resource_is_a_violation(profiles):
    assert profiles.check({"id": "x"}) == ["not a FHIR resource (no resourceType)"]


# -- the rules of profiles/README.md, on one break each ---------------------------------------


def valid(name: str) -> dict:
    return load(HERE / "fixtures" / "valid" / name)


def errors(resource: dict) -> set[tuple[str, str]]:
    """(rule, expression) of the error findings: what the engines are compared on."""
    return {(f.rule, f.expression) for f in profile_check.check_findings(resource) if f.is_error}


def practitioner_rpps() -> dict:
    return valid("server-Practitioner-rpps.json")


def role() -> dict:
    return valid("server-PractitionerRole.json")


def test_the_mutated_fixtures_are_valid_to_start_with():
    assert errors(practitioner_rpps()) == set()
    assert errors(role()) == set()
    assert errors(valid("server-Organization-st.json")) == set()


def test_unknown_property_at_the_root_and_inside_a_datatype():
    resource = practitioner_rpps()
    resource["nickname"] = "Lulu"
    resource["identifier"][0]["foo"] = ["a", "b"]
    assert errors(resource) == {
        ("unknown", "Practitioner.nickname"),
        ("unknown", "Practitioner.identifier[0].foo[0]"),
        ("unknown", "Practitioner.identifier[0].foo[1]"),
    }


def test_a_companion_is_allowed_where_its_primitive_is_and_walked_on_the_element():
    resource = practitioner_rpps()
    resource["_active"] = {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}
    assert errors(resource) == set()
    resource["_active"]["extension"][0]["bogus"] = 1
    resource["_nickname"] = {"id": "n"}
    assert errors(resource) == {
        ("unknown", "Practitioner.active.extension[0].bogus"),
        ("unknown", "Practitioner.nickname"),
    }


def test_type_array_for_a_single_element_and_object_for_a_primitive():
    resource = practitioner_rpps()
    resource["active"] = [True]
    resource["language"] = {"code": "fr"}
    assert errors(resource) == {("type", "Practitioner.active"), ("type", "Practitioner.language")}
    resource = practitioner_rpps()
    resource["identifier"][0]["type"] = "IDNPS"  # a primitive where a CodeableConcept goes
    assert ("type", "Practitioner.identifier[0].type") in errors(resource)


def test_format_json_kind_and_regular_expression():
    resource = practitioner_rpps()
    resource["active"] = "true"
    resource["id"] = "not an id!"
    resource["meta"]["lastUpdated"] = "2026-11-01"  # an instant has a time and a zone
    assert errors(resource) == {
        ("format", "Practitioner.active"),
        ("format", "Practitioner.id"),
        ("format", "Practitioner.meta.lastUpdated"),
    }


def test_format_of_a_number_reads_its_json_text():
    datatypes = profile_check.DataTypes.load()
    parsed = profile_check.loads('{"a": 1.0, "b": 1, "c": 1e2}')
    assert datatypes.format_problem("integer", parsed["a"])
    assert datatypes.format_problem("integer", parsed["b"]) is None
    assert datatypes.format_problem("decimal", parsed["c"]) is None
    assert datatypes.format_problem("positiveInt", profile_check.loads("0"))
    assert datatypes.format_problem("boolean", 1)


def test_invariants_empty_values_and_ext_1():
    resource = practitioner_rpps()
    resource["name"][0]["family"] = ""
    resource["telecom"] = []
    resource["identifier"][1]["period"] = {}
    resource["meta"]["extension"][0]["valueString"] = "both"  # value[x] and extensions
    found = errors(resource)
    assert {
        ("invariant", "Practitioner.name[0].family"),
        ("invariant", "Practitioner.telecom"),
        ("invariant", "Practitioner.identifier[1].period"),
        ("invariant", "Practitioner.meta.extension[0]"),
    } <= found, found
    assert {rule for rule, _ in found} <= {"invariant", "max", "min"}, found


def test_reference_target_type_and_reference_format():
    resource = role()
    resource["practitioner"]["reference"] = "Organization/eg-699900002"
    assert errors(resource) == {("reference", "PractitionerRole.practitioner")}
    resource["practitioner"]["reference"] = "https://example.org/fhir/Device/d1"
    assert errors(resource) == {("reference", "PractitionerRole.practitioner")}
    resource["practitioner"]["reference"] = "not a reference"
    assert errors(resource) == {("format", "PractitionerRole.practitioner.reference")}
    for unchecked in ("#p1", "urn:uuid:3e7a3a0e-5a3c-4b8e-9c1a-0e2d7c9f1b23"):
        resource["practitioner"]["reference"] = unchecked
        assert errors(resource) == set(), unchecked


def test_extension_context():
    resource = valid("server-Organization-st.json")
    types_extension = next(
        e for t in resource["type"] for e in t.get("extension", [])
        if e["url"].endswith("as-ext-organization-types")
    )
    resource.setdefault("extension", []).append(dict(types_extension))
    index = len(resource["extension"]) - 1
    assert ("extension-context", f"Organization.extension[{index}]") in errors(resource)


def test_required_binding_core_codes_and_code_systems():
    resource = practitioner_rpps()
    resource["identifier"][0]["use"] = "bogus"
    assert errors(resource) == {("binding", "Practitioner.identifier[0].use")}
    # as-ext-data-trace's autorite-enregistrement is bound (required) to NOS JDV_J83, whose
    # codes are not in the repository: a coding from another system cannot be in it.
    resource = role()
    authority = resource["meta"]["extension"][0]["extension"][0]["valueCodeableConcept"]
    authority["coding"][0]["system"] = "http://example.org/not-the-nos"
    assert errors(resource) == {
        ("binding", "PractitionerRole.meta.extension[0].extension[0].value")
    }
    authority.clear()
    authority["text"] = "CNOP"  # a CodeableConcept with no coding from the value set
    assert errors(resource) == {
        ("binding", "PractitionerRole.meta.extension[0].extension[0].value")
    }


def test_nos_value_sets_checked_by_system_only_say_so_in_one_information():
    findings = profile_check.check_findings(role())
    notes = [f for f in findings if f.rule == "binding" and f.severity == "information"]
    assert len(notes) == 1 and "code system only" in notes[0].message


def test_expression_convention_min_on_the_parent_max_on_the_first_value_past_it():
    resource = practitioner_rpps()
    rpps = resource["identifier"].pop(1)
    assert ("min", "Practitioner") in errors(resource)
    resource["identifier"] += [rpps, dict(rpps)]
    assert ("max", "Practitioner.identifier[2]") in errors(resource)
    resource = practitioner_rpps()
    resource["gender"] = "female"  # max 0, not an array: no index
    assert errors(resource) == {("max", "Practitioner.gender")}


def test_profile_claims_and_unchecked_claims():
    resource = practitioner_rpps()
    resource["meta"]["profile"].append(
        "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-device|1.2.0-snapshot-2"
    )
    assert ("profile-claim", "Practitioner.meta.profile[2]") in errors(resource)
    resource["meta"]["profile"] = ["http://example.org/other"]
    assert errors(resource) == {("profile-claim", "Practitioner")}
    resource["meta"]["profile"] = profile_check.UNCHECKED_CLAIMS[0]
    findings = profile_check.check_findings(resource)
    assert [(f.severity, f.rule, f.expression) for f in findings] == [
        ("information", "unchecked", "Practitioner")
    ]


def test_every_rule_has_its_issue_code():
    assert set(profile_check.ISSUE_CODES) == {
        "min", "max", "unknown", "type", "format", "invariant", "fixed", "pattern", "closed",
        "binding", "reference", "extension-context", "profile-claim", "unchecked",
    }


def test_duplicate_json_properties_are_rejected():
    with pytest.raises(profile_check.DuplicateKeyError):
        profile_check.loads('{"resourceType": "Practitioner", "id": "a", "id": "b"}')


def test_cli_prints_rule_and_expression(tmp_path):
    resource = practitioner_rpps()
    resource["nickname"] = "Lulu"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(resource))
    script = HERE / "profile_check.py"
    run = subprocess.run([sys.executable, script, path], capture_output=True, text=True)
    assert run.returncode == 1
    assert "error unknown at Practitioner.nickname" in run.stdout, run.stdout


# -- profiles/ is the extraction of the IG ----------------------------------------------------


@pytest.mark.skipif(not IG_DIR.is_dir(), reason="the IG copy (../shared) is not on this machine")
def test_profiles_are_a_fresh_extraction(tmp_path):
    extract = REPO_ROOT / "profiles" / "extract.py"
    subprocess.run([sys.executable, extract, IG_DIR, tmp_path], check=True, capture_output=True)
    for pattern in ("*.json", "types/*.json"):
        fresh = sorted(tmp_path.glob(pattern))
        # r4-supplement.json is written by hand: an input of the extraction, not an output.
        committed = sorted(p for p in PROFILES_DIR.glob(pattern) if p.name != "r4-supplement.json")
        assert [p.name for p in fresh] == [p.name for p in committed]
        for path in fresh:
            relative = path.relative_to(tmp_path)
            assert path.read_bytes() == (PROFILES_DIR / relative).read_bytes(), relative


# -- the running server -----------------------------------------------------------------------


def test_server_resources_conform():
    """ANNUAIRE_BASE_URL is the FHIR base of a running server (the suite runner sets it)."""
    base_url = os.environ.get("ANNUAIRE_BASE_URL")
    if not base_url:
        pytest.fail(
            "ANNUAIRE_BASE_URL is not set: start a server (annuaire serve --demo --listen ...) "
            "and set ANNUAIRE_BASE_URL to its FHIR base, e.g. http://127.0.0.1:8080/fhir"
        )
    violations = profile_check.check_server_resources(base_url)
    assert violations == [], summary(violations)


def summary(violations: list[str]) -> str:
    """Distinct violations (resource id left out) with their counts, then the first ones."""
    kinds = Counter(re.sub(r"\[\d+\]", "[i]", v.split(": ", 1)[-1]) for v in violations)
    lines = [f"{len(violations)} violations, {len(kinds)} distinct:"]
    lines += [f"{count:6} x {kind}" for kind, count in kinds.most_common()]
    lines += ["first ones:", *violations[:10]]
    return "\n".join(lines)
