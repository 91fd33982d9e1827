"""The audit trail: one structured record for every change to the realm, whoever makes it.

Every way in — ``hadmin-local``, the REST admin API (``hadmin-remote``), the REST
``conf/*`` and ``kdcinit`` endpoints, ``kdcinit --local``, the Ansible modules, the
node's own registration — reaches the realm through the functions of `has_kdc.admin`
and the configuration edits of `has_kdc.node.service`, and those run each change inside
``AuditTrail.change(action, target)``. So the recording cannot be skipped by a new
path: a path only says *who* is asking, as an `Actor` made at its edge (the local OS
user, the authenticated principal and client address, the Ansible module and remote
user), and every function that changes something requires one.

A record says when, where (node), how (``via``), who (``actor``), from where
(``address``), what (``action``, ``target``), the result and a JSON ``detail`` of
non-secret facts. It goes to:

- the store (``audit_log``, schema version 4), in the same transaction as the change
  it describes, so a change is never committed without its record; a failed change is
  recorded afterwards in a transaction of its own;
- the node's audit log, ``<data_dir>/audit.log``: one JSON object per line, appended,
  mode 0600, owned like data_dir (so a root CLI and the has-server service account
  can both append to it);
- the logger ``has_kdc.audit`` (has-server's log).

Configuration edits happen before a store exists (HAS configures the backend through
them), so their records go to the store when it answers and always to the file.

Changes are recorded, and so is every hand-out of keys (``ktadd``, ``expkeytabs``,
the admin keytab from ``init``): reads of public data are not. A change that turns out
to change nothing (``Change.unchanged()``: an idempotent re-run) leaves no record.

Nested changes join the outermost: ``ktadd`` re-keying each principal is one ``ktadd``
record, not one per ``cpw``. A new operation (say ``deregister_node``) is audited by
taking an ``actor`` argument and wrapping its work in
``with AuditTrail.for_realm(backend, kdc, actor).change("deregister_node", host):``
(``change.unchanged()`` when there was nothing to do) — that is the whole hook; a REST
route passes ``has_kdc.web.actor.request_actor(request)``, a CLI ``os_actor(<tool>)``.

No secret is ever recorded: ``detail`` refuses bytes (key material) and text values
under names such as ``password``, ``secret`` or ``token``, and error messages of the
admin and store layers never carry one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from has_kdc.admin.errors import AdminError
from has_kdc.admin.timespec import parse_duration, parse_time
from has_kdc.backend import BackendError, IdentityBackend, TransactionConflict
from has_kdc.backend.interface import conflict_will_be_retried
from has_kdc.backend.model import AuditQuery, AuditRecord
from has_kdc.backend.rows import MAX_AUDIT_READ
from has_kdc.conf import KdcConfig

__all__ = [
    "AUDIT_LOG",
    "FAILURE",
    "SUCCESS",
    "Actor",
    "AuditTrail",
    "Change",
    "audit_query",
    "os_actor",
    "record_json",
]

log = logging.getLogger("has_kdc.audit")

AUDIT_LOG = "audit.log"
SUCCESS = "success"
FAILURE = "failure"

#: detail names whose text values would be secrets; such a value is refused
_SECRET_WORDS = ("password", "passwd", "secret", "token", "keytab_data", "key_bytes", "passphrase")
_MAX_ERROR = 500

Store = IdentityBackend | Callable[[], IdentityBackend]


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where, as the edge that received it knows them.

    ``who`` is the identity that edge authenticated (an OS user, a Kerberos principal,
    ``anonymous`` where a route lets anyone in); ``via`` names the edge
    (``hadmin-local``, ``rest``, ``kdcinit``, ``ansible:<module>``, ``has-server``,
    ``login-test``); ``address`` is where the request came from (``local``, a client
    address, ``ssh:<address>`` for a local user logged in over SSH).
    """

    who: str
    via: str
    address: str = "local"


