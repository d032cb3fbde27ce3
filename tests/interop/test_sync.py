"""Synchronisation with tools nobody here wrote: a mirror kept in step by fhirpy across an import
of the next day, and the Bulk Data client of smart-fetch (SMART Health IT's bulk exporter)
exporting the directory in full and then only what changed.

run.sh serves day 1 of the generated directory on a server of its own (ANNUAIRE_SYNC_BASE_URL,
data in ANNUAIRE_SYNC_DATA) and generates day 2 (ANNUAIRE_DAY2_EXTRACTIONS); these tests import
day 2 into that server with the annuaire binary (ANNUAIRE_BIN) while it runs. They run in file
order: day 1 first, then the import, then the deltas."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import subprocess
import time
import urllib.parse

import cumulus_fhir_support as cfs
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient
from smart_fetch import bulk_utils, lifecycle

import fhir_http
import profile_check

TYPES = ("Practitioner", "PractitionerRole", "Organization", "HealthcareService", "Device")
HERE = os.path.dirname(__file__)


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set (run tests/interop/run.sh)")
    return value


@pytest.fixture(scope="module")
def sync_base() -> str:
    return env("ANNUAIRE_SYNC_BASE_URL").rstrip("/")


@pytest.fixture(scope="module")
def client(sync_base):
    return SyncFHIRClient(sync_base, extra_headers={"Accept": "application/fhir+json"})


def full_read(client) -> dict[tuple[str, str], dict]:
    """Every resource the server serves, by fhirpy's fetch_all (paging with `next`)."""
    out = {}
    for rtype in TYPES:
        for resource in client.resources(rtype).limit(1000).fetch_all():
            data = resource.serialize()
            out[(rtype, data["id"])] = data
    return out


def served_import_time(base: str) -> str:
    """The watermark of the generation being served: a searchset Bundle's meta.lastUpdated (the
    last millisecond of its stamp's second), what a client keeps to ask for what changed since."""
    status, bundle = fhir_http.get(f"{base}/Organization?_count=0")
    assert status == 200
    return bundle["meta"]["lastUpdated"]


def bulk_export(base: str, dest: str, since: str | None = None):
    """A whole Bulk Data export by smart-fetch's exporter: kick-off, polling, manifest,
    downloads, DELETE. Returns the exporter (its transaction_time) and the NDJSON resources by
    file kind."""

    os.makedirs(dest, exist_ok=True)

    async def run():
        async with cfs.FhirClient(base, set(TYPES)) as fhir:
            exporter = bulk_utils.BulkExporter(
                fhir, set(TYPES), base, dest, since=since, metadata=lifecycle.OutputMetadata(dest)
            )
            await exporter.export()
            return exporter

    exporter = asyncio.run(run())
    resources: dict[str, list[dict]] = {}
    for path in sorted(glob.glob(os.path.join(dest, "**", "*.ndjson*"), recursive=True)):
        name = os.path.basename(path)
        if name.startswith("log."):
            continue
        kind = "deleted" if os.sep + "deleted" + os.sep in path else name.split(".")[0]
        opener = __import__("gzip").open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            resources.setdefault(kind, []).extend(json.loads(line) for line in f if line.strip())
    return exporter, resources


def validate(resource: dict) -> str | None:
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        return None
    except Exception as e:  # pydantic.ValidationError
        return f"{type(e).__name__}: {e}"


@pytest.fixture(scope="module")
def profiles():
    return profile_check.ProfileSet.load(os.path.join(HERE, "..", "..", "profiles"))


def check_ndjson(resources: list[dict], profiles) -> None:
    """Each exported resource passes fhir.resources (R4B) and the profiles it claims
    (deactivated records keep the claim and every element the profiles require)."""
    errors = []
    for r in resources:
        err = validate(r)
        if err:
            errors.append(f"{r['resourceType']}/{r['id']}: {err[:300]}")
        errors.extend(f"{r['resourceType']}/{r['id']}: {v}" for v in profiles.check(r))
    assert not errors, f"{len(errors)} exported resources rejected:\n" + "\n".join(errors[:5])


class State:
    """What the tests of this file hand on to each other."""

    mirror: dict[tuple[str, str], dict] = {}
    day1_time: str = ""


