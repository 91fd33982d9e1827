#!/usr/bin/env bash
# Sets up everything (see bootstrap.sh) and runs every check:
#   ruff; mypy (strict over has_kdc/, see pyproject.toml); ansible-lint (production
#   profile, .ansible-lint); molecule test --all
#   (molecule/: check, default, grow, each on its own base directory, loopback
#   addresses and MariaDB port under /var/lib/has-molecule; hosts, inventory/emr over
#   SSH on booted Debian hosts, see tests/hosts); pytest last (unit tests,
#   RFC vectors, interop with the real MIT Kerberos tools, impacket and python-gssapi,
#   ansible-playbook --syntax-check of every playbook, site.yml on inventory/local).
# Arguments go to pytest. The first step that fails stops the run, and the script exits
# with that step's status (pytest's own exit code included).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# molecule and ansible-lint call ansible-playbook, ansible-config, ... by name
export PATH="$PWD/.venv/bin:$PATH"
# Test hosts a failed run left up (molecule destroys them itself; this is the backstop).
trap 'python -m tests.hosts leftovers --kill >/dev/null 2>&1 || true' EXIT

step() {
    local name=$1 started=$SECONDS
    shift
    echo "== $name"
    "$@"
    echo "== $name: passed in $((SECONDS - started)) s"
}

step ruff ruff check .
step mypy mypy
step ansible-lint ansible-lint
step molecule molecule test --all
# pytest last, so its summary ("N passed ...") is the run's closing line.
echo "== pytest"
python -m pytest -q -ra "$@"
