// The lookup page, in Debian's Chromium driven by Playwright, against a server with access
// control (see ../run.sh). What the page shows is checked against two oracles that do not go
// through it: the FHIR API of the same server, and the extraction files the store was imported
// from (the labels people read).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey, sign } from 'node:crypto';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const BASE = process.env.ANNUAIRE_URL;
/** The same data on a server without access control. */
const OPEN_BASE = process.env.ANNUAIRE_OPEN_URL;
const KEY_DESK = process.env.ANNUAIRE_KEY_DESK;
const KEY_RESTRICTED = process.env.ANNUAIRE_KEY_RESTRICTED;
const ARTIFACTS = process.env.ANNUAIRE_BROWSER_ARTIFACTS;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const DESKTOP = { width: 1280, height: 900 };
// WCAG 2.1 reflow (1.4.10) is judged at 320 CSS pixels.
const PHONE = { width: 320, height: 720 };

let browser;
/** Every URL any page asked for: all must be this server's. */
const requested = [];

before(async () => {
  assert.ok(BASE && KEY_DESK && KEY_RESTRICTED && ARTIFACTS, 'run through tests/browser/run.sh');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

// --- oracles -----------------------------------------------------------------------------------

async function api(path, key = KEY_RESTRICTED) {
  const response = await fetch(`${BASE}/fhir/${path}`, {
    headers: { Accept: 'application/fhir+json', 'ESANTE-API-KEY': key },
  });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return response.json();
}

const total = async (path) => (await api(`${path}${path.includes('?') ? '&' : '?'}_summary=count`)).total;

/** Every match of a search, following its next links (the API's own paging). */
async function walk(path) {
  const ids = [];
  let url = `${BASE}/fhir/${path}`;
  while (url) {
    const response = await fetch(url, { headers: { Accept: 'application/fhir+json', 'ESANTE-API-KEY': KEY_RESTRICTED } });
    const bundle = await response.json();
    for (const e of bundle.entry || []) if (e.search?.mode === 'match') ids.push(e.resource.id);
    url = (bundle.link || []).find((l) => l.relation === 'next')?.url;
  }
  return ids;
}

/** Lines of an extraction file, each decoded as UTF-8 or, failing that, Windows-1252/Latin-1
 * (the files mix both). */
function lines(path) {
  const bytes = readFileSync(path);
  const out = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const slice = bytes.subarray(start, i);
      let text;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(slice); } catch { text = new TextDecoder('latin1').decode(slice); }
      out.push(text.replace(/\r$/, ''));
      start = i + 1;
    }
  }
  return out;
}

/** The value of `column` on the first RPPS row of a person, read from the file itself (the
 * day served, or another day's `file`). */
function rppsColumn(idNat, column, file = process.env.ANNUAIRE_RPPS_FILE) {
  const [header, ...rows] = lines(file);
  const names = header.split('|').map((s) => s.trim());
  const key = names.indexOf('Identification nationale PP');
  const wanted = names.indexOf(column);
  const row = rows.map((r) => r.split('|')).find((f) => f[key] === idNat);
  assert.ok(row, `no RPPS row for ${idNat}`);
  return row[wanted].trim();
}

/** The category label the FINESS file gives an establishment. */
function finessCategoryLabel(nofinesset) {
  const row = lines(process.env.ANNUAIRE_FINESS_FILE)
    .map((l) => l.split(';'))
    .find((f) => f[0] === 'structureet' && f[1] === nofinesset);
  assert.ok(row, `no FINESS structureet ${nofinesset}`);
  return row[19];
}

/** The fields of a `;` line (RFC 4180: quoted fields may hold `;` and doubled quotes). */
function fields(line) {
  const out = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ';') { out.push(field); field = ''; } else field += c;
  }
  out.push(field);
  return out;
}

/** The records tagged `tag` in the FINESS extractions served (whatever file holds them). */
function finessRecords(tag) {
  const files = (process.env.ANNUAIRE_FINESS_FILES || '').split(':').filter(Boolean);
  assert.ok(files.length >= 5, `the five FINESS extractions are served: ${files}`);
  return files.flatMap((file) => lines(file).filter((l) => l.startsWith(`${tag};`)).map(fields));
}

/** A count as the page writes it (French grouping, whatever space the browser's ICU uses). */
const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '[\\s\u202f\u00a0]?');
/** `text` matched literally in a regular expression. */
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const fold = (text) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
const identifier = (resource, system) => resource.identifier?.find((i) => i.system === system)?.value;
const typedIdentifier = (resource, code) => resource.identifier?.find((i) => i.type?.coding?.some((c) => c.code === code))?.value;

/** A practitioner with an RPPS number, a personal mailbox and an active activity in a FINESS
 * establishment with a city: everything the page shows. */
