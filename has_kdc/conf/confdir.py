"""A HAS conf_dir as the servers and tools take it: kdc.conf and backend.conf together.

``has-server <conf_dir>``, ``kdcinit <conf_dir>`` and ``hadmin-local <conf_dir>`` all
start here, so the rules live in one place: kdc.conf must exist (it names the realm),
backend.conf may be absent (SQLite under the data directory).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from has_kdc.conf.backend import BackendConfig, default_backend_config, read_backend_conf
from has_kdc.conf.errors import ConfigError
from has_kdc.conf.kdc import KdcConfig, read_kdc_conf

__all__ = ["BACKEND_CONF", "KDC_CONF", "ConfDir", "load_conf_dir"]

KDC_CONF = "kdc.conf"
BACKEND_CONF = "backend.conf"


@dataclass(frozen=True)
class ConfDir:
    """The parsed configuration of one HAS node."""

    path: Path
    kdc: KdcConfig
    backend: BackendConfig


def load_conf_dir(
    conf_dir: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> ConfDir:
    """Read ``conf_dir/kdc.conf`` (required: it names the realm) and ``backend.conf``."""
    path = Path(conf_dir)
    if not path.is_dir():
        raise ConfigError("not a directory; expected a HAS conf_dir holding kdc.conf", str(path))
    kdc_path = path / KDC_CONF
    if not kdc_path.exists():
        raise ConfigError(
            "not found; it must exist and set kdc_realm under [kdcdefaults]", str(kdc_path)
        )
    kdc = read_kdc_conf(kdc_path)
    backend_path = path / BACKEND_CONF
    if backend_path.exists():
        backend = read_backend_conf(backend_path, kdc.data_dir, environ)
    else:
        backend = default_backend_config(kdc.data_dir)
    return ConfDir(path=path, kdc=kdc, backend=backend)
