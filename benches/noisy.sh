#!/usr/bin/env bash
# Benchmark: the noisy neighbour at national size. Serves the store imported by
# benches/import.sh (release build, 2 workers, no access control), then runs
# tests/noisy_neighbour.rs against it: each hostile request alone (the shapes that once took the
# server down, timed one by one), then 8 connections sending them while another caller looks
# practitioners up by identifier (errors, p50/p99) and the server's peak own memory (RssAnon;
# the mapped generation files are page cache, reported apart).
#
#   benches/noisy.sh [persons] [seconds]      (defaults: 1500000 60)
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-1500000}
seconds=${2:-60}
release=${CARGO_TARGET_DIR:-target}/release
work=target/bench-data/$persons
[ -d "$work/data" ] || { echo "run benches/import.sh $persons first"; exit 1; }
cargo build --release --quiet --workspace
cargo test --release --quiet --test noisy_neighbour --no-run 2>/dev/null
port=18484
"$release/annuaire" serve --data "$work/data" --listen 127.0.0.1:$port --workers 2 2>"$work/serve-noisy.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/fhir/metadata" >/dev/null && break; sleep 0.1; done
memory() { awk '/RssAnon/ { anon = $2 } /RssFile/ { file = $2 } END { printf "%d MiB own, %d MiB of mapped generation files", anon / 1024, file / 1024 }' /proc/$server/status; }
echo "machine: $(nproc) cores; server memory at start: $(memory)"
ANNUAIRE_NOISY_BASE="http://127.0.0.1:$port" ANNUAIRE_NOISY_PID=$server ANNUAIRE_NOISY_SECONDS=$seconds \
  cargo test --release --quiet --test noisy_neighbour -- --nocapture 2>&1 | grep -v "^running\|^$\|test result"
echo "server memory at the end: $(memory)"
