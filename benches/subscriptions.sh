#!/usr/bin/env bash
# Benchmark: subscriptions at national size (issue #27). On its own copy of a day-1 store, with
# N subscriptions created over HTTP (a third filtering on practitioners by id, a third on the
# members of lists of 500, a third on the organizations of a département by postcode prefix),
# all delivering to one local rest-hook receiver (benches/subscriptions_receiver.py), a day-2
# import (~1 % churn, the generator's rates) goes into the served directory, and the script
# reports the time from the switch to the last notification delivered, the server's memory
# before and after, and search throughput (wrk, as benches/search.sh) while it delivers
# against the same search with nothing to deliver.
#
#   benches/subscriptions.sh [persons] [subscriptions] [seconds]   (defaults: 1500000 10000 15)
#
# Needs benches/import.sh [persons] first (target/bench-data/<persons>); small runs
# (benches/subscriptions.sh 20000 300 3) build their own day 1 when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-1500000}
subscriptions=${2:-10000}
seconds=${3:-15}
profile=${BENCH_PROFILE:-release}
bin_dir=${CARGO_TARGET_DIR:-target}/$profile
work=target/bench-data/$persons
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
if [ "$profile" = release ]; then cargo build --release --quiet --workspace; else cargo build --quiet --workspace; fi
bin=$bin_dir/annuaire
generate=$bin_dir/annuaire-generate
run=$work/subscriptions
rm -rf "$run"; mkdir -p "$run"
import_day() { # day data
  local files=$run/files-day$1
  "$generate" --persons "$persons" --seed 42 --day "$1" --out "$files" > "$run/generate-$1.log"
  one() { ls "$files"/$1; }
  "$bin" import --rpps "$(one 'PS_LibreAcces_Personne_activite_*.txt')" --finess "$files"/etalab-*.csv \
    --mssante "$(one 'Extraction_Correspondance_MSSante_*.txt')" \
    --savoir-faire "$(one 'PS_LibreAcces_SavoirFaire_*.txt')" \
    --diplomes "$(one 'PS_LibreAcces_Dipl_AutExerc_*.txt')" \
    --data "$2" > "$run/summary-$1.txt" 2> "$run/import-$1.log" || { tail -n 20 "$run/import-$1.log"; exit 1; }
  rm -rf "$files"
}
# The served directory: a copy of day 1's generation (the store of benches/import.sh stays as
# it is), or day 1 imported here.
if [ -d "$work/data" ]; then
  "$bin" copy-generation --from "$work/data" --to "$run/data" > /dev/null
else
  import_day 1 "$run/data"
fi
port=18383
receiver_port=18384
server=
receiver=
trap 'kill $server $receiver 2>/dev/null || true' EXIT
python3 benches/subscriptions_receiver.py serve "$receiver_port" "$run/received.jsonl" &
receiver=$!
"$bin" serve --data "$run/data" --listen 127.0.0.1:$port --workers 2 \
  --subscription-allow 127.0.0.1 2> "$run/serve.log" &
server=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/fhir/metadata" > /dev/null && break; sleep 0.1; done
rss() { awk '/RssAnon/ { anon = $2 } /RssFile/ { file = $2 } END { printf "%d MiB own memory, %d MiB of mapped generation files", anon / 1024, file / 1024 }' /proc/$server/status; }
base=http://127.0.0.1:$port/fhir
started=$(date +%s.%N)
python3 benches/subscriptions_receiver.py subscribe "$base" "http://127.0.0.1:$receiver_port/hook" "$subscriptions"
echo "created $subscriptions subscriptions (and their lists) in $(echo "$(date +%s.%N) - $started" | bc) s; all active"
echo "server before the import: $(rss)"
# Search throughput with nothing to deliver.
echo "Practitioner?family=mar" > "$run/q.txt"
throughput() { READ_PATHS="$run/q.txt" wrk -t1 -c32 -d"${seconds}s" -s benches/read.lua "http://127.0.0.1:$port" | awk '/Requests\/sec/ { print $2 }'; }
echo "search throughput, idle: $(throughput) requests/s"
: > "$run/received.jsonl"
generation_before=$(curl -sf "http://127.0.0.1:$port/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"]["id"])')
import_day 2 "$run/data"
# Timed from the end of the import: the server switches within 2 s of it (its watcher's
# period), and may have delivered before a poll here could see the switch.
switched=$(date +%s.%N)
while [ "$(curl -sf "http://127.0.0.1:$port/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"]["id"])')" = "$generation_before" ]; do sleep 0.05; done
echo "switched; search throughput while delivering: $(throughput) requests/s"
python3 benches/subscriptions_receiver.py wait "$base" "$run/received.jsonl" "$switched"
echo "server after delivering: $(rss)"
