"""FHIR XML: every response shape of the validation request set, plus vread and history, is
fetched as XML (Accept: application/fhir+xml) and as JSON; fhir.resources (R4B models) reads
the XML with its own XML reader, and the model must equal the one it reads from the JSON. The
elements must also come in the order of the definitions: the same sequence of elements and
attributes as fhir.resources' own XML writer, which follows them, produces for that model."""

import urllib.error
import urllib.request

import pytest
from fhir.resources.R4B import get_fhir_model_class
from lxml import etree

import extractions
import fhir_http

FHIR_XML = "application/fhir+xml"


def get_xml(url: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": FHIR_XML})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def extra_requests(base: str, ext) -> list[tuple[str, str, int]]:
    p = next(iter(ext.practitioners.values()))
    return [
        ("vread", f"{base}/Practitioner/{p.id}/_history/1", 200),
        ("instance history", f"{base}/Practitioner/{p.id}/_history", 200),
        ("system history", f"{base}/_history?_count=20", 200),
        ("SearchParameter search", f"{base}/SearchParameter", 200),
    ]


def requests(base: str, ext) -> list[tuple[str, str, int]]:
    return fhir_http.validation_requests(base, ext) + extra_requests(base, ext)


NAMES = fhir_http.VALIDATION_NAMES + ["vread", "instance history", "system history", "SearchParameter search"]


def element_sequence(xml) -> list[tuple[str, tuple[str, ...]]]:
    """Every element in document order, with the names of its attributes (values aside:
    the two writers format instants and escape quotes differently)."""
    if isinstance(xml, str):
        xml = xml.encode()
    return [(el.tag, tuple(sorted(el.attrib))) for el in etree.fromstring(xml).iter()]


@pytest.mark.parametrize("name", NAMES)
def test_xml_reads_as_the_json(base_url, extractions_dir, name):
    ext = extractions.load(extractions_dir)
    url, expected = next((u, s) for n, u, s in requests(base_url, ext) if n == name)
    status, body = fhir_http.get(url)
    assert status == expected, f"{url}: {status}"
    xml_status, content_type, xml = get_xml(url)
    assert xml_status == expected, f"{url} as XML: {xml_status}"
    assert content_type.startswith(FHIR_XML), content_type
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), xml[:100]
    model = get_fhir_model_class(body["resourceType"])
    from_json = model.model_validate(body).model_dump(mode="json", exclude_none=True)
    read_back = model.model_validate_xml(xml)
    from_xml = read_back.model_dump(mode="json", exclude_none=True)
    assert from_xml == from_json, f"{url}: the XML reads differently from the JSON"
    ours, in_order = element_sequence(xml), element_sequence(read_back.model_dump_xml())
    first_difference = next((i for i, (a, b) in enumerate(zip(ours, in_order)) if a != b), None)
    assert ours == in_order, (
        f"{url}: elements out of definition order at element {first_difference}: "
        f"{ours[first_difference - 2:first_difference + 3] if first_difference else len(ours)} vs "
        f"{in_order[first_difference - 2:first_difference + 3] if first_difference else len(in_order)}"
    )
