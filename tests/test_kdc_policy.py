"""KDC policy functions against the MIT behaviour they mirror (src/kdc/kdc_util.c)."""

from __future__ import annotations

import pytest

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
from has_kdc.backend.model import Principal
from has_kdc.kdc import policy
from has_kdc.kdc.errors import KdcError

O, F = KDCOptions, TicketFlags  # noqa: E741 - short names keep the flag tables readable
T0 = 1_700_000_000


def test_endtime_is_the_smallest_of_request_and_every_maximum() -> None:
    assert policy.ticket_endtime(T0, T0 + 100_000, (None, None, 36000)) == T0 + 36000
    assert policy.ticket_endtime(T0, T0 + 100_000, (7200, 0, 36000)) == T0 + 7200
    assert policy.ticket_endtime(T0, T0 + 600, (7200, None, 36000)) == T0 + 600
    assert policy.ticket_endtime(T0, 0, (None, None, 36000)) == T0 + 36000
    assert policy.ticket_endtime(T0, None, ()) == policy.KDC_INFINITY
    assert policy.ticket_endtime(T0, T0 + 9000, (None,), limit=T0 + 500) == T0 + 500


def test_endtime_before_the_start_is_never_valid() -> None:
    with pytest.raises(KdcError) as info:
        policy.ticket_endtime(T0, T0 - 10, (36000,))
    assert info.value.code == KDC_ERR_NEVER_VALID


def renew(options, **kw):
    args = {
        "starttime": T0,
        "endtime": T0 + 3600,
        "till": T0 + 3600,
        "rtime": None,
        "max_renewable_lives": (None, 7 * 86400),
        "allowed": True,
    }
    args.update(kw)
    return policy.renew_till(options, **args)


def test_renewable_time() -> None:
    assert renew(O.RENEWABLE, rtime=T0 + 86400) == T0 + 86400
    assert renew(O.RENEWABLE) == T0 + 7 * 86400  # open rtime: the maximum
    assert renew(O.RENEWABLE, rtime=T0 + 30 * 86400, max_renewable_lives=(86400,)) == T0 + 86400
    assert renew(O.RENEWABLE, rtime=T0 + 86400, tgt_renew_till=T0 + 7200) == T0 + 7200
    assert renew(O.RENEWABLE, rtime=T0 + 86400, allowed=False) is None
    assert renew(0, rtime=T0 + 86400) is None
    # principal max 0 means not renewable beyond the start, as MIT's min() does
    assert renew(O.RENEWABLE, rtime=T0 + 86400, max_renewable_lives=(0,)) == T0


def test_renewable_ok_only_when_it_gives_more_than_the_end_time() -> None:
    assert renew(O.RENEWABLE_OK, till=T0 + 86400) == T0 + 86400
    assert renew(O.RENEWABLE_OK, till=T0 + 3600) is None
    assert renew(O.RENEWABLE_OK, till=T0 + 86400, max_renewable_lives=(1800,)) is None


def principal(**kw) -> Principal:
    return Principal(name="x@R", **kw)


def test_as_flags() -> None:
    p = principal()
    flags = policy.ticket_flags(O.FORWARDABLE | O.PROXIABLE | O.RENEWABLE, client=p, server=p)
    assert flags == F.FORWARDABLE | F.PROXIABLE | F.INITIAL  # RENEWABLE is set with the time
    assert policy.ticket_flags(O.POSTDATED | O.ALLOW_POSTDATE, client=p, server=p) == (
        F.POSTDATED | F.MAY_POSTDATE | F.INVALID | F.INITIAL
    )
    no_fwd = principal(allow_forwardable=False, allow_proxiable=False)
    assert policy.ticket_flags(O.FORWARDABLE | O.PROXIABLE, client=no_fwd, server=p) == F.INITIAL
    assert policy.ticket_flags(O.FORWARDABLE | O.PROXIABLE, client=p, server=no_fwd) == F.INITIAL


def test_tgs_flags_inherit_from_the_tgt() -> None:
    p = principal()
    tgt = F.FORWARDABLE | F.PRE_AUTHENT | F.INITIAL | F.RENEWABLE
    assert policy.ticket_flags(O.FORWARDABLE, server=p, tgt_flags=tgt) == (
        F.FORWARDABLE | F.PRE_AUTHENT
    )
    assert policy.ticket_flags(O.PROXIABLE, server=p, tgt_flags=tgt) == F.PRE_AUTHENT
    # RENEW and VALIDATE keep the TGT's flags, minus INVALID
    assert policy.ticket_flags(O.RENEW, server=p, tgt_flags=tgt) == tgt
    assert policy.ticket_flags(O.VALIDATE, server=p, tgt_flags=tgt | F.INVALID) == tgt
    fwd = policy.ticket_flags(O.FORWARDED | O.FORWARDABLE, server=p, tgt_flags=tgt)
    assert fwd == F.FORWARDED | F.FORWARDABLE | F.PRE_AUTHENT


