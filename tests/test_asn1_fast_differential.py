"""The hand-written DER path (``has_kdc.asn1.fast``) and the pyasn1 model agree.

For every message the fast path knows, over captured MIT packets (and the plaintexts
inside them), the round-trip SAMPLES and seeded random objects:

- decode: the fast path handles every canonical encoding itself (no Fallback) and
  produces the model's dataclass, compared field by field including the fields that
  ``==`` skips (``req_body_der``, ``ticket_der``) and the types of the values;
- encode: the fast path's bytes are the model's bytes;
- bad input (every truncation, bit flips, byte edits, non-minimal encodings): the
  public functions give the same outcome on both paths, the same Asn1Error message
  or the same value, and the fast path alone either declines or agrees with the model.

Objects are compared with ``deep()``, which spells out a dataclass as (type, fields)
so that ``KDCOptions(5)`` and ``5``, or a ticket with and without its bytes, differ.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from has_kdc.asn1 import Asn1Error, codec, fast
from has_kdc.asn1 import constants as c
from has_kdc.asn1 import der as der_reader
from has_kdc.asn1.messages import (
    ApReq,
    Authenticator,
    AuthorizationDataEntry,
    Checksum,
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    ETypeInfo2Entry,
    HostAddress,
    KdcRep,
    KdcReq,
    KdcReqBody,
    KrbError,
    LastReqEntry,
    PAData,
    PaEncTsEnc,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)
from tests.data.asn1 import decrypt_mit
from tests.test_asn1_roundtrip import SAMPLES

DATA = Path(__file__).parent / "data" / "asn1"

# decoder name → the type it returns: what the fast path decodes itself (the messages
# the KDC and the client decode per request), the SEQUENCE OF ones apart
DECODERS: dict[str, type] = {
    "decode_kdc_req": KdcReq,
    "decode_kdc_rep": KdcRep,
    "decode_ap_req": ApReq,
    "decode_authenticator": Authenticator,
    "decode_enc_ticket_part": EncTicketPart,
    "decode_enc_kdc_rep_part": EncKdcRepPart,
    "decode_krb_error": KrbError,
    "decode_pa_enc_ts_enc": PaEncTsEnc,
    "decode_encrypted_data": EncryptedData,
    # inside FAST-armored requests
    "decode_kdc_req_body": KdcReqBody,
    "decode_checksum": Checksum,
    "decode_principal_name": PrincipalName,
}
DECODER_OF_TYPE = {t: name for name, t in DECODERS.items()}
SEQUENCE_OF_DECODERS = ("decode_method_data", "decode_etype_info2")


# ------------------------------------------------------------------ helpers


@contextmanager
def der_path(path: str) -> Iterator[None]:
    previous = codec.use_der_path(path)
    try:
        yield
    finally:
        codec.use_der_path(previous)


def deep(value: Any) -> Any:
    """A value spelled out for comparison: types included, no field skipped."""
    if dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)
        return (type(value).__name__, tuple((f.name, deep(getattr(value, f.name))) for f in fields))
    if isinstance(value, tuple):
        return ("tuple", tuple(deep(v) for v in value))
    return (type(value).__name__, value)


def model_decode(name: str, data: bytes) -> Any:
    with der_path("pyasn1"):
        return getattr(codec, name)(data)


def model_encode(obj: Any) -> bytes:
    with der_path("pyasn1"):
        return codec.encode(obj)


def outcome(name: str, data: bytes, path: str) -> tuple[str, Any]:
    """What a public decoder makes of ``data`` on one path: a value or an Asn1Error text.
    Any other exception fails the test."""
    with der_path(path):
        try:
            return "value", deep(getattr(codec, name)(data))
        except Asn1Error as e:
            return "error", str(e)


def check_decode(name: str, data: bytes) -> Any:
    """Canonical DER: the fast path decodes it itself, to the model's value."""
    expected = deep(model_decode(name, data))
    got = fast.DECODERS[name](data)  # a Fallback here fails the test
    assert deep(got) == expected
    with der_path("fast"):
        assert deep(getattr(codec, name)(data)) == expected
    return got


def check_encode(obj: Any) -> bytes:
    """The fast encoder gives the model's bytes, itself (no Fallback)."""
    expected = model_encode(obj)
    assert fast.ENCODERS[type(obj)](obj) == expected
    with der_path("fast"):
        assert codec.encode(obj) == expected
    return expected