let subject;
async function theSubject() {
  if (subject) return subject;
  const bundle = await api('Practitioner?mailbox-mss:contains=mssante&_count=100'
    + '&_revinclude=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization');
  const byRef = new Map(bundle.entry.map((e) => [`${e.resource.resourceType}/${e.resource.id}`, e.resource]));
  for (const e of bundle.entry.filter((x) => x.search.mode === 'match')) {
    const practitioner = e.resource;
    const rpps = identifier(practitioner, 'https://rpps.esante.gouv.fr');
    const mailbox = practitioner.telecom?.find((t) => t.system === 'email')?.value;
    const role = [...byRef.values()].find((r) => r.resourceType === 'PractitionerRole' && r.active
      && r.practitioner.reference === `Practitioner/${practitioner.id}`
      && typedIdentifier(byRef.get(r.organization?.reference) || {}, 'FINEG')
      && byRef.get(r.organization.reference).address?.[0]?.city);
    if (rpps && mailbox && role) {
      const organization = byRef.get(role.organization.reference);
      subject = { practitioner, rpps, mailbox, role, organization };
      return subject;
    }
  }
  throw new Error('the generated dataset has no practitioner with a mailbox and a FINESS activity');
}

/** An establishment with open authorised activities and open heavy equipment, and its legal
 * entity (day 2's data). */
let equipped;
async function theEquippedEstablishment() {
  if (equipped) return equipped;
  const bundle = await api('Organization?_has:Device:organization:status=active'
    + '&_has:HealthcareService:organization:active=true&partof:missing=false&_count=20');
  for (const e of bundle.entry || []) {
    const organization = e.resource;
    const legalId = organization.partOf.reference.split('/')[1];
    const legal = await api(`Organization/${legalId}`);
    if (typedIdentifier(legal, 'SIREN')) {
      equipped = { organization, legal };
      return equipped;
    }
  }
  throw new Error('the generated dataset has no establishment with activities, equipment and a legal entity with a SIREN');
}

/** An MRI unit in service and the département of its establishment. */
let mri;
async function anMri() {
  if (mri) return mri;
  const bundle = await api('Device?type=05701&status=active&_include=Device:organization&_count=50');
  const devices = bundle.entry.filter((e) => e.search.mode === 'match').map((e) => e.resource);
  const owner = (d) => bundle.entry.find((e) => `Organization/${e.resource.id}` === d.owner.reference)?.resource;
  const device = devices.find((d) => /^\d{5}$/.test(owner(d)?.address?.[0]?.postalCode || ''));
  assert.ok(device, 'the generated dataset has an MRI unit in an establishment with a postcode');
  mri = { device, system: device.type.coding[0].system, departement: owner(device).address[0].postalCode.slice(0, 2) };
  return mri;
}

// --- pages -------------------------------------------------------------------------------------

async function open(path, { key = KEY_DESK, viewport = DESKTOP, base = BASE } = {}) {
  const context = await browser.newContext({ viewport, locale: 'fr-FR' });
  context.on('request', (request) => requested.push(request.url()));
  if (key) await context.addInitScript((k) => sessionStorage.setItem('annuaire.identifiant', k), key);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${base}${path}`);
  return page;
}

async function settled(page) {
  await page.waitForFunction(() => document.documentElement.dataset.etat === 'pret');
  assert.deepEqual(page.errors, [], 'no script error');
  // Nothing a program would write by mistake reaches the reader.
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\bnull\b|\bundefined\b|\bNaN\b|\[object /, 'no stray value in the page');
}

async function close(page) {
  await page.context().close();
}

const practitionerLinks = (page) => page.$$eval('#resultats a[href^="/professionnels/"]',
  (links) => links.map((a) => decodeURIComponent(a.getAttribute('href').slice('/professionnels/'.length))));

/** Runs axe-core in the page; fails on serious or critical violations, reports the others. */
async function accessible(page, name) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const grave = results.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  for (const v of results.violations) {
    console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  }
  assert.deepEqual(grave.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${name}: serious accessibility violations`);
  assert.ok(results.passes.length > 20, `${name}: axe ran (${results.passes.length} rules passed)`);
}

// --- tests -------------------------------------------------------------------------------------

test('without credentials the page asks for them, and a key entered in the form is used', async () => {
  const page = await open('/?recherche=professionnel&nom=a', { key: null });
  await settled(page);
  assert.match(await page.textContent('#etat'), /demande de se connecter/);
  assert.equal(await page.$eval('#connexion', (d) => d.open), true, 'the connection form is opened');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'identifiant', 'and focused');
  await page.fill('#identifiant', KEY_DESK);
  await Promise.all([page.waitForNavigation(), page.click('#form-connexion button[type=submit]')]);
  await settled(page);
  const expected = await total('Practitioner?name=a');
  assert.match(await page.textContent('#titre-resultats'), new RegExp(`^Résultats : ${count(expected)} professionnels? trouvés?$`));
  await close(page);
});

test('search by name: accents and case do not matter, the count is the API\'s', async () => {
  const { practitioner } = await theSubject();
  const family = practitioner.name[0].family;
  const typed = fold(family);
  const page = await open('/');
  await settled(page);
  await page.fill('#pro-nom', typed);
  await Promise.all([page.waitForNavigation(), page.press('#pro-nom', 'Enter')]);
  await settled(page);
  const expected = await total(`Practitioner?name=${encodeURIComponent(typed)}`);
  assert.ok(expected >= 1 && expected <= 20, `a full family name gives one page (${expected})`);
  const heading = await page.textContent('#titre-resultats');
  assert.match(heading, new RegExp(`^Résultats : ${count(expected)} professionnels? trouvés?$`));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'titre-resultats', 'focus moves to the results');
  assert.ok((await practitionerLinks(page)).includes(practitioner.id));
  assert.equal((await practitionerLinks(page)).length, expected);
  await close(page);
});

