#!/usr/bin/env bash
# Times tenken against DuckDB doing the equivalent work on the same files, in one run.
#
#   scripts/bench.sh            # ~1 GiB of UTF-8 CSV from `tenken gen --seed 1`
#   SCALE=3 scripts/bench.sh    # smaller (SCALE is gen's --scale; 31 gives ~1 GiB)
#
# Pairs measured (wall seconds, CPU seconds = user + sys over all threads, MB/s of input,
# peak RSS):
#   tenken scan   vs  DuckDB read_csv with explicit columns into a table   (issue: ingest)
#   tenken scan   vs  DuckDB load + ledger joins, calendar, one rolling window (issue: judge)
#   tenken ingest vs  DuckDB load + rules + COPY … TO parquet (zstd)         (issue: archive)
# plus tenken scan on the same data as CP932 and as gzip. These machines are noisy: each
# command runs REPEAT times (default 3) in interleaved rounds, each round in another
# order, and the median counts;
# compare ratios from one run of this script, not numbers across runs.
# Needs /usr/bin/time and Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-31}
DATA=${DATA:-bench-data/scale-$SCALE}
OUT=${OUT:-bench-data/results-scale-$SCALE.md}
GEN=(--days 30 --offices 10 --scale "$SCALE" --seed 1 --formats csv --no-duplicates --quiet)

cargo build --release --quiet
T=./target/release/tenken
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet duckdb

[ -d "$DATA/utf8/logs" ] || "$T" gen --out "$DATA/utf8" "${GEN[@]}" --encodings utf8 --compress none
[ -d "$DATA/cp932/logs" ] || "$T" gen --out "$DATA/cp932" "${GEN[@]}" --encodings cp932 --compress none
[ -d "$DATA/gzip/logs" ] || "$T" gen --out "$DATA/gzip" "${GEN[@]}" --encodings utf8 --compress gz

# DuckDB reads UTF-8 only: give it UTF-8 copies of the ledgers (not timed).
python3 - "$DATA/utf8" <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
out = root / "ledgers-utf8"
out.mkdir(exist_ok=True)
for f in (root / "ledgers").glob("*.csv"):
    b = f.read_bytes()
    try:
        t = b.decode("utf-8-sig")
    except UnicodeDecodeError:
        t = b.decode("cp932")
    (out / f.name).write_text(t.replace("\r\n", "\n"), encoding="utf-8")
hol = pathlib.Path("fixtures/syukujitsu-2000-2030.csv").read_bytes().decode("cp932")
(root.parent / "holidays-utf8.csv").write_text(hol.replace("\r\n", "\n"), encoding="utf-8")
PY

BYTES=$(du -sb "$DATA/utf8/logs" | cut -f1)
# Every pair runs REPEAT times, the rounds interleaved so that both sides of a ratio see
# the same spells of noise; the table shows each run's median by CPU time and the spread.
REPEAT=${REPEAT:-3}
declare -A RUNS WALL CPU RSS SPREAD
measure() { # name, command…
    local name=$1; shift
    sync
    /usr/bin/time -f "%e %U %S %M" -o /tmp/tenken-bench-time "$@" > /tmp/tenken-bench-out 2>&1 || {
        echo "failed: $name"; cat /tmp/tenken-bench-out; exit 1; }
    read -r wall user sys rss < /tmp/tenken-bench-time
    local cpu
    cpu=$(python3 -c "print(round($user + $sys, 2))")
    RUNS[$name]+="$cpu $wall $((rss / 1024));"
    printf '%-28s %7.2f s wall %7.2f s cpu %6d MiB  (%s)\n' "$name" "$wall" "$cpu" "$((rss / 1024))" \
        "$(tail -n 1 /tmp/tenken-bench-out | cut -c1-60)"
}

