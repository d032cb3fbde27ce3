#!/usr/bin/env bash
# Sign-in and bearer tokens against a real OpenID provider: `oidc-provider` from npm (pinned in
# tests/oidc/package-lock.json), configured as Pro Santé Connect is (provider.mjs), and the
# annuaire debug binary, tested over HTTP with node:test as a browser and a telehealth platform
# would use them.
#
#   tests/oidc/run.sh [path/to/target/debug]      (default ${CARGO_TARGET_DIR:-target}/debug)
#
# Generates a small dataset (fixed seed) and imports it; draws the provider's accounts from it
# (accounts.mjs: a médecin and a masseur-kiné the directory knows, a professional it does not);
# starts the provider on 127.0.0.1 (a port of its own choice, kept across key rotations), then
# annuaire with [auth.oidc] and [auth.jwt] taken from the provider, [[auth.rules]] (every
# professional reads; professions 10 and 21 see the restricted MSSanté mailboxes) and an audit
# file; runs tests/oidc/test/*.test.mjs. node:test's summary is the last lines; exit non-zero on
# a failure. ANNUAIRE_OIDC_KEEP=1 keeps the work directory (logs, audit file);
# ANNUAIRE_OIDC_TESTS="test/tokens.test.mjs" runs some files only.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN_DIR="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
case "$BIN_DIR" in /*) ;; *) BIN_DIR="$PWD/$BIN_DIR" ;; esac
PERSONS="${ANNUAIRE_OIDC_PERSONS:-600}"
SEED="${ANNUAIRE_OIDC_SEED:-20261208}"

step() { echo "== oidc: $* ($(date -u +%H:%M:%S))"; }

for tool in annuaire annuaire-generate; do
    [[ -x "$BIN_DIR/$tool" ]] || { echo "oidc: $BIN_DIR/$tool not found (cargo build --workspace)" >&2; exit 2; }
done

step "npm ci in tests/oidc"
LOCK_SUM="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$HERE/node_modules/.oidc-lock" 2>/dev/null)" != "$LOCK_SUM" ]]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCK_SUM" > "$HERE/node_modules/.oidc-lock"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/annuaire-oidc.XXXXXX")"
SERVER_PID=""
PROVIDER_PID=""
cleanup() {
    for pid in $SERVER_PID $PROVIDER_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -z "${ANNUAIRE_OIDC_KEEP:-}" ]]; then rm -rf "$WORK"; else echo "oidc: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- dataset -----------------------------------------------------------------------------------
step "generate $PERSONS persons (seed $SEED) and import"
EXTRACTIONS="$WORK/extractions"
"$BIN_DIR/annuaire-generate" --persons "$PERSONS" --seed "$SEED" --out "$EXTRACTIONS" > /dev/null
one() { # the single generated file matching a pattern
    local f
    f=$(ls "$EXTRACTIONS"/$1)
    [[ $(wc -l <<<"$f") -eq 1 ]] || { echo "oidc: expected one $1, got: $f" >&2; exit 2; }
    echo "$f"
}
FINESS_ARGS=()
for f in "$EXTRACTIONS"/etalab-*.csv; do FINESS_ARGS+=(--finess "$f"); done
RPPS_FILE="$(one 'PS_LibreAcces_Personne_activite_*.txt')"
MSSANTE_FILE="$(one 'Extraction_Correspondance_MSSante_*.txt')"
"$BIN_DIR/annuaire" import \
    --rpps "$RPPS_FILE" \
    "${FINESS_ARGS[@]}" \
    --mssante "$MSSANTE_FILE" \
    --savoir-faire "$(one 'PS_LibreAcces_SavoirFaire_*.txt')" \
    --diplomes "$(one 'PS_LibreAcces_Dipl_AutExerc_*.txt')" \
    --data "$WORK/data" > "$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; exit 2; }

# --- the provider ------------------------------------------------------------------------------
step "the provider's accounts and keys"
node "$HERE/accounts.mjs" "$RPPS_FILE" "$MSSANTE_FILE" "$WORK/accounts.json" "$WORK/expected.json"
mkdir -p "$WORK/keys"
node "$HERE/keys.mjs" "$WORK/keys/first.json" "premiere-cle"
node -e 'const fs=require("fs");fs.writeFileSync(process.argv[2],JSON.stringify({keys:[JSON.parse(fs.readFileSync(process.argv[1]))]}))' \
    "$WORK/keys/first.json" "$WORK/provider-keys.json"
secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
CLIENT_SECRET="$(secret)"
RESOURCE="https://annuaire.test/fhir"
cat > "$WORK/provider.json" <<JSON
{
  "port": 0,
  "keys": "$WORK/provider-keys.json",
  "accounts": "$WORK/accounts.json",
  "annuaire": {"client_id": "annuaire-tests", "client_secret": "$CLIENT_SECRET"},
  "platform": {"client_id": "teleconsultation", "client_secret": "$(secret)"},
  "short_lived_client": {"client_id": "teleconsultation-courte", "client_secret": "$(secret)"},
  "resource": "$RESOURCE"
}
JSON
printf '%s\n' "$CLIENT_SECRET" > "$WORK/client-secret"
chmod 600 "$WORK/client-secret"

# A line a process writes to its log: waits for it, or fails when the process exits first.
logged() { # log pid sed-expression what
    local value=""
    for _ in $(seq 1 600); do
        value="$(sed -n "$3" "$1" | sed -n 1p)"
        if [[ -n "$value" ]]; then
            echo "$value"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || { cat "$1" >&2; echo "oidc: $4 exited before saying where it listens" >&2; return 2; }
        sleep 0.1
    done
    cat "$1" >&2
    echo "oidc: $4 never said where it listens" >&2
    return 2
}
node "$HERE/provider.mjs" "$WORK/provider.json" > "$WORK/provider.log" 2>&1 &
PROVIDER_PID=$!
ISSUER="$(logged "$WORK/provider.log" "$PROVIDER_PID" 's|^issuer \(http://[^ ]*\)$|\1|p' provider)"
step "provider at $ISSUER"

# --- annuaire ----------------------------------------------------------------------------------
cat > "$WORK/annuaire.toml" <<TOML
[auth]
[auth.oidc]
issuer = "$ISSUER"
# Pro Santé Connect's discovery document is at a path of its own; the provider serves it there too.
discovery_url = "$ISSUER/.well-known/wallet-openid-configuration"
client_id = "annuaire-tests"
client_secret_file = "client-secret"
scopes = ["openid", "scope_all"]
acr_values = ["eidas1"]
# Short, so that the rotation tests do not wait long.
jwks_refresh_seconds = 2
jwks_min_refetch_seconds = 1

[auth.jwt]
# Keys and issuer from [auth.oidc]: the provider's access tokens for the API.
audience = "$RESOURCE"
required_typ = "at+jwt"
algorithms = ["RS256"]
leeway_seconds = 0

[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "annuaire/restricted.read"

[[auth.rules]]
name = "professionnels"
who = "professional"
scopes = ["user/*.rs"]

[[auth.rules]]
name = "messageries-medecins-pharmaciens"
who = "professional"
professions = ["10", "21"]
scopes = ["user/*.rs"]
restricted = ["*"]

[audit]
destination = "$WORK/audit.log"
TOML
"$BIN_DIR/annuaire" serve --data "$WORK/data" --listen 127.0.0.1:0 --config "$WORK/annuaire.toml" \
    > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
ADDRESS="$(logged "$WORK/serve.log" "$SERVER_PID" 's|.* at http://\([^/ ]*\)/fhir.*|\1|p' annuaire)"
BASE="http://$ADDRESS"
step "annuaire at $BASE"
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log"; exit 2; }
    sleep 0.2
done
# Discovery and the provider's keys are fetched in the background: sign-in is available once
# they are.
for _ in $(seq 1 150); do
    curl -fsS "$BASE/ui/session" 2>/dev/null | grep -q '"signin": *"available"' && break
    sleep 0.2
done
curl -fsS "$BASE/ui/session" | grep -q '"signin": *"available"' \
    || { echo "oidc: annuaire never said sign-in is available" >&2; curl -sS "$BASE/ui/session" >&2; cat "$WORK/serve.log" >&2; exit 2; }

# --- tests -------------------------------------------------------------------------------------
step "node --test tests/oidc/test/*.test.mjs"
export ANNUAIRE_URL="$BASE" OIDC_ISSUER="$ISSUER" OIDC_SETTINGS="$WORK/provider.json" OIDC_PROVIDER_PID="$PROVIDER_PID"
export OIDC_EXPECTED="$WORK/expected.json" OIDC_KEYS_DIR="$WORK/keys" ANNUAIRE_AUDIT="$WORK/audit.log" ANNUAIRE_LOG="$WORK/serve.log"
cd "$HERE"
set +e
# ANNUAIRE_OIDC_TESTS: some test files only (e.g. "test/tokens.test.mjs").
# shellcheck disable=SC2086
node --test --test-concurrency=1 --test-reporter=spec ${ANNUAIRE_OIDC_TESTS:-test/*.test.mjs}
STATUS=$?
set -e
if [[ $STATUS -ne 0 ]]; then
    echo "--- annuaire's log (last 40 lines)"; tail -n 40 "$WORK/serve.log"
    echo "--- provider's log (last 20 lines)"; tail -n 20 "$WORK/provider.log"
fi
exit $STATUS