test('search by RPPS number finds exactly that practitioner, with the profession label of the file', async () => {
  const { practitioner, rpps } = await theSubject();
  const page = await open('/');
  await settled(page);
  await page.fill('#pro-numero', rpps);
  await Promise.all([page.waitForNavigation(), page.click('#form-professionnel button[type=submit]')]);
  await settled(page);
  assert.deepEqual(await practitionerLinks(page), [practitioner.id]);
  const idNat = identifier(practitioner, 'urn:oid:1.2.250.1.71.4.2.1');
  const profession = rppsColumn(idNat, 'Libellé profession');
  assert.ok(profession.length > 0);
  assert.match(await page.textContent('#resultats .carte'), new RegExp(escape(profession)));
  await close(page);
});

test('search by city, alone and with a name, through the activities there', async () => {
  const { practitioner, organization } = await theSubject();
  const city = organization.address[0].city;
  const page = await open(`/?recherche=professionnel&lieu=${encodeURIComponent(fold(city))}`);
  await settled(page);
  const expected = await total(`PractitionerRole?organization.address-city=${encodeURIComponent(city)}&active=true`);
  assert.match(await page.textContent('#titre-resultats'), new RegExp(`^Résultats : ${count(expected)} activités? trouvées?$`));
  // One card per activity.
  assert.equal((await practitionerLinks(page)).length, Math.min(expected, 20));
  await close(page);

  const named = await open('/');
  await settled(named);
  await named.fill('#pro-nom', practitioner.name[0].family);
  await named.fill('#pro-lieu', city);
  await Promise.all([named.waitForNavigation(), named.press('#pro-lieu', 'Enter')]);
  await settled(named);
  assert.ok((await practitionerLinks(named)).includes(practitioner.id));
  assert.match(await named.textContent('#resultats'), new RegExp(escape(organization.name)));
  await close(named);
});

test('paging follows the API\'s cursors: the pages walked in the browser are the API\'s walk', async () => {
  let letter;
  for (const candidate of 'bcdefglmprst') {
    const n = await total(`Practitioner?name=${candidate}`);
    if (n > 40 && n <= 200) { letter = candidate; break; }
  }
  assert.ok(letter, 'a one-letter name search with 41 to 200 answers');
  const expected = await walk(`Practitioner?name=${letter}&_sort=family,given&_count=20`);
  const page = await open(`/?recherche=professionnel&nom=${letter}`);
  await settled(page);
  const seen = [];
  let pages = 0;
  for (;;) {
    pages += 1;
    assert.match(await page.textContent('.pagination') ?? '', new RegExp(`Page ${pages}`));
    seen.push(...await practitionerLinks(page));
    const next = await page.$('a[rel=next]');
    if (!next) break;
    await Promise.all([page.waitForNavigation(), next.click()]);
    await settled(page);
  }
  assert.equal(pages, Math.ceil(expected.length / 20));
  assert.deepEqual(seen, expected);
  await close(page);
});

test('a practitioner page: identity, qualifications, activities; mailboxes only with the scope', async () => {
  const { practitioner, rpps, mailbox, organization } = await theSubject();
  const page = await open(`/?recherche=professionnel&numero=${rpps}`);
  await settled(page);
  await Promise.all([page.waitForNavigation(), page.click(`#resultats a[href="/professionnels/${practitioner.id}"]`)]);
  await settled(page);
  const fiche = await page.textContent('#fiche');
  assert.match(await page.textContent('#titre-fiche'), new RegExp(escape(practitioner.name[0].family)));
  assert.match(fiche, new RegExp(`RPPS : ${rpps}`));
  const idNat = identifier(practitioner, 'urn:oid:1.2.250.1.71.4.2.1');
  assert.match(fiche, new RegExp(escape(rppsColumn(idNat, 'Libellé profession'))));
  const roles = await total(`PractitionerRole?practitioner=Practitioner/${practitioner.id}`);
  assert.match(fiche, new RegExp(`Activités \\(${roles}\\)`));
  assert.equal((await page.$$('#fiche .liste .carte')).length, roles);
  assert.ok(await page.$(`a[href="/etablissements/${organization.id}"]`), 'the activity links to its establishment');
  // A protected server: a plain link would be refused, so the resource's address is given.
  assert.ok((await page.$$eval('#fiche code', (c) => c.map((x) => x.textContent))).includes(`/fhir/Practitioner/${practitioner.id}`));
  // The front desk's key lacks the scope: the API redacted the mailboxes, the page says so.
  assert.equal(await page.$(`a[href="mailto:${mailbox}"]`), null);
  assert.match(fiche, /Non affichées : vos droits/);
  await page.screenshot({ path: `${ARTIFACTS}/practitioner-without-scope.png`, fullPage: true });
  await close(page);

  const allowed = await open(`/professionnels/${practitioner.id}`, { key: KEY_RESTRICTED });
  await settled(allowed);
  assert.ok(await allowed.$(`a[href="mailto:${mailbox}"]`), 'the mailbox is shown with the scope');
  assert.doesNotMatch(await allowed.textContent('#fiche'), /Non affichées/);
  await allowed.screenshot({ path: `${ARTIFACTS}/practitioner-with-scope.png`, fullPage: true });
  await close(allowed);
});

