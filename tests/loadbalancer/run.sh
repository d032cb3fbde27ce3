#!/usr/bin/env bash
# Three replicas behind HAProxy, configured by docs/haproxy.cfg (Debian's package, installed
# here if missing):
#
#   tests/loadbalancer/run.sh [directory holding annuaire and annuaire-generate]
#
# 1. Replicas 1 and 2 each import the same generated files; replica 3 receives a copy of
#    replica 1's generation (`annuaire copy-generation`). All share one cursor key.
# 2. A client pages through 5 000+ results through the balancer, each page from the next
#    replica, and gets exactly what one replica alone answers (tests/loadbalancer/client.py).
#    A Bulk Data export started through the balancer is polled and downloaded through it (its
#    job id routes those requests to the replica running it).
# 3. Rolling re-import under constant traffic: one replica at a time is stopped with SIGTERM
#    (its /readyz turns 503 and HAProxy takes it out), imports day 2, restarts, and rejoins once
#    ready. No request may fail; no paging walk may lose or repeat an entry.
# 4. A live switch (day 3 imported into a running replica, then copied into the others):
#    sorted walks through the balancer complete while the replicas disagree.
# The replicas run with --replica; a writer (its own copy of day 1, --instance writer) keeps the
# lists and subscriptions: after step 2, lists, subscriptions and `_list` searches sent
# through the balancer must reach it, and the replicas must answer them 421 (client.py
# correspondents); so must sign-in and every request carrying a sign-in session's cookie, where
# the session lives (client.py sessions).
#
# Prints its results; exits non-zero if anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN_DIR="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
BIN="$BIN_DIR/annuaire"
GENERATE="$BIN_DIR/annuaire-generate"
PERSONS="${ANNUAIRE_LB_PERSONS:-4000}"
PYTHON="${PYTHON:-python3}"
for binary in "$BIN" "$GENERATE"; do
    [[ -x "$binary" ]] || { echo "loadbalancer: $binary not found (cargo build --workspace)" >&2; exit 2; }
done

if ! command -v haproxy >/dev/null; then
    echo "loadbalancer: installing haproxy (Debian package)"
    SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    $SUDO apt-get install -y -q haproxy >/dev/null 2>&1 \
        || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q haproxy >/dev/null; }
fi
# sed reads the whole output: `head -1` would close the pipe early and, under pipefail, the
# SIGPIPE haproxy gets when it writes its second line would fail the run (exit 141).
haproxy -v | sed -n 1p

