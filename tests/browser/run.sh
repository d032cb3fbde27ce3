#!/usr/bin/env bash
# The lookup page in a real browser: Debian's Chromium driven by Playwright (playwright-core),
# with axe-core for accessibility.
#
#   tests/browser/run.sh [path/to/target/debug]      (default ${CARGO_TARGET_DIR:-target}/debug)
#
# Installs what it needs (Debian's chromium if missing, the npm packages of tests/browser from
# its lock file), generates a dataset (fixed seed), imports its day 1, serves it with access
# control (four API keys: one without and one with the scope that shows MSSanté mailboxes, one
# that may also write lists of correspondents and one that may only read them; and bearer tokens signed with a key made for
# the run), writes a list of correspondents whose members day 2 changes, imports day 2 (with
# departures) while the server runs, waits for the server to switch to it; starts tests/oidc's
# OpenID provider (npm oidc-provider shaped like Pro Santé Connect) and a third server (day 2)
# that signs professionals in with it; and runs tests/browser/test/*.test.mjs with node:test. Screenshots at desktop and phone widths go to
# ${ANNUAIRE_BROWSER_ARTIFACTS:-target/browser-artifacts}.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN_DIR="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
case "$BIN_DIR" in /*) ;; *) BIN_DIR="$PWD/$BIN_DIR" ;; esac
PERSONS="${ANNUAIRE_BROWSER_PERSONS:-1500}"
SEED="${ANNUAIRE_BROWSER_SEED:-20261130}"
ARTIFACTS="${ANNUAIRE_BROWSER_ARTIFACTS:-${CARGO_TARGET_DIR:-$ROOT/target}/browser-artifacts}"
case "$ARTIFACTS" in /*) ;; *) ARTIFACTS="$PWD/$ARTIFACTS" ;; esac

step() { echo "== browser: $* ($(date -u +%H:%M:%S))"; }

for tool in annuaire annuaire-generate; do
    [[ -x "$BIN_DIR/$tool" ]] || { echo "browser: $BIN_DIR/$tool not found (cargo build --workspace)" >&2; exit 2; }
done

# --- tools -------------------------------------------------------------------------------------
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
    step "installing Debian's chromium"
    SUDO=""
    [[ "$(id -u)" -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null
fi
"$CHROMIUM" --version 2>/dev/null

step "npm ci in tests/browser"
LOCK_SUM="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$HERE/node_modules/.browser-lock" 2>/dev/null)" != "$LOCK_SUM" ]]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCK_SUM" > "$HERE/node_modules/.browser-lock"
fi
# The OpenID provider of the sign-in test is tests/oidc's (npm oidc-provider, PSC-shaped).
OIDC_DIR="$ROOT/tests/oidc"
step "npm ci in tests/oidc"
LOCK_SUM="$(sha256sum "$OIDC_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$OIDC_DIR/node_modules/.oidc-lock" 2>/dev/null)" != "$LOCK_SUM" ]]; then
    (cd "$OIDC_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCK_SUM" > "$OIDC_DIR/node_modules/.oidc-lock"
fi

# --- dataset and server ------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/annuaire-browser.XXXXXX")"
SERVER_PID=""
OPEN_PID=""
OIDC_PID=""
PROVIDER_PID=""
cleanup() {
    for pid in $SERVER_PID $OPEN_PID $OIDC_PID $PROVIDER_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -z "${ANNUAIRE_BROWSER_KEEP:-}" ]]; then rm -rf "$WORK"; else echo "browser: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "generate $PERSONS persons (seed $SEED) and import"
EXTRACTIONS="$WORK/extractions"
"$BIN_DIR/annuaire-generate" --persons "$PERSONS" --seed "$SEED" --out "$EXTRACTIONS"
one() { # the single generated file matching a pattern
    local f
    f=$(ls "$EXTRACTIONS"/$1)
    [[ $(wc -l <<<"$f") -eq 1 ]] || { echo "browser: expected one $1, got: $f" >&2; exit 2; }
    echo "$f"
}
# Every FINESS extraction the generator wrote (establishments, legal entities, activities,
# social and heavy equipment), as `--finess` arguments: the importer tells them apart by their
# records, not their names.
finess_args() { # directory
    local f
    for f in "$1"/etalab-*.csv; do printf -- '--finess\n%s\n' "$f"; done
}
RPPS_FILE="$(one 'PS_LibreAcces_Personne_activite_*.txt')"
FINESS_FILE="$(one 'etalab-cs1100507-stock-*.csv')"
mapfile -t FINESS_ARGS < <(finess_args "$EXTRACTIONS")
"$BIN_DIR/annuaire" import \
    --rpps "$RPPS_FILE" \
    "${FINESS_ARGS[@]}" \
    --mssante "$(one 'Extraction_Correspondance_MSSante_*.txt')" \
    --savoir-faire "$(one 'PS_LibreAcces_SavoirFaire_*.txt')" \
    --diplomes "$(one 'PS_LibreAcces_Dipl_AutExerc_*.txt')" \
    --data "$WORK/data" > "$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; exit 2; }
DAY1_RPPS_FILE="$RPPS_FILE"

# Day 2 (the generator's events: retirements, closed and moved activities), so that the data
# served has departures: deactivated practitioners, activities and structures. The tests check
# the served data against day 2's files. Day 2 also removes heavy equipment units on purpose; in
# a dataset this small one unit is more than the 5 % the shrink guard allows per type, hence
# --allow-shrink. The open server's copy gets day 2 now; the server with access control gets it
# while it runs (below), after a list of correspondents was written on day 1.
step "generate day 2 and import it into the open server's copy"
EXTRACTIONS="$WORK/extractions-day2"
"$BIN_DIR/annuaire-generate" --persons "$PERSONS" --seed "$SEED" --day 2 --out "$EXTRACTIONS" > /dev/null
RPPS_FILE="$(one 'PS_LibreAcces_Personne_activite_*.txt')"
FINESS_FILE="$(one 'etalab-cs1100507-stock-*.csv')"
mapfile -t FINESS_ARGS < <(finess_args "$EXTRACTIONS")
import_day2() { # data directory, log
    "$BIN_DIR/annuaire" import \
        --rpps "$RPPS_FILE" \
        "${FINESS_ARGS[@]}" \
        --mssante "$(one 'Extraction_Correspondance_MSSante_*.txt')" \
        --savoir-faire "$(one 'PS_LibreAcces_SavoirFaire_*.txt')" \
        --diplomes "$(one 'PS_LibreAcces_Dipl_AutExerc_*.txt')" \
        --allow-shrink \
        --data "$1" > "$2" 2>&1 || { cat "$2"; exit 2; }
}
cp -r "$WORK/data" "$WORK/data-open"
import_day2 "$WORK/data-open" "$WORK/import-day2-open.log"
# A third copy (day 2 too) for the server professionals sign in to with the OpenID provider.
cp -r "$WORK/data-open" "$WORK/data-oidc"

# Four keys: a front desk without the restricted scope, a user who may see mailboxes, a
# hospital's secretariat that keeps lists of correspondents, and a colleague who only reads them.
key() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
KEY_DESK="desk-$(key)"
KEY_RESTRICTED="restricted-$(key)"
KEY_LISTS="lists-$(key)"
KEY_LIST_READER="list-reader-$(key)"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat > "$WORK/secured.toml" <<TOML
[auth]
[[auth.api_keys]]
name = "front-desk"
sha256 = "$(sha "$KEY_DESK")"
scopes = ["system/*.rs"]
[[auth.api_keys]]
name = "mailboxes"
sha256 = "$(sha "$KEY_RESTRICTED")"
scopes = ["system/*.rs", "annuaire/restricted.read"]
[[auth.api_keys]]
name = "secretariat"
sha256 = "$(sha "$KEY_LISTS")"
scopes = ["system/*.rs", "system/List.cruds"]
[[auth.api_keys]]
name = "list-reader"
sha256 = "$(sha "$KEY_LIST_READER")"
scopes = ["system/*.rs", "system/List.rs"]
[auth.jwt]
jwks = "jwks.json"
issuer = "https://auth.annuaire.test"
audience = "annuaire-browser-tests"
algorithms = ["ES256"]
[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "annuaire/restricted.read"
TOML
# A signing key for bearer tokens (as an identity provider such as Pro Santé Connect would
# hold): its public half in the JWKS the server reads, its private half for the tests.
node --input-type=module - "$WORK" <<'NODE'
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
const dir = process.argv[2];
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'browser-tests', alg: 'ES256', use: 'sig' };
writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [jwk] }));
writeFileSync(`${dir}/signing-key.pem`, privateKey.export({ format: 'pem', type: 'pkcs8' }));
NODE

# The address a server started with `--listen 127.0.0.1:0` took (the port is its own choice:
# none is picked beforehand, which another process could take meanwhile), read from its log line
# "... at http://ADDRESS/fhir".
logged_address() { # log pid
    local address=""
    for _ in $(seq 1 600); do
        address="$(sed -n 's|.* at http://\([^/ ]*\)/fhir.*|\1|p' "$1" | sed -n 1p)"
        if [[ -n "$address" ]]; then
            echo "$address"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || { cat "$1" >&2; echo "browser: the server exited before saying where it listens" >&2; return 2; }
        sleep 0.1
    done
    cat "$1" >&2
    echo "browser: the server never said where it listens" >&2
    return 2
}
"$BIN_DIR/annuaire" serve --data "$WORK/data" --listen 127.0.0.1:0 --config "$WORK/secured.toml" \
    > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
# The same data (day 2 already) served without access control, for what an open server shows.
"$BIN_DIR/annuaire" serve --data "$WORK/data-open" --listen 127.0.0.1:0 > "$WORK/serve-open.log" 2>&1 &
OPEN_PID=$!
BASE="http://$(logged_address "$WORK/serve.log" "$SERVER_PID")"
OPEN_BASE="http://$(logged_address "$WORK/serve-open.log" "$OPEN_PID")"
step "serve on $BASE (and, open, on $OPEN_BASE)"
wait_ready() { # base pid log
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null "$1/readyz" 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || { cat "$3"; exit 2; }
        sleep 0.2
    done
    echo "browser: $1 never became ready" >&2
    cat "$3"
    exit 2
}
wait_ready "$BASE" "$SERVER_PID" "$WORK/serve.log"
wait_ready "$OPEN_BASE" "$OPEN_PID" "$WORK/serve-open.log"

# --- a list of correspondents, then day 2 while serving --------------------------------------
# On day 1 the secretariat keeps a list: a practitioner whom day 2's files no longer have (a
# departure: day 2 deactivates them), one whom both days have, and an id the directory never
# had. Day 2 is then imported into the data being served; the server switches to it within
# seconds and flags the list's entries (the tests read the flags, the page and the API).
step "a list of correspondents on day 1, then day 2 imported while serving"
json() { # JavaScript expression over the JSON on stdin (as `j`)
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);console.log($1)})"
}
api() { # path [curl options...]
    local path="$1"; shift
    curl -fsS -H 'Accept: application/fhir+json' -H "ESANTE-API-KEY: $KEY_LISTS" "$@" "$BASE/fhir/$path"
}
idnats() { # RPPS file: the persons' national identifiers, sorted
    awk -F'|' 'NR==1{for(i=1;i<=NF;i++){h=$i; gsub(/^[ \t\r]+|[ \t\r]+$/,"",h); if(h=="Identification nationale PP") c=i}; next}
               {v=$c; gsub(/^[ \t\r]+|[ \t\r]+$/,"",v); if(v!="") print v}' "$1" | sort -u
}
RETIRED_IDNAT="$(comm -23 <(idnats "$DAY1_RPPS_FILE") <(idnats "$RPPS_FILE") | sed -n 1p)"
STAYING_IDNAT="$(comm -12 <(idnats "$DAY1_RPPS_FILE") <(idnats "$RPPS_FILE") | sed -n 1p)"
[[ -n "$RETIRED_IDNAT" && -n "$STAYING_IDNAT" ]] || { echo "browser: day 2 has no departure to follow" >&2; exit 2; }
practitioner_of() { api "Practitioner?identifier=$1&_count=1" | json "j.entry[0].resource.id"; }
RETIRED="Practitioner/$(practitioner_of "$RETIRED_IDNAT")"
STAYING="Practitioner/$(practitioner_of "$STAYING_IDNAT")"
UNKNOWN="Practitioner/pp-0-jamais-vu"
FOLLOWED_LIST="suivi-departs"
api "List/$FOLLOWED_LIST" -X PUT -H 'Content-Type: application/fhir+json' -o /dev/null --data @- <<JSON
{"resourceType": "List", "status": "current", "mode": "working", "title": "Correspondants suivis",
 "entry": [{"item": {"reference": "$RETIRED"}}, {"item": {"reference": "$STAYING"}},
           {"item": {"reference": "$UNKNOWN", "display": "Dr Jamais Vu"}}]}
JSON
generation() { curl -fsS "$BASE/ui/labels.json" | json "j.generation.id"; }
DAY1_GENERATION="$(generation)"
import_day2 "$WORK/data" "$WORK/import-day2.log"
for _ in $(seq 1 150); do
    [[ "$(generation)" != "$DAY1_GENERATION" ]] && break
    sleep 0.2
done
[[ "$(generation)" != "$DAY1_GENERATION" ]] || { echo "browser: the server never switched to day 2" >&2; cat "$WORK/serve.log"; exit 2; }

# --- sign-in with an OpenID provider shaped like Pro Santé Connect ------------------------------
# tests/oidc's provider (accounts drawn from day 2's files: a médecin and a masseur-kiné the
# directory knows, a professional it does not) and a server with [auth.oidc] and rules: every
# professional reads, médecins and pharmaciens see the mailboxes.
step "an OpenID provider and a server signing professionals in with it"
node "$OIDC_DIR/accounts.mjs" "$RPPS_FILE" "$(one 'Extraction_Correspondance_MSSante_*.txt')" \
    "$WORK/oidc-accounts.json" "$WORK/oidc-expected.json"
node "$OIDC_DIR/keys.mjs" "$WORK/oidc-key.json" "cle-navigateur"
node -e 'const fs=require("fs");fs.writeFileSync(process.argv[2],JSON.stringify({keys:[JSON.parse(fs.readFileSync(process.argv[1]))]}))' \
    "$WORK/oidc-key.json" "$WORK/oidc-keys.json"
OIDC_SECRET="$(key)"
cat > "$WORK/oidc-provider.json" <<JSON
{"port": 0, "keys": "$WORK/oidc-keys.json", "accounts": "$WORK/oidc-accounts.json",
 "annuaire": {"client_id": "annuaire-tests", "client_secret": "$OIDC_SECRET"},
 "platform": {"client_id": "teleconsultation", "client_secret": "$(key)"},
 "resource": "https://annuaire.test/fhir"}
JSON
printf '%s\n' "$OIDC_SECRET" > "$WORK/oidc-client-secret"
node "$OIDC_DIR/provider.mjs" "$WORK/oidc-provider.json" > "$WORK/provider.log" 2>&1 &
PROVIDER_PID=$!
for _ in $(seq 1 300); do
    ISSUER="$(sed -n 's|^issuer \(http://[^ ]*\)$|\1|p' "$WORK/provider.log")"
    [[ -n "$ISSUER" ]] && break
    kill -0 "$PROVIDER_PID" 2>/dev/null || { cat "$WORK/provider.log"; exit 2; }
    sleep 0.1
done
[[ -n "$ISSUER" ]] || { cat "$WORK/provider.log"; echo "browser: the provider never said its issuer" >&2; exit 2; }
cat > "$WORK/oidc.toml" <<TOML
[auth]
[auth.oidc]
issuer = "$ISSUER"
discovery_url = "$ISSUER/.well-known/wallet-openid-configuration"
client_id = "annuaire-tests"
client_secret_file = "oidc-client-secret"
scopes = ["openid", "scope_all"]
acr_values = ["eidas1"]
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
TOML
"$BIN_DIR/annuaire" serve --data "$WORK/data-oidc" --listen 127.0.0.1:0 --config "$WORK/oidc.toml" \
    > "$WORK/serve-oidc.log" 2>&1 &
OIDC_PID=$!
OIDC_BASE="http://$(logged_address "$WORK/serve-oidc.log" "$OIDC_PID")"
wait_ready "$OIDC_BASE" "$OIDC_PID" "$WORK/serve-oidc.log"
for _ in $(seq 1 150); do
    curl -fsS "$OIDC_BASE/ui/session" 2>/dev/null | grep -q '"signin": *"available"' && break
    sleep 0.2
done
step "provider at $ISSUER, server with sign-in at $OIDC_BASE"

# --- tests -------------------------------------------------------------------------------------
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
step "node --test tests/browser/test/*.test.mjs (screenshots in $ARTIFACTS)"
export ANNUAIRE_URL="$BASE" ANNUAIRE_OPEN_URL="$OPEN_BASE" ANNUAIRE_KEY_DESK="$KEY_DESK" ANNUAIRE_KEY_RESTRICTED="$KEY_RESTRICTED"
export ANNUAIRE_KEY_LISTS="$KEY_LISTS" ANNUAIRE_KEY_LIST_READER="$KEY_LIST_READER" ANNUAIRE_FOLLOWED_LIST="$FOLLOWED_LIST"
export ANNUAIRE_RETIRED="$RETIRED" ANNUAIRE_STAYING="$STAYING" ANNUAIRE_UNKNOWN="$UNKNOWN"
export ANNUAIRE_SIGNING_KEY="$WORK/signing-key.pem" ANNUAIRE_ISSUER="https://auth.annuaire.test" ANNUAIRE_AUDIENCE="annuaire-browser-tests"
export ANNUAIRE_RPPS_FILE="$RPPS_FILE" ANNUAIRE_FINESS_FILE="$FINESS_FILE" ANNUAIRE_RPPS_DAY1_FILE="$DAY1_RPPS_FILE"
# Every FINESS extraction served (day 2's), for the labels of activities and equipment.
ANNUAIRE_FINESS_FILES="$(printf '%s:' "$EXTRACTIONS"/etalab-*.csv)"
export ANNUAIRE_FINESS_FILES="${ANNUAIRE_FINESS_FILES%:}"
export ANNUAIRE_BROWSER_ARTIFACTS="$ARTIFACTS" CHROMIUM
export ANNUAIRE_OIDC_URL="$OIDC_BASE" OIDC_ISSUER="$ISSUER" OIDC_EXPECTED="$WORK/oidc-expected.json"
cd "$HERE"
# ANNUAIRE_BROWSER_TESTS: some test files only (e.g. "test/signin.test.mjs").
# shellcheck disable=SC2086
node --test --test-concurrency=1 --test-reporter=spec ${ANNUAIRE_BROWSER_TESTS:-test/*.test.mjs}
