"""A refusal's KRB-ERROR comes from a template (everything after susec, kept by what it
names) and its log line from a memo: both must be byte for byte what wording them
afresh gives, for every time, name, text and e-data."""

from __future__ import annotations

import random

import pytest

from has_kdc.asn1 import codec
from has_kdc.asn1.codec import decode_krb_error, encode
from has_kdc.asn1.messages import KrbError, PrincipalName
from has_kdc.kdc import context
from has_kdc.kdc.context import RequestLog
from has_kdc.kdc.errors import build_krb_error


def _fresh(code: int, **fields: object) -> bytes:
    """The KRB-ERROR through the codec, as build_krb_error made it before templates."""
    now = fields.pop("now")
    assert isinstance(now, float)
    seconds = int(now)
    cname = fields.get("cname")
    return encode(
        KrbError(
            stime=seconds,
            susec=min(int((now - seconds) * 1_000_000), 999_999),
            error_code=code,
            realm=fields["realm"],  # type: ignore[arg-type]
            sname=fields["sname"],  # type: ignore[arg-type]
            crealm=fields.get("crealm") if cname is not None else None,  # type: ignore[arg-type]
            cname=cname,  # type: ignore[arg-type]
            e_text=fields.get("e_text") or None,  # type: ignore[arg-type]
            e_data=fields.get("e_data"),  # type: ignore[arg-type]
        )
    )


@pytest.mark.parametrize("path", codec.DER_PATHS)
def test_templated_krb_error_is_the_encoded_one(path: str) -> None:
    rng = random.Random(19)
    previous = codec.use_der_path(path)
    try:
        for _ in range(3000 if path == "fast" else 300):
            sname = PrincipalName(2, tuple(rng.choice(("krbtgt", "R", "s" * 150)) for _ in "ab"))
            fields: dict[str, object] = {
                # from the epoch to the end of the range, with susec of 1 to 3 octets
                "now": rng.choice((0.0, 1.5, 1_700_000_000.999999, rng.uniform(0, 4e9))),
                "realm": rng.choice(("R", "EXAMPLE.COM", "X" * 200)),
                "sname": sname,
            }
            if rng.random() < 0.6:
                fields["cname"] = PrincipalName(1, ("u" * rng.randint(1, 300),))
                fields["crealm"] = rng.choice(("R", "Y" * 130))
            elif rng.random() < 0.3:
                fields["crealm"] = "left out without a cname"
            if rng.random() < 0.6:
                fields["e_text"] = rng.choice(("", "NEEDED_PREAUTH", "t" * 200))
            if rng.random() < 0.5:
                fields["e_data"] = rng.randbytes(rng.randint(0, 300))
            code = rng.choice((6, 25, 29, 60, 0, 127, 128, 70000))
            expected = _fresh(code, **fields)
            assert build_krb_error(code, **fields) == expected  # type: ignore[arg-type]
            assert build_krb_error(code, **fields) == expected  # type: ignore[arg-type]
    finally:
        codec.use_der_path(previous)


def test_a_time_out_of_range_is_the_codecs_to_refuse() -> None:
    sname = PrincipalName(2, ("krbtgt", "R"))
    build_krb_error(6, now=1.0, realm="R", sname=sname)  # the template exists
    with pytest.raises(codec.Asn1Error):
        build_krb_error(6, now=-1.0, realm="R", sname=sname)


def test_unhashable_names_are_encoded_without_a_template() -> None:
    sname = PrincipalName(2, ["krbtgt", "R"])  # type: ignore[arg-type]
    reply = build_krb_error(6, now=1_700_000_000.25, realm="R", sname=sname)
    assert decode_krb_error(reply).sname.components == ("krbtgt", "R")


def _log(**fields: object) -> RequestLog:
    rlog = RequestLog("AS_REQ", "10.0.0.1")
    for name, value in fields.items():
        setattr(rlog, name, value)
    return rlog


@pytest.mark.parametrize(
    "fields",
    [
        {
            "etypes": (18, 17),
            "cname": "nobody@R",
            "sname": "krbtgt/R@R",
            "status": "CLIENT_NOT_FOUND",
            "code": 6,
        },
        {
            "etypes": [18],
            "cname": "u@R",
            "sname": "krbtgt/R@R",
            "status": "NEEDED_PREAUTH",
            "code": 25,
        },
        {"etypes": (18,), "cname": "u@R", "sname": "krbtgt/R@R", "authtime": 5, "rep_etype": 18},
        {
            "etypes": tuple(range(40)),
            "cname": "\udcff" * 200,
            "sname": None,
            "status": "X",
            "code": 7,
        },
    ],
)
def test_remembered_log_lines_are_the_worded_ones(fields: dict[str, object]) -> None:
    context._lines.clear()
    worded = _log(**fields)._word()
    assert _log(**fields).line() == worded  # worded, then remembered
    assert _log(**fields).line() == worded  # from the memo
    other = _log(**{**fields, "peer": "10.0.0.2"}).line()
    assert other == worded.replace("10.0.0.1", "10.0.0.2")
