"""Fixtures of the interoperability suite: where the server is, where its data came from.

tests/interop/run.sh starts the server and exports both variables; to run pytest alone against a
server of your own, export them yourself."""

import os

import pytest


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("ANNUAIRE_BASE_URL")
    if not url:
        pytest.fail("ANNUAIRE_BASE_URL is not set (run tests/interop/run.sh)")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def extractions_dir() -> str:
    d = os.environ.get("ANNUAIRE_EXTRACTIONS")
    if not d or not os.path.isdir(d):
        pytest.fail("ANNUAIRE_EXTRACTIONS is not set to the generated files' directory (run tests/interop/run.sh)")
    return d