WORK="$(mktemp -d "${TMPDIR:-/tmp}/annuaire-lb.XXXXXX")"
declare -a PIDS=("" "" "" "" "")
HAPROXY_PID=""
TRAFFIC_PID=""
cleanup() {
    [[ -n "$TRAFFIC_PID" ]] && kill "$TRAFFIC_PID" 2>/dev/null || true
    [[ -n "$HAPROXY_PID" ]] && kill "$HAPROXY_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The address a replica started with `--listen 127.0.0.1:0` took (its own choice: no port is
# picked beforehand, which another process could take meanwhile), from its first log line
# "... at http://ADDRESS/fhir".
logged_address() { # log pid
    local address=""
    for _ in $(seq 1 600); do
        address="$(sed -n 's|.* at http://\([^/ ]*\)/fhir.*|\1|p' "$1" | sed -n 1p)"
        if [[ -n "$address" ]]; then
            echo "$address"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || { cat "$1" >&2; echo "loadbalancer: a replica exited before saying where it listens" >&2; return 2; }
        sleep 0.1
    done
    cat "$1" >&2
    echo "loadbalancer: a replica never said where it listens" >&2
    return 2
}
wait_ready() { # url seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "loadbalancer: $1 never answered 200" >&2
    return 1
}
import_day() { # day data-dir
    local files="$WORK/day$1"
    "$BIN" import --data "$2" --cache-mb 16 --workers 2 \
        --rpps "$files"/PS_LibreAcces_Personne_activite_*.txt --finess "$files"/etalab-*.csv \
        --mssante "$files"/Extraction_Correspondance_MSSante_*.txt \
        --savoir-faire "$files"/PS_LibreAcces_SavoirFaire_*.txt \
        --diplomes "$files"/PS_LibreAcces_Dipl_AutExerc_*.txt >"$WORK/import-$1-$(basename "$2").log" 2>&1
}

"$GENERATE" --persons "$PERSONS" --seed 31 --day 1 --out "$WORK/day1" >/dev/null
"$GENERATE" --persons "$PERSONS" --seed 31 --day 2 --out "$WORK/day2" >/dev/null
head -c 32 /dev/urandom >"$WORK/cursor.key"
import_day 1 "$WORK/replica1"
import_day 1 "$WORK/replica2"
"$BIN" copy-generation --from "$WORK/replica1" --to "$WORK/replica3"
"$BIN" copy-generation --from "$WORK/replica1" --to "$WORK/writer"

# A replica starts on a port of its own choosing (127.0.0.1:0), and restarts on the address it
# had (freed by its own exit): HAProxy's list of backends does not change during a rolling
# restart.
declare -a ADDRESSES=("" "127.0.0.1:0" "127.0.0.1:0" "127.0.0.1:0" "127.0.0.1:0")
start_replica() { # n
    "$BIN" serve --data "$WORK/replica$1" --listen "${ADDRESSES[$1]}" --cache-mb 16 --workers 2 \
        --cursor-key-file "$WORK/cursor.key" --trusted-proxy 127.0.0.1 --instance "replica$1" \
        --replica --drain-notice-seconds 2 --drain-timeout-seconds 20 >>"$WORK/replica$1.log" 2>&1 &
    PIDS[$1]=$!
    [[ "${ADDRESSES[$1]}" == *:0 ]] && ADDRESSES[$1]="$(logged_address "$WORK/replica$1.log" "${PIDS[$1]}")"
    wait_ready "http://${ADDRESSES[$1]}/readyz" 60
}
for n in 1 2 3; do start_replica "$n"; done
# The writer (slot 4): the only server keeping lists and subscriptions.
"$BIN" serve --data "$WORK/writer" --listen "${ADDRESSES[4]}" --cache-mb 16 --workers 2 \
    --cursor-key-file "$WORK/cursor.key" --trusted-proxy 127.0.0.1 --instance writer \
    >>"$WORK/writer.log" 2>&1 &
PIDS[4]=$!
ADDRESSES[4]="$(logged_address "$WORK/writer.log" "${PIDS[4]}")"
wait_ready "http://${ADDRESSES[4]}/readyz" 60
export ANNUAIRE_WRITER="${ADDRESSES[4]}"
export ANNUAIRE_REPLICA_1="${ADDRESSES[1]}"
export ANNUAIRE_REPLICA_2="${ADDRESSES[2]}"
export ANNUAIRE_REPLICA_3="${ADDRESSES[3]}"

# HAProxy cannot bind port 0. It is started on a random port below the kernel's ephemeral range
# (which port-0 servers take from), and on another if that one is taken: it then says it cannot
# bind and exits. It is up when an answer comes through it (its X-Served-By header), not from
# whatever else may listen there.
start_haproxy() {
    for _ in $(seq 1 20); do
        LB_PORT=$(( 20000 + RANDOM % 12000 ))
        export ANNUAIRE_LB_BIND="127.0.0.1:$LB_PORT"
        haproxy -c -f "$ROOT/docs/haproxy.cfg" >/dev/null
        haproxy -db -f "$ROOT/docs/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
        HAPROXY_PID=$!
        for _ in $(seq 1 100); do
            if ! kill -0 "$HAPROXY_PID" 2>/dev/null; then
                wait "$HAPROXY_PID" 2>/dev/null || true
                HAPROXY_PID=""
                break
            fi
            if curl -sf -o /dev/null -D - "http://127.0.0.1:$LB_PORT/fhir/metadata" 2>/dev/null | grep -i '^x-served-by:' >/dev/null; then
                return 0
            fi
            sleep 0.1
        done
        [[ -n "$HAPROXY_PID" ]] && { cat "$WORK/haproxy.log" >&2; echo "loadbalancer: HAProxy runs but does not answer" >&2; exit 1; }
    done
    echo "loadbalancer: HAProxy found no port to bind" >&2
    exit 1
}
start_haproxy
LB="http://127.0.0.1:$LB_PORT"
wait_ready "$LB/readyz" 10 2>/dev/null || wait_ready "$LB/fhir/metadata" 10
sleep 1.5 # two health checks: every replica is up

"$PYTHON" "$HERE/client.py" paging "$LB" "http://${ADDRESSES[1]}"
"$PYTHON" "$HERE/client.py" export "$LB"
"$PYTHON" "$HERE/client.py" correspondents "$LB" "http://${ADDRESSES[1]}"
"$PYTHON" "$HERE/client.py" sessions "$LB"
"$PYTHON" "$HERE/client.py" ids "http://${ADDRESSES[1]}" "$WORK/day1-ids.json"

# Rolling re-import under constant traffic.
"$PYTHON" "$HERE/client.py" traffic "$LB" "$WORK/stop" "$WORK/traffic.json" &
TRAFFIC_PID=$!
sleep 2
for n in 1 2 3; do
    kill -TERM "${PIDS[$n]}"
    wait "${PIDS[$n]}" || { echo "loadbalancer: replica $n did not exit 0 after SIGTERM" >&2; exit 1; }
    PIDS[$n]=""
    if [[ "$n" == 3 ]]; then
        "$BIN" copy-generation --from "$WORK/replica1" --to "$WORK/replica3" >/dev/null
    else
        import_day 2 "$WORK/replica$n"
    fi
    start_replica "$n"
    sleep 1.5 # HAProxy sees it ready (rise 2 × 500 ms) before the next one stops
    echo "rolling re-import: replica $n serves day 2"
done
sleep 2
touch "$WORK/stop"
wait "$TRAFFIC_PID"
TRAFFIC_PID=""
"$PYTHON" "$HERE/client.py" ids "http://${ADDRESSES[2]}" "$WORK/day2-ids.json"
"$PYTHON" "$HERE/client.py" check "$WORK/traffic.json" "$WORK/day1-ids.json" "$WORK/day2-ids.json"
# The three replicas serve the same generation.
generation() { curl -sf "http://${ADDRESSES[$1]}/readyz" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["generation"]["id"])'; }
ids=$(for n in 1 2 3; do generation "$n"; done | sort -u | wc -l)
[[ "$ids" == 1 ]] || { echo "loadbalancer: the replicas serve different generations after the rolling re-import" >&2; exit 1; }

# 4. A live switch, no restart: day 3 imported into replica 1 while it serves. Sorted walks
#    through the balancer meanwhile: pages of day 3 that reach replicas 2 and 3 are answered
#    503 there and retried on replica 1; pages of day 2 are served by replica 1 from the
#    generation it keeps open after the switch. Then replicas 2 and 3 receive copies, live.
"$GENERATE" --persons "$PERSONS" --seed 31 --day 3 --out "$WORK/day3" >/dev/null
day2_generation=$(generation 1)
import_day 3 "$WORK/replica1"
for _ in $(seq 100); do [[ "$(generation 1)" != "$day2_generation" ]] && break; sleep 0.1; done
[[ "$(generation 1)" != "$day2_generation" ]] || { echo "loadbalancer: replica 1 never switched to day 3" >&2; exit 1; }
"$PYTHON" "$HERE/client.py" sorted "$LB" "http://${ADDRESSES[1]}" "http://${ADDRESSES[2]}"
retried=$(curl -sf "http://${ADDRESSES[2]}/metrics" "http://${ADDRESSES[3]}/metrics" \
    | awk '/^annuaire_http_requests_total\{.*status="503"/ { n += $2 } END { print n + 0 }')
echo "live switch: $retried sorted pages of day 3 answered 503 by replicas 2 and 3, and retried by HAProxy"
[[ "$retried" -gt 0 ]] || { echo "loadbalancer: no page reached a replica that had not switched: the retry path was not exercised" >&2; exit 1; }
for n in 2 3; do "$BIN" copy-generation --from "$WORK/replica1" --to "$WORK/replica$n" >/dev/null; done
for _ in $(seq 100); do [[ "$(for n in 1 2 3; do generation "$n"; done | sort -u | wc -l)" == 1 ]] && break; sleep 0.1; done
[[ "$(for n in 1 2 3; do generation "$n"; done | sort -u | wc -l)" == 1 ]] || { echo "loadbalancer: replicas 2 and 3 did not switch to their copies" >&2; exit 1; }
echo "live switch: replicas 2 and 3 serve the copy of day 3 without a restart"
echo "loadbalancer: all checks passed"
