"""The public crypto API: enctype profiles, names, refusals, round trips and tampering."""

from __future__ import annotations

import os

import pytest

from has_kdc.crypto import (
    SUPPORTED_ENCTYPES,
    ChecksumMismatch,
    CryptoError,
    IntegrityError,
    UnsupportedChecksum,
    UnsupportedEnctype,
    checksum_by_type,
    checksum_for_enctype,
    enctype_by_id,
    enctype_by_name,
    enctype_name,
    is_supported,
)

ALL = [17, 18, 19, 20]

# etype: (name, key_size, default_params, checksum_type, checksum_size, mac_size, prf_size)
PROFILES = {
    17: ("aes128-cts-hmac-sha1-96", 16, b"\x00\x00\x10\x00", 15, 12, 12, 16),
    18: ("aes256-cts-hmac-sha1-96", 32, b"\x00\x00\x10\x00", 16, 12, 12, 16),
    19: ("aes128-cts-hmac-sha256-128", 16, b"\x00\x00\x80\x00", 19, 16, 16, 32),
    20: ("aes256-cts-hmac-sha384-192", 32, b"\x00\x00\x80\x00", 20, 24, 24, 48),
}


@pytest.mark.parametrize("etype", ALL)
def test_enctype_profile(etype: int) -> None:
    name, key_size, params, cksumtype, cksum_size, mac_size, prf_size = PROFILES[etype]
    et = enctype_by_id(etype)
    assert (et.etype, et.name, et.key_size, et.default_params) == (etype, name, key_size, params)
    assert (et.checksum_type, et.checksum_size) == (cksumtype, cksum_size)
    assert (et.mac_size, et.prf_size) == (mac_size, prf_size)
    assert et.min_ciphertext_size == 16 + mac_size
    assert enctype_name(etype) == name and is_supported(etype)
    assert checksum_for_enctype(etype) is checksum_by_type(cksumtype)
    assert checksum_by_type(cksumtype).enctype is et


def test_supported_enctypes() -> None:
    assert SUPPORTED_ENCTYPES == (17, 18, 19, 20)


@pytest.mark.parametrize(
    ("name", "etype"),
    [
        ("aes128-cts-hmac-sha1-96", 17),
        ("aes128-cts", 17),
        ("aes128-sha1", 17),
        ("aes256-cts-hmac-sha1-96", 18),
        ("aes256-cts", 18),
        ("aes256-sha1", 18),
        ("AES256-CTS-HMAC-SHA1-96", 18),
        ("aes128-cts-hmac-sha256-128", 19),
        ("aes128-sha2", 19),
        ("aes256-cts-hmac-sha384-192", 20),
        ("aes256-sha2", 20),
    ],
)
def test_enctype_by_name(name: str, etype: int) -> None:
    assert enctype_by_name(name) is enctype_by_id(etype)


@pytest.mark.parametrize(
    ("etype", "message"),
    [
        (1, "enctype 1 (des-cbc-crc) is not supported: weak"),
        (2, "enctype 2 (des-cbc-md4) is not supported: weak"),
        (3, "enctype 3 (des-cbc-md5) is not supported: weak"),
        (16, "enctype 16 (des3-cbc-sha1) is not supported: weak"),
        (23, "enctype 23 (rc4-hmac) is not supported: weak"),
        (24, "enctype 24 (rc4-hmac-exp) is not supported: weak"),
        (25, "enctype 25 (camellia128-cts-cmac) is not supported: not implemented"),
        (26, "enctype 26 (camellia256-cts-cmac) is not supported: not implemented"),
        (99, "enctype 99 is not supported: unknown enctype number"),
        (-128, "enctype -128 is not supported: unknown enctype number"),
        (0, "enctype 0 is not supported: unknown enctype number"),
    ],
)
def test_unsupported_enctypes_are_refused_with_a_clear_message(etype: int, message: str) -> None:
    with pytest.raises(UnsupportedEnctype) as info:
        enctype_by_id(etype)
    assert str(info.value).startswith(message)
    assert info.value.etype == etype
    assert isinstance(info.value, CryptoError)
    assert not is_supported(etype)


@pytest.mark.parametrize(
    ("name", "etype"),
    [("rc4-hmac", 23), ("arcfour-hmac", 23), ("des3-cbc-sha1", 16), ("des-cbc-crc", 1)],
)
def test_unsupported_enctype_names_are_refused_with_the_reason(name: str, etype: int) -> None:
    with pytest.raises(UnsupportedEnctype, match=rf"enctype {etype} \(.*\) is not supported: weak"):
        enctype_by_name(name)


