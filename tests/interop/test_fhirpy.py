"""fhirpy (sync client): search builder, count(), fetch(), fetch_all() across pages, first(),
get(), _include / _revinclude / _elements / _sort, against direct queries and the extraction files."""

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

import extractions
import fhir_http


@pytest.fixture(scope="module")
def client(base_url):
    return SyncFHIRClient(base_url, extra_headers={"Accept": "application/fhir+json"})


@pytest.fixture(scope="module")
def ext(extractions_dir):
    return extractions.load(extractions_dir)


def test_count_every_type(client, ext):
    assert client.resources("Practitioner").count() == len(ext.practitioners)
    assert client.resources("PractitionerRole").count() == len(ext.roles)
    assert client.resources("Organization").count() == len(ext.orgs)
    assert client.resources("HealthcareService").count() == len(ext.services)
    assert client.resources("Device").count() == len(ext.devices)


def test_fetch_all_pages(client, ext):
    got = client.resources("PractitionerRole").limit(250).fetch_all()
    ids = [r.id for r in got]
    assert len(ids) == len(set(ids)) == len(ext.roles)
    assert set(ids) == set(ext.roles)


def test_search_builder_matches_direct(client, base_url, ext):
    p = next(p for p in ext.practitioners.values() if p.id_type == "8")
    ss = client.resources("Practitioner").search(identifier=f"https://rpps.esante.gouv.fr|{p.rpps}")
    assert [r.id for r in ss.fetch_all()] == fhir_http.all_ids(
        fhir_http.search_url(base_url, "Practitioner", {"identifier": f"https://rpps.esante.gouv.fr|{p.rpps}"}))[1]
    family = p.family[:3]
    ss = client.resources("Practitioner").search(family=family).sort("family", "-given").limit(5)
    direct = fhir_http.all_ids(fhir_http.search_url(base_url, "Practitioner",
                                                    {"family": family, "_sort": "family,-given", "_count": 5}))[1]
    assert [r.id for r in ss.fetch_all()] == direct
    assert ss.count() == len(direct)


def test_first_get_and_not_found(client, ext):
    p = next(iter(ext.practitioners.values()))
    assert client.resources("Practitioner").search(_id=p.id).get().id == p.id
    assert client.reference("Practitioner", p.id).to_resource().id == p.id
    assert client.resources("Practitioner").search(_id=p.id).first().id == p.id
    with pytest.raises(ResourceNotFound):
        client.resources("Practitioner").search(_id="pp-0-0").get()


def test_include_star(client, ext):
    role = next(r for r in ext.roles.values() if r.organization)
    raw = client.resources("PractitionerRole").search(_id=role.id).include("PractitionerRole", "*").fetch_raw()
    got = {(e.resource.resourceType, e.resource.id) for e in raw.entry}
    assert got == {("PractitionerRole", role.id), ("Practitioner", role.practitioner),
                   ("Organization", role.organization)}


def test_include_typed(client, ext):
    role = next(r for r in ext.roles.values() if r.organization)
    raw = (client.resources("PractitionerRole").search(_id=role.id)
           .include("PractitionerRole", "organization").fetch_raw())
    got = {(e.resource.resourceType, e.resource.id) for e in raw.entry}
    assert got == {("PractitionerRole", role.id), ("Organization", role.organization)}


def test_revinclude(client, ext):
    pid = next(r.practitioner for r in ext.roles.values())
    raw = client.resources("Practitioner").search(_id=pid).revinclude("PractitionerRole", "practitioner").fetch_raw()
    roles = {e.resource.id for e in raw.entry if e.resource.resourceType == "PractitionerRole"}
    assert roles == {r.id for r in ext.roles.values() if r.practitioner == pid}
    assert [e.search.mode for e in raw.entry if e.resource.resourceType == "Practitioner"] == ["match"]


def test_elements(client, ext):
    got = client.resources("Practitioner").elements("name").limit(20).fetch()
    assert len(got) == 20
    for r in got:
        assert set(r.keys()) <= {"resourceType", "id", "meta", "name"}, sorted(r.keys())
        assert r.id in ext.practitioners


def test_bad_query_raises_operation_outcome(client):
    with pytest.raises(OperationOutcome) as info:
        client.resources("Practitioner").search(_lastUpdated="not-a-date").fetch()
    assert "_lastUpdated" in str(info.value)


def test_revinclude_services_and_devices_of_an_establishment(client, ext):
    site = next(d.organization for d in sorted(ext.devices.values(), key=lambda d: d.id))
    raw = (client.resources("Organization").search(_id=site)
           .revinclude("HealthcareService", "organization").revinclude("Device", "organization").fetch_raw())
    got = {(e.resource.resourceType, e.resource.id) for e in raw.entry}
    want = ({("Organization", site)}
            | {("HealthcareService", s.id) for s in ext.services.values() if s.organization == site}
            | {("Device", d.id) for d in ext.devices.values() if d.organization == site})
    assert got == want
