#!/usr/bin/env bash
# Benchmark: search shapes against the national-size store imported by benches/import.sh,
# with an actix-web hello-world (benches/hello_baseline.rs) measured in the same run.
# wrk (1 thread, 32 connections) and the servers share the machine's cores.
#
#   benches/search.sh [persons] [seconds]     (defaults: 1500000 15)
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
seconds=${2:-15}
work=target/bench-data/$persons
[ -d "$work/data" ] || { echo "run benches/import.sh $persons first"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --release --quiet
cargo bench --bench hello_baseline --no-run --quiet 2>/dev/null
port=18181
baseline_port=18282
"$release"/annuaire serve --data "$work/data" --listen 127.0.0.1:$port --workers 2 2>"$work/serve.log" &
server=$!
cargo bench --quiet --bench hello_baseline -- 127.0.0.1:$baseline_port >/dev/null 2>&1 &
baseline=$!
trap 'kill $server $baseline 2>/dev/null || true; pkill -f "hello_baseline.*$baseline_port" 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/fhir/metadata" >/dev/null && curl -sf "http://127.0.0.1:$baseline_port/" >/dev/null && break; sleep 0.1; done

rpps=$(ls "$work"/files/PS_LibreAcces_Personne_activite_*.txt)
finess=$(ls "$work"/files/etalab-cs1100507-*.csv)
idnps='urn:oid:1.2.250.1.71.4.2.1'
# Query paths, drawn from the files (every 97th row; distinct values).
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && n++ < 20000 { print "Practitioner?identifier=" s "|" $3 }' "$rpps" > "$work/q-identifier.txt"
awk -F'|' 'NR > 1 && NR % 97 == 0 && length($8) >= 3 && n++ < 20000 { print "Practitioner?family=" tolower(substr($8, 1, 3)) }' "$rpps" | LC_ALL=C grep -av "[^a-z?=A-Z]" > "$work/q-family.txt" || true
awk -F'|' 'NR > 1 && NR % 89 == 0 && length($8) >= 6 && n++ < 20000 { print "Practitioner?name:contains=" tolower(substr($8, 2, 4)) }' "$rpps" | LC_ALL=C grep -av "[^a-z?=:A-Z]" > "$work/q-contains.txt" || true
echo "Practitioner?active=true&_summary=count" > "$work/q-count.txt"
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && $24 != "" && n++ < 20000 { print "Practitioner?identifier=" s "|" $3 "&_revinclude=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization" }' "$rpps" > "$work/q-revinclude.txt"
awk -F';' 'NR > 1 && $1 == "structureet" && !seen[$16]++ && n++ < 5000 { city = substr($16, 7); gsub(/ CEDEX.*/, "", city); gsub(/ /, "%20", city); print "Organization?address-city=" city }' "$finess" > "$work/q-city.txt"
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && $24 != "" && n++ < 20000 { print "PractitionerRole?practitioner.identifier=" s "|" $3 }' "$rpps" > "$work/q-chain.txt"

rss() { awk '/VmRSS/ { print $2 " KiB" }' /proc/$server/status; }
measure() { # name url paths-file; a 3 s warm-up first (caches, lazily loaded indexes)
  READ_PATHS="$3" wrk -t1 -c32 -d3s -s benches/read.lua "$2" >/dev/null
  READ_PATHS="$3" wrk -t1 -c32 -d"${seconds}s" --latency -s benches/read.lua "$2" \
    | awk -v name="$1" '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } END { printf "| %-28s | %10s | %9s | %9s |\n", name, rps, p50, p99 }'
}
echo "| shape | req/s | p50 | p99 |"
echo "|---|---|---|---|"
echo "" > "$work/q-root.txt"
READ_PATHS="$work/q-root.txt" wrk -t1 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$baseline_port/" \
  | awk '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } END { printf "| %-28s | %10s | %9s | %9s |\n", "actix hello world (baseline)", rps, p50, p99 }'
measure "identifier lookup" "http://127.0.0.1:$port" "$work/q-identifier.txt"
measure "family prefix (3 letters)" "http://127.0.0.1:$port" "$work/q-family.txt"
measure "name:contains (4 letters)" "http://127.0.0.1:$port" "$work/q-contains.txt"
measure "_summary=count, 1.5M hits" "http://127.0.0.1:$port" "$work/q-count.txt"
measure "identifier+_revinclude+_include" "http://127.0.0.1:$port" "$work/q-revinclude.txt"
measure "organization by city" "http://127.0.0.1:$port" "$work/q-city.txt"
measure "chain practitioner.identifier" "http://127.0.0.1:$port" "$work/q-chain.txt"
echo "server RSS after the runs: $(rss)"
