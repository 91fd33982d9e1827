"""DER encode and decode between RFC 4120 bytes and the dataclasses of ``messages``.

Every way in and out of the wire format goes through the functions here: ``encode``
for any message or part, ``encode_<sequence-of>`` for the bare SEQUENCE OF forms
(METHOD-DATA, ETYPE-INFO2, TYPED-DATA, ...), and one ``decode_<thing>`` per thing a
peer can send.

Two paths lie behind them. The pyasn1 model (``spec.py``, and the functions here
that walk ``schema.py``'s description of each type to move values between pyasn1
trees and dataclasses) is the reference and handles everything. The hand-tuned DER
of ``fast.py`` takes what the KDC and the client handle per request first and
declines (``Fallback``) anything that is not the well-formed common case, which then
goes to the model; so results, errors and their messages are the model's either
way, 20 to 60 times faster for the common case. ``use_der_path("pyasn1")`` or
``HAS_KDC_ASN1=pyasn1`` in the environment switches the fast path off (differential
tests, benchmarks).

Decoding is strict: the input must be exactly one DER element of the expected type
(trailing bytes are an error), every length must nest, and every failure is an
``Asn1Error`` that names what was expected and where. Decoding tolerates what MIT
clients tolerate: EncKDCRepPart under either [APPLICATION 25] or [APPLICATION 26]
(RFC 4120 §5.4.2 compatibility note), KerberosFlags shorter or longer than 32 bits,
and a KDC-REQ-BODY without ``till``.
"""

from __future__ import annotations

import calendar
import functools
import os
from collections.abc import Callable
from typing import Any

from pyasn1.codec.der import decoder as _der_decoder
from pyasn1.codec.der import encoder as _der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ

from has_kdc.asn1 import der, fast, schema, spec
from has_kdc.asn1.constants import (
    APP_ENC_AS_REP_PART,
    APP_ENC_TGS_REP_PART,
    KRB_AP_REP,
    KRB_AP_REQ,
    KRB_AS_REP,
    KRB_AS_REQ,
    KRB_CRED,
    KRB_ERROR,
    KRB_TGS_REP,
    KRB_TGS_REQ,
    flags_from_wire,
)
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import (
    ApRep,
    ApReq,
    Authenticator,
    AuthorizationDataEntry,
    Checksum,
    EncApRepPart,
    EncKdcRepPart,
    EncKrbCredPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    ETypeInfo2Entry,
    ETypeInfoEntry,
    HostAddress,
    KdcRep,
    KdcReq,
    KdcReqBody,
    KerbPaPacRequest,
    KrbCred,
    KrbCredInfo,
    KrbError,
    LastReqEntry,
    PAData,
    PaEncTsEnc,
    PrincipalName,
    Ticket,
    TransitedEncoding,
    TypedDataEntry,
)
from has_kdc.asn1.schema import Flags, Leaf, Sequence, SequenceOf, Type

__all__ = [
    "decode_ap_rep",
    "decode_ap_req",
    "decode_authenticator",
    "decode_authorization_data",
    "decode_checksum",
    "decode_enc_ap_rep_part",
    "decode_enc_kdc_rep_part",
    "decode_enc_krb_cred_part",
    "decode_enc_ticket_part",
    "decode_encrypted_data",
    "decode_etype_info",
    "decode_etype_info2",
    "decode_kdc_rep",
    "decode_kdc_req",
    "decode_kdc_req_body",
    "decode_krb_cred",
    "decode_krb_error",
    "decode_method_data",
    "decode_pa_enc_ts_enc",
    "decode_pa_pac_request",
    "decode_principal_name",
    "decode_ticket",
    "decode_typed_data",
    "der_path",
    "encode",
    "encode_authorization_data",
    "encode_etype_info",
    "encode_etype_info2",
    "encode_fields",
    "encode_method_data",
    "encode_typed_data",
    "message_type",
    "use_der_path",
]

_MESSAGE_NAMES = {
    KRB_AS_REQ: "AS-REQ",
    KRB_AS_REP: "AS-REP",
    KRB_TGS_REQ: "TGS-REQ",
    KRB_TGS_REP: "TGS-REP",
    KRB_AP_REQ: "AP-REQ",
    KRB_AP_REP: "AP-REP",
    KRB_CRED: "KRB-CRED",
    KRB_ERROR: "KRB-ERROR",
    1: "Ticket",
    2: "Authenticator",
    3: "EncTicketPart",
    25: "EncASRepPart",
    26: "EncTGSRepPart",
    27: "EncAPRepPart",
    29: "EncKrbCredPart",
}

