#!/usr/bin/env bash
# Peak RSS of `tenken scan` as the number of days grows, and of a nightly run (one day of
# logs) against the request register of many days, as a scan and as an ingest; then an
# ingest of all the largest set's days at once.
#
#   scripts/memory.sh           # 10, 30 and 90 days of `tenken gen --seed 1 --scale 31`
#   DAYS="10 30" scripts/memory.sh
#
# Each day is about 36 MB of logs; the register grows with the days (≈ 70,000 forms a day
# at this scale), and it is the one thing held whole in memory. Needs /usr/bin/time and awk.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-31}
DAYS=${DAYS:-10 30 90}
ROOT=${ROOT:-bench-data/memory-scale-$SCALE}
cargo build --release --quiet
T=./target/release/tenken

peak() { # label, then the command
    local label=$1
    shift
    /usr/bin/time -f "%M %U %S" -o "$ROOT/.time" "$@" >/dev/null
    read -r kb user sys <"$ROOT/.time"
    printf '| %s | %d | %s |\n' "$label" $((kb / 1024)) "$(awk "BEGIN { print $user + $sys }")"
}

mkdir -p "$ROOT"
echo "| run | peak RSS MiB | CPU s |"
echo "| --- | ---: | ---: |"
last= last_days=
for d in $DAYS; do
    # scripts/bench.sh's UTF-8 set is the 30-day set of these same flags: it is not made twice.
    set="$ROOT/days-$d"
    [ "$d" = 30 ] && set="bench-data/scale-$SCALE/utf8"
    [ -d "$set/logs" ] || "$T" gen --out "$set" --seed 1 --days "$d" --offices 10 \
        --scale "$SCALE" --formats csv --encodings utf8 --compress none --no-duplicates --quiet
    forms=$(($(wc -l <"$set/ledgers/requests.csv") - 1))
    peak "scan, $d days ($(du -sm "$set/logs" | cut -f1) MB, $forms forms)" \
        "$T" scan "$set/logs" --ledgers "$set/ledgers" --quiet
    last=$set last_days=$d
done
# The nightly case: the last day of the largest set, judged against its whole register.
night="$ROOT/one-night"
rm -rf "$night" && mkdir -p "$night"
day=$(find "$last/logs" -name '*.csv' -printf '%f\n' | sort | tail -1)
for office in "$last"/logs/*/; do
    [ -f "$office$day" ] && cp "$office$day" "$night/$(basename "$office")-$day"
done
peak "scan, one day ($day) + the register of $last_days days" \
    "$T" scan "$night" --ledgers "$last/ledgers" --quiet
# The nightly job itself, into a new archive: that night alone, then all the days at once.
rm -rf "$ROOT/archive-night" "$ROOT/archive-all"
peak "ingest, one day ($day) + the register of $last_days days" \
    "$T" ingest "$night" --ledgers "$last/ledgers" --archive "$ROOT/archive-night" --quiet
peak "ingest, $last_days days at once" \
    "$T" ingest "$last/logs" --ledgers "$last/ledgers" --archive "$ROOT/archive-all" --quiet
rm -rf "$ROOT/archive-night" "$ROOT/archive-all"
rm -f "$ROOT/.time"
