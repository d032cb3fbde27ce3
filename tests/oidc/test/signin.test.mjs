// Sign-in on annuaire's page through the provider, as a browser does it: the authorization code
// flow end to end (PKCE, state and nonce made by annuaire), the session it leaves (a cookie and
// nothing else), sign-out, and what a browser gets when something is wrong: a wrong `state`, a
// callback replayed or opened in another browser, a professional the directory does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ANNUAIRE, ISSUER, Browser, signIn, submitLogin, setting } from './support.mjs';

const expected = () => JSON.parse(readFileSync(setting('OIDC_EXPECTED'), 'utf8'));

/// Anything that looks like a token: a JWT, or an OAuth parameter carrying one.
const TOKEN_IN_URL = /eyJ[\w-]+\.[\w-]+|[?&#](access_token|id_token|refresh_token)=/;

async function session(browser) {
  const response = await browser.request(`${ANNUAIRE()}/ui/session`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  return response.json();
}

/// Starts a sign-in and logs in at the provider, stopping at the provider's redirect back to
/// annuaire (the callback URL, with `code` and `state`), unfollowed.
async function callbackUrl(browser, login = 'medecin', retour = '/') {
  const isCallback = (u) => u.startsWith(`${ANNUAIRE()}/ui/connexion/retour`);
  const start = `${ANNUAIRE()}/ui/connexion?retour=${encodeURIComponent(retour)}`;
  const { response, url } = await browser.follow(start, {}, isCallback);
  const action = await submitLogin(browser, response, url, login);
  const { stopped } = await browser.follow(action, { method: 'POST', form: { login } }, isCallback);
  assert.ok(stopped, 'the provider sends the browser back to annuaire');
  return stopped;
}

test('sign-in: annuaire sends the browser to the provider with PKCE (S256), state, nonce, PSC scopes and acr', async () => {
  const browser = new Browser();
  const response = await browser.request(`${ANNUAIRE()}/ui/connexion?retour=/?vue=moi`);
  assert.equal(response.status, 302);
  const authorize = new URL(response.headers.get('location'));
  assert.equal(authorize.origin + authorize.pathname, `${ISSUER()}/auth`);
  const p = authorize.searchParams;
  assert.equal(p.get('response_type'), 'code');
  assert.equal(p.get('client_id'), 'annuaire-tests');
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.match(p.get('code_challenge') ?? '', /^[\w-]{43}$/, 'an S256 challenge is 43 base64url characters');
  assert.ok((p.get('state') ?? '').length >= 22, 'state has at least 128 bits');
  assert.ok((p.get('nonce') ?? '').length >= 22, 'nonce has at least 128 bits');
  assert.deepEqual((p.get('scope') ?? '').split(' ').sort(), ['openid', 'scope_all']);
  assert.equal(p.get('acr_values'), 'eidas1');
  assert.equal(p.get('redirect_uri'), `${ANNUAIRE()}/ui/connexion/retour`);
  // A second sign-in gets other values: nothing is reused.
  const again = new URL((await new Browser().request(`${ANNUAIRE()}/ui/connexion`)).headers.get('location'));
  for (const name of ['state', 'nonce', 'code_challenge']) {
    assert.notEqual(again.searchParams.get(name), p.get(name), `${name} is drawn anew`);
  }
  const login = response.headers.getSetCookie().find((c) => c.startsWith('annuaire_login='));
  assert.ok(login, 'the pending login is bound to this browser by a cookie');
  assert.match(login, /HttpOnly/i);
});

test('sign-in end to end: the médecin lands where they started, signed in, with only a session cookie', async () => {
  const who = expected().medecin;
  const { browser, response, url } = await signIn('medecin', { retour: '/?vue=moi' });
  assert.equal(response.status, 200, `the page answers after sign-in (${url})`);
  assert.equal(url, `${ANNUAIRE()}/?vue=moi`, 'back to the page the sign-in started from');
  const cookie = browser.hops
    .filter((h) => h.url.startsWith(`${ANNUAIRE()}/ui/connexion/retour`))
    .map((h) => h.status);
  assert.deepEqual(cookie, [303], 'the callback answers 303 to the return path');
  for (const hop of browser.hops) {
    assert.doesNotMatch(hop.url, TOKEN_IN_URL, `no token in ${hop.url}`);
    assert.doesNotMatch(hop.location ?? '', TOKEN_IN_URL, `no token in a redirect to ${hop.location}`);
  }
  const sessionCookie = browser.cookie(ANNUAIRE(), 'annuaire_session');
  assert.match(sessionCookie ?? '', /^[\w-]{43,}$/, 'a random session id (256 bits)');
  const me = await session(browser);
  assert.equal(me.signedIn, true);
  assert.equal(me.nationalId, who.nationalId);
  assert.deepEqual(me.professions, ['10']);
  assert.ok(me.csrf && me.csrf !== sessionCookie, 'a CSRF token distinct from the session id');
  assert.doesNotMatch(JSON.stringify(me), /eyJ[\w-]+\./, 'no token in the session answer');
});

test('the session cookie is HttpOnly, SameSite=Lax, Path=/', async () => {
  const browser = new Browser();
  let header;
  const original = browser.keep.bind(browser);
  browser.keep = (url, response) => {
    header ??= response.headers.getSetCookie().find((c) => c.startsWith('annuaire_session='));
    original(url, response);
  };
  await signIn('kine', { browser });
  assert.ok(header, 'annuaire sets annuaire_session');
  assert.match(header, /;\s*HttpOnly/i);
  assert.match(header, /;\s*SameSite=Lax/i);
  assert.match(header, /;\s*Path=\//i);
});

test('a wrong state is refused with a page saying what happened (400), and no session', async () => {
  const browser = new Browser();
  const callback = new URL(await callbackUrl(browser));
  callback.searchParams.set('state', 'pas-le-bon-etat-0123456789abcdef');
  const response = await browser.request(callback.href);
  assert.equal(response.status, 400);
  assert.match(response.headers.get('content-type') ?? '', /text\/html/);
  const html = await response.text();
  assert.match(html, /lang="fr"/);
  assert.match(html, /href="\/ui\/connexion/, 'a link to try again');
  assert.doesNotMatch(html, /eyJ|panicked|stack|src\//);
  assert.equal(browser.cookie(ANNUAIRE(), 'annuaire_session'), undefined);
  assert.equal((await session(browser)).signedIn, false);
});

test('a callback opened in another browser than the one that started the sign-in is refused', async () => {
  const callback = await callbackUrl(new Browser());
  const other = new Browser();
  const response = await other.request(callback);
  assert.equal(response.status, 400);
  assert.equal(other.cookie(ANNUAIRE(), 'annuaire_session'), undefined);
});

test('a replayed callback (the same code and state again) is refused and opens no second session', async () => {
  const browser = new Browser();
  const callback = await callbackUrl(browser);
  const first = await browser.request(callback);
  assert.equal(first.status, 303);
  const sessionId = browser.cookie(ANNUAIRE(), 'annuaire_session');
  assert.ok(sessionId);
  const again = await browser.request(callback);
  assert.equal(again.status, 400, 'a login is used once');
  assert.match(await again.text(), /href="\/ui\/connexion/);
  assert.equal(browser.cookie(ANNUAIRE(), 'annuaire_session'), sessionId, 'no new session from the replay');
  // The same code sent by another browser whose login cookie was copied: still refused (the
  // pending login is gone, and the provider would refuse the code anyway).
  const thief = new Browser();
  thief.jar(ANNUAIRE()).set('annuaire_login', browser.cookie(ANNUAIRE(), 'annuaire_login') ?? 'x');
  assert.equal((await thief.request(callback)).status, 400);
});

test('the provider refusing (access_denied) gives a 400 page, not an error', async () => {
  const browser = new Browser();
  const start = await browser.request(`${ANNUAIRE()}/ui/connexion`);
  const state = new URL(start.headers.get('location')).searchParams.get('state');
  const response = await browser.request(
    `${ANNUAIRE()}/ui/connexion/retour?error=access_denied&error_description=refus&state=${state}`,
  );
  assert.equal(response.status, 400);
  assert.match(await response.text(), /href="\/ui\/connexion/);
});

test('a return path that is not local is not followed', async () => {
  for (const retour of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
    const browser = new Browser();
    const response = await browser.request(await callbackUrl(browser, 'kine', retour));
    assert.equal(response.status, 303);
    const location = response.headers.get('location');
    const resolved = new URL(location, ANNUAIRE());
    assert.equal(resolved.origin, ANNUAIRE(), `${retour} → ${location}`);
    assert.doesNotMatch(location, /evil|javascript/);
  }
});

test('a professional the directory does not know is signed in, and told so, without an error', async () => {
  const who = expected().inconnu;
  const { browser, response } = await signIn('inconnu', { retour: '/?vue=moi' });
  assert.equal(response.status, 200);
  const me = await session(browser);
  assert.equal(me.signedIn, true);
  assert.equal(me.nationalId, who.nationalId);
  const record = await browser.request(`${ANNUAIRE()}/ui/moi`);
  assert.equal(record.status, 200);
  const body = await record.json();
  assert.equal(body.bundle.total, 0);
  assert.match(JSON.stringify(body), new RegExp(`ne conna[iî]t pas[^"]*${who.nationalId}|${who.nationalId}[^"]*ne conna[iî]t pas`));
});

test('sign-out: refused without the CSRF token; with it, the session ends and the provider is told', async () => {
  const { browser } = await signIn('medecin');
  const { csrf } = await session(browser);
  const forged = await browser.request(`${ANNUAIRE()}/ui/deconnexion`, { method: 'POST' });
  assert.equal(forged.status, 403, 'a cross-site form cannot sign the person out');
  assert.equal((await session(browser)).signedIn, true);

  const response = await browser.request(`${ANNUAIRE()}/ui/deconnexion`, {
    method: 'POST', headers: { 'x-csrf-token': csrf },
  });
  assert.equal(response.status, 303);
  const end = new URL(response.headers.get('location'));
  assert.equal(end.origin + end.pathname, `${ISSUER()}/session/end`);
  assert.equal(end.searchParams.get('client_id'), 'annuaire-tests');
  assert.ok(end.searchParams.get('id_token_hint'), 'the provider is told whose session ends');
  assert.ok(end.searchParams.get('post_logout_redirect_uri')?.startsWith(ANNUAIRE()));
  assert.equal(browser.cookie(ANNUAIRE(), 'annuaire_session'), undefined, 'the cookie is cleared');
  assert.equal((await session(browser)).signedIn, false);

  // The provider's own logout page (RP-initiated logout): confirm, and land back on annuaire.
  const { response: page, url } = await browser.follow(end.href);
  const html = await page.text();
  const form = html.match(/<form[^>]*action="([^"]+)"[\s\S]*?<\/form>/);
  assert.ok(form, `the provider asks to confirm (${url})`);
  const fields = Object.fromEntries([...form[0].matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)]
    .map((m) => [m[1], m[2]]));
  const back = await browser.follow(new URL(form[1], url).href, { method: 'POST', form: { ...fields, logout: 'yes' } });
  assert.ok(back.url.startsWith(ANNUAIRE()), `back on annuaire after the provider's logout (${back.url})`);
});
