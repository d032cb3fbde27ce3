// The lookup page of annuaire. It reads what to show from the address (a search, a
// practitioner, an establishment), asks the FHIR API of this same server for it with the
// caller's own credentials, and writes the answer into the page. Every text from the directory
// goes in through textContent: nothing it holds can become markup.
'use strict';

(() => {
  const PAGE_SIZE = 20;
  const CREDENTIAL = 'annuaire.identifiant';
  const FHIR = '/fhir';

  let terminology = { systems: {}, labels: {}, generation: null };

  // --- small helpers -----------------------------------------------------------------------

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);

  /** Replaces the content of `node` (absent parts, `null` or `false`, are left out: DOM
   * methods would write them as text). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  }

  /** The label of a code, or the code itself when the files gave it none. */
  function label(system, code) {
    return knownLabel(system, code) || code;
  }

  function knownLabel(system, code) {
    const codes = terminology.labels[system];
    return (codes && codes[code]) || null;
  }

  /** The words of a coding: its own `display` (the files' label, the same as its CodeSystem's),
   * else the code itself. */
  function codingLabel(coding) {
    return coding.display || label(coding.system, coding.code);
  }

  /** The label of the first coding of a concept in one of `systems`. */
  function conceptLabel(concept, systems) {
    const coding = (concept && concept.coding || []).find((c) => systems.includes(c.system));
    return coding ? codingLabel(coding) : null;
  }

  const hasCoding = (concept, system) =>
    (concept && concept.coding || []).some((c) => c.system === system);

  function extension(element, url) {
    return (element && element.extension || []).find((e) => e.url === url);
  }

  function formatDate(iso) {
    if (!iso) return '';
    const date = new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
    if (Number.isNaN(date.getTime())) return iso;
    const text = date.toLocaleDateString('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    return text.replace(/^1 /, '1er ');
  }

  const TITLES = { DR: 'Dr', PR: 'Pr', MME: 'Mme', M: 'M.', MLLE: 'Mlle' };

  function personName(practitioner) {
    const name = (practitioner.name || [])[0] || {};
    const title = (name.suffix || []).concat(name.prefix || []).map((t) => TITLES[t] || t)[0];
    return [title, (name.given || []).join(' '), name.family].filter(Boolean).join(' ');
  }

  function addressLines(address) {
    if (!address) return [];
    const lines = (address.line || []).slice();
    const town = [address.postalCode, address.city].filter(Boolean).join(' ');
    if (town) lines.push(town);
    return lines;
  }

  const townOf = (address) => address ? [address.postalCode, address.city].filter(Boolean).join(' ') : '';

  function identifierValue(resource, system, typeCode) {
    const found = (resource.identifier || []).find((i) =>
      (!system || i.system === system) &&
      (!typeCode || hasCoding(i.type, 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203') &&
        i.type.coding.some((c) => c.code === typeCode)));
    return found ? found.value : null;
  }

  /** Whether a plain navigation to the API would be refused: the server asks for credentials
   * and this browser has no session (a signed-in person's session cookie goes with it). */
  const apiNeedsKey = () => terminology.credentials === 'required' && !bySession();

  /** A link to the API; where a plain navigation would be refused, the address is shown for
   * an HTTP client instead. */
  function fhirLink(href, text) {
    return apiNeedsKey()
      ? [`${text} : `, el('code', {}, href)]
      : el('a', { href }, text);
  }

  function fhirLinks(path) {
    if (apiNeedsKey()) {
      return el('p', { class: 'fhir' }, 'Ressource FHIR (avec votre clé, depuis un client HTTP) : ',
        el('code', {}, `${FHIR}/${path}`));
    }
    return el('p', { class: 'fhir' }, 'Ressource FHIR : ',
      el('a', { href: `${FHIR}/${path}?_format=json` }, 'JSON'), ' · ',
      el('a', { href: `${FHIR}/${path}?_format=xml` }, 'XML'));
  }

  /** When a record left the directory: its deactivated version's date (a closed record keeps
   * its identifiers, its name and its links, and `active: false`; see mapping.md). */
  const closedSince = (resource) => formatDate(resource.meta && resource.meta.lastUpdated);

  /** The notice of a record absent from the latest extraction, or null. */
  function departureNotice(resource, what) {
    if (resource.active !== false) return null;
    return el('p', { class: 'depart', role: 'note' },
      `${what} ne figure plus dans l'annuaire depuis le ${closedSince(resource)}.`);
  }

  // --- the caller's credential -------------------------------------------------------------

  const credential = () => sessionStorage.getItem(CREDENTIAL);

  function authorizationHeaders() {
    const secret = credential();
    if (!secret) return {};
    // A JSON Web Token goes as a bearer token; anything else is an API key (the ANS header).
    return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(secret)
      ? { Authorization: `Bearer ${secret}` }
      : { 'ESANTE-API-KEY': secret };
  }

  function setUpConnection() {
    const form = $('form-connexion');
    const state = $('connexion-etat');
    if (credential()) {
      state.textContent = 'Vous êtes connecté dans cet onglet. Se déconnecter efface la clé ou le jeton.';
      $('connexion').querySelector('summary').textContent = 'Connecté : se déconnecter ou changer de clé';
    }
    $('deconnexion').hidden = !credential();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('identifiant').value.trim();
      // HTTP headers carry visible ASCII only: anything else is not a key this server issued.
      if (!/^[\x21-\x7e]+$/.test(value)) {
        state.replaceChildren(el('span', { class: 'alerte', role: 'alert' },
          "Cette clé n'est pas valable : une clé d'API ou un jeton ne contient que des lettres, des chiffres et des signes, sans espace ni accent."));
        $('identifiant').focus();
        return;
      }
      sessionStorage.setItem(CREDENTIAL, value);
      sessionStorage.removeItem(WRITE_REFUSED);
      location.reload();
    });
    $('deconnexion').addEventListener('click', () => {
      sessionStorage.removeItem(CREDENTIAL);
      sessionStorage.removeItem(WRITE_REFUSED);
      location.reload();
    });
  }

  // --- Pro Santé Connect ---------------------------------------------------------------------
  //
  // The server keeps the session; the browser holds only its cookie (HttpOnly, same origin).
  // `/ui/session` says whether sign-in is offered, who is signed in, and the CSRF token a write
  // made with the cookie must carry. A pasted key or token, when there is one, still wins.

  /** What `/ui/session` said; `{ signin: 'unavailable' }` when it could not be asked. */
  let session = { signin: 'unavailable', signedIn: false };

  /** Whether the API calls go with the session cookie rather than a pasted credential. */
  const bySession = () => session.signedIn && !credential();

  async function loadSession() {
    try {
      const response = await fetch('/ui/session', {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      if (response.ok) session = await response.json();
    } catch (e) {
      // Sign-in is simply not offered: the key form stays.
    }
  }

  /** Where sign-in brings the person back: this very page. */
  function signInHref() {
    return `/ui/connexion?retour=${encodeURIComponent(location.pathname + location.search)}`;
  }

  function setUpSession() {
    const offered = session.signin === 'available';
    const box = $('session-psc');
    box.hidden = !(offered || session.signedIn);
    $('psc-hors-session').hidden = session.signedIn || !offered;
    $('connexion-psc').setAttribute('href', signInHref());
    $('psc-en-session').hidden = !session.signedIn;
    $('lien-mon-dossier').hidden = !session.signedIn;
    if (!session.signedIn) return;
    fill($('session-nom'), 'Connecté avec Pro Santé Connect : ',
      el('strong', {}, session.name || session.nationalId || 'professionnel de santé'));
    $('csrf-deconnexion').value = session.csrf || '';
    $('form-deconnexion-psc').addEventListener('submit', signOut);
  }

  /** Sign-out with the CSRF header, asking for JSON: the server ends the session and says where
   * to go next (the provider's sign-out page, or this one). A plain form would be stopped by
   * the page's Content-Security-Policy (`form-action 'self'`) when the server sends it on to
   * the provider: browsers hold a form's redirects to it. */
  async function signOut(event) {
    event.preventDefault();
    $('deconnexion-psc').disabled = true;
    let next = '/';
    try {
      const response = await fetch('/ui/deconnexion', {
        method: 'POST',
        credentials: 'same-origin',
        redirect: 'manual',
        headers: { Accept: 'application/json', 'X-CSRF-Token': session.csrf || '' },
      });
      const type = response.headers.get('Content-Type') || '';
      if (response.ok && type.includes('json')) {
        const answer = await response.json();
        if (answer && typeof answer.redirect === 'string') next = answer.redirect;
      }
    } catch (e) {
      // The session ends on the server when it expires in any case: back to the page.
    }
    location.assign(next);
  }

  // --- talking to the API ------------------------------------------------------------------

  class ApiError extends Error {
    /** `detail`: the server's own words (in English), shown after the French sentence. */
    constructor(status, message, detail = '') {
      super(message);
      this.status = status;
      this.detail = detail;
    }
  }

  /** The diagnostics of an OperationOutcome: written by the server for people. */
  function outcomeText(body) {
    const issues = body && body.resourceType === 'OperationOutcome' ? body.issue || [] : [];
    return issues.map((i) => i.diagnostics || (i.details && i.details.text)).filter(Boolean).join(' ');
  }

  /** What a refusal means to a person, by status; `overrides` words it for what was asked. */
  function refusal(status, body, overrides = {}) {
    // The server's diagnostics (in English) help with a refused search or write; for the other
    // statuses the French sentence says all a person can act on.
    const detail = [400, 403, 422].includes(status) ? outcomeText(body) : '';
    const messages = {
      401: bySession()
        ? 'Votre session Pro Santé Connect a pris fin. Connectez-vous à nouveau.'
        : credential()
        ? "La clé ou le jeton n'est pas accepté par ce serveur (inconnu, expiré ou révoqué). Connectez-vous à nouveau."
        : 'Ce serveur demande de se connecter avec une clé d\'API ou un jeton d\'accès.',
      403: "Vos droits d'accès ne permettent pas cette consultation.",
      404: "Cette fiche n'existe pas dans l'annuaire.",
      410: "Ce professionnel ou cet établissement ne figure plus dans l'annuaire : il en a été retiré.",
      421: "Ce serveur est une copie en lecture seule de l'annuaire : les listes de correspondants sont tenues par le serveur principal.",
      429: 'Trop de demandes en peu de temps : patientez quelques secondes puis réessayez.',
      503: "L'annuaire n'est pas encore prêt (données en cours de chargement) : réessayez dans un instant.",
      ...overrides,
    };
    const known = messages[status] || (status < 500
      ? `L'annuaire n'a pas pu faire cette recherche${detail ? ' :' : '.'}`
      : `Le serveur a rencontré un problème (erreur ${status}) : réessayez plus tard.`);
    return new ApiError(status, known, detail);
  }

  /** One request to the API with the caller's credential: `{ status, body, etag }`, whatever
   * the status (the caller decides what a refusal means); an ApiError when nothing answers. */
  async function call(path, { method = 'GET', body, headers = {} } = {}) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          Accept: 'application/fhir+json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/fhir+json' }),
          ...authorizationHeaders(),
          // A write made with the session cookie proves it comes from this page.
          ...(bySession() && method !== 'GET' && method !== 'HEAD' ? { 'X-CSRF-Token': session.csrf || '' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        // The session cookie goes only when no key was pasted: a pasted credential wins.
        credentials: bySession() ? 'same-origin' : 'omit',
      });
    } catch (e) {
      throw new ApiError(0, "Le serveur de l'annuaire ne répond pas. Vérifiez la connexion et réessayez.");
    }
    let answer = null;
    try { answer = await response.json(); } catch (e) { answer = null; }
    return { status: response.status, body: answer, etag: response.headers.get('ETag'), location: response.headers.get('Location') };
  }

  async function getJson(path, overrides = {}) {
    const { status, body } = await call(path);
    if (status >= 200 && status < 300) return body;
    throw refusal(status, body, overrides);
  }

  function showError(error) {
    const status = $('etat');
    status.replaceChildren(el('p', { class: 'alerte', role: 'alert' }, error.message,
      error.detail ? [' ', el('span', { lang: 'en' }, error.detail)] : null));
    document.title = 'Erreur · Annuaire santé';
    if (error.status === 401 && session.signin === 'available' && !credential()) {
      // Signing in again with Pro Santé Connect is what this person can do.
      $('session-psc').hidden = false;
      $('psc-hors-session').hidden = false;
      $('psc-en-session').hidden = true;
      $('connexion-psc').focus();
    } else if (error.status === 401) {
      $('connexion').open = true;
      $('identifiant').focus();
    }
  }

  function announce(text) {
    fill($('etat'), text ? el('p', {}, text) : null);
  }

  // --- reading a Bundle --------------------------------------------------------------------

  function readBundle(bundle) {
    const byReference = new Map();
    const matches = [];
    for (const entry of bundle.entry || []) {
      const resource = entry.resource;
      if (!resource || !resource.id) continue;
      byReference.set(`${resource.resourceType}/${resource.id}`, resource);
      if (!entry.search || entry.search.mode === 'match') matches.push(resource);
    }
    const link = (relation) => (bundle.link || []).find((l) => l.relation === relation);
    const cursorOf = (l) => (l ? new URL(l.url, location.href).searchParams.get('_cursor') : null);
    const next = link('next');
    const previous = link('previous');
    return {
      matches,
      byReference,
      total: bundle.total,
      cursor: cursorOf(next),
      // `undefined`: no previous page; `null`: the previous page is the first.
      previous: previous ? cursorOf(previous) : undefined,
    };
  }

  const rolesOf = (byReference, practitionerRef) => [...byReference.values()].filter((r) =>
    r.resourceType === 'PractitionerRole' && r.practitioner && r.practitioner.reference === practitionerRef);

  // --- qualifications ----------------------------------------------------------------------

  function qualificationsOf(practitioner) {
    const s = terminology.systems;
    const professions = s.profession || [];
    const savoirFaire = (s.savoirFaire || []).map((t) => t.system);
    const out = { professions: [], specialties: [], diplomas: [] };
    for (const q of practitioner.qualification || []) {
      const code = q.code;
      if ((code.coding || []).some((c) => professions.includes(c.system))) {
        const category = conceptLabel(code, [s.categorieProfessionnelle]);
        out.professions.push({ text: conceptLabel(code, professions), category });
      } else if (hasCoding(code, s.typeSavoirFaire)) {
        out.specialties.push({
          text: conceptLabel(code, savoirFaire) || conceptLabel(code, [s.typeSavoirFaire]),
          kind: conceptLabel(code, [s.typeSavoirFaire]),
        });
      } else if (hasCoding(code, s.typeDiplome)) {
        const own = (code.coding || []).find((c) => c.system !== s.typeDiplome);
        out.diplomas.push({
          text: own ? codingLabel(own) : conceptLabel(code, [s.typeDiplome]),
          kind: conceptLabel(code, [s.typeDiplome]),
        });
      }
    }
    return out;
  }

  function mailboxesOf(resource) {
    return (resource.telecom || []).filter((t) => t.system === 'email' && extension(t, terminology.systems.messagerie));
  }

  const isRedacted = (resource) => ((resource.meta && resource.meta.security) || []).some((s) => s.code === 'REDACTED');

  // --- the FINESS services: healthcare activities, social equipment, heavy equipment --------

  /** The ANS extensions (`as-ext-authorization`, `as-ext-supported-capacity`...). */
  const AS_EXTENSION = 'https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/';
  const ARHGOS = 'https://arhgos.ars.sante.fr';

  /** The value of sub-extension `part` of the ANS extension `name` of a resource, or null. */
  function extensionPart(resource, name, part) {
    const outer = extension(resource, AS_EXTENSION + name);
    const inner = outer && extension(outer, part);
    if (!inner) return null;
    const key = Object.keys(inner).find((k) => k.startsWith('value'));
    return key ? inner[key] : null;
  }

  /** Social and medico-social equipment (`ess-`), as opposed to an authorised healthcare
   * activity (`asr-`): their codes come from different lists. */
  const isSocialEquipment = (service) => service.id.startsWith('ess-') ||
    (service.type || []).some((t) => hasCoding(t, terminology.systems.disciplineSociale));

  const first = (concepts, system) => (concepts || []).map((c) => conceptLabel(c, [system])).find(Boolean) || null;

  /** What a HealthcareService is, in words: its title and the details under it. */
  function serviceWords(service) {
    const s = terminology.systems;
    const authorized = extensionPart(service, 'as-ext-authorization', 'dateAuthorization');
    if (isSocialEquipment(service)) {
      const publics = (service.eligibility || []).map((e) => conceptLabel(e.code, [s.clientele])).filter(Boolean);
      const capacity = extensionPart(service, 'as-ext-supported-capacity', 'installedCapacity');
      return {
        title: first(service.type, s.disciplineSociale) || 'Équipement social ou médico-social',
        details: [
          first(service.characteristic, s.typeActiviteSociale),
          publics.length ? `Public : ${publics.join(', ')}` : null,
          typeof capacity === 'number' ? `Capacité installée : ${capacity} ${capacity > 1 ? 'places' : 'place'}` : null,
          authorized ? `Autorisé le ${formatDate(authorized)}` : null,
        ].filter(Boolean),
      };
    }
    return {
      title: first(service.type, s.activiteSanitaire) || 'Activité de soins',
      details: [
        first(service.category, s.modaliteActivite),
        first(service.characteristic, s.formeActivite),
        authorized ? `Autorisée le ${formatDate(authorized)}` : null,
      ].filter(Boolean),
    };
  }

  /** What a Device is, in words. */
  function deviceWords(device) {
    const arhgos = identifierValue(device, ARHGOS);
    const authorized = extensionPart(device, 'as-ext-authorization', 'dateAuthorization');
    const period = extensionPart(device, 'as-ext-authorization', 'periodAuthorization');
    return {
      title: conceptLabel(device.type, [terminology.systems.equipementLourd]) || 'Équipement lourd',
      details: [
        authorized ? `Autorisé le ${formatDate(authorized)}` : null,
        period && period.start ? `En service depuis le ${formatDate(period.start)}` : null,
        arhgos ? `N° d'autorisation ARHGOS : ${arhgos}` : null,
      ].filter(Boolean),
    };
  }

  /** A closed activity or equipment: the date it left the files. */
  function closedLabel(resource) {
    const closed = resource.resourceType === 'Device' ? resource.status === 'inactive' : resource.active === false;
    if (!closed) return null;
    const what = resource.resourceType === 'Device' ? 'retiré' : 'terminée';
    return el('span', { class: 'etiquette' }, `${what} le ${closedSince(resource)}`);
  }

  function offerCard(resource) {
    const words = resource.resourceType === 'Device' ? deviceWords(resource) : serviceWords(resource);
    return el('li', { class: 'carte' },
      el('h3', {}, words.title),
      words.details.length ? el('p', {}, words.details.join(' · ')) : null,
      closedLabel(resource) ? el('p', {}, closedLabel(resource)) : null,
      fhirLinks(`${resource.resourceType}/${encodeURIComponent(resource.id)}`));
  }

  /** Open ones first, then in the answer's order. */
  const openFirst = (resources) => resources.slice().sort((a, b) => Boolean(closedLabel(a)) - Boolean(closedLabel(b)));

  /** A search whose refusal (a caller without the scope for that type) must not hide the rest
   * of the page: `{ page }` or `{ error }`. */
  async function optionalSearch(path) {
    try {
      return { page: readBundle(await getJson(path)) };
    } catch (error) {
      if (error instanceof ApiError) return { error };
      throw error;
    }
  }

  /** The "Activités autorisées" and "Équipements" sections of an establishment. */
  function offerSections(services, devices) {
    const section = (title, id, answer, empty, order) => {
      if (answer.error) {
        return [el('h2', { id }, title), el('p', { class: 'secondaire-texte' }, answer.error.message)];
      }
      const { matches, total } = answer.page;
      const shown = order(matches);
      return [
        el('h2', { id }, `${title} (${typeof total === 'number' ? total : shown.length})`),
        shown.length ? el('ul', { class: 'offres' }, shown.map(offerCard)) : el('p', {}, empty),
        typeof total === 'number' && total > shown.length
          ? el('p', {}, `Les ${shown.length} premiers sont affichés ; tous sont dans l'API FHIR.`) : null,
      ];
    };
    const activitiesFirst = (matches) => openFirst(matches)
      .sort((a, b) => Number(isSocialEquipment(a)) - Number(isSocialEquipment(b)));
    return [
      section('Activités autorisées', 'titre-activites', services,
        'Aucune activité de soins ni aucun équipement social enregistré ici.', activitiesFirst),
      section('Équipements lourds', 'titre-equipements', devices,
        'Aucun équipement lourd enregistré ici.', openFirst),
    ];
  }

  /** A legal entity in full (on the page of one of its establishments). */
  function legalEntitySection(legal, legalId) {
    const s = terminology.systems;
    const kind = (code) => identifierValue(legal, null, code);
    return [
      el('h2', {}, 'Entité juridique'),
      details([
        ['Raison sociale', el('a', { href: `/etablissements/${encodeURIComponent(legalId)}` }, legal.name || legalId)],
        ['Nom complet', (legal.alias || []).join(', ')],
        ['FINESS entité juridique', kind('FINEJ')],
        ['SIREN', kind('SIREN')],
        ['Statut juridique', first(legal.type, s.statutJuridique)],
        ['Catégorie', first(legal.type, s.categorieEtablissement)],
        ['Adresse', list(addressLines((legal.address || [])[0]))],
        ['Téléphone', telecomText(legal, 'phone').join(', ')],
      ]),
    ];
  }

  // --- the search forms --------------------------------------------------------------------

  function fillSelect(select, options, chosen) {
    for (const [value, text] of options) {
      select.append(el('option', { value, selected: value === chosen }, text));
    }
  }

  function sortedCodes(system) {
    return Object.entries(terminology.labels[system] || {})
      .sort((a, b) => a[1].localeCompare(b[1], 'fr'));
  }

  function setUpForms(params) {
    const kind = params.get('recherche');
    const s = terminology.systems;
    const professions = (s.profession || []).flatMap((system) =>
      sortedCodes(system).map(([code, text]) => [`${system}|${code}`, text]));
    fillSelect($('pro-profession'), professions.sort((a, b) => a[1].localeCompare(b[1], 'fr')),
      kind === 'professionnel' ? params.get('profession') : null);
    const specialty = $('pro-specialite');
    for (const { type, system } of s.savoirFaire || []) {
      const codes = sortedCodes(system);
      if (!codes.length) continue;
      const group = el('optgroup', { label: label(s.typeSavoirFaire, type) });
      fillSelect(group, codes.map(([code, text]) => [`${system}|${code}`, text]),
        kind === 'professionnel' ? params.get('specialite') : null);
      specialty.append(group);
    }
    const prefill = (form, names) => {
      for (const name of names) {
        const input = form.elements.namedItem(name);
        if (input && params.get(name)) input.value = params.get(name);
      }
    };
    if (kind === 'professionnel') prefill($('form-professionnel'), ['nom', 'numero', 'lieu']);
    if (kind === 'etablissement') prefill($('form-etablissement'), ['nom', 'finess', 'lieu']);
    if (kind === 'offre') prefill($('form-offre'), ['quoi', 'lieu']);
  }

  // --- searches ----------------------------------------------------------------------------

  /** A value of a FHIR string parameter: `\`, `,`, `$` and `|` are the search syntax's own. */
  const searchValue = (text) => text.replace(/[\\,$|]/g, '\\$&');
  const words = (text) => (text || '').split(/[\s,;]+/).filter(Boolean).map(searchValue);
  /** An identifier as typed, without its spaces, dots or dashes. */
  const number = (text) => (text || '').replace(/[^0-9A-Za-z]/g, '');
  /** A city as the files write it: words separated by spaces, not hyphens. */
  const place = (text) => searchValue((text || '').replace(/[-\s]+/g, ' ').trim());
  const isPostcode = (text) => /^\d{1,5}$/.test(text);

  /** The FHIR search for the professional form, or null when no criterion is given. */
  function practitionerSearch(params) {
    const query = new URLSearchParams();
    const rpps = number(params.get('numero'));
    const where = place(params.get('lieu'));
    const names = words(params.get('nom'));
    const codes = ['profession', 'specialite'].map((p) => params.get(p)).filter(Boolean);
    if (!rpps && !where && !names.length && !codes.length) return null;
    const nameParameter = params.get('contient') ? 'name:contains' : 'name';
    if (where) {
      // Practitioners of a place: their activities there, each with its practitioner.
      if (rpps) query.append('practitioner.identifier', rpps);
      names.forEach((n) => query.append(`practitioner.${nameParameter}`, n));
      codes.forEach((c) => query.append('practitioner.qualification-code', c));
      query.append(isPostcode(where) ? 'organization.address-postalcode' : 'organization.address-city', where);
      query.append('active', 'true');
      query.append('_include', 'PractitionerRole:practitioner');
      query.append('_include', 'PractitionerRole:organization');
      return { type: 'PractitionerRole', query };
    }
    if (rpps) query.append('identifier', rpps);
    names.forEach((n) => query.append(nameParameter, n));
    codes.forEach((c) => query.append('qualification-code', c));
    query.append('_sort', 'family,given');
    query.append('_revinclude', 'PractitionerRole:practitioner');
    query.append('_include:iterate', 'PractitionerRole:organization');
    return { type: 'Practitioner', query };
  }

  function establishmentSearch(params) {
    const query = new URLSearchParams();
    const names = words(params.get('nom'));
    const finess = number(params.get('finess'));
    const where = place(params.get('lieu'));
    if (!names.length && !finess && !where) return null;
    names.forEach((n) => query.append('name:contains', n));
    if (finess) query.append('identifier', finess);
    if (where) query.append(isPostcode(where) ? 'address-postalcode' : 'address-city', where);
    query.append('_sort', 'name');
    return { type: 'Organization', query };
  }

  /** What a word of the third form can name, each searched by one parameter of one type:
   * heavy equipment (its TRE_R272 label), healthcare activities and social disciplines (their
   * TRE_R274 and TRE_R280 labels, both `service-type`), publics (TRE_R279 clientèle, annuaire's
   * own `eligibility` parameter: the ANS API has none). */
  const OFFER_KINDS = [
    { key: 'equipements', type: 'Device', parameter: 'type', open: ['status', 'active'],
      systems: (s) => [s.equipementLourd], tab: 'équipements lourds',
      nouns: ['équipement lourd trouvé', 'équipements lourds trouvés'] },
    { key: 'activites', type: 'HealthcareService', parameter: 'service-type', open: ['active', 'true'],
      systems: (s) => [s.activiteSanitaire, s.disciplineSociale], tab: 'activités et équipements sociaux',
      nouns: ['activité trouvée', 'activités trouvées'] },
    { key: 'publics', type: 'HealthcareService', parameter: 'eligibility', open: ['active', 'true'],
      systems: (s) => [s.clientele], tab: 'publics accueillis',
      nouns: ['accueil trouvé', 'accueils trouvés'] },
  ];
  /** Words people use for what the lists name otherwise. */
  const SYNONYMS = { scanner: 'scanographe', scanners: 'scanographe' };
  /** The server takes at most 50 values in an OR list (`limits.max_or_values`). */
  const MAX_CODES = 50;

  /** Lower case, without accents or apostrophes: how labels and words are compared. */
  const plain = (text) => (text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();

  /** `system|code` of the labelled codes whose label has a word starting with each word typed
   * (a plural `s` dropped: « urgences » finds « Médecine d'urgence »), or whose code it is. */
  function codesNamed(text, systems) {
    const typed = plain(text).split(' ').filter(Boolean)
      .map((w) => SYNONYMS[w] || (w.length > 3 ? w.replace(/s$/, '') : w));
    const out = [];
    if (!typed.length) return out;
    for (const system of systems.filter(Boolean)) {
      for (const [code, text2] of Object.entries(terminology.labels[system] || {})) {
        const labelWords = plain(text2).split(' ');
        const named = typed.every((w) => labelWords.some((l) => l.startsWith(w)));
        if (named || code === text.trim()) out.push(`${system}|${code}`);
      }
    }
    return out;
  }

  /** The search of the third form: the kinds the word names, the one shown (`sur`, else the
   * first), and its FHIR search. */
  function offerSearch(params) {
    const what = (params.get('quoi') || '').trim();
    if (!what) return null;
    const kinds = OFFER_KINDS.map((kind) => ({ ...kind, codes: codesNamed(what, kind.systems(terminology.systems)) }))
      .filter((kind) => kind.codes.length);
    const chosen = kinds.find((kind) => kind.key === params.get('sur')) || kinds[0] || null;
    if (!chosen || chosen.codes.length > MAX_CODES) return { what, kinds, chosen, search: null };
    const query = new URLSearchParams();
    query.append(chosen.parameter, chosen.codes.join(','));
    const where = place(params.get('lieu'));
    if (where) query.append(isPostcode(where) ? 'organization.address-postalcode' : 'organization.address-city', where);
    query.append(...chosen.open);
    query.append('_include', `${chosen.type}:organization`);
    return { what, kinds, chosen, search: { type: chosen.type, query } };
  }

  function pageLinks(params, { cursor, previous }, path) {
    const links = [];
    const asked = Number.parseInt(params.get('page') || '1', 10);
    const pageNumber = params.get('curseur') && asked > 1 ? asked : 1;
    const first = new URLSearchParams(params);
    first.delete('curseur');
    first.delete('page');
    if (previous !== undefined && pageNumber > 2) {
      links.push(el('a', { href: `${path}?${first}` }, 'Première page'));
    }
    if (previous !== undefined) {
      const back = new URLSearchParams(previous ? params : first);
      if (previous) {
        back.set('curseur', previous);
        back.set('page', String(pageNumber - 1));
      }
      links.push(el('a', { href: `${path}?${back}`, rel: 'prev' }, 'Page précédente'));
    }
    if (cursor) {
      const next = new URLSearchParams(params);
      next.set('curseur', cursor);
      next.set('page', String(pageNumber + 1));
      links.push(el('a', { href: `${path}?${next}`, rel: 'next' }, 'Page suivante'));
    }
    if (!links.length) return null;
    return el('nav', { class: 'pagination', 'aria-label': 'Pages de résultats' },
      el('span', {}, `Page ${pageNumber}`), links);
  }

  function resultsHeading(text) {
    return el('h2', { id: 'titre-resultats', tabindex: '-1' }, text);
  }

  function countText(total, shown, noun, nouns) {
    if (typeof total === 'number') return `${total.toLocaleString('fr-FR')} ${total > 1 ? nouns : noun}`;
    return `${shown} ${shown > 1 ? nouns : noun} sur cette page`;
  }

  function activityLine(role, byReference) {
    const org = role.organization && byReference.get(role.organization.reference);
    const s = terminology.systems;
    const mode = (role.code || []).map((c) => conceptLabel(c, [s.modeExercice])).find(Boolean);
    const place = org ? [org.name, townOf((org.address || [])[0])].filter(Boolean).join(', ') : null;
    return el('li', {}, [place || 'Structure non précisée', mode ? ` (${mode.toLowerCase()})` : ''].join(''));
  }

  function practitionerCard(practitioner, roles, byReference) {
    const { professions, specialties } = qualificationsOf(practitioner);
    const rpps = identifierValue(practitioner, 'https://rpps.esante.gouv.fr');
    const adeli = identifierValue(practitioner, 'https://adeli.esante.gouv.fr');
    const activities = roles.filter((r) => r.active !== false);
    return el('li', { class: 'carte' },
      el('h3', {}, el('a', { href: `/professionnels/${encodeURIComponent(practitioner.id)}` }, personName(practitioner))),
      el('p', {}, [professions.map((p) => p.text).join(', '), ...specialties.map((s) => s.text)].filter(Boolean).join(' · ')),
      el('p', { class: 'secondaire-texte' },
        [rpps && `RPPS ${rpps}`, adeli && `ADELI ${adeli}`].filter(Boolean).join(' · '),
        practitioner.active === false
          ? [' ', el('span', { class: 'etiquette' }, `ne figure plus dans l'annuaire depuis le ${closedSince(practitioner)}`)] : null),
      activities.length ? el('ul', { class: 'activites', 'aria-label': "Lieux d'exercice" },
        activities.map((r) => activityLine(r, byReference))) : null);
  }

  /** The page of `search` the address asks for (`curseur`), read; `null` (and the person told
   * what is missing) when the form gave no criterion. */
  async function searchPage(search, params, missing) {
    if (!search) {
      announce(missing);
      return null;
    }
    search.query.set('_count', String(PAGE_SIZE));
    if (params.get('curseur')) search.query.set('_cursor', params.get('curseur'));
    announce('Recherche en cours…');
    return readBundle(await getJson(`${FHIR}/${search.type}?${search.query}`));
  }

  async function runPractitionerSearch(params) {
    const search = practitionerSearch(params);
    const page = await searchPage(search, params,
      'Indiquez au moins un critère : un nom, un numéro, une profession ou un lieu.');
    if (!page) return;
    const { matches, byReference, total } = page;
    // One card per match, in the order of the answer: a practitioner with their activities, or,
    // for a place, one activity there with its practitioner (who may have several).
    const cards = matches.map((match) => {
      if (match.resourceType === 'Practitioner') {
        return practitionerCard(match, rolesOf(byReference, `Practitioner/${match.id}`), byReference);
      }
      const practitioner = match.practitioner && byReference.get(match.practitioner.reference);
      return practitioner ? practitionerCard(practitioner, [match], byReference) : null;
    }).filter(Boolean);
    const noun = search.type === 'PractitionerRole' ? ['activité trouvée', 'activités trouvées'] : ['professionnel trouvé', 'professionnels trouvés'];
    const summary = countText(total, matches.length, noun[0], noun[1]);
    // Names are found by their start ("blanch" finds BLANCHARD); a part of a compound name
    // ("labaux" in GODIAC-LABAUX) needs a search inside the names.
    let suggestion = null;
    if (total === 0 && params.get('nom') && !params.get('contient')) {
      const inside = new URLSearchParams(params);
      inside.set('contient', '1');
      inside.delete('curseur');
      inside.delete('page');
      suggestion = el('p', {}, el('a', { href: `/?${inside}` },
        `Chercher « ${params.get('nom')} » à l'intérieur des noms (noms composés, particules)`));
    }
    showResults(summary, cards, pageLinks(params, page, '/'), `${FHIR}/${search.type}?${search.query}`, suggestion);
  }

  function establishmentCard(org) {
    const s = terminology.systems;
    const category = (org.type || []).map((t) => conceptLabel(t, [s.categorieEtablissement])).find(Boolean);
    const finess = identifierValue(org, 'https://finess.esante.gouv.fr', 'FINEG') ||
      identifierValue(org, 'https://finess.esante.gouv.fr');
    return el('li', { class: 'carte' },
      el('h3', {}, el('a', { href: `/etablissements/${encodeURIComponent(org.id)}` }, org.name || org.id)),
      category ? el('p', {}, category) : null,
      el('p', { class: 'secondaire-texte' },
        [finess && `FINESS ${finess}`, townOf((org.address || [])[0])].filter(Boolean).join(' · ')));
  }

  async function runEstablishmentSearch(params) {
    const search = establishmentSearch(params);
    const page = await searchPage(search, params,
      'Indiquez au moins un critère : un nom, un numéro FINESS ou un lieu.');
    if (!page) return;
    const { matches, total } = page;
    const summary = countText(total, matches.length, 'établissement trouvé', 'établissements trouvés');
    showResults(summary, matches.map(establishmentCard), pageLinks(params, page, '/'), `${FHIR}/${search.type}?${search.query}`);
  }

  /** One card per establishment of the page, listing what matched there (in the answer's order). */
  function offerCardsByEstablishment(matches, byReference) {
    const groups = new Map();
    for (const match of matches) {
      const reference = (match.providedBy || match.owner || {}).reference || '';
      if (!groups.has(reference)) groups.set(reference, []);
      groups.get(reference).push(match);
    }
    return [...groups].map(([reference, items]) => {
      const org = byReference.get(reference);
      return el('li', { class: 'carte' },
        el('h3', {}, org
          ? el('a', { href: `/etablissements/${encodeURIComponent(org.id)}` }, org.name || org.id)
          : 'Établissement non précisé'),
        org ? el('p', { class: 'secondaire-texte' }, addressLines((org.address || [])[0]).join(', ')) : null,
        el('ul', { class: 'activites' }, items.map((item) => {
          const words = item.resourceType === 'Device' ? deviceWords(item) : serviceWords(item);
          return el('li', {}, [words.title, ...words.details].join(' · '));
        })));
    });
  }

  async function runOfferSearch(params) {
    const offer = offerSearch(params);
    if (!offer) {
      announce('Indiquez une activité, un équipement ou un public : « IRM », « urgences », « Alzheimer ».');
      return;
    }
    if (!offer.chosen) {
      announce(`Aucune activité, aucun équipement ni aucun public de l'annuaire ne porte un nom contenant « ${offer.what} ». Essayez un autre mot.`);
      return;
    }
    if (!offer.search) {
      announce(`« ${offer.what} » désigne trop de libellés (${offer.chosen.codes.length}) : précisez.`);
      return;
    }
    const page = await searchPage(offer.search, params, '');
    const { matches, byReference, total } = page;
    const summary = countText(total, matches.length, offer.chosen.nouns[0], offer.chosen.nouns[1]);
    // The same word may name other kinds too: a link to each.
    const others = offer.kinds.filter((kind) => kind !== offer.chosen).map((kind) => {
      const other = new URLSearchParams(params);
      other.set('sur', kind.key);
      other.delete('curseur');
      other.delete('page');
      return el('a', { href: `/?${other}` }, kind.tab);
    });
    const also = others.length
      ? el('p', {}, `« ${offer.what} » désigne aussi des `, others.flatMap((a, i) => (i ? [', ', a] : [a])), '.') : null;
    showResults(summary, offerCardsByEstablishment(matches, byReference), pageLinks(params, page, '/'),
      `${FHIR}/${offer.search.type}?${offer.search.query}`, also);
  }

  function showResults(summary, cards, pagination, fhirUrl, suggestion = null) {
    const section = $('resultats');
    const fhirQuery = new URL(fhirUrl, location.href);
    fhirQuery.searchParams.set('_format', 'json');
    fill(section,
      resultsHeading(`Résultats : ${summary}`),
      cards.length ? el('ul', { class: 'liste' }, cards) : el('p', {}, 'Aucun résultat. Essayez un nom plus court ou retirez un critère.'),
      suggestion,
      pagination,
      el('p', { class: 'fhir' }, fhirLink(fhirQuery.pathname + fhirQuery.search, 'Cette recherche dans l\'API FHIR (JSON)')));
    section.hidden = false;
    // The heading says it, and receives the focus (so it is read): no second announcement.
    announce('');
    document.title = `Résultats : ${summary} · Annuaire santé`;
    $('titre-resultats').focus();
  }

  // --- a practitioner ----------------------------------------------------------------------

  function details(rows) {
    return el('dl', { class: 'details' }, rows.filter((r) => r && r[1] !== null && r[1] !== undefined &&
      !(Array.isArray(r[1]) && !r[1].length) && r[1] !== '')
      .map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
  }

  const list = (items) => {
    const present = items.filter(Boolean);
    if (!present.length) return null;
    return present.length === 1 ? present[0] : el('ul', {}, present.map((i) => el('li', {}, i)));
  };

  function mailboxItems(resource) {
    const s = terminology.systems;
    return mailboxesOf(resource).map((t) => {
      const meta = extension(t, s.messagerie);
      const kind = meta && extension(meta, 'type');
      const service = meta && extension(meta, 'service');
      const kindCoding = kind && kind.valueCodeableConcept && (kind.valueCodeableConcept.coding || [])[0];
      const kindLabel = kindCoding ? knownLabel(kindCoding.system, kindCoding.code) : null;
      // Only a plain address becomes a link (no `?cc=` or the like from the files).
      const address = /^[^\s?&#%:/]+@[^\s?&#%:/]+$/.test(t.value) ? t.value : null;
      return el('span', {}, address ? el('a', { href: `mailto:${address}` }, t.value) : t.value,
        [kindLabel, service && service.valueString].filter(Boolean).length
          ? ` (${[kindLabel, service && service.valueString].filter(Boolean).join(', ')})` : '');
    });
  }

  function mailboxRow(resource) {
    const items = mailboxItems(resource);
    if (items.length) return ['Messageries sécurisées (MSSanté)', list(items)];
    if (isRedacted(resource)) {
      return ['Messageries sécurisées (MSSanté)',
        el('span', { class: 'secondaire-texte' }, 'Non affichées : vos droits d\'accès ne permettent pas de les voir.')];
    }
    return null;
  }

  function authorizationItems(practitioner) {
    const s = terminology.systems;
    return (practitioner.extension || []).filter((e) => e.url === s.autorisationExercice).map((e) => {
      const part = (name, system) => {
        const found = extension(e, name);
        return found && found.valueCodeableConcept ? conceptLabel(found.valueCodeableConcept, [system]) : null;
      };
      return [part('type', s.typeAutorisation), part('field', s.disciplineAutorisation)].filter(Boolean).join(' : ');
    }).filter(Boolean);
  }

  function telecomText(resource, system) {
    return (resource.telecom || []).filter((t) => t.system === system).map((t) => t.value);
  }

  function activityItem(role, byReference) {
    const s = terminology.systems;
    const org = role.organization && byReference.get(role.organization.reference);
    const codes = (role.code || []).map((c) => conceptLabel(c, [s.genreActivite, s.modeExercice, s.fonction, s.sectionTableau]))
      .filter(Boolean);
    const address = org ? addressLines((org.address || [])[0]) : [];
    return el('li', { class: 'carte' },
      el('h3', {}, org
        ? el('a', { href: `/etablissements/${encodeURIComponent(org.id)}` }, org.name || org.id)
        : 'Structure non précisée'),
      address.length ? el('p', {}, address.join(', ')) : null,
      codes.length ? el('p', {}, codes.join(' · ')) : null,
      telecomText(role, 'phone').length ? el('p', {}, `Téléphone : ${telecomText(role, 'phone').join(', ')}`) : null,
      mailboxItems(role).length ? el('p', {}, 'Messagerie MSSanté : ', mailboxItems(role)) : null,
      role.active === false
        ? el('p', {}, el('span', { class: 'etiquette' }, `activité terminée le ${closedSince(role)}`)) : null,
      fhirLinks(`PractitionerRole/${encodeURIComponent(role.id)}`));
  }

  async function showPractitioner(id) {
    announce('Chargement…');
    const practitioner = await getJson(`${FHIR}/Practitioner/${encodeURIComponent(id)}`);
    const query = new URLSearchParams({ practitioner: `Practitioner/${id}`, _include: 'PractitionerRole:organization', _count: '100' });
    const bundle = await getJson(`${FHIR}/PractitionerRole?${query}`);
    const { matches, byReference, total } = readBundle(bundle);
    const roles = matches.sort((a, b) => (a.active === false) - (b.active === false));
    const activityCount = typeof total === 'number' ? total : roles.length;
    const { professions, specialties, diplomas } = qualificationsOf(practitioner);
    const name = personName(practitioner);
    const identifiers = [
      ['RPPS', identifierValue(practitioner, 'https://rpps.esante.gouv.fr')],
      ['ADELI', identifierValue(practitioner, 'https://adeli.esante.gouv.fr')],
      ['Identifiant national (IDNPS)', identifierValue(practitioner, 'urn:oid:1.2.250.1.71.4.2.1')],
    ].filter(([, v]) => v).map(([k, v]) => `${k} : ${v}`);
    const lists = await listSection(`Practitioner/${practitioner.id}`, name);
    const fiche = $('fiche');
    fill(fiche,
      el('h1', { id: 'titre-fiche', tabindex: '-1' }, name),
      el('p', { class: 'secondaire-texte' }, 'Professionnel de santé',
        practitioner.active === false ? [' · ', el('span', { class: 'etiquette' }, 'inactif')] : null),
      departureNotice(practitioner, 'Ce professionnel'),
      fhirLinks(`Practitioner/${encodeURIComponent(id)}`),
      lists,
      el('h2', {}, 'Identité et qualifications'),
      details([
        ['Identifiants', list(identifiers)],
        ['Profession', list(professions.map((p) => p.category ? `${p.text} (${p.category.toLowerCase()})` : p.text))],
        ['Spécialités, compétences', list(specialties.map((s) => s.kind && s.kind !== s.text ? `${s.text} (${s.kind.toLowerCase()})` : s.text))],
        ['Diplômes', list(diplomas.map((d) => d.kind && d.kind !== d.text ? `${d.text} (${d.kind})` : d.text))],
        ['Autorisations d\'exercice', list(authorizationItems(practitioner))],
        // A closed record keeps no mailbox: nothing is hidden from anyone.
        practitioner.active === false ? null : mailboxRow(practitioner),
        ['Mise à jour', formatDate(practitioner.meta && practitioner.meta.lastUpdated)],
      ]),
      el('h2', {}, `Activités (${activityCount})`),
      roles.length ? el('ul', { class: 'liste' }, roles.map((r) => activityItem(r, byReference)))
        : el('p', {}, 'Aucune activité enregistrée.'),
      activityCount > roles.length
        ? el('p', {}, `Les ${roles.length} premières sont affichées ; toutes sont dans l'API FHIR.`) : null);
    showFiche(name);
  }

  // --- my record (signed in with Pro Santé Connect) -----------------------------------------

  /** "Mon dossier": what the directory publishes of the signed-in professional (`/ui/moi`:
   * the `$identify` Bundle of their national id, as they may see it) and what differs from
   * what Pro Santé Connect says of them. */
  async function showMyRecord() {
    announce('Chargement de votre dossier…');
    let response;
    try {
      response = await fetch('/ui/moi', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch (e) {
      throw new ApiError(0, "Le serveur de l'annuaire ne répond pas. Vérifiez la connexion et réessayez.");
    }
    if (response.status === 401) {
      throw new ApiError(401, 'Connectez-vous avec Pro Santé Connect pour voir votre dossier.');
    }
    let record = null;
    try { record = await response.json(); } catch (e) { record = null; }
    if (!response.ok || !record) throw refusal(response.status, record);
    const identity = record.identity || {};
    const who = [identity.givenName, identity.familyName].filter(Boolean).join(' ') || session.name || '';
    fill($('fiche'),
      el('h1', { id: 'titre-fiche', tabindex: '-1' }, 'Mon dossier'),
      el('p', { class: 'secondaire-texte' },
        `Connecté avec Pro Santé Connect${who ? ` : ${who}` : ''}`,
        identity.nationalId ? ` · identifiant national ${identity.nationalId}` : ''),
      record.known ? myPractice(record.bundle) : unknownNotice(identity),
      record.known ? differencesSection(record.differences || []) : null);
    showFiche('Mon dossier');
  }

  /** The professional unknown to the directory: said plainly, with what to do. */
  function unknownNotice(identity) {
    const text = identity.nationalId
      ? `L'annuaire ne connaît pas le numéro ${identity.nationalId}.`
      : "Pro Santé Connect n'a pas transmis votre identifiant national : l'annuaire ne peut pas retrouver votre fiche.";
    return el('div', { id: 'inconnu', class: 'alerte', role: 'note' },
      el('p', {}, text),
      el('p', {}, "L'annuaire publie le répertoire RPPS tel qu'il est diffusé chaque jour. Si vous venez d'être enregistré, votre fiche apparaîtra après la prochaine mise à jour ; sinon, adressez-vous à votre ordre ou à l'autorité qui vous a enregistré."));
  }

  /** The practitioner card(s) (one per profession), then the active practices and their
   * structures, as the directory publishes them. */
  function myPractice(bundle) {
    const { matches, byReference } = readBundle(bundle || {});
    const practitioners = matches.filter((r) => r.resourceType === 'Practitioner');
    const roles = [...byReference.values()].filter((r) => r.resourceType === 'PractitionerRole');
    const rolesOf = (practitioner) => roles.filter((r) =>
      r.practitioner && r.practitioner.reference === `Practitioner/${practitioner.id}`);
    return el('section', { id: 'mon-dossier', 'aria-labelledby': 'titre-mon-dossier' },
      el('h2', { id: 'titre-mon-dossier' }, "Ce que l'annuaire publie"),
      el('ul', { class: 'liste' }, practitioners.map((p) => practitionerCard(p, rolesOf(p), byReference))),
      el('h3', {}, `Activités en cours (${roles.length})`),
      roles.length ? el('ul', { class: 'liste', id: 'mes-activites' }, roles.map((r) => activityItem(r, byReference)))
        : el('p', {}, 'Aucune activité en cours enregistrée.'));
  }

  /** The differences with Pro Santé Connect, in the server's plain French. */
  function differencesSection(differences) {
    return el('section', { id: 'ecarts', 'aria-labelledby': 'titre-ecarts' },
      el('h2', { id: 'titre-ecarts' }, 'Différences avec Pro Santé Connect'),
      differences.length
        ? [el('ul', { class: 'ecarts' }, differences.map((d) => el('li', { 'data-ecart': d.kind }, d.text))),
          el('p', { class: 'aide' }, "Les données de l'annuaire viennent du RPPS : pour corriger une différence, adressez-vous à votre ordre ou à l'autorité qui vous a enregistré.")]
        : el('p', {}, 'Aucune différence : Pro Santé Connect et l\'annuaire disent la même chose de vous.'));
  }

  // --- an establishment --------------------------------------------------------------------

  async function showEstablishment(id, params) {
    announce('Chargement…');
    const org = await getJson(`${FHIR}/Organization/${encodeURIComponent(id)}`);
    const s = terminology.systems;
    // Only a reference of the expected shape is followed (with the caller's credential).
    const legalId = /^Organization\/[A-Za-z0-9.-]{1,64}$/.test((org.partOf && org.partOf.reference) || '')
      ? org.partOf.reference.slice('Organization/'.length) : null;
    let legal = null;
    if (legalId) {
      try { legal = await getJson(`${FHIR}/Organization/${legalId}`); } catch (e) { legal = null; }
    }
    const isLegalEntity = (org.type || []).some((t) => (t.coding || []).some((c) => c.code === 'LEGAL-ENTITY'));
    let sites = null;
    if (isLegalEntity) {
      const siteQuery = new URLSearchParams({ partof: `Organization/${id}`, _sort: 'name', _count: '50' });
      sites = readBundle(await getJson(`${FHIR}/Organization?${siteQuery}`));
    }
    const query = new URLSearchParams({ organization: `Organization/${id}`, _include: 'PractitionerRole:practitioner', _count: String(PAGE_SIZE) });
    if (params.get('curseur')) query.set('_cursor', params.get('curseur'));
    const bundle = await getJson(`${FHIR}/PractitionerRole?${query}`);
    const page = readBundle(bundle);
    const { matches, byReference, total } = page;
    // An establishment's authorised activities and heavy equipment (a legal entity has none:
    // they belong to its establishments).
    let offers = null;
    if (!isLegalEntity) {
      const offerQuery = new URLSearchParams({ organization: `Organization/${id}`, _count: '100' });
      const [services, devices] = await Promise.all([
        optionalSearch(`${FHIR}/HealthcareService?${offerQuery}`),
        optionalSearch(`${FHIR}/Device?${offerQuery}`),
      ]);
      offers = offerSections(services, devices);
    }

    const kind = (code) => identifierValue(org, null, code);
    const identifiers = [
      ['FINESS établissement', kind('FINEG')], ['FINESS entité juridique', kind('FINEJ')],
      ['SIRET', kind('SIRET')], ['SIREN', kind('SIREN')], ['Identifiant national (IDNST)', kind('IDNST')],
    ].filter(([, v]) => v).map(([k, v]) => `${k} : ${v}`);
    const category = (org.type || []).map((t) => conceptLabel(t, [s.categorieEtablissement])).find(Boolean);
    const sector = (org.type || []).map((t) => conceptLabel(t, [s.secteurActivite])).find(Boolean);
    const legalFiness = legal && identifierValue(legal, null, 'FINEJ');
    const legalEntity = legalId ? el('a', { href: `/etablissements/${encodeURIComponent(legalId)}` },
      (legal && legal.name) || (legalFiness ? `FINESS ${legalFiness}` : legalId)) : null;
    // One card per activity: a practitioner with two activities here appears twice, each with
    // its own codes (mode, function).
    const practitioners = matches.map((role) => {
      const practitioner = role.practitioner && byReference.get(role.practitioner.reference);
      if (!practitioner) return null;
      const { professions } = qualificationsOf(practitioner);
      const codes = (role.code || []).map((c) => conceptLabel(c, [s.modeExercice, s.fonction])).filter(Boolean);
      return el('li', { class: 'carte' },
        el('h3', {}, el('a', { href: `/professionnels/${encodeURIComponent(practitioner.id)}` }, personName(practitioner))),
        el('p', {}, professions.map((p) => p.text).join(', ')),
        codes.length ? el('p', { class: 'secondaire-texte' }, codes.join(' · ')) : null,
        role.active === false
          ? el('p', {}, el('span', { class: 'etiquette' }, `activité terminée le ${closedSince(role)}`)) : null);
    }).filter(Boolean);
    const siteSection = sites ? [
      el('h2', {}, `Établissements de cette entité juridique : ${countText(sites.total, sites.matches.length, 'établissement', 'établissements')}`),
      sites.matches.length ? el('ul', { class: 'liste' }, sites.matches.map(establishmentCard))
        : el('p', {}, 'Aucun établissement rattaché.'),
      sites.cursor ? el('p', {}, 'Les 50 premiers sont affichés.') : null,
    ] : null;
    const name = org.name || id;
    const lists = await listSection(`Organization/${org.id}`, name);
    const fiche = $('fiche');
    fill(fiche,
      el('h1', { id: 'titre-fiche', tabindex: '-1' }, name),
      el('p', { class: 'secondaire-texte' }, category || 'Établissement ou structure',
        org.active === false ? [' · ', el('span', { class: 'etiquette' }, 'fermé')] : null),
      departureNotice(org, 'Cet établissement'),
      fhirLinks(`Organization/${encodeURIComponent(id)}`),
      lists,
      el('h2', {}, 'Identification'),
      details([
        ['Nom complet', (org.alias || []).join(', ')],
        ['Identifiants', list(identifiers)],
        ['Catégorie', category],
        ['Secteur d\'activité', sector],
        ['Statut juridique', first(org.type, s.statutJuridique)],
        ['Adresse', list(addressLines((org.address || [])[0]))],
        ['Téléphone', telecomText(org, 'phone').join(', ')],
        ['Entité juridique', legalEntity],
        org.active === false ? null : mailboxRow(org),
        ['Mise à jour', formatDate(org.meta && org.meta.lastUpdated)],
      ]),
      legal ? legalEntitySection(legal, legalId) : null,
      siteSection,
      offers,
      el('h2', { id: 'titre-professionnels', tabindex: '-1' }, `Professionnels qui y exercent : ${countText(total, matches.length, 'activité', 'activités')}`),
      practitioners.length ? el('ul', { class: 'liste' }, practitioners) : el('p', {}, 'Aucun professionnel enregistré ici.'),
      pageLinks(params, page, location.pathname));
    // On a following page, what changed is the list: the focus goes there.
    showFiche(name, params.get('curseur') ? 'titre-professionnels' : 'titre-fiche');
  }

  function showFiche(name, focus = 'titre-fiche') {
    $('recherche').hidden = true;
    $('fiche').hidden = false;
    announce('');
    document.title = `${name} · Annuaire santé`;
    $(focus).focus();
  }

  // --- lists of correspondents -------------------------------------------------------------
  //
  // A hospital keeps its correspondents in FHIR Lists stored by this server beside the national
  // data (see docs/correspondents.md). The page adds the practitioner or structure it shows to
  // one of them, shows every list with its members' names, the members the directory no longer
  // holds as it did (the server's `entry.flag`), and the members changed since a date.

  /** The server's flags on a list's entries (see docs/correspondents.md "Flags"). */
  const MEMBER_STATUS = 'urn:annuaire:CodeSystem/list-member-status';
  /** The page's own marker in sessionStorage: this tab's credential was refused a list write
   * (cleared when the person connects again or leaves). */
  const WRITE_REFUSED = 'annuaire.listes.refus';
  /** The member types the page names, with the words for them. */
  const MEMBER_TYPES = {
    Practitioner: { noun: 'Professionnel de santé', deactivated: "n'exerce plus" },
    PractitionerRole: { noun: 'Activité', deactivated: 'activité terminée' },
    Organization: { noun: 'Établissement ou structure', deactivated: 'fermé' },
    HealthcareService: { noun: 'Activité de soins ou équipement social', deactivated: 'fermé' },
    Device: { noun: 'Équipement lourd', deactivated: 'retiré' },
  };
  /** Pages read at most when resolving a list's members (100 each). */
  const MAX_MEMBER_PAGES = 50;

  /** The words of an entry's flag, or null when it has none. */
  function flagWords(entry, type) {
    const coding = ((entry.flag && entry.flag.coding) || []).find((c) => c.system === MEMBER_STATUS);
    if (!coding) return null;
    switch (coding.code) {
      case 'deactivated': return (MEMBER_TYPES[type] || {}).deactivated || 'inactif';
      case 'deleted': return 'supprimé du répertoire';
      case 'unknown': return 'inconnu du répertoire';
      default: return coding.display || coding.code;
    }
  }

  /** `Type/id` of an entry's member (a relative reference), or null. */
  function memberReference(entry) {
    const reference = entry && entry.item && entry.item.reference;
    return reference && /^[A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/.test(reference) ? reference : null;
  }

  /** The entries still on a list (`deleted` marks an entry taken off it, FHIR's meaning). */
  const members = (list) => (list.entry || []).filter((e) => !e.deleted && memberReference(e));

  const listTitle = (list) => list.title || `Liste ${list.id}`;
  const listHref = (id) => `/?vue=listes&liste=${encodeURIComponent(id)}`;

  /** The scopes a bearer token carries, or null when the credential is not a readable token. */
  function tokenScopes() {
    const secret = credential();
    if (!secret || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(secret)) return null;
    try {
      const claims = JSON.parse(atob(secret.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      return typeof claims.scope === 'string' ? claims.scope.split(/\s+/) : null;
    } catch (e) {
      return null;
    }
  }

  /** Whether a SMART scope lets its holder write lists: v1 `write` or `*`, or v2 letters with
   * all of `cud`, on `List` named (the wildcard type covers the directory's types, not lists). */
  const writesLists = (scope) => {
    const match = /^(?:system|user)\/List\.(\*|write|c?r?u?d?s?)$/.exec(scope);
    return Boolean(match) && (match[1] === '*' || match[1] === 'write' || /c.*u.*d/.test(match[1]));
  };

  /** Whether this person may add to lists, and if not, why (in French). The server decides in
   * the end: an API key says nothing of its rights, so a refused write is remembered for the tab. */
  function listWriteRights() {
    if (terminology.credentials === 'required' && !credential()) {
      return { allowed: false, why: "Pour ajouter cette fiche à une liste de correspondants, connectez-vous avec une clé d'API ou un jeton qui permet de modifier les listes." };
    }
    if (sessionStorage.getItem(WRITE_REFUSED) === '1') {
      return { allowed: false, why: 'Votre clé ou votre jeton ne permet pas de modifier les listes (il permet de les consulter) : demandez une clé qui en donne le droit.' };
    }
    const scopes = tokenScopes();
    if (scopes && !scopes.some(writesLists)) {
      return { allowed: false, why: 'Votre jeton ne permet pas de modifier les listes : il y faut la portée system/List.write ou user/List.write (ou List.cud, ou List.cruds).' };
    }
    return { allowed: true, why: null };
  }

  /** The path of a Bundle's `next` link on this server (the link may name a proxy's host), or null. */
  function nextPath(bundle) {
    const next = (bundle.link || []).find((l) => l.relation === 'next');
    if (!next) return null;
    const url = new URL(next.url, location.href);
    return url.pathname.startsWith(`${FHIR}/`) ? url.pathname + url.search : null;
  }

  /** Every match of a search, following the API's next links (a bounded number of pages). */
  async function allMatches(path) {
    const out = { matches: [], byReference: new Map() };
    let next = path;
    for (let pages = 0; next && pages < MAX_MEMBER_PAGES; pages++) {
      const bundle = await getJson(next);
      const page = readBundle(bundle);
      out.matches.push(...page.matches);
      for (const [reference, resource] of page.byReference) out.byReference.set(reference, resource);
      next = nextPath(bundle);
    }
    return out;
  }

  /** The lists, most recently changed first. */
  async function readLists() {
    const query = new URLSearchParams({ _sort: '-_lastUpdated', _count: '100' });
    return (await allMatches(`${FHIR}/List?${query}`)).matches;
  }

  /** The list with its version (for If-Match). */
  async function readList(id) {
    const { status, body, etag } = await call(`${FHIR}/List/${encodeURIComponent(id)}`);
    if (status !== 200) {
      throw refusal(status, body, {
        404: "Cette liste n'existe pas (ou plus) sur ce serveur.",
        410: 'Cette liste a été supprimée.',
        403: "Vos droits d'accès ne permettent pas de consulter les listes de correspondants.",
      });
    }
    const version = (body.meta && body.meta.versionId) || null;
    return { list: body, ifMatch: etag || (version ? `W/"${version}"` : null) };
  }

  const WRITE_WORDS = {
    403: "Vos droits d'accès ne permettent pas de modifier les listes de correspondants.",
    404: "Cette liste n'existe pas (ou plus) sur ce serveur.",
    410: 'Cette liste a été supprimée entre-temps.',
    422: "La liste n'a pas été acceptée par le serveur :",
  };

  /** A refused write: the refusal, remembered when it is one of rights. */
  function writeRefusal(status, body) {
    if (status === 403) sessionStorage.setItem(WRITE_REFUSED, '1');
    return refusal(status, body, WRITE_WORDS);
  }

  /** Creates a working list titled `title` holding `item`; the list created. */
  async function createList(title, item) {
    const body = { resourceType: 'List', status: 'current', mode: 'working', title, entry: [{ item }] };
    const answer = await call(`${FHIR}/List`, { method: 'POST', body });
    if (answer.status !== 201 && answer.status !== 200) throw writeRefusal(answer.status, answer.body);
    if (answer.body && answer.body.id) return answer.body;
    // An answer without the resource (`Prefer: return=minimal` servers): its id from Location.
    const id = /\/List\/([A-Za-z0-9.-]{1,64})/.exec(answer.location || '');
    if (!id) throw new ApiError(answer.status, "La liste a été créée mais le serveur n'a pas dit où : rechargez la page.");
    return { ...body, id: id[1] };
  }

  /** Adds `item` to list `id`: read it, append, `PUT` with `If-Match`; when someone changed it
   * meanwhile (412) read it again and try once more. `{ list, already }`. */
  async function addToExistingList(id, item) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { list, ifMatch } = await readList(id);
      if (members(list).some((e) => e.item.reference === item.reference)) return { list, already: true };
      const body = { ...list, entry: [...(list.entry || []), { item }] };
      const answer = await call(`${FHIR}/List/${encodeURIComponent(id)}`, {
        method: 'PUT', body, headers: ifMatch ? { 'If-Match': ifMatch } : {},
      });
      if (answer.status === 200 || answer.status === 201) return { list: answer.body || body, already: false };
      if (answer.status !== 412) throw writeRefusal(answer.status, answer.body);
    }
    throw new ApiError(412, "La liste a été modifiée par quelqu'un d'autre pendant l'ajout, deux fois de suite : réessayez.");
  }

  /** The "Listes de correspondants" section of a practitioner's or a structure's page: the lists
   * holding it, and the form adding it to one (or why there is none). */
  async function listSection(reference, name) {
    const section = el('section', { class: 'listes', 'aria-labelledby': 'titre-listes' },
      el('h2', { id: 'titre-listes' }, 'Listes de correspondants'));
    let lists;
    try {
      lists = await readLists();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const why = error.status === 403 ? "Vos droits d'accès ne permettent pas de consulter les listes de correspondants." : error.message;
      section.append(el('p', { class: 'secondaire-texte', id: 'listes-droits' }, why));
      return section;
    }
    const holding = el('p', { id: 'listes-membre' });
    const showHolding = () => {
      const mine = lists.filter((l) => members(l).some((e) => e.item.reference === reference));
      fill(holding, mine.length
        ? ['Dans les listes : ', mine.flatMap((l, i) => [i ? ', ' : '', el('a', { href: listHref(l.id) }, listTitle(l))])]
        : "Cette fiche n'est dans aucune liste.");
    };
    showHolding();
    section.append(holding);
    const rights = listWriteRights();
    if (!rights.allowed) {
      section.append(el('p', { class: 'secondaire-texte', id: 'listes-droits' }, rights.why),
        el('p', {}, el('a', { href: '/?vue=listes' }, 'Voir les listes de correspondants')));
      return section;
    }
    // The form tells which list it wrote: the line above says it holds the fiche now.
    const written = (list) => {
      lists = [list, ...lists.filter((l) => l.id !== list.id)];
      showHolding();
    };
    section.append(addForm(reference, name, lists, written),
      el('p', {}, el('a', { href: '/?vue=listes' }, 'Voir les listes de correspondants')));
    return section;
  }

  /** The form adding `reference` to a list; `changed` is given each list it wrote (or found
   * holding it already). */
  function addForm(reference, name, lists, changed) {
    const NEW = '';
    const choice = el('select', { id: 'liste-choix', name: 'liste' });
    const fillChoice = (selected) => {
      fill(choice, lists.map((l) => el('option', { value: l.id, selected: l.id === selected }, listTitle(l))),
        el('option', { value: NEW, selected: !lists.length }, 'Nouvelle liste…'));
    };
    fillChoice(null);
    const title = el('input', { id: 'liste-titre', name: 'titre', type: 'text', autocomplete: 'off', 'aria-describedby': 'liste-titre-aide' });
    const titleField = el('div', { class: 'champ', id: 'champ-liste-titre' },
      el('label', { for: 'liste-titre' }, 'Titre de la nouvelle liste'), title,
      el('p', { class: 'aide', id: 'liste-titre-aide' }, 'Par exemple « Cardiologues de ville » ou « EHPAD du secteur ».'));
    const status = el('div', { id: 'liste-etat', role: 'status', 'aria-live': 'polite' });
    const button = el('button', { type: 'submit' }, 'Ajouter à la liste');
    const showTitle = () => { titleField.hidden = choice.value !== NEW; };
    showTitle();
    choice.addEventListener('change', showTitle);
    const form = el('form', { id: 'form-liste', class: 'formulaire', action: '#', method: 'post' },
      el('fieldset', {}, el('legend', {}, 'Ajouter à une liste'),
        el('div', { class: 'champ' }, el('label', { for: 'liste-choix' }, 'Liste'), choice),
        titleField, button),
      status);
    const item = { reference, display: name };
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const newTitle = title.value.trim();
      if (choice.value === NEW && !newTitle) {
        fill(status, el('p', { class: 'alerte', role: 'alert' }, 'Donnez un titre à la nouvelle liste.'));
        title.focus();
        return;
      }
      button.disabled = true;
      fill(status, el('p', {}, 'Ajout en cours…'));
      try {
        const result = choice.value === NEW
          ? { list: await createList(newTitle, item), already: false }
          : await addToExistingList(choice.value, item);
        const { list, already } = result;
        lists = [list, ...lists.filter((l) => l.id !== list.id)];
        fillChoice(list.id);
        showTitle();
        title.value = '';
        changed(list);
        fill(status, el('p', {}, already
          ? `${name} est déjà dans la liste « ${listTitle(list)} ». `
          : `${name} a été ajouté à la liste « ${listTitle(list)} ». `,
        el('a', { href: listHref(list.id) }, 'Voir la liste')));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        fill(status, el('p', { class: 'alerte', role: 'alert' }, error.message,
          error.detail ? [' ', el('span', { lang: 'en' }, error.detail)] : null));
        if (error.status === 403) {
          form.replaceWith(el('p', { class: 'secondaire-texte', id: 'listes-droits' }, listWriteRights().why), status);
        }
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  /** The searches that resolve a list's members of each type, with what each includes. */
  function memberSearch(type, listId, extra = {}) {
    const query = new URLSearchParams({ _list: listId, _count: '100', ...extra });
    if (type === 'PractitionerRole') {
      query.append('_include', 'PractitionerRole:practitioner');
      query.append('_include', 'PractitionerRole:organization');
    }
    if (type === 'HealthcareService' || type === 'Device') query.append('_include', `${type}:organization`);
    return `${FHIR}/${type}?${query}`;
  }

  /** The types of a list's members that the page can search (others are shown by reference). */
  const memberTypes = (list) => [...new Set(members(list).map((e) => memberReference(e).split('/')[0]))]
    .filter((type) => MEMBER_TYPES[type]);

  /** The current resources of a list's members, by reference (with what their searches include),
   * read with `_list` searches: one per type, whatever the list's length. */
  async function resolveMembers(list, extra = {}) {
    const resolved = { matches: [], byReference: new Map() };
    for (const type of memberTypes(list)) {
      const page = await allMatches(memberSearch(type, list.id, extra));
      resolved.matches.push(...page.matches);
      for (const [reference, resource] of page.byReference) resolved.byReference.set(reference, resource);
    }
    return resolved;
  }

  /** What a member is, in words: its name (linked to its page when it has one) and a line. */
  function memberWords(reference, resource, byReference, entry) {
    const [type, id] = reference.split('/');
    const fallback = (entry && entry.item && entry.item.display) || reference;
    if (!resource) return { name: fallback, href: null, line: (MEMBER_TYPES[type] || {}).noun || type };
    const s = terminology.systems;
    if (type === 'Practitioner') {
      const { professions } = qualificationsOf(resource);
      return { name: personName(resource) || fallback, href: `/professionnels/${encodeURIComponent(id)}`,
        line: professions.map((p) => p.text).join(', ') || MEMBER_TYPES.Practitioner.noun };
    }
    if (type === 'Organization') {
      const category = (resource.type || []).map((t) => conceptLabel(t, [s.categorieEtablissement])).find(Boolean);
      return { name: resource.name || fallback, href: `/etablissements/${encodeURIComponent(id)}`,
        line: [category || MEMBER_TYPES.Organization.noun, townOf((resource.address || [])[0])].filter(Boolean).join(' · ') };
    }
    if (type === 'PractitionerRole') {
      const practitioner = resource.practitioner && byReference.get(resource.practitioner.reference);
      const org = resource.organization && byReference.get(resource.organization.reference);
      return { name: practitioner ? personName(practitioner) : fallback,
        href: practitioner ? `/professionnels/${encodeURIComponent(practitioner.id)}` : null,
        line: `Activité${org ? ` à ${org.name || org.id}` : ''}` };
    }
    const words = type === 'Device' ? deviceWords(resource) : serviceWords(resource);
    const owner = (resource.providedBy || resource.owner || {}).reference;
    const org = owner && byReference.get(owner);
    return { name: words.title, href: org ? `/etablissements/${encodeURIComponent(org.id)}` : null,
      line: org ? org.name || org.id : MEMBER_TYPES[type].noun };
  }

  function memberCard(entry, byReference) {
    const reference = memberReference(entry);
    const type = reference.split('/')[0];
    const resource = byReference.get(reference);
    const words = memberWords(reference, resource, byReference, entry);
    const flag = flagWords(entry, type);
    return el('li', { class: 'carte' },
      el('h3', {}, words.href ? el('a', { href: words.href }, words.name) : words.name),
      el('p', { class: 'secondaire-texte' }, words.line),
      flag ? el('p', {}, el('span', { class: 'etiquette drapeau' }, flag)) : null);
  }

  /** "Listes de correspondants": every list the caller may read. */
  async function showLists() {
    announce('Chargement…');
    const lists = await readListsExplained();
    const cards = lists.map((list) => {
      const entries = members(list);
      const flagged = entries.filter((e) => flagWords(e, memberReference(e).split('/')[0])).length;
      return el('li', { class: 'carte' },
        el('h3', {}, el('a', { href: listHref(list.id) }, listTitle(list))),
        el('p', {}, countText(entries.length, entries.length, 'membre', 'membres'),
          flagged ? [' · ', el('span', { class: 'etiquette drapeau' }, countText(flagged, flagged, 'membre signalé', 'membres signalés'))] : null),
        el('p', { class: 'secondaire-texte' }, `Modifiée le ${formatDate(list.meta && list.meta.lastUpdated)}`));
    });
    fill($('fiche'),
      el('h1', { id: 'titre-fiche', tabindex: '-1' }, 'Listes de correspondants'),
      el('p', { class: 'aide' }, "Les listes sont partagées : toute personne autorisée à les consulter les voit toutes. Ajoutez un professionnel ou un établissement depuis sa fiche."),
      el('h2', {}, countText(lists.length, lists.length, 'liste', 'listes')),
      cards.length ? el('ul', { class: 'liste' }, cards)
        : el('p', {}, "Aucune liste pour l'instant. Ajoutez un professionnel ou un établissement depuis sa fiche."),
      fhirLinks('List'));
    showFiche('Listes de correspondants');
  }

  async function readListsExplained() {
    try {
      return await readLists();
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        throw new ApiError(403, "Vos droits d'accès ne permettent pas de consulter les listes de correspondants.");
      }
      throw error;
    }
  }

  /** A list: its members with their names and flags, and those changed since a date. */
  async function showList(id, params) {
    announce('Chargement…');
    const { list } = await readList(id);
    const entries = members(list);
    const { byReference } = await resolveMembers(list);
    const flagged = entries.filter((e) => flagWords(e, memberReference(e).split('/')[0]));
    const since = params.get('depuis');
    const title = listTitle(list);
    fill($('fiche'),
      el('h1', { id: 'titre-fiche', tabindex: '-1' }, title),
      el('p', { class: 'secondaire-texte' }, `Liste de correspondants · ${countText(entries.length, entries.length, 'membre', 'membres')} · modifiée le ${formatDate(list.meta && list.meta.lastUpdated)}`),
      flagged.length ? el('p', { class: 'depart', role: 'note' },
        `${countText(flagged.length, flagged.length, 'membre ne figure', 'membres ne figurent')} plus dans l'annuaire comme à leur ajout : ils sont signalés ci-dessous.`) : null,
      el('h2', {}, 'Membres'),
      entries.length ? el('ul', { class: 'liste', id: 'membres' }, entries.map((e) => memberCard(e, byReference)))
        : el('p', {}, 'Cette liste est vide. Ajoutez un professionnel ou un établissement depuis sa fiche.'),
      await changesSection(list, since),
      el('p', {}, el('a', { href: '/?vue=listes' }, 'Toutes les listes de correspondants')),
      fhirLinks(`List/${encodeURIComponent(id)}`));
    showFiche(title, since ? 'titre-changements' : 'titre-fiche');
  }

  /** "Membres modifiés depuis le…": a `_list` search of each member type with
   * `_lastUpdated=ge<date>`. The server's own stamps decide, not this browser's clock; and a
   * `_history` of the whole type since the date would carry every change of the directory, to be
   * filtered here. A member deleted from the directory has no current resource for a search to
   * find: its flag on the list says it. */
  async function changesSection(list, since) {
    const valid = since && /^\d{4}-\d{2}-\d{2}$/.test(since) && !Number.isNaN(Date.parse(since));
    const form = el('form', { id: 'form-changements', class: 'formulaire', action: '/', method: 'get' },
      el('input', { type: 'hidden', name: 'vue', value: 'listes' }),
      el('input', { type: 'hidden', name: 'liste', value: list.id }),
      el('fieldset', {}, el('legend', {}, 'Voir les membres modifiés depuis une date'),
        el('div', { class: 'champ' }, el('label', { for: 'depuis' }, 'Depuis le'),
          el('input', { id: 'depuis', name: 'depuis', type: 'date', required: true, value: valid ? since : null,
            'aria-describedby': 'depuis-aide' }),
          el('p', { class: 'aide', id: 'depuis-aide' }, "Selon la date de mise à jour que l'annuaire a donnée à chaque fiche (celle de l'extraction nationale).")),
        el('button', { type: 'submit' }, 'Afficher les changements')));
    const heading = el('h2', { id: 'titre-changements', tabindex: '-1' }, 'Changements');
    if (!since) return [heading, form];
    if (!valid) {
      return [heading, form, el('p', { class: 'alerte', role: 'alert' }, 'Indiquez une date complète (jour, mois, année).')];
    }
    const changed = await resolveMembers(list, { _lastUpdated: `ge${since}` });
    const onList = new Set(members(list).map(memberReference));
    const found = changed.matches.filter((r) => onList.has(`${r.resourceType}/${r.id}`))
      .sort((a, b) => String(b.meta && b.meta.lastUpdated).localeCompare(String(a.meta && a.meta.lastUpdated)));
    const entryOf = (reference) => members(list).find((e) => memberReference(e) === reference);
    const items = found.map((resource) => {
      const reference = `${resource.resourceType}/${resource.id}`;
      const words = memberWords(reference, resource, changed.byReference, entryOf(reference));
      const left = resource.active === false || (resource.resourceType === 'Device' && resource.status === 'inactive');
      return el('li', { class: 'carte' },
        el('h3', {}, words.href ? el('a', { href: words.href }, words.name) : words.name),
        el('p', { class: 'secondaire-texte' }, words.line),
        el('p', {}, `Mis à jour le ${formatDate(resource.meta && resource.meta.lastUpdated)}`,
          left ? [' · ', el('span', { class: 'etiquette drapeau' }, MEMBER_TYPES[resource.resourceType].deactivated)] : null));
    });
    const summary = `${countText(items.length, items.length, 'membre modifié', 'membres modifiés')} depuis le ${formatDate(since)}`;
    return [heading, form,
      el('p', { id: 'resume-changements' }, summary),
      items.length ? el('ul', { class: 'liste', id: 'changements' }, items) : null,
      el('p', { class: 'aide' }, 'Un membre supprimé du répertoire n\'a plus de fiche : il est signalé dans la liste des membres ci-dessus.')];
  }

  // --- start -------------------------------------------------------------------------------

  async function loadTerminology() {
    let loaded = false;
    try {
      const response = await fetch('/ui/labels.json', { credentials: 'omit' });
      if (response.ok) {
        terminology = await response.json();
        loaded = true;
      }
    } catch (e) {
      loaded = false;
    }
    if (!loaded) {
      // Without them the page cannot tell professions from diplomas: say so.
      $('etat').replaceChildren(el('p', { class: 'alerte' },
        "Les libellés de l'annuaire n'ont pas pu être chargés : les fiches seront incomplètes. Réessayez dans un instant."));
    }
    await loadCodeSystems();
    // An open server asks for nothing: the connection form would only be noise.
    if (terminology.credentials === 'none' && !credential()) $('connexion').hidden = true;
    const generation = terminology.generation;
    if (generation && generation.lastUpdated) {
      $('generation').textContent = `Données à jour du ${formatDate(generation.lastUpdated)}.`;
    }
  }

  /** The words of the lists (professions, specialties) from the API's CodeSystems, open like
   * the CapabilityStatement: `{system: {code: display}}`, the same words as the codings'
   * display. Without them the lists hold what `/ui/labels.json` gave. */
  async function loadCodeSystems() {
    try {
      const response = await fetch(`${FHIR}/CodeSystem`, { credentials: 'omit', headers: { Accept: 'application/fhir+json' } });
      if (!response.ok) return;
      const bundle = await response.json();
      const labels = {};
      for (const entry of bundle.entry || []) {
        const system = entry.resource;
        if (!system || system.resourceType !== 'CodeSystem') continue;
        labels[system.url] = Object.fromEntries((system.concept || []).map((c) => [c.code, c.display]));
      }
      terminology.labels = labels;
    } catch (e) {
      // The lists keep the labels of /ui/labels.json.
    }
  }

  async function start() {
    setUpConnection();
    await loadSession();
    setUpSession();
    await loadTerminology();
    const params = new URLSearchParams(location.search);
    setUpForms(params);
    try {
      const path = decodeURIComponent(location.pathname);
      if (path.startsWith('/professionnels/')) {
        await showPractitioner(path.slice('/professionnels/'.length));
      } else if (path.startsWith('/etablissements/')) {
        await showEstablishment(path.slice('/etablissements/'.length), params);
      } else if (params.get('vue') === 'moi') {
        await showMyRecord();
      } else if (params.get('vue') === 'listes' && params.get('liste')) {
        await showList(params.get('liste'), params);
      } else if (params.get('vue') === 'listes') {
        await showLists();
      } else if (params.get('recherche') === 'professionnel') {
        await runPractitionerSearch(params);
      } else if (params.get('recherche') === 'etablissement') {
        await runEstablishmentSearch(params);
      } else if (params.get('recherche') === 'offre') {
        await runOfferSearch(params);
      }
    } catch (error) {
      if (error instanceof ApiError) showError(error);
      else if (error instanceof URIError) showError(new ApiError(404, "Cette adresse n'est pas celle d'une fiche de l'annuaire."));
      else showError(new ApiError(0, `La page n'a pas pu afficher la réponse (${error.message}).`));
    } finally {
      // Done: what the page shows is final (tests wait for this).
      document.documentElement.dataset.etat = 'pret';
    }
  }

  document.addEventListener('DOMContentLoaded', start);
})();
