#!/usr/bin/env bash
# Benchmark: $validate, with an actix-web hello-world (benches/hello_baseline.rs) measured in the
# same run. The resources are the validation corpus's (tests/fixtures/validation): a valid
# Practitioner (the largest, with its MSSanté mailbox and six qualifications) and Organization,
# a Practitioner with one fault, the Practitioner posted as FHIR XML, and the stored
# Practitioners validated at instance level (GET [type]/[id]/$validate) on the national store
# imported by benches/import.sh.
#
#   benches/validate.sh [persons] [seconds]     (defaults: 1500000 15)
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
seconds=${2:-15}
work=target/bench-data/$persons
corpus=tests/fixtures/validation
[ -d "$work/data" ] || { echo "run benches/import.sh $persons first"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --release --quiet --workspace
cargo bench --bench hello_baseline --no-run --quiet 2>/dev/null
port=18181
baseline_port=18282
cargo bench --quiet --bench hello_baseline -- 127.0.0.1:$baseline_port >/dev/null 2>&1 &
baseline=$!
"$release/annuaire" serve --data "$work/data" --listen 127.0.0.1:$port --workers 2 2>"$work/serve.log" &
server=$!
trap 'kill $server $baseline 2>/dev/null || true; pkill -f "hello_baseline.*$baseline_port" 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$baseline_port/" >/dev/null && break; sleep 0.1; done
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/fhir/metadata" >/dev/null && break; sleep 0.1; done

row() { # name: wrk's report on stdin -> one table row
  awk -v name="$1" '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } END { printf "| %-36s | %10s | %9s | %9s |\n", name, rps, p50, p99 }'
}
# name path body content-type: a 3 s warm-up, then the measure
post() {
  VALIDATE_PATH="$2" VALIDATE_BODY="$3" VALIDATE_TYPE="$4" wrk -t1 -c32 -d3s -s benches/validate.lua "http://127.0.0.1:$port" >/dev/null
  VALIDATE_PATH="$2" VALIDATE_BODY="$3" VALIDATE_TYPE="$4" wrk -t1 -c32 -d"${seconds}s" --latency -s benches/validate.lua "http://127.0.0.1:$port" | row "$1"
}
# The stored Practitioners of the first pages of a search, as instance-level $validate paths.
curl -sf "http://127.0.0.1:$port/fhir/Practitioner?family=mar&_count=1000&_elements=id" \
  | python3 -c 'import json, sys; [print("Practitioner/" + e["resource"]["id"] + "/$validate") for e in json.load(sys.stdin)["entry"]]' \
  > "$work/q-validate-stored.txt"

echo "wrk, 1 thread, 32 connections, ${seconds} s per shape"
echo
echo "| shape | req/s | p50 | p99 |"
echo "|---|---|---|---|"
wrk -t1 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$baseline_port/" | row "actix hello world (baseline)"
post "Practitioner, valid (JSON)" 'Practitioner/$validate' "$corpus/good/server-Practitioner-rpps.json" application/fhir+json
post "Practitioner, one fault (JSON)" 'Practitioner/$validate' "$corpus/bad/practitioner-unknown-root.json" application/fhir+json
post "Organization, valid (JSON)" 'Organization/$validate' "$corpus/good/server-Organization-eg.json" application/fhir+json
post "Practitioner, valid (XML)" 'Practitioner/$validate' "$corpus/xml/server-Practitioner-rpps.xml" application/fhir+xml
READ_PATHS="$work/q-validate-stored.txt" wrk -t1 -c32 -d3s -s benches/read.lua "http://127.0.0.1:$port" >/dev/null
READ_PATHS="$work/q-validate-stored.txt" wrk -t1 -c32 -d"${seconds}s" --latency -s benches/read.lua "http://127.0.0.1:$port" | row "stored Practitioner (GET .../\$validate)"
echo
awk '/VmHWM/ { printf "server peak resident memory: %d MiB\n", $2 / 1024 }' /proc/$server/status
