#!/usr/bin/env bash
# Benchmark: import of a national-size generated dataset (1.5 million persons, ~2.2 million
# RPPS rows, 100 000 FINESS establishments and the four other FINESS extractions (~80 000 legal
# entities, ~5 500 heavy equipment units, ~70 000 social equipment lines, ~30 000 activity
# authorisations), ~540 000 MSSanté mailboxes, the savoir-faire and diplomas files: all nine
# files). Reports wall time, peak RSS and disk use, with the
# time to merely read the RPPS file as a floor measured in the same run.
#
#   benches/import.sh [persons] [runs]      (defaults: 1500000 3)
#
# To compare two builds in the same run, name the other binary in COMPARE_WITH (for example a
# release build of an earlier commit): each run then imports with it, then with this build,
# alternating, so that both meet the same machine, page cache and disk.
#
# Files are generated once into target/bench-data/ (deterministic, seed 42).
set -euo pipefail
cd "$(dirname "$0")/.."
release=${CARGO_TARGET_DIR:-target}/release
persons=${1:-1500000}
runs=${2:-3}
cargo build --release --quiet --workspace
bin="$release"/annuaire
work=target/bench-data/$persons
mkdir -p "$work"
if [ ! -f "$work/done" ] || ! ls "$work"/files/Extraction_Correspondance_MSSante_*.txt "$work"/files/etalab-cs1100501-*.csv >/dev/null 2>&1; then
  "$release"/annuaire-generate --persons "$persons" --seed 42 --out "$work/files"
  touch "$work/done"
fi
rpps=$(ls "$work"/files/PS_LibreAcces_Personne_activite_*.txt)
# Every FINESS extraction: establishments, legal entities, heavy equipment, social equipment,
# healthcare activities (the importer recognises each by its record tags).
finess_files=("$work"/files/etalab-*.csv)
mssante=$(ls "$work"/files/Extraction_Correspondance_MSSante_*.txt)
savoir_faire=$(ls "$work"/files/PS_LibreAcces_SavoirFaire_*.txt)
diplomes=$(ls "$work"/files/PS_LibreAcces_Dipl_AutExerc_*.txt)
echo "optional files: $(wc -l <"$mssante") mailbox lines, $(wc -l <"$savoir_faire") savoir-faire lines, $(wc -l <"$diplomes") diploma lines"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM; files: $(du -h "$rpps" | cut -f1) RPPS, $(du -ch "${finess_files[@]}" | tail -n 1 | cut -f1) FINESS (${#finess_files[@]} files)"
start=$(date +%s.%N); wc -l "$rpps" >/dev/null; end=$(date +%s.%N)
echo "floor: reading the RPPS file (wc -l): $(echo "$end - $start" | bc) s"
# import LABEL BINARY RUN: one timed import into a fresh data directory.
import() {
  rm -rf "$work/data"
  /usr/bin/time -f "run $3 ($1): wall %e s, peak RSS %M KiB, user %U s, sys %S s" \
    "$2" import --rpps "$rpps" --finess "${finess_files[@]}" --mssante "$mssante" \
      --savoir-faire "$savoir_faire" --diplomes "$diplomes" --data "$work/data" 2>"$work/import-$3.log" >"$work/summary-$3.txt" || { cat "$work/import-$3.log"; exit 1; }
  tail -n 1 "$work/import-$3.log"
  echo "run $3 ($1): data directory $(du -sh "$work/data" | cut -f1)"
}
for i in $(seq 1 "$runs"); do
  if [ -n "${COMPARE_WITH:-}" ]; then
    import other "$COMPARE_WITH" "$i"
  fi
  import this "$bin" "$i"
done
cat "$work/summary-$runs.txt"
