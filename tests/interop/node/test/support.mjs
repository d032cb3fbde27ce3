// Shared helpers of the node tests: the server under test (ANNUAIRE_BASE_URL, exported by
// tests/interop/run.sh) and plain fetch access to it, which the tools are compared against.
import assert from 'node:assert/strict';

export const BASE = (process.env.ANNUAIRE_BASE_URL || '').replace(/\/$/, '');
if (!BASE) throw new Error('ANNUAIRE_BASE_URL is not set (run tests/interop/run.sh)');

export async function get(url, headers = {}) {
  const res = await fetch(url.startsWith('http') ? url : `${BASE}/${url}`, {
    headers: { Accept: 'application/fhir+json', ...headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export const nextLink = (bundle) => (bundle.link || []).find((l) => l.relation === 'next')?.url;

export const matches = (bundle) =>
  (bundle.entry || []).filter((e) => (e.search?.mode ?? 'match') === 'match').map((e) => e.resource);

/** Ids of the matches over every page of a search, in order. */
export async function allIds(path) {
  const ids = [];
  let url = path;
  while (url) {
    const { status, body } = await get(url);
    assert.equal(status, 200, `GET ${url} -> ${status}`);
    ids.push(...matches(body).map((r) => r.id));
    url = nextLink(body);
  }
  return ids;
}

/** A PractitionerRole that has an organization, with its practitioner's and organization's ids. */
export async function sampleRole() {
  const { body } = await get('PractitionerRole?organization:missing=false&_count=1');
  const role = matches(body)[0];
  assert.ok(role, 'no PractitionerRole with an organization');
  return {
    role,
    practitioner: role.practitioner.reference.replace('Practitioner/', ''),
    organization: role.organization.reference.replace('Organization/', ''),
  };
}
