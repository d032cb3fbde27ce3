// Lists of correspondents on the lookup page, in Debian's Chromium driven by Playwright, against
// the server with access control that ../run.sh starts: it wrote the list `ANNUAIRE_FOLLOWED_LIST`
// on day 1 (a practitioner day 2 no longer has, one both days have, an id the directory never
// had), then imported day 2 while serving. What the page shows is checked against the FHIR API
// of the same server, read directly (reads of each member, not the page's `_list` searches).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const BASE = process.env.ANNUAIRE_URL;
const KEY_DESK = process.env.ANNUAIRE_KEY_DESK;
const KEY_LISTS = process.env.ANNUAIRE_KEY_LISTS;
/** A key that may read lists, not write them. */
const KEY_LIST_READER = process.env.ANNUAIRE_KEY_LIST_READER;
const FOLLOWED = process.env.ANNUAIRE_FOLLOWED_LIST;
const RETIRED = process.env.ANNUAIRE_RETIRED;
const STAYING = process.env.ANNUAIRE_STAYING;
const UNKNOWN = process.env.ANNUAIRE_UNKNOWN;
const ARTIFACTS = process.env.ANNUAIRE_BROWSER_ARTIFACTS;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const MEMBER_STATUS = 'urn:annuaire:CodeSystem/list-member-status';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 320, height: 720 };

let browser;

