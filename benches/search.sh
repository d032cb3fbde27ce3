#!/usr/bin/env bash
# Benchmark: search shapes against the national-size store imported by benches/import.sh,
# with an actix-web hello-world (benches/hello_baseline.rs) measured in the same run.
# wrk (1 thread, 32 connections, then 1 connection alone for latency) and the servers share
# the machine's cores. Settings reach the server through ANNUAIRE_* variables, e.g.
# ANNUAIRE_LIMITS__MAX_RUNNING_SEARCHES=1024 benches/search.sh to compare with limits lifted.
#
#   benches/search.sh [persons] [seconds]     (defaults: 1500000 15)
#
# To compare two builds in the same run, name the other binary in COMPARE_WITH: every shape is
# then measured on the other build's server, then on this build's, in turn, on the same store
# (both must read its layout), after the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
seconds=${2:-15}
work=target/bench-data/$persons
[ -d "$work/data" ] || { echo "run benches/import.sh $persons first"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --release --quiet --workspace
cargo bench --bench hello_baseline --no-run --quiet 2>/dev/null
port=18181
baseline_port=18282
server=
cargo bench --quiet --bench hello_baseline -- 127.0.0.1:$baseline_port >/dev/null 2>&1 &
baseline=$!
trap 'kill $server $baseline 2>/dev/null || true; pkill -f "hello_baseline.*$baseline_port" 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$baseline_port/" >/dev/null && break; sleep 0.1; done
# start_server BINARY: serves the store and waits until it answers.
start_server() {
  "$1" serve --data "$work/data" --listen 127.0.0.1:$port --workers 2 2>"$work/serve.log" &
  server=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/fhir/metadata" >/dev/null && return; sleep 0.1; done
  echo "the server did not start:"; cat "$work/serve.log"; exit 1
}
stop_server() {
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=
}

rpps=$(ls "$work"/files/PS_LibreAcces_Personne_activite_*.txt)
finess=$(ls "$work"/files/etalab-cs1100507-*.csv)
heavy_equipment=$(ls "$work"/files/etalab-cs1100504-*.csv)
activities=$(ls "$work"/files/etalab-cs1100503-*.csv)
idnps='urn:oid:1.2.250.1.71.4.2.1'
# Query paths, drawn from the files (every 97th row; distinct values).
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && n++ < 20000 { print "Practitioner?identifier=" s "|" $3 }' "$rpps" > "$work/q-identifier.txt"
awk -F'|' 'NR > 1 && NR % 97 == 0 && length($8) >= 3 && n++ < 20000 { print "Practitioner?family=" tolower(substr($8, 1, 3)) }' "$rpps" | LC_ALL=C grep -av "[^a-z?=A-Z]" > "$work/q-family.txt" || true
awk -F'|' 'NR > 1 && NR % 89 == 0 && length($8) >= 6 && n++ < 20000 { print "Practitioner?name:contains=" tolower(substr($8, 2, 4)) }' "$rpps" | LC_ALL=C grep -av "[^a-z?=:A-Z]" > "$work/q-contains.txt" || true
echo "Practitioner?active=true&_summary=count" > "$work/q-count.txt"
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && $24 != "" && n++ < 20000 { print "Practitioner?identifier=" s "|" $3 "&_revinclude=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization" }' "$rpps" > "$work/q-revinclude.txt"
awk -F';' 'NR > 1 && $1 == "structureet" && !seen[$16]++ && n++ < 5000 { city = substr($16, 7); gsub(/ CEDEX.*/, "", city); gsub(/ /, "%20", city); if (city != "") print "Organization?address-city=" city }' "$finess" > "$work/q-city.txt"
awk -F'|' -v s="$idnps" 'NR > 1 && NR % 97 == 0 && $24 != "" && n++ < 20000 { print "PractitionerRole?practitioner.identifier=" s "|" $3 }' "$rpps" > "$work/q-chain.txt"
# The FINESS types: scanners and MRI by the département (postcode prefix) of their establishment
# (a chain), healthcare activities by type (TRE_R274 code), and establishments with their
# activities (a _revinclude from Organization).
awk -F';' '$1 == "structureet" { dept = substr($16, 1, 2); if (dept ~ /^[0-9][0-9]$/ && !seen[dept]++) for (t = 0; t < 2; t++) print "Device?type=" (t ? "05701" : "05602") "&organization.address-postalcode=" dept }' "$heavy_equipment" > "$work/q-device-dept.txt"
awk -F';' '$1 == "activiteoffresoin" && !seen[$4]++ { print "HealthcareService?service-type=" $4 }' "$activities" > "$work/q-service-type.txt"
awk -F';' '$1 == "structureet" && n++ < 5000 { print "Organization?_id=eg-" $2 "&_revinclude=HealthcareService:organization" }' "$activities" > "$work/q-org-services.txt"

# Resident memory in two parts: the server's own (anonymous) memory, and the pages of the
# generation's files it maps, which are the kernel's page cache and are given back under pressure.
rss() { awk '/RssAnon/ { anon = $2 } /RssFile/ { file = $2 } END { printf "%d MiB own memory, %d MiB of mapped generation files (page cache)", anon / 1024, file / 1024 }' /proc/$server/status; }
row() { # name: wrk's report on stdin -> one table row
  awk -v name="$1" '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } END { printf "| %-31s | %10s | %9s | %9s |\n", name, rps, p50, p99 }'
}
# name paths-file connections; a 3 s warm-up first (caches, lazily loaded indexes)
measure() {
  READ_PATHS="$2" wrk -t1 -c"$3" -d3s -s benches/read.lua "http://127.0.0.1:$port" >/dev/null
  READ_PATHS="$2" wrk -t1 -c"$3" -d"${seconds}s" --latency -s benches/read.lua "http://127.0.0.1:$port" | row "$1"
}
shapes=(
  "identifier lookup|$work/q-identifier.txt"
  "family prefix (3 letters)|$work/q-family.txt"
  "name:contains (4 letters)|$work/q-contains.txt"
  "_summary=count, 1.5M hits|$work/q-count.txt"
  "identifier+_revinclude+_include|$work/q-revinclude.txt"
  "organization by city|$work/q-city.txt"
  "chain practitioner.identifier|$work/q-chain.txt"
  "Device type + owner's postcode|$work/q-device-dept.txt"
  "HealthcareService?service-type|$work/q-service-type.txt"
  "Organization+_revinclude HS|$work/q-org-services.txt"
)
# tables LABEL: every shape under load, then alone, on the server running.
tables() {
  echo "Under load ($1): wrk, 1 thread, 32 connections, ${seconds} s per shape"
  echo
  echo "| shape | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  for shape in "${shapes[@]}"; do measure "${shape%%|*}" "${shape#*|}" 32; done
  echo
  echo "One connection alone ($1): wrk, 1 thread, 1 connection, ${seconds} s per shape"
  echo
  echo "| shape | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  for shape in "${shapes[@]}"; do measure "${shape%%|*}" "${shape#*|}" 1; done
  echo
  echo "server resident memory after the runs ($1): $(rss)"
  echo
}
echo "| baseline | req/s | p50 | p99 |"
echo "|---|---|---|---|"
wrk -t1 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$baseline_port/" | row "actix hello world (baseline)"
echo
rounds=${ROUNDS:-$([ -n "${COMPARE_WITH:-}" ] && echo 2 || echo 1)}
for round in $(seq 1 "$rounds"); do
  if [ -n "${COMPARE_WITH:-}" ]; then
    start_server "$COMPARE_WITH"
    tables "other build, round $round"
    stop_server
  fi
  start_server "$release/annuaire"
  tables "this build, round $round"
  stop_server
done
