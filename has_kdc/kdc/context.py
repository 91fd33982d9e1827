"""What AS and TGS processing share: the realm's settings, its principals, the log record.

``RealmContext`` is built once by the handler from ``KdcConfig``; the processing
functions read it and never change it. ``RequestLog`` is filled in as a request is
processed and turned into one log line at the end, in MIT krb5kdc's format
(src/kdc/kdc_log.c), so tools and people that read MIT KDC logs read ours:

    AS_REQ (2 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}) 127.0.0.1:
    ISSUE: authtime 1700000000, etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=...,
    ses=...}, alice@EXAMPLE.COM for krbtgt/EXAMPLE.COM@EXAMPLE.COM

(one line). No key, password or ticket content ever reaches it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from has_kdc.asn1.constants import NT_SRV_INST
from has_kdc.asn1.messages import PrincipalName
from has_kdc.crypto import enctype_name, is_supported
from has_kdc.kdc.errors import error_message
from has_kdc.kdc.principal_cache import PrincipalCache
from has_kdc.kdc.ticket_cache import TicketCache
from has_kdc.principal import format_principal

__all__ = ["RealmContext", "RequestLog", "etype_label", "principal_text"]

#: The password-change service: a client whose password expired may still get a
#: ticket for it (MIT's KRB5_KDB_PWCHANGE_SERVICE attribute, set on kadmin/changepw).
PWCHANGE_SERVICE = ("kadmin", "changepw")


@dataclass(frozen=True, slots=True)
class RealmContext:
    """One realm as the KDC serves it. Durations in seconds; enctypes are numbers.

    ``permitted`` is the realm's ``supported_enctypes`` order, restricted to what the
    crypto layer implements: the only enctypes we issue keys or tickets in.
    ``tickets`` remembers the TGTs decrypted lately (see ``ticket_cache``).
    """

    realm: str
    max_life: int
    max_renewable_life: int
    clock_skew: int
    permitted: tuple[int, ...]
    principals: PrincipalCache
    tickets: TicketCache = field(default_factory=TicketCache, compare=False)

    @property
    def tgs_name(self) -> PrincipalName:
        """krbtgt/REALM, the ticket-granting service of this realm."""
        return PrincipalName(NT_SRV_INST, ("krbtgt", self.realm))

    def is_local_tgs(self, components: tuple[str, ...], realm: str) -> bool:
        return realm == self.realm and components == ("krbtgt", self.realm)

    @classmethod
    def create(
        cls,
        *,
        realm: str,
        max_life: int,
        max_renewable_life: int,
        clock_skew: int,
        supported_enctypes: tuple[int, ...],
        principals: PrincipalCache,
    ) -> RealmContext:
        permitted = tuple(e for e in supported_enctypes if is_supported(e))
        if not permitted:
            raise ValueError(
                f"realm {realm}: none of supported_enctypes {supported_enctypes} is implemented; "
                "use aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, "
                "aes256-cts-hmac-sha384-192 or aes128-cts-hmac-sha256-128"
            )
        return cls(realm, max_life, max_renewable_life, clock_skew, permitted, principals)


def principal_text(name: PrincipalName, realm: str) -> str:
    """MIT text form of a principal from the wire (how the store names it)."""
    return _principal_text(name.components, realm)


@functools.lru_cache(maxsize=65536)
def _principal_text(components: tuple[str, ...], realm: str) -> str:
    # The same few names arrive over and over; escaping them each time shows in profiles.
    return format_principal(components, realm)


def etype_label(etype: int) -> str:
    """``aes256-cts-hmac-sha1-96(18)``, as MIT's ktypes2str writes an enctype."""
    name = enctype_name(etype)
    if name is None:
        return f"UNSUPPORTED:({etype})"
    if not is_supported(etype):
        return f"UNSUPPORTED:{name}({etype})"
    return f"{name}({etype})"


@functools.lru_cache(maxsize=256)
def _ktypes_text(etypes: tuple[int, ...]) -> str:
    """``4 etypes {aes256-cts-hmac-sha1-96(18), ...}``, as MIT's ktypes2str: each client
    sends the same list every time, and wording it each time cost more than the rest
    of the line."""
    return f"{len(etypes)} etypes {{{', '.join(map(etype_label, etypes))}}}"


@functools.lru_cache(maxsize=256)
def _issued_etypes_text(rep: int | None, tkt: int | None, ses: int | None) -> str:
    """``etypes {rep=..., tkt=..., ses=...}`` of an ISSUE line (few combinations)."""
    parts = [f"rep={etype_label(rep)}"] if rep is not None else []
    if tkt is not None:
        parts.append(f"tkt={etype_label(tkt)}")
    if ses is not None:
        parts.append(f"ses={etype_label(ses)}")
    return f"etypes {{{', '.join(parts)}}}"


@dataclass(slots=True)
class RequestLog:
    """What one log line says about one request; filled in while processing it."""

    kind: str  # "AS_REQ" or "TGS_REQ"
    peer: str
    etypes: tuple[int, ...] = ()
    cname: str | None = None
    sname: str | None = None
    authtime: int = 0
    rep_etype: int | None = None
    tkt_etype: int | None = None
    ses_etype: int | None = None
    status: str | None = None
    code: int = 0

    def line(self) -> str:
        ktypes = _ktypes_text(tuple(self.etypes))
        cname = self.cname or "<unknown client>"
        sname = self.sname or "<unknown server>"
        head = f"{self.kind} ({ktypes}) {self.peer or '<unknown address>'}"
        if self.status is None:
            rep = _issued_etypes_text(self.rep_etype, self.tkt_etype, self.ses_etype)
            return f"{head}: ISSUE: authtime {self.authtime}, {rep}, {cname} for {sname}"
        emsg = error_message(self.code)
        if self.kind == "AS_REQ":
            return f"{head}: {self.status}: {cname} for {sname}, {emsg}"
        return f"{head}: {self.status}: authtime {self.authtime},  {cname} for {sname}, {emsg}"