def test_day1_mirror_and_full_bulk_export(client, sync_base, profiles, tmp_path):
    State.mirror = full_read(client)
    State.day1_time = served_import_time(sync_base)
    assert State.mirror, "day 1 is served"
    exporter, files = bulk_export(sync_base, str(tmp_path / "full"))
    # The export's transactionTime is the searches' watermark (`...:00.999Z`, `...:00.999000`).
    assert exporter.transaction_time.isoformat().startswith(State.day1_time.replace("Z", ""))
    exported = {(r["resourceType"], r["id"]): r for kind in TYPES for r in files.get(kind, [])}
    assert exported.keys() == State.mirror.keys(), "the export holds exactly what searches return"
    some = sorted(exported)[:: max(1, len(exported) // 50)]
    assert all(exported[k] == State.mirror[k] for k in some), "the same resources, byte for byte"
    check_ndjson(list(exported.values()), profiles)
    assert not files.get("deleted")


def test_day2_import_into_the_running_server(sync_base):
    day2 = env("ANNUAIRE_DAY2_EXTRACTIONS")

    def one(pattern: str) -> str:
        (path,) = glob.glob(os.path.join(day2, pattern))
        return path

    output = subprocess.run(
        [
            env("ANNUAIRE_BIN"), "import",
            "--rpps", one("PS_LibreAcces_Personne_activite_*.txt"),
            "--finess", *sorted(glob.glob(os.path.join(day2, "etalab-*.csv"))),
            "--mssante", one("Extraction_Correspondance_MSSante_*.txt"),
            "--savoir-faire", one("PS_LibreAcces_SavoirFaire_*.txt"),
            "--diplomes", one("PS_LibreAcces_Dipl_AutExerc_*.txt"),
            "--data", env("ANNUAIRE_SYNC_DATA"),
        ],
        capture_output=True, text=True, timeout=600,
    )
    assert output.returncode == 0, output.stdout + output.stderr
    assert "Import complete" in output.stdout
    deadline = time.time() + 30
    while served_import_time(sync_base) == State.day1_time:
        assert time.time() < deadline, "the server did not switch to day 2"
        time.sleep(0.2)


def test_the_mirror_applies_only_the_delta_and_ends_equal(client, sync_base):
    assert State.mirror, "the day-1 test ran first"
    mirror = dict(State.mirror)
    since = State.day1_time
    # Added, changed and deactivated resources: a _lastUpdated search per type, by fhirpy.
    changed = 0
    for rtype in TYPES:
        for resource in client.resources(rtype).search(_lastUpdated=f"gt{since}").limit(1000).fetch_all():
            data = resource.serialize()
            mirror[(rtype, data["id"])] = data
            changed += 1
    assert changed > 0, "day 2 changed something"
    # Deletions (after the retention): the DELETE entries of the system history since the
    # watermark, kept as it was served (the README's recipe: no client-side arithmetic).
    url = f"{sync_base}/_history?" + urllib.parse.urlencode({"_since": since, "_count": 1000})
    newest_first: dict[tuple[str, str], dict] = {}
    for page in fhir_http.pages(url):
        assert page["type"] == "history"
        for entry in page.get("entry", []):
            rtype, rid = entry["fullUrl"].rsplit("/", 2)[-2:]
            newest_first.setdefault((rtype, rid), entry)
    for key, entry in newest_first.items():
        if entry["request"]["method"] == "DELETE":
            mirror.pop(key, None)
        else:
            assert mirror.get(key) == entry["resource"], f"{key}: the history agrees with the search delta"
    # The mirror equals a fresh full read of day 2, resource for resource.
    fresh = full_read(client)
    assert mirror.keys() == fresh.keys()
    different = [k for k in fresh if fresh[k] != mirror[k]]
    assert not different, f"{len(different)} resources differ, e.g. {different[:3]}"
    # And the deactivated records are there, as the ANS API serves closed ones.
    persons_side = ("Practitioner", "PractitionerRole", "Organization")
    deactivated = [r for r in fresh.values() if r.get("active") is False and r["resourceType"] in persons_side]
    assert deactivated, "day 2 retired some persons"
    for r in deactivated:
        assert "identifier" in r, r
        assert "qualification" not in r and "telecom" not in r and "address" not in r, r
        # Kept to find and name them (mapping.md "`active` and disappearing records").
        if r["resourceType"] == "PractitionerRole":
            assert "practitioner" in r, r
    assert any("name" in r for r in deactivated if r["resourceType"] == "Practitioner")
    # Day 2 ends a healthcare activity authorisation and removes a heavy equipment unit (the
    # generator forces one of each every day): kept, closed, with what names them.
    changed_keys = {k for k in fresh if k not in State.mirror or fresh[k] != State.mirror[k]}
    closed_activities = [fresh[k] for k in changed_keys if k[0] == "HealthcareService"
                         and k[1].startswith("asr-") and fresh[k].get("active") is False]
    assert closed_activities, "day 2 closed an activity"
    for r in closed_activities:
        assert "providedBy" in r and "type" in r, r
    removed_units = [fresh[k] for k in changed_keys if k[0] == "Device" and fresh[k].get("status") == "inactive"]
    assert removed_units, "day 2 removed a heavy equipment unit"
    for r in removed_units:
        assert "owner" in r and "type" in r and "active" not in r, r
    assert any(k[0] == "Device" and k not in State.mirror for k in fresh), "day 2 added a unit"


def test_bulk_export_since_day1_is_the_delta(sync_base, profiles, tmp_path):
    exporter, files = bulk_export(sync_base, str(tmp_path / "delta"), since=State.day1_time)
    exported = {(r["resourceType"], r["id"]): r for kind in TYPES for r in files.get(kind, [])}
    status, _ = fhir_http.get(f"{sync_base}/metadata")
    assert status == 200
    expected = set()
    for rtype in TYPES:
        ids, _, _ = fhir_http.all_ids(
            fhir_http.search_url(sync_base, rtype, {"_lastUpdated": f"gt{State.day1_time}", "_count": 1000}))
        expected |= {(rtype, i) for i in ids}
    assert exported.keys() == expected, "exactly what changed since day 1"
    assert any(r.get("active") is False for r in exported.values()), "deactivations come as changes"
    check_ndjson(list(exported.values()), profiles)
    assert not files.get("deleted"), "nothing passed the 30-day retention in one day"
