#!/usr/bin/env bash
# Interoperability suite: third-party FHIR clients and validators against a live annuaire server.
#
#   tests/interop/run.sh [path/to/annuaire]      (or ANNUAIRE_BIN=...; default target/debug/annuaire)
#
# Installs its own tools (Python venv from tests/interop/requirements.txt, npm project
# tests/interop/node with its lock file), generates a dataset (ANNUAIRE_INTEROP_PERSONS persons,
# fixed seed), imports it, serves it on a port of its choosing, runs every tests/interop/test_*.py with pytest
# and every tests/interop/node/test/*.test.mjs with node:test, stops the server, and prints as its
# last line "N passed, M failed" (both runners summed). Exits non-zero if anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${1:-${ANNUAIRE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/annuaire}}"
PERSONS="${ANNUAIRE_INTEROP_PERSONS:-2000}"
SEED="${ANNUAIRE_INTEROP_SEED:-20260501}"
VENV="${ANNUAIRE_INTEROP_VENV:-$ROOT/target/interop-venv}"
PYTHON="${PYTHON:-python3}"

case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
if [[ ! -x "$BIN" ]]; then
    echo "interop: server binary $BIN not found (build it with cargo build, or pass its path)" >&2
    exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/annuaire-interop.XXXXXX")"
SERVER_PID=""

SECURED_PID=""
SYNC_PID=""
stop_server() {
    if [[ -n "$SYNC_PID" ]]; then
        kill "$SYNC_PID" 2>/dev/null || true
        wait "$SYNC_PID" 2>/dev/null || true
        SYNC_PID=""
    fi
    if [[ -n "$SECURED_PID" ]]; then
        kill "$SECURED_PID" 2>/dev/null || true
        wait "$SECURED_PID" 2>/dev/null || true
        SECURED_PID=""
    fi
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    stop_server
    if [[ -z "${ANNUAIRE_INTEROP_KEEP:-}" ]]; then rm -rf "$WORK"; else echo "interop: kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "== interop: $* ($(date -u +%H:%M:%S))"; }

# --- tools -------------------------------------------------------------------------------------
step "Python venv $VENV"
REQ_SUM="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.interop-requirements" 2>/dev/null)" != "$REQ_SUM" ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    echo "$REQ_SUM" > "$VENV/.interop-requirements"
fi

