"""From a conf_dir argument to an open backend and admin object, with clear failures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from has_kdc.admin import PrincipalAdmin
from has_kdc.backend import IdentityBackend, open_backend
from has_kdc.conf import ConfDir, load_conf_dir

__all__ = ["AdminSession", "admin_session"]


@dataclass
class AdminSession:
    conf: ConfDir
    backend: IdentityBackend
    admin: PrincipalAdmin


@contextmanager
def admin_session(conf_dir: str | os.PathLike[str]) -> Iterator[AdminSession]:
    """Load ``conf_dir``, open its identity store (creating the schema), close on exit."""
    conf = load_conf_dir(conf_dir)
    if conf.backend.kind == "sqlite" and conf.backend.sqlite_path is not None:
        parent = conf.backend.sqlite_path.parent
        if not parent.is_dir():
            raise OSError(
                f"{parent}: directory of the SQLite database does not exist; create it or set "
                "data_dir in kdc.conf (or sqlite_path in backend.conf)"
            )
    backend = open_backend(conf.backend)
    try:
        yield AdminSession(conf, backend, PrincipalAdmin(backend, conf.kdc))
    finally:
        backend.close()
