#!/usr/bin/env bash
# Benchmark: reads by id against the national-size store imported by benches/import.sh, with
# GET /fhir/metadata (same server, no store access) as the baseline measured in the same run.
# Reports requests/s and latency from wrk (wrk and the server share the machine's cores), the
# server's RSS and the store's disk use.
#
#   benches/read.sh [persons] [seconds]     (defaults: 1500000 15)
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
seconds=${2:-15}
work=target/bench-data/$persons
[ -d "$work/data" ] || { echo "run benches/import.sh $persons first"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --release --quiet --workspace
port=18181
"$release"/annuaire serve --data "$work/data" --listen 127.0.0.1:$port --workers 2 2>"$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/fhir/metadata" >/dev/null && break; sleep 0.1; done

# 20 000 Practitioner ids and 20 000 Organization ids drawn from the files.
rpps=$(ls "$work"/files/PS_LibreAcces_Personne_activite_*.txt)
awk -F'|' 'NR > 1 && NR % 97 == 0 && n++ < 20000 { print "Practitioner/pp-" $3 "-" $10 }' "$rpps" > "$work/paths-practitioner.txt"
awk -F'|' 'NR > 1 && $22 != "" && !seen[$22]++ && n++ < 20000 { print "Organization/eg-" $22 }' "$rpps" > "$work/paths-organization.txt"
echo "/metadata" | sed 's|^/||' > "$work/paths-metadata.txt"
rss() { awk '/VmRSS/ { print $2 " KiB" }' /proc/$server/status; }
echo "server RSS after start: $(rss)"
echo "store on disk: $(du -sh "$work"/data/generations/*/db | cut -f1) sled index, $(du -sh "$work"/data/generations/*/resources.json.bin | cut -f1) resource data"
for kind in metadata practitioner organization; do
  READ_PATHS="$work/paths-$kind.txt" wrk -t1 -c32 -d"${seconds}s" --latency -s benches/read.lua "http://127.0.0.1:$port" \
    | awk -v kind="$kind" '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } END { printf "%-13s %10s req/s   p50 %-8s p99 %s\n", kind, rps, p50, p99 }'
done
echo "server RSS after the runs: $(rss)"
