// Signing in with Pro Santé Connect in Chromium: the page's button, the provider's login page
// (tests/oidc/provider.mjs: npm oidc-provider shaped like PSC), back on the page signed in, "Mon
// dossier" (the practitioner, their practices, what differs from what PSC said), sign-out; the
// professional the directory does not know gets a clear page. The server (see ../run.sh) does the
// code flow, PKCE, state and nonce: the browser only follows redirects and keeps a cookie, and no
// token reaches its storage or its address bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const BASE = process.env.ANNUAIRE_OIDC_URL;
const ISSUER = process.env.OIDC_ISSUER;
const ARTIFACTS = process.env.ANNUAIRE_BROWSER_ARTIFACTS;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const expected = () => JSON.parse(readFileSync(process.env.OIDC_EXPECTED, 'utf8'));
const TOKEN = /eyJ[\w-]+\.[\w-]+/;

let browser;

before(async () => {
  assert.ok(BASE && ISSUER && ARTIFACTS, 'run through tests/browser/run.sh');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

async function fresh() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR' });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.visited = [];
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) page.visited.push(frame.url()); });
  return page;
}

/** Runs axe-core in the page; fails on serious or critical violations. */
async function accessible(page, name) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  for (const v of results.violations) console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  const grave = results.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(grave.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${name}: serious accessibility violations`);
  assert.ok(results.passes.length > 20, `${name}: axe ran`);
}

/** From the page, through the button and the provider's login page, back signed in. */
async function signIn(page, login) {
  await page.goto(`${BASE}/`);
  const button = page.locator('#connexion-psc');
  await button.waitFor({ state: 'visible' });
  assert.match(await button.innerText(), /Se connecter avec Pro Santé Connect/);
  await button.click();
  await page.waitForURL((url) => url.href.startsWith(ISSUER));
  await page.getByLabel('Identifiant').fill(login);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL((url) => url.href.startsWith(BASE));
  await page.waitForLoadState('networkidle');
}

/** "Mon dossier" through the page's own link (shown once signed in). */
async function showMyRecord(page) {
  await page.locator('#lien-mon-dossier a').click();
  await page.waitForURL((url) => url.search.includes('vue=moi'));
  await page.waitForFunction(() => document.documentElement.dataset.etat === 'pret');
}

/** From "Mon dossier" to the practitioner's own page (the lookup page's card, as the session
 * may read it), where mailboxes show as mailto: links, or "Non affichées : vos droits". */
async function myPractitionerPage(page) {
  await page.locator('#mon-dossier a[href^="/professionnels/"]').first().click();
  await page.waitForURL((url) => url.pathname.startsWith('/professionnels/'));
  await page.waitForFunction(() => document.documentElement.dataset.etat === 'pret');
}

/** What the page keeps where scripts can read it, and the addresses it went through. */
async function exposed(page) {
  const storage = await page.evaluate(() => JSON.stringify({
    local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie,
  }));
  return { storage, urls: page.visited };
}

test('a médecin signs in through the provider in Chromium, sees "Mon dossier" and the differences, signs out', async () => {
  const who = expected().medecin;
  const page = await fresh();
  await signIn(page, 'medecin');

  // No token anywhere a script or a URL could leak it; the session cookie is HttpOnly.
  const { storage, urls } = await exposed(page);
  assert.doesNotMatch(storage, TOKEN, 'no token in localStorage, sessionStorage or document.cookie');
  const cookies = await page.context().cookies(BASE);
  const session = cookies.find((c) => c.name === 'annuaire_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.ok(!storage.includes(session.value), 'the session id is not readable by scripts');
  for (const url of urls) assert.doesNotMatch(url, /access_token|id_token|eyJ/, `no token in ${url}`);
  assert.doesNotMatch(page.url(), /[?&](code|state)=/, 'the code and state are gone from the address bar');

  await showMyRecord(page);
  await page.screenshot({ path: `${ARTIFACTS}/mon-dossier.png`, fullPage: true });
  assert.deepEqual(page.errors, [], 'no script error');
  const text = await page.evaluate(() => document.body.innerText);
  assert.match(text, new RegExp(who.familyName, 'i'), 'the practitioner is shown');
  assert.ok(text.includes(who.rpps) || text.includes(who.nationalId), 'with their number');
  const differences = await page.locator('#ecarts').innerText();
  assert.match(differences, /CABINET QUE L’ANNUAIRE NE CONNAÎT PAS|R10999999/i,
    'the practice PSC lists that the directory does not have is shown as a difference');
  assert.ok(await page.locator('#ecarts [data-ecart="practice-only-in-psc"]').count() >= 1);
  assert.match(await page.locator('#session-nom').innerText(), new RegExp(who.familyName, 'i'), 'who is signed in');
  await accessible(page, 'mon dossier');

  // The rules let a médecin see the MSSanté mailboxes: the page, with the session, shows them.
  await myPractitionerPage(page);
  for (const mailbox of who.mailboxes) {
    assert.ok(await page.$(`a[href="mailto:${mailbox}"]`), `a médecin sees the mailbox ${mailbox}`);
  }
  assert.doesNotMatch(await page.textContent('#fiche'), /Non affichées/);
  await page.screenshot({ path: `${ARTIFACTS}/signed-in-medecin-practitioner.png`, fullPage: true });
  // Signed in, the resource's FHIR links are links (the session cookie goes with them), not an
  // address to copy into an HTTP client with a key.
  assert.doesNotMatch(await page.textContent('#fiche'), /avec votre clé/);
  const json = await page.$eval('p.fhir a', (a) => a.href);
  const resource = await page.request.get(json);
  assert.equal(resource.status(), 200, `${json} with the session`);
  assert.equal((await resource.json()).resourceType, 'Practitioner');

  await page.locator('#deconnexion-psc').click();
  // annuaire's 303 to the provider's end_session_endpoint: PSC signs the person out too.
  await page.waitForURL((url) => url.href.startsWith(ISSUER), { timeout: 10_000 });
  // The provider's own logout confirmation (RP-initiated logout).
  await page.getByRole('button', { name: 'Oui, me déconnecter' }).click();
  await page.waitForURL((url) => url.href.startsWith(BASE));
  await page.waitForLoadState('networkidle');
  const state = await (await page.request.get(`${BASE}/ui/session`)).json();
  assert.equal(state.signedIn, false, 'signed out');
  assert.ok(!(await page.context().cookies(BASE)).some((c) => c.name === 'annuaire_session'), 'cookie cleared');
  await page.goto(`${BASE}/`);
  await page.locator('#connexion-psc').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#lien-mon-dossier').isHidden(), true, '"Mon dossier" is gone');
  await page.context().close();
});

test('a masseur-kiné signs in and sees their record without the restricted mailboxes', async () => {
  const who = expected().kine;
  const page = await fresh();
  await signIn(page, 'kine');
  await showMyRecord(page);
  const text = await page.evaluate(() => document.body.innerText);
  assert.match(text, new RegExp(who.familyName, 'i'));
  await myPractitionerPage(page);
  for (const mailbox of who.mailboxes) {
    assert.equal(await page.$(`a[href="mailto:${mailbox}"]`), null, `${mailbox} withheld from a kiné`);
  }
  assert.match(await page.textContent('#fiche'), /Non affichées : vos droits/);
  assert.doesNotMatch(await page.evaluate(() => document.body.innerText), new RegExp(who.mailboxes.map((m) => m.replace(/[.]/g, '\\.')).join('|')));
  await page.context().close();
});

test('a professional the directory does not know gets a clear page, no error', async () => {
  const who = expected().inconnu;
  const page = await fresh();
  await signIn(page, 'inconnu');
  await showMyRecord(page);
  await page.screenshot({ path: `${ARTIFACTS}/mon-dossier-inconnu.png`, fullPage: true });
  assert.deepEqual(page.errors, []);
  const text = await page.locator('#inconnu').innerText();
  assert.match(text, /ne conna[iî]t pas/i, 'says the directory does not know them');
  assert.ok(text.includes(who.nationalId) || text.includes(who.rpps), 'names the number it looked for');
  assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /erreur|error|500/i);
  await accessible(page, 'professionnel inconnu');
  await page.context().close();
});
