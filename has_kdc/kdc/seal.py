"""The ticket sealed under the server's key: the step the AS and TGS exchanges share.

MIT's ``kdc_get_server_key`` and ``krb5_encrypt_tkt_part`` (do_as_req.c,
do_tgs_req.c): the ticket is encrypted under the server's current key of the first
enctype the realm permits, whatever the client asked for, and names that key's kvno.
"""

from __future__ import annotations

from has_kdc.asn1.constants import KDC_ERR_ETYPE_NOSUPP, KU_TICKET
from has_kdc.asn1.messages import EncryptedData, PrincipalName, Ticket
from has_kdc.crypto import enctype_by_id
from has_kdc.kdc import policy
from has_kdc.kdc.context import RealmContext
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.principal_cache import CachedPrincipal

__all__ = ["seal_ticket"]


def seal_ticket(
    ctx: RealmContext, server: CachedPrincipal, sname: PrincipalName, enc_ticket: bytes
) -> tuple[Ticket, int]:
    """The ticket for ``server`` holding ``enc_ticket``, the DER of its EncTicketPart
    (encrypted with usage 2), and its enctype.

    Raises ``KdcError`` when the server has no key the realm permits.
    """
    ticket_etype = policy.select_ticket_key_enctype(server.current_keys, ctx.permitted)
    if ticket_etype is None:
        raise KdcError(KDC_ERR_ETYPE_NOSUPP, "FINDING_SERVER_KEY")
    server_key = server.current_keys[ticket_etype]
    cipher = enctype_by_id(ticket_etype).encrypt(server_key.key, KU_TICKET, enc_ticket)
    ticket = Ticket(
        realm=ctx.realm,
        sname=sname,
        enc_part=EncryptedData(ticket_etype, cipher, server_key.kvno),
    )
    return ticket, ticket_etype