def check_agree(name: str, data: bytes) -> str:
    """Any input: both public paths give the same outcome; the fast path alone either
    declines or gives the model's value. Returns "fast", "fallback" or "error"."""
    model = outcome(name, data, "pyasn1")
    assert outcome(name, data, "fast") == model, (name, data.hex())
    try:
        value = fast.DECODERS[name](data)
    except fast.Fallback:
        return "error" if model[0] == "error" else "fallback"
    assert model == ("value", deep(value)), (name, data.hex())
    return "fast"


def padata_value(items: tuple[PAData, ...], padata_type: int) -> bytes:
    return next(p.padata_value for p in items if p.padata_type == padata_type)


# ------------------------------------------------------------------ the MIT corpus


def mit_corpus() -> list[tuple[str, str, bytes]]:
    """(label, decoder, DER) of every captured packet, plaintext and inner part."""
    files = {
        "mit-as-req-no-preauth.der": "decode_kdc_req",
        "mit-as-req-enc-timestamp.der": "decode_kdc_req",
        "mit-tgs-req.der": "decode_kdc_req",
        "mit-as-rep.der": "decode_kdc_rep",
        "mit-tgs-rep.der": "decode_kdc_rep",
        "mit-krb-error-preauth-required.der": "decode_krb_error",
        "mit-pa-enc-ts-enc.der": "decode_pa_enc_ts_enc",
        "mit-enc-as-rep-part.der": "decode_enc_kdc_rep_part",
        "mit-authenticator.der": "decode_authenticator",
        "mit-enc-ticket-part.der": "decode_enc_ticket_part",
    }
    corpus = [(name, decoder, (DATA / name).read_bytes()) for name, decoder in files.items()]
    with der_path("pyasn1"):
        as_req = codec.decode_kdc_req((DATA / "mit-as-req-enc-timestamp.der").read_bytes())
        tgs_req = codec.decode_kdc_req((DATA / "mit-tgs-req.der").read_bytes())
        error = codec.decode_krb_error((DATA / "mit-krb-error-preauth-required.der").read_bytes())
        part = codec.decode_enc_kdc_rep_part((DATA / "mit-enc-as-rep-part.der").read_bytes())
    assert error.e_data is not None and part.encrypted_pa_data is not None
    method_data = codec.decode_method_data(error.e_data)
    ap_req_der = padata_value(tgs_req.padata, c.PA_TGS_REQ)
    corpus += [
        ("as-req req-body", "decode_kdc_req_body", as_req.req_body_der),
        ("tgs-req req-body", "decode_kdc_req_body", tgs_req.req_body_der),
        ("PA-TGS-REQ AP-REQ", "decode_ap_req", ap_req_der),
        ("KRB-ERROR e-data", "decode_method_data", error.e_data),
        ("ETYPE-INFO2", "decode_etype_info2", padata_value(method_data, c.PA_ETYPE_INFO2)),
        (
            "PA-ENC-TIMESTAMP",
            "decode_encrypted_data",
            padata_value(as_req.padata, c.PA_ENC_TIMESTAMP),
        ),
        (
            "PA-REQ-ENC-PA-REP checksum",
            "decode_checksum",
            padata_value(part.encrypted_pa_data, c.PA_REQ_ENC_PA_REP),
        ),
    ]
    return corpus


MIT = mit_corpus()
MIT_IDS = [label for label, _, _ in MIT]


def test_stored_plaintexts_are_those_inside_the_captured_packets():
    with der_path("pyasn1"):
        derived = decrypt_mit.derive()
    for name, plain in derived.items():
        assert (DATA / name).read_bytes() == plain, name


@pytest.mark.parametrize(("label", "decoder", "der"), MIT, ids=MIT_IDS)
def test_mit_decodes_the_same_on_both_paths(label, decoder, der):
    if decoder in SEQUENCE_OF_DECODERS:
        value = fast.DECODERS[decoder](der)
        assert deep(value) == deep(model_decode(decoder, der))
        encoder = {"decode_method_data": "encode_method_data"}.get(decoder, "encode_etype_info2")
        assert getattr(fast, encoder)(value) == der
        return
    value = check_decode(decoder, der)
    # and every MIT message re-encodes on the fast path to the bytes MIT sent
    assert check_encode(value) == der


