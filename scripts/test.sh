#!/usr/bin/env bash
# Sets up everything (see bootstrap.sh) and runs every check: ruff, then pytest
# (unit tests, RFC vectors, and interop with the real MIT Kerberos tools).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== pytest"
.venv/bin/python -m pytest -q -ra "$@"