test('an establishment: found by FINESS number and by a word of its name, with its category label and practitioners', async () => {
  const { organization } = await theSubject();
  const finess = typedIdentifier(organization, 'FINEG');
  const page = await open('/');
  await settled(page);
  await page.fill('#etab-finess', finess);
  await Promise.all([page.waitForNavigation(), page.press('#etab-finess', 'Enter')]);
  await settled(page);
  const links = await page.$$eval('#resultats a[href^="/etablissements/"]', (a) => a.map((x) => x.getAttribute('href')));
  assert.deepEqual(links, [`/etablissements/${organization.id}`]);
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/etablissements/${organization.id}"]`)]);
  await settled(page);
  assert.equal((await page.textContent('#titre-fiche')).trim(), organization.name);
  const fiche = await page.textContent('#fiche');
  assert.match(fiche, new RegExp(`Catégorie${escape(finessCategoryLabel(finess))}`));
  assert.match(fiche, new RegExp(`FINESS établissement : ${finess}`));
  const roles = await total(`PractitionerRole?organization=Organization/${organization.id}`);
  assert.match(await page.textContent('#titre-professionnels'), new RegExp(`^Professionnels qui y exercent : ${count(roles)} activités?$`));
  assert.equal((await page.$$('#fiche .liste .carte')).length, Math.min(roles, 20));
  await close(page);

  // A word from the middle of the name (the long name, `alias`, counts too).
  const word = organization.name.split(/\s+/).filter((w) => w.length >= 4).pop() ?? organization.name;
  const byName = await open(`/?recherche=etablissement&nom=${encodeURIComponent(fold(word))}`);
  await settled(byName);
  const expected = await total(`Organization?name:contains=${encodeURIComponent(fold(word))}`);
  assert.match(await byName.textContent('#titre-resultats'), new RegExp(`^Résultats : ${count(expected)} établissements? trouvés?$`));
  await close(byName);
});

test('screenshots at desktop and phone widths, no serious accessibility violation, no horizontal scrolling', async () => {
  const { practitioner, organization } = await theSubject();
  const { organization: withOffers } = await theEquippedEstablishment();
  const { departement } = await anMri();
  const views = [
    ['establishment-offers', `/etablissements/${withOffers.id}`],
    ['offers', `/?recherche=offre&quoi=IRM&lieu=${departement}`],
    ['publics', '/?recherche=offre&quoi=alzheimer&sur=publics',],
    ['home', '/'],
    ['results', `/?recherche=professionnel&nom=${encodeURIComponent(fold(practitioner.name[0].family).slice(0, 3))}`],
    ['practitioner', `/professionnels/${practitioner.id}`],
    ['establishment', `/etablissements/${organization.id}`],
    ['establishments', `/?recherche=etablissement&nom=centre`],
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
  const refused = await open('/?recherche=professionnel&nom=a', { key: null, viewport: PHONE });
  await settled(refused);
  await refused.screenshot({ path: `${ARTIFACTS}/credentials-phone.png`, fullPage: true });
  await accessible(refused, 'credentials (phone)');
  await close(refused);
});

test('a refused search is explained in French, with the server\'s own words marked as English', async () => {
  const page = await open('/?recherche=professionnel&nom=a&curseur=not-a-cursor');
  await settled(page);
  assert.match(await page.textContent('.alerte'), /n'a pas pu faire cette recherche/);
  const detail = await page.textContent('.alerte span[lang=en]');
  assert.ok(detail.length > 10, detail);
  assert.equal(await page.$('#titre-resultats'), null);
  await close(page);
});

test('an open server: no connection form, and links to the FHIR resources that open', async () => {
  const { practitioner } = await theSubject();
  const page = await open(`/professionnels/${practitioner.id}`, { key: null, base: OPEN_BASE });
  await settled(page);
  assert.equal(await page.isVisible('#connexion'), false);
  const href = `/fhir/Practitioner/${practitioner.id}?_format=json`;
  assert.ok(await page.$(`a[href="${href}"]`), 'links to the FHIR resource');
  const response = await fetch(`${OPEN_BASE}${href}`);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).id, practitioner.id);
  await close(page);
});

