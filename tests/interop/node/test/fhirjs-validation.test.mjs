// FHIR.js (npm `fhir`): structure and required-binding validation (unexpected properties are
// errors) of every resource and Bundle returned by a set of requests; and rejection of the broken
// fixtures tests/interop/fixtures/broken/fhirjs-*.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fhirPkg from 'fhir';
import { get, nextLink, sampleRole } from './support.mjs';

const { Fhir } = fhirPkg;
const fhir = new Fhir(); // R4 structure definitions and value sets bundled with the package
const OPTIONS = { errorOnUnexpected: true };
const BROKEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'broken');

/** Error and fatal messages of FHIR.js for a resource (warnings: extensible/example bindings). */
function errorsOf(resource) {
  const result = fhir.validate(resource, OPTIONS);
  const errors = result.messages.filter((m) => m.severity === 'error' || m.severity === 'fatal');
  assert.equal(result.valid, errors.length === 0);
  return errors.map((m) => `${m.severity} ${m.location}: ${m.message}`);
}

const role = await sampleRole();
const REQUESTS = [
  ['all Practitioners', 'Practitioner?_count=500', 200, 100],
  ['all PractitionerRoles', 'PractitionerRole?_count=500', 200, 100],
  ['all Organizations', 'Organization?_count=500', 200, 100],
  ['_include=PractitionerRole:practitioner + organization', 'PractitionerRole?_count=100&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization', 200, 2],
  ['_include=* + :iterate', `PractitionerRole?_id=${role.role.id}&_include=*&_include:iterate=*`, 200, 1],
  ['_revinclude', 'Organization?_count=50&_revinclude=PractitionerRole:organization&_revinclude=Organization:partof', 200, 2],
  ['_elements', 'Organization?_count=100&_elements=name,address', 200, 2],
  ['_summary=true', 'Practitioner?_count=100&_summary=true', 200, 2],
  ['_summary=count', 'PractitionerRole?_summary=count', 200, 1],
  ['_sort + _total', 'Organization?_sort=-address-city,name&_total=accurate&_count=100', 200, 2],
  ['lenient unknown parameter (outcome entry)', 'Practitioner?foo=bar&_count=5', 200, 1],
  ['malformed value (400 OperationOutcome)', 'Practitioner?_lastUpdated=notadate', 400, 1],
  ['strict unknown parameter (400 OperationOutcome)', 'Practitioner?foo=bar', 400, 1, { Prefer: 'handling=strict' }],
  ['read PractitionerRole', `PractitionerRole/${role.role.id}`, 200, 1],
  ['read Practitioner', `Practitioner/${role.practitioner}`, 200, 1],
  ['read Organization', `Organization/${role.organization}`, 200, 1],
  ['unknown id (404 OperationOutcome)', 'Organization/eg-000000000', 404, 1],
  ['metadata', 'metadata', 200, 1],
  ['all HealthcareServices', 'HealthcareService?_count=500', 200, 100],
  ['all Devices', 'Device?_count=500', 200, 100],
  ['_revinclude HealthcareService + Device', 'Organization?_count=50&_revinclude=HealthcareService:organization&_revinclude=Device:organization', 200, 2],
  ['_include=HealthcareService:organization', 'HealthcareService?_count=50&_include=HealthcareService:organization', 200, 2],
];

for (const [name, first, expected, maxPages, headers] of REQUESTS) {
  test(`FHIR.js validates: ${name}`, async () => {
    const problems = [];
    let url = first;
    let pages = 0;
    let checked = 0;
    while (url && pages < maxPages) {
      const { status, body } = await get(url, headers);
      assert.equal(status, expected, `GET ${url} -> ${status}: ${JSON.stringify(body).slice(0, 300)}`);
      pages += 1;
      const resources = [body, ...(body.entry || []).map((e) => e.resource).filter(Boolean)];
      for (const r of resources) {
        checked += 1;
        for (const e of errorsOf(r)) problems.push(`${url} ${r.resourceType}/${r.id ?? ''}: ${e}`);
      }
      url = body.resourceType === 'Bundle' ? nextLink(body) : undefined;
    }
    assert.ok(checked > 0);
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} FHIR.js error(s)`);
  });
}

const broken = fs.readdirSync(BROKEN_DIR).filter((f) => f.startsWith('fhirjs-') && f.endsWith('.json')).sort();

test('FHIR.js broken fixtures exist', () => {
  assert.ok(broken.length >= 2, String(broken));
});

for (const file of broken) {
  test(`FHIR.js rejects the broken fixture ${file}`, () => {
    const resource = JSON.parse(fs.readFileSync(path.join(BROKEN_DIR, file), 'utf8'));
    assert.notDeepEqual(errorsOf(resource), [], `FHIR.js accepted ${file}`);
  });
}