def test_as_options_that_belong_to_tgs_are_badoption() -> None:
    policy.check_as_options(O.FORWARDABLE | O.RENEWABLE | O.CANONICALIZE | O.RENEWABLE_OK)
    for option in (O.FORWARDED, O.PROXY, O.RENEW, O.VALIDATE, O.ENC_TKT_IN_SKEY):
        with pytest.raises(KdcError) as info:
            policy.check_as_options(option)
        assert info.value.code == KDC_ERR_BADOPTION


def check_tgs(options, tgt_flags, **kw):
    args = {
        "tgt_flags": tgt_flags,
        "tgt_starttime": T0,
        "tgt_renew_till": T0 + 86400,
        "now": T0 + 10,
        "tgt_is_for_request_server": True,
        "tgt_server_is_tgs": True,
        "request_server_is_tgs": True,
    }
    args.update(kw)
    try:
        policy.check_tgs_options(options, **args)
    except KdcError as err:
        return err.code, err.status
    return None


@pytest.mark.parametrize(
    ("options", "flags", "expected"),
    [
        (O.FORWARDED, 0, (KDC_ERR_BADOPTION, "TGT NOT FORWARDABLE")),
        (O.FORWARDED, F.FORWARDABLE, None),
        (O.PROXY, 0, (KDC_ERR_BADOPTION, "TGT NOT PROXIABLE")),
        (O.RENEW, 0, (KDC_ERR_BADOPTION, "TICKET NOT RENEWABLE")),
        (O.RENEW, F.RENEWABLE, None),
        (O.VALIDATE, 0, (KDC_ERR_BADOPTION, "VALIDATE VALID TICKET")),
        (O.POSTDATED, 0, (KDC_ERR_BADOPTION, "TGT NOT POSTDATABLE")),
        (0, F.INVALID, (KRB_AP_ERR_TKT_NYV, "TICKET NOT VALID")),
        (O.VALIDATE, F.INVALID, None),
    ],
)
def test_tgs_options_against_the_tgt_flags(options, flags, expected) -> None:
    assert check_tgs(options, flags) == expected


def test_tgs_time_and_server_checks() -> None:
    assert check_tgs(O.RENEW, F.RENEWABLE, now=T0 + 86401)[0] == KRB_AP_ERR_TKT_EXPIRED
    assert check_tgs(O.VALIDATE, F.INVALID, tgt_starttime=T0 + 60)[0] == KRB_AP_ERR_TKT_NYV
    assert check_tgs(O.RENEW, F.RENEWABLE, tgt_is_for_request_server=False)[0] == (
        KDC_ERR_SERVER_NOMATCH
    )
    assert check_tgs(O.PROXY, F.PROXIABLE) == (KDC_ERR_BADOPTION, "CAN'T PROXY TGT")
    assert check_tgs(O.PROXY, F.PROXIABLE, request_server_is_tgs=False) is None
    assert check_tgs(0, 0, tgt_server_is_tgs=False)[0] == KRB_AP_ERR_NOT_US


def test_enctype_selection() -> None:
    permitted = (18, 17, 20, 19)
    assert policy.select_client_key_enctype((23, 17, 18), {18, 17}, permitted) == 17
    assert policy.select_client_key_enctype((23, 16), {18, 17}, permitted) is None
    assert policy.select_client_key_enctype((20,), {20}, (18, 17)) is None
    # session: the client's first the service supports; aes256-sha1 always assumed
    assert policy.select_session_enctype((20, 18), {17}, permitted) == 18
    assert policy.select_session_enctype((20, 17), {17}, permitted) == 17
    assert policy.select_session_enctype((20, 19), {17}, permitted) is None
    assert policy.select_session_enctype((18,), {18}, (17,)) is None
    # ticket key: the service's first key in supported_enctypes order, then strength
    assert policy.select_ticket_key_enctype({17, 19, 20}, permitted) == 17
    assert policy.select_ticket_key_enctype({19, 20}, (18, 17)) == 20
    assert policy.select_ticket_key_enctype(set(), permitted) is None
