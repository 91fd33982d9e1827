"""The password change service (RFC 3244) of one node: a request in, a reply out.

What a request must show, in MIT kadmind's order (src/kadmin/server/schpw.c), and
what it gets when it does not:

- bytes whose length field does not hold get no answer (no reflection);
- another protocol version: KRB-ERROR, result BAD_VERSION;
- an AP-REQ that does not decode, for a service other than ``kadmin/changepw``, or
  whose ticket or authenticator does not decrypt, is out of its times, names another
  client, or was seen before: KRB-ERROR with the RFC 4120 code (BAD_INTEGRITY,
  TKT_EXPIRED, SKEW, REPEAT ...) and result AUTHERROR;
- then every answer is an AP-REP and a KRB-PRIV under the authenticator's subkey,
  carrying the result: a KRB-PRIV that does not decrypt, or whose sequence number is
  not the authenticator's, is HARDERROR; a ChangePasswdData that does not decode is
  MALFORMED; a principal changing its own password needs a ticket from a password
  (INITIAL, else INITIAL_FLAG_NEEDED); setting another principal's password needs an
  administrator (else ACCESSDENIED); the password policy's refusal is SOFTERROR with
  MIT's words, which MIT's ``kpasswd`` shows the user.

The change itself is `PrincipalAdmin.change_password`, as for every other path: the
same policy check, one audit record naming the client, via ``kpasswd``, from its
address. Nothing raises out of ``handle``; no password reaches a log line.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Collection

from has_kdc.admin import Actor, AdminError, NoSuchPrincipalError, PrincipalAdmin
from has_kdc.admin.policy import PasswordRejected
from has_kdc.admin.realm import admin_principal_name, changepw_principal_name
from has_kdc.asn1 import (
    ApRep,
    Asn1Error,
    Authenticator,
    EncApRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    HostAddress,
    PrincipalName,
    decode_ap_req,
    decode_authenticator,
    decode_enc_ticket_part,
    encode,
)
from has_kdc.asn1.constants import (
    ADDRTYPE_IPV4,
    ADDRTYPE_IPV6,
    KDC_ERR_BAD_PVNO,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_NOKEY,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_REPEAT,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KRB_ERR_GENERIC,
    KU_AP_REP_ENC_PART,
    KU_AP_REQ_AUTH,
    KU_KRB_PRIV_ENC_PART,
    KU_TICKET,
    NT_SRV_INST,
    TicketFlags,
)
from has_kdc.asn1.kpasswd import (
    EncKrbPrivPart,
    decode_change_passwd_data,
    decode_enc_krb_priv_part,
    decode_krb_priv,
    encode_enc_krb_priv_part,
    encode_krb_priv,
)
from has_kdc.backend import BackendError, IdentityBackend
from has_kdc.conf import KdcConfig
from has_kdc.crypto import CryptoError, enctype_by_id
from has_kdc.gss.replay import ReplayCache
from has_kdc.kdc.context import log_name
from has_kdc.kdc.errors import build_krb_error
from has_kdc.kpasswd.protocol import (
    KPASSWD_ACCESSDENIED,
    KPASSWD_AUTHERROR,
    KPASSWD_BAD_VERSION,
    KPASSWD_HARDERROR,
    KPASSWD_INITIAL_FLAG_NEEDED,
    KPASSWD_MALFORMED,
    KPASSWD_SOFTERROR,
    KPASSWD_SUCCESS,
    VERSION_SETPW,
    BadVersion,
    KpasswdRequest,
    Unframed,
    build_reply,
    parse_request,
    result_data,
)
from has_kdc.principal import PrincipalNameError, format_principal

__all__ = ["KpasswdService"]

log = logging.getLogger("has_kdc.kpasswd")


class _Refused(Exception):
    """A request refused before an AP-REP could be made: a KRB-ERROR carries the result."""

    def __init__(self, error_code: int, result: int, text: str) -> None:
        self.error_code = error_code
        self.result = result
        self.text = text
        super().__init__(text)


class _Result(Exception):
    """A result for an authenticated request (sent in the KRB-PRIV)."""

    def __init__(self, result: int, text: str) -> None:
        self.result = result
        self.text = text
        super().__init__(text)


class KpasswdService:
    """RFC 3244 for one realm over one identity store.

    ``admins``: who may set another principal's password (called at each request,
    so a changed has-server.conf applies); ``local_host``: the address replies name
    as their sender (MIT clients do not check it; a name or nothing reads 0.0.0.0).
    """

    def __init__(
        self,
        config: KdcConfig,
        backend: IdentityBackend,
        *,
        admins: Callable[[], Collection[str]] | None = None,
        local_host: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.backend = backend
        self.realm = config.kdc_realm
        self.service = changepw_principal_name(self.realm)
        self._admins = admins or (lambda: {admin_principal_name(self.realm)})
        self._clock = clock
        self.replays = ReplayCache(config.clock_skew)
        self.local_address = _host_address(local_host)
        #: result code of the last request (None: not answered, or answered by KRB-ERROR
        #: before authentication); for tests and logs
        self.last_result: int | None = None

    # -- the network layer's entry point ---------------------------------------------

    def handle(self, request: bytes, transport: str, peer: str | None = None) -> bytes | None:
        """The reply to one request, or None to send nothing (never raises)."""
        self.last_result = None
        try:
            return self._handle(bytes(request), peer)
        except Exception:
            log.exception(
                "kpasswd failed on a %d-byte %s request from %s", len(request), transport, peer
            )
            try:
                return self._error(KRB_ERR_GENERIC, KPASSWD_HARDERROR, "internal error")
            except Exception:
                return None

    def field_toolong(self) -> bytes:
        return self._error(KRB_AP_ERR_MODIFIED, KPASSWD_MALFORMED, "Request was too long")

    # -- processing ------------------------------------------------------------------

    def _handle(self, data: bytes, peer: str | None) -> bytes | None:
        try:
            request = parse_request(data)
        except Unframed as exc:
            log.debug("kpasswd: no answer to %d bytes from %s: %s", len(data), peer, exc)
            return None
        except BadVersion as exc:
            return self._error(KDC_ERR_BAD_PVNO, KPASSWD_BAD_VERSION, str(exc))
        except ValueError as exc:
            return self._error(KRB_AP_ERR_MODIFIED, KPASSWD_MALFORMED, str(exc))
        now = self._clock()
        try:
            client, enc_ticket, authenticator = self._authenticate(request.ap_req, now)
        except _Refused as refused:
            log.info("kpasswd request from %s refused: %s", peer, refused.text)
            return self._error(refused.error_code, refused.result, refused.text)

        ap_rep, seq = self._ap_rep(enc_ticket.key, authenticator)
        reply_key = authenticator.subkey or enc_ticket.key
        target = client
        try:
            target, password = self._read_priv(request, reply_key, authenticator, client)
            result, text = self._change(client, target, password, enc_ticket, peer)
        except _Result as outcome:
            result, text = outcome.result, outcome.text
        self.last_result = result
        log.info(
            "kpasswd %s request from %s by %s for %s: %s",
            "setpw" if request.version == VERSION_SETPW else "chpw",
            peer,
            log_name(client),
            log_name(target),
            "success" if result == KPASSWD_SUCCESS else f"result {result}",
        )
        priv = self._krb_priv(reply_key, result_data(result, text), seq)
        return build_reply(ap_rep, priv)

    def _authenticate(self, raw: bytes, now: float) -> tuple[str, EncTicketPart, Authenticator]:
        try:
            ap_req = decode_ap_req(raw)
        except Asn1Error:
            raise _Refused(
                KRB_AP_ERR_MODIFIED, KPASSWD_MALFORMED, "Failed reading application request"
            ) from None
        ticket = ap_req.ticket
        try:
            service = format_principal(ticket.sname.components, ticket.realm)
        except PrincipalNameError:
            service = ""
        if service != self.service:
            raise _Refused(
                KRB_AP_ERR_NOT_US, KPASSWD_AUTHERROR, "Failed reading application request"
            )
        enc = ticket.enc_part
        key = self._service_key(enc)
        try:
            et = enctype_by_id(enc.etype)
            enc_ticket = decode_enc_ticket_part(et.decrypt(key, KU_TICKET, enc.cipher))
        except (CryptoError, Asn1Error):
            raise _Refused(
                KRB_AP_ERR_BAD_INTEGRITY, KPASSWD_AUTHERROR, "Failed reading application request"
            ) from None
        try:
            client = format_principal(enc_ticket.cname.components, enc_ticket.crealm)
        except PrincipalNameError:
            raise _Refused(
                KRB_AP_ERR_BADMATCH, KPASSWD_AUTHERROR, "Failed reading application request"
            ) from None
        skew = self.config.clock_skew
        start = enc_ticket.starttime if enc_ticket.starttime is not None else enc_ticket.authtime
        if start - skew > now or enc_ticket.flags & TicketFlags.INVALID:
            raise _Refused(KRB_AP_ERR_TKT_NYV, KPASSWD_AUTHERROR, "Ticket not yet valid")
        if now - skew > enc_ticket.endtime:
            raise _Refused(KRB_AP_ERR_TKT_EXPIRED, KPASSWD_AUTHERROR, "Ticket expired")
        session = enc_ticket.key
        try:
            if ap_req.authenticator.etype != session.keytype:
                raise CryptoError("authenticator enctype is not the session key's")
            plain = enctype_by_id(session.keytype).decrypt(
                session.keyvalue, KU_AP_REQ_AUTH, ap_req.authenticator.cipher
            )
            authenticator = decode_authenticator(plain)
        except (CryptoError, Asn1Error):
            raise _Refused(
                KRB_AP_ERR_BAD_INTEGRITY, KPASSWD_AUTHERROR, "Failed reading application request"
            ) from None
        if (
            authenticator.crealm != enc_ticket.crealm
            or authenticator.cname.components != enc_ticket.cname.components
        ):
            raise _Refused(KRB_AP_ERR_BADMATCH, KPASSWD_AUTHERROR, "Ticket/authenticator mismatch")
        if abs(authenticator.ctime - now) > skew:
            raise _Refused(KRB_AP_ERR_SKEW, KPASSWD_AUTHERROR, "Clock skew too great")
        if not self.replays.check_and_store(
            client,
            self.service,
            authenticator.ctime,
            authenticator.cusec,
            ap_req.authenticator.cipher,
            now,
        ):
            raise _Refused(KRB_AP_ERR_REPEAT, KPASSWD_AUTHERROR, "Request is a replay")
        return client, enc_ticket, authenticator

    def _service_key(self, enc: EncryptedData) -> bytes:
        try:
            principal = self.backend.get_principal(self.service)
        except BackendError as exc:
            log.warning("kpasswd: cannot read %s: %s", self.service, exc)
            raise _Refused(
                KRB_ERR_GENERIC, KPASSWD_HARDERROR, "The database is unavailable; try again later"
            ) from None
        keys = [] if principal is None else [k for k in principal.keys if k.enctype == enc.etype]
        if enc.kvno is not None:
            keys = [k for k in keys if k.kvno == enc.kvno]
        if not keys:
            raise _Refused(
                KRB_AP_ERR_NOKEY, KPASSWD_AUTHERROR, "Failed reading application request"
            )
        return bytes(max(keys, key=lambda k: k.kvno).key)

    def _ap_rep(self, session: EncryptionKey, authenticator: Authenticator) -> tuple[bytes, int]:
        seq = secrets.randbits(30)
        part = EncApRepPart(ctime=authenticator.ctime, cusec=authenticator.cusec, seq_number=seq)
        cipher = enctype_by_id(session.keytype).encrypt(
            session.keyvalue, KU_AP_REP_ENC_PART, encode(part)
        )
        return encode(ApRep(enc_part=EncryptedData(session.keytype, cipher))), seq

    def _read_priv(
        self,
        request: KpasswdRequest,
        key: EncryptionKey,
        authenticator: Authenticator,
        client: str,
    ) -> tuple[str, str]:
        """The target principal and the new password from the request's KRB-PRIV."""
        try:
            enc = decode_krb_priv(request.krb_priv)
            if enc.etype != key.keytype:
                raise CryptoError("KRB-PRIV enctype is not the key's")
            part = decode_enc_krb_priv_part(
                enctype_by_id(key.keytype).decrypt(key.keyvalue, KU_KRB_PRIV_ENC_PART, enc.cipher)
            )
        except (CryptoError, Asn1Error):
            raise _Result(KPASSWD_HARDERROR, "Failed decrypting request") from None
        if authenticator.seq_number is not None and part.seq_number != authenticator.seq_number:
            raise _Result(KPASSWD_HARDERROR, "Failed decrypting request")
        target = client
        secret = part.user_data
        if request.version == VERSION_SETPW:
            try:
                data = decode_change_passwd_data(secret)
            except Asn1Error:
                raise _Result(KPASSWD_MALFORMED, "Failed decoding ChangePasswdData") from None
            secret = data.newpasswd
            if data.targname is not None:
                try:
                    target = format_principal(
                        data.targname.components, data.targrealm or self.realm
                    )
                except PrincipalNameError:
                    raise _Result(KPASSWD_MALFORMED, "Failed decoding ChangePasswdData") from None
        try:
            password = secret.decode("utf-8")
        except UnicodeDecodeError:
            raise _Result(KPASSWD_SOFTERROR, "The new password is not valid UTF-8") from None
        return target, password

    def _change(
        self, client: str, target: str, password: str, ticket: EncTicketPart, peer: str | None
    ) -> tuple[int, str]:
        own = target == client
        if own and not ticket.flags & TicketFlags.INITIAL:
            raise _Result(KPASSWD_INITIAL_FLAG_NEEDED, "Ticket must be derived from a password")
        if not own and client not in self._admins():
            raise _Result(KPASSWD_ACCESSDENIED, "Unauthorized request")
        if not target.endswith("@" + self.realm):
            raise _Result(KPASSWD_HARDERROR, f"Principal does not belong to realm {self.realm}")
        admin = PrincipalAdmin(
            self.backend, self.config, Actor(client, "kpasswd", peer or "unknown")
        )
        try:
            admin.change_password(target, password, own_change=own)
        except PasswordRejected as exc:
            return KPASSWD_SOFTERROR, str(exc)
        except NoSuchPrincipalError:
            return KPASSWD_HARDERROR, "Principal does not exist"
        except AdminError as exc:
            return KPASSWD_SOFTERROR, str(exc)
        except BackendError as exc:
            log.warning("kpasswd: password of %s not changed: %s", target, exc)
            return KPASSWD_HARDERROR, "The database is unavailable; try again later"
        return KPASSWD_SUCCESS, ""

    def _krb_priv(self, key: EncryptionKey, user_data: bytes, seq: int) -> bytes:
        part = EncKrbPrivPart(user_data=user_data, s_address=self.local_address, seq_number=seq)
        cipher = enctype_by_id(key.keytype).encrypt(
            key.keyvalue, KU_KRB_PRIV_ENC_PART, encode_enc_krb_priv_part(part)
        )
        return encode_krb_priv(EncryptedData(key.keytype, cipher))

    def _error(self, error_code: int, result: int, text: str) -> bytes:
        self.last_result = result
        error = build_krb_error(
            error_code,
            now=self._clock(),
            realm=self.realm,
            sname=PrincipalName(NT_SRV_INST, ("kadmin", "changepw")),
            e_data=result_data(result, text),
        )
        return build_reply(b"", error)


def _host_address(host: str | None) -> HostAddress:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return HostAddress(ADDRTYPE_IPV4, bytes(4))
    if address.version == 6:
        return HostAddress(ADDRTYPE_IPV6, address.packed)
    return HostAddress(ADDRTYPE_IPV4, address.packed)
