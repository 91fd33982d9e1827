"""KDC policy as pure functions: ticket times, ticket flags, option checks, enctype choice.

Each function mirrors the MIT krb5kdc routine named in its docstring (src/kdc/
kdc_util.c, kdc_util.h, tgs_policy.c), because MIT clients, and the operators who
know MIT, expect exactly those answers: an end time capped by the smallest of the
request, the principals' and the realm's maximum lifetimes; a RENEW of a ticket that
is not renewable refused with BADOPTION; the session key in the client's first
enctype the service can take.

No I/O and no clock: every time comes in as an argument (seconds since the epoch).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from types import SimpleNamespace
from typing import Protocol

from has_kdc.asn1.constants import (
    KDC_ERR_BADOPTION,
    KDC_ERR_NEVER_VALID,
    KDC_ERR_SERVER_NOMATCH,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KDCOptions,
    TicketFlags,
)
from has_kdc.kdc.errors import KdcError

__all__ = [
    "AS_INVALID_OPTIONS",
    "FLAG",
    "KDC_INFINITY",
    "NON_TGT_OPTIONS",
    "OPT",
    "TicketPolicy",
    "check_as_options",
    "check_tgs_options",
    "renew_till",
    "select_client_key_enctype",
    "select_session_enctype",
    "select_ticket_key_enctype",
    "ticket_endtime",
    "ticket_flags",
]

#: MIT's ``kdc_infinity``: the end of time for a request that leaves ``till`` open.
KDC_INFINITY = 2**31 - 1

#: The option and flag bits as plain ints: ``IntFlag`` arithmetic costs a method call
#: per operator, and these run several times per request.
OPT = SimpleNamespace(**{str(flag.name): int(flag) for flag in KDCOptions})
FLAG = SimpleNamespace(**{str(flag.name): int(flag) for flag in TicketFlags})
_O = OPT
_F = FLAG

#: TGS options for which the service is the ticket's own server (kdc_util.h NON_TGT_OPTION).
NON_TGT_OPTIONS = _O.FORWARDED | _O.PROXY | _O.RENEW | _O.VALIDATE
#: Options an AS-REQ must not carry (kdc_util.h AS_INVALID_OPTIONS).
AS_INVALID_OPTIONS = NON_TGT_OPTIONS | _O.ENC_TKT_IN_SKEY | _O.CNAME_IN_ADDL_TKT
#: Options that request the ticket flag of the same bit (OPTS_COMMON_FLAGS_MASK);
#: RENEWABLE is decided with the renewable end time.
_OPTS_COMMON_FLAGS = (
    _O.FORWARDABLE | _O.FORWARDED | _O.PROXIABLE | _O.PROXY | _O.ALLOW_POSTDATE | _O.POSTDATED
)
#: Flags a derived ticket inherits from the TGT (TGS_COPIED_FLAGS_MASK).
_TGS_COPIED_FLAGS = _F.FORWARDED | _F.PROXY | _F.PRE_AUTHENT | _F.HW_AUTHENT | _F.ANONYMOUS
#: MIT's first ordering for the ticket key when a service has several enctypes.
_STRENGTH_ORDER = (20, 18, 19, 17)
#: MIT assumes every service can take an aes256-cts-hmac-sha1-96 session key
#: (dbentry_supports_enctype, krb5 1.18 and later).
_ASSUMED_SESSION_ENCTYPE = 18


class TicketPolicy(Protocol):
    """What policy reads from a principal entry (the backend's ``Principal`` fits)."""

    @property
    def max_life(self) -> int | None: ...
    @property
    def max_renewable_life(self) -> int | None: ...
    @property
    def allow_forwardable(self) -> bool: ...
    @property
    def allow_proxiable(self) -> bool: ...
    @property
    def allow_renewable(self) -> bool: ...


def ticket_endtime(
    starttime: int,
    till: int | None,
    max_lives: Iterable[int | None],
    *,
    limit: int = KDC_INFINITY,
) -> int:
    """The ticket end time (MIT ``kdc_get_ticket_endtime``).

    ``till`` absent or 0 means "as long as allowed". ``limit`` is the TGT's end time
    for a TGS request. Every positive maximum lifetime in ``max_lives`` (client,
    server, realm) caps the lifetime; 0 or None there means no limit of its own.
    """
    if not till:
        till = KDC_INFINITY
    until = min(till, limit)
    life = until - starttime
    for max_life in max_lives:
        if max_life:
            life = min(life, max_life)
    if life <= 0:
        raise KdcError(KDC_ERR_NEVER_VALID, "NEVER_VALID")
    return starttime + life


def renew_till(
    options: int,
    *,
    starttime: int,
    endtime: int,
    till: int | None,
    rtime: int | None,
    max_renewable_lives: Iterable[int | None],
    allowed: bool,
    tgt_renew_till: int | None = None,
) -> int | None:
    """The renewable end time, or None for a ticket that is not renewable.

    MIT ``kdc_get_ticket_renewtime``: RENEWABLE asks for ``rtime`` (open when absent);
    RENEWABLE-OK turns a ``till`` beyond the granted end time into a renewable ticket
    up to ``till``, but only when that gives more than the end time. The result is
    capped by the TGT's renew-till (TGS) and by every maximum renewable life.
    ``allowed`` is false when a principal forbids renewable tickets or the TGT is not
    renewable. A maximum of 0 means "not renewable", as MIT's ``min()`` makes it.
    """
    if not allowed:
        return None
    if options & _O.RENEWABLE:
        wanted = rtime or KDC_INFINITY
    elif options & _O.RENEWABLE_OK and till and till > endtime:
        wanted = till
    else:
        return None
    if tgt_renew_till is not None:
        wanted = min(wanted, tgt_renew_till)
    max_rlife: int | None = None
    for value in max_renewable_lives:
        if value is None:
            continue
        max_rlife = value if max_rlife is None else min(max_rlife, value)
    if max_rlife is not None:
        wanted = min(wanted, starttime + max_rlife)
    if not options & _O.RENEWABLE and wanted <= endtime:
        return None
    return wanted


def ticket_flags(
    options: int,
    *,
    server: TicketPolicy,
    client: TicketPolicy | None = None,
    tgt_flags: int | None = None,
) -> int:
    """Flags of the new ticket before RENEWABLE is decided (MIT ``get_ticket_flags``).

    AS (``tgt_flags`` None): the options' own flags plus INITIAL. TGS: plus the flags a
    derived ticket inherits (FORWARDED, PROXY, PRE-AUTHENT, ...); RENEW and VALIDATE
    keep the TGT's flags as they are. FORWARDABLE and PROXIABLE are dropped when the
    client, the server or the TGT does not allow them. PRE-AUTHENT for an AS reply is
    added by the pre-authentication that succeeded, not here.
    """
    if tgt_flags is not None and options & (_O.RENEW | _O.VALIDATE):
        kept: int = int(tgt_flags) & ~_F.INVALID
        return kept
    flags = options & _OPTS_COMMON_FLAGS
    if options & _O.POSTDATED:
        flags |= _F.INVALID
    if tgt_flags is None:
        flags |= _F.INITIAL
    else:
        flags |= tgt_flags & _TGS_COPIED_FLAGS
    if (
        (client is not None and not client.allow_proxiable)
        or not server.allow_proxiable
        or (tgt_flags is not None and not tgt_flags & _F.PROXIABLE)
    ):
        flags &= ~_F.PROXIABLE
    if (
        (client is not None and not client.allow_forwardable)
        or not server.allow_forwardable
        or (tgt_flags is not None and not tgt_flags & _F.FORWARDABLE)
    ):
        flags &= ~_F.FORWARDABLE
    return int(flags)


def check_as_options(options: int) -> None:
    """Refuse TGS-only options in an AS-REQ (MIT validate_as_request, BADOPTION)."""
    if options & AS_INVALID_OPTIONS:
        raise KdcError(KDC_ERR_BADOPTION, "INVALID AS OPTIONS")


# (requested option(s), TGT flag that must be set, MIT status) — tgs_policy.c tgsflagrules
_TGS_FLAG_RULES: tuple[tuple[int, int, str], ...] = (
    (_O.FORWARDED, _F.FORWARDABLE, "TGT NOT FORWARDABLE"),
    (_O.PROXY, _F.PROXIABLE, "TGT NOT PROXIABLE"),
    (_O.ALLOW_POSTDATE | _O.POSTDATED, _F.MAY_POSTDATE, "TGT NOT POSTDATABLE"),
    (_O.VALIDATE, _F.INVALID, "VALIDATE VALID TICKET"),
    (_O.RENEW, _F.RENEWABLE, "TICKET NOT RENEWABLE"),
)


def check_tgs_options(
    options: int,
    *,
    tgt_flags: int,
    tgt_starttime: int,
    tgt_renew_till: int | None,
    now: int,
    tgt_is_for_request_server: bool,
    tgt_server_is_tgs: bool,
    request_server_is_tgs: bool,
) -> None:
    """MIT ``check_tgs_opts``, ``check_tgs_times`` and ``check_tgs_nontgt``/``tgt``.

    - FORWARDED/PROXY/POSTDATE/VALIDATE/RENEW need the matching TGT flag (BADOPTION);
    - an INVALID ticket may only be validated (TKT_NYV);
    - VALIDATE before the start time is TKT_NYV, RENEW past renew-till TKT_EXPIRED;
    - for those options the request names the ticket's own server (SERVER_NOMATCH) and
      a TGT cannot be proxied (BADOPTION); otherwise the ticket must be a TGT.
    """
    for requested, needed, status in _TGS_FLAG_RULES:
        if options & requested and not tgt_flags & needed:
            raise KdcError(KDC_ERR_BADOPTION, status)
    if tgt_flags & _F.INVALID and not options & _O.VALIDATE:
        raise KdcError(KRB_AP_ERR_TKT_NYV, "TICKET NOT VALID")
    if options & _O.VALIDATE and tgt_starttime > now:
        raise KdcError(KRB_AP_ERR_TKT_NYV, "NOT_YET_VALID")
    if options & _O.RENEW and (tgt_renew_till is None or now > tgt_renew_till):
        raise KdcError(KRB_AP_ERR_TKT_EXPIRED, "TKT_EXPIRED")
    if options & NON_TGT_OPTIONS:
        if not tgt_is_for_request_server:
            raise KdcError(
                KDC_ERR_SERVER_NOMATCH, "SERVER DIDN'T MATCH TICKET FOR RENEW/FORWARD/ETC"
            )
        if options & _O.PROXY and request_server_is_tgs:
            raise KdcError(KDC_ERR_BADOPTION, "CAN'T PROXY TGT")
    elif not tgt_server_is_tgs:
        raise KdcError(KRB_AP_ERR_NOT_US, "BAD TGS SERVER NAME")


def select_client_key_enctype(
    requested: Sequence[int], client_enctypes: Collection[int], permitted: Collection[int]
) -> int | None:
    """The reply key enctype: the client's first requested enctype the principal has a
    key for and the realm permits (MIT ``select_client_key``)."""
    for etype in requested:
        if etype in permitted and etype in client_enctypes:
            return etype
    return None


def select_session_enctype(
    requested: Sequence[int], server_enctypes: Collection[int], permitted: Collection[int]
) -> int | None:
    """The session key enctype (MIT ``select_session_keytype``).

    The client's first permitted enctype the service supports, where a service
    supports the enctypes it has keys for, and aes256-cts-hmac-sha1-96 always (MIT's
    assumption for principals without a session_enctypes attribute).
    """
    for etype in requested:
        if etype not in permitted:
            continue
        if etype == _ASSUMED_SESSION_ENCTYPE or etype in server_enctypes:
            return etype
    return None


def select_ticket_key_enctype(
    server_enctypes: Collection[int], permitted: Sequence[int]
) -> int | None:
    """The enctype of the service key that encrypts the ticket.

    MIT takes the first key of the highest kvno, and kadmin stores keys in
    ``supported_enctypes`` order; a key list from our store has no meaningful order,
    so the realm's ``supported_enctypes`` order stands for it, then strength.
    """
    for etype in permitted:
        if etype in server_enctypes:
            return etype
    for etype in _STRENGTH_ORDER:
        if etype in server_enctypes:
            return etype
    return None
