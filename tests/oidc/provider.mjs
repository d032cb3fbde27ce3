// An OpenID provider shaped like Pro Santé Connect, for annuaire's tests: `oidc-provider` from
// npm (nobody here wrote it), configured with PSC's claims, scopes and acr, on 127.0.0.1.
//
//   node provider.mjs SETTINGS.json
//
// SETTINGS.json (written by tests/oidc/run.sh and tests/browser/run.sh):
//   port       0 for a port of the system's choice; a restart names the port it had, so that
//              the issuer URL stays the same
//   keys       a file holding {"keys": [private JWK, ...]}: the provider signs with the first key
//              of an algorithm and publishes every key's public half at its jwks_uri. Re-read
//              on SIGHUP (the tests' key rotation): the provider is rebuilt with the new keys on
//              the same socket, and its sessions, grants and codes are kept (oidc-provider's
//              memory adapter is one per process).
//   accounts   a file holding {"ACCOUNT ID": {PSC claims}, ...}; the login page signs in any of
//              these ids (no password: the tests stand for a CPS card or e-CPS)
//   annuaire   {"client_id", "client_secret"}: annuaire's own client. A `native` client whose
//              redirect URI is on the loopback address, so any port matches (RFC 8252 §7.3,
//              oidc-provider's rule for native clients): annuaire listens on a port of its own
//              choice, started after the provider.
//   platform   {"client_id", "client_secret"}: a telehealth platform that signs professionals
//              in and calls annuaire's API with the access token it gets for `resource`
//   resource   the API's resource indicator and audience: access tokens issued for it are JWTs
//              (RFC 9068) carrying SubjectNameID and SubjectRole
//   short_lived_client  optional: a platform client whose access tokens live 2 seconds (the
//              tests' expired tokens)
//
// Prints "issuer URL" on stdout once it listens, and "keys KID,KID" after each (re)load.

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';
import Provider, { errors } from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = JSON.parse(readFileSync(settings.accounts, 'utf8'));

/// Pro Santé Connect's claims, all behind its one scope `scope_all` (next to `openid`).
const PSC_CLAIMS = [
  'SubjectNameID', 'SubjectRole', 'SubjectRefPro', 'SubjectOrganization', 'SubjectOrganizationID',
  'Secteur_Activite', 'given_name', 'family_name', 'preferred_username', 'codeCivilite',
  'email_verified',
];

/// What the resource server's access tokens carry besides oidc-provider's own claims: PSC puts
/// the professional's identity in them, so the API knows who calls without asking userinfo.
const TOKEN_CLAIMS = ['SubjectNameID', 'SubjectRole'];