#: The pyasn1 class of each SEQUENCE, by APPLICATION number where there is a choice.
_SPECS: dict[type, Any] = {
    PrincipalName: spec.PrincipalName,
    HostAddress: spec.HostAddress,
    AuthorizationDataEntry: spec.AuthorizationDataEntry,
    PAData: spec.PaData,
    TypedDataEntry: spec.TypedDataEntry,
    EncryptedData: spec.EncryptedData,
    EncryptionKey: spec.EncryptionKey,
    Checksum: spec.Checksum,
    TransitedEncoding: spec.TransitedEncoding,
    LastReqEntry: spec.LastReqEntry,
    Ticket: spec.Ticket,
    EncTicketPart: spec.EncTicketPart,
    KdcReqBody: spec.KdcReqBody,
    KdcReq: {KRB_AS_REQ: spec.AsReq, KRB_TGS_REQ: spec.TgsReq},
    KdcRep: {KRB_AS_REP: spec.AsRep, KRB_TGS_REP: spec.TgsRep},
    EncKdcRepPart: {
        APP_ENC_AS_REP_PART: spec.EncAsRepPart,
        APP_ENC_TGS_REP_PART: spec.EncTgsRepPart,
    },
    ApReq: spec.ApReq,
    Authenticator: spec.Authenticator,
    ApRep: spec.ApRep,
    EncApRepPart: spec.EncApRepPart,
    KrbCredInfo: spec.KrbCredInfo,
    KrbCred: spec.KrbCred,
    EncKrbCredPart: spec.EncKrbCredPart,
    KrbError: spec.KrbError,
    PaEncTsEnc: spec.PaEncTsEnc,
    ETypeInfoEntry: spec.ETypeInfoEntry,
    ETypeInfo2Entry: spec.ETypeInfo2Entry,
    KerbPaPacRequest: spec.KerbPaPacRequest,
}
#: The pyasn1 class of each bare SEQUENCE OF that is decoded or encoded on its own.
_LIST_SPECS: dict[SequenceOf, Any] = {
    schema.METHOD_DATA: spec.MethodData,
    schema.ETYPE_INFO: spec.ETypeInfo,
    schema.ETYPE_INFO2: spec.ETypeInfo2,
    schema.TYPED_DATA: spec.TypedData,
    schema.AUTHORIZATION_DATA: spec.AuthorizationData,
}
#: Plaintexts that hold keys: their decode errors never quote pyasn1, whose messages
#: could echo decoded values.
_SECRET = frozenset({Authenticator, EncTicketPart, EncKdcRepPart, EncApRepPart, EncKrbCredPart})

# ---------------------------------------------------------------- scalar values


def _text(node: Any) -> str:
    raw: bytes = node.asOctets()
    return raw.decode("utf-8", "surrogateescape")


