#!/usr/bin/env bash
# Benchmark: 1, 2 and 3 replicas of the national store behind HAProxy (docs/haproxy.cfg), with
# one replica alone and an actix-web hello-world measured in the same run. Everything (wrk,
# HAProxy, the replicas) shares this machine's cores, so the figures show the balancer's cost
# and that replicas do not interfere, not the scaling a deployment with one machine per
# replica gets. Replicas 2 and 3 serve copies made by `annuaire copy-generation`.
#
#   benches/replicas.sh [persons] [seconds]     (defaults: 1500000 15)
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
seconds=${2:-15}
work=target/bench-data/$persons
[ -f "$work/q-identifier.txt" ] || { echo "run benches/import.sh $persons and benches/search.sh $persons first"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
command -v haproxy >/dev/null || { echo "haproxy is needed (apt-get install haproxy)"; exit 1; }
cargo build --release --quiet --workspace
cargo bench --bench hello_baseline --no-run --quiet 2>/dev/null

for n in 2 3; do
  "$release"/annuaire copy-generation --from "$work/data" --to "$work/replica$n" >/dev/null
done
dirs=("" "$work/data" "$work/replica2" "$work/replica3")
ports=("" 18301 18302 18303)
lb_port=18300
baseline_port=18282
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; pkill -f "hello_baseline.*$baseline_port" 2>/dev/null || true; }
trap cleanup EXIT
for n in 1 2 3; do
  "$release"/annuaire serve --data "${dirs[$n]}" --listen 127.0.0.1:${ports[$n]} --workers 2 \
    --trusted-proxy 127.0.0.1 2>"$work/replica$n.log" &
  pids+=($!)
done
cargo bench --quiet --bench hello_baseline -- 127.0.0.1:$baseline_port >/dev/null 2>&1 &
pids+=($!)
for n in 1 2 3; do
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:${ports[$n]}/readyz" >/dev/null && break; sleep 0.1; done
done

# HAProxy with `count` replicas: the others point at a closed port, so its health checks keep
# them out of the pool.
haproxy_with() {
  [ -n "${haproxy_pid:-}" ] && { kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; }
  export ANNUAIRE_LB_BIND=127.0.0.1:$lb_port
  for n in 1 2 3; do
    if [ "$n" -le "$1" ]; then export ANNUAIRE_REPLICA_$n=127.0.0.1:${ports[$n]}; else export ANNUAIRE_REPLICA_$n=127.0.0.1:9; fi
  done
  haproxy -db -f docs/haproxy.cfg >"$work/haproxy.log" 2>&1 &
  haproxy_pid=$!
  pids+=($haproxy_pid)
  sleep 2
}
row() {
  awk -v name="$1" '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } /Non-2xx/ { bad = $4 } END { printf "| %-34s | %10s | %9s | %9s | %6s |\n", name, rps, p50, p99, bad + 0 }'
}
measure() { # name url paths
  READ_PATHS="$3" wrk -t1 -c32 -d3s -s benches/read.lua "$2" >/dev/null
  READ_PATHS="$3" wrk -t1 -c32 -d"${seconds}s" --latency -s benches/read.lua "$2" | row "$1"
}
echo "wrk, 1 thread, 32 connections, ${seconds} s per row; everything on $(nproc) cores"
echo
echo "| setup                              |   req/s    |    p50    |    p99    | non-2xx |"
echo "|------------------------------------|-----------:|----------:|----------:|-------:|"
wrk -t1 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$baseline_port/" | row "hello world (actix-web), direct"
for shape in identifier family; do
  paths="$work/q-$shape.txt"
  measure "$shape: one replica, direct" "http://127.0.0.1:${ports[1]}" "$paths"
  for count in 1 2 3; do
    haproxy_with "$count"
    measure "$shape: $count replica(s) behind HAProxy" "http://127.0.0.1:$lb_port" "$paths"
  done
  unset haproxy_pid
  pkill -f "haproxy -db -f docs/haproxy.cfg" 2>/dev/null || true
done
for n in 1 2 3; do
  echo "replica $n: $(awk '/RssAnon/ { a = $2 } /RssFile/ { f = $2 } END { printf "%d MiB own memory, %d MiB mapped files", a / 1024, f / 1024 }' /proc/${pids[$((n - 1))]}/status)"
done
