"""``open_backend``: from a ``BackendConfig`` to a ready ``IdentityBackend``."""

from __future__ import annotations

from has_kdc.backend.errors import BackendError
from has_kdc.backend.interface import IdentityBackend
from has_kdc.conf.backend import BackendConfig

__all__ = ["open_backend"]


def open_backend(config: BackendConfig, *, migrate: bool = True) -> IdentityBackend:
    """Open the store ``config`` names.

    With ``migrate`` (the default) the schema is created or upgraded first, so a
    fresh SQLite file or an empty MySQL database just works; without it, a store
    whose schema is missing or newer than this code is refused with ``SchemaError``.
    """
    backend: IdentityBackend
    if config.kind == "sqlite":
        from has_kdc.backend.sqlite import SqliteBackend

        if config.sqlite_path is None:
            raise BackendError("the sqlite backend needs sqlite_path")
        backend = SqliteBackend(config.sqlite_path)
    elif config.kind == "mysql":
        try:
            from has_kdc.backend.mysql import MysqlBackend
        except ImportError as exc:
            raise BackendError(f"the mysql backend is not available: {exc}") from None
        backend = MysqlBackend.from_config(config)
    else:
        raise BackendError(f"unknown backend kind {config.kind!r}; expected sqlite or mysql")
    try:
        if migrate:
            backend.migrate()
        else:
            backend.check_schema()
    except BaseException:
        backend.close()
        raise
    return backend
