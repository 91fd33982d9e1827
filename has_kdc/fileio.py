"""The one place that writes files: atomically, with the right mode from the first byte.

A keytab or a config that a reader sees half-written is worse than an old one, and a
secret file that is briefly world-readable has leaked. So every write goes to a temp
file created with its final mode in the target directory, is fsynced, and then
replaces the target with ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes | str,
    mode: int = SECRET_MODE,
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> None:
    """Replace ``path`` with ``data``; readers see either the old or the new file."""
    target = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_if_changed(
    path: str | os.PathLike[str],
    data: bytes | str,
    mode: int = SECRET_MODE,
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> bool:
    """Write only when content or mode differ; True if anything changed.

    Reporting "changed" only on a real change is what lets the CLIs and the Ansible
    modules re-export files idempotently.
    """
    target = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    try:
        st = target.stat()
        same = target.read_bytes() == payload
    except OSError:
        st, same = None, False
    if same and st is not None:
        owner_ok = (uid is None or st.st_uid == uid) and (gid is None or st.st_gid == gid)
        if (st.st_mode & 0o7777) == mode and owner_ok:
            return False
        os.chmod(target, mode)
        if not owner_ok:
            os.chown(target, -1 if uid is None else uid, -1 if gid is None else gid)
        return True
    write_atomic(target, payload, mode, uid=uid, gid=gid)
    return True
