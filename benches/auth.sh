#!/usr/bin/env bash
# Benchmark: identifier lookup with a valid JWT against the same lookup unauthenticated, on the
# national-size store imported by benches/import.sh. The data directory can be served by one
# server at a time, so the open and the authenticated servers alternate, the order swapped every
# round (open then JWT, JWT then open, ...), each measured after a warm-up; the report gives
# every round and the medians. wrk runs on the same 2 cores: it pays for the longer requests too.
#
#   benches/auth.sh [persons] [seconds] [rounds]     (defaults: 1500000 10 6)
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
seconds=${2:-10}
rounds=${3:-6}
work=target/bench-data/$persons
[ -d "$work/data" ] || { echo "run benches/import.sh $persons first"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --release --quiet --workspace
fixture=$work/auth
rm -rf "$fixture"
cargo bench --quiet --bench jwt_fixture -- "$fixture" >/dev/null
port=18183
rpps=$(ls "$work"/files/PS_LibreAcces_Personne_activite_*.txt)
idnps='urn:oid:1.2.250.1.71.4.2.1'
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && n++ < 20000 { print "Practitioner?identifier=" s "|" $3 }' "$rpps" > "$work/q-identifier.txt"

server=
stop() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; server=; }
trap stop EXIT
start() { # extra serve arguments...
  "$release"/annuaire serve --data "$work/data" --listen 127.0.0.1:$port --workers 2 "$@" 2>>"$work/serve-auth.log" &
  server=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/fhir/metadata" >/dev/null && return; sleep 0.1; done
  echo "the server did not start; see $work/serve-auth.log"; exit 1
}
run() { # authorization-header -> req/s p50 p99
  READ_AUTHORIZATION="$1" READ_PATHS="$work/q-identifier.txt" wrk -t1 -c32 -d3s -s benches/read.lua "http://127.0.0.1:$port" >/dev/null
  READ_AUTHORIZATION="$1" READ_PATHS="$work/q-identifier.txt" wrk -t1 -c32 -d"${seconds}s" --latency -s benches/read.lua "http://127.0.0.1:$port" \
    | awk '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } /Non-2xx/ { bad = $4 } END { printf "%s %s %s %s\n", rps, p50, p99, bad + 0 }'
}
full="Bearer $(cat "$fixture/token-full")"
redacted="Bearer $(cat "$fixture/token-redacted")"
# A token is checked once before measuring: a refused one would measure 401s.
start --config "$fixture/annuaire.toml"
curl -sf -H "Authorization: $full" "http://127.0.0.1:$port/fhir/$(head -1 "$work/q-identifier.txt")" >/dev/null \
  || { echo "the benchmark token is refused"; exit 1; }
stop
echo "| round | open req/s | open p99 | JWT req/s | JWT p99 | JWT/open | JWT, redacted req/s | redacted p99 |"
echo "|---|---|---|---|---|---|---|---|"
measure_open() { start; read -r open_rps _ open_p99 _ < <(run ""); stop; }
measure_jwt() {
  start --config "$fixture/annuaire.toml"
  read -r jwt_rps _ jwt_p99 jwt_bad < <(run "$full")
  read -r red_rps _ red_p99 red_bad < <(run "$redacted")
  stop
  [ "$jwt_bad" = 0 ] && [ "$red_bad" = 0 ] || { echo "non-2xx answers during the JWT runs"; exit 1; }
}
: > "$work/auth-rounds.txt"
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then measure_open; measure_jwt; else measure_jwt; measure_open; fi
  ratio=$(awk -v a="$jwt_rps" -v b="$open_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
  echo "$open_rps $jwt_rps $red_rps $ratio" >> "$work/auth-rounds.txt"
  echo "| $round | $open_rps | $open_p99 | $jwt_rps | $jwt_p99 | $ratio % | $red_rps | $red_p99 |"
done
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
open_median=$(cut -d' ' -f1 "$work/auth-rounds.txt" | median)
jwt_median=$(cut -d' ' -f2 "$work/auth-rounds.txt" | median)
red_median=$(cut -d' ' -f3 "$work/auth-rounds.txt" | median)
ratio_median=$(cut -d' ' -f4 "$work/auth-rounds.txt" | median)
echo "| median | $open_median | | $jwt_median | | $ratio_median % (ratio of medians $(awk -v a="$jwt_median" -v b="$open_median" 'BEGIN { printf "%.1f", 100 * a / b }') %) | $red_median | |"
