"""The one error type of identity administration.

Every refusal a user can meet from ``addprinc``, ``ktadd``, ``init`` and the rest is an
`AdminError` whose message names the principal or file and says what is wrong, so the
CLIs, the REST API and the Ansible modules can show it unchanged. Messages never carry
a password or key.
"""

from __future__ import annotations


class AdminError(Exception):
    """An administrative operation that cannot be done as asked."""


class PrincipalExistsError(AdminError):
    """``addprinc``/``renprinc`` onto a name that is already taken."""

    def __init__(self, name: str):
        self.principal = name
        super().__init__(f"principal {name} already exists")


class NoSuchPrincipalError(AdminError):
    """An operation on a principal that is not in the database."""

    def __init__(self, name: str):
        self.principal = name
        super().__init__(f"principal {name} does not exist")


class RealmNotInitializedError(AdminError):
    """An operation that needs the realm's built-in principals before ``init`` ran."""