function loadKeys() {
  return JSON.parse(readFileSync(settings.keys, 'utf8'));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function configuration(keys) {
  const platforms = [settings.platform, settings.short_lived_client].filter(Boolean);
  const platformIds = new Set(platforms.map((p) => p.client_id));
  return {
    clients: [
      {
        client_id: settings.annuaire.client_id,
        client_secret: settings.annuaire.client_secret,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/ui/connexion/retour'],
        post_logout_redirect_uris: ['http://127.0.0.1/'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
      ...platforms.map((p) => ({
        client_id: p.client_id,
        client_secret: p.client_secret,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/teleconsultation/retour'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
    ],
    jwks: keys,
    cookies: { keys: ['annuaire-oidc-tests-cookie-key'] },
    scopes: ['openid', 'scope_all'],
    claims: { openid: ['sub'], scope_all: PSC_CLAIMS },
    acrValues: ['eidas1'],
    // PKCE (S256) for every client, confidential ones too (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    findAccount: async (_ctx, id) => {
      const claims = accounts[id];
      if (!claims) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, ...claims }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // RP-initiated logout: a confirmation page of the provider (in French, nothing loaded from
      // elsewhere), then back to the client's post_logout_redirect_uri.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = page('Déconnexion de Pro Santé Connect', `${form}`
            + '<button id="logout" type="submit" form="op.logoutForm" name="logout" value="yes">Oui, me déconnecter</button>'
            + ' <button type="submit" form="op.logoutForm">Non, rester connecté</button>');
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = page('Déconnecté de Pro Santé Connect', '<p>Vous êtes déconnecté.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        // The platforms' tokens are for the API even when they do not name it (as with PSC,
        // where the client's configuration says it); annuaire's own sign-in asks for none, so
        // its access token stays opaque and good for userinfo.
        defaultResource: (ctx, client, oneOf) => {
          if (oneOf) return oneOf;
          return platformIds.has(client.clientId) ? settings.resource : undefined;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator, client) => {
          if (indicator !== settings.resource) throw new errors.InvalidTarget();
          const shortLived = settings.short_lived_client
            && client.clientId === settings.short_lived_client.client_id;
          return {
            scope: 'scope_all',
            audience: settings.resource,
            accessTokenTTL: shortLived ? 2 : 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.resourceServer) return undefined;
      const claims = accounts[token.accountId] ?? {};
      return Object.fromEntries(TOKEN_CLAIMS.filter((c) => c in claims).map((c) => [c, claims[c]]));
    },
    loadExistingGrant: async (ctx) => {
      // PSC asks no consent of a professional: every client's grant is what it asked for.
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      return undefined;
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Erreur du fournisseur d’identité', `<p id="error">${escapeHtml(out.error)}</p>`
        + `<p id="error-description">${escapeHtml(out.error_description ?? '')}</p>`);
    },
  };
}

// --- interactions: the login page, and the consent PSC never asks -----------------------------

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

/// The login page (GET), the login itself (POST .../login), and the grant (every prompt after
/// login is consent, given at once as PSC does). The acr is eIDAS "substantiel" (`eidas1`), as
/// PSC returns after a CPS card or e-CPS.
async function interaction(provider, req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  const { prompt, params, session } = details;
  if (req.method === 'GET' && prompt.name === 'login') {
    const retry = url.searchParams.get('inconnu');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page('Pro Santé Connect (tests)',
      (retry ? `<p id="login-error" role="alert">Compte inconnu : ${escapeHtml(retry)}</p>` : '')
      + `<form method="post" action="/interaction/${escapeHtml(uid)}/login">`
      + '<label for="login">Identifiant</label> <input id="login" name="login" autocomplete="off" required>'
      + ' <button id="submit" type="submit">Se connecter</button></form>'));
    return;
  }
  if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const login = (await readForm(req)).get('login') ?? '';
    if (!accounts[login]) {
      res.writeHead(303, { location: `/interaction/${uid}?inconnu=${encodeURIComponent(login)}` });
      res.end();
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: login, acr: 'eidas1', amr: ['hwk'] },
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`unexpected ${req.method} for prompt ${prompt.name}`);
}

// --- the server: one socket, a provider rebuilt on SIGHUP ---------------------------------------

let provider;
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  // Pro Santé Connect publishes its discovery document at a path of its own.
  if (url.pathname === '/.well-known/wallet-openid-configuration') {
    req.url = '/.well-known/openid-configuration';
  }
  if (url.pathname.startsWith('/interaction/')) {
    try {
      await interaction(provider, req, res, url);
    } catch (error) {
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page('Erreur du fournisseur d’identité', `<p id="error">${escapeHtml(error.message)}</p>`));
      }
    }
    return;
  }
  provider.callback()(req, res);
});

function build(issuer) {
  const keys = loadKeys();
  provider = new Provider(issuer, configuration(keys));
  provider.on('server_error', (_ctx, error) => console.error(`provider: ${error.stack}`));
  console.log(`keys ${keys.keys.map((k) => k.kid).join(',')}`);
}

server.listen(settings.port ?? 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  build(issuer);
  console.log(`issuer ${issuer}`);
  process.on('SIGHUP', () => {
    try {
      build(issuer);
    } catch (error) {
      console.error(`provider: keys not reloaded: ${error.message}`);
    }
  });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