def os_actor(via: str, environ: Mapping[str, str] | None = None) -> Actor:
    """The local user running this process, for CLIs and Ansible modules on a node.

    The user is the effective uid's name. Under sudo (root with ``SUDO_USER``) it
    reads ``root (sudo from alice)``: the Ansible ``become`` case, where the remote
    user Ansible logged in as is ``SUDO_USER``. The address is the SSH client
    (``SSH_CONNECTION``) when the session came in over SSH, else ``local``. Those two
    are the process's environment, so they are as trustworthy as the local user.
    """
    env = os.environ if environ is None else environ
    uid = os.geteuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid {uid}"
    sudo = env.get("SUDO_USER")
    who = f"{user} (sudo from {sudo})" if uid == 0 and sudo and sudo != user else user
    ssh = (env.get("SSH_CONNECTION") or env.get("SSH_CLIENT") or "").split()
    return Actor(who, via, f"ssh:{ssh[0]}" if ssh else "local")


def _check_detail(name: str, value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"audit detail {name!r}: bytes are never recorded (key material?)")
    if isinstance(value, str) and any(word in name.lower() for word in _SECRET_WORDS):
        raise ValueError(f"audit detail {name!r} would record a secret")
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return [_check_detail(name, item) for item in items]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class Change:
    """The record being made for one change: add facts with ``note``, say
    ``unchanged()`` when the work found nothing to do (then no record is written), or
    ``failed(reason)`` when it ends without an exception but did not all succeed."""

    def __init__(self, action: str, target: str, detail: Mapping[str, object]) -> None:
        self.action = action
        self.target = target
        self.detail: dict[str, object] = {}
        self.changed = True
        self.result = SUCCESS
        self.note(**detail)

    def failed(self, reason: str) -> None:
        self.result = FAILURE
        self.note(error=reason)

    def note(self, **facts: object) -> None:
        for name, value in facts.items():
            self.detail[name] = _check_detail(name, value)

    def unchanged(self) -> None:
        self.changed = False