before(async () => {
  assert.ok(BASE && KEY_LISTS && KEY_LIST_READER && FOLLOWED && RETIRED && STAYING && UNKNOWN && ARTIFACTS, 'run through tests/browser/run.sh');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

// --- the API, read directly ------------------------------------------------------------------

async function request(path, { method = 'GET', body, headers = {}, key = KEY_LISTS } = {}) {
  const response = await fetch(`${BASE}/fhir/${path}`, {
    method,
    headers: { Accept: 'application/fhir+json', 'ESANTE-API-KEY': key,
      ...(body ? { 'Content-Type': 'application/fhir+json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, etag: response.headers.get('etag') };
}

async function api(path) {
  const { status, body } = await request(path);
  assert.equal(status, 200, `${path}: ${status}`);
  return body;
}

const first = async (path) => {
  const bundle = await api(path);
  const match = (bundle.entry || []).find((e) => e.search?.mode === 'match');
  assert.ok(match, `${path} finds something`);
  return match.resource;
};

const flagOf = (list, reference) => list.entry.find((e) => e.item.reference === reference)
  ?.flag?.coding?.find((c) => c.system === MEMBER_STATUS)?.code ?? null;

/** Active practitioners that no list of run.sh holds. */
async function practitioners(n) {
  const bundle = await api('Practitioner?active=true&_count=10');
  const found = bundle.entry.map((e) => e.resource).filter((p) => ![RETIRED, STAYING].includes(`Practitioner/${p.id}`));
  assert.ok(found.length >= n, `${n} active practitioners`);
  return found.slice(0, n);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const unique = (prefix) => `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

// --- pages -----------------------------------------------------------------------------------

async function open(path, { key = KEY_LISTS, viewport = DESKTOP } = {}) {
  const context = await browser.newContext({ viewport, locale: 'fr-FR' });
  if (key) await context.addInitScript((k) => sessionStorage.setItem('annuaire.identifiant', k), key);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${BASE}${path}`);
  return page;
}

async function settled(page) {
  await page.waitForFunction(() => document.documentElement.dataset.etat === 'pret');
  assert.deepEqual(page.errors, [], 'no script error');
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\bnull\b|\bundefined\b|\bNaN\b|\[object /, 'no stray value in the page');
}

const close = (page) => page.context().close();

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

/** Adds the page's subject to a list through the form: a new one titled `title`, or `listId`. */
async function addThroughForm(page, { title, listId }) {
  if (title) {
    await page.selectOption('#liste-choix', '');
    assert.equal(await page.isVisible('#liste-titre'), true, 'a new list asks for its title');
    await page.fill('#liste-titre', title);
  } else {
    await page.selectOption('#liste-choix', listId);
    assert.equal(await page.isVisible('#liste-titre'), false, 'an existing list needs no title');
  }
  await page.click('#form-liste button[type=submit]');
  await page.waitForFunction(() => /ajouté|déjà|pas|Vos droits|modifiée/.test(document.getElementById('liste-etat')?.textContent || ''));
  return page.textContent('#liste-etat');
}

async function listTitled(title) {
  const bundle = await api(`List?title=${encodeURIComponent(title)}`);
  const lists = (bundle.entry || []).map((e) => e.resource).filter((l) => l.title === title);
  assert.equal(lists.length, 1, `one list titled ${title}`);
  return lists[0];
}

const memberHrefs = (page, selector) => page.$$eval(`${selector} h3 a`, (links) => links.map((a) => a.getAttribute('href')));

// --- tests -----------------------------------------------------------------------------------

test('a practitioner and a structure added to a list from their pages; the lists show them by name', async () => {
  const [practitioner] = await practitioners(1);
  const organization = await first('Organization?active=true&partof:missing=false&_count=1');
  const title = unique('Correspondants de cardiologie');

  const fiche = await open(`/professionnels/${practitioner.id}`);
  await settled(fiche);
  assert.match(await fiche.textContent('#listes-membre'), /aucune liste/);
  const said = await addThroughForm(fiche, { title });
  assert.match(said, new RegExp(`a été ajouté à la liste « ${escape(title)} »`));
  const created = await listTitled(title);
  assert.deepEqual(created.entry.map((e) => e.item.reference), [`Practitioner/${practitioner.id}`]);
  assert.equal(created.mode, 'working');
  assert.match(await fiche.textContent('#listes-membre'), new RegExp(escape(title)), 'the page says which lists hold it');
  await close(fiche);

  const structure = await open(`/etablissements/${organization.id}`);
  await settled(structure);
  assert.match(await addThroughForm(structure, { listId: created.id }), /a été ajouté/);
  const updated = await api(`List/${created.id}`);
  assert.deepEqual(updated.entry.map((e) => e.item.reference),
    [`Practitioner/${practitioner.id}`, `Organization/${organization.id}`]);
  assert.equal(updated.meta.versionId, String(Number(created.meta.versionId) + 1), 'one new version');
  // Once is enough: a second add says so and writes nothing.
  assert.match(await addThroughForm(structure, { listId: created.id }), /est déjà dans la liste/);
  assert.equal((await api(`List/${created.id}`)).meta.versionId, updated.meta.versionId);
  await close(structure);

  const lists = await open('/?vue=listes');
  await settled(lists);
  const card = lists.locator('.carte', { has: lists.locator(`a[href="/?vue=listes&liste=${created.id}"]`) });
  assert.match(await card.textContent(), /2 membres/);
  await lists.click(`a[href="/?vue=listes&liste=${created.id}"]`);
  await settled(lists);
  assert.equal(await lists.textContent('#titre-fiche'), title);
  assert.deepEqual(await memberHrefs(lists, '#membres'),
    [`/professionnels/${practitioner.id}`, `/etablissements/${organization.id}`]);
  const names = await lists.$$eval('#membres h3', (h) => h.map((x) => x.textContent));
  assert.match(names[0], new RegExp(escape(practitioner.name[0].family)));
  assert.equal(names[1], organization.name);
  await close(lists);
});

test('a list changed by someone else meanwhile is read again, and the member added once (412 then retry)', async () => {
  const [one, other] = await practitioners(2);
  const title = unique('Liste partagée');
  const { status, body: list } = await request('List', { method: 'POST',
    body: { resourceType: 'List', status: 'current', mode: 'working', title, entry: [] } });
  assert.equal(status, 201);

  const page = await open(`/professionnels/${one.id}`);
  await settled(page);
  // Between the page's read and its PUT, a colleague adds someone: the page's PUT is stale.
  const puts = [];
  await page.route(`**/fhir/List/${list.id}`, async (route) => {
    if (route.request().method() === 'PUT') {
      puts.push(route.request().headers()['if-match']);
      if (puts.length === 1) {
        const current = await request(`List/${list.id}`);
        const colleague = await request(`List/${list.id}`, { method: 'PUT', headers: { 'If-Match': current.etag },
          body: { ...current.body, entry: [{ item: { reference: `Practitioner/${other.id}` } }] } });
        assert.equal(colleague.status, 200);
      }
    }
    await route.continue();
  });
  assert.match(await addThroughForm(page, { listId: list.id }), /a été ajouté/);
  assert.equal(puts.length, 2, 'one stale PUT (412), one after reading the list again');
  assert.notEqual(puts[0], puts[1], 'the second PUT names the version read again');
  const final = await api(`List/${list.id}`);
  assert.deepEqual(final.entry.map((e) => e.item.reference).sort(),
    [`Practitioner/${one.id}`, `Practitioner/${other.id}`].sort(), "the colleague's member is kept");
  await close(page);
});

test('without the right to write lists, the form is absent and the page says why', async () => {
  const [practitioner] = await practitioners(1);
  // Not connected, on a server that asks for credentials.
  const anonymous = await open(`/professionnels/${practitioner.id}`, { key: null });
  await settled(anonymous);
  assert.equal(await anonymous.$('#form-liste'), null);
  await close(anonymous);

  // A key that may not read lists (the wildcard type is the directory's): the page says so.
  const desk = await open(`/professionnels/${practitioner.id}`, { key: KEY_DESK });
  await settled(desk);
  assert.equal(await desk.$('#form-liste'), null, 'no form for a key that may not read lists');
  assert.match(await desk.textContent('#listes-droits'), /ne permettent pas de consulter les listes/);
  assert.equal((await request('List', { key: KEY_DESK })).status, 403, 'the server agrees');
  await close(desk);

  // A key that reads lists but may not write them: an API key says nothing of its rights, so the
  // form is offered; the first refusal is explained, the form goes, and the tab remembers it.
  const reader = await open(`/professionnels/${practitioner.id}`, { key: KEY_LIST_READER });
  await settled(reader);
  assert.ok(await reader.$('#form-liste'), 'the lists are read, the form offered');
  const said = await addThroughForm(reader, { title: unique('Refusée') });
  assert.match(said, /Vos droits d'accès ne permettent pas de modifier les listes/);
  assert.equal(await reader.$('#form-liste'), null, 'the form is gone');
  await reader.reload();
  await settled(reader);
  assert.equal(await reader.$('#form-liste'), null, 'and stays gone in this tab');
  assert.match(await reader.textContent('#listes-droits'), /ne permet pas de modifier les listes/);
  const refused = await request('List', { key: KEY_LIST_READER, method: 'POST',
    body: { resourceType: 'List', status: 'current', mode: 'working', title: 'x' } });
  assert.equal(refused.status, 403, 'the server agrees: this key may not write lists');
  await close(reader);
});

/** The followed list once the server flagged it after day 2 (it does so after the switch). */
async function flaggedList() {
  for (let i = 0; i < 100; i++) {
    const list = await api(`List/${FOLLOWED}`);
    if (flagOf(list, RETIRED)) return list;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`the server never flagged ${RETIRED} on List/${FOLLOWED} after day 2`);
}

test('a member day 2 deactivated, and one the directory never had, are flagged on the list page', async () => {
  const list = await flaggedList();
  // The server's flags, checked against the members themselves.
  assert.equal((await api(RETIRED)).active, false, 'day 2 deactivated the departed practitioner');
  assert.equal(flagOf(list, RETIRED), 'deactivated');
  assert.equal(flagOf(list, UNKNOWN), 'unknown');
  assert.equal((await request(UNKNOWN)).status, 404);
  const staying = await api(STAYING);
  assert.equal(flagOf(list, STAYING), staying.active === false ? 'deactivated' : null);

  const page = await open(`/?vue=listes&liste=${FOLLOWED}`);
  await settled(page);
  const card = (reference) => page.locator('#membres > li').nth(list.entry.findIndex((e) => e.item.reference === reference));
  assert.match(await card(RETIRED).locator('.drapeau').textContent(), /^n'exerce plus$/);
  assert.match(await card(RETIRED).locator('h3').textContent(), new RegExp(escape((await api(RETIRED)).name[0].family)));
  assert.match(await card(UNKNOWN).textContent(), /Dr Jamais Vu/);
  assert.equal(await card(UNKNOWN).locator('.drapeau').textContent(), 'inconnu du répertoire');
  assert.equal(await card(STAYING).locator('.drapeau').count(), staying.active === false ? 1 : 0);
  const flagged = list.entry.filter((e) => flagOf(list, e.item.reference)).length;
  assert.match(await page.textContent('.depart'), new RegExp(`^${flagged} membres? `));

  // The overview counts them too.
  const overview = await open('/?vue=listes');
  await settled(overview);
  const overviewCard = overview.locator('.carte', { has: overview.locator(`a[href="/?vue=listes&liste=${FOLLOWED}"]`) });
  assert.match(await overviewCard.textContent(), new RegExp(`${flagged} membres? signalés?`));
  await close(overview);
  await close(page);
});

test('the members changed since a date are those the server stamped since then', async () => {
  const list = await flaggedList();
  const labels = await (await fetch(`${BASE}/ui/labels.json`)).json();
  const day2 = labels.generation.lastUpdated.slice(0, 10);
  const dayAfter = new Date(Date.parse(`${day2}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
  for (const [since, expectRetired] of [[day2, true], [dayAfter, false]]) {
    // The oracle: each member read on its own, its stamp compared with the date.
    const changed = [];
    for (const entry of list.entry) {
      const { status, body } = await request(entry.item.reference);
      if (status === 200 && Date.parse(body.meta.lastUpdated) >= Date.parse(`${since}T00:00:00Z`)) changed.push(entry.item.reference);
    }
    assert.equal(changed.includes(RETIRED), expectRetired, `the departure is stamped on day 2 (${since})`);

    const page = await open(`/?vue=listes&liste=${FOLLOWED}`);
    await settled(page);
    await page.fill('#depuis', since);
    await Promise.all([page.waitForNavigation(), page.press('#depuis', 'Enter')]);
    await settled(page);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'titre-changements', 'the focus goes to the answer');
    const shown = (await memberHrefs(page, '#changements')).map((h) => `Practitioner/${h.slice('/professionnels/'.length)}`);
    assert.deepEqual(shown.sort(), changed.sort(), `members changed since ${since}`);
    assert.match(await page.textContent('#resume-changements'), new RegExp(`^${changed.length} membres? modifiés? depuis le`));
    await close(page);
  }
});

test('the lists views: no serious accessibility violation, no horizontal scrolling; the title field follows the choice', async () => {
  const [practitioner] = await practitioners(1);
  const labels = await (await fetch(`${BASE}/ui/labels.json`)).json();
  const views = [
    ['lists', '/?vue=listes'],
    ['list', `/?vue=listes&liste=${FOLLOWED}`],
    ['list-changes', `/?vue=listes&liste=${FOLLOWED}&depuis=${labels.generation.lastUpdated.slice(0, 10)}`],
    ['practitioner-lists', `/professionnels/${practitioner.id}`],
  ];
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    for (const [name, path] of views) {
      const page = await open(path, { viewport });
      await settled(page);
      await page.screenshot({ path: `${ARTIFACTS}/${name}-${size}.png`, fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} at ${size} width scrolls sideways by ${overflow}px`);
      await accessible(page, `${name} (${size})`);
      await close(page);
    }
  }
  // A new list: once chosen, Tab leads to its title, and Enter in it adds.
  const page = await open(`/professionnels/${practitioner.id}`);
  await settled(page);
  await page.focus('#liste-choix');
  await page.selectOption('#liste-choix', '');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'liste-titre', 'the title field follows the choice');
  const title = unique('Au clavier');
  await page.keyboard.type(title);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /ajouté/.test(document.getElementById('liste-etat').textContent));
  assert.ok(await listTitled(title));
  await close(page);
});
