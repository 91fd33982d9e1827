"""The messages of the password change protocol (RFC 3244) beside RFC 4120's KRB-PRIV.

- KRB-PRIV ``[APPLICATION 21]`` and its EncKrbPrivPart ``[APPLICATION 28]``
  (RFC 4120 §5.7): the password goes to the server, and the result comes back, as
  the ``user-data`` of one, encrypted under the authenticator's subkey.
- ChangePasswdData (RFC 3244 §2): the ``user-data`` of a set-password request
  (version 0xff80): the new password and, optionally, whose it is.

Decoding is as strict as the rest of this layer (one DER element, nothing after
it) and every failure is an ``Asn1Error``; an EncKrbPrivPart or ChangePasswdData
holds a password, so their errors never quote what was decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyasn1.codec.der import decoder as _der_decoder
from pyasn1.codec.der import encoder as _der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import namedtype, univ

from has_kdc.asn1 import der
from has_kdc.asn1.errors import Asn1Error
from has_kdc.asn1.messages import EncryptedData, HostAddress, PrincipalName
from has_kdc.asn1.spec import (
    EncryptedData as _EncryptedDataSpec,
)
from has_kdc.asn1.spec import (
    HostAddress as _HostAddressSpec,
)
from has_kdc.asn1.spec import (
    KerberosString,
    KerberosTime,
    Microseconds,
    Realm,
    UInt32,
    _app,
    _field,
    _optional,
)
from has_kdc.asn1.spec import (
    PrincipalName as _PrincipalNameSpec,
)

__all__ = [
    "KRB_PRIV",
    "ChangePasswdData",
    "EncKrbPrivPart",
    "decode_change_passwd_data",
    "decode_enc_krb_priv_part",
    "decode_krb_priv",
    "encode_change_passwd_data",
    "encode_enc_krb_priv_part",
    "encode_krb_priv",
]

KRB_PRIV = 21
_APP_ENC_KRB_PRIV_PART = 28


class _KrbPriv(univ.Sequence):
    tagSet = _app(KRB_PRIV)
    componentType = namedtype.NamedTypes(
        _field(0, "pvno", univ.Integer()),
        _field(1, "msg-type", univ.Integer()),
        _field(3, "enc-part", _EncryptedDataSpec()),
    )


class _EncKrbPrivPart(univ.Sequence):
    tagSet = _app(_APP_ENC_KRB_PRIV_PART)
    componentType = namedtype.NamedTypes(
        _field(0, "user-data", univ.OctetString()),
        _optional(1, "timestamp", KerberosTime()),
        _optional(2, "usec", Microseconds()),
        _optional(3, "seq-number", UInt32()),
        _field(4, "s-address", _HostAddressSpec()),
        _optional(5, "r-address", _HostAddressSpec()),
    )


class _ChangePasswdData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        _field(0, "newpasswd", univ.OctetString()),
        _optional(1, "targname", _PrincipalNameSpec()),
        _optional(2, "targrealm", Realm()),
    )


@dataclass(frozen=True)
class EncKrbPrivPart:
    """The plaintext of a KRB-PRIV. ``user_data`` may be a password: never shown."""

    user_data: bytes = field(repr=False)
    s_address: HostAddress
    seq_number: int | None = None
    timestamp: int | None = None
    usec: int | None = None
    r_address: HostAddress | None = None


@dataclass(frozen=True)
class ChangePasswdData:
    """RFC 3244's set-password request: the new password, for ``targname@targrealm``
    when given (else for the ticket's client)."""

    newpasswd: bytes = field(repr=False)
    targname: PrincipalName | None = None
    targrealm: str | None = None


def _opt(node: univ.Sequence, idx: int) -> Any:
    """Component ``idx`` of ``node``, None when absent (a pyasn1 value: Any)."""
    return node.getComponentByPosition(idx, default=None, instantiate=False)


def _decode(data: bytes, asn1_spec: univ.Asn1Item, what: str, secret: bool) -> univ.Sequence:
    raw = bytes(data)
    der.check_structure(raw, what)
    try:
        tree, rest = _der_decoder.decode(raw, asn1Spec=asn1_spec)
    except PyAsn1Error as exc:
        detail = "" if secret else f" ({str(exc)[:120]})"
        raise Asn1Error(f"{what}: does not match its definition{detail}") from None
    if rest:
        raise Asn1Error(f"{what}: {len(rest)} trailing bytes")
    return tree


def _host_address(node: univ.Sequence) -> HostAddress:
    return HostAddress(int(node[0]), node[1].asOctets())


def _put_address(spec: univ.Sequence, address: HostAddress) -> univ.Sequence:
    spec["addr-type"] = address.addr_type
    spec["address"] = address.address
    return spec


def encode_krb_priv(enc_part: EncryptedData) -> bytes:
    """KRB-PRIV around an encrypted EncKrbPrivPart."""
    msg = _KrbPriv()
    msg["pvno"] = 5
    msg["msg-type"] = KRB_PRIV
    ed = msg["enc-part"]
    ed["etype"] = enc_part.etype
    if enc_part.kvno is not None:
        ed["kvno"] = enc_part.kvno
    ed["cipher"] = enc_part.cipher
    return bytes(_der_encoder.encode(msg))


def decode_krb_priv(data: bytes) -> EncryptedData:
    """The encrypted part of a KRB-PRIV (pvno 5, msg-type 21 checked)."""
    tree = _decode(data, _KrbPriv(), "KRB-PRIV", secret=False)
    if int(tree[0]) != 5 or int(tree[1]) != KRB_PRIV:
        raise Asn1Error("KRB-PRIV: wrong pvno or msg-type")
    enc = tree[2]
    kvno = _opt(enc, 1)
    return EncryptedData(int(enc[0]), enc[2].asOctets(), None if kvno is None else int(kvno))


def encode_enc_krb_priv_part(part: EncKrbPrivPart) -> bytes:
    msg = _EncKrbPrivPart()
    msg["user-data"] = part.user_data
    if part.seq_number is not None:
        msg["seq-number"] = part.seq_number
    _put_address(msg["s-address"], part.s_address)
    if part.r_address is not None:
        _put_address(msg["r-address"], part.r_address)
    return bytes(_der_encoder.encode(msg))


def decode_enc_krb_priv_part(data: bytes) -> EncKrbPrivPart:
    tree = _decode(data, _EncKrbPrivPart(), "EncKrbPrivPart", secret=True)
    seq = _opt(tree, 3)
    usec = _opt(tree, 2)
    r_address = _opt(tree, 5)
    return EncKrbPrivPart(
        user_data=tree[0].asOctets(),
        s_address=_host_address(tree[4]),
        seq_number=None if seq is None else int(seq),
        usec=None if usec is None else int(usec),
        r_address=None if r_address is None else _host_address(r_address),
    )


def encode_change_passwd_data(request: ChangePasswdData) -> bytes:
    msg = _ChangePasswdData()
    msg["newpasswd"] = request.newpasswd
    if request.targname is not None:
        name = msg["targname"]
        name["name-type"] = request.targname.name_type
        strings = name["name-string"]
        for i, component in enumerate(request.targname.components):
            strings[i] = KerberosString(component.encode("utf-8", "surrogateescape"))
    if request.targrealm is not None:
        msg["targrealm"] = request.targrealm.encode("utf-8", "surrogateescape")
    return bytes(_der_encoder.encode(msg))


def decode_change_passwd_data(data: bytes) -> ChangePasswdData:
    tree = _decode(data, _ChangePasswdData(), "ChangePasswdData", secret=True)
    name = _opt(tree, 1)
    realm = _opt(tree, 2)
    return ChangePasswdData(
        newpasswd=tree[0].asOctets(),
        targname=None
        if name is None
        else PrincipalName(
            int(name[0]),
            tuple(c.asOctets().decode("utf-8", "surrogateescape") for c in name[1]),
        ),
        targrealm=None if realm is None else realm.asOctets().decode("utf-8", "surrogateescape"),
    )
