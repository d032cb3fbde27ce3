// FHIR.js (npm `fhir`) reads the server's FHIR XML with its own XML reader (xmlToObj): for a set
// of response shapes, the object it makes equals the JSON the server answers to the same request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fhirPkg from 'fhir';
import { BASE, get, sampleRole } from './support.mjs';

const { Fhir } = fhirPkg;
const fhir = new Fhir();

async function getXml(path) {
  const res = await fetch(`${BASE}/${path}`, { headers: { Accept: 'application/fhir+xml' } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const role = await sampleRole();
const SHAPES = [
  ['search with includes', 'PractitionerRole?_count=20&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization'],
  ['search of organizations', 'Organization?_count=20'],
  ['read PractitionerRole', `PractitionerRole/${role.role.id}`],
  ['read Practitioner', `Practitioner/${role.practitioner}`],
  ['read Organization', `Organization/${role.organization}`],
  ['history', `Practitioner/${role.practitioner}/_history`],
  ['metadata', 'metadata'],
  ['search of healthcare services', 'HealthcareService?_count=20'],
  ['search of devices with their owners', 'Device?_count=20&_include=Device:organization'],
  ['OperationOutcome (404)', 'Organization/eg-000000000'],
];

for (const [name, path] of SHAPES) {
  test(`FHIR.js reads the XML as the JSON: ${name}`, async () => {
    const json = await get(path);
    const xml = await getXml(path);
    assert.equal(xml.status, json.status);
    assert.match(xml.type, /^application\/fhir\+xml/);
    assert.deepEqual(fhir.xmlToObj(xml.text), json.body);
  });
}