def test_mit_req_body_der_and_ticket_der_are_slices_of_the_packet():
    tgs = (DATA / "mit-tgs-req.der").read_bytes()
    req = fast.DECODERS["decode_kdc_req"](tgs)
    assert req.req_body_der == model_decode("decode_kdc_req", tgs).req_body_der
    assert req.req_body_der is not None and tgs.endswith(req.req_body_der)
    ap_req = fast.DECODERS["decode_ap_req"](req.padata[0].padata_value)
    assert ap_req.ticket.ticket_der is not None
    assert ap_req.ticket.ticket_der in req.padata[0].padata_value


# ------------------------------------------------------------------ SAMPLES


FAST_SAMPLES = [s for s in SAMPLES if type(s) in fast.ENCODERS]


@pytest.mark.parametrize("obj", FAST_SAMPLES, ids=lambda o: type(o).__name__)
def test_samples_encode_and_decode_the_same_on_both_paths(obj):
    der = check_encode(obj)
    if type(obj) in DECODER_OF_TYPE:
        check_decode(DECODER_OF_TYPE[type(obj)], der)


def test_the_fast_path_decodes_what_the_kdc_and_the_client_decode():
    """Its scope, and nothing else: the rest of RFC 4120 is the model's."""
    assert set(fast.DECODERS) == set(DECODERS) | set(SEQUENCE_OF_DECODERS)
    assert set(fast.ENCODERS) == set(DECODERS.values()) | {Ticket}


def test_every_hot_type_has_samples():
    assert {type(s) for s in FAST_SAMPLES} >= set(DECODERS.values())


# ------------------------------------------------------------------ generated objects


