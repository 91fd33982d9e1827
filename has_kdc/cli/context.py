"""From a conf_dir argument to an open backend and admin object, with clear failures.

The admin object acts for the local user running the tool (`has_kdc.admin.os_actor`):
that is who the audit trail records for every change made through it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from has_kdc.admin import PrincipalAdmin, os_actor
from has_kdc.backend import IdentityBackend, open_backend
from has_kdc.conf import ConfDir, load_conf_dir

__all__ = ["AdminSession", "admin_session"]


@dataclass
class AdminSession:
    conf: ConfDir
    backend: IdentityBackend
    admin: PrincipalAdmin


@contextmanager
def admin_session(conf_dir: str | os.PathLike[str], via: str) -> Iterator[AdminSession]:
    """Load ``conf_dir``, open its identity store (creating the schema), close on exit;
    changes are made for the local user, through ``via`` (the tool's name)."""
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
        yield AdminSession(conf, backend, PrincipalAdmin(backend, conf.kdc, os_actor(via)))
    finally:
        backend.close()
