"""$validate against the live server (ANNUAIRE_BASE_URL, set by tests/interop/run.sh), compared
with the profile checker and the corpus manifest (tests/fixtures/validation/faults.json):

1. every corpus file POSTed to [type]/$validate, bare and as a Parameters, in JSON and (for the
   files with an XML twin) in XML: the (code, expression) pairs of the server's error issues equal
   the manifest's (rule -> issue code by the table of profiles/README.md) and the checker's;
2. a sample of what the server serves (profile_check.SERVER_SEARCHES, a few pages each): the
   checker and GET [type]/[id]/$validate both find no error;
3. 300 seeded mutants of the good files (one random edit each): the server's and the checker's
   error pairs are equal, mutant by mutant.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import profile_check

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "fixtures" / "validation"
MANIFEST = json.loads((CORPUS / "faults.json").read_text())
GOOD = sorted((CORPUS / "good").glob("*.json"))

# rule -> OperationOutcome issue.code: the checker's table (profiles/README.md).
ISSUE_CODES = profile_check.ISSUE_CODES
JSON_TYPE = "application/fhir+json"
XML_TYPE = "application/fhir+xml"
MUTANTS = 300
SEED = 20261207
PAGES = 2

Pairs = set[tuple[str, str]]


def base_url() -> str:
    base = os.environ.get("ANNUAIRE_BASE_URL")
    if not base:
        pytest.fail(
            "ANNUAIRE_BASE_URL is not set: run tests/interop/run.sh, or start a server and set it"
        )
    return base.rstrip("/")


def request(
    method: str, url: str, body: bytes | None = None, content_type: str = JSON_TYPE
) -> tuple[int, dict]:
    headers = {"Accept": JSON_TYPE}
    if body is not None:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def server_errors(status: int, outcome: dict, what: str) -> Pairs:
    """The (code, expression) pairs of the error issues of a $validate answer (200 whatever the
    verdict: R4 Resource-validate)."""
    assert status == 200, f"{what}: HTTP {status} {json.dumps(outcome)[:400]}"
    assert outcome.get("resourceType") == "OperationOutcome", f"{what}: {json.dumps(outcome)[:300]}"
    pairs = set()
    for issue in outcome.get("issue", []):
        if issue.get("severity") in ("error", "fatal"):
            expressions = issue.get("expression") or [""]
            pairs.add((issue.get("code", ""), expressions[0]))
    return pairs


def validate_json(rtype: str, resource: dict, as_parameters: bool = False) -> Pairs:
    body = resource
    if as_parameters:
        parameter = [{"name": "resource", "resource": resource}]
        body = {"resourceType": "Parameters", "parameter": parameter}
    status, outcome = request("POST", f"{base_url()}/{rtype}/$validate", json.dumps(body).encode())
    return server_errors(status, outcome, f"POST {rtype}/$validate")


def validate_xml(rtype: str, xml: str, as_parameters: bool = False) -> Pairs:
    if as_parameters:
        inner = re.sub(r"^<\?xml[^>]*>\s*", "", xml)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Parameters xmlns="http://hl7.org/fhir">'
            '<parameter><name value="resource"/><resource>'
            + inner
            + "</resource></parameter></Parameters>\n"
        )
    status, outcome = request("POST", f"{base_url()}/{rtype}/$validate", xml.encode(), XML_TYPE)
    return server_errors(status, outcome, f"POST {rtype}/$validate (XML)")


def checker_errors(resource) -> Pairs:
    return {
        (ISSUE_CODES[f.rule], f.expression)
        for f in profile_check.check_findings(resource)
        if f.severity in ("error", "fatal")
    }


def manifest_errors(entry: dict) -> Pairs:
    return {(ISSUE_CODES[e["rule"]], e["expression"]) for e in entry["expect"]}


def show(pairs: Pairs) -> str:
    return "; ".join(f"{c} @ {e}" for c, e in sorted(pairs)) or "(none)"


def load(path: Path):
    return getattr(profile_check, "loads", json.loads)(path.read_text())


CASES = [(f"good/{p.name}", set(), None) for p in GOOD] + [
    (e["file"], manifest_errors(e), e.get("xml")) for e in MANIFEST
]
GOOD_TWINS = {
    f"good/{p.stem}.json": f"xml/{p.stem}.xml"
    for p in GOOD
    if (CORPUS / "xml" / f"{p.stem}.xml").exists()
}
CASES = [(f, want, xml or GOOD_TWINS.get(f)) for f, want, xml in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_corpus_file_same_findings_from_server_checker_and_manifest(case):
    file, want, xml = case
    resource = load(CORPUS / file)
    rtype = resource["resourceType"]
    answers = {
        "manifest": want,
        "checker": checker_errors(resource),
        "server, bare JSON": validate_json(rtype, resource),
        "server, Parameters JSON": validate_json(rtype, resource, as_parameters=True),
    }
    if xml:
        text = (CORPUS / xml).read_text()
        answers["server, bare XML"] = validate_xml(rtype, text)
        answers["server, Parameters XML"] = validate_xml(rtype, text, as_parameters=True)
    differing = {name: got for name, got in answers.items() if got != want}
    assert not differing, f"{file}: expected {show(want)}\n" + "\n".join(
        f"  {name}: {show(got)}" for name, got in differing.items()
    )


# --- 2. what the server serves ---------------------------------------------------------------


def served_sample() -> dict[str, dict]:
    """`Type/id` -> resource, from the checker's searches, PAGES pages each."""
    sample = {}
    for search in profile_check.SERVER_SEARCHES:
        url = f"{base_url()}/{search}"
        for _ in range(PAGES):
            status, bundle = request("GET", url)
            assert status == 200, f"GET {url}: {status}"
            for entry in bundle.get("entry", []):
                if entry.get("search", {}).get("mode") == "outcome":
                    continue
                resource = entry["resource"]
                sample[f"{resource['resourceType']}/{resource['id']}"] = resource
            links = bundle.get("link", [])
            url = next((l["url"] for l in links if l.get("relation") == "next"), None)
            if url is None:
                break
    return sample


