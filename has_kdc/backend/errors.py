"""Errors of the identity store. Messages name principals, never keys or passwords."""

from __future__ import annotations

from has_kdc.principal import PrincipalNameError, normalize_principal


class BackendError(Exception):
    """Anything the identity store cannot do; the base of the others."""


class PrincipalNotFound(BackendError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"principal {name} does not exist")


class PrincipalExists(BackendError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"principal {name} already exists")


class ConcurrentModification(BackendError):
    """The principal changed since it was read; re-read it and apply the change again."""

    def __init__(self, name: str, expected: int, found: int):
        self.name = name
        self.expected = expected
        self.found = found
        super().__init__(
            f"principal {name} was changed by someone else (version {found}, expected "
            f"{expected}); read it again and retry"
        )


class BackendUnavailable(BackendError):
    """The store cannot be reached or is locked past the timeout; retrying later may work.

    The KDC answers requests that need the store with KDC_ERR_SVC_UNAVAILABLE.
    """


class SchemaError(BackendError):
    """The database schema is missing, or newer than this has-kdc understands."""


class TransactionConflict(BackendUnavailable):
    """The transaction was rolled back with nothing of it applied, and may be run again.

    A concurrent writer won (an InnoDB deadlock, a Galera certification conflict
    between two database hosts), or its database host left the cluster before it
    committed. ``IdentityBackend.run_transaction`` runs the work again; a single call
    of the store repeats itself.
    """


def stored_name(text: str) -> str:
    """``text`` in the canonical form the stores keep; a bad name is a store error.

    Callers that add principals in batches catch ``BackendError`` per name, so an
    over-long or malformed name must fail as one, not as a parser ``ValueError``.
    """
    try:
        return normalize_principal(text)
    except PrincipalNameError as exc:
        raise InvalidPrincipalName(str(exc)) from None


class InvalidPrincipalName(BackendError, PrincipalNameError):
    """A name the store refuses to keep: both a store error and a name error, for
    callers that catch either."""
