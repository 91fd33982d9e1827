"""Enctypes 17 and 18 (aes128/aes256-cts-hmac-sha1-96) against RFC 3962 appendix B and MIT."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from has_kdc.crypto import (
    CryptoError,
    checksum_by_type,
    cts_decrypt,
    cts_encrypt,
    enctype_by_id,
)

DATA = Path(__file__).parent / "data/crypto"
S2K = json.loads((DATA / "rfc3962_string_to_key.json").read_text())
CTS = json.loads((DATA / "rfc3962_cts.json").read_text())
MIT = json.loads((DATA / "mit_krb5_aes_sha1.json").read_text())


def _id(v: dict) -> str:
    return f"e{v['etype']}-i{v['iterations']}-{bytes.fromhex(v['salt'])[:12]!r}"


def test_vector_files_are_complete() -> None:
    # Seven samples in appendix B, each for both key sizes.
    assert len(S2K["vectors"]) == 14
    assert sorted({v["iterations"] for v in S2K["vectors"]}) == [1, 2, 5, 50, 1200]
    assert len(CTS["vectors"]) == 6
    assert len(MIT["decrypt"]) == 10


@pytest.mark.parametrize("vector", S2K["vectors"], ids=_id)
def test_rfc3962_string_to_key(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    key = et.string_to_key(
        bytes.fromhex(vector["password"]),
        bytes.fromhex(vector["salt"]),
        bytes.fromhex(vector["params"]),
    )
    assert key.hex() == vector["key"]


@pytest.mark.parametrize("vector", S2K["vectors"], ids=_id)
def test_rfc3962_dk_of_published_pbkdf2_output(vector: dict) -> None:
    # The RFC also lists the raw PBKDF2 output; the key is DK(that, "kerberos").
    et = enctype_by_id(vector["etype"])
    tkey = et.random_to_key(bytes.fromhex(vector["pbkdf2"]))
    assert et.derive_key(tkey, b"kerberos").hex() == vector["key"]


def test_string_to_key_default_params_are_4096_iterations() -> None:
    et = enctype_by_id(18)
    explicit = et.string_to_key(b"secret", b"EXAMPLE.COMuser", (4096).to_bytes(4, "big"))
    assert et.string_to_key(b"secret", b"EXAMPLE.COMuser") == explicit
    assert et.string_to_key(b"secret", b"EXAMPLE.COMuser", None) == explicit
    assert et.string_to_key(b"secret", b"EXAMPLE.COMuser", b"\x00\x00\x10\x01") != explicit


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (b"\x00\x00\x00\x00", "iteration count 0"),
        (b"\x01\x00\x00\x00", "above the limit"),
        (b"\x00\x10\x00", "must be 4 bytes"),
        (b"", "must be 4 bytes"),
    ],
)
def test_string_to_key_rejects_bad_params(params: bytes, match: str) -> None:
    with pytest.raises(CryptoError, match=match):
        enctype_by_id(17).string_to_key(b"password", b"salt", params)


@pytest.mark.parametrize("vector", CTS["vectors"], ids=lambda v: f"{len(v['input']) // 2}-bytes")
def test_rfc3962_cbc_cts_encrypt(vector: dict) -> None:
    key = bytes.fromhex(CTS["key"])
    assert CTS["iv"] == "00" * 16
    out = cts_encrypt(key, bytes.fromhex(vector["input"]))
    assert out.hex() == vector["output"]


@pytest.mark.parametrize("vector", CTS["vectors"], ids=lambda v: f"{len(v['input']) // 2}-bytes")
def test_rfc3962_cbc_cts_decrypt(vector: dict) -> None:
    key = bytes.fromhex(CTS["key"])
    assert cts_decrypt(key, bytes.fromhex(vector["output"])).hex() == vector["input"]


def _reference_cts_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """CBC-CS3 block by block, as RFC 3962 section 5 / RFC 2040 section 8 describe it."""
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block at a time

    def xor(a: bytes, b: bytes) -> bytes:
        return bytes(x ^ y for x, y in zip(a, b, strict=True))

    blocks = [data[i : i + 16] for i in range(0, len(data), 16)]
    if len(blocks) == 1:
        return ecb.update(xor(blocks[0], iv))
    out, prev = [], iv
    for block in blocks[:-2]:
        prev = ecb.update(xor(block, prev))
        out.append(prev)
    e_prev = ecb.update(xor(blocks[-2], prev))
    last = blocks[-1]
    padded = last + bytes(16 - len(last))
    c_last = ecb.update(xor(padded, e_prev))
    return b"".join(out) + c_last + e_prev[: len(last)]


@pytest.mark.parametrize("length", [16, 17, 31, 32, 33, 47, 48, 64, 100, 300])
@pytest.mark.parametrize("key_size", [16, 32])
def test_cts_matches_block_by_block_reference_with_any_iv(length: int, key_size: int) -> None:
    key, data = os.urandom(key_size), os.urandom(length)
    for iv in (bytes(16), os.urandom(16)):
        expected = _reference_cts_encrypt(key, iv, data)
        assert cts_encrypt(key, data, iv) == expected
        assert cts_decrypt(key, expected, iv) == data


@pytest.mark.parametrize("length", [0, 1, 15])
def test_cts_refuses_less_than_one_block(length: int) -> None:
    with pytest.raises(CryptoError, match="at least 16 bytes"):
        cts_encrypt(bytes(16), bytes(length))
    with pytest.raises(CryptoError, match="at least 16 bytes"):
        cts_decrypt(bytes(16), bytes(length))


def test_cts_refuses_bad_key_and_iv_lengths() -> None:
    with pytest.raises(CryptoError, match="AES key must be"):
        cts_encrypt(bytes(15), bytes(16))
    with pytest.raises(CryptoError, match="IV must be 16 bytes"):
        cts_encrypt(bytes(16), bytes(16), bytes(8))


@pytest.mark.parametrize(
    "vector",
    MIT["decrypt"],
    ids=lambda v: f"e{v['etype']}-u{v['usage']}-{len(v['plaintext']) // 2}",
)
def test_mit_decrypt_vectors(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    plaintext = et.decrypt(
        bytes.fromhex(vector["key"]), vector["usage"], bytes.fromhex(vector["ciphertext"])
    )
    assert plaintext.hex() == vector["plaintext"]


@pytest.mark.parametrize(
    "vector",
    MIT["decrypt"],
    ids=lambda v: f"e{v['etype']}-u{v['usage']}-{len(v['plaintext']) // 2}",
)
def test_mit_encrypt_vectors_with_their_confounder(vector: dict) -> None:
    # MIT lists no confounder; it is the first block of the CTS-decrypted body, and
    # re-encrypting with it must reproduce the published ciphertext byte for byte.
    et = enctype_by_id(vector["etype"])
    key = bytes.fromhex(vector["key"])
    ciphertext = bytes.fromhex(vector["ciphertext"])
    ke = et.derive_key(key, vector["usage"].to_bytes(4, "big") + b"\xaa")
    confounder = cts_decrypt(ke, ciphertext[: -et.mac_size])[:16]
    assert et.encrypt(key, vector["usage"], bytes.fromhex(vector["plaintext"]), confounder) == (
        ciphertext
    )


@pytest.mark.parametrize("vector", MIT["derive"], ids=lambda v: f"e{v['etype']}-{v['constant']}")
def test_mit_dk_vectors(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    derived = et.derive_key(bytes.fromhex(vector["key"]), bytes.fromhex(vector["constant"]))
    assert derived.hex() == vector["derived"]


@pytest.mark.parametrize("vector", MIT["checksum"], ids=lambda v: f"cksum{v['cksumtype']}")
def test_mit_checksum_vectors(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    key, data = bytes.fromhex(vector["key"]), bytes.fromhex(vector["plaintext"])
    assert et.checksum_type == vector["cksumtype"]
    assert et.checksum(key, vector["usage"], data).hex() == vector["cksum"]
    ck = checksum_by_type(vector["cksumtype"])
    assert ck.checksum(key, vector["usage"], data).hex() == vector["cksum"]
    ck.verify(key, vector["usage"], data, bytes.fromhex(vector["cksum"]))


@pytest.mark.parametrize("vector", MIT["prf"], ids=lambda v: f"e{v['etype']}-{v['input']}")
def test_mit_prf_vectors(vector: dict) -> None:
    et = enctype_by_id(vector["etype"])
    out = et.prf(bytes.fromhex(vector["key"]), bytes.fromhex(vector["input"]))
    assert out.hex() == vector["output"]
    assert len(out) == et.prf_size == 16
