"""What AS and TGS processing share: the realm's settings, its principals, the log record.

``RealmContext`` is built once by the handler from ``KdcConfig``; the processing
functions read it and never change it. ``RequestLog`` is filled in as a request is
processed and turned into one log line at the end, in MIT krb5kdc's format
(src/kdc/kdc_log.c), so tools and people that read MIT KDC logs read ours:

    AS_REQ (2 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}) 127.0.0.1:
    ISSUE: authtime 1700000000, etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=...,
    ses=...}, alice@EXAMPLE.COM for krbtgt/EXAMPLE.COM@EXAMPLE.COM

(one line). No key, password or ticket content ever reaches it, and what the client
chose is bounded, as MIT's ``limit_string`` bounds it: a name longer than 127
characters is cut to 124 and "...", characters that are not printable (control
characters, bytes that were not UTF-8) are written as escapes, and an etype list is
shown up to its first 16 entries.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from has_kdc.asn1.constants import NT_SRV_INST
from has_kdc.asn1.memo import ENTRY_OVERHEAD, Memo
from has_kdc.asn1.messages import PrincipalName
from has_kdc.crypto import enctype_name, is_supported
from has_kdc.kdc.crossrealm import Capaths
from has_kdc.kdc.errors import error_message
from has_kdc.kdc.principal_cache import PrincipalCache
from has_kdc.kdc.ticket_cache import TicketCache
from has_kdc.principal import MAX_PRINCIPAL_BYTES, PrincipalNameError, format_principal

if TYPE_CHECKING:
    from has_kdc.kdc.fast_armor import FastState

__all__ = [
    "RealmContext",
    "RequestLog",
    "etype_label",
    "log_name",
    "principal_text",
    "store_name",
    "wire_name_text",
]

#: MIT's NAME_LENGTH_LIMIT (src/kdc/kdc_util.c): a name of this many characters or
#: more is logged as its first ``LOG_NAME_LIMIT - 4`` and "...".
LOG_NAME_LIMIT = 128
#: Etypes of a request named in its log line; the rest are counted, not listed.
LOG_ETYPES = 16

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
    #: MIT's [capaths] (see ``crossrealm``): client realm -> server realm -> hops
    capaths: Capaths = field(default_factory=dict, compare=False)
    #: MIT's [domain_realm] (host or .domain, lower case -> realm), for host referrals
    domain_realm: Mapping[str, str] = field(default_factory=dict, compare=False)

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
        capaths: Capaths | None = None,
        domain_realm: Mapping[str, str] | None = None,
    ) -> RealmContext:
        permitted = tuple(e for e in supported_enctypes if is_supported(e))
        if not permitted:
            raise ValueError(
                f"realm {realm}: none of supported_enctypes {supported_enctypes} is implemented; "
                "use aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, "
                "aes256-cts-hmac-sha384-192 or aes128-cts-hmac-sha256-128"
            )
        return cls(
            realm,
            max_life,
            max_renewable_life,
            clock_skew,
            permitted,
            principals,
            capaths=capaths or {},
            domain_realm={k.lower(): v for k, v in (domain_realm or {}).items()},
        )


# The same few names arrive over and over; escaping them each time shows in profiles.
# Keyed by what the client sent, so bounded in bytes (about 50,000 names of 30 bytes).
_principal_texts = Memo(65536, 16 * 1024 * 1024, 3 * MAX_PRINCIPAL_BYTES + ENTRY_OVERHEAD)


def principal_text(name: PrincipalName, realm: str) -> str:
    """MIT text form of a principal from the wire (how the store names it).

    Raises ``PrincipalNameError`` for a name that no principal can have, which the
    KDC answers as MIT answers a name it does not find: no component or no realm,
    over the length limits of ``has_kdc.principal``, or bytes that are not UTF-8 (a
    store holds names as text; MIT finds no such name either).
    """
    key = (name.components, realm)
    text = _principal_texts.get(key)
    if text is None:
        text = format_principal(name.components, realm)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise PrincipalNameError(
                    f"principal name {log_name(text)} is not valid UTF-8"
                ) from None
        _principal_texts.remember(key, text, 3 * len(text) + ENTRY_OVERHEAD)
    return text


def store_name(name: PrincipalName, realm: str) -> str | None:
    """``principal_text``, or None for a name no principal can have."""
    text: str | None = _principal_texts.get((name.components, realm))
    if text is not None:
        return text
    try:
        return principal_text(name, realm)
    except PrincipalNameError:
        return None


def wire_name_text(name: PrincipalName, realm: str) -> str:
    """A name from the wire as a log line shows it, even one ``principal_text`` refuses:
    no more than needed for ``log_name``, unescaped (it is only read by people)."""
    shown = "/".join(c[:LOG_NAME_LIMIT] for c in name.components[:LOG_NAME_LIMIT])
    return f"{shown[:LOG_NAME_LIMIT]}@{realm[:LOG_NAME_LIMIT]}"


def log_name(text: str) -> str:
    """``text`` (a name a client chose) as a log line may show it.

    MIT's ``limit_string``: 128 characters or more become the first 124 and "...".
    Characters that are not printable become escapes, ``\\xff`` for a byte that was not
    UTF-8 (kept as a surrogate by the decoder), so nothing a client sends can break a
    log line in two or write bytes the log's reader chokes on.
    """
    if len(text) < LOG_NAME_LIMIT and text.isprintable():
        return text
    text = text[:LOG_NAME_LIMIT]
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)
    if len(text) >= LOG_NAME_LIMIT:
        text = text[: LOG_NAME_LIMIT - 4] + "..."
    return text


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return ascii(ch)[1:-1]


def etype_label(etype: int) -> str:
    """``aes256-cts-hmac-sha1-96(18)``, as MIT's ktypes2str writes an enctype."""
    name = enctype_name(etype)
    if name is None:
        return f"UNSUPPORTED:({etype})"
    if not is_supported(etype):
        return f"UNSUPPORTED:{name}({etype})"
    return f"{name}({etype})"


