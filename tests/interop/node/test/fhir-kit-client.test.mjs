// fhir-kit-client (npm): capabilityStatement, search, read, nextPage/prevPage across several
// pages, errors, compared with direct queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, CapabilityTool } from 'fhir-kit-client';
import { BASE, allIds, matches, sampleRole } from './support.mjs';

const client = new Client({ baseUrl: BASE, customHeaders: { 'ESANTE-API-KEY': 'any' } });

test('fhir-kit-client: capabilityStatement', async () => {
  const cs = await client.capabilityStatement();
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');
  const types = cs.rest[0].resource.map((r) => r.type);
  const served = ['Practitioner', 'PractitionerRole', 'Organization', 'HealthcareService', 'Device'];
  for (const t of served) assert.ok(types.includes(t), t);
  const tool = new CapabilityTool(cs);
  for (const t of served) {
    assert.ok(tool.resourceCan(t, 'read'), `${t} read`);
    assert.ok(tool.resourceCan(t, 'search-type'), `${t} search-type`);
  }
  assert.ok(tool.resourceSearch('PractitionerRole', 'practitioner'));
  assert.ok(tool.resourceSearch('Organization', 'address-city'));
  assert.ok(tool.resourceSearch('HealthcareService', 'service-type'));
  assert.ok(tool.resourceSearch('Device', 'type'));
  assert.ok(!tool.resourceCan('Practitioner', 'create'), 'a read-only server does not declare create');
});

test('fhir-kit-client: search equals a direct query', async () => {
  const { practitioner } = await sampleRole();
  const bundle = await client.search({ resourceType: 'PractitionerRole', searchParams: { practitioner } });
  assert.equal(bundle.resourceType, 'Bundle');
  assert.deepEqual(matches(bundle).map((r) => r.id), await allIds(`PractitionerRole?practitioner=${practitioner}`));
  assert.ok(bundle.total >= 1);
});

test('fhir-kit-client: read each type', async () => {
  const { role, practitioner, organization } = await sampleRole();
  assert.equal((await client.read({ resourceType: 'PractitionerRole', id: role.id })).id, role.id);
  assert.equal((await client.read({ resourceType: 'Practitioner', id: practitioner })).id, practitioner);
  assert.equal((await client.read({ resourceType: 'Organization', id: organization })).id, organization);
});

test('fhir-kit-client: read of an unknown id rejects with a 404 OperationOutcome', async () => {
  await assert.rejects(client.read({ resourceType: 'Practitioner', id: 'pp-0-0' }), (err) => {
    assert.equal(err.response?.status, 404);
    assert.equal(err.response?.data?.resourceType, 'OperationOutcome');
    return true;
  });
});

test('fhir-kit-client: nextPage over every page, then prevPage back', async () => {
  let bundle = await client.search({ resourceType: 'Organization', searchParams: { _count: 97 } });
  const total = bundle.total;
  const ids = matches(bundle).map((r) => r.id);
  const pages = [bundle];
  for (;;) {
    const next = client.nextPage({ bundle });
    if (!next) break;
    bundle = await next;
    ids.push(...matches(bundle).map((r) => r.id));
    pages.push(bundle);
  }
  assert.ok(pages.length >= 3, `only ${pages.length} pages`);
  assert.equal(ids.length, total);
  assert.equal(new Set(ids).size, total);
  assert.deepEqual(ids, await allIds('Organization?_count=500'));
  const back = await client.prevPage({ bundle: pages[pages.length - 1] });
  assert.deepEqual(matches(back).map((r) => r.id), matches(pages[pages.length - 2]).map((r) => r.id));
});

test('fhir-kit-client: malformed search rejects with a 400 OperationOutcome naming the parameter', async () => {
  await assert.rejects(
    client.search({ resourceType: 'Practitioner', searchParams: { _lastUpdated: 'notadate' } }),
    (err) => {
      assert.equal(err.response?.status, 400);
      assert.match(JSON.stringify(err.response?.data), /_lastUpdated/);
      return true;
    },
  );
});

test('fhir-kit-client: POST _search (postSearch) equals the GET search', async () => {
  const { organization } = await sampleRole();
  const searchParams = { organization: `Organization/${organization}`, _count: 500 };
  const viaPost = await client.search({ resourceType: 'PractitionerRole', searchParams, options: { postSearch: true } });
  const viaGet = await client.search({ resourceType: 'PractitionerRole', searchParams });
  assert.ok(matches(viaGet).length >= 1);
  assert.deepEqual(matches(viaPost).map((r) => r.id), matches(viaGet).map((r) => r.id));
  assert.equal(viaPost.total, viaGet.total);
});