class AuditTrail:
    """Records the changes one `Actor` makes, on one node (see the module docstring).

    ``store`` is the identity store or a function opening it (configuration edits are
    recorded even when it cannot be opened); ``log_file`` the node's audit log.
    One trail serves one caller at a time, as a `PrincipalAdmin` does.
    """

    def __init__(
        self,
        store: Store | None,
        actor: Actor,
        *,
        node: str,
        log_file: Path | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.actor = actor
        self.node = node
        self.log_file = log_file
        self._clock = clock
        self._open: list[Change] = []
        self._lock = threading.RLock()

    @classmethod
    def for_realm(cls, store: Store | None, kdc: KdcConfig, actor: Actor) -> AuditTrail:
        """The trail of the node ``kdc`` describes: its kdc_host, ``<data_dir>/audit.log``."""
        return cls(store, actor, node=kdc.kdc_host, log_file=kdc.data_dir / AUDIT_LOG)

    def backend(self) -> IdentityBackend:
        if self._store is None:
            raise BackendError("no identity store to record the change in")
        return self._store() if callable(self._store) else self._store

    # -- recording ---------------------------------------------------------------------

    @contextlib.contextmanager
    def change(
        self, action: str, target: str, *, atomic: bool = True, **detail: object
    ) -> Iterator[Change]:
        """Record the work done in the ``with`` block as one change (see the module doc).

        ``atomic``: the work runs in one store transaction with its record; set it to
        False for work that must commit in parts (bulk creation) or touches no store
        (configuration files: then a store that cannot be reached only loses the
        store's copy of the record, never the change).
        """
        with self._lock:
            if self._open:  # a step of a bigger change: recorded with it
                joined = Change(action, target, detail)
                yield joined
                if joined.changed:
                    self._open[0].changed = True
                return
            change = Change(action, target, detail)
            self._open.append(change)
            try:
                if atomic:
                    backend = self.backend()
                    with backend.transaction():
                        yield change
                        record = self._record(change, change.result)
                        if change.changed:
                            record = backend.add_audit_record(record)
                else:
                    yield change
                    record = self._record(change, change.result)
                    if change.changed:
                        record = self._store_quietly(record)
            except BaseException as exc:
                self._open.clear()
                if isinstance(exc, TransactionConflict) and conflict_will_be_retried():
                    raise  # rolled back whole and run again: the retry is the record
                change.note(error=_error_text(exc))
                failed = self._store_quietly(self._record(change, FAILURE))
                self._write_log(failed)
                raise
            finally:
                self._open.clear()
            if change.changed:
                self._write_log(record)

    def _record(self, change: Change, result: str) -> AuditRecord:
        return AuditRecord(
            at=self._clock(),
            node=self.node,
            via=self.actor.via,
            actor=self.actor.who,
            address=self.actor.address,
            action=change.action,
            target=change.target,
            result=result,
            detail=json.dumps(change.detail, sort_keys=True, separators=(",", ":")),
        )

    def _store_quietly(self, record: AuditRecord) -> AuditRecord:
        """The store's copy of a record that has no change to join (the file has it too)."""
        try:
            return self.backend().add_audit_record(record)
        except BackendError as exc:
            log.warning(
                "audit record of %s %s kept only in %s: the store refused it: %s",
                record.action,
                record.target,
                self.log_file or "the log",
                exc,
            )
            return record

    def _write_log(self, record: AuditRecord) -> None:
        line = record_json(record)
        log.info("%s", line)
        if self.log_file is None:
            return
        try:
            _append_line(self.log_file, line)
        except OSError as exc:
            log.warning("cannot append to the audit log %s: %s", self.log_file, exc.strerror)

    # -- reading -----------------------------------------------------------------------

    def records(self, query: AuditQuery) -> list[AuditRecord]:
        """Records of the store matching ``query`` (reading is not recorded)."""
        return self.backend().list_audit_records(query)


def _audit_time(option: str, text: str, now: float | None) -> float:
    current = time.time() if now is None else now
    spec = text.strip()
    if spec.lower().endswith(" ago"):
        return current - parse_duration(spec[:-4])
    when = parse_time(spec, current)
    if when is None:
        raise AdminError(f"{option} {text!r}: give a time, e.g. 2027-01-01, @1700000000, '2h ago'")
    return float(when)


def audit_query(
    *,
    since: str | None = None,
    until: str | None = None,
    actor: str | None = None,
    via: str | None = None,
    action: str | None = None,
    target: str | None = None,
    result: str | None = None,
    limit: int | None = None,
    now: float | None = None,
) -> AuditQuery:
    """An `AuditQuery` from the filters ``hadmin-local audit`` and the REST route take.

    Times are kadmin's (``2027-01-01``, ``@1700000000``, ``now``) or ``<duration> ago``
    (``2h ago``, ``7d ago``); ``target`` takes ``*`` and ``?``; ``result`` is
    ``success`` or ``failure``; ``limit`` (default 100) is at most 10,000.
    """
    if result is not None and result not in (SUCCESS, FAILURE):
        raise AdminError(f"result {result!r}: expected {SUCCESS} or {FAILURE}")
    count = 100 if limit is None else limit
    if not 1 <= count <= MAX_AUDIT_READ:
        raise AdminError(f"limit {count}: expected 1 to {MAX_AUDIT_READ}")
    return AuditQuery(
        since=None if since is None else _audit_time("since", since, now),
        until=None if until is None else _audit_time("until", until, now),
        actor=actor,
        via=via,
        action=action,
        target=target,
        result=result,
        limit=count,
    )


def _error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        text = "interrupted"
    elif isinstance(exc, SystemExit):
        text = f"ended with exit status {exc.code}"
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "..."


def record_json(record: AuditRecord) -> str:
    """One record as the audit log's JSON line (``detail`` as an object, time in UTC)."""
    try:
        detail: object = json.loads(record.detail)
    except ValueError:
        detail = record.detail
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.at))
    millis = int(record.at * 1000) % 1000
    return json.dumps(
        {
            "time": f"{stamp}.{millis:03d}Z",
            "id": record.id or None,
            "node": record.node,
            "via": record.via,
            "actor": record.actor,
            "address": record.address,
            "action": record.action,
            "target": record.target,
            "result": record.result,
            "detail": detail,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _append_line(path: Path, line: str) -> None:
    """Append ``line`` with one write; a new file is 0600 and owned like its directory."""
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        created = True
    except FileExistsError:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        created = False
    try:
        if created and os.geteuid() == 0:
            parent = os.stat(path.parent)
            os.fchown(fd, parent.st_uid, parent.st_gid)
        os.write(fd, data)
    finally:
        os.close(fd)
