#!/usr/bin/env bash
# Sets up has-kdc on this machine and brings up the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
.venv/bin/kdcinit --help
