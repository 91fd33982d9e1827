#!/usr/bin/env bash
# Coverage-guided fuzzing (atheris/libFuzzer) of the DER decoders ("der": fast path
# against the pyasn1 model) and of the KDC's AS/TGS handler ("kdc"); see
# tests/fuzz/targets.py for what each checks.
#   scripts/fuzz-atheris.sh [der|kdc|all] [SECONDS per target, default 3600] [--update-corpus]
# Works in ./fuzz-work/<target> (new inputs, crash-*/timeout-* artifacts), starting from
# the kept corpus tests/data/fuzz/<target> and the target's seed requests. With
# --update-corpus the kept corpus is replaced by a merge (minimized: only inputs that
# add coverage) of itself and what this run found. Exits non-zero on a crash or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
seconds=${2:-3600}
update=${3:-}
[ "$which" = all ] && targets="der kdc" || targets=$which
py=.venv/bin/python
export PYTHONPATH=$PWD
for target in $targets; do
    work=fuzz-work/$target
    kept=tests/data/fuzz/$target
    mkdir -p "$work/corpus" "$work/seeds" "$kept"
    $py -m tests.fuzz.atheris_run seeds "$target" "$work/seeds" 2>/dev/null
    echo "== $target: $seconds s"
    $py -m tests.fuzz.atheris_run "$target" -max_total_time="$seconds" -timeout=5 \
        -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" "$kept" "$work/seeds" 2>&1 \
        | grep -v '^INFO: Instrumenting'
    if [ "$update" = --update-corpus ]; then
        rm -rf "$work/merged" && mkdir -p "$work/merged"
        $py -m tests.fuzz.atheris_run "$target" -merge=1 -max_len=4096 \
            "$work/merged" "$kept" "$work/corpus" 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new' || true
        rm -rf "$kept" && mv "$work/merged" "$kept"
        echo "== $target: kept corpus $(ls "$kept" | wc -l) files, $(cat "$kept"/* | wc -c) bytes"
    fi
done
