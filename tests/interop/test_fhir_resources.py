"""fhir.resources (its R4B models, pydantic) validates the structure of every resource and Bundle
the server returns for a broad set of requests, and rejects the broken fixtures."""

import glob
import json
import os

import pytest
from fhir.resources.R4B import get_fhir_model_class

import extractions
import fhir_http

BROKEN = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fixtures", "broken", "fhir-resources-*.json")))


def validate(resource: dict) -> str | None:
    """None if fhir.resources accepts the resource, else its error text."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        return None
    except Exception as e:  # pydantic.ValidationError, or KeyError for an unknown resourceType
        return f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("name", fhir_http.VALIDATION_NAMES)
def test_responses_validate(base_url, extractions_dir, name):
    ext = extractions.load(extractions_dir)
    errors, checked = [], 0
    for label, body in fhir_http.validation_responses(base_url, ext, name):
        checked += 1
        if validate(body) is None:  # a Bundle's validation covers its entries
            continue
        # name the culprits: the response and each entry on its own
        for res in fhir_http.resources_of(body):
            err = validate(res)
            if err:
                errors.append(f"{label} {res.get('resourceType')}/{res.get('id')}: {err[:600]}")
        if not errors:
            errors.append(f"{label}: the Bundle is rejected: {validate(body)[:600]}")
    assert checked > 0
    assert not errors, f"{len(errors)} rejected by fhir.resources R4B:\n" + "\n".join(errors[:5])


def test_broken_fixtures_exist():
    assert len(BROKEN) >= 2, BROKEN


@pytest.mark.parametrize("path", BROKEN, ids=os.path.basename)
def test_broken_fixture_rejected(path):
    with open(path) as f:
        resource = json.load(f)
    err = validate(resource)
    assert err is not None, f"fhir.resources accepted the broken fixture {os.path.basename(path)}"