test('a refused key, an unknown page, and leaving', async () => {
  const refused = await open('/?recherche=professionnel&nom=a', { key: 'not-a-key-of-this-server' });
  await settled(refused);
  assert.match(await refused.textContent('.alerte'), /n'est pas accepté/);
  assert.equal(await refused.evaluate(() => document.activeElement.id), 'identifiant');
  await close(refused);

  const unknown = await open('/professionnels/pp-000-00');
  await settled(unknown);
  assert.match(await unknown.textContent('[role=alert]'), /n'existe pas/);
  assert.equal(await unknown.title(), 'Erreur · Annuaire santé');
  await close(unknown);

  const broken = await open('/professionnels/%E0');
  await settled(broken);
  assert.match(await broken.textContent('[role=alert]'), /n'est pas celle d'une fiche/);
  await close(broken);

  // Logged in through the form (not by the test's start-up script, which would log in again).
  const leaving = await open('/', { key: null });
  await settled(leaving);
  await leaving.click('#connexion summary');
  await leaving.fill('#identifiant', KEY_DESK);
  await Promise.all([leaving.waitForNavigation(), leaving.click('#form-connexion button[type=submit]')]);
  await settled(leaving);
  assert.equal(await leaving.evaluate(() => sessionStorage.getItem('annuaire.identifiant')), KEY_DESK);
  assert.equal(new URL(leaving.url()).search, '', 'the key never goes into the address');
  await leaving.click('#connexion summary');
  await Promise.all([leaving.waitForNavigation(), leaving.click('#deconnexion')]);
  await settled(leaving);
  assert.equal(await leaving.evaluate(() => sessionStorage.getItem('annuaire.identifiant')), null);
  await close(leaving);
});

test('directory text stays text: markup and odd addresses in the data are shown, never run', async () => {
  const evil = '<img src=x onerror="window.__pwned=1">';
  const practitioner = {
    resourceType: 'Practitioner', id: 'pp-evil',
    meta: { lastUpdated: '2026-11-01T00:00:00Z' },
    identifier: [{ system: 'https://rpps.esante.gouv.fr', value: evil }],
    name: [{ family: evil, given: ['<script>window.__pwned=2</script>'] }],
    telecom: [{ system: 'email', value: 'x@y.fr?bcc=spy@example.org',
      extension: [{ url: 'https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata', extension: [] }] }],
  };
  const organization = { resourceType: 'Organization', id: 'eg-evil', name: `javascript:alert(1) ${evil}`, address: [{ line: [evil], city: evil }] };
  const role = { resourceType: 'PractitionerRole', id: 'se-evil', active: true,
    practitioner: { reference: 'Practitioner/pp-evil' }, organization: { reference: 'Organization/eg-evil' } };
  const page = await open('/professionnels/pp-evil');
  // The API's answers are replaced by crafted ones: the page's rendering alone is tested.
  await page.route('**/fhir/Practitioner/pp-evil', (route) => route.fulfill({ contentType: 'application/fhir+json', body: JSON.stringify(practitioner) }));
  await page.route('**/fhir/PractitionerRole?**', (route) => route.fulfill({ contentType: 'application/fhir+json', body: JSON.stringify({
    resourceType: 'Bundle', type: 'searchset', total: 1,
    entry: [{ resource: role, search: { mode: 'match' } }, { resource: organization, search: { mode: 'include' } }],
  }) }));
  await page.reload();
  await settled(page);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$$eval('#fiche img, #fiche script', (n) => n.length), 0);
  assert.match(await page.textContent('#titre-fiche'), /<img src=x onerror=/);
  assert.match(await page.textContent('#fiche'), /<script>window.__pwned=2<\/script>/);
  assert.equal(await page.$('a[href^="mailto:"]'), null, 'an address with a query is not a link');
  assert.match(await page.textContent('#fiche'), /x@y\.fr\?bcc=spy@example\.org/);
  assert.equal(await page.$('a[href^="javascript:"]'), null);
  await close(page);
});

test('a name found inside compound names when nothing starts with it', async () => {
  // A practitioner whose family name has a second part no name starts with.
  const entries = [];
  let url = 'Practitioner?_count=500&_elements=name';
  for (let pages = 0; url && pages < 3; pages++) {
    const bundle = await api(url);
    entries.push(...(bundle.entry || []));
    const next = (bundle.link || []).find((l) => l.relation === 'next')?.url;
    url = next ? next.slice(next.indexOf('/fhir/') + '/fhir/'.length) : null;
  }
  let target = null;
  for (const e of entries) {
    const family = e.resource.name?.[0]?.family || '';
    const part = fold(family.split('-').pop());
    if (family.includes('-') && part.length >= 4 && await total(`Practitioner?name=${encodeURIComponent(part)}`) === 0) {
      target = { id: e.resource.id, part };
      break;
    }
  }
  assert.ok(target, 'the generated dataset has a compound family name');
  const page = await open(`/?recherche=professionnel&nom=${encodeURIComponent(target.part)}`);
  await settled(page);
  assert.match(await page.textContent('#titre-resultats'), /^Résultats : 0 professionnel trouvé$/);
  await Promise.all([page.waitForNavigation(), page.click('text=à l\'intérieur des noms')]);
  await settled(page);
  assert.ok((await practitionerLinks(page)).includes(target.id));
  await close(page);
});

test('an establishment\'s practitioners page forwards and back, as the API does', async () => {
  // The establishment with the most activities, beyond one page.
  const orgs = await api('Organization?_count=100&_elements=id');
  let busiest = null;
  for (const e of orgs.entry) {
    const n = await total(`PractitionerRole?organization=Organization/${e.resource.id}`);
    if (n > 20 && (!busiest || n > busiest.n)) busiest = { id: e.resource.id, n };
  }
  assert.ok(busiest, 'an establishment with more than 20 activities');
  const roles = await walk(`PractitionerRole?organization=Organization/${busiest.id}&_count=20`);
  const practitionerOf = new Map();
  for (let offset = 0; offset < roles.length; offset += 50) {
    const ids = roles.slice(offset, offset + 50).join(',');
    const b = await api(`PractitionerRole?_id=${ids}&_count=50`);
    for (const e of b.entry) practitionerOf.set(e.resource.id, e.resource.practitioner.reference.split('/')[1]);
  }
  const expected = roles.map((r) => practitionerOf.get(r));
  const page = await open(`/etablissements/${busiest.id}`);
  await settled(page);
  const cards = () => page.$$eval('#fiche .liste a[href^="/professionnels/"]',
    (a) => a.map((x) => decodeURIComponent(x.getAttribute('href').slice('/professionnels/'.length))));
  const seen = [...await cards()];
  const firstPage = [...seen];
  while (await page.$('a[rel=next]')) {
    await Promise.all([page.waitForNavigation(), page.click('a[rel=next]')]);
    await settled(page);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'titre-professionnels');
    seen.push(...await cards());
  }
  assert.deepEqual(seen, expected);
  // And back: the previous pages are the same ones.
  while (await page.$('a[rel=prev]')) {
    await Promise.all([page.waitForNavigation(), page.click('a[rel=prev]')]);
    await settled(page);
  }
  assert.deepEqual(await cards(), firstPage);
  await close(page);
});