class Generator:
    """Seeded random values: optional fields present or absent, long and non-UTF-8
    names, integers of every size and sign, lengths around 127/128/255/256/65535."""

    ALPHABET = "abcXYZ019./@-_ üé€\u4e2d\udc80\udcff"

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def maybe(self, make: Callable[[], Any]) -> Any:
        return make() if self.r.random() < 0.5 else None

    def count(self) -> int:
        return self.r.choice([0, 1, 1, 2, 3, 5, 40])

    def int32(self) -> int:
        r = self.r
        return r.choice(
            [
                r.randrange(-5, 130),
                r.choice([-129, -128, -1, 0, 127, 128, 255, 256, 32767, 32768, 65535, 65536]),
                r.randrange(-(2**31), 2**31),
                r.randrange(2**31, 2**32),
                r.choice([2**31 - 1, 2**31, 2**32 - 1, -(2**31)]),
                r.randrange(-(2**62), 2**62),  # beyond 64 bits is refused: see below
            ]
        )

    def nonce(self) -> int:
        r = self.r
        return r.choice([r.randrange(2**31, 2**32), r.randrange(0, 2**31), 0, 2**32 - 1])

    def length(self) -> int:
        r = self.r
        return r.choice([0, 1, 16, 32, 126, 127, 128, 129, 200, 255, 256, 257, r.randrange(2000)])

    def blob(self) -> bytes:
        return self.r.randbytes(self.length())

    def text(self) -> str:
        n = self.r.choice([0, 1, 4, 11, 60, 127, 128, 300])
        return "".join(self.r.choice(self.ALPHABET) for _ in range(n))

    def time(self) -> int:
        r = self.r
        return r.choice(
            [
                r.randrange(0, 253402300800),
                1_700_000_000 + r.randrange(-(10**7), 10**7),
                r.choice([0, 951782400, 4102444799, 253402300799]),
            ]
        )

    def flags(self) -> int:
        return self.r.choice([0, 0xFFFFFFFF, self.r.getrandbits(32)])

    def principal(self) -> PrincipalName:
        return PrincipalName(self.int32(), tuple(self.text() for _ in range(self.count())))

    def enc_data(self) -> EncryptedData:
        return EncryptedData(self.int32(), self.blob(), self.maybe(self.int32))

    def key(self) -> EncryptionKey:
        return EncryptionKey(self.int32(), self.blob())

    def pairs(self, kind: type) -> tuple:
        return tuple(kind(self.int32(), self.blob()) for _ in range(self.count()))

    def ticket(self) -> Ticket:
        return Ticket(
            tkt_vno=self.r.choice([5, self.int32()]),
            realm=self.text(),
            sname=self.principal(),
            enc_part=self.enc_data(),
        )

    def req_body(self) -> KdcReqBody:
        return KdcReqBody(
            kdc_options=self.flags(),
            cname=self.maybe(self.principal),
            realm=self.text(),
            sname=self.maybe(self.principal),
            from_time=self.maybe(self.time),
            till=self.maybe(self.time),
            rtime=self.maybe(self.time),
            nonce=self.nonce(),
            etypes=tuple(self.int32() for _ in range(self.count())),
            addresses=self.maybe(lambda: self.pairs(HostAddress)),
            enc_authorization_data=self.maybe(self.enc_data),
            additional_tickets=tuple(self.ticket() for _ in range(self.r.choice([0, 0, 1, 2]))),
        )

    def kdc_req(self) -> KdcReq:
        return KdcReq(
            msg_type=self.r.choice([c.KRB_AS_REQ, c.KRB_TGS_REQ]),
            pvno=self.r.choice([5, 5, self.int32()]),
            padata=self.pairs(PAData),
            req_body=self.req_body(),
        )

    def kdc_rep(self) -> KdcRep:
        return KdcRep(
            msg_type=self.r.choice([c.KRB_AS_REP, c.KRB_TGS_REP]),
            padata=self.pairs(PAData),
            crealm=self.text(),
            cname=self.principal(),
            ticket=self.ticket(),
            enc_part=self.enc_data(),
        )

    def enc_kdc_rep_part(self) -> EncKdcRepPart:
        return EncKdcRepPart(
            key=self.key(),
            last_req=tuple(LastReqEntry(self.int32(), self.time()) for _ in range(self.count())),
            nonce=self.nonce(),
            key_expiration=self.maybe(self.time),
            flags=self.flags(),
            authtime=self.time(),
            starttime=self.maybe(self.time),
            endtime=self.time(),
            renew_till=self.maybe(self.time),
            srealm=self.text(),
            sname=self.principal(),
            caddr=self.maybe(lambda: self.pairs(HostAddress)),
            encrypted_pa_data=self.maybe(lambda: self.pairs(PAData)),
            application_tag=self.r.choice([c.APP_ENC_AS_REP_PART, c.APP_ENC_TGS_REP_PART]),
        )

    def enc_ticket_part(self) -> EncTicketPart:
        return EncTicketPart(
            flags=self.flags(),
            key=self.key(),
            crealm=self.text(),
            cname=self.principal(),
            transited=TransitedEncoding(self.int32(), self.blob()),
            authtime=self.time(),
            starttime=self.maybe(self.time),
            endtime=self.time(),
            renew_till=self.maybe(self.time),
            caddr=self.maybe(lambda: self.pairs(HostAddress)),
            authorization_data=self.maybe(lambda: self.pairs(AuthorizationDataEntry)),
        )

    def ap_req(self) -> ApReq:
        return ApReq(ap_options=self.flags(), ticket=self.ticket(), authenticator=self.enc_data())

    def authenticator(self) -> Authenticator:
        return Authenticator(
            authenticator_vno=self.r.choice([5, self.int32()]),
            crealm=self.text(),
            cname=self.principal(),
            cksum=self.maybe(lambda: Checksum(self.int32(), self.blob())),
            cusec=self.int32(),
            ctime=self.time(),
            subkey=self.maybe(self.key),
            seq_number=self.maybe(self.nonce),
            authorization_data=self.maybe(lambda: self.pairs(AuthorizationDataEntry)),
        )

    def krb_error(self) -> KrbError:
        return KrbError(
            ctime=self.maybe(self.time),
            cusec=self.maybe(self.int32),
            stime=self.time(),
            susec=self.int32(),
            error_code=self.int32(),
            crealm=self.maybe(self.text),
            cname=self.maybe(self.principal),
            realm=self.text(),
            sname=self.principal(),
            e_text=self.maybe(self.text),
            e_data=self.maybe(self.blob),
        )

    def pa_enc_ts_enc(self) -> PaEncTsEnc:
        return PaEncTsEnc(self.time(), self.maybe(self.int32))

    def etype_info2(self) -> tuple[ETypeInfo2Entry, ...]:
        return tuple(
            ETypeInfo2Entry(self.int32(), self.maybe(self.blob), self.maybe(self.blob))
            for _ in range(self.count())
        )

    def any_part(self) -> Any:
        make = self.r.choice(
            [
                self.principal,
                self.enc_data,
                self.key,
                lambda: Checksum(self.int32(), self.blob()),
                lambda: HostAddress(self.int32(), self.blob()),
                lambda: AuthorizationDataEntry(self.int32(), self.blob()),
                lambda: PAData(self.int32(), self.blob()),
                lambda: TransitedEncoding(self.int32(), self.blob()),
                lambda: LastReqEntry(self.int32(), self.time()),
                lambda: ETypeInfo2Entry(self.int32(), self.maybe(self.blob), self.maybe(self.blob)),
                self.ticket,
            ]
        )
        return make()


