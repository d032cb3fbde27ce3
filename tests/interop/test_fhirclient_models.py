"""Python fhirclient (SMART on FHIR): its R4 models parse, strictly, every Bundle and resource the
server returns for the broad set of requests, and serialise them back to the same JSON (apart from
primitive-element extensions such as Address._line, which fhirclient does not model and drops).
The broken fixtures are rejected."""

import glob
import json
import os

import pytest
from fhirclient.models.fhirelementfactory import FHIRElementFactory

import extractions
import fhir_http

BROKEN = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fixtures", "broken", "fhirclient-*.json")))


def parse(resource: dict):
    """The fhirclient model instance (strict: unknown or missing-required elements and wrong types raise)."""
    return FHIRElementFactory.instantiate(resource["resourceType"], resource)


def without_primitive_extensions(value):
    if isinstance(value, dict):
        return {k: without_primitive_extensions(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [without_primitive_extensions(v) for v in value]
    return value


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:200]} became {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                return f"{path}.{k}: dropped (was {json.dumps(a[k])[:200]})"
            if k not in a:
                return f"{path}.{k}: added ({json.dumps(b[k])[:200]})"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
    elif a != b:
        return f"{path}: {a!r} became {b!r}"
    return None


@pytest.mark.parametrize("name", fhir_http.VALIDATION_NAMES)
def test_responses_parse_and_round_trip(base_url, extractions_dir, name):
    ext = extractions.load(extractions_dir)
    problems, checked = [], 0
    for label, body in fhir_http.validation_responses(base_url, ext, name):
        checked += 1
        try:
            model = parse(body)
            back = model.as_json()
        except Exception as e:
            problems.append(f"{label}: fhirclient rejects the {body.get('resourceType')}: {str(e)[:800]}")
            continue
        assert model.resource_type == body["resourceType"]
        if body.get("resourceType") == "Bundle":
            assert len(model.entry or []) == len(body.get("entry", []))
            for entry, raw in zip(model.entry or [], body.get("entry", [])):
                assert entry.resource.resource_type == raw["resource"]["resourceType"]
                assert entry.resource.id == raw["resource"].get("id")
        diff = first_difference(without_primitive_extensions(body), without_primitive_extensions(back))
        if diff:
            problems.append(f"{label}: as_json() differs from the response at {diff}")
    assert checked > 0
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:5])


def test_broken_fixtures_exist():
    assert len(BROKEN) >= 2, BROKEN


@pytest.mark.parametrize("path", BROKEN, ids=os.path.basename)
def test_broken_fixture_rejected(path):
    with open(path) as f:
        resource = json.load(f)
    with pytest.raises(Exception) as info:
        parse(resource).as_json()
    assert "FHIRValidationError" in type(info.value).__name__ or "Wrong type" in str(info.value) \
        or "is missing" in str(info.value) or "Superfluous" in str(info.value), str(info.value)
