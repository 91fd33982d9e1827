"""Service tickets made in-process for the GSS-API unit tests (no KDC involved).

``make_service_ticket`` plays the KDC: it encrypts an EncTicketPart under a service
key and hands back what a client would hold (``Credentials``). ``ap_req_token``
builds AP-REQ tokens the way ``Krb5Initiator`` does, but with every field open to
tampering, for the negative tests.
"""

from __future__ import annotations

import os
import time

from has_kdc.asn1 import (
    ApReq,
    Authenticator,
    Checksum,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    PrincipalName,
    Ticket,
    TransitedEncoding,
    encode,
)
from has_kdc.asn1.constants import (
    KU_AP_REQ_AUTH,
    KU_TICKET,
    NT_PRINCIPAL,
    NT_SRV_HST,
    APOptions,
    TicketFlags,
)
from has_kdc.client.kdc_client import Credentials
from has_kdc.crypto import enctype_by_id
from has_kdc.gss import GSS_CHECKSUM_TYPE, GssChecksum, GssFlags
from has_kdc.gss.framing import KRB5_OID
from has_kdc.gss.krb5mech import TOK_AP_REQ, krb5_token

REALM = "HADOOP.COM"
SERVICE = f"HTTP/www.hadoop.com@{REALM}"


def random_key(etype: int = 18) -> EncryptionKey:
    et = enctype_by_id(etype)
    return EncryptionKey(etype, et.random_to_key(os.urandom(et.key_seed_size)))


class FakeKeys:
    """A KeyLookup over a dict {(principal, kvno): key}."""

    def __init__(self, keys: dict[tuple[str, int], EncryptionKey]) -> None:
        self.keys = keys
        self.calls: list[tuple[str, int | None, int]] = []

    def __call__(self, principal: str, kvno: int | None, enctype: int) -> EncryptionKey | None:
        self.calls.append((principal, kvno, enctype))
        key = self.keys.get((principal, kvno if kvno is not None else 1))
        return key if key is not None and key.keytype == enctype else None


def make_service_ticket(
    service_key: EncryptionKey,
    *,
    client: str = "alice",
    service: tuple[str, ...] = ("HTTP", "www.hadoop.com"),
    kvno: int = 1,
    now: float | None = None,
    lifetime: int = 3600,
    starttime: int | None = None,
    session_etype: int = 18,
    flags: int = int(TicketFlags.PRE_AUTHENT | TicketFlags.INITIAL),
) -> Credentials:
    now = time.time() if now is None else now
    session = random_key(session_etype)
    cname = PrincipalName(NT_PRINCIPAL, (client,))
    part = EncTicketPart(
        flags=flags,
        key=session,
        crealm=REALM,
        cname=cname,
        transited=TransitedEncoding(0, b""),
        authtime=int(now),
        starttime=starttime,
        endtime=int(now) + lifetime,
    )
    cipher = enctype_by_id(service_key.keytype).encrypt(
        service_key.keyvalue, KU_TICKET, encode(part)
    )
    sname = PrincipalName(NT_SRV_HST, service)
    ticket = Ticket(
        realm=REALM, sname=sname, enc_part=EncryptedData(service_key.keytype, cipher, kvno)
    )
    return Credentials(
        crealm=REALM,
        cname=cname,
        srealm=REALM,
        sname=sname,
        ticket=ticket,
        session_key=session,
        flags=flags,
        authtime=int(now),
        endtime=int(now) + lifetime,
    )


def ap_req_token(
    creds: Credentials,
    *,
    flags: int = GssFlags.MUTUAL | GssFlags.INTEG | GssFlags.SEQUENCE,
    cksum: Checksum | bool | None = True,
    now: float | None = None,
    cname: PrincipalName | None = None,
    session_key: EncryptionKey | None = None,
    ticket: Ticket | None = None,
    mech: str = KRB5_OID,
    ap_options: int | None = None,
) -> bytes:
    """An AP-REQ token; ``cksum=True`` is a proper 0x8003 checksum, ``None`` none at all."""
    now = time.time() if now is None else now
    if cksum is True:
        cksum = Checksum(GSS_CHECKSUM_TYPE, GssChecksum(flags=flags).encode())
    key = session_key or creds.session_key
    authenticator = Authenticator(
        crealm=creds.crealm,
        cname=cname or creds.cname,
        cksum=cksum or None,
        cusec=int((now % 1) * 1_000_000),
        ctime=int(now),
        seq_number=12345,
    )
    cipher = enctype_by_id(key.keytype).encrypt(key.keyvalue, KU_AP_REQ_AUTH, encode(authenticator))
    if ap_options is None:
        ap_options = int(APOptions.MUTUAL_REQUIRED) if flags & GssFlags.MUTUAL else 0
    ap_req = ApReq(
        ap_options=ap_options,
        ticket=ticket or creds.ticket,
        authenticator=EncryptedData(key.keytype, cipher),
    )
    return krb5_token(TOK_AP_REQ, encode(ap_req), mech)