/** A bearer token as an identity provider would sign it (ES256, the run's key). */
function token(scope) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const signed = `${encode({ alg: 'ES256', typ: 'JWT', kid: 'browser-tests' })}.${encode({
    iss: process.env.ANNUAIRE_ISSUER, aud: process.env.ANNUAIRE_AUDIENCE, sub: 'secretariat-cardiologie',
    iat: now, exp: now + 600, scope,
  })}`;
  const key = createPrivateKey(readFileSync(process.env.ANNUAIRE_SIGNING_KEY));
  const signature = sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' });
  return `${signed}.${signature.toString('base64url')}`;
}

test('a bearer token entered in the form is sent as one, with the rights it carries', async () => {
  const { practitioner, mailbox } = await theSubject();
  for (const [scope, shown] of [['system/*.rs annuaire/restricted.read', true], ['system/*.rs', false]]) {
    const page = await open(`/professionnels/${practitioner.id}`, { key: null });
    await settled(page);
    assert.match(await page.textContent('.alerte'), /demande de se connecter/);
    await page.fill('#identifiant', token(scope));
    const sent = page.waitForRequest((r) => r.url().includes('/fhir/Practitioner/'));
    await Promise.all([page.waitForNavigation(), page.click('#form-connexion button[type=submit]')]);
    assert.match((await sent).headers().authorization, /^Bearer ey/);
    await settled(page);
    assert.match(await page.textContent('#titre-fiche'), new RegExp(escape(practitioner.name[0].family)));
    assert.equal(Boolean(await page.$(`a[href="mailto:${mailbox}"]`)), shown, `mailbox with "${scope}"`);
    await close(page);
  }
});

test('keyboard: the first Tab reaches the skip link, which leads to the content', async () => {
  const page = await open('/');
  await settled(page);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Aller au contenu');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'contenu');
  await close(page);
});

test('the page loads nothing from elsewhere, and forbids it', async () => {
  const { practitioner, organization } = await theSubject();
  for (const path of ['/', `/?recherche=professionnel&nom=a`, `/professionnels/${practitioner.id}`, `/etablissements/${organization.id}`]) {
    const page = await open(path);
    await settled(page);
    await close(page);
  }
  const response = await fetch(`${BASE}/`);
  const policy = response.headers.get('content-security-policy');
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /script-src 'self'/);
  assert.ok(requested.length > 20, `${requested.length} requests seen`);
  const elsewhere = requested.filter((url) => !url.startsWith(`${BASE}/`) && !url.startsWith(`${OPEN_BASE}/`));
  assert.deepEqual(elsewhere, []);
});