MESSAGES = [
    "kdc_req",
    "req_body",
    "kdc_rep",
    "enc_kdc_rep_part",
    "enc_ticket_part",
    "ap_req",
    "authenticator",
    "krb_error",
    "pa_enc_ts_enc",
]
PER_MESSAGE = 150


@pytest.mark.parametrize("message", MESSAGES)
def test_generated_objects_encode_and_decode_the_same(message):
    gen = Generator(seed=4120 + MESSAGES.index(message))
    make = getattr(gen, message)
    for _ in range(PER_MESSAGE):
        obj = make()
        der = check_encode(obj)
        if type(obj) in DECODER_OF_TYPE:
            check_decode(DECODER_OF_TYPE[type(obj)], der)


def test_generated_sequences_of_encode_and_decode_the_same():
    gen = Generator(seed=6113)
    for _ in range(PER_MESSAGE):
        padata = gen.pairs(PAData)
        for items, encoder, decoder in (
            (padata, "encode_method_data", "decode_method_data"),
            (list(padata), "encode_method_data", "decode_method_data"),
            (gen.etype_info2(), "encode_etype_info2", "decode_etype_info2"),
        ):
            with der_path("pyasn1"):
                expected = getattr(codec, encoder)(items)
            assert getattr(fast, encoder)(items) == expected
            assert deep(fast.DECODERS[decoder](expected)) == deep(model_decode(decoder, expected))


def test_generated_corpus_covers_the_length_forms():
    """The generator reaches one-, two- and three-byte lengths and 64 KiB elements."""
    gen = Generator(seed=1)
    forms = set()  # first length octet of the outer element: short, 0x81 or 0x82
    for _ in range(300):
        der = model_encode(gen.any_part())
        forms.add("short" if der[1] < 0x80 else der[1])
    assert forms == {"short", 0x81, 0x82}
    big = KrbError(stime=0, susec=0, error_code=60, realm="R", sname=PrincipalName(1, ()))
    big = dataclasses.replace(big, e_data=bytes(70_000), e_text="x" * 300)
    der = check_encode(big)
    assert der[1] == 0x83  # three-byte length
    check_decode("decode_krb_error", der)


# ------------------------------------------------------------------ times and flags


def pa_enc_ts(text: bytes) -> bytes:
    return bytes.fromhex("3013a011180f") + text


@pytest.mark.parametrize(
    "text",
    [
        b"19700101000000Z",
        b"20000229235959Z",
        b"21000228000000Z",
        b"20230230120000Z",  # Feb 30: the model's calendar rolls it into March
        b"20230431000000Z",
        b"20231231235960Z",  # leap second
        b"00010101000000Z",
        b"16010101000000Z",  # before 1970: negative seconds
        b"99991231235959Z",
    ],
)
def test_kerberos_time_edge_dates_decode_the_same(text):
    check_decode("decode_pa_enc_ts_enc", pa_enc_ts(text))


@pytest.mark.parametrize(
    "text",
    [
        b"00000101000000Z",  # year 0: the model's calendar refuses it
        b"20231301000000Z",
        b"20231100000000Z",
        b"20231132000000Z",
        b"20231114240000Z",
        b"20231114226000Z",
        b"20231114221361Z",
        b"2023111422132+Z",
        b"2023111422132 Z",
        b"20231114221320z",
        b"\xd9\xa0" + b"0231114221320Z",  # a non-ASCII digit
    ],
)
def test_invalid_kerberos_times_are_left_to_the_model(text):
    der = pa_enc_ts(text)
    with pytest.raises(fast.Fallback):
        fast.DECODERS["decode_pa_enc_ts_enc"](der)
    assert check_agree("decode_pa_enc_ts_enc", der) == "error"


def test_random_valid_dates_decode_the_same():
    r = random.Random(3961)
    for _ in range(2000):
        y, m, d = r.randrange(1, 10000), r.randrange(1, 13), r.randrange(1, 32)
        h, mi, s = r.randrange(24), r.randrange(60), r.randrange(61)
        check_decode(
            "decode_pa_enc_ts_enc", pa_enc_ts(b"%04d%02d%02d%02d%02d%02dZ" % (y, m, d, h, mi, s))
        )


