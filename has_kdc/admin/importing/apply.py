"""Carrying out an `ImportPlan`: the one place an import writes to the store.

Into a realm that is not initialized, everything goes in **one** exclusive
transaction: the principals (the source's ``krbtgt`` and ``kadmin`` among them),
then `init_realm`, which adds only the built-ins the source lacked (``kadmin/REALM``
for an MIT source, ``HTTP/<node>`` for the nodes) and marks the realm initialized.
So the realm is either untouched or imported and initialized, and a node that
starts serving it never sees half of it. If another node initialized the realm
after the plan was made, nothing is written and the caller is told to run again
(the new plan then merges).

Into an initialized (serving) realm, principals go in chunks, each its own
transaction, as ``creprincs`` does, so no other writer waits long. A changed
principal is replaced only when the plan says ``update``, and only if nobody changed
it since it was compared (the store's version check).

Every principal write of an import goes through `store_imported`, so an audit of
identity changes has one call to watch. Plugin users are written with
``put_plugin_user`` after the principals, their source passwords hashed on the way.

The whole import, its ``init`` included, is one ``import`` record of the audit trail
for the `Actor` running it: the source (never its password), the counts written, and
the names that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from has_kdc.admin.audit import Actor, AuditTrail
from has_kdc.admin.errors import AdminError
from has_kdc.admin.importing.plan import ImportPlan, PasswordScheme, PrincipalChange
from has_kdc.admin.realm import RealmInit, init_realm, is_initialized
from has_kdc.backend import (
    BackendError,
    ConcurrentModification,
    IdentityBackend,
    PluginUser,
    Principal,
    PrincipalExists,
)
from has_kdc.conf import KdcConfig

__all__ = ["ImportResult", "apply_import", "store_imported"]

DEFAULT_CHUNK = 500
Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    """What the import wrote; ``failed`` holds (name, reason) for chunks that could not."""

    initialized: bool = False
    created_builtins: list[str] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    users_added: int = 0
    users_updated: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def store_imported(
    backend: IdentityBackend, add: Sequence[Principal], update: Sequence[PrincipalChange]
) -> None:
    """Write imported principals: ``add`` as new, ``update`` replacing the stored ones.

    The import's only principal write; run it inside a transaction of the caller's
    or on its own (it opens one, run again if another database host's transaction
    wins; calls inside another join it).
    """

    def work() -> None:
        if add:
            backend.add_principals(add)
        for change in update:
            backend.update_principal(
                replace(
                    change.wanted, version=change.current.version, created=change.current.created
                )
            )

    backend.run_transaction(work)


def _fresh(
    backend: IdentityBackend,
    kdc: KdcConfig,
    plan: ImportPlan,
    result: ImportResult,
    audit: AuditTrail,
) -> None:
    updates = plan.changed if plan.update else []

    def work() -> RealmInit:
        if is_initialized(backend):
            raise AdminError(
                f"realm {plan.realm} was initialized while this import was being prepared; "
                "nothing was written: run the import again to merge into it"
            )
        store_imported(backend, plan.add, updates)
        return init_realm(backend, kdc, audit.actor, audit=audit)

    init = backend.run_transaction(work)
    result.initialized = init.created
    result.created_builtins = list(init.created_principals)
    result.added, result.updated = len(plan.add), len(updates)


def _merge(
    backend: IdentityBackend,
    plan: ImportPlan,
    result: ImportResult,
    chunk: int,
    progress: Progress | None,
) -> None:
    updates = plan.changed if plan.update else []
    total = len(plan.add) + len(updates)
    done = 0
    for start in range(0, len(plan.add), chunk):
        part = plan.add[start : start + chunk]
        try:
            store_imported(backend, part, [])
            result.added += len(part)
        except (PrincipalExists, BackendError) as exc:
            for principal in part:
                try:
                    store_imported(backend, [principal], [])
                    result.added += 1
                except PrincipalExists:
                    result.failed.append((principal.name, "created meanwhile by someone else"))
                except BackendError as one:
                    result.failed.append((principal.name, str(one) or str(exc)))
        done += len(part)
        if progress is not None:
            progress(done, total)
    for change in updates:
        try:
            store_imported(backend, [], [change])
            result.updated += 1
        except ConcurrentModification:
            result.failed.append((change.wanted.name, "changed meanwhile by someone else"))
        except BackendError as exc:
            result.failed.append((change.wanted.name, str(exc)))
        done += 1
        if progress is not None and (done % chunk == 0 or done == total):
            progress(done, total)


def _users(
    backend: IdentityBackend, plan: ImportPlan, scheme: PasswordScheme | None, result: ImportResult
) -> None:
    changes = plan.users_add + (plan.users_changed if plan.update else [])
    if not changes:
        return
    if scheme is None:
        raise AdminError("plugin users need a password scheme to be hashed with")
    for change in changes:
        user = change.user
        try:
            hashed = scheme.hash(user.password)
            backend.put_plugin_user(PluginUser(user.name, hashed, disabled=user.disabled))
        except (BackendError, ValueError) as exc:
            result.failed.append((user.name, f"plugin user not stored: {exc}"))
            continue
        if change.current is None:
            result.users_added += 1
        else:
            result.users_updated += 1


def apply_import(
    backend: IdentityBackend,
    kdc: KdcConfig,
    plan: ImportPlan,
    *,
    actor: Actor,
    scheme: PasswordScheme | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> ImportResult:
    """Write what ``plan`` says (see the module docstring) on behalf of ``actor``;
    returns what was written."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    result = ImportResult()
    audit = AuditTrail.for_realm(backend, kdc, actor)
    with audit.change(
        "import", plan.location, atomic=False, source=plan.kind, update=plan.update
    ) as change:
        if plan.initialize:
            _fresh(backend, kdc, plan, result, audit)
            if progress is not None:
                progress(result.added + result.updated, result.added + result.updated)
        else:
            _merge(backend, plan, result, chunk, progress)
        _users(backend, plan, scheme, result)
        change.note(
            initialized=result.initialized,
            added=result.added,
            updated=result.updated,
            users_added=result.users_added,
            users_updated=result.users_updated,
            failed=[name for name, _why in result.failed[:100]],
        )
        if result.failed:
            change.failed(f"{len(result.failed)} principal(s) or user(s) not written")
        elif not (result.initialized or result.added or result.updated) and not (
            result.users_added or result.users_updated
        ):
            change.unchanged()
    return result
