"""The Kerberos V5 GSS-API mechanism (RFC 4121), context establishment only.

Tokens (RFC 4121 §4.1): an initial context token is the GSS-API framing around
TOK_ID ``01 00`` and a KRB_AP_REQ; the acceptor answers mutual authentication with
the same framing around TOK_ID ``02 00`` and a KRB_AP_REP (MIT and Windows clients
both expect the framing on the reply). A ``03 00`` token carries a KRB_ERROR.

The authenticator's checksum is not a real checksum but the GSS-API "checksum"
type 0x8003 (RFC 4121 §4.1.1), little-endian fields::

    Lgth (4) = 16 | Bnd (16) | Flags (4) [| DlgOpt (2) = 1 | Dlgth (2) | Deleg] [| Exts]

``Bnd`` is the MD5 of the channel bindings, or zeros; ``Flags`` are the GSS context
flags the initiator asks for (DELEG, MUTUAL, REPLAY, SEQUENCE, CONF, INTEG, ...).

``Krb5Acceptor.accept`` checks everything RFC 4120 §3.2.3 asks of an application
server: the ticket decrypts under the service key and is within its times (give or
take the clock skew), the authenticator decrypts under the ticket's session key,
names the ticket's client, is fresh and has not been seen before. ``Krb5Initiator``
is the other side, used by hadmin-remote and the tests.

Pure functions of bytes apart from two injected things: the service key lookup and
the replay cache. Nothing here logs; errors say what was wrong, never with key bytes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from has_kdc.asn1 import (
    ApRep,
    ApReq,
    Asn1Error,
    Authenticator,
    Checksum,
    EncApRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    PrincipalName,
    Ticket,
    decode_ap_rep,
    decode_ap_req,
    decode_authenticator,
    decode_enc_ap_rep_part,
    decode_enc_ticket_part,
    decode_krb_error,
    encode,
)
from has_kdc.asn1.constants import (
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_MUT_FAIL,
    KRB_AP_ERR_NOKEY,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_REPEAT,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KU_AP_REP_ENC_PART,
    KU_AP_REQ_AUTH,
    KU_TICKET,
    APOptions,
    TicketFlags,
    error_name,
)
from has_kdc.crypto import CryptoError, IntegrityError, enctype_by_id
from has_kdc.gss.errors import (
    BAD_BINDINGS,
    BAD_MECH,
    BAD_SIG,
    CREDENTIALS_EXPIRED,
    DEFECTIVE_CREDENTIAL,
    DEFECTIVE_TOKEN,
    DUPLICATE_TOKEN,
    FAILURE,
    NO_CRED,
    GssError,
)
from has_kdc.gss.framing import KRB5_OID, KRB5_OIDS, unwrap_token, wrap_token
from has_kdc.gss.keys import KeyLookup
from has_kdc.gss.replay import ReplayCache
from has_kdc.principal import format_principal

__all__ = [
    "DEFAULT_SKEW",
    "GSS_CHECKSUM_TYPE",
    "GssChecksum",
    "GssFlags",
    "Krb5Acceptor",
    "Krb5Context",
    "Krb5Initiator",
    "ServiceTicket",
    "channel_bindings_hash",
    "krb5_token",
    "parse_krb5_token",
]

TOK_AP_REQ = b"\x01\x00"
TOK_AP_REP = b"\x02\x00"
TOK_KRB_ERROR = b"\x03\x00"

#: RFC 4121 §4.1.1: the authenticator "checksum" type of the GSS-API Kerberos mechanism.
GSS_CHECKSUM_TYPE = 0x8003
_BND_LENGTH = 16
_NO_BINDINGS = bytes(_BND_LENGTH)

#: MIT's default clock skew (krb5.conf ``clockskew``), seconds.
DEFAULT_SKEW = 300


class GssFlags:
    """GSS-API context flags (RFC 2744 values, as they travel in the 0x8003 checksum)."""

    DELEG = 0x01
    MUTUAL = 0x02
    REPLAY = 0x04
    SEQUENCE = 0x08
    CONF = 0x10
    INTEG = 0x20
    ANON = 0x40
    DCE_STYLE = 0x1000
    IDENTIFY = 0x2000
    EXTENDED_ERROR = 0x4000


def channel_bindings_hash(
    application_data: bytes,
    *,
    initiator_addrtype: int = 0,
    initiator_address: bytes = b"",
    acceptor_addrtype: int = 0,
    acceptor_address: bytes = b"",
) -> bytes:
    """``Bnd``: MD5 over the gss_channel_bindings_struct as RFC 4121 §4.1.1.2 lays it out.

    For TLS channel bindings (RFC 5929) the addresses are empty and
    ``application_data`` is e.g. ``b"tls-server-end-point:" + certificate hash``.
    """
    parts = [
        struct.pack("<II", initiator_addrtype, len(initiator_address)),
        initiator_address,
        struct.pack("<II", acceptor_addrtype, len(acceptor_address)),
        acceptor_address,
        struct.pack("<I", len(application_data)),
        application_data,
    ]
    return hashlib.md5(b"".join(parts), usedforsecurity=False).digest()


@dataclass(frozen=True)
class GssChecksum:
    """The content of an authenticator checksum of type 0x8003."""

    flags: int
    bindings: bytes = _NO_BINDINGS
    delegation: bytes | None = field(default=None, repr=False)  # KRB-CRED, when DELEG
    extensions: bytes = b""

    def encode(self) -> bytes:
        out = struct.pack("<I", _BND_LENGTH) + self.bindings + struct.pack("<I", self.flags)
        if self.delegation is not None:
            out += struct.pack("<HH", 1, len(self.delegation)) + self.delegation
        return out + self.extensions

    @classmethod
    def decode(cls, data: bytes) -> GssChecksum:
        if len(data) < 24:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator checksum 0x8003 is {len(data)} bytes, at least 24 expected "
                "(RFC 4121 §4.1.1)",
                minor=KRB_AP_ERR_INAPP_CKSUM,
            )
        (lgth,) = struct.unpack_from("<I", data, 0)
        if lgth != _BND_LENGTH:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator checksum 0x8003 has Lgth {lgth}, must be 16 (RFC 4121 §4.1.1)",
                minor=KRB_AP_ERR_INAPP_CKSUM,
            )
        bindings = data[4:20]
        (flags,) = struct.unpack_from("<I", data, 20)
        rest = data[24:]
        delegation = None
        if flags & GssFlags.DELEG:
            if len(rest) < 4:
                raise GssError(
                    DEFECTIVE_TOKEN,
                    "authenticator checksum 0x8003 sets DELEG but carries no delegation field",
                    minor=KRB_AP_ERR_INAPP_CKSUM,
                )
            dlg_opt, dlgth = struct.unpack_from("<HH", rest, 0)
            if dlg_opt != 1 or len(rest) < 4 + dlgth:
                raise GssError(
                    DEFECTIVE_TOKEN,
                    f"authenticator checksum 0x8003 has a malformed delegation field "
                    f"(DlgOpt {dlg_opt}, Dlgth {dlgth}, {len(rest) - 4} bytes left)",
                    minor=KRB_AP_ERR_INAPP_CKSUM,
                )
            delegation = rest[4 : 4 + dlgth]
            rest = rest[4 + dlgth :]
        return cls(flags=flags, bindings=bindings, delegation=delegation, extensions=rest)


def krb5_token(tok_id: bytes, message: bytes, mech: str = KRB5_OID) -> bytes:
    """A framed Kerberos mechanism token: GSS framing, TOK_ID, then the message."""
    return wrap_token(mech, tok_id + message)


def parse_krb5_token(token: bytes) -> tuple[str, bytes, bytes]:
    """``(mech OID, TOK_ID, message)`` of a framed Kerberos mechanism token."""
    mech, inner = unwrap_token(token)
    if mech not in KRB5_OIDS:
        raise GssError(
            BAD_MECH,
            f"token is for mechanism {mech}, not Kerberos ({KRB5_OID} or its Microsoft alias)",
        )
    if len(inner) < 2:
        raise GssError(DEFECTIVE_TOKEN, "Kerberos token has no TOK_ID")
    return mech, inner[:2], inner[2:]


def _krb_error_text(message: bytes) -> str:
    try:
        err = decode_krb_error(message)
    except Asn1Error:
        return "an undecodable KRB-ERROR"
    text = f": {err.e_text}" if err.e_text else ""
    return f"KRB-ERROR {err.error_code} ({error_name(err.error_code)}){text}"


def _split_time(now: float) -> tuple[int, int]:
    seconds = int(now)
    return seconds, int((now - seconds) * 1_000_000) % 1_000_000


def _ap_rep_token(
    authenticator: Authenticator, session_key: EncryptionKey, acceptor_seq: int, mech: str
) -> bytes:
    """The AP-REP token of mutual authentication: the authenticator's time, sealed in the
    session key, with the acceptor's first sequence number."""
    enc_part = EncApRepPart(
        ctime=authenticator.ctime,
        cusec=authenticator.cusec,
        seq_number=acceptor_seq,
    )
    et = enctype_by_id(session_key.keytype)
    cipher = et.encrypt(session_key.keyvalue, KU_AP_REP_ENC_PART, encode(enc_part))
    ap_rep = ApRep(enc_part=EncryptedData(session_key.keytype, cipher))
    return krb5_token(TOK_AP_REP, encode(ap_rep), mech)