# The seven runs of a round. Round r takes them with stride r (mod 7, a prime, so every
# stride is a permutation) and so gives every run other neighbours: an ingest right after
# DuckDB's multi-gigabyte runs was slower than alone, and was there every time.
step() {
    case $1 in
    0) measure "tenken scan utf8" "$T" scan "$DATA/utf8/logs" --ledgers "$DATA/utf8/ledgers" --quiet --findings "$DATA/findings.csv" ;;
    1) measure "tenken scan cp932" "$T" scan "$DATA/cp932/logs" --ledgers "$DATA/cp932/ledgers" --quiet ;;
    2) measure "tenken scan gzip" "$T" scan "$DATA/gzip/logs" --ledgers "$DATA/gzip/ledgers" --quiet ;;
    3) measure "duckdb load" python3 scripts/duckdb_bench.py load "$DATA/utf8" ;;
    4) measure "duckdb rules" python3 scripts/duckdb_bench.py rules "$DATA/utf8" ;;
    5) rm -rf "$DATA/archive"
       measure "tenken ingest" "$T" ingest "$DATA/utf8/logs" --ledgers "$DATA/utf8/ledgers" --archive "$DATA/archive" --quiet ;;
    6) rm -rf "$DATA/duckdb-out" && mkdir -p "$DATA/duckdb-out"
       measure "duckdb ingest" python3 scripts/duckdb_bench.py ingest "$DATA/utf8" "$DATA/duckdb-out" ;;
    esac
}
for round in $(seq "$REPEAT"); do
    echo "round $round of $REPEAT"
    for i in $(seq 0 6); do
        step $(( i * ((round - 1) % 6 + 1) % 7 ))
    done
done

# The median run of each (by CPU time), the range of CPU times, the highest peak RSS.
for n in "${!RUNS[@]}"; do
    median=$(python3 - "${RUNS[$n]}" <<'PY'
import sys
runs = sorted(tuple(float(x) for x in r.split()) for r in sys.argv[1].split(";") if r.strip())
cpu, wall, _ = runs[len(runs) // 2]
print(cpu, wall, int(max(r[2] for r in runs)), f"{runs[0][0]}–{runs[-1][0]}")
PY
)
    read -r c w r s <<< "$median"
    CPU[$n]=$c WALL[$n]=$w RSS[$n]=$r SPREAD[$n]=$s
done

ratio() { python3 -c "print(f'{$1 / $2:.1f}')"; }
# The same ratio taken within each round (both runs minutes apart, not a whole run), as
# the range over rounds: how far the VM's drift moves a ratio within one run.
rounds() { # numerator name, denominator name
    python3 - "${RUNS[$1]}" "${RUNS[$2]}" <<'PY'
import sys
cpu = [[float(r.split()[0]) for r in a.split(";") if r.strip()] for a in sys.argv[1:3]]
rs = sorted(n / d for n, d in zip(*cpu))
print(f"{rs[0]:.1f}–{rs[-1]:.1f}" if len(rs) > 1 else f"{rs[0]:.1f}")
PY
}
mbs() { python3 -c "print(f'{$BYTES / 1e6 / $1:.0f}')"; }
{
    echo "# tenken vs DuckDB — $(date -u +%F) — $(nproc) cores — input $((BYTES / 1048576)) MiB UTF-8 CSV"
    echo
    # pip installs the newest DuckDB, and its speed changes between releases: a ratio means
    # little without the version it was taken against.
    echo "tenken $(git rev-parse --short HEAD 2>/dev/null || echo unknown), DuckDB $(python3 -c 'import duckdb; print(duckdb.__version__)')."
    echo
    echo "Median of $REPEAT interleaved runs by CPU time; the spread is the range of CPU times;"
    echo "peak RSS is the highest of the runs."
    echo
    echo "| run | wall s | CPU s | CPU s spread | MB/s (wall) | MB/s per CPU-s | peak RSS MiB |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for n in "tenken scan utf8" "tenken scan cp932" "tenken scan gzip" "duckdb load" "duckdb rules" "tenken ingest" "duckdb ingest"; do
        echo "| $n | ${WALL[$n]} | ${CPU[$n]} | ${SPREAD[$n]} | $(mbs "${WALL[$n]}") | $(mbs "${CPU[$n]}") | ${RSS[$n]} |"
    done
    echo
    echo "CPU ratios (DuckDB ÷ tenken): load vs scan $(ratio "${CPU[duckdb load]}" "${CPU[tenken scan utf8]}")×," \
        "rules vs scan $(ratio "${CPU[duckdb rules]}" "${CPU[tenken scan utf8]}")×," \
        "ingest vs ingest $(ratio "${CPU[duckdb ingest]}" "${CPU[tenken ingest]}")×."
    echo "The same ratios round by round: load vs scan $(rounds "duckdb load" "tenken scan utf8")×," \
        "rules vs scan $(rounds "duckdb rules" "tenken scan utf8")×," \
        "ingest vs ingest $(rounds "duckdb ingest" "tenken ingest")×."
    echo "CP932 and gzip vs UTF-8 (tenken scan CPU): $(ratio "${CPU[tenken scan cp932]}" "${CPU[tenken scan utf8]}")×," \
        "$(ratio "${CPU[tenken scan gzip]}" "${CPU[tenken scan utf8]}")×."
} | tee "$OUT"
