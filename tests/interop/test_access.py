"""Access control seen by a client written for the ANS API: the same annuaire-sante-fhir client,
unchanged, against a server that requires an API key in the ANS gateway's ESANTE-API-KEY header
(run.sh starts it on a copy of the data, with MSSanté telecoms restricted). With the right key it
gets the same resources as from the open server, redacted; with a wrong key it is refused."""

import json
import os
import time
import urllib.error
import urllib.request

import pytest
from annuairesante import AnnuaireSanteClient


@pytest.fixture(scope="module")
def secured():
    url = os.environ.get("ANNUAIRE_SECURED_BASE_URL")
    key = os.environ.get("ANNUAIRE_SECURED_API_KEY")
    if not url or not key:
        pytest.fail("ANNUAIRE_SECURED_BASE_URL / ANNUAIRE_SECURED_API_KEY not set (run tests/interop/run.sh)")
    return url.rstrip("/"), key


def get(url, key=None):
    request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
    if key is not None:
        request.add_header("ESANTE-API-KEY", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_the_ans_client_with_its_key_gets_what_the_open_server_serves(secured, base_url):
    url, key = secured
    with AnnuaireSanteClient(api_key=key, base_url=url) as client:
        bundle = client.organization.search(_count=20)
        secured_ids = [r["id"] for r in bundle.entries]
    status, open_bundle = get(f"{base_url}/Organization?_count=20")
    assert status == 200
    open_ids = [e["resource"]["id"] for e in open_bundle["entry"]]
    assert len(secured_ids) == 20 and secured_ids == open_ids


def test_no_key_or_a_wrong_key_is_refused_with_401_and_an_operation_outcome(secured):
    url, _ = secured
    for key in (None, "not-the-key"):
        status, body = get(f"{url}/Practitioner?_count=1", key)
        assert status == 401
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["code"] == "login"
    with AnnuaireSanteClient(api_key="not-the-key", base_url=url) as client:
        with pytest.raises(Exception):
            client.practitioner.search(_count=1)


def test_restricted_telecoms_are_redacted_and_not_searchable(secured, base_url):
    url, key = secured
    status, open_bundle = get(f"{base_url}/Practitioner?mailbox-mss:missing=false&_count=5")
    assert status == 200 and open_bundle.get("entry"), "the open server has practitioners with mailboxes"
    for entry in open_bundle["entry"]:
        pid = entry["resource"]["id"]
        mailboxes = [t["value"] for t in entry["resource"].get("telecom", []) if "value" in t]
        assert mailboxes
        status, seen = get(f"{url}/Practitioner/{pid}", key)
        assert status == 200
        text = json.dumps(seen)
        assert "telecom" not in seen and not any(m in text for m in mailboxes)
        assert any(label["code"] == "REDACTED" for label in seen["meta"]["security"])
    status, body = get(f"{url}/Practitioner?mailbox-mss:missing=false", key)
    assert status == 403 and body["issue"][0]["code"] == "forbidden"


def test_metadata_is_open_and_declares_its_security(secured):
    url, _ = secured
    status, cs = get(f"{url}/metadata")
    assert status == 200
    assert "ESANTE-API-KEY" in cs["rest"][0]["security"]["description"]


def test_the_audit_trail_names_the_key_and_never_holds_it(secured):
    url, key = secured
    get(f"{url}/Organization?_count=1", key)
    path = os.environ["ANNUAIRE_SECURED_AUDIT"]
    lines = []
    for _ in range(50):
        lines = open(path, encoding="utf-8").read().splitlines() if os.path.exists(path) else []
        if any('"name":"interop"' in line for line in lines):
            break
        time.sleep(0.1)
    records = [json.loads(line) for line in lines]
    assert any(r["caller"].get("name") == "interop" and r["status"] == 200 for r in records)
    assert all(key not in line for line in lines)
