"""FHIR R4 JSON representation rules (https://hl7.org/fhir/R4/json.html) on every response of the
broad set of requests: no empty arrays, objects or strings, no null outside the primitive-extension
arrays, and a `_x` array as long as its `x` array. The off-the-shelf validators do not check these."""

import pytest

import extractions
import fhir_http


def violations(value, path="$"):
    out = []
    if isinstance(value, dict):
        if not value:
            out.append(f"{path}: empty object")
        for k, v in value.items():
            if v is None:
                out.append(f"{path}.{k}: null")
                continue
            if k.startswith("_") and isinstance(v, list):
                base = value.get(k[1:])
                if isinstance(base, list) and len(base) != len(v):
                    out.append(f"{path}.{k}: {len(v)} items but {k[1:]} has {len(base)}")
                if all(x is None for x in v):
                    out.append(f"{path}.{k}: only nulls")
                out += [p for i, x in enumerate(v) if x is not None for p in violations(x, f"{path}.{k}[{i}]")]
                continue
            out += violations(v, f"{path}.{k}")
    elif isinstance(value, list):
        if not value:
            out.append(f"{path}: empty array")
        for i, x in enumerate(value):
            out += [f"{path}[{i}]: null"] if x is None else violations(x, f"{path}[{i}]")
    elif isinstance(value, str) and value.strip() == "":
        out.append(f"{path}: empty or blank string")
    return out


def test_rules_catch_violations():
    bad = {"resourceType": "Practitioner", "name": [], "telecom": [{}], "gender": None, "id": " ",
           "address": [{"line": ["a", "b"], "_line": [None]}]}
    found = violations(bad)
    assert len(found) == 6, found
    assert violations({"resourceType": "Practitioner", "name": [{"family": "X"}],
                       "address": [{"line": ["a", "b"], "_line": [None, {"extension": [{"url": "u", "valueString": "v"}]}]}]}) == []


@pytest.mark.parametrize("name", fhir_http.VALIDATION_NAMES)
def test_responses_follow_json_rules(base_url, extractions_dir, name):
    ext = extractions.load(extractions_dir)
    problems = []
    for label, body in fhir_http.validation_responses(base_url, ext, name):
        problems += [f"{label}: {v}" for v in violations(body)]
    assert not problems, f"{len(problems)} violation(s):\n" + "\n".join(problems[:10])