step "npm ci in tests/interop/node"
node --version
LOCK_SUM="$(sha256sum "$HERE/node/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$HERE/node/node_modules/.interop-lock" 2>/dev/null)" != "$LOCK_SUM" ]]; then
    (cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCK_SUM" > "$HERE/node/node_modules/.interop-lock"
fi

# --- dataset and server ------------------------------------------------------------------------
step "generate $PERSONS persons (seed $SEED) and import"
EXTRACTIONS="$WORK/extractions"
GENERATE="${ANNUAIRE_GENERATE_BIN:-$(dirname "$BIN")/annuaire-generate}"
[[ -x "$GENERATE" ]] || { echo "interop: generator $GENERATE not found (cargo build --workspace)" >&2; exit 2; }
"$GENERATE" --persons "$PERSONS" --seed "$SEED" --out "$EXTRACTIONS"
# The same directory one day later (retirements, new persons, changes), for test_sync.py.
"$GENERATE" --persons "$PERSONS" --seed "$SEED" --day 2 --out "$WORK/extractions-day2" > /dev/null
one() { # the single generated file matching a pattern
    local f
    f=$(ls "$EXTRACTIONS"/$1)
    [[ $(wc -l <<<"$f") -eq 1 ]] || { echo "interop: expected one $1, got: $f" >&2; exit 2; }
    echo "$f"
}
# Every FINESS extraction (establishments, legal entities, heavy equipment, social equipment,
# healthcare activities): the importer recognises each by its record tags.
FINESS_FILES=("$EXTRACTIONS"/etalab-*.csv)
[[ ${#FINESS_FILES[@]} -eq 5 ]] || { echo "interop: expected 5 FINESS files, got: ${FINESS_FILES[*]}" >&2; exit 2; }
"$BIN" import \
    --rpps "$(one 'PS_LibreAcces_Personne_activite_*.txt')" \
    --finess "${FINESS_FILES[@]}" \
    --mssante "$(one 'Extraction_Correspondance_MSSante_*.txt')" \
    --savoir-faire "$(one 'PS_LibreAcces_SavoirFaire_*.txt')" \
    --diplomes "$(one 'PS_LibreAcces_Dipl_AutExerc_*.txt')" \
    --data "$WORK/data" > "$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; exit 2; }
tail -n 8 "$WORK/import.log"

# A second server on a copy of the data, with access control: an API key in the ANS gateway's
# header, a restricted element (test_access.py). A third on another copy, into which
# test_sync.py imports day 2 while it runs.
cp -r "$WORK/data" "$WORK/data-secured"
cp -r "$WORK/data" "$WORK/data-sync"
SECURED_KEY="interop-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
SECURED_HASH="$(printf '%s' "$SECURED_KEY" | sha256sum | cut -d' ' -f1)"
cat > "$WORK/secured.toml" <<TOML
[auth]
[[auth.api_keys]]
name = "interop"
sha256 = "$SECURED_HASH"
scopes = ["system/*.rs"]
[auth.restricted]
elements = ["Practitioner.telecom", "PractitionerRole.telecom"]
scope = "annuaire/restricted.read"
[audit]
destination = "$WORK/audit.log"
TOML
wait_for_server() { # metadata-url pid log: until it answers 200, the process dies, or 60 s
    "$VENV/bin/python" - "$1" "$2" <<'EOF' || { cat "$3"; exit 2; }
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 60
while True:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                break
    except Exception:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"interop: the server of {url} exited before answering")
    if time.time() > deadline:
        sys.exit("interop: no answer from " + url)
    time.sleep(0.2)
EOF
}
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
        kill -0 "$2" 2>/dev/null || { cat "$1" >&2; echo "interop: the server exited before saying where it listens" >&2; return 2; }
        sleep 0.1
    done
    cat "$1" >&2
    echo "interop: the server never said where it listens" >&2
    return 2
}
"$BIN" serve --data "$WORK/data-secured" --listen 127.0.0.1:0 --config "$WORK/secured.toml" > "$WORK/serve-secured.log" 2>&1 &
SECURED_PID=$!
"$BIN" serve --data "$WORK/data-sync" --listen 127.0.0.1:0 > "$WORK/serve-sync.log" 2>&1 &
SYNC_PID=$!
# Subscriptions of test_correspondents.py deliver to a receiver on loopback: allowed here only.
"$BIN" serve --data "$WORK/data" --listen 127.0.0.1:0 --subscription-allow 127.0.0.1 > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
ADDRESS="$(logged_address "$WORK/serve.log" "$SERVER_PID")"
SECURED_ADDRESS="$(logged_address "$WORK/serve-secured.log" "$SECURED_PID")"
SYNC_ADDRESS="$(logged_address "$WORK/serve-sync.log" "$SYNC_PID")"
BASE_URL="http://$ADDRESS/fhir"
step "serve on $BASE_URL"
wait_for_server "$BASE_URL/metadata" "$SERVER_PID" "$WORK/serve.log"
wait_for_server "http://$SECURED_ADDRESS/fhir/metadata" "$SECURED_PID" "$WORK/serve-secured.log"
wait_for_server "http://$SYNC_ADDRESS/fhir/metadata" "$SYNC_PID" "$WORK/serve-sync.log"
export ANNUAIRE_SYNC_BASE_URL="http://$SYNC_ADDRESS/fhir"
export ANNUAIRE_SYNC_DATA="$WORK/data-sync"
export ANNUAIRE_DAY2_EXTRACTIONS="$WORK/extractions-day2"
export ANNUAIRE_BIN="$BIN"

export ANNUAIRE_SECURED_BASE_URL="http://$SECURED_ADDRESS/fhir"
export ANNUAIRE_SECURED_API_KEY="$SECURED_KEY"
export ANNUAIRE_SECURED_AUDIT="$WORK/audit.log"
export ANNUAIRE_BASE_URL="$BASE_URL"
export ANNUAIRE_EXTRACTIONS="$EXTRACTIONS"
export ANNUAIRE_SANTE_CACHE_DIR="$WORK/annuairesante-cache"   # the ANS client's code-label cache
export PYTHONDONTWRITEBYTECODE=1

# --- tests -------------------------------------------------------------------------------------
step "pytest tests/interop/test_*.py"
set +e
(cd "$HERE" && "$VENV/bin/python" -m pytest -p no:cacheprovider -q -rfE --tb=short \
    --junitxml="$WORK/pytest.xml" --ignore=node "$HERE")
PY_RC=$?
step "node --test tests/interop/node/test/*.test.mjs"
(cd "$HERE/node" && node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$WORK/node.xml" \
    test/*.test.mjs)
NODE_RC=$?
set -e
stop_server

# --- summary -----------------------------------------------------------------------------------
"$VENV/bin/python" - "$WORK/pytest.xml" "$PY_RC" "$WORK/node.xml" "$NODE_RC" <<'EOF'
import sys, xml.etree.ElementTree as ET

def count(path, rc, name):
    """(passed, failed, skipped) from a JUnit XML report; a runner that failed without a
    report counts as one failed check."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        print(f"interop: {name}: no readable report (exit {rc})")
        return 0, 1, 0
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    if rc != 0 and failed == 0:
        print(f"interop: {name} exited {rc} with no failed test case; counted as one failure")
        failed = 1
    print(f"interop: {name}: {passed} passed, {failed} failed, {skipped} skipped")
    return passed, failed, skipped

p1, f1, s1 = count(sys.argv[1], int(sys.argv[2]), "pytest")
p2, f2, s2 = count(sys.argv[3], int(sys.argv[4]), "node:test")
with open(sys.argv[1] + ".total", "w") as out:
    out.write(f"{p1 + p2} {f1 + f2}\n")
EOF
read -r PASSED FAILED < "$WORK/pytest.xml.total"
echo "$PASSED passed, $FAILED failed"
[[ "$FAILED" -eq 0 ]]
