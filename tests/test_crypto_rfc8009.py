"""Enctypes 19 and 20 (aes128-cts-hmac-sha256-128, aes256-cts-hmac-sha384-192) vs RFC 8009."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from has_kdc.crypto import checksum_by_type, enctype_by_id

V = json.loads((Path(__file__).parent / "data/crypto/rfc8009.json").read_text())


def test_vector_file_is_complete() -> None:
    assert V["source"].startswith("RFC 8009")
    assert len(V["string_to_key"]) == 2
    assert len(V["key_derivation"]) == 2
    assert len(V["encryption"]) == 8
    assert len(V["checksum"]) == 2
    assert len(V["prf"]) == 2


@pytest.mark.parametrize("vector", V["string_to_key"], ids=lambda v: f"e{v['etype']}")
def test_rfc8009_string_to_key(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    salt = bytes.fromhex(vector["salt"])
    assert salt.endswith(b"ATHENA.MIT.EDUraeburn") and len(salt) == 16 + 21
    # The RFC's saltp is enctype-name | 0x00 | salt; string_to_key adds the prefix itself.
    assert bytes.fromhex(vector["saltp"]) == et.name.encode() + b"\x00" + salt
    key = et.string_to_key(bytes.fromhex(vector["password"]), salt, bytes.fromhex(vector["params"]))
    assert key.hex() == vector["key"]


@pytest.mark.parametrize("vector", V["string_to_key"], ids=lambda v: f"e{v['etype']}")
def test_rfc8009_default_params_are_32768_iterations(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    assert et.default_params == bytes.fromhex(vector["params"]) == (32768).to_bytes(4, "big")
    key = et.string_to_key(bytes.fromhex(vector["password"]), bytes.fromhex(vector["salt"]))
    assert key.hex() == vector["key"]


@pytest.mark.parametrize("vector", V["key_derivation"], ids=lambda v: f"e{v['etype']}")
@pytest.mark.parametrize(("kind", "suffix"), [("kc", 0x99), ("ke", 0xAA), ("ki", 0x55)])
def test_rfc8009_key_derivation(vector: dict, kind: str, suffix: int) -> None:
    et = enctype_by_id(vector["etype"])
    constant = vector["usage"].to_bytes(4, "big") + bytes((suffix,))
    derived = et.derive_key(bytes.fromhex(vector["base_key"]), constant)
    assert derived.hex() == vector[kind]


def _enc_id(v: dict) -> str:
    return f"e{v['etype']}-{len(v['plaintext']) // 2}-bytes"


@pytest.mark.parametrize("vector", V["encryption"], ids=_enc_id)
def test_rfc8009_encrypt_with_given_confounder(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    out = et.encrypt(
        bytes.fromhex(vector["base_key"]),
        vector["usage"],
        bytes.fromhex(vector["plaintext"]),
        confounder=bytes.fromhex(vector["confounder"]),
    )
    assert out.hex() == vector["aes_output"] + vector["hmac_output"] == vector["ciphertext"]


@pytest.mark.parametrize("vector", V["encryption"], ids=_enc_id)
def test_rfc8009_decrypt(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    plaintext = et.decrypt(
        bytes.fromhex(vector["base_key"]), vector["usage"], bytes.fromhex(vector["ciphertext"])
    )
    assert plaintext.hex() == vector["plaintext"]


@pytest.mark.parametrize("vector", V["checksum"], ids=lambda v: f"cksum{v['cksumtype']}")
def test_rfc8009_checksum(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    key, data = bytes.fromhex(vector["base_key"]), bytes.fromhex(vector["plaintext"])
    assert et.checksum_type == vector["cksumtype"]
    assert et.checksum(key, vector["usage"], data).hex() == vector["checksum"]
    ck = checksum_by_type(vector["cksumtype"])
    assert ck.enctype is et and ck.size == len(vector["checksum"]) // 2
    assert ck.checksum(key, vector["usage"], data).hex() == vector["checksum"]
    et.verify_checksum(key, vector["usage"], data, bytes.fromhex(vector["checksum"]))


@pytest.mark.parametrize("vector", V["prf"], ids=lambda v: f"e{v['etype']}")
def test_rfc8009_prf(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    out = et.prf(bytes.fromhex(vector["base_key"]), bytes.fromhex(vector["input"]))
    assert out.hex() == vector["output"]
    assert len(out) == et.prf_size