@dataclass(frozen=True)
class Krb5Context:
    """An established Kerberos security context, as the acceptor (or initiator) sees it."""

    client: str  # cname@crealm in MIT text form
    service: str  # sname@realm of the ticket
    mech: str  # the OID the initiator used (KRB5_OID or MS_KRB5_OID)
    flags: int  # GssFlags the initiator asked for
    session_key: EncryptionKey = field(repr=False)
    initiator_subkey: EncryptionKey | None = field(default=None, repr=False)
    acceptor_subkey: EncryptionKey | None = field(default=None, repr=False)
    initiator_seq: int | None = None
    acceptor_seq: int | None = None
    authtime: int | None = None
    endtime: int | None = None
    channel_bound: bool = False  # the initiator's Bnd matched the expected bindings
    delegated: bool = False  # a KRB-CRED came along (not used by has-kdc)
    output_token: bytes | None = field(default=None, repr=False)  # the AP-REP token, if any

    @property
    def mutual(self) -> bool:
        return self.output_token is not None

    @property
    def context_key(self) -> EncryptionKey:
        """The key for per-message tokens (RFC 4121 §2): acceptor subkey, else the
        initiator subkey, else the ticket session key."""
        return self.acceptor_subkey or self.initiator_subkey or self.session_key


class Krb5Acceptor:
    """Accepts Kerberos initial context tokens for the service keys ``keys`` knows.

    ``services``: the service principals tickets may be for (e.g. ``{"HTTP/host@REALM"}``);
    ``None`` accepts a ticket for any principal the key lookup has a key for, as MIT
    does with ``ignore_acceptor_hostname``. ``channel_bindings``: the expected
    application data of the channel bindings (see ``channel_bindings_hash``); an
    initiator that sends none is still accepted, one that sends other ones is not.
    """

    def __init__(
        self,
        keys: KeyLookup,
        *,
        services: Collection[str] | None = None,
        replay_cache: ReplayCache | None = None,
        skew: int = DEFAULT_SKEW,
        clock: Callable[[], float] = time.time,
        channel_bindings: bytes | None = None,
    ) -> None:
        self.keys = keys
        self.services = frozenset(services) if services is not None else None
        self.skew = skew
        self.replay_cache = replay_cache if replay_cache is not None else ReplayCache(skew)
        self.clock = clock
        self._expected_bnd = (
            channel_bindings_hash(channel_bindings) if channel_bindings is not None else None
        )

    def accept(self, token: bytes) -> Krb5Context:
        """Check an initial context token; the context, with the AP-REP token if MUTUAL."""
        mech, tok_id, message = parse_krb5_token(token)
        if tok_id == TOK_KRB_ERROR:
            raise GssError(DEFECTIVE_TOKEN, f"initiator sent {_krb_error_text(message)}")
        if tok_id != TOK_AP_REQ:
            raise GssError(
                DEFECTIVE_TOKEN, f"Kerberos token has TOK_ID {tok_id.hex()}, expected 0100 (AP-REQ)"
            )
        try:
            ap_req = decode_ap_req(message)
        except Asn1Error as err:
            raise GssError(DEFECTIVE_TOKEN, f"malformed AP-REQ: {err}") from None
        return self.accept_ap_req(ap_req, mech)

    def accept_ap_req(self, ap_req: ApReq, mech: str = KRB5_OID) -> Krb5Context:
        now = self.clock()
        service = self._service_of(ap_req)
        enc_ticket = self._decrypt_ticket(ap_req.ticket, service)
        client = format_principal(enc_ticket.cname.components, enc_ticket.crealm)
        self._check_ticket_times(enc_ticket, client, service, now)

        session_key = enc_ticket.key
        authenticator = self._decrypt_authenticator(ap_req, session_key, client)
        self._check_authenticator(authenticator, enc_ticket, client, now)
        gss_cksum = self._gss_checksum(authenticator, client)
        channel_bound = self._channel_bound(gss_cksum, client)
        if gss_cksum.flags & GssFlags.DCE_STYLE:
            raise GssError(FAILURE, "DCE-style Kerberos contexts are not supported")
        self._check_replay(ap_req, authenticator, client, service, now)

        output = None
        acceptor_seq = None
        if gss_cksum.flags & GssFlags.MUTUAL or ap_req.ap_options & APOptions.MUTUAL_REQUIRED:
            acceptor_seq = secrets.randbits(30)
            output = _ap_rep_token(authenticator, session_key, acceptor_seq, mech)
        return Krb5Context(
            client=client,
            service=service,
            mech=mech,
            flags=gss_cksum.flags,
            session_key=session_key,
            initiator_subkey=authenticator.subkey,
            initiator_seq=authenticator.seq_number,
            acceptor_seq=acceptor_seq,
            authtime=enc_ticket.authtime,
            endtime=enc_ticket.endtime,
            channel_bound=channel_bound,
            delegated=gss_cksum.delegation is not None,
            output_token=output,
        )

    # -- the steps -------------------------------------------------------------

    def _service_of(self, ap_req: ApReq) -> str:
        """The service the ticket is for, if this acceptor is that service."""
        if ap_req.ap_options & APOptions.USE_SESSION_KEY:
            raise GssError(
                FAILURE, "user-to-user AP-REQ (USE-SESSION-KEY) is not supported by this service"
            )
        ticket = ap_req.ticket
        service = format_principal(ticket.sname.components, ticket.realm)
        if self.services is not None and service not in self.services:
            raise GssError(
                NO_CRED,
                f"ticket is for {service}, this service accepts "
                + ", ".join(sorted(self.services)),
                minor=KRB_AP_ERR_NOT_US,
            )
        return service

    def _check_authenticator(
        self, authenticator: Authenticator, enc_ticket: EncTicketPart, client: str, now: float
    ) -> None:
        """The authenticator speaks for the ticket's client, and was made just now."""
        if (
            authenticator.crealm != enc_ticket.crealm
            or authenticator.cname.components != enc_ticket.cname.components
        ):
            named = format_principal(authenticator.cname.components, authenticator.crealm)
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator names {named} but the ticket was issued to {client}",
                minor=KRB_AP_ERR_BADMATCH,
            )
        if abs(authenticator.ctime - now) > self.skew:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator time of {client} is {int(authenticator.ctime - now):+d} s from "
                f"this server's clock (allowed skew {self.skew} s): check the clocks",
                minor=KRB_AP_ERR_SKEW,
            )

    def _channel_bound(self, gss_cksum: GssChecksum, client: str) -> bool:
        """Whether the context is bound to this connection: bindings the initiator sent
        must match the expected ones; none sent, or none expected, is an unbound context."""
        if gss_cksum.bindings == _NO_BINDINGS or self._expected_bnd is None:
            return False
        if gss_cksum.bindings != self._expected_bnd:
            raise GssError(
                BAD_BINDINGS,
                f"channel bindings sent by {client} do not match this connection",
            )
        return True

    def _check_replay(
        self, ap_req: ApReq, authenticator: Authenticator, client: str, service: str, now: float
    ) -> None:
        if not self.replay_cache.check_and_store(
            client,
            service,
            authenticator.ctime,
            authenticator.cusec,
            ap_req.authenticator.cipher,
            now,
        ):
            raise GssError(
                DUPLICATE_TOKEN,
                f"authenticator of {client} was already used (replay)",
                minor=KRB_AP_ERR_REPEAT,
            )

    def _decrypt_ticket(self, ticket: Ticket, service: str) -> EncTicketPart:
        enc = ticket.enc_part
        try:
            et = enctype_by_id(enc.etype)
        except CryptoError as err:
            raise GssError(DEFECTIVE_CREDENTIAL, f"ticket for {service}: {err}") from None
        key = self.keys(service, enc.kvno, enc.etype)
        kvno = "no kvno" if enc.kvno is None else f"kvno {enc.kvno}"
        if key is None:
            raise GssError(
                NO_CRED,
                f"no key for {service} ({kvno}, {et.label}): the service keytab "
                "does not hold the key this ticket was issued under",
                minor=KRB_AP_ERR_NOKEY,
            )
        try:
            plain = et.decrypt(key.keyvalue, KU_TICKET, enc.cipher)
        except CryptoError:
            raise GssError(
                DEFECTIVE_CREDENTIAL,
                f"ticket for {service} ({kvno}, {et.label}) does not decrypt with this "
                "service's key: the ticket was altered, or the keytab is out of date",
                minor=KRB_AP_ERR_BAD_INTEGRITY,
            ) from None
        try:
            return decode_enc_ticket_part(plain)
        except Asn1Error:
            raise GssError(
                DEFECTIVE_CREDENTIAL, f"ticket for {service} decrypts to a malformed EncTicketPart"
            ) from None

    def _check_ticket_times(
        self, enc_ticket: EncTicketPart, client: str, service: str, now: float
    ) -> None:
        start = enc_ticket.starttime if enc_ticket.starttime is not None else enc_ticket.authtime
        if start - self.skew > now or enc_ticket.flags & TicketFlags.INVALID:
            raise GssError(
                DEFECTIVE_CREDENTIAL,
                f"ticket of {client} for {service} is not yet valid",
                minor=KRB_AP_ERR_TKT_NYV,
            )
        if now - self.skew > enc_ticket.endtime:
            raise GssError(
                CREDENTIALS_EXPIRED,
                f"ticket of {client} for {service} expired {int(now - enc_ticket.endtime)} s "
                "ago: get a new one (kinit)",
                minor=KRB_AP_ERR_TKT_EXPIRED,
            )

    def _decrypt_authenticator(
        self, ap_req: ApReq, session_key: EncryptionKey, client: str
    ) -> Authenticator:
        enc = ap_req.authenticator
        if enc.etype != session_key.keytype:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator of {client} is in enctype {enc.etype}, the session key "
                f"is enctype {session_key.keytype}",
                minor=KRB_AP_ERR_BAD_INTEGRITY,
            )
        try:
            plain = enctype_by_id(enc.etype).decrypt(
                session_key.keyvalue, KU_AP_REQ_AUTH, enc.cipher
            )
        except CryptoError:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator of {client} does not decrypt with the ticket's session key",
                minor=KRB_AP_ERR_BAD_INTEGRITY,
            ) from None
        try:
            return decode_authenticator(plain)
        except Asn1Error:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator of {client} is malformed",
                minor=KRB_AP_ERR_MODIFIED,
            ) from None

    @staticmethod
    def _gss_checksum(authenticator: Authenticator, client: str) -> GssChecksum:
        cksum = authenticator.cksum
        if cksum is None:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator of {client} has no checksum; the GSS-API Kerberos mechanism "
                "requires checksum type 0x8003 (RFC 4121 §4.1.1)",
                minor=KRB_AP_ERR_INAPP_CKSUM,
            )
        if cksum.cksumtype != GSS_CHECKSUM_TYPE:
            raise GssError(
                DEFECTIVE_TOKEN,
                f"authenticator of {client} has checksum type {cksum.cksumtype}, the GSS-API "
                "Kerberos mechanism requires 0x8003 (32771, RFC 4121 §4.1.1)",
                minor=KRB_AP_ERR_INAPP_CKSUM,
            )
        return GssChecksum.decode(cksum.checksum)


