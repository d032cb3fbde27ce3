// `Practitioner/$identify` as a telehealth platform uses it: it has just signed a professional in
// with the provider, holds their access token, reads `SubjectNameID` from it, and asks annuaire
// in one request who this is: the Practitioner, their active PractitionerRoles, their
// Organizations, and the mailboxes the caller may see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, claimsOf, platformToken, setting } from './support.mjs';

const expected = () => JSON.parse(readFileSync(setting('OIDC_EXPECTED'), 'utf8'));

async function identify(token, identifier) {
  return api(`/fhir/Practitioner/$identify?identifier=${encodeURIComponent(identifier)}`, token);
}

function byMode(bundle, mode) {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => e.resource);
}

test('one call: the médecin, their active roles and organizations, and their mailboxes (a médecin may see them)', async () => {
  const who = expected().medecin;
  const token = await platformToken('medecin');
  const nationalId = claimsOf(token).SubjectNameID;
  assert.equal(nationalId, who.nationalId);
  const response = await identify(token, nationalId);
  assert.equal(response.status, 200);
  const bundle = await response.json();
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'searchset');
  const [practitioner, ...others] = byMode(bundle, 'match');
  assert.equal(others.length, 0, 'one practitioner matches');
  assert.equal(practitioner.resourceType, 'Practitioner');
  assert.ok(practitioner.identifier.some((i) => i.value === who.nationalId));
  assert.ok(practitioner.identifier.some((i) => i.value === who.rpps));

  const included = byMode(bundle, 'include');
  const roles = included.filter((r) => r.resourceType === 'PractitionerRole');
  const organizations = included.filter((r) => r.resourceType === 'Organization');
  assert.ok(roles.length >= who.structures.length, 'a role per practice in the RPPS file');
  for (const role of roles) {
    assert.equal(role.active, true, 'active roles only');
    assert.equal(role.practitioner.reference, `Practitioner/${practitioner.id}`);
    assert.ok(organizations.some((o) => role.organization?.reference === `Organization/${o.id}`),
      'each role has its organization in the bundle');
  }
  const identifiers = organizations.flatMap((o) => o.identifier.map((i) => i.value));
  for (const structure of who.structures) assert.ok(identifiers.includes(structure), `structure ${structure}`);
  const text = JSON.stringify(bundle);
  for (const mailbox of who.mailboxes) assert.ok(text.includes(mailbox), `mailbox ${mailbox}`);

  // The same with a bare RPPS number and with system|value: the same answer.
  for (const identifier of [who.rpps, `urn:oid:1.2.250.1.71.4.2.1|${who.nationalId}`]) {
    const again = await (await identify(token, identifier)).json();
    assert.deepEqual(byMode(again, 'match').map((r) => r.id), [practitioner.id], identifier);
  }
});

test('the same call by a kiné: their practices, but the mailboxes withheld', async () => {
  const who = expected().kine;
  const token = await platformToken('kine');
  const response = await identify(token, claimsOf(token).SubjectNameID);
  assert.equal(response.status, 200);
  const bundle = await response.json();
  const text = JSON.stringify(bundle);
  assert.equal(byMode(bundle, 'match').length, 1);
  for (const mailbox of who.mailboxes) assert.ok(!text.includes(mailbox), `${mailbox} withheld`);
  const redactable = (bundle.entry ?? []).map((e) => e.resource)
    .filter((r) => ['Practitioner', 'PractitionerRole'].includes(r.resourceType));
  assert.ok(redactable.some((r) => r.meta?.security?.some((s) => s.code === 'REDACTED')),
    'what held a mailbox is labelled REDACTED');
});

test('POST with Parameters answers the same', async () => {
  const who = expected().medecin;
  const token = await platformToken('medecin');
  const response = await api('/fhir/Practitioner/$identify', token, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Parameters', parameter: [{ name: 'identifier', valueString: who.nationalId }],
    }),
  });
  assert.equal(response.status, 200);
  const bundle = await response.json();
  assert.ok(byMode(bundle, 'match')[0].identifier.some((i) => i.value === who.nationalId));
});

test('a professional the directory does not know: 200, no match, an outcome saying so', async () => {
  const who = expected().inconnu;
  const token = await platformToken('inconnu');
  const response = await identify(token, claimsOf(token).SubjectNameID);
  assert.equal(response.status, 200);
  const bundle = await response.json();
  assert.equal(bundle.total, 0);
  const [outcome] = byMode(bundle, 'outcome');
  assert.equal(outcome?.resourceType, 'OperationOutcome');
  assert.equal(outcome.issue[0].severity, 'information');
  assert.ok(JSON.stringify(outcome).includes(who.nationalId), 'names the identifier it looked for');
});

test('a malformed identifier is a 400 OperationOutcome a person understands', async () => {
  const token = await platformToken('medecin');
  for (const bad of ['12345', '8abc', '']) {
    const response = await identify(token, bad);
    assert.equal(response.status, 400, bad);
    const outcome = await response.json();
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.ok(outcome.issue[0].diagnostics || outcome.issue[0].details?.text, 'it says why');
  }
});
