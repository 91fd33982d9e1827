#!/usr/bin/env bash
# Installs what has-kdc needs on a Debian machine (run as root): the MIT Kerberos
# tools that the interop tests compare against, MariaDB for the MySQL backend,
# debootstrap and the SSH client for the booted test hosts (tests/hosts, molecule/hosts),
# and a virtualenv in .venv holding the package and its test tools. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(krb5-user krb5-kdc krb5-admin-server mariadb-server mariadb-client curl python3-venv libkrb5-dev gcc
    debootstrap openssh-client iproute2 openjdk-17-jdk-headless)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    echo "bootstrap: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "bootstrap: ready ($(.venv/bin/python -c 'import has_kdc; print("has_kdc", has_kdc.__version__)'))"