class ServiceTicket(Protocol):
    """What the initiator needs of a service ticket (``has_kdc.client`` ``Credentials``)."""

    @property
    def crealm(self) -> str: ...
    @property
    def cname(self) -> PrincipalName: ...
    @property
    def ticket(self) -> Ticket: ...
    @property
    def session_key(self) -> EncryptionKey: ...


DEFAULT_INITIATOR_FLAGS = GssFlags.MUTUAL | GssFlags.INTEG | GssFlags.SEQUENCE


class Krb5Initiator:
    """The client side: an AP-REQ token from a service ticket, and the AP-REP check.

    As MIT's initiator does, the authenticator carries a fresh subkey and an initial
    sequence number, and MUTUAL sets the AP-REQ's MUTUAL-REQUIRED option too.
    """

    def __init__(
        self,
        creds: ServiceTicket,
        *,
        flags: int = DEFAULT_INITIATOR_FLAGS,
        mech: str = KRB5_OID,
        channel_bindings: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.creds = creds
        self.flags = flags
        self.mech = mech
        self.clock = clock
        self._bindings = (
            channel_bindings_hash(channel_bindings)
            if channel_bindings is not None
            else _NO_BINDINGS
        )
        self._ctime: int | None = None
        self._cusec: int | None = None
        self.subkey: EncryptionKey | None = None
        self.seq_number: int | None = None
        self.acceptor_seq: int | None = None
        self.acceptor_subkey: EncryptionKey | None = None
        self.established = False

    def initial_token(self) -> bytes:
        """The framed AP-REQ token (TOK_ID 01 00)."""
        session = self.creds.session_key
        et = enctype_by_id(session.keytype)
        self.subkey = EncryptionKey(et.etype, et.random_to_key(os.urandom(et.key_seed_size)))
        self.seq_number = secrets.randbits(30)
        self._ctime, self._cusec = _split_time(self.clock())
        authenticator = Authenticator(
            crealm=self.creds.crealm,
            cname=self.creds.cname,
            cksum=Checksum(
                GSS_CHECKSUM_TYPE, GssChecksum(flags=self.flags, bindings=self._bindings).encode()
            ),
            cusec=self._cusec,
            ctime=self._ctime,
            subkey=self.subkey,
            seq_number=self.seq_number,
        )
        cipher = et.encrypt(session.keyvalue, KU_AP_REQ_AUTH, encode(authenticator))
        options = APOptions.MUTUAL_REQUIRED if self.flags & GssFlags.MUTUAL else 0
        ap_req = ApReq(
            ap_options=int(options),
            ticket=self.creds.ticket,
            authenticator=EncryptedData(session.keytype, cipher),
        )
        if not self.flags & GssFlags.MUTUAL:
            self.established = True
        return krb5_token(TOK_AP_REQ, encode(ap_req), self.mech)

    def process_reply(self, token: bytes) -> None:
        """Check the acceptor's AP-REP token; ``GssError`` unless it proves the service."""
        if self._ctime is None:
            raise GssError(FAILURE, "no AP-REQ was sent, so there is no reply to check")
        _mech, tok_id, message = parse_krb5_token(token)
        if tok_id == TOK_KRB_ERROR:
            raise GssError(FAILURE, f"service answered with {_krb_error_text(message)}")
        if tok_id != TOK_AP_REP:
            raise GssError(
                DEFECTIVE_TOKEN, f"reply token has TOK_ID {tok_id.hex()}, expected 0200 (AP-REP)"
            )
        try:
            ap_rep = decode_ap_rep(message)
        except Asn1Error as err:
            raise GssError(DEFECTIVE_TOKEN, f"malformed AP-REP: {err}") from None
        session = self.creds.session_key
        try:
            plain = enctype_by_id(ap_rep.enc_part.etype).decrypt(
                session.keyvalue, KU_AP_REP_ENC_PART, ap_rep.enc_part.cipher
            )
            enc = decode_enc_ap_rep_part(plain)
        except (IntegrityError, CryptoError, Asn1Error):
            raise GssError(
                BAD_SIG,
                "AP-REP does not decrypt with the ticket's session key: the reply is not "
                "from the service the ticket is for",
                minor=KRB_AP_ERR_MUT_FAIL,
            ) from None
        if (enc.ctime, enc.cusec) != (self._ctime, self._cusec):
            raise GssError(
                BAD_SIG,
                "AP-REP does not echo the authenticator's time (mutual authentication failed)",
                minor=KRB_AP_ERR_MUT_FAIL,
            )
        self.acceptor_seq = enc.seq_number
        self.acceptor_subkey = enc.subkey
        self.established = True
