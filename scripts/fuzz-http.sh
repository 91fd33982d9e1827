#!/usr/bin/env bash
# The long mode of the HTTP fuzzer: schemathesis over every route of the OpenAPI
# document of a node of its own (tests/fuzz/http_routes.py; the quick mode is
# tests/test_web_fuzz.py): before init anonymously and with the setup token, after init
# anonymously and as an administrator, valid and invalid requests, 100 cases per
# operation, caller and kind by default. Prints the cases, statuses, every 5xx and hang
# with its request, and the node's resident memory before and after; exits 1 on any
# 5xx or hang. Arguments: --examples N, --seed S, --keep.
#   scripts/fuzz-http.sh --examples 500 --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m tests.fuzz.http_routes "$@"