/** A date as the page writes it: `2 novembre 2026`, `1er novembre 2026`. */
const frenchDate = (iso) => new Date(iso).toLocaleDateString('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
  .replace(/^1 /, '1er ');

test('a departed practitioner\'s page names them, says since when, and lists their closed activities', async () => {
  // A practitioner absent from day 2's files, with activities: deactivated on day 2.
  const bundle = await api('Practitioner?active=false&_count=200&_revinclude=PractitionerRole:practitioner'
    + '&_include:iterate=PractitionerRole:organization');
  const byRef = new Map(bundle.entry.map((e) => [`${e.resource.resourceType}/${e.resource.id}`, e.resource]));
  const rolesOf = (p) => [...byRef.values()].filter((r) => r.resourceType === 'PractitionerRole'
    && r.practitioner?.reference === `Practitioner/${p.id}`);
  // (A profession change also deactivates a Practitioner: the person is then still in day 2's
  // file, under another id. A retired person is not.)
  const day2 = lines(process.env.ANNUAIRE_RPPS_FILE).join('\n');
  const departed = bundle.entry.filter((e) => e.search.mode === 'match').map((e) => e.resource)
    .find((p) => identifier(p, 'https://rpps.esante.gouv.fr') && rolesOf(p).some((r) => r.organization)
      && !day2.includes(`|${identifier(p, 'urn:oid:1.2.250.1.71.4.2.1')}|`));
  assert.ok(departed, 'day 2 retired a practitioner with activities');
  const roles = rolesOf(departed);
  assert.ok(roles.every((r) => r.active === false), 'a departed practitioner\'s activities are closed');
  // Named as day 1's file names them (the day they were last listed).
  const idNat = identifier(departed, 'urn:oid:1.2.250.1.71.4.2.1');
  const day1 = process.env.ANNUAIRE_RPPS_DAY1_FILE;
  const family = rppsColumn(idNat, "Nom d'exercice", day1);
  const given = rppsColumn(idNat, "Prénom d'exercice", day1);

  const page = await open(`/professionnels/${departed.id}`);
  await settled(page);
  const heading = await page.textContent('#titre-fiche');
  assert.match(heading, new RegExp(escape(family)), 'the heading names them');
  assert.match(heading, new RegExp(escape(given)));
  const fiche = await page.textContent('#fiche');
  assert.match(fiche, new RegExp(escape(`ne figure plus dans l'annuaire depuis le ${frenchDate(departed.meta.lastUpdated)}`)));
  assert.match(fiche, new RegExp(`Activités \\(${roles.length}\\)`));
  assert.doesNotMatch(fiche, /Non affichées/, 'a closed record keeps no mailbox: nothing is said hidden');
  const cards = await page.$$eval('#fiche .liste .carte', (c) => c.map((x) => x.textContent));
  assert.equal(cards.length, roles.length);
  for (const role of roles) {
    const closed = `activité terminée le ${frenchDate(role.meta.lastUpdated)}`;
    const organization = byRef.get(role.organization?.reference);
    assert.ok(cards.some((c) => c.includes(closed) && (!organization?.name || c.includes(organization.name))),
      `${role.id}: its structure and its closing date, in ${cards}`);
    if (organization) {
      assert.ok(await page.$(`#fiche a[href="/etablissements/${organization.id}"]`), 'the closed activity links to its structure');
    }
  }
  await accessible(page, 'departed practitioner');
  await page.screenshot({ path: `${ARTIFACTS}/practitioner-departed.png`, fullPage: true });
  await close(page);

  // A search by their number finds them, marked as gone.
  const search = await open(`/?recherche=professionnel&numero=${identifier(departed, 'https://rpps.esante.gouv.fr')}`);
  await settled(search);
  assert.deepEqual(await practitionerLinks(search), [departed.id]);
  assert.match(await search.textContent('#resultats'), /ne figure plus dans l'annuaire depuis le/);
  await close(search);
});

test('an establishment shows its legal entity in full, its authorised activities and its heavy equipment, in the files\' words', async () => {
  const { organization, legal } = await theEquippedEstablishment();
  const finess = typedIdentifier(organization, 'FINEG');
  const page = await open(`/etablissements/${organization.id}`);
  await settled(page);
  const fiche = await page.textContent('#fiche');
  // The legal entity, as its file (structureej) gives it.
  const ej = finessRecords('structureej').find((f) => f[1] === typedIdentifier(legal, 'FINEJ'));
  assert.ok(ej, `the legal entity ${legal.id} is in the legal entities file`);
  assert.match(fiche, new RegExp(`SIREN${escape(ej[20])}`));
  assert.match(fiche, new RegExp(`FINESS entité juridique${escape(ej[1])}`));
  if (ej[17]) assert.match(fiche, new RegExp(`Statut juridique${escape(ej[17])}`));
  // Activities: as many as the API has, each named with the file's label.
  const services = await total(`HealthcareService?organization=Organization/${organization.id}`);
  assert.match(await page.textContent('#titre-activites'), new RegExp(`^Activités autorisées \\(${services}\\)$`));
  const activities = finessRecords('activiteoffresoin').filter((f) => f[11] === finess);
  const social = finessRecords('equipementsocial').filter((f) => f[1] === finess);
  for (const f of activities.slice(0, 5)) assert.match(fiche, new RegExp(escape(f[4])), `activity ${f[3]}`);
  for (const f of social.slice(0, 5)) assert.match(fiche, new RegExp(escape(f[3])), `social discipline ${f[2]}`);
  assert.ok(activities.length + social.length >= 1, 'the files list what the API serves');
  // Heavy equipment: the R272 label of each unit, its ARHGOS number when the file has one.
  const devices = await total(`Device?organization=Organization/${organization.id}`);
  assert.match(await page.textContent('#titre-equipements'), new RegExp(`^Équipements lourds \\(${devices}\\)$`));
  const units = finessRecords('equipmateriellourd').filter((f) => f[9] === finess);
  assert.ok(units.length >= 1, 'the heavy equipment file lists its units');
  for (const f of units) {
    assert.match(fiche, new RegExp(escape(f[4])), `unit ${f[3]}`);
    if (f[6]) assert.match(fiche, new RegExp(`ARHGOS : ${escape(f[6])}`));
  }
  await close(page);

  // A caller whose scopes do not cover the services still sees the rest of the page.
  const limited = await open(`/etablissements/${organization.id}`);
  await limited.route('**/fhir/Device?**', (route) => route.fulfill({ status: 403, contentType: 'application/fhir+json',
    body: JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'no Device scope' }] }) }));
  await limited.reload();
  await settled(limited);
  assert.equal((await limited.textContent('#titre-fiche')).trim(), organization.name);
  assert.match(await limited.textContent('#fiche'), /Équipements lourds\s*Vos droits d'accès ne permettent pas/);
  await close(limited);
});

