"""Importing an existing realm with its keys: Kerby/HAS MySQL, Kerby JSON, MIT dumps.

    source = read_source("jdbc:mysql://db:3306/has?user=has", password=...)
    plan = plan_import(backend, kdc, source, update=False, scheme=...)   # a dry run
    result = apply_import(backend, kdc, plan, actor=..., scheme=...)     # the import

`read_source` recognises the format from the source itself, unless ``fmt`` names it:

- a ``mysql://``, ``jdbc:mysql://``, ``jdbc:mysql:thin://`` or ``jdbc:mariadb://``
  URL: Kerby's ``MySQLIdentityBackend`` tables, as HAS uses them (`kerby_mysql`);
- a file whose first line is an MIT dump header (``kdb5_util load_dump version
  7``): ``kdb5_util dump`` output, keys decrypted with the stash or master password
  (`mit_dump`);
- a file holding a JSON object: Kerby's ``JsonIdentityBackend`` file (`kerby_json`).

Readers produce the neutral records of `records`; `plan` decides what is carried,
`apply` writes it, `report` says what happened. Nothing here prints or returns a
key or a password.
"""

from __future__ import annotations

import os
from pathlib import Path

from has_kdc.admin.errors import AdminError
from has_kdc.admin.importing import kerby_json, kerby_mysql, mit_dump
from has_kdc.admin.importing.apply import ImportResult, apply_import, store_imported
from has_kdc.admin.importing.plan import ImportPlan, PasswordScheme, plan_import
from has_kdc.admin.importing.records import (
    Skipped,
    SourceKey,
    SourcePrincipal,
    SourceRealm,
    SourceUser,
)
from has_kdc.admin.importing.report import plan_data, report_lines, summary_line

__all__ = [
    "FORMATS",
    "ImportPlan",
    "ImportResult",
    "PasswordScheme",
    "Skipped",
    "SourceKey",
    "SourcePrincipal",
    "SourceRealm",
    "SourceUser",
    "apply_import",
    "detect_format",
    "plan_data",
    "plan_import",
    "read_source",
    "report_lines",
    "store_imported",
    "summary_line",
]

#: The formats by name, as ``--format`` takes them.
FORMATS = (kerby_mysql.KIND, kerby_json.KIND, mit_dump.KIND)
_HEAD = 4096


def detect_format(source: str) -> str:
    """The format of ``source`` (a URL or a file path), recognised from the thing itself."""
    if kerby_mysql.looks_like_mysql_url(source):
        return kerby_mysql.KIND
    path = Path(source)
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        raise AdminError(
            f"import source {source}: not a mysql:// or jdbc:mysql:// URL, and cannot read it "
            f"as a file: {exc.strerror}"
        ) from None
    if mit_dump.looks_like_mit_dump(head):
        return mit_dump.KIND
    if kerby_json.looks_like_kerby_json(head):
        return kerby_json.KIND
    raise AdminError(
        f"import source {source}: not a format this import reads (a Kerby/HAS MySQL URL, an "
        "MIT dump starting 'kdb5_util load_dump version 7', or Kerby's JSON backend file); "
        f"name the format with --format ({', '.join(FORMATS)})"
    )


def read_source(
    source: str,
    fmt: str | None = None,
    *,
    user: str | None = None,
    password: str | None = None,
    stash: str | os.PathLike[str] | None = None,
    master_password: str | None = None,
) -> SourceRealm:
    """Read every principal, key and plugin user of ``source``.

    ``user``/``password``: for a MySQL source whose URL does not carry them.
    ``stash``/``master_password``: the MIT master key, for an MIT dump.
    """
    kind = fmt or detect_format(source)
    if kind == kerby_mysql.KIND:
        return kerby_mysql.read_kerby_mysql(source, user=user, password=password)
    if kind == kerby_json.KIND:
        return kerby_json.read_kerby_json(source)
    if kind == mit_dump.KIND:
        return mit_dump.read_mit_dump(source, stash=stash, master_password=master_password)
    raise AdminError(f"unknown import format {kind!r}; expected one of {', '.join(FORMATS)}")
