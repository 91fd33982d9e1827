"""KRB-FX-CF2 and PRF+ (RFC 6113 §5.1) against MIT's t_cf2 vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from has_kdc.crypto import cf2, cf2_mixed, enctype_by_id, prf_plus

V = json.loads((Path(__file__).parent / "data/crypto/mit_t_cf2.json").read_text())["vectors"]


@pytest.mark.parametrize("v", V, ids=lambda v: str(v["enctype"]))
def test_cf2_matches_mit(v) -> None:
    et = enctype_by_id(v["enctype"])
    k1 = et.string_to_key(v["password1"].encode(), v["password1"].encode())
    k2 = et.string_to_key(v["password2"].encode(), v["password2"].encode())
    out = cf2(et.etype, k1, v["pepper1"].encode(), k2, v["pepper2"].encode())
    assert out.hex() == v["output"]


def test_prf_plus_is_prf_of_counter_and_pepper() -> None:
    et = enctype_by_id(18)
    key = bytes(range(32))
    out = prf_plus(18, key, b"pepper", 40)
    rounds = b"".join(et.prf(key, bytes((i,)) + b"pepper") for i in (1, 2, 3))
    assert out == rounds[:40]


def test_cf2_of_two_enctypes_has_the_first_ones_size() -> None:
    out = cf2_mixed(17, bytes(16), b"a", 20, bytes(32), b"b")
    assert len(out) == 16
    assert out != cf2_mixed(17, bytes(16), b"a", 20, bytes(range(32)), b"b")