test('"IRM" near a département lists the MRI units there, one card per establishment, as the API answers', async () => {
  const { system, departement } = await anMri();
  // The codes whose label has a word starting with "irm", from the heavy equipment file.
  const codes = [...new Set(finessRecords('equipmateriellourd')
    .filter((f) => fold(f[4]).split(/[^a-z0-9]+/).some((w) => w.startsWith('irm'))).map((f) => f[3]))];
  assert.ok(codes.includes('05701'), `the MRI code is named by "IRM": ${codes}`);
  const query = `type=${codes.map((c) => `${system}|${c}`).join(',')}&organization.address-postalcode=${departement}&status=active`;
  const expected = await total(`Device?${query}`);
  assert.ok(expected >= 1);
  const page = await open('/');
  await settled(page);
  await page.fill('#offre-quoi', 'irm');
  await page.fill('#offre-lieu', departement);
  await Promise.all([page.waitForNavigation(), page.press('#offre-lieu', 'Enter')]);
  await settled(page);
  assert.match(await page.textContent('#titre-resultats'),
    new RegExp(`^Résultats : ${count(expected)} équipements? lourds? trouvés?$`));
  // The first page's establishments are the owners of the API's first page, in its order.
  const first = await api(`Device?${query}&_count=20&_include=Device:organization`);
  const owners = [...new Set(first.entry.filter((e) => e.search.mode === 'match').map((e) => e.resource.owner.reference.split('/')[1]))];
  const shown = await page.$$eval('#resultats .carte h3 a', (a) => a.map((x) => decodeURIComponent(x.getAttribute('href').split('/').pop())));
  assert.deepEqual(shown, owners);
  for (const e of first.entry.filter((x) => x.search.mode === 'include')) {
    assert.ok(e.resource.address[0].postalCode.startsWith(departement), `${e.resource.id} is in ${departement}`);
  }
  await close(page);
});

test('"urgences" finds the emergency activities, "Alzheimer" the publics; an unknown word is said so', async () => {
  const urgent = await open('/?recherche=offre&quoi=urgences');
  await settled(urgent);
  const activities = finessRecords('activiteoffresoin');
  const emergency = [...new Set(activities.filter((f) => fold(f[4]).split(/[^a-z0-9]+/).some((w) => w.startsWith('urgence'))).map((f) => f[3]))];
  assert.ok(emergency.length >= 1, 'the activities file has emergency medicine');
  const anActivity = await api(`HealthcareService?service-type=${emergency[0]}&_count=1`);
  const activitySystem = anActivity.entry[0].resource.type[0].coding[0].system;
  // Social disciplines named by the same word (e.g. emergency housing) are in the same kind.
  const social = finessRecords('equipementsocial');
  const disciplines = [...new Set(social.filter((f) => fold(f[3]).split(/[^a-z0-9]+/).some((w) => w.startsWith('urgence'))).map((f) => f[2]))];
  let values = emergency.map((c) => `${activitySystem}|${c}`);
  if (disciplines.length) {
    const aSocial = await api(`HealthcareService?service-type=${disciplines[0]}&_count=1`);
    const socialSystem = aSocial.entry[0].resource.type[0].coding[0].system;
    values = values.concat(disciplines.map((c) => `${socialSystem}|${c}`));
  }
  const expected = await total(`HealthcareService?service-type=${values.join(',')}&active=true`);
  assert.match(await urgent.textContent('#titre-resultats'), new RegExp(`^Résultats : ${count(expected)} activités? trouvées?$`));
  await close(urgent);

  // (A social discipline may name it too: the publics are then one link away.)
  const alzheimer = await open('/?recherche=offre&quoi=Alzheimer&sur=publics');
  await settled(alzheimer);
  const publics = [...new Set(social.filter((f) => fold(f[7]).includes('alzheimer')).map((f) => f[6]))];
  assert.ok(publics.length >= 1, 'the social equipment file has an Alzheimer public');
  const aPublic = await api(`HealthcareService?eligibility=${publics[0]}&_count=1`);
  const publicSystem = aPublic.entry[0].resource.eligibility[0].code.coding[0].system;
  const expectedPublics = await total(`HealthcareService?eligibility=${publics.map((c) => `${publicSystem}|${c}`).join(',')}&active=true`);
  assert.match(await alzheimer.textContent('#titre-resultats'), new RegExp(`^Résultats : ${count(expectedPublics)} accueils? trouvés?$`));
  assert.match(await alzheimer.textContent('#resultats'), /Alzheimer/);
  await close(alzheimer);

  // « scanner », the word people use, finds the file's « Scanographe ».
  const scanner = await open('/?recherche=offre&quoi=scanner');
  await settled(scanner);
  const scanners = await total('Device?type=05602&status=active');
  assert.ok(scanners >= 1, 'the generated dataset has scanners');
  assert.match(await scanner.textContent('#titre-resultats'), new RegExp(`^Résultats : ${count(scanners)} équipements? lourds? trouvés?$`));
  await close(scanner);

  const unknown = await open('/?recherche=offre&quoi=zzqxw');
  await settled(unknown);
  assert.match(await unknown.textContent('#etat'), /Aucune activité, aucun équipement ni aucun public/);
  assert.equal(await unknown.$('#titre-resultats'), null);
  await close(unknown);
});