def _text_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _time_from(node: Any, name: str) -> int:
    raw = node.asOctets()
    if len(raw) != 15 or raw[14] != 0x5A or not raw[:14].isdigit():
        raise Asn1Error(f"{name}: KerberosTime must be YYYYMMDDHHMMSSZ, got {raw[:32]!r}")
    year, month, day = int(raw[0:4]), int(raw[4:6]), int(raw[6:8])
    hour, minute, second = int(raw[8:10]), int(raw[10:12]), int(raw[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise Asn1Error(f"{name}: KerberosTime {raw.decode()} is not a valid date")
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _time_to(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 253402300799:
        raise Asn1Error(f"{name}: KerberosTime must be an int in 1970..9999, got {value!r}")
    days, rem = divmod(value, 86400)
    year, month, day = _civil_from_days(days)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    return b"%04d%02d%02d%02d%02d%02dZ" % (year, month, day, hour, minute, second)


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _flags_from(node: Any) -> int:
    """KerberosFlags → the first 32 bits as a big-endian int (short strings zero-padded)."""
    n = len(node)
    value = node.asInteger() if n else 0
    if n >= 32:
        return value >> (n - 32)
    return value << (32 - n)


def _flags_to(value: int, name: str) -> Any:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise Asn1Error(f"{name}: KerberosFlags must be a 32-bit unsigned int, got {value!r}")
    return univ.BitString.fromOctetString(int(value).to_bytes(4, "big"), internalFormat=True)


_LEAF_FROM: dict[Leaf, Callable[[Any, str], Any]] = {
    schema.INTEGER: lambda node, _name: int(node),
    schema.OCTET_STRING: lambda node, _name: node.asOctets(),
    schema.KERBEROS_STRING: lambda node, _name: _text(node),
    schema.GENERAL_STRING_BYTES: lambda node, _name: node.asOctets(),
    schema.KERBEROS_TIME: _time_from,
    schema.BOOLEAN: lambda node, _name: bool(node),
}
_LEAF_TO: dict[Leaf, Callable[[Any, str], Any]] = {
    schema.INTEGER: lambda value, _name: value,
    schema.OCTET_STRING: lambda value, _name: value,
    schema.KERBEROS_STRING: lambda value, _name: _text_bytes(value),
    schema.GENERAL_STRING_BYTES: lambda value, _name: value,
    schema.KERBEROS_TIME: _time_to,
    schema.BOOLEAN: lambda value, _name: bool(value),
}

# ---------------------------------------------------------------- pyasn1 → dataclass
# ``raw`` is the input and ``start`` the offset of the element being converted, or None
# where no bytes need keeping below it: ``req_body_der`` and ``ticket_der`` are slices
# of the input, located by walking the DER beside the tree.


def _from_tree(t: Sequence, node: Any, raw: bytes, start: int | None, number: int | None) -> Any:
    """The dataclass of ``node``; ``number`` is the APPLICATION number it came under,
    when that is a message's (its msg-type must say the same)."""
    starts = _field_starts(t, raw, start) if start is not None and t.needs_spans else {}
    values: dict[str, Any] = {}
    for position, f in enumerate(t.fields):
        child = node.getComponentByPosition(position, default=None, instantiate=False)
        if child is None:
            values[f.attr] = () if f.empty_is_absent else None
            continue
        child_start = starts.get(f.tag)
        value = _value(f.type, child, raw, child_start, f.name)
        if f.name == "msg-type" and number is not None and value != number:
            raise Asn1Error(f"msg-type {value} inside [APPLICATION {number}]")
        values[f.attr] = value
        if f.der_attr and child_start is not None:
            values[f.der_attr] = raw[child_start : der.element_span(raw, child_start)[1]]
    if t.der_attr and start is not None:
        values[t.der_attr] = raw[start : der.element_span(raw, start)[1]]
    if t.application_attr and t.application_attr not in values:
        values[t.application_attr] = number
    return t.cls(**values)


def _value(t: Type, node: Any, raw: bytes, start: int | None, name: str) -> Any:
    if isinstance(t, Sequence):
        return _from_tree(t, node, raw, start, None)
    if isinstance(t, SequenceOf):
        starts: list[int | None] = [None] * len(node)
        if start is not None and t.needs_spans:
            starts = [a for a, _ in der.children(raw, *der.content_span(raw, start))]
        return tuple(_value(t.item, c, raw, s, name) for c, s in zip(node, starts, strict=True))
    if isinstance(t, Flags):
        return flags_from_wire(t.enum, _flags_from(node))
    return _LEAF_FROM[t](node, name)


def _field_starts(t: Sequence, raw: bytes, start: int) -> dict[int, int]:
    """Where the value inside each ``[n]`` of the SEQUENCE at ``start`` begins, by n."""
    s, e = der.content_span(raw, start)
    if t.application:
        s, e = der.content_span(raw, s)
    starts = {}
    for a, b in der.children(raw, s, e):
        _, number, content, _ = der.read_header(raw, a, b)
        starts[number] = content
    return starts


# ---------------------------------------------------------------- dataclass → pyasn1
# Fills an already instantiated (correctly tagged) pyasn1 node in place. A field is
# absent only when it is None (or empty, for padata and additional-tickets).


def _fill(t: Sequence, node: Any, value: Any) -> None:
    for position, f in enumerate(t.fields):
        v = getattr(value, f.attr)
        if v is None or (f.empty_is_absent and not v):
            continue
        ft = f.type
        if isinstance(ft, Sequence):
            _fill(ft, node.getComponentByPosition(position), v)
        elif isinstance(ft, SequenceOf):
            _fill_list(ft, node.getComponentByPosition(position), v, f.name)
        elif isinstance(ft, Flags):
            node.setComponentByPosition(position, _flags_to(v, f.name))
        else:
            node.setComponentByPosition(position, _LEAF_TO[ft](v, f.name))


def _fill_list(t: SequenceOf, node: Any, items: Any, name: str) -> None:
    node.clear()
    for position, item in enumerate(items):
        if isinstance(t.item, Sequence):
            _fill(t.item, node.getComponentByPosition(position), item)
        elif isinstance(t.item, Leaf):
            node.setComponentByPosition(position, _LEAF_TO[t.item](item, name))
        else:  # no SEQUENCE OF of flags or of SEQUENCE OF in RFC 4120
            raise TypeError(f"{name}: no encoding for a SEQUENCE OF {t.item}")


# ---------------------------------------------------------------- encode


def _encode_node(node: Any, what: str) -> bytes:
    try:
        # pyasn1's DER encoder drops OPTIONAL fields whose value is empty (b"", an empty
        # SEQUENCE OF); here a field is absent only when it is None, as in the dataclass.
        return bytes(_der_encoder.encode(node, omitEmptyOptionals=False))
    except PyAsn1Error as e:
        # pyasn1 names the schema, not the values, so the text carries no key bytes.
        raise Asn1Error(f"cannot encode {what}: {_short(e)}") from None


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _encode_model(obj: object) -> bytes:
    """``encode`` on the pyasn1 model: every type, every check, every error message."""
    name = type(obj).__name__
    t = schema.SEQUENCES.get(type(obj))
    if t is None:
        raise TypeError(f"encode: no DER encoding for {name}")
    factory = _SPECS[t.cls]
    if isinstance(factory, dict):
        attr = t.application_attr or ""
        factory = _pick(factory, getattr(obj, attr), f"{name}.{attr}")
    node = factory()
    try:
        _fill(t, node, obj)
    except Asn1Error as e:
        raise Asn1Error(f"cannot encode {name}: {e}") from None
    except (PyAsn1Error, TypeError, ValueError, AttributeError) as e:
        raise Asn1Error(f"cannot encode {name}: {_short(e)}") from None
    return _encode_node(node, name)


def _pick(table: dict[int, Callable[[], Any]], key: int, what: str) -> Callable[[], Any]:
    try:
        return table[key]
    except KeyError:
        allowed = " or ".join(str(k) for k in table)
        raise Asn1Error(f"{what} must be {allowed}, got {key!r}") from None


def _encode_sequence_of(t: SequenceOf, items: Any, what: str) -> bytes:
    node = _LIST_SPECS[t]()
    try:
        _fill_list(t, node, items, what)
    except Asn1Error as e:
        raise Asn1Error(f"cannot encode {what}: {e}") from None
    except (PyAsn1Error, TypeError, ValueError, AttributeError) as e:
        raise Asn1Error(f"cannot encode {what}: {_short(e)}") from None
    return _encode_node(node, what)


def encode_etype_info(entries: tuple[ETypeInfoEntry, ...] | list[ETypeInfoEntry]) -> bytes:
    """ETYPE-INFO: the padata-value of PA-ETYPE-INFO (11)."""
    return _encode_sequence_of(schema.ETYPE_INFO, entries, "ETYPE-INFO")


def encode_typed_data(entries: tuple[TypedDataEntry, ...] | list[TypedDataEntry]) -> bytes:
    """TYPED-DATA: the e-data of KRB-ERRORs other than the pre-authentication ones."""
    return _encode_sequence_of(schema.TYPED_DATA, entries, "TYPED-DATA")


def encode_authorization_data(
    entries: tuple[AuthorizationDataEntry, ...] | list[AuthorizationDataEntry],
) -> bytes:
    """AuthorizationData, e.g. the ad-data of AD-IF-RELEVANT."""
    return _encode_sequence_of(schema.AUTHORIZATION_DATA, entries, "AuthorizationData")


# ---------------------------------------------------------------- decode


def _as_bytes(data: bytes | bytearray | memoryview, what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"{what}: expected bytes, got {type(data).__name__}")


def _expect_application(data: bytes, allowed: tuple[int, ...]) -> int:
    """Check the outer APPLICATION tag is one of ``allowed``; return its number."""
    identifier, number, _, _ = der.read_header(data, 0, len(data))
    if identifier & 0xE0 == der.CLASS_APPLICATION | der.CONSTRUCTED and number in allowed:
        return number
    got = der.describe_tag(identifier, number)
    if identifier & 0xC0 == der.CLASS_APPLICATION and number in _MESSAGE_NAMES:
        got += f" ({_MESSAGE_NAMES[number]})"
    want = " or ".join(f"[APPLICATION {n}]" for n in allowed)
    raise Asn1Error(f"expected {want}, got {got} at offset 0")


def _run(data: Any, what: str, secret: bool, decode: Callable[[bytes], Any]) -> Any:
    """Shared decode frame: structure check, then ``decode``; all failures → Asn1Error.

    ``secret`` marks plaintexts that hold keys: their errors never quote pyasn1,
    whose messages could echo decoded values.
    """
    raw = _as_bytes(data, what)
    der.check_structure(raw, what)
    try:
        return decode(raw)
    except Asn1Error as e:
        if str(e).startswith(what):
            raise
        raise Asn1Error(f"{what}: {e}") from None
    except (PyAsn1Error, ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
        detail = "does not match its RFC 4120 definition"
        if not secret:
            detail += f" ({_short(e)})"
        raise Asn1Error(f"{what}: {detail}") from None


def _pyasn1(raw: bytes, asn1_spec: Any) -> Any:
    tree, rest = _der_decoder.decode(raw, asn1Spec=asn1_spec)
    if rest:  # already excluded by check_structure; kept as a guard
        raise Asn1Error(f"{len(rest)} trailing bytes at offset {len(raw) - len(rest)}")
    return tree


def message_type(data: bytes | bytearray | memoryview) -> int:
    """The APPLICATION tag number of a message (10 AS-REQ, 12 TGS-REQ, 30 KRB-ERROR, ...)
    from its first bytes, without decoding the rest."""
    raw = _as_bytes(data, "message")
    if not raw:
        raise Asn1Error("message: empty input")
    identifier, number = raw[0], raw[0] & 0x1F
    if identifier & 0xE0 != der.CLASS_APPLICATION | der.CONSTRUCTED or number == 0x1F:
        raise Asn1Error(
            f"message: expected an [APPLICATION n] Kerberos message, got "
            f"{der.describe_tag(identifier, number)} at offset 0"
        )
    return number


def _model_decoder(t: Sequence | SequenceOf, what: str) -> Callable[[Any], Any]:
    """The model's decoder of ``t`` (called ``what`` in its errors)."""
    if isinstance(t, SequenceOf):
        instance = _LIST_SPECS[t]()

        def run(raw: bytes) -> Any:
            return _value(t, _pyasn1(raw, instance), raw, 0, what)

        secret = False
    else:
        # pyasn1 decoders take a spec instance; one each is enough (never mutated)
        factory = _SPECS[t.cls]
        specs = {n: f() for n, f in factory.items()} if isinstance(factory, dict) else None
        instance = None if specs is not None else factory()

        def run(raw: bytes) -> Any:
            number = _expect_application(raw, t.application) if t.application else None
            tree = _pyasn1(raw, instance if specs is None or number is None else specs[number])
            return _from_tree(t, tree, raw, 0, number)

        secret = t.cls in _SECRET

    def decode(data: Any) -> Any:
        return _run(data, what, secret, run)

    return decode


# ---------------------------------------------------------------- the fast DER path
# The public names: the fast path first where it has the type, the model on Fallback.

DER_PATHS = ("fast", "pyasn1")


def _der_path_from_environment() -> str:
    value = os.environ.get("HAS_KDC_ASN1", "").strip().lower() or "fast"
    if value not in DER_PATHS:
        raise ValueError(f"HAS_KDC_ASN1 must be 'fast' or 'pyasn1', got {value!r}")
    return value


_fast_enabled = _der_path_from_environment() == "fast"


def der_path() -> str:
    """``"fast"`` (hand-written DER first, pyasn1 for the rest) or ``"pyasn1"`` (the
    model alone)."""
    return "fast" if _fast_enabled else "pyasn1"


def use_der_path(path: str) -> str:
    """Switch every decode/encode function to ``path`` (``"fast"`` or ``"pyasn1"``);
    returns the previous setting. Process-wide; meant for tests and benchmarks."""
    global _fast_enabled
    if path not in DER_PATHS:
        raise ValueError(f"DER path must be 'fast' or 'pyasn1', got {path!r}")
    previous = der_path()
    _fast_enabled = path == "fast"
    return previous


def _decoder(name: str, t: Sequence | SequenceOf, what: str, doc: str = "") -> Any:
    """Public decoder ``name`` of ``t``: the fast path on bytes-like input when it has
    ``t``, else or on its Fallback the model (which also turns anything not
    bytes-like into TypeError)."""
    model = _model_decoder(t, what)
    read = fast.READERS.get(name)
    if read is None:
        decode = model
    else:

        def decode(data: Any) -> Any:
            if _fast_enabled:
                raw = data
                if type(raw) is not bytes and isinstance(raw, bytes | bytearray | memoryview):
                    raw = bytes(raw)
                if type(raw) is bytes:
                    # fast.DECODERS[name], inline (a call less per message): exactly one
                    # element, and input with too many for the model goes to the model
                    size = len(raw)
                    if size <= fast.MANY_ELEMENTS_FROM or not der.too_many_elements(raw):
                        try:
                            value, end = read(raw, 0, size)
                        except (fast.Fallback, IndexError):
                            pass
                        else:
                            if end == size:
                                return value
            return model(data)

    decode.__name__ = decode.__qualname__ = name
    decode.__doc__ = f"Decode {what} from DER{doc}; Asn1Error on anything else."
    return decode


Bytes = bytes | bytearray | memoryview

decode_kdc_req: Callable[[Bytes], KdcReq] = _decoder(
    "decode_kdc_req",
    schema.KDC_REQ,
    "KDC-REQ",
    " (AS-REQ or TGS-REQ by APPLICATION tag), ``req_body_der`` sliced from the input",
)
decode_kdc_req_body: Callable[[bytes], KdcReqBody] = _decoder(
    "decode_kdc_req_body", schema.KDC_REQ_BODY, "KDC-REQ-BODY"
)
decode_kdc_rep: Callable[[Bytes], KdcRep] = _decoder(
    "decode_kdc_rep", schema.KDC_REP, "KDC-REP", " (AS-REP or TGS-REP); the ticket keeps its bytes"
)
decode_enc_kdc_rep_part: Callable[[Bytes], EncKdcRepPart] = _decoder(
    "decode_enc_kdc_rep_part",
    schema.ENC_KDC_REP_PART,
    "EncKDCRepPart",
    " under [APPLICATION 25] or [APPLICATION 26], whichever the message is (as MIT "
    "clients do, RFC 4120 §5.4.2); ``application_tag`` records which",
)
decode_krb_error: Callable[[bytes], KrbError] = _decoder(
    "decode_krb_error", schema.KRB_ERROR, "KRB-ERROR"
)
decode_ap_req: Callable[[bytes], ApReq] = _decoder(
    "decode_ap_req", schema.AP_REQ, "AP-REQ", "; the ticket keeps its bytes"
)
decode_ap_rep: Callable[[bytes], ApRep] = _decoder("decode_ap_rep", schema.AP_REP, "AP-REP")
decode_krb_cred: Callable[[bytes], KrbCred] = _decoder(
    "decode_krb_cred", schema.KRB_CRED, "KRB-CRED"
)
decode_ticket: Callable[[bytes], Ticket] = _decoder(
    "decode_ticket", schema.TICKET, "Ticket", "; ``ticket_der`` is the input"
)
decode_authenticator: Callable[[bytes], Authenticator] = _decoder(
    "decode_authenticator", schema.AUTHENTICATOR, "Authenticator"
)
decode_enc_ticket_part: Callable[[bytes], EncTicketPart] = _decoder(
    "decode_enc_ticket_part", schema.ENC_TICKET_PART, "EncTicketPart"
)
decode_enc_ap_rep_part: Callable[[bytes], EncApRepPart] = _decoder(
    "decode_enc_ap_rep_part", schema.ENC_AP_REP_PART, "EncAPRepPart"
)
decode_enc_krb_cred_part: Callable[[bytes], EncKrbCredPart] = _decoder(
    "decode_enc_krb_cred_part", schema.ENC_KRB_CRED_PART, "EncKrbCredPart"
)
# Untagged types: decoded where a PA-DATA value or e-data carries them.
decode_principal_name: Callable[[bytes], PrincipalName] = _decoder(
    "decode_principal_name", schema.PRINCIPAL_NAME, "PrincipalName"
)
decode_checksum: Callable[[bytes], Checksum] = _decoder(
    "decode_checksum", schema.CHECKSUM, "Checksum"
)
decode_encrypted_data: Callable[[bytes], EncryptedData] = _decoder(
    "decode_encrypted_data", schema.ENCRYPTED_DATA, "EncryptedData"
)
decode_pa_enc_ts_enc: Callable[[bytes], PaEncTsEnc] = _decoder(
    "decode_pa_enc_ts_enc", schema.PA_ENC_TS_ENC, "PA-ENC-TS-ENC"
)
decode_method_data: Callable[[bytes], tuple[PAData, ...]] = _decoder(
    "decode_method_data", schema.METHOD_DATA, "METHOD-DATA"
)
decode_etype_info2: Callable[[bytes], tuple[ETypeInfo2Entry, ...]] = _decoder(
    "decode_etype_info2", schema.ETYPE_INFO2, "ETYPE-INFO2", "; the salt stays bytes"
)
decode_etype_info: Callable[[bytes], tuple[ETypeInfoEntry, ...]] = _decoder(
    "decode_etype_info", schema.ETYPE_INFO, "ETYPE-INFO"
)
decode_typed_data: Callable[[bytes], tuple[TypedDataEntry, ...]] = _decoder(
    "decode_typed_data", schema.TYPED_DATA, "TYPED-DATA"
)
decode_authorization_data: Callable[[bytes], tuple[AuthorizationDataEntry, ...]] = _decoder(
    "decode_authorization_data", schema.AUTHORIZATION_DATA, "AuthorizationData"
)
decode_pa_pac_request: Callable[[bytes], KerbPaPacRequest] = _decoder(
    "decode_pa_pac_request", schema.KERB_PA_PAC_REQUEST, "KERB-PA-PAC-REQUEST"
)


def encode(obj: object) -> bytes:
    """DER of any message or message part of ``has_kdc.asn1.messages``.

    KdcReq/KdcRep are wrapped in the APPLICATION tag of their ``msg_type`` and
    EncKdcRepPart in its ``application_tag``. A value that cannot be represented (a
    time before 1970, flags wider than 32 bits, a missing required field) raises
    Asn1Error; an object of a type that has no encoding raises TypeError.
    """
    if _fast_enabled:
        fast_encode = fast.ENCODERS.get(type(obj))
        if fast_encode is not None:
            try:
                return fast_encode(obj)
            except fast.Fallback:
                pass
    return _encode_model(obj)


# what the fast field encoders fall back to, for what they decline
fast.use_model_encoder(encode)


def encode_fields(cls: type, /, **fields: Any) -> bytes:
    """``encode(cls(**fields))`` without building the object: for a message built
    only to be encoded (the KDC's EncTicketPart, EncKDCRepPart and KDC-REP, whose
    frozen dataclasses cost more to build than to encode). Errors are those of
    ``cls(**fields)`` and ``encode``."""
    return fields_encoder(cls)(**fields)


def fields_encoder(cls: type) -> Callable[..., bytes]:
    """``encode_fields`` for ``cls`` as one function of the fields as keywords: what the
    KDC calls per request, so that its keywords go straight to the encoder's
    parameters instead of through a dict at each level (1.2 µs a message)."""
    if _fast_enabled:
        fast_encode = fast.FIELD_ENCODERS_WITH_MODEL.get(cls)
        if fast_encode is not None:
            return fast_encode
    return functools.partial(_encode_built, cls)


def _encode_built(cls: type, /, **fields: Any) -> bytes:
    return encode(cls(**fields))


def encode_method_data(padata: tuple[PAData, ...] | list[PAData]) -> bytes:
    """METHOD-DATA (SEQUENCE OF PA-DATA): the e-data of KDC_ERR_PREAUTH_REQUIRED."""
    if _fast_enabled:
        try:
            return fast.encode_method_data(padata)
        except fast.Fallback:
            pass
    return _encode_sequence_of(schema.METHOD_DATA, padata, "METHOD-DATA")


def encode_etype_info2(entries: tuple[ETypeInfo2Entry, ...] | list[ETypeInfo2Entry]) -> bytes:
    """ETYPE-INFO2: the padata-value of PA-ETYPE-INFO2 (19)."""
    if _fast_enabled:
        try:
            return fast.encode_etype_info2(entries)
        except fast.Fallback:
            pass
    return _encode_sequence_of(schema.ETYPE_INFO2, entries, "ETYPE-INFO2")