def test_served_resources_validate_clean_on_server_and_checker():
    sample = served_sample()
    assert {key.split("/")[0] for key in sample} >= {
        "Practitioner", "PractitionerRole", "Organization", "HealthcareService", "Device"
    }, sorted({key.split("/")[0] for key in sample})
    failures = []
    for key, resource in sorted(sample.items()):
        by_checker = checker_errors(resource)
        status, outcome = request("GET", f"{base_url()}/{key}/$validate")
        by_server = server_errors(status, outcome, f"GET {key}/$validate")
        if by_checker or by_server:
            failures.append(f"{key}: checker {show(by_checker)} | server {show(by_server)}")
    assert not failures, f"{len(failures)} of {len(sample)} served resources:\n" + "\n".join(
        failures[:20]
    )


# --- 3. seeded mutants -----------------------------------------------------------------------


def nodes(value, path=()):
    """Every (path, value) below the root, depth first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield path + (key,), child
            yield from nodes(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield path + (index,), child
            yield from nodes(child, path + (index,))


def parent_of(doc, path):
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


SYSTEMS = sorted({
    v
    for p in GOOD
    for path, v in nodes(json.loads(p.read_text()))
    if path and path[-1] == "system" and isinstance(v, str)
})


def mutate(doc: dict, rng: random.Random) -> str | None:
    """One random edit of `doc` in place; its description, or None when it found nothing to edit."""
    everything = [(p, v) for p, v in nodes(doc) if p[0] not in ("resourceType",)]
    kind = rng.choice(["drop", "duplicate", "rename", "system", "kind", "empty", "code"])
    if kind == "drop":
        path, _ = rng.choice(everything)
        del parent_of(doc, path)[path[-1]]
    elif kind == "duplicate":
        items = [(p, v) for p, v in everything if isinstance(v, list) and v]
        if not items:
            return None
        path, value = rng.choice(items)
        value.insert(rng.randrange(len(value) + 1), copy.deepcopy(rng.choice(value)))
    elif kind == "rename":
        keys = [(p, v) for p, v in everything if isinstance(p[-1], str)]
        path, value = rng.choice(keys)
        parent = parent_of(doc, path)
        del parent[path[-1]]
        parent[path[-1] + rng.choice(["x", "Code", "_"])] = value
    elif kind == "system":
        systems = [(p, v) for p, v in everything if p[-1] == "system" and isinstance(v, str)]
        if not systems:
            return None
        path, value = rng.choice(systems)
        parent_of(doc, path)[path[-1]] = rng.choice([s for s in SYSTEMS if s != value] or ["urn:x"])
    elif kind == "kind":
        leaves = [(p, v) for p, v in everything if isinstance(v, (str, bool, int, float))]
        path, value = rng.choice(leaves)
        swapped = {
            str: lambda v: 1,
            bool: lambda v: str(v).lower(),
            int: lambda v: str(v),
            float: lambda v: [v],
        }
        parent_of(doc, path)[path[-1]] = swapped[type(value)](value)
    elif kind == "empty":
        strings = [(p, v) for p, v in everything if isinstance(v, str)]
        path, _ = rng.choice(strings)
        parent_of(doc, path)[path[-1]] = ""
    else:
        coded = ("code", "valueCode", "status", "use")
        codes = [(p, v) for p, v in everything if p[-1] in coded and isinstance(v, str)]
        if not codes:
            return None
        path, value = rng.choice(codes)
        parent_of(doc, path)[path[-1]] = "ZZ" + value
    return f"{kind} {'.'.join(map(str, path))}"


def test_seeded_mutants_same_errors_on_server_and_checker():
    rng = random.Random(SEED)
    bases = [(p.name, json.loads(p.read_text())) for p in GOOD]
    differences, made = [], 0
    while made < MUTANTS:
        name, base = rng.choice(bases)
        mutant = copy.deepcopy(base)
        what = mutate(mutant, rng)
        if what is None or mutant.get("resourceType") != base["resourceType"]:
            continue
        made += 1
        by_checker = checker_errors(mutant)
        by_server = validate_json(base["resourceType"], mutant)
        if by_checker != by_server:
            differences.append(
                f"#{made} {name} {what}\n    checker only: {show(by_checker - by_server)}"
                f"\n    server only:  {show(by_server - by_checker)}"
            )
    head = f"{len(differences)} of {MUTANTS} mutants differ (first 15):\n"
    assert not differences, head + "\n".join(differences[:15])
