"""``codec.encode_fields(cls, **fields)`` is ``encode(cls(**fields))``, byte for byte.

The KDC encodes its EncTicketPart, EncKDCRepPart and KDC-REP from their field values
without building the objects (``fast.FIELD_ENCODERS``, compiled from the same schema
lines as the object writers). Checked against the pyasn1 model over the seeded
random messages of the differential test (every optional field present and absent,
long and non-UTF-8 names, addresses, padata, lengths around every length form),
over nonces at every INTEGER length edge from 0 to 2**32 - 1, and for input the
fast path declines or that is not a message at all.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from has_kdc.asn1 import Asn1Error, codec, fast, schema
from has_kdc.asn1 import constants as c
from has_kdc.asn1.messages import (
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    HostAddress,
    KdcRep,
    LastReqEntry,
    PAData,
    PrincipalName,
)
from tests.test_asn1_fast_differential import Generator, der_path, model_encode

BUILDERS = {EncTicketPart: "enc_ticket_part", EncKdcRepPart: "enc_kdc_rep_part", KdcRep: "kdc_rep"}


def fields_of(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def check_fields(obj: Any) -> bytes:
    """Both paths of encode_fields give the model's bytes for ``obj``'s fields, and
    the fast path gives them itself (no Fallback)."""
    expected = model_encode(obj)
    fields = fields_of(obj)
    assert fast.FIELD_ENCODERS[type(obj)](**fields) == expected
    assert fast.FIELD_ENCODERS_WITH_MODEL[type(obj)](**fields) == expected
    for path in codec.DER_PATHS:
        with der_path(path):
            assert codec.encode_fields(type(obj), **fields) == expected
            assert codec.fields_encoder(type(obj))(**fields) == expected
    return expected


def test_the_kdcs_built_messages_have_a_field_encoder():
    assert set(fast.FIELD_ENCODERS) == set(BUILDERS)


@pytest.mark.parametrize("cls", list(BUILDERS), ids=lambda cls: cls.__name__)
def test_generated_messages_encode_the_same_from_their_fields(cls):
    gen = Generator(seed=6806 + list(BUILDERS).index(cls))
    make = getattr(gen, BUILDERS[cls])
    lengths = set()
    for _ in range(300):
        der = check_fields(make())
        lengths.add("short" if der[1] < 0x80 else der[1])
    assert lengths - {"short"}  # long length forms were reached


def test_defaults_are_the_dataclasses():
    """Fields left out take the dataclass's defaults (pvno 5, no padata, tag 25...)."""
    name = PrincipalName(c.NT_PRINCIPAL, ("alice",))
    required = {
        "key": EncryptionKey(18, bytes(32)),
        "last_req": (LastReqEntry(0, 0),),
        "nonce": 7,
        "flags": 0x40E10000,
        "authtime": 1_700_000_000,
        "endtime": 1_700_086_400,
        "srealm": "EXAMPLE.COM",
        "sname": name,
    }
    assert codec.encode_fields(EncKdcRepPart, **required) == model_encode(EncKdcRepPart(**required))


def _nonce_edges() -> list[int]:
    """Every INTEGER content length of a nonce (UInt32 on the wire, kept as int): the
    largest value of each length, the next one, and their neighbours."""
    edges = {0, 1, 2**32 - 1}
    for bits in (7, 8, 15, 16, 23, 24, 31, 32):
        edges.update(2**bits + d for d in (-2, -1, 0, 1))
    return sorted(e for e in edges if 0 <= e < 2**32)


@pytest.mark.parametrize("nonce", _nonce_edges())
def test_nonces_of_every_length_encode_the_same(nonce):
    long_name = PrincipalName(c.NT_SRV_INST, ("HTTP", "h" * 200 + ".example.com"))
    addresses = (HostAddress(c.ADDRTYPE_IPV4, bytes(4)), HostAddress(c.ADDRTYPE_IPV6, bytes(16)))
    full = EncKdcRepPart(
        key=EncryptionKey(18, bytes(range(32))),
        last_req=(LastReqEntry(0, 0), LastReqEntry(-1, 1_700_000_000)),
        nonce=nonce,
        key_expiration=1_800_000_000,
        flags=0xFFFFFFFF,
        authtime=1_700_000_000,
        starttime=1_700_000_001,
        endtime=1_700_086_400,
        renew_till=1_700_600_000,
        srealm="R" * 300,
        sname=long_name,
        caddr=addresses,
        encrypted_pa_data=(PAData(c.PA_REQ_ENC_PA_REP, bytes(14)), PAData(c.PA_FX_FAST, b"")),
        application_tag=c.APP_ENC_TGS_REP_PART,
    )
    bare = EncKdcRepPart(
        key=EncryptionKey(17, bytes(16)),
        last_req=(),
        nonce=nonce,
        flags=0,
        authtime=0,
        endtime=253402300799,
        srealm="",
        sname=PrincipalName(c.NT_PRINCIPAL, ()),
    )
    for obj in (full, bare):
        check_fields(obj)
        assert fast.ENCODERS[EncKdcRepPart](obj) == model_encode(obj)


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": True},  # a bool is not an Int32 here
        {"authtime": -1},  # before 1970: the model words it
        {"flags": 2**32},  # wider than 32 bits
        {"srealm": b"bytes"},  # not a str
        {"sname": ("not", "a", "name")},
        {"application_tag": 1},  # neither EncASRepPart nor EncTGSRepPart
    ],
    ids=lambda change: next(iter(change)),
)
def test_what_the_fast_path_declines_gets_the_models_answer(change):
    base = EncKdcRepPart(
        key=EncryptionKey(18, bytes(32)),
        last_req=(),
        nonce=1,
        flags=0,
        authtime=0,
        endtime=0,
        srealm="R",
        sname=PrincipalName(1, ("a",)),
    )
    fields = {**fields_of(base), **change}
    with pytest.raises(fast.Fallback):
        fast.FIELD_ENCODERS[EncKdcRepPart](**fields)
    expected = _outcome(lambda: model_encode(EncKdcRepPart(**fields)))
    assert _outcome(lambda: codec.encode_fields(EncKdcRepPart, **fields)) == expected
    with_model = fast.FIELD_ENCODERS_WITH_MODEL[EncKdcRepPart]
    assert _outcome(lambda: with_model(**fields)) == expected


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        return "value", run()
    except (Asn1Error, TypeError) as e:
        return type(e).__name__, str(e)


def test_missing_and_unknown_fields_are_the_dataclasses_errors():
    cipher = EncryptedData(18, b"x")
    with pytest.raises(
        TypeError, match="missing 2 required keyword-only arguments: 'crealm' and 'ticket'"
    ):
        codec.encode_fields(KdcRep, msg_type=11, cname=PrincipalName(1, ()), enc_part=cipher)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        codec.encode_fields(EncryptedData, etype=18, cipher=b"", colour=1)


def test_a_field_named_like_a_writers_variable_is_refused():
    """The generated code reads the arguments by their names: a field called like one
    of its own variables would be shadowed, so the compiler refuses to build it."""

    @dataclasses.dataclass(frozen=True)
    class Shadow:
        parts: int

    t = schema.Sequence("Shadow", Shadow, (schema.Field(0, "parts", schema.INTEGER),))
    with pytest.raises(ValueError, match="parts"):
        fast._Compiler().fields_writer(t)
