#!/usr/bin/env bash
# The long mode of the KDC wire fuzzer: a has-server of its own (SQLite, a throwaway
# realm on 127.0.0.1), fed 1,000,000 seeded hostile inputs over UDP and TCP by default
# (tests/fuzz/kdc_wire.py; the quick mode is tests/test_kdc_wire_fuzz.py). Prints the
# inputs tried per kind, the replies, crashes, hangs, tracebacks in the log and the
# resident memory before and after; exits 1 on any finding. Failing inputs are saved in
# ./fuzz-findings. Arguments go to the fuzzer: --inputs N, --seed S, --hold N, ...
#   scripts/fuzz-kdc.sh --inputs 2000000 --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m tests.fuzz.kdc_wire "$@"