def test_unknown_enctype_name() -> None:
    with pytest.raises(UnsupportedEnctype, match="'aes512-cts' is not known"):
        enctype_by_name("aes512-cts")


@pytest.mark.parametrize("etype", ALL)
@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 33, 300, 4000])
def test_round_trip(etype: int, length: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    plaintext = os.urandom(length)
    ciphertext = et.encrypt(key, 3, plaintext)
    assert len(ciphertext) == et.confounder_size + length + et.mac_size
    assert et.decrypt(key, 3, ciphertext) == plaintext


@pytest.mark.parametrize("etype", ALL)
def test_random_confounder_makes_every_ciphertext_different(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    assert et.encrypt(key, 2, b"same message") != et.encrypt(key, 2, b"same message")


@pytest.mark.parametrize("etype", ALL)
def test_every_flipped_byte_is_detected(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    ciphertext = et.encrypt(key, 11, b"an authenticator, 37 bytes of it....")
    for position in range(len(ciphertext)):
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x01
        with pytest.raises(IntegrityError):
            et.decrypt(key, 11, bytes(tampered))


@pytest.mark.parametrize("etype", ALL)
def test_wrong_usage_and_wrong_key_fail(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    ciphertext = et.encrypt(key, 2, b"ticket")
    with pytest.raises(IntegrityError, match="key usage 3: integrity check failed"):
        et.decrypt(key, 3, ciphertext)
    with pytest.raises(IntegrityError):
        et.decrypt(et.random_key(), 2, ciphertext)


@pytest.mark.parametrize("etype", ALL)
def test_truncated_ciphertext_is_an_integrity_error(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    ciphertext = et.encrypt(key, 2, b"")
    assert len(ciphertext) == et.min_ciphertext_size
    for length in (0, 1, 15, 16, et.min_ciphertext_size - 1):
        with pytest.raises(IntegrityError, match=f"ciphertext of {length} bytes is shorter"):
            et.decrypt(key, 2, ciphertext[:length])
    # Dropping bytes from a longer message is caught by the integrity check.
    longer = et.encrypt(key, 2, b"x" * 40)
    for cut in (1, 5, 17):
        with pytest.raises(IntegrityError):
            et.decrypt(key, 2, longer[:-cut])


@pytest.mark.parametrize("etype", ALL)
def test_error_messages_carry_no_key_or_plaintext(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    plaintext = b"TOP-SECRET-PLAINTEXT-0123456789"
    ciphertext = et.encrypt(key, 2, plaintext)
    tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 0xFF])
    failures: list[CryptoError] = []
    for call in (
        lambda: et.decrypt(key, 2, tampered),
        lambda: et.decrypt(key, 7, ciphertext),
        lambda: et.verify_checksum(key, 2, plaintext, bytes(et.checksum_size)),
        lambda: et.encrypt(key[:-1], 2, plaintext),
    ):
        with pytest.raises(CryptoError) as info:
            call()
        failures.append(info.value)
    for exc in failures:
        text = f"{exc} {exc!r}"
        assert key.hex() not in text and repr(key) not in text
        assert "TOP-SECRET" not in text and plaintext.hex() not in text


@pytest.mark.parametrize("etype", ALL)
def test_bad_key_length_is_refused_clearly(etype: int) -> None:
    et = enctype_by_id(etype)
    bad = bytes(et.key_size + 1)
    message = rf"enctype {etype} \({et.name}\) needs a {et.key_size}-byte key, got {len(bad)} bytes"
    with pytest.raises(CryptoError, match=message):
        et.encrypt(bad, 2, b"x")
    with pytest.raises(CryptoError, match=message):
        et.decrypt(bad, 2, bytes(64))
    with pytest.raises(CryptoError, match=message):
        et.checksum(bad, 2, b"x")
    with pytest.raises(CryptoError, match=message):
        et.prf(bad, b"x")


@pytest.mark.parametrize("etype", ALL)
def test_bad_usage_and_confounder_are_refused(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    for usage in (-1, 2**32):
        with pytest.raises(CryptoError, match=r"outside 0\.\.2"):
            et.encrypt(key, usage, b"x")
    with pytest.raises(CryptoError, match="16-byte confounder, got 8 bytes"):
        et.encrypt(key, 2, b"x", confounder=bytes(8))


@pytest.mark.parametrize("etype", ALL)
def test_checksum_verify(etype: int) -> None:
    et = enctype_by_id(etype)
    key = et.random_key()
    data = b"KDC-REQ-BODY bytes"
    cksum = et.checksum(key, 6, data)
    assert len(cksum) == et.checksum_size
    et.verify_checksum(key, 6, data, cksum)
    with pytest.raises(ChecksumMismatch):
        et.verify_checksum(key, 6, data + b"!", cksum)
    with pytest.raises(ChecksumMismatch):
        et.verify_checksum(key, 7, data, cksum)
    with pytest.raises(ChecksumMismatch):
        et.verify_checksum(key, 6, data, cksum[:-1])
    ck = checksum_by_type(et.checksum_type)
    assert ck.keyed and ck.size == et.checksum_size
    ck.verify(key, 6, data, cksum)
    with pytest.raises(ChecksumMismatch, match=f"checksum type {et.checksum_type}"):
        ck.verify(key, 6, b"modified", cksum)
    with pytest.raises(UnsupportedChecksum, match="is keyed"):
        ck.checksum(None, 6, data)


@pytest.mark.parametrize(
    ("cksumtype", "name", "size", "hex_of_abc"),
    [
        (7, "rsa-md5", 16, "900150983cd24fb0d6963f7d28e17f72"),
        (14, "sha1", 20, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ],
)
def test_unkeyed_checksums(cksumtype: int, name: str, size: int, hex_of_abc: str) -> None:
    ck = checksum_by_type(cksumtype)
    assert (ck.name, ck.size, ck.keyed, ck.enctype) == (name, size, False, None)
    assert ck.checksum(None, 0, b"abc").hex() == hex_of_abc
    ck.verify(None, 0, b"abc", bytes.fromhex(hex_of_abc))
    with pytest.raises(ChecksumMismatch):
        ck.verify(None, 0, b"abd", bytes.fromhex(hex_of_abc))


@pytest.mark.parametrize(
    ("cksumtype", "message"),
    [
        (1, "checksum type 1 (crc32) is not supported: weak"),
        (12, "checksum type 12 (hmac-sha1-des3-kd) is not supported: weak"),
        (-138, "checksum type -138 (hmac-md5-arcfour) is not supported: weak"),
        (17, "checksum type 17 (cmac-camellia128) is not supported: not implemented"),
        (4242, "checksum type 4242 is not supported: unknown"),
    ],
)
def test_unsupported_checksums(cksumtype: int, message: str) -> None:
    with pytest.raises(UnsupportedChecksum) as info:
        checksum_by_type(cksumtype)
    assert str(info.value).startswith(message)
    assert info.value.cksumtype == cksumtype


@pytest.mark.parametrize("etype", ALL)
def test_random_key_and_random_to_key(etype: int) -> None:
    et = enctype_by_id(etype)
    keys = {et.random_key() for _ in range(8)}
    assert len(keys) == 8 and all(len(k) == et.key_size for k in keys)
    seed = os.urandom(et.key_size)
    assert et.random_to_key(seed) == seed  # identity for AES (RFC 3962, RFC 8009)
    with pytest.raises(CryptoError, match=f"needs {et.key_size} bytes, got 3 bytes"):
        et.random_to_key(b"abc")


@pytest.mark.parametrize("etype", ALL)
def test_derived_keys_are_cached_per_key_and_usage(etype: int) -> None:
    et = enctype_by_id(etype)
    et.clear_caches()
    key = et.random_key()
    ciphertext = et.encrypt(key, 2, b"x")
    for _ in range(5):
        et.decrypt(key, 2, ciphertext)
    info = et._usage_keys_cached.cache_info()
    assert (info.misses, info.hits) == (1, 5)
    et.encrypt(key, 3, b"x")
    assert et._usage_keys_cached.cache_info().misses == 2
    assert "redacted" in repr(et._usage_keys(key, 2))


def test_enctypes_are_distinct_and_string_to_key_depends_on_everything() -> None:
    keys = {
        enctype_by_id(e).string_to_key(pw, salt, b"\x00\x00\x00\x02")
        for e in ALL
        for pw in (b"pw1", b"pw2")
        for salt in (b"EXAMPLE.COMa", b"EXAMPLE.COMb")
    }
    assert len(keys) == 16