def test_times_encode_the_same_over_the_whole_range():
    r = random.Random(8009)
    for seconds in [0, 59, 86399, 951868799, 253402300799] + [
        r.randrange(0, 253402300800) for _ in range(2000)
    ]:
        check_encode(PaEncTsEnc(seconds))


def named(sname: PrincipalName) -> KrbError:
    """A KRB-ERROR naming ``sname``: names are encoded inside messages."""
    return KrbError(stime=0, susec=0, error_code=6, realm="R", sname=sname)


@pytest.mark.parametrize(
    "obj",
    [
        PaEncTsEnc(-1),
        PaEncTsEnc(253402300800),
        PaEncTsEnc(True),  # type: ignore[arg-type]
        EncTicketPart(
            flags=1 << 32,
            key=EncryptionKey(18, b"k"),
            crealm="R",
            cname=PrincipalName(1, ()),
            transited=TransitedEncoding(1, b""),
            authtime=0,
            endtime=0,
        ),
        KdcReq(msg_type=11, req_body=KdcReqBody(kdc_options=0, realm="R", nonce=0, etypes=())),
        named(PrincipalName(1, ("a", None))),  # type: ignore[arg-type]
        named(PrincipalName(1, "ab")),  # type: ignore[arg-type]
        named(PrincipalName(1, ("\ud800",))),  # a lone surrogate has no bytes
        EncryptedData(18, bytearray(b"x")),  # type: ignore[arg-type]
        EncryptedData(18.0, b"x"),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_values_the_fast_encoder_declines_get_the_models_answer(obj):
    with pytest.raises(fast.Fallback):
        fast.ENCODERS[type(obj)](obj)
    outcomes = []
    for path in ("pyasn1", "fast"):
        with der_path(path):
            try:
                outcomes.append(("bytes", codec.encode(obj)))
            except Asn1Error as e:
                outcomes.append(("error", str(e)))
    assert outcomes[0] == outcomes[1]


def test_flags_come_back_as_the_model_types():
    req = fast.DECODERS["decode_kdc_req"]((DATA / "mit-as-req-no-preauth.der").read_bytes())
    assert type(req.req_body.kdc_options) is c.KDCOptions
    assert (
        type(
            fast.DECODERS["decode_enc_ticket_part"](
                (DATA / "mit-enc-ticket-part.der").read_bytes()
            ).flags
        )
        is c.TicketFlags
    )


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("label", "decoder", "der"), MIT, ids=MIT_IDS)
def test_every_truncation_is_an_error_on_both_paths(label, decoder, der):
    for cut in range(len(der)):
        assert check_agree(decoder, der[:cut]) == "error", cut
    assert check_agree(decoder, der + b"\x00") == "error"


SMALL = [m for m in MIT if len(m[2]) <= 300]


@pytest.mark.parametrize(("label", "decoder", "der"), SMALL, ids=[m[0] for m in SMALL])
def test_every_single_bit_flip_agrees(label, decoder, der):
    tally = {"fast": 0, "fallback": 0, "error": 0}
    for bit in range(len(der) * 8):
        flipped = bytearray(der)
        flipped[bit // 8] ^= 1 << (bit % 8)
        tally[check_agree(decoder, bytes(flipped))] += 1
    # flips in names, keys and ciphertext still decode, on the fast path itself
    assert tally["fast"] > 0 and tally["error"] > 0, tally


@pytest.mark.parametrize(("label", "decoder", "der"), MIT, ids=MIT_IDS)
def test_random_edits_agree(label, decoder, der):
    r = random.Random(len(der))
    for _ in range(250):
        data = bytearray(der)
        for _ in range(r.randrange(1, 4)):
            pos = r.randrange(len(data))
            op = r.randrange(4)
            if op == 0:
                data[pos] ^= 1 << r.randrange(8)
            elif op == 1:
                data[pos] = r.randrange(256)
            elif op == 2:
                data.insert(pos, r.randrange(256))
            elif len(data) > 1:
                del data[pos]
        check_agree(decoder, bytes(data))


@pytest.mark.parametrize("decoder", list(DECODERS) + list(SEQUENCE_OF_DECODERS))
def test_random_bytes_agree(decoder):
    r = random.Random(decoder)
    for _ in range(200):
        check_agree(decoder, r.randbytes(r.randrange(0, 48)))
    # plausible openings: the right outer tag, then noise
    for _ in range(200):
        first = r.choice([0x30, 0x61, 0x62, 0x63, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x79, 0x7A, 0x7E])
        body = r.randbytes(r.randrange(0, 40))
        check_agree(decoder, bytes([first, len(body)]) + body)


def ber_variants(der: bytes) -> Iterator[bytes]:
    """Copies of ``der`` with one element written as BER but not DER: its length in a
    longer form than needed (every element), or its INTEGER with a redundant leading
    00/FF octet (every INTEGER). Enclosing lengths are recomputed, so each copy is a
    well-formed BER encoding of the same value."""
    elements = 0

    def write(target: int, pad: bool) -> bytes:
        nonlocal elements
        elements = 0

        def walk(pos: int, end: int) -> bytes:
            nonlocal elements
            out = []
            while pos < end:
                identifier, _, start, stop = der_reader.read_header(der, pos, end)
                me = elements
                elements += 1
                content = walk(start, stop) if identifier & 0x20 else der[start:stop]
                if me == target and pad and identifier == 0x02:
                    content = (b"\xff" if content[0] & 0x80 else b"\x00") + content
                n = len(content)
                if me == target and not pad:
                    width = 1 if n < 0x80 else 2 if n < 0x100 else 3
                    length = bytes([0x80 | width]) + n.to_bytes(width, "big")
                elif n < 0x80:
                    length = bytes([n])
                else:
                    width = (n.bit_length() + 7) // 8
                    length = bytes([0x80 | width]) + n.to_bytes(width, "big")
                out.append(der[pos : pos + 1] + length + content)
                pos = stop
            return b"".join(out)

        return walk(0, len(der))

    assert write(-1, False) == der  # the walk itself changes nothing
    for target in range(elements):
        yield write(target, False)
        padded = write(target, True)
        if padded != der:
            yield padded


@pytest.mark.parametrize(("label", "decoder", "der"), SMALL, ids=[m[0] for m in SMALL])
def test_ber_that_is_not_der_falls_back_and_decodes_as_the_model_does(label, decoder, der):
    """pyasn1 reads redundant length and INTEGER octets; the fast path never does, so
    these reach the model, whose value (req_body_der and all) is the answer."""
    variants = list(ber_variants(der))
    assert len(variants) >= 6  # PA-ENC-TS-ENC, the smallest, has 5 elements
    for variant in variants:
        assert check_agree(decoder, variant) == "fallback"


def test_integers_encode_and_decode_like_pyasn1():
    """pyasn1 writes -2**(8k-1) one octet longer than X.690 asks (ff 80 ...); the fast
    path matches it byte for byte and reads it back (up to 8 content octets)."""
    edges = [0, 1, 127, 128, 255, 256, -1, -127, -128, -129, -255, -256, -257]
    for k in range(1, 8):
        edges += [2 ** (8 * k - 1) + d for d in (-1, 0, 1)]
        edges += [-(2 ** (8 * k - 1)) + d for d in (-1, 0, 1)]
    edges += [2**63 - 1, -(2**63) + 1]
    for value in edges:
        der = check_encode(EncryptedData(value, b"", kvno=value))
        check_decode("decode_encrypted_data", der)
    assert model_encode(EncryptedData(-128, b"")) == bytes.fromhex("300aa0040202ff80a2020400")


@pytest.mark.parametrize("value", [2**63, -(2**63), 2**70, 10**40, -(10**4000)])
def test_integers_over_64_bits_are_refused_by_both_paths(value):
    """As MIT's decoder (asn1_decode_int: no more than an intmax_t): RFC 4120 has no
    INTEGER wider than 32 bits, and a 30 KB one is a 70,000-digit number to carry."""
    der = model_encode(EncryptedData(value, b"", kvno=1))
    assert check_agree("decode_encrypted_data", der) == "error"
    with pytest.raises(Asn1Error, match="over the 8 bytes of a 64-bit number"):
        model_decode("decode_encrypted_data", der)


@pytest.mark.parametrize("value", [0, 5, 0x7F, 0x7F01, 0x80, -1, -0x7F, -0x81, -0x7FFF, -0x8001])
def test_padded_integers_fall_back(value):
    """An INTEGER with a redundant leading octet is BER, read by the model; only the
    exact form pyasn1 itself writes for -2**(8k-1) is read by the fast path."""
    n = (value if value >= 0 else ~value).bit_length() // 8 + 1
    minimal = value.to_bytes(n, "big", signed=True)
    padded = (b"\xff" if value < 0 else b"\x00") + minimal
    der = bytes([0x30, len(padded) + 9, 0xA0, len(padded) + 2, 0x02, len(padded)])
    der += padded + bytes.fromhex("a203040178")
    assert check_agree("decode_encrypted_data", der) == "fallback"
    assert model_decode("decode_encrypted_data", der).etype == value


@pytest.mark.parametrize("etypes", [900, 1100, 20_000])
def test_messages_over_the_element_limit_are_refused_by_both_paths(etypes):
    """A bound on the model's work (tens of microseconds an element) holds for the fast
    path's answer too: what the model would take a second to refuse, neither accepts.
    900 etypes are within the limit (the message has about 930 elements)."""
    req = KdcReq(
        msg_type=c.KRB_AS_REQ,
        req_body=KdcReqBody(
            kdc_options=0,
            cname=PrincipalName(1, ("user",)),
            realm="R",
            sname=PrincipalName(2, ("krbtgt", "R")),
            nonce=1,
            etypes=(18,) * etypes,
        ),
    )
    der = model_encode(req)
    if etypes < der_reader.MAX_ELEMENTS - 100:
        assert check_agree("decode_kdc_req", der) == "fast"
        return
    assert check_agree("decode_kdc_req", der) == "error"
    with pytest.raises(Asn1Error, match="more than 1024 elements"):
        model_decode("decode_kdc_req", der)


# ------------------------------------------------------------------ the switch


def test_fast_path_is_the_default_and_the_switch_selects_the_model(monkeypatch):
    """Counted at pyasn1's decoder: the fast path never reaches it for a well-formed
    AS-REQ; ``use_der_path("pyasn1")`` always does; a Fallback does too."""
    calls = []
    real = codec._der_decoder.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(codec._der_decoder, "decode", counting)
    der = (DATA / "mit-as-req-enc-timestamp.der").read_bytes()
    assert codec.der_path() == "fast"
    codec.decode_kdc_req(der)
    assert calls == []
    with der_path("pyasn1"):
        assert codec.der_path() == "pyasn1"
        codec.decode_kdc_req(der)
    assert calls == [1]
    codec.decode_encrypted_data(bytes.fromhex("300ba00402020012a203040178"))
    assert calls == [1, 1]


def test_encode_switch(monkeypatch):
    calls = []
    real = codec._der_encoder.encode

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(codec._der_encoder, "encode", counting)
    error = fast.DECODERS["decode_krb_error"](
        (DATA / "mit-krb-error-preauth-required.der").read_bytes()
    )
    fast_der = codec.encode(error)
    assert calls == []
    with der_path("pyasn1"):
        assert codec.encode(error) == fast_der
    assert calls == [1]


def test_der_path_values_are_checked():
    with pytest.raises(ValueError, match="'fast' or 'pyasn1'"):
        codec.use_der_path("asn1crypto")
    assert codec.der_path() == "fast"


@pytest.mark.parametrize(
    ("value", "expected"), [("pyasn1", "pyasn1"), ("fast", "fast"), ("", "fast")]
)
def test_environment_variable_selects_the_path(value, expected):
    env = dict(os.environ, HAS_KDC_ASN1=value)
    out = subprocess.run(
        [sys.executable, "-c", "from has_kdc.asn1 import codec; print(codec.der_path())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expected


def test_environment_variable_typo_is_refused():
    env = dict(os.environ, HAS_KDC_ASN1="pyasn")
    out = subprocess.run(
        [sys.executable, "-c", "import has_kdc.asn1"], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "HAS_KDC_ASN1 must be 'fast' or 'pyasn1', got 'pyasn'" in out.stderr


def test_bytes_like_input_takes_the_fast_path_too():
    der = (DATA / "mit-tgs-req.der").read_bytes()
    expected = deep(model_decode("decode_kdc_req", der))
    assert deep(codec.decode_kdc_req(bytearray(der))) == expected
    assert deep(codec.decode_kdc_req(memoryview(der))) == expected
    with pytest.raises(TypeError):
        codec.decode_kdc_req(der.hex())  # type: ignore[arg-type]
