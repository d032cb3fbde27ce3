// What the tests share: a browser made of fetch and a cookie jar (it follows redirects itself,
// keeping each origin's cookies, as a browser does), a telehealth platform's sign-in through the
// provider (authorization code, PKCE, then the access token for annuaire's API), the provider's
// key rotation, and the run's settings (from tests/oidc/run.sh's environment).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/// A setting run.sh exports; missing means the test was not started by run.sh.
export function setting(name) {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set: run tests/oidc/run.sh`);
  return value;
}

export const ANNUAIRE = () => setting('ANNUAIRE_URL');
export const ISSUER = () => setting('OIDC_ISSUER');
export const providerSettings = () => JSON.parse(readFileSync(setting('OIDC_SETTINGS'), 'utf8'));
export const accounts = () => JSON.parse(readFileSync(providerSettings().accounts, 'utf8'));

/// A browser: cookies per host:port (RFC 6265 scopes cookies by host, but annuaire and the
/// provider both sit on 127.0.0.1 with their own cookie names; keeping them per origin keeps
/// each server's cookies its own), redirects followed by hand so that every hop is seen.
export class Browser {
  constructor() {
    this.jars = new Map();
    this.hops = [];
  }

  jar(url) {
    const { host } = new URL(url);
    if (!this.jars.has(host)) this.jars.set(host, new Map());
    return this.jars.get(host);
  }

  cookie(url, name) {
    return this.jar(url).get(name);
  }

  keep(url, response) {
    const jar = this.jar(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a))
        || attributes.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  /// One request, no redirect followed; cookies sent and kept.
  async request(url, { method = 'GET', headers = {}, form, body } = {}) {
    const jar = this.jar(url);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    // What a browser sends for a page: annuaire answers its sign-in pages in HTML.
    const init = {
      method,
      redirect: 'manual',
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', ...headers },
    };
    if (cookie) init.headers.cookie = cookie;
    if (form) {
      init.body = new URLSearchParams(form).toString();
      init.headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (body !== undefined) {
      init.body = body;
    }
    const response = await fetch(url, init);
    this.keep(url, response);
    this.hops.push({ method, url, status: response.status, location: response.headers.get('location') });
    return response;
  }

  /// Requests, following redirects (303 and 302 become GET) until an answer that is not a
  /// redirect, or a redirect to a URL `stop` accepts (returned unfetched, as `{ stopped }`).
  async follow(url, options = {}, stop = () => false) {
    let response = await this.request(url, options);
    let current = url;
    for (let i = 0; i < 20; i += 1) {
      const location = response.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return { response, url: current };
      const next = new URL(location, current).href;
      await response.arrayBuffer();
      if (stop(next)) return { stopped: next, url: current };
      current = next;
      response = await this.request(next);
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

/// Fills in the provider's login form on the page `response` shows (as a person would: the
/// form's action, the login field).
export async function submitLogin(browser, response, url, login) {
  const html = await response.text();
  const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
  if (!action) throw new Error(`no login form at ${url}: ${html.slice(0, 300)}`);
  return new URL(action.replaceAll('&amp;', '&'), url).href;
}

/// A person signing in to annuaire's page: /ui/connexion → the provider's login page → the
/// provider's redirect back → annuaire's session. Returns the last answer and the browser.
export async function signIn(login, { browser = new Browser(), retour = '/' } = {}) {
  const start = `${ANNUAIRE()}/ui/connexion?retour=${encodeURIComponent(retour)}`;
  const { response, url } = await browser.follow(start);
  if (!url.startsWith(ISSUER())) throw new Error(`sign-in did not reach the provider: ${url} (${response.status})`);
  const action = await submitLogin(browser, response, url, login);
  const done = await browser.follow(action, { method: 'POST', form: { login } });
  return { browser, ...done };
}

/// PKCE (RFC 7636): a verifier and its S256 challenge.
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/// A telehealth platform signing a professional in with the provider, then exchanging the code
/// for an access token for annuaire's API (the resource): what it sends annuaire as a bearer.
export async function platformToken(login, options = {}) {
  return (await platformTokens(login, options)).access_token;
}

/// The token endpoint's whole answer (access token, ID token) for a platform's sign-in.
export async function platformTokens(login, { client = providerSettings().platform } = {}) {
  const browser = new Browser();
  const { verifier, challenge } = pkce();
  const redirectUri = 'http://127.0.0.1:9/teleconsultation/retour';
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(`${ISSUER()}/auth`);
  authorize.search = new URLSearchParams({
    client_id: client.client_id, response_type: 'code', scope: 'openid scope_all',
    redirect_uri: redirectUri, state, nonce: randomBytes(16).toString('base64url'),
    code_challenge: challenge, code_challenge_method: 'S256', acr_values: 'eidas1',
  }).toString();
  const isCallback = (u) => u.startsWith(redirectUri);
  const { response, url, stopped } = await browser.follow(authorize.href, {}, isCallback);
  let callback = stopped;
  if (!callback) {
    const action = await submitLogin(browser, response, url, login);
    ({ stopped: callback } = await browser.follow(action, { method: 'POST', form: { login } }, isCallback));
  }
  if (!callback) throw new Error(`the provider never redirected to the platform for ${login}`);
  const params = new URL(callback).searchParams;
  if (params.get('state') !== state) throw new Error('the provider returned another state');
  const token = await fetch(`${ISSUER()}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  const json = await token.json();
  if (!token.ok) throw new Error(`token endpoint: ${token.status} ${JSON.stringify(json)}`);
  return json;
}

/// The claims of a JWT (unverified: for the tests' own assertions on what the provider issued).
export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}
export function headerOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());
}

/// Gives the provider new keys (a list of private JWK files, signing key first) and waits until
/// its jwks_uri publishes exactly them: the issuer's URL stays the same (same process, port).
export async function rotateProviderKeys(keyFiles) {
  const keys = keyFiles.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  writeFileSync(providerSettings().keys, JSON.stringify({ keys }));
  process.kill(Number(setting('OIDC_PROVIDER_PID')), 'SIGHUP');
  const wanted = keys.map((k) => k.kid).join(',');
  for (let i = 0; i < 100; i += 1) {
    const jwks = await (await fetch(`${ISSUER()}/jwks`)).json();
    if (jwks.keys.map((k) => k.kid).join(',') === wanted) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the provider never published keys ${wanted}`);
}

/// A FHIR request to annuaire with a bearer token.
export async function api(path, token, init = {}) {
  const headers = { accept: 'application/fhir+json', ...(init.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${ANNUAIRE()}${path}`, { ...init, headers });
}
