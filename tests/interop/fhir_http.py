"""Plain HTTP access to the server under test, and the broad set of queries whose every answer
the validators check. No FHIR library here: this is what the tools are compared against."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

FHIR_JSON = "application/fhir+json"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Accept": FHIR_JSON, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        body = e.read()
        return e.code, json.loads(body) if body else {}


def search_url(base: str, rtype: str, params) -> str:
    return f"{base}/{rtype}?{urllib.parse.urlencode(params)}"


def next_link(bundle: dict) -> str | None:
    return next((l["url"] for l in bundle.get("link", []) if l.get("relation") == "next"), None)


def pages(url: str, limit: int = 1000) -> list[dict]:
    """Every page of a search, following `next`."""
    out = []
    while url and len(out) < limit:
        status, bundle = get(url)
        assert status == 200, f"GET {url} -> {status}: {bundle}"
        out.append(bundle)
        url = next_link(bundle)
    return out


def matches(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode", "match") == "match"]


def all_ids(url: str) -> tuple[set[str], list[str], int | None]:
    """(ids of the matches over every page, the same as a list in page order, total of page 1)."""
    ps = pages(url)
    ordered = [r["id"] for b in ps for r in matches(b)]
    return set(ordered), ordered, ps[0].get("total")


def validation_requests(base: str, ext) -> list[tuple[str, str, int]]:
    """(name, URL, expected status) of a broad set of requests; every response body (and every
    page of the searches) goes through the validators."""
    p = next(iter(ext.practitioners.values()))
    role = next(r for r in ext.roles.values() if r.organization)
    eg = next(o for o in ext.orgs.values() if o.id.startswith("eg-") and o.part_of)
    family3 = p.family[:3]
    # A social equipment (the richest HealthcareService: every extension) and a unit with its
    # ARHGOS number (as-dp-device), when the files have them.
    service = next((s for s in sorted(ext.services.values(), key=lambda s: s.id) if s.kind == "social"),
                   next(iter(ext.services.values())))
    device = next((d for d in sorted(ext.devices.values(), key=lambda d: d.id) if d.arhgos),
                  next(iter(ext.devices.values())))
    q = lambda t, **kw: search_url(base, t, kw)
    return [
        ("all Practitioners", q("Practitioner", _count=500), 200),
        ("all PractitionerRoles", q("PractitionerRole", _count=500), 200),
        ("all Organizations", q("Organization", _count=500), 200),
        ("include all", q("PractitionerRole", _count=100, _include="PractitionerRole:*"), 200),
        ("include iterate partof", base + "/PractitionerRole?_count=50&_include=PractitionerRole:organization"
         "&_include:iterate=Organization:partof", 200),
        ("revinclude roles", q("Practitioner", _count=100, _revinclude="PractitionerRole:practitioner"), 200),
        ("revinclude org roles", q("Organization", _count=50, _revinclude="PractitionerRole:organization"), 200),
        ("_elements", q("Practitioner", _count=100, _elements="identifier,name"), 200),
        ("_summary=true", q("Organization", _count=100, _summary="true"), 200),
        ("_summary=data", q("Practitioner", _count=50, _summary="data"), 200),
        ("_summary=text", q("Practitioner", _count=20, _summary="text"), 200),
        ("_summary=count", q("Practitioner", _summary="count"), 200),
        ("_total=accurate, _sort", q("Practitioner", family=family3, _total="accurate", _sort="-family,given"), 200),
        ("_count=0", q("Organization", _count=0), 200),
        ("chain", q("PractitionerRole", **{"organization.address-city": eg.city or "A"}), 200),
        ("_has", base + "/Practitioner?_has:PractitionerRole:practitioner:role=FON-01&_count=100", 200),
        ("unknown parameter (lenient: outcome entry)", q("Practitioner", foo="bar", _count=5), 200),
        ("empty result", q("Practitioner", family="zzzzzzzzz"), 200),
        ("malformed value -> OperationOutcome", q("Practitioner", _lastUpdated="notadate"), 400),
        ("bad _count -> OperationOutcome", q("Practitioner", _count="abc"), 400),
        ("read Practitioner", f"{base}/Practitioner/{p.id}", 200),
        ("read PractitionerRole", f"{base}/PractitionerRole/{role.id}", 200),
        ("read Organization", f"{base}/Organization/{eg.id}", 200),
        ("read legal entity", f"{base}/Organization/{eg.part_of}", 200),
        ("read unknown -> OperationOutcome", f"{base}/Practitioner/pp-0-0", 404),
        ("metadata", f"{base}/metadata", 200),
        ("SearchParameter", f"{base}/SearchParameter/Practitioner-identifier", 200),
        ("all HealthcareServices", q("HealthcareService", _count=500), 200),
        ("all Devices", q("Device", _count=500), 200),
        ("include HealthcareService:organization",
         q("HealthcareService", _count=50, _include="HealthcareService:organization"), 200),
        ("revinclude org services and devices", base + "/Organization?_count=50"
         "&_revinclude=HealthcareService:organization&_revinclude=Device:organization", 200),
        ("Device chain and _summary=true", q("Device", _summary="true", **{"organization.address-city": eg.city or "A"}), 200),
        ("read HealthcareService", f"{base}/HealthcareService/{service.id}", 200),
        ("read Device", f"{base}/Device/{device.id}", 200),
        ("SearchParameter Device-type", f"{base}/SearchParameter/Device-type", 200),
    ]


VALIDATION_NAMES = [
    "all Practitioners", "all PractitionerRoles", "all Organizations", "include all", "include iterate partof",
    "revinclude roles", "revinclude org roles", "_elements", "_summary=true", "_summary=data", "_summary=text",
    "_summary=count", "_total=accurate, _sort", "_count=0", "chain", "_has",
    "unknown parameter (lenient: outcome entry)", "empty result", "malformed value -> OperationOutcome",
    "bad _count -> OperationOutcome", "read Practitioner", "read PractitionerRole", "read Organization",
    "read legal entity", "read unknown -> OperationOutcome", "metadata", "SearchParameter",
    "all HealthcareServices", "all Devices", "include HealthcareService:organization",
    "revinclude org services and devices", "Device chain and _summary=true", "read HealthcareService",
    "read Device", "SearchParameter Device-type",
]

_RESPONSES: dict[tuple[str, str], list[tuple[str, dict]]] = {}


def validation_responses(base: str, ext, name: str) -> list[tuple[str, dict]]:
    """(label, body) of the response to one of validation_requests, every page of the "all ..."
    searches (so that every resource is validated once) and the first two pages of the others;
    fetched once per session and shared by the validators."""
    if (base, name) not in _RESPONSES:
        reqs = {n: (u, s) for n, u, s in validation_requests(base, ext)}
        assert sorted(reqs) == sorted(VALIDATION_NAMES)
        url, expected = reqs[name]
        out, page = [], 1
        while url and page <= (1000 if name.startswith("all ") else 2):
            status, body = get(url)
            assert status == expected, f"{name}: GET {url} -> {status}, expected {expected}: {body}"
            out.append((f"{name} (page {page}: {url})", body))
            url = next_link(body) if body.get("resourceType") == "Bundle" else None
            page += 1
        _RESPONSES[(base, name)] = out
    return _RESPONSES[(base, name)]


def resources_of(body: dict) -> list[dict]:
    """The response itself and, for a Bundle, every entry's resource."""
    out = [body]
    if body.get("resourceType") == "Bundle":
        out += [e["resource"] for e in body.get("entry", []) if "resource" in e]
    return out
