// What a professional may see follows who they are ([[auth.rules]] of run.sh): every
// professional signed in by the provider reads ("professionnels"); médecins (10) and
// pharmaciens (21) also see the restricted MSSanté mailboxes ("messageries-medecins-pharmaciens").
// The same person gets the same answer through the page's session, the API with the provider's
// access token, and $export; every request's audit line names the rules that granted access.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ANNUAIRE, Browser, api, platformToken, setting, signIn } from './support.mjs';

const expected = () => JSON.parse(readFileSync(setting('OIDC_EXPECTED'), 'utf8'));
const READERS = 'professionnels';
const MAILBOXES = 'messageries-medecins-pharmaciens';

/// The MSSanté mailboxes a list of resources shows (telecom of Practitioner and PractitionerRole),
/// sorted, and whether any of them is labelled REDACTED (a resource something was removed from).
function mailboxes(resources) {
  const values = resources
    .filter((r) => ['Practitioner', 'PractitionerRole'].includes(r.resourceType))
    .flatMap((r) => (r.telecom ?? []).map((t) => t.value))
    .filter((v) => /mssante\.fr$/i.test(v ?? ''));
  const redacted = resources
    .filter((r) => ['Practitioner', 'PractitionerRole'].includes(r.resourceType))
    .some((r) => (r.meta?.security ?? []).some((s) => s.code === 'REDACTED'));
  return { values: [...new Set(values)].sort(), redacted };
}

/// The person's Practitioner and PractitionerRoles, by a search with an include (one request),
/// through `get` (a bearer token or the session cookie).
async function practitionerAndRoles(get, nationalId) {
  const response = await get(
    `/fhir/PractitionerRole?practitioner.identifier=${nationalId}&_include=PractitionerRole:practitioner&_count=100`,
  );
  assert.equal(response.status, 200, `search as the caller (${response.status})`);
  const bundle = await response.json();
  return (bundle.entry ?? []).map((e) => e.resource);
}

/// A bulk export of Practitioner and PractitionerRole (FHIR Bulk Data, async), its resources of
/// the person.
async function exported(get, nationalId) {
  const kickoff = await get('/fhir/$export?_type=Practitioner,PractitionerRole', { headers: { prefer: 'respond-async' } });
  assert.equal(kickoff.status, 202, `$export kick-off (${kickoff.status}: ${await kickoff.clone().text()})`);
  const poll = new URL(kickoff.headers.get('content-location'), ANNUAIRE());
  let manifest;
  for (let i = 0; i < 300; i += 1) {
    const status = await get(poll.pathname + poll.search);
    if (status.status === 200) {
      manifest = await status.json();
      break;
    }
    assert.equal(status.status, 202, `$export status (${status.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(manifest, 'the export completes');
  const resources = [];
  for (const output of manifest.output) {
    const url = new URL(output.url);
    const file = await get(url.pathname + url.search, { headers: { accept: 'application/fhir+ndjson' } });
    assert.equal(file.status, 200);
    for (const line of (await file.text()).split('\n').filter(Boolean)) resources.push(JSON.parse(line));
  }
  const practitioner = resources.find((r) => r.resourceType === 'Practitioner'
    && r.identifier?.some((i) => i.value === nationalId));
  assert.ok(practitioner, 'the export holds the practitioner');
  return resources.filter((r) => r.id === practitioner.id
    || r.practitioner?.reference === `Practitioner/${practitioner.id}`);
}

const withToken = (token) => (path, init = {}) => api(path, token, init);
const withSession = (browser) => (path, init = {}) => browser.request(`${ANNUAIRE()}${path}`, {
  headers: { accept: 'application/fhir+json', ...(init.headers ?? {}) },
});

/// Audit lines written since `from` (a byte offset of the audit file).
function auditSince(from) {
  return readFileSync(setting('ANNUAIRE_AUDIT')).subarray(from).toString()
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const auditSize = () => readFileSync(setting('ANNUAIRE_AUDIT')).length;
async function settled() {
  // The audit trail is written off the request path: give its writer a moment.
  await new Promise((r) => setTimeout(r, 500));
}

for (const [login, sees] of [['medecin', true], ['kine', false]]) {
  test(`${login}: mailboxes ${sees ? 'shown' : 'withheld'}, identically through the page, the API and $export; audit names the rules`, async () => {
    const who = expected()[login];
    assert.ok(who.mailboxes.length > 0, 'the person has a mailbox in the MSSanté file');
    const from = auditSize();

    const token = await platformToken(login);
    const { browser } = await signIn(login);
    const viaApi = mailboxes(await practitionerAndRoles(withToken(token), who.nationalId));
    const viaPage = mailboxes(await practitionerAndRoles(withSession(browser), who.nationalId));
    const viaExport = mailboxes(await exported(withToken(token), who.nationalId));

    if (sees) {
      for (const mailbox of who.mailboxes) assert.ok(viaApi.values.includes(mailbox), `${mailbox} shown`);
      assert.equal(viaApi.redacted, false);
    } else {
      assert.deepEqual(viaApi.values, [], 'no mailbox');
      assert.equal(viaApi.redacted, true, 'labelled REDACTED');
    }
    assert.deepEqual(viaPage, viaApi, 'the page shows what the API shows');
    assert.deepEqual(viaExport, viaApi, '$export holds what the API shows');

    await settled();
    const lines = auditSince(from).filter((l) => l.caller?.national_id === who.nationalId);
    const granted = sees ? [MAILBOXES, READERS].sort() : [READERS];
    const searches = lines.filter((l) => l.path === '/fhir/PractitionerRole');
    assert.deepEqual(searches.map((l) => l.caller.kind).sort(), ['session', 'token']);
    for (const line of searches) {
      assert.deepEqual([...line.caller.rules].sort(), granted, `audit names the rules (${line.caller.kind})`);
    }
    const exports = lines.filter((l) => l.path?.includes('$export'));
    assert.ok(exports.length > 0, 'the export is audited');
    for (const line of exports) assert.deepEqual([...line.caller.rules].sort(), granted);
    assert.ok(auditSince(from).some((l) => l.event === 'signin' && JSON.stringify(l).includes(who.nationalId)),
      'the sign-in is audited');
  });
}

test('a search on a restricted element is refused to the kiné (403) and answered to the médecin', async () => {
  const who = expected().medecin;
  const path = `/fhir/Practitioner?mailbox-mss=${encodeURIComponent(who.mailboxes[0])}`;
  const kine = await api(path, await platformToken('kine'));
  assert.equal(kine.status, 403);
  const outcome = JSON.stringify(await kine.json());
  assert.match(outcome, /restricted|restreint/i, 'the refusal says what is missing');
  const medecin = await api(path, await platformToken('medecin'));
  assert.equal(medecin.status, 200);
});

test('the page says who is signed in and which rules apply', async () => {
  const { browser } = await signIn('kine');
  const session = await (await browser.request(`${ANNUAIRE()}/ui/session`)).json();
  assert.deepEqual(session.rules, [READERS]);
  const { browser: other } = await signIn('medecin', { browser: new Browser() });
  const medecin = await (await other.request(`${ANNUAIRE()}/ui/session`)).json();
  assert.deepEqual([...medecin.rules].sort(), [MAILBOXES, READERS].sort());
});
