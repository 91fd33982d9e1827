"""The one exception of the GSS-API layer.

``GssError`` carries an RFC 2743 major status name (``major``), the Kerberos error
code behind it when there is one (``minor``, an RFC 4120 ``KRB_AP_ERR_*`` number), and
a message that says what was wrong with the token, in words safe to show a client
or write to a log: names, numbers and lengths, never key bytes, ticket plaintext or
the token itself. An HTTP front end maps every ``GssError`` to 401.

``output_token`` is set when the protocol has an answer to send back even though
the context failed (a SPNEGO ``reject``), so the front end can put it in the
``WWW-Authenticate`` header.
"""

from __future__ import annotations

# RFC 2743 §1.2.1.1 major status codes, by their GSS-API names.
DEFECTIVE_TOKEN = "GSS_S_DEFECTIVE_TOKEN"  # noqa: S105 (a status name)
DEFECTIVE_CREDENTIAL = "GSS_S_DEFECTIVE_CREDENTIAL"
CREDENTIALS_EXPIRED = "GSS_S_CREDENTIALS_EXPIRED"
BAD_MECH = "GSS_S_BAD_MECH"
BAD_SIG = "GSS_S_BAD_SIG"
BAD_BINDINGS = "GSS_S_BAD_BINDINGS"
DUPLICATE_TOKEN = "GSS_S_DUPLICATE_TOKEN"  # noqa: S105 (a status name)
NO_CRED = "GSS_S_NO_CRED"
FAILURE = "GSS_S_FAILURE"


class GssError(Exception):
    """A security context that could not be established (or a reply that does not verify)."""

    def __init__(
        self,
        major: str,
        message: str,
        *,
        minor: int | None = None,
        output_token: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.major = major
        self.minor = minor
        self.message = message
        self.output_token = output_token

    def __str__(self) -> str:
        return f"{self.major}: {self.message}"
