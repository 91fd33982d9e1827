"""Wheels of has_kdc's dependencies, for hosts that reach no package index.

The roles install the has_kdc wheel with ``pip --no-index --find-links`` from a
wheelhouse copied to the node (``has_package_wheelhouse``), as an air-gapped cluster
must. The wheelhouse is built here on the controller with ``pip wheel`` from the
dependencies in pyproject.toml, and cached beside the rootfs under a name derived from
them and the Python version: the hosts run Debian's python3 of the same minor
version as the controller's venv, so the same wheels install there.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.hosts.rootfs import cache_dir

__all__ = ["build_wheelhouse"]

_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def build_wheelhouse() -> Path:
    """The cached wheelhouse for the current dependencies (built when missing)."""
    requirements = tomllib.loads(_PYPROJECT.read_text())["project"]["dependencies"]
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    key = hashlib.sha256("\n".join([python, *sorted(requirements)]).encode()).hexdigest()[:16]
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    target = base / f"wheelhouse-{key}"
    with (base / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").is_file():
            return target
        work = base / f"wheelhouse-{key}.building"
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(work),
             *requirements],
            check=True,
        )  # fmt: skip
        (work / ".complete").write_text(key + "\n")
        shutil.rmtree(target, ignore_errors=True)
        work.rename(target)
        for old in base.glob("wheelhouse-*"):
            if old.is_dir() and old != target:
                shutil.rmtree(old, ignore_errors=True)
        return target
