#!/usr/bin/env bash
# Benchmark: a living directory at national size. Imports day 1 of the generated directory, then
# days 2..N into the same data directory (each day ~1 % of persons touched, the generator's
# default rates), reporting per import its wall time, peak RSS, the per-type change counts and
# the disk used (current generation, history segments); then serves the result and measures a
# full and a `_since` Bulk Data export (wall, MB/s) and `_history?_since` paging.
#
#   benches/sync.sh [persons] [days]      (defaults: 1500000 10)
#
# Each day's files are generated just before its import and deleted after it (a national day is
# ~2 GB of files).
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
days=${2:-10}
cargo build --release --quiet --workspace
bin="$release"/annuaire
generate="$release"/annuaire-generate
work=target/bench-data/sync-$persons
rm -rf "$work"
mkdir -p "$work"
data=$work/data
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM; $persons persons, $days days"

du_bytes() { du -sb "$1" 2>/dev/null | cut -f1; }
gib() { echo "scale=2; $1 / 1073741824" | bc; }

for day in $(seq 1 "$days"); do
  files=$work/files-day$day
  "$generate" --persons "$persons" --seed 42 --day "$day" --out "$files" > "$work/generate-$day.log"
  one() { ls "$files"/$1; }
  /usr/bin/time -f "%e %M" -o "$work/time-$day" \
    "$bin" import --rpps "$(one 'PS_LibreAcces_Personne_activite_*.txt')" \
      --finess "$files"/etalab-*.csv \
      --mssante "$(one 'Extraction_Correspondance_MSSante_*.txt')" \
      --savoir-faire "$(one 'PS_LibreAcces_SavoirFaire_*.txt')" \
      --diplomes "$(one 'PS_LibreAcces_Dipl_AutExerc_*.txt')" \
      --data "$data" > "$work/summary-$day.txt" 2> "$work/import-$day.log" \
    || { tail -n 20 "$work/import-$day.log"; exit 1; }
  read -r wall rss < "$work/time-$day"
  rm -rf "$files"
  current=$(cat "$data/CURRENT")
  generation=$(du_bytes "$data/generations/$current")
  history=$(du_bytes "$data/history" || echo 0)
  total=$(du_bytes "$data")
  echo "day $day: import ${wall} s, peak RSS $((rss / 1024)) MiB; disk: generation $(gib "$generation") GiB, history $(gib "${history:-0}") GiB, data directory $(gib "$total") GiB"
  grep -E "^  (Practitioner|PractitionerRole|Organization|HealthcareService|Device) " "$work/summary-$day.txt" | sed "s/^/    /"
  [ "$day" -eq 1 ] && echo "$generation" > "$work/generation-day1"
  jq -r '.last_updated' "$data/generations/$current/generation.json" > "$work/import-time-$day"
done
one_generation=$(cat "$work/generation-day1")
total=$(du_bytes "$data")
echo "after $days imports: data directory $(gib "$total") GiB = $(echo "scale=3; $total / $one_generation" | bc) x one generation (day 1: $(gib "$one_generation") GiB)"

# --- serve: exports and history ---------------------------------------------------------------
port=18383
"$bin" serve --data "$data" --listen 127.0.0.1:$port --workers 2 2> "$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/fhir/metadata" > /dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port/fhir"

export_run() { # label query
  local start location status bytes
  start=$(date +%s.%N)
  location=$(curl -sf -D - -o /dev/null -H 'Prefer: respond-async' "$base/\$export?$2" | awk 'tolower($1) == "content-location:" { print $2 }' | tr -d '\r')
  while :; do
    status=$(curl -s -o "$work/manifest.json" -w '%{http_code}' "$location")
    [ "$status" = 200 ] && break
    sleep 0.5
  done
  bytes=0
  for url in $(jq -r '.output[].url, .deleted[].url' "$work/manifest.json"); do
    bytes=$((bytes + $(curl -sf -o /dev/null -w '%{size_download}' "$url")))
  done
  local end elapsed
  end=$(date +%s.%N)
  elapsed=$(echo "$end - $start" | bc)
  echo "export $1: $(echo "scale=1; $elapsed / 1" | bc) s for $(gib $bytes) GiB ($(echo "scale=0; $bytes / 1048576 / $elapsed" | bc) MB/s), $(jq '[.output[].count] | add' "$work/manifest.json") resources, $(jq '[.deleted[].count] | add // 0' "$work/manifest.json") deletion bundles"
  curl -sf -X DELETE -o /dev/null "$location"
}
export_run "full" ""
# What the last import changed: _since the import before it.
export_run "_since the day before" "_since=$(cat "$work/import-time-$((days - 1))")"

# History paging: every entry of days 2..N (versions at or after one second past day 1's import).
since=$(date -u -d "@$(( $(date -u -d "$(cat "$work/import-time-1")" +%s) + 1 ))" +%Y-%m-%dT%H:%M:%SZ)
url="$base/_history?_since=$since&_count=1000"
start=$(date +%s.%N)
entries=0
pages=0
while [ -n "$url" ] && [ "$url" != null ]; do
  curl -sf "$url" > "$work/page.json"
  entries=$((entries + $(jq '.entry | length' "$work/page.json")))
  pages=$((pages + 1))
  url=$(jq -r '[.link[] | select(.relation == "next") | .url][0] // empty' "$work/page.json")
done
end=$(date +%s.%N)
elapsed=$(echo "$end - $start" | bc)
echo "_history?_since=$since: $entries entries in $pages pages, $(echo "scale=1; $elapsed / 1" | bc) s ($(echo "scale=0; $entries / $elapsed" | bc) entries/s)"
echo "serving RSS: $(awk '/VmRSS/ { print $2 " KiB" }' /proc/$server/status)"
