// The API with the provider's access tokens (RFC 6750 bearer, RFC 9068 JWTs): accepted as a
// telehealth platform sends them; refused once expired, when another issuer or another key
// signed them, and when the provider's key that signed them is gone (rotation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import {
  ISSUER, api, claimsOf, headerOf, platformToken, platformTokens, providerSettings, rotateProviderKeys,
  setting,
} from './support.mjs';

const expected = () => JSON.parse(readFileSync(setting('OIDC_EXPECTED'), 'utf8'));
const medecinSearch = () => `/fhir/Practitioner?identifier=${expected().medecin.nationalId}`;

async function assertRefused(response, why) {
  assert.equal(response.status, 401, why);
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/, why);
  const outcome = await response.json();
  assert.equal(outcome.resourceType, 'OperationOutcome', why);
  assert.doesNotMatch(JSON.stringify(outcome), /eyJ/, 'the token is not echoed');
}

async function assertFound(token, why) {
  const response = await api(medecinSearch(), token);
  assert.equal(response.status, 200, why);
  const bundle = await response.json();
  assert.equal(bundle.total ?? bundle.entry?.length, 1, why);
}

test("the provider's access token reads the API (the platform's bearer), the médecin's identity in it", async () => {
  const token = await platformToken('medecin');
  const claims = claimsOf(token);
  assert.equal(headerOf(token).typ, 'at+jwt');
  assert.equal(claims.iss, ISSUER());
  assert.equal(claims.aud, providerSettings().resource);
  assert.equal(claims.SubjectNameID, expected().medecin.nationalId);
  await assertFound(token, 'a professional authenticated by the provider may read');
  // Without a token (the rules grant nothing to nobody): 401.
  assert.equal((await api(medecinSearch())).status, 401);
});

test('an ID token is not an access token: refused at the API', async () => {
  const { id_token: idToken } = await platformTokens('medecin');
  assert.ok(idToken);
  await assertRefused(await api(medecinSearch(), idToken), 'typ is not at+jwt, aud is the client');
});

test('an expired access token is refused', async () => {
  const token = await platformToken('medecin', { client: providerSettings().short_lived_client });
  const { exp } = claimsOf(token);
  await assertFound(token, 'valid before it expires');
  const wait = exp * 1000 - Date.now() + 1500;
  await new Promise((r) => setTimeout(r, Math.max(wait, 0)));
  await assertRefused(await api(medecinSearch(), token), 'expired (leeway 0 in this run)');
});

/// A token shaped like the provider's, signed with a key of ours.
async function forged(claims, header) {
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'scope_all', client_id: 'teleconsultation', ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'cle-etrangere', ...header })
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .setJti(`forge-${now}-${Math.random()}`)
    .sign(privateKey);
}

test('a token from another issuer, or signed by a key that is not the provider’s, is refused', async () => {
  const genuine = claimsOf(await platformToken('medecin'));
  const base = {
    sub: genuine.sub, aud: genuine.aud, SubjectNameID: genuine.SubjectNameID, SubjectRole: genuine.SubjectRole,
  };
  // Another issuer (PSC's production issuer, which this server does not trust), its own key.
  await assertRefused(
    await api(medecinSearch(), await forged({ ...base, iss: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet' })),
    'foreign issuer',
  );
  // Our provider's issuer, but a key of our own, under an unknown kid and under the provider's kid.
  const providerKid = (await (await fetch(`${ISSUER()}/jwks`)).json()).keys[0].kid;
  await assertRefused(await api(medecinSearch(), await forged({ ...base, iss: ISSUER() })), 'unknown key');
  await assertRefused(
    await api(medecinSearch(), await forged({ ...base, iss: ISSUER() }, { kid: providerKid })),
    "a key of ours under the provider's kid",
  );
  // The provider's own key, but for another audience (a token meant for another API).
  const keys = JSON.parse(readFileSync(providerSettings().keys, 'utf8')).keys;
  const key = await importJWK(keys[0], 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const otherAudience = await new SignJWT({ ...base, aud: 'https://autre-api.test', scope: 'scope_all' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: keys[0].kid })
    .setIssuer(ISSUER()).setIssuedAt(now).setExpirationTime(now + 600).sign(key);
  await assertRefused(await api(medecinSearch(), otherAudience), 'another audience');
});

/// Asks with `token` until annuaire answers `wanted` or `ms` have passed; the last status.
async function statusWithin(token, wanted, ms) {
  const deadline = Date.now() + ms;
  let status = (await api(medecinSearch(), token)).status;
  while (status !== wanted && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    status = (await api(medecinSearch(), token)).status;
  }
  return status;
}

test('key rotation: a token of the new key is accepted; one of the old key is refused once the provider drops it', async () => {
  const dir = setting('OIDC_KEYS_DIR');
  const current = JSON.parse(readFileSync(providerSettings().keys, 'utf8')).keys;
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const oldFile = `${dir}/avant-rotation.json`;
  writeFileSync(oldFile, JSON.stringify(current[0]));
  const newKid = `cle-${Date.now()}`;
  const newFile = `${dir}/${newKid}.json`;
  execFileSync(process.execPath, [new URL('../keys.mjs', import.meta.url).pathname, newFile, newKid]);

  const old = await platformToken('kine');
  assert.equal(headerOf(old).kid, current[0].kid);
  await assertFound(old, 'the current key');

  // The provider publishes [new, old] and signs with the new one.
  await rotateProviderKeys([newFile, oldFile]);
  const fresh = await platformToken('kine');
  assert.equal(headerOf(fresh).kid, newKid, 'the provider signs with its new key');
  // An unknown kid makes annuaire fetch the keys again (at most once per
  // jwks_min_refetch_seconds, 1 s here), and the request that named it waits for that fetch:
  // the very first request with a token of the new key is accepted.
  await assertFound(fresh, 'the first token of the new key is accepted');
  await assertFound(old, 'the old key is still published: its tokens still hold');

  // The provider drops the old key: its tokens stop working at the next refresh of the keys.
  await rotateProviderKeys([newFile]);
  await statusWithin(old, 401, 15_000);
  await assertRefused(await api(medecinSearch(), old), 'the old key is gone from the provider');
  await assertFound(fresh, 'the new key still verifies');
  await assertFound(await platformToken('medecin'), 'and new tokens too');
});
