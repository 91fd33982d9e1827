"""A Kerberos client's half of the AS and TGS exchanges, as plain functions.

Build an AS-REQ (with or without PA-ENC-TIMESTAMP), a TGS-REQ (PA-TGS-REQ with an
authenticator whose checksum covers the request body), and read the replies: a
KRB-ERROR becomes ``KdcReplyError``, an AS-REP/TGS-REP is decrypted into
``Credentials``. ``KdcClient`` strings these together the way MIT kinit does
(ask, learn the salt from PREAUTH_REQUIRED, ask again with an encrypted timestamp)
over any ``send(request) -> reply`` function: a socket, or a KDC called directly
in a test.

Used by ``login-test``, the benchmarks and the KDC's own tests. Keys live in
``EncryptionKey`` objects whose repr hides them; nothing here logs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from has_kdc.asn1.codec import (
    decode_enc_kdc_rep_part,
    decode_etype_info2,
    decode_kdc_rep,
    decode_krb_error,
    decode_method_data,
    encode,
)
from has_kdc.asn1.constants import (
    KDC_ERR_PREAUTH_REQUIRED,
    KRB_AS_REP,
    KRB_AS_REQ,
    KRB_ERROR,
    KRB_TGS_REP,
    KRB_TGS_REQ,
    KU_AS_REP_ENC_PART,
    KU_PA_ENC_TIMESTAMP,
    KU_TGS_REP_ENC_PART_SESSION_KEY,
    KU_TGS_REP_ENC_PART_SUBKEY,
    KU_TGS_REQ_AUTH,
    KU_TGS_REQ_AUTH_CKSUM,
    NT_PRINCIPAL,
    NT_SRV_INST,
    PA_ENC_TIMESTAMP,
    PA_ETYPE_INFO2,
    PA_TGS_REQ,
    KDCOptions,
    error_name,
)
from has_kdc.asn1.messages import (
    ApReq,
    Authenticator,
    Checksum,
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    ETypeInfo2Entry,
    KdcRep,
    KdcReq,
    KdcReqBody,
    KrbError,
    PAData,
    PaEncTsEnc,
    PrincipalName,
    Ticket,
)
from has_kdc.crypto import checksum_by_type, enctype_by_id
from has_kdc.principal import default_salt, format_principal, parse_principal

__all__ = [
    "DEFAULT_AS_OPTIONS",
    "DEFAULT_ETYPES",
    "Credentials",
    "KdcClient",
    "KdcReplyError",
    "build_as_req",
    "build_tgs_req",
    "decrypt_as_rep",
    "decrypt_tgs_rep",
    "etype_info2_of",
    "pa_enc_timestamp",
    "parse_reply",
    "principal_name",
    "string_to_key",
]

#: MIT's default permitted_enctypes order for the enctypes has-kdc implements.
DEFAULT_ETYPES: tuple[int, ...] = (18, 17, 20, 19)
#: What MIT kinit asks for by default: forwardable (per krb5.conf) and renewable-ok.
DEFAULT_AS_OPTIONS = KDCOptions.FORWARDABLE | KDCOptions.RENEWABLE_OK
DEFAULT_LIFETIME = 24 * 3600
_KRB_ERROR_TAG = bytes((0x60 | KRB_ERROR,))  # [APPLICATION 30], constructed


class KdcReplyError(Exception):
    """The KDC answered with a KRB-ERROR; ``error`` holds it, ``code`` its number."""

    def __init__(self, error: KrbError) -> None:
        text = f": {error.e_text}" if error.e_text else ""
        super().__init__(f"KDC error {error.error_code} ({error_name(error.error_code)}){text}")
        self.error = error
        self.code = error.error_code


@dataclass(frozen=True)
class Credentials:
    """A ticket and what its owner knows about it (RFC 4120 §3.1.5)."""

    crealm: str
    cname: PrincipalName
    srealm: str
    sname: PrincipalName
    ticket: Ticket
    session_key: EncryptionKey = field(repr=False)
    flags: int
    authtime: int
    endtime: int
    starttime: int | None = None
    renew_till: int | None = None

    @property
    def client(self) -> str:
        return format_principal(self.cname.components, self.crealm)

    @property
    def server(self) -> str:
        return format_principal(self.sname.components, self.srealm)


def principal_name(text: str, realm: str) -> tuple[PrincipalName, str]:
    """Parse ``text`` (realm defaulting to ``realm``) into a wire name and its realm."""
    components, prealm = parse_principal(text, realm)
    name_type = NT_SRV_INST if len(components) > 1 else NT_PRINCIPAL
    return PrincipalName(name_type, components), prealm


def string_to_key(password: str | bytes, entry: ETypeInfo2Entry, default: bytes) -> EncryptionKey:
    """The long-term key for ``password`` as ETYPE-INFO2 ``entry`` describes it.

    ``default`` is the salt to use when the KDC sent none (the principal's default).
    """
    pw = password.encode("utf-8") if isinstance(password, str) else password
    et = enctype_by_id(entry.etype)
    salt = entry.salt if entry.salt is not None else default
    return EncryptionKey(entry.etype, et.string_to_key(pw, salt, entry.s2kparams))


def new_nonce() -> int:
    """A random 31-bit nonce (MIT masks nonces to 31 bits for old KDCs)."""
    return secrets.randbits(31)


def build_as_req(
    client: PrincipalName,
    realm: str,
    *,
    server: PrincipalName | None = None,
    etypes: Sequence[int] = DEFAULT_ETYPES,
    options: int = DEFAULT_AS_OPTIONS,
    till: int | None = None,
    rtime: int | None = None,
    from_time: int | None = None,
    nonce: int | None = None,
    padata: Sequence[PAData] = (),
    now: float | None = None,
) -> KdcReq:
    """An AS-REQ for ``client`` (a TGT for ``realm`` unless ``server`` is given)."""
    if till is None:
        till = int(time.time() if now is None else now) + DEFAULT_LIFETIME
    body = KdcReqBody(
        kdc_options=options,
        cname=client,
        realm=realm,
        sname=server or PrincipalName(NT_SRV_INST, ("krbtgt", realm)),
        from_time=from_time,
        till=till,
        rtime=rtime,
        nonce=new_nonce() if nonce is None else nonce,
        etypes=tuple(etypes),
    )
    return KdcReq(msg_type=KRB_AS_REQ, padata=tuple(padata), req_body=body)


def pa_enc_timestamp(key: EncryptionKey, now: float) -> PAData:
    """PA-ENC-TIMESTAMP: the time ``now`` encrypted under the client key (usage 1)."""
    seconds = int(now)
    stamp = encode(PaEncTsEnc(patimestamp=seconds, pausec=int((now - seconds) * 1e6) % 1_000_000))
    cipher = enctype_by_id(key.keytype).encrypt(key.keyvalue, KU_PA_ENC_TIMESTAMP, stamp)
    return PAData(PA_ENC_TIMESTAMP, encode(EncryptedData(key.keytype, cipher)))


def parse_reply(data: bytes, expected: int) -> KdcRep:
    """The KDC-REP of message type ``expected`` in ``data``; raise ``KdcReplyError``
    for a KRB-ERROR."""
    if data[:1] == _KRB_ERROR_TAG:
        raise KdcReplyError(decode_krb_error(data))
    rep = decode_kdc_rep(data)
    if rep.msg_type != expected:
        raise ValueError(f"expected KDC-REP type {expected}, got {rep.msg_type}")
    return rep


def etype_info2_of(padata: Sequence[PAData]) -> tuple[ETypeInfo2Entry, ...]:
    """The PA-ETYPE-INFO2 entries among ``padata`` (empty when there are none)."""
    for pa in padata:
        if pa.padata_type == PA_ETYPE_INFO2:
            return decode_etype_info2(pa.padata_value)
    return ()


def error_etype_info2(error: KrbError) -> tuple[ETypeInfo2Entry, ...]:
    """PA-ETYPE-INFO2 from the METHOD-DATA e-data of a PREAUTH_REQUIRED/FAILED error."""
    if not error.e_data:
        return ()
    return etype_info2_of(decode_method_data(error.e_data))


def decrypt_as_rep(rep: KdcRep, key: EncryptionKey) -> EncKdcRepPart:
    """The EncASRepPart of ``rep``, under the client's long-term key (usage 3)."""
    plain = enctype_by_id(rep.enc_part.etype).decrypt(
        key.keyvalue, KU_AS_REP_ENC_PART, rep.enc_part.cipher
    )
    return decode_enc_kdc_rep_part(plain)


def decrypt_tgs_rep(
    rep: KdcRep, tgt: Credentials, subkey: EncryptionKey | None = None
) -> EncKdcRepPart:
    """The EncTGSRepPart of ``rep``: under ``subkey`` (usage 9) if the request had
    one, else the TGT session key (usage 8)."""
    if subkey is not None:
        key, usage = subkey, KU_TGS_REP_ENC_PART_SUBKEY
    else:
        key, usage = tgt.session_key, KU_TGS_REP_ENC_PART_SESSION_KEY
    plain = enctype_by_id(rep.enc_part.etype).decrypt(key.keyvalue, usage, rep.enc_part.cipher)
    return decode_enc_kdc_rep_part(plain)


def credentials_from(rep: KdcRep, enc: EncKdcRepPart) -> Credentials:
    return Credentials(
        crealm=rep.crealm,
        cname=rep.cname,
        srealm=enc.srealm,
        sname=enc.sname,
        ticket=rep.ticket,
        session_key=enc.key,
        flags=enc.flags,
        authtime=enc.authtime,
        starttime=enc.starttime,
        endtime=enc.endtime,
        renew_till=enc.renew_till,
    )


def build_tgs_req(
    tgt: Credentials,
    server: PrincipalName,
    *,
    realm: str | None = None,
    etypes: Sequence[int] = DEFAULT_ETYPES,
    options: int = KDCOptions.FORWARDABLE,
    till: int | None = None,
    rtime: int | None = None,
    nonce: int | None = None,
    subkey: EncryptionKey | None = None,
    now: float | None = None,
    cksumtype: int | None = None,
) -> KdcReq:
    """A TGS-REQ for ``server`` presenting ``tgt`` in PA-TGS-REQ.

    The authenticator's checksum is the session key's mandatory keyed checksum
    (usage 6) over the encoded request body, unless ``cksumtype`` names another.
    """
    current = time.time() if now is None else now
    body = KdcReqBody(
        kdc_options=options,
        realm=realm or tgt.crealm,
        sname=server,
        till=till if till is not None else int(current) + DEFAULT_LIFETIME,
        rtime=rtime,
        nonce=new_nonce() if nonce is None else nonce,
        etypes=tuple(etypes),
    )
    session = tgt.session_key
    session_et = enctype_by_id(session.keytype)
    ctype = checksum_by_type(cksumtype if cksumtype is not None else session_et.checksum_type)
    body_der = encode(body)
    seconds = int(current)
    authenticator = Authenticator(
        crealm=tgt.crealm,
        cname=tgt.cname,
        cksum=Checksum(
            ctype.cksumtype, ctype.checksum(session.keyvalue, KU_TGS_REQ_AUTH_CKSUM, body_der)
        ),
        cusec=int((current - seconds) * 1e6) % 1_000_000,
        ctime=seconds,
        subkey=subkey,
    )
    cipher = session_et.encrypt(session.keyvalue, KU_TGS_REQ_AUTH, encode(authenticator))
    ap_req = ApReq(
        ap_options=0,
        ticket=tgt.ticket,
        authenticator=EncryptedData(session.keytype, cipher),
    )
    return KdcReq(msg_type=KRB_TGS_REQ, padata=(PAData(PA_TGS_REQ, encode(ap_req)),), req_body=body)


class KdcClient:
    """AS and TGS exchanges over ``send(request bytes) -> reply bytes``."""

    def __init__(
        self,
        send: Callable[[bytes], bytes],
        realm: str,
        *,
        clock: Callable[[], float] = time.time,
        etypes: Sequence[int] = DEFAULT_ETYPES,
    ) -> None:
        self._send = send
        self.realm = realm
        self._clock = clock
        self.etypes = tuple(etypes)

    def get_tgt(
        self,
        principal: str,
        password: str | bytes | None = None,
        *,
        key: EncryptionKey | None = None,
        server: str | None = None,
        options: int = DEFAULT_AS_OPTIONS,
        lifetime: int = DEFAULT_LIFETIME,
        renewable_life: int | None = None,
        etypes: Sequence[int] | None = None,
    ) -> Credentials:
        """Initial credentials with a password (or a long-term ``key``), as kinit does.

        First without pre-authentication; on PREAUTH_REQUIRED the ETYPE-INFO2 of
        the error gives the enctype and salt, and the request is sent again with
        PA-ENC-TIMESTAMP. Raises ``KdcReplyError`` for any other KRB-ERROR.
        """
        if password is None and key is None:
            raise ValueError("get_tgt needs a password or a key")
        cname, crealm = principal_name(principal, self.realm)
        sname = principal_name(server, crealm)[0] if server else None
        wanted = tuple(etypes) if etypes is not None else self.etypes
        if key is not None:
            wanted = (key.keytype,)
        if renewable_life is not None:
            options |= KDCOptions.RENEWABLE
        default = default_salt(cname.components, crealm)

        def ask(padata: Sequence[PAData]) -> tuple[KdcReq, bytes]:
            now = self._clock()
            req = build_as_req(
                cname,
                crealm,
                server=sname,
                etypes=wanted,
                options=options,
                till=int(now) + lifetime,
                rtime=int(now) + renewable_life if renewable_life is not None else None,
                padata=padata,
                now=now,
            )
            return req, self._send(encode(req))

        padata: list[PAData] = []
        if key is not None:
            padata.append(pa_enc_timestamp(key, self._clock()))
        req, data = ask(padata)
        try:
            rep = parse_reply(data, KRB_AS_REP)
        except KdcReplyError as err:
            if err.code != KDC_ERR_PREAUTH_REQUIRED or key is not None:
                raise
            entries = error_etype_info2(err.error)
            entry = entries[0] if entries else ETypeInfo2Entry(wanted[0])
            key = string_to_key(password or b"", entry, default)
            req, data = ask([pa_enc_timestamp(key, self._clock())])
            rep = parse_reply(data, KRB_AS_REP)
        if key is None:
            entries = etype_info2_of(rep.padata)
            entry = entries[0] if entries else ETypeInfo2Entry(rep.enc_part.etype)
            key = string_to_key(password or b"", entry, default)
        enc = decrypt_as_rep(rep, key)
        if enc.nonce != req.req_body.nonce:
            raise ValueError("AS-REP nonce does not match the request")
        return credentials_from(rep, enc)

    def get_service_ticket(
        self,
        tgt: Credentials,
        service: str,
        *,
        options: int = KDCOptions.FORWARDABLE,
        use_subkey: bool = False,
        etypes: Sequence[int] | None = None,
        lifetime: int = DEFAULT_LIFETIME,
    ) -> Credentials:
        """A service ticket for ``service`` from ``tgt`` (or, with RENEW/VALIDATE/
        FORWARDED in ``options``, a new ticket for the TGT's own server)."""
        sname, srealm = principal_name(service, tgt.crealm)
        subkey = None
        if use_subkey:
            et = enctype_by_id(tgt.session_key.keytype)
            subkey = EncryptionKey(et.etype, et.random_key())
        now = self._clock()
        req = build_tgs_req(
            tgt,
            sname,
            realm=srealm,
            etypes=etypes or self.etypes,
            options=options,
            till=int(now) + lifetime,
            rtime=tgt.renew_till if options & KDCOptions.RENEWABLE else None,
            subkey=subkey,
            now=now,
        )
        rep = parse_reply(self._send(encode(req)), KRB_TGS_REP)
        enc = decrypt_tgs_rep(rep, tgt, subkey)
        if enc.nonce != req.req_body.nonce:
            raise ValueError("TGS-REP nonce does not match the request")
        return credentials_from(rep, enc)

    def renew(self, tgt: Credentials) -> Credentials:
        """Renew ``tgt`` (RENEW with the renewable flag, as ``kinit -R``)."""
        return self.get_service_ticket(
            tgt, tgt.server, options=KDCOptions.RENEW | KDCOptions.RENEWABLE
        )