def _ktypes_text(etypes: tuple[int, ...]) -> str:
    """``4 etypes {aes256-cts-hmac-sha1-96(18), ...}``, as MIT's ktypes2str, listing
    at most ``LOG_ETYPES`` of them (a request may carry thousands)."""
    if len(etypes) <= LOG_ETYPES:
        return _short_ktypes_text(etypes)
    listed = ", ".join(map(etype_label, etypes[:LOG_ETYPES]))
    return f"{len(etypes)} etypes {{{listed}, ...}}"


@functools.lru_cache(maxsize=256)
def _short_ktypes_text(etypes: tuple[int, ...]) -> str:
    # Each client sends the same list every time, and wording it each time cost more
    # than the rest of the line. At most 16 etypes a key: bounded in bytes.
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


# Log lines by what they say. An entry holds the line, the names it was made of and
# the etype list (at most ``LOG_ETYPES`` listed, but the key holds them all: a request
# with thousands is worded each time, see the item bound).
# As many as a cluster's clients at once (``has_kdc.asn1.fast._NAME_MEMO_SIZE``).
_lines = Memo(65536, 16 * 1024 * 1024, 8 * 1024)


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
    #: The FAST armor of the request once its armor key is known: a refusal from
    #: then on is sent armored (``has_kdc.kdc.fast_armor``). Never logged.
    fast: FastState | None = None
    #: The client of a TGS-REQ's TGT once it decrypted: MIT's ``prepare_error_tgs``
    #: names it in every refusal from then on. Never logged.
    tgt_client: tuple[str, PrincipalName] | None = None

    def line(self) -> str:
        """The log line; the same request from the same client, refused or answered
        within the same second, gives the same line, so lines are remembered by what
        they say (bounded: the names and etypes are the client's)."""
        etypes = self.etypes
        key = (
            self.kind,
            etypes if type(etypes) is tuple else tuple(etypes),
            self.peer,
            self.cname,
            self.sname,
            self.status,
            self.code,
            self.authtime,
            self.rep_etype,
            self.tkt_etype,
            self.ses_etype,
        )
        line: str | None = _lines.get(key)
        if line is None:
            line = self._word()
            size = 2 * len(line) + 40 * len(key[1]) + ENTRY_OVERHEAD
            _lines.remember(key, line, size)
        return line

    def _word(self) -> str:
        ktypes = _ktypes_text(tuple(self.etypes))
        cname = log_name(self.cname) if self.cname else "<unknown client>"
        sname = log_name(self.sname) if self.sname else "<unknown server>"
        head = f"{self.kind} ({ktypes}) {self.peer or '<unknown address>'}"
        if self.status is None:
            rep = _issued_etypes_text(self.rep_etype, self.tkt_etype, self.ses_etype)
            return f"{head}: ISSUE: authtime {self.authtime}, {rep}, {cname} for {sname}"
        emsg = error_message(self.code)
        if self.kind == "AS_REQ":
            return f"{head}: {self.status}: {cname} for {sname}, {emsg}"
        return f"{head}: {self.status}: authtime {self.authtime},  {cname} for {sname}, {emsg}"
