"""The setup window: kdcinit and the ``conf/*`` endpoints before the realm exists.

HAS's guide sets ``enable_conf = true`` so that ``kdcinit`` can configure a node and
initialize the realm over HTTPS before any Kerberos identity exists. Nobody can
authenticate with SPNEGO then, so something else must tell the node's operator from
anyone else on the network: a one-time setup token.

- While this node knows the realm is not initialized, it keeps a random token in
  ``<conf_dir>/setup-token`` (mode 0600; ``<data_dir>/setup-token`` when the service
  may not write its conf_dir) and logs the file's path, never the value. Reading the
  file takes root or the service's account on this node, so holding the token proves
  the client is the node's operator, on a real host as in the one-machine layout.
- A request proves it with ``X-Has-Setup-Token: <token>``. Each token is good for one
  request: once accepted it is replaced by a new one (kdcinit re-reads the file
  before every request).
- The window closes for good once the realm is initialized — by this node's kdcinit,
  another node, Ansible or ``kdcinit --local`` (a watcher reads the shared store every
  few seconds while the window is open): the token file is removed and from then on
  kdcinit and ``conf/*`` answer only an authenticated administrator, whatever
  ``enable_conf`` says.
- When the store cannot be read, the state stays what it was; a node that has never
  seen the realm uninitialized opens no window.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from has_kdc.backend import BackendError
from has_kdc.fileio import SECRET_MODE, write_atomic

if TYPE_CHECKING:
    from has_kdc.node.service import HasService

__all__ = [
    "SETUP_TOKEN_FILE",
    "SETUP_TOKEN_HEADER",
    "SetupWindow",
    "WindowState",
    "read_setup_token",
    "setup_token_paths",
]

log = logging.getLogger("has_kdc.web")

SETUP_TOKEN_FILE = "setup-token"  # noqa: S105 (a file name)
SETUP_TOKEN_HEADER = "X-Has-Setup-Token"  # noqa: S105 (a header name)
#: How often the watcher reads whether the realm got initialized while the window is open.
WATCH_INTERVAL = 2.0

WindowState = Literal["unknown", "open", "closed"]


def setup_token_paths(conf_dir: Path, data_dir: Path) -> tuple[Path, Path]:
    """Where a node keeps its setup token: the conf_dir first, else the data_dir."""
    return conf_dir / SETUP_TOKEN_FILE, data_dir / SETUP_TOKEN_FILE


def read_setup_token(conf_dir: Path, data_dir: Path | None = None) -> str | None:
    """The node's current setup token, for kdcinit on that node; None if there is none
    (the realm is initialized, or this user may not read the file)."""
    candidates = [conf_dir / SETUP_TOKEN_FILE]
    if data_dir is not None:
        candidates.append(data_dir / SETUP_TOKEN_FILE)
    for path in candidates:
        try:
            token = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if token:
            return token
    return None


class SetupWindow:
    """The setup window of one node (see the module docstring). Thread-safe: its
    methods do file and database I/O and are called on the web server's threads."""

    def __init__(self, service: HasService) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._state: WindowState = "unknown"
        self._token: str | None = None
        self._path: Path | None = None

    @property
    def state(self) -> WindowState:
        return self._state

    @property
    def token_path(self) -> Path | None:
        """The file holding the token while the window is open."""
        return self._path

    def _paths(self) -> tuple[Path, Path]:
        return setup_token_paths(self._service.conf_dir, self._service.conf.kdc.data_dir)

    # -- state -----------------------------------------------------------------------

    def refresh(self) -> WindowState:
        """Read the realm's state from the store and open or close the window to match."""
        if self._state == "closed":
            return "closed"
        try:
            initialized = self._service.is_initialized()
        except (BackendError, OSError):
            return self._state
        with self._lock:
            if initialized:
                self._close_locked("the realm is initialized")
            elif self._state == "unknown":
                self._open_locked()
            return self._state

    def close(self, reason: str) -> None:
        with self._lock:
            self._close_locked(reason)

    def discard_stale_tokens(self) -> None:
        """Remove token files a previous run left (the new run decides afresh)."""
        for path in self._paths():
            with contextlib.suppress(OSError):
                path.unlink()

    def _open_locked(self) -> None:
        token = secrets.token_urlsafe(32)
        for path in self._paths():
            try:
                write_atomic(path, token + "\n", SECRET_MODE)
            except OSError as exc:
                log.info("cannot write the setup token to %s: %s", path, exc.strerror or exc)
                continue
            self._token, self._path, self._state = token, path, "open"
            log.warning(
                "setup window open until the realm is initialized: kdcinit on this node "
                "reads the one-time setup token from %s (mode 0600); with enable_conf = true "
                "the configuration endpoints accept requests carrying it",
                path,
            )
            return
        log.warning(
            "setup window not opened: no place for the setup token (%s); use "
            "'kdcinit <conf_dir> --local' on this node to set up the realm",
            ", ".join(str(p) for p in self._paths()),
        )

    def _close_locked(self, reason: str) -> None:
        if self._state == "closed":
            return
        was_open = self._state == "open"
        self._state, self._token = "closed", None
        for path in self._paths():
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:  # no longer valid anyway: the node forgot the value
                log.warning("cannot remove the old setup token %s: %s", path, exc.strerror)
        self._path = None
        if was_open:
            log.warning(
                "setup window closed (%s): the setup token is removed; kdcinit and the "
                "configuration endpoints now answer only an authenticated administrator",
                reason,
            )
        else:
            log.info("no setup window: %s", reason)

    # -- tokens --------------------------------------------------------------------------

    def use_token(self, presented: str | None) -> bool:
        """Whether ``presented`` is the current token; if so it is spent and replaced."""
        if presented is None:
            return False
        with self._lock:
            token, path = self._token, self._path
            if self._state != "open" or token is None or path is None:
                return False
            if not hmac.compare_digest(
                presented.strip().encode("utf-8", "surrogateescape"), token.encode()
            ):
                return False
            fresh = secrets.token_urlsafe(32)
            try:
                write_atomic(path, fresh + "\n", SECRET_MODE)
            except OSError as exc:
                # Without a new file the old token would stay valid: close instead.
                self._close_locked(f"the setup token could not be renewed: {exc.strerror}")
                return True
            self._token = fresh
            return True
