// npm fhirclient (SMART on FHIR JS client), server-side (node) usage against an open server:
// smart(req, res).client(serverUrl) inside a request handler, client.request with pageLimit/flat/
// onPage/resolveReferences; and the stateless smart.FhirClient (getFhirVersion, pages, resources).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import smart from 'fhirclient';
import { BASE, allIds, matches, sampleRole } from './support.mjs';

/** Runs fn(client) inside a real node request handler, as a server-side app does. */
async function insideRequest(fn) {
  let outcome;
  const server = http.createServer(async (req, res) => {
    try {
      const client = smart(req, res).client(BASE);
      outcome = { value: await fn(client) };
    } catch (error) {
      outcome = { error };
    }
    res.end('done');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fetch(`http://127.0.0.1:${server.address().port}/app`).then((r) => r.text());
  } finally {
    server.close();
  }
  if (outcome.error) throw outcome.error;
  return outcome.value;
}

test('fhirclient: client.request of a search, one page by default', async () => {
  const bundle = await insideRequest((c) => c.request('Practitioner?_count=10'));
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(matches(bundle).length, 10);
  assert.ok(bundle.total > 10);
});

test('fhirclient: pageLimit 0 + flat returns every resource of every page', async () => {
  const resources = await insideRequest((c) =>
    c.request('PractitionerRole?_count=250', { pageLimit: 0, flat: true }),
  );
  const ids = resources.map((r) => r.id);
  assert.deepEqual(ids, await allIds('PractitionerRole?_count=1000'));
  assert.equal(new Set(ids).size, ids.length);
});

test('fhirclient: onPage sees each page in order', async () => {
  const pages = [];
  await insideRequest((c) =>
    c.request('Organization?_count=200', { pageLimit: 3, onPage: (page) => pages.push(page) }),
  );
  assert.equal(pages.length, 3);
  const ids = pages.flatMap((p) => matches(p).map((r) => r.id));
  assert.deepEqual(ids, (await allIds('Organization?_count=600')).slice(0, 600));
});

test('fhirclient: resolveReferences inlines the practitioner and organization of a role', async () => {
  const { role, practitioner, organization } = await sampleRole();
  const resolved = await insideRequest((c) =>
    c.request(`PractitionerRole/${role.id}`, { resolveReferences: ['practitioner', 'organization'] }),
  );
  assert.equal(resolved.practitioner.resourceType, 'Practitioner');
  assert.equal(resolved.practitioner.id, practitioner);
  assert.equal(resolved.organization.resourceType, 'Organization');
  assert.equal(resolved.organization.id, organization);
});

test('fhirclient: a 404 read rejects with an HttpError carrying the OperationOutcome', async () => {
  await assert.rejects(
    insideRequest((c) => c.request('Practitioner/pp-0-0')),
    (err) => {
      assert.equal(err.status ?? err.statusCode, 404);
      assert.match(String(err.message), /not known|404|Not Found/i);
      return true;
    },
  );
});

test('fhirclient: stateless FhirClient getFhirVersion, pages and resources', async () => {
  const client = new smart.FhirClient(BASE);
  assert.equal(await client.getFhirVersion(), '4.0.1');
  let pageCount = 0;
  const ids = [];
  for await (const page of client.pages(`${BASE}/Organization?_count=300`)) {
    pageCount += 1;
    ids.push(...matches(page).map((r) => r.id));
  }
  assert.ok(pageCount >= 2, `${pageCount} pages`);
  assert.deepEqual(ids, await allIds('Organization?_count=1000'));
  const some = [];
  for await (const r of client.resources(`${BASE}/Practitioner?_count=7`, { limit: 20 })) some.push(r.id);
  assert.deepEqual(some, (await allIds('Practitioner?_count=1000')).slice(0, 20));
});

test('fhirclient: resolveReferences follows a HealthcareService to its establishment', async () => {
  const [service] = await insideRequest((c) =>
    c.request('HealthcareService?_count=1', { pageLimit: 1, flat: true }),
  );
  assert.ok(service, 'no HealthcareService');
  const resolved = await insideRequest((c) =>
    c.request(`HealthcareService/${service.id}`, { resolveReferences: ['providedBy'] }),
  );
  assert.equal(resolved.providedBy.resourceType, 'Organization');
  assert.equal(`Organization/${resolved.providedBy.id}`, service.providedBy.reference);
});
