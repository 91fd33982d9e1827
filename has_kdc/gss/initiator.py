"""The client side of HTTP Negotiate: a SPNEGO-wrapped Kerberos token, and the reply check.

::

    init = NegotiateInitiator(service_creds)          # a ticket for HTTP/host@REALM
    headers = {"Authorization": init.authorization()}
    ... response ...
    init.verify(response.headers.get("WWW-Authenticate"))   # GssError unless mutual

The token is what MIT sends: negTokenInit listing Kerberos with an optimistic
Kerberos AP-REQ (flags MUTUAL, INTEG, SEQUENCE), no mechListMIC.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from has_kdc.gss.errors import BAD_SIG, DEFECTIVE_TOKEN, FAILURE, GssError
from has_kdc.gss.framing import KRB5_OID, KRB5_OIDS, is_framed
from has_kdc.gss.http import negotiate_header, parse_negotiate
from has_kdc.gss.krb5mech import DEFAULT_INITIATOR_FLAGS, Krb5Initiator, ServiceTicket
from has_kdc.gss.spnego import (
    ACCEPT_COMPLETED,
    NegTokenInit,
    NegTokenResp,
    decode_negotiation_token,
)


class NegotiateInitiator:
    """One SPNEGO/Kerberos context from a service ticket (``spnego=False``: bare Kerberos)."""

    def __init__(
        self,
        creds: ServiceTicket,
        *,
        flags: int = DEFAULT_INITIATOR_FLAGS,
        spnego: bool = True,
        mech: str = KRB5_OID,
        channel_bindings: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.krb5 = Krb5Initiator(
            creds, flags=flags, mech=mech, channel_bindings=channel_bindings, clock=clock
        )
        self.spnego = spnego
        self.mech = mech

    @property
    def established(self) -> bool:
        return self.krb5.established

    def initial_token(self) -> bytes:
        krb5_token = self.krb5.initial_token()
        if not self.spnego:
            return krb5_token
        return NegTokenInit(mech_types=(self.mech,), mech_token=krb5_token).encode()

    def authorization(self) -> str:
        """The ``Authorization`` header value for the first request."""
        return negotiate_header(self.initial_token())

    def process_reply(self, token: bytes) -> None:
        """Check the acceptor's reply token (SPNEGO negTokenResp or bare AP-REP)."""
        if not self.spnego or is_framed(token):
            self.krb5.process_reply(token)
            return
        resp = decode_negotiation_token(token)
        if not isinstance(resp, NegTokenResp):
            raise GssError(DEFECTIVE_TOKEN, "server answered with a negTokenInit")
        if resp.neg_state != ACCEPT_COMPLETED:
            raise GssError(FAILURE, f"server answered SPNEGO negState {resp.state_name}")
        if resp.supported_mech is not None and resp.supported_mech not in KRB5_OIDS:
            raise GssError(FAILURE, f"server chose mechanism {resp.supported_mech}")
        if resp.response_token is None:
            if not self.krb5.established:
                raise GssError(BAD_SIG, "server sent no mutual-authentication token")
            return
        self.krb5.process_reply(resp.response_token)

    def verify(self, www_authenticate: str | None) -> None:
        """Check the ``WWW-Authenticate`` of the final response; ``GssError`` if the
        server did not prove itself (when mutual authentication was asked for)."""
        token = parse_negotiate(www_authenticate)
        if token is None:
            if not self.krb5.established:
                raise GssError(
                    BAD_SIG, "server sent no Negotiate token: not mutually authenticated"
                )
            return
        self.process_reply(token)
