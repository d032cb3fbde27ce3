"""The shared validation corpus (tests/fixtures/validation/) against the profile checker, offline:
every good file gives no error finding, every bad file exactly the (rule, expression) error pairs
its faults.json entry names (profiles/README.md, "Validation"). tests/validate_corpus.rs holds
the server's validator to the same manifest, so the two engines agree."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import profile_check

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "fixtures" / "validation"
MANIFEST = json.loads((CORPUS / "faults.json").read_text())
GOOD = sorted((CORPUS / "good").glob("*.json"))


def load(path: Path):
    """A corpus file as the checker reads JSON (duplicate keys refused, numbers kept exact)."""
    reader = getattr(profile_check, "loads", json.loads)
    return reader(path.read_text())


def pairs(findings, errors_only: bool = True) -> set[tuple[str, str]]:
    return {
        (f.rule, f.expression)
        for f in findings
        if not errors_only or f.severity in ("error", "fatal")
    }


def expected(entry: dict, key: str = "expect") -> set[tuple[str, str]]:
    return {(e["rule"], e["expression"]) for e in entry.get(key, [])}


def show(found: set[tuple[str, str]]) -> str:
    return "; ".join(f"{r} @ {e}" for r, e in sorted(found)) or "(none)"


def test_corpus_is_complete():
    assert len(GOOD) >= 21
    assert len(MANIFEST) >= 45
    on_disk = {f"bad/{p.name}" for p in (CORPUS / "bad").glob("*.json")}
    assert {e["file"] for e in MANIFEST} == on_disk


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_file_has_no_error(path):
    found = pairs(profile_check.check_findings(load(path)))
    assert not found, f"{path.name}: {show(found)}"


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["id"] for e in MANIFEST])
def test_bad_file_gives_its_manifest_findings(entry):
    findings = profile_check.check_findings(load(CORPUS / entry["file"]))
    got = pairs(findings)
    want = expected(entry)
    assert got == want, f"{entry['file']}\n  expected: {show(want)}\n  got:      {show(got)}"
    info = expected(entry, "info")
    assert info <= pairs(findings, errors_only=False), f"{entry['file']}: missing {show(info)}"


def test_corpus_is_what_make_corpus_writes(tmp_path):
    """The committed corpus is a fresh output of make_corpus.py (no hand edit drifts from it)."""
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    make_corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_corpus)
    make_corpus.write(tmp_path)
    for folder in ("good", "bad", "xml"):
        fresh = {p.name: p.read_bytes() for p in (tmp_path / folder).iterdir()}
        committed = {p.name: p.read_bytes() for p in (CORPUS / folder).iterdir()}
        assert sorted(fresh) == sorted(committed), folder
        stale = [name for name in fresh if fresh[name] != committed[name]]
        assert not stale, f"{folder}/ differs from make_corpus.py: {stale}"
    assert (tmp_path / "faults.json").read_bytes() == (CORPUS / "faults.json").read_bytes()
