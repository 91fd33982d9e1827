"""One entry point for an HTTP ``Negotiate`` token: SPNEGO or a bare Kerberos token.

``Acceptor.accept(token)`` returns an ``AcceptResult``:

- ``complete`` with the client principal and the Kerberos context, and the token to
  send back (``output_token``: a SPNEGO negTokenResp for a SPNEGO client, the bare
  AP-REP token for a bare Kerberos client, ``None`` for a bare client that did not
  ask for mutual authentication);
- not ``complete`` when SPNEGO needs another round (Kerberos offered, but not as the
  optimistic first mechanism): ``output_token`` is a negTokenResp ``accept-incomplete``
  naming Kerberos, for a 401 reply. The client's next token is a negTokenResp
  carrying the Kerberos token, which ``accept`` takes like any other. This round is
  stateless on the server: the Kerberos token is checked in full (it alone
  authenticates); the mechListMIC that would protect the mechanism choice is not
  checked or sent, which costs nothing here because Kerberos is the only mechanism
  this acceptor will ever pick, so there is no weaker choice to be downgraded to.

Anything else raises ``GssError`` (for a 401); where SPNEGO has a ``reject`` to
send, the error carries it as ``output_token``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from has_kdc.gss.errors import BAD_MECH, DEFECTIVE_TOKEN, GssError
from has_kdc.gss.framing import KRB5_OIDS, SPNEGO_OID, is_framed, unwrap_token
from has_kdc.gss.krb5mech import Krb5Acceptor, Krb5Context
from has_kdc.gss.spnego import (
    ACCEPT_COMPLETED,
    ACCEPT_INCOMPLETE,
    REJECT,
    NegTokenInit,
    NegTokenResp,
    decode_negotiation_token,
)

#: Bytes of a Negotiate token accepted at most (a ticket with a large PAC is ~12 KB).
MAX_TOKEN_SIZE = 64 * 1024


@dataclass(frozen=True)
class AcceptResult:
    complete: bool
    output_token: bytes | None = field(default=None, repr=False)
    context: Krb5Context | None = None
    spnego: bool = False

    @property
    def principal(self) -> str | None:
        return self.context.client if self.context is not None else None


class Acceptor:
    """SPNEGO and bare Kerberos tokens in, an authenticated client principal out."""

    def __init__(self, krb5: Krb5Acceptor) -> None:
        self.krb5 = krb5

    def accept(self, token: bytes) -> AcceptResult:
        if not token:
            raise GssError(DEFECTIVE_TOKEN, "empty Negotiate token")
        if len(token) > MAX_TOKEN_SIZE:
            raise GssError(
                DEFECTIVE_TOKEN, f"Negotiate token of {len(token)} bytes exceeds {MAX_TOKEN_SIZE}"
            )
        if is_framed(token):
            mech, _ = unwrap_token(token)
            if mech in KRB5_OIDS:
                ctx = self.krb5.accept(token)
                return AcceptResult(True, ctx.output_token, ctx, spnego=False)
            if mech != SPNEGO_OID:
                raise GssError(BAD_MECH, f"token is for mechanism {mech}, not SPNEGO or Kerberos")
        neg = decode_negotiation_token(token)
        if isinstance(neg, NegTokenInit):
            return self._accept_init(neg)
        return self._accept_resp(neg)

    def _accept_init(self, init: NegTokenInit) -> AcceptResult:
        offered = [m for m in init.mech_types if m in KRB5_OIDS]
        if not offered:
            listed = ", ".join(init.mech_types) or "none"
            raise GssError(
                BAD_MECH,
                f"client offers no Kerberos mechanism (offered: {listed})",
                output_token=NegTokenResp(neg_state=REJECT).encode(),
            )
        first = init.mech_types[0]
        if first in KRB5_OIDS and init.mech_token is not None:
            ctx = self.krb5.accept(init.mech_token)
            reply = NegTokenResp(
                neg_state=ACCEPT_COMPLETED, supported_mech=first, response_token=ctx.output_token
            )
            return AcceptResult(True, reply.encode(), ctx, spnego=True)
        # Kerberos is offered but not optimistically: ask for a Kerberos token.
        reply = NegTokenResp(neg_state=ACCEPT_INCOMPLETE, supported_mech=offered[0])
        return AcceptResult(False, reply.encode(), None, spnego=True)

    def _accept_resp(self, resp: NegTokenResp) -> AcceptResult:
        if resp.response_token is None:
            raise GssError(DEFECTIVE_TOKEN, "SPNEGO negTokenResp from the client has no token")
        ctx = self.krb5.accept(resp.response_token)
        reply = NegTokenResp(
            neg_state=ACCEPT_COMPLETED, supported_mech=ctx.mech, response_token=ctx.output_token
        )
        return AcceptResult(True, reply.encode(), ctx, spnego=True)
