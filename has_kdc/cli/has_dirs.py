"""Where ``has-server`` finds its conf_dir and work_dir, as HAS's ``start-has.sh`` does.

HAS starts with ``start-has.sh <conf_dir> <work_dir>``, or with neither when the
environment names them (``HAS_CONF_DIR``, ``HAS_WORK_DIR``; has-start.md). The
arguments win over the environment; a directory named but missing is an error that
says which. The work_dir is where has-server writes its log when it runs as a daemon
without ``--log-file`` (HAS kept its logs and the KDC's work files there); has-kdc
keeps its state in the database and ``data_dir``, so nothing else goes in it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from has_kdc.conf import ConfigError

__all__ = ["CONF_DIR_ENV", "WORK_DIR_ENV", "server_dirs"]

CONF_DIR_ENV = "HAS_CONF_DIR"
WORK_DIR_ENV = "HAS_WORK_DIR"


def _directory(value: str, what: str) -> Path:
    path = Path(value).absolute()
    if not path.is_dir():
        raise ConfigError(f"{what}: not a directory", str(path))
    return path


def server_dirs(
    conf_dir: str | None, work_dir: str | None, environ: Mapping[str, str] | None = None
) -> tuple[Path, Path | None]:
    """(conf_dir, work_dir or None), from the arguments, else HAS_CONF_DIR/HAS_WORK_DIR."""
    env = os.environ if environ is None else environ
    conf = conf_dir or env.get(CONF_DIR_ENV)
    if not conf:
        raise ConfigError(
            f"no conf_dir: give it (has-server CONF_DIR [WORK_DIR]) or set {CONF_DIR_ENV}",
            "has-server",
        )
    work = work_dir or env.get(WORK_DIR_ENV)
    source = "work_dir" if work_dir else WORK_DIR_ENV
    return (
        _directory(conf, "conf_dir" if conf_dir else CONF_DIR_ENV),
        _directory(work, source) if work else None,
    )
