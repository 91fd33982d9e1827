"""Keytab files: read what MIT writes, write what MIT reads, refuse damage with FormatError."""

from __future__ import annotations

import re
import stat
import struct
import sys
from pathlib import Path

import pytest

from has_kdc.formats import (
    FormatError,
    FormatPrincipal,
    Keytab,
    KeytabEntry,
    keytab_to_bytes,
    make_entry,
    parse_keytab,
    read_keytab,
    write_keytab,
)
from has_kdc.formats.keytab import EntryEncoding

DATA = Path(__file__).parent / "data" / "formats"
ENCTYPE_NAMES = {
    "aes128-cts-hmac-sha1-96": 17,
    "aes256-cts-hmac-sha1-96": 18,
    "aes128-cts-hmac-sha256-128": 19,
    "aes256-cts-hmac-sha384-192": 20,
}
KEY_LENGTHS = {17: 16, 18: 32, 19: 16, 20: 32}
AES = (18, 17, 20, 19)
HTTP = FormatPrincipal(1, "EXAMPLE.TEST", ("HTTP", "web.example.test"))


def string_to_key(enctype: int, password: str, principal: FormatPrincipal) -> bytes:
    from has_kdc.crypto import enctype_by_id

    return enctype_by_id(enctype).string_to_key(password.encode(), principal.default_salt())


def listing(entries: list[KeytabEntry]) -> list[tuple[int, str, int]]:
    return [(e.kvno, str(e.principal), e.enctype) for e in entries]


def parse_klist_kte(out: str) -> list[tuple[int, str, int]]:
    """(kvno, principal, enctype) per line of `klist -kte` output."""
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*(\d+) (?:\S+ \S+ )?(\S+) \((\S+)\)\s*$", line)
        if m:
            rows.append((int(m.group(1)), m.group(2), ENCTYPE_NAMES[m.group(3)]))
    return rows


# --- files MIT wrote ---------------------------------------------------------------


def test_reads_ktutil_keytab():
    kt = read_keytab(DATA / "ktutil.keytab")
    alice = FormatPrincipal(1, "EXAMPLE.TEST", ("alice",))
    assert listing(kt.entries) == [
        (3, "HTTP/web.example.test@EXAMPLE.TEST", 18),
        (3, "HTTP/web.example.test@EXAMPLE.TEST", 17),
        (300, "HTTP/web.example.test@EXAMPLE.TEST", 20),
        (1, "alice@EXAMPLE.TEST", 19),
    ]
    assert [e.principal for e in kt.entries] == [HTTP, HTTP, HTTP, alice]
    assert [len(e.key) for e in kt.entries] == [KEY_LENGTHS[e.enctype] for e in kt.entries]
    assert len({e.timestamp for e in kt.entries}) == 1 and kt.entries[0].timestamp > 0
    # MIT writes the low byte of a large kvno in the 8-bit field, all of it in the 32-bit one
    assert kt.entries[2].encoding == EntryEncoding(300 & 0xFF, 300)


def test_ktutil_keys_are_our_string_to_key():
    kt = read_keytab(DATA / "ktutil.keytab")
    passwords = {"HTTP/web.example.test@EXAMPLE.TEST": "http-pw", "alice@EXAMPLE.TEST": "alice-pw"}
    for entry in kt.entries:
        expected = string_to_key(entry.enctype, passwords[str(entry.principal)], entry.principal)
        assert entry.key == expected, (str(entry.principal), entry.enctype)


@pytest.mark.parametrize("name", ["ktutil.keytab"])
def test_mit_keytab_reserializes_byte_identical(name):
    data = (DATA / name).read_bytes()
    assert keytab_to_bytes(parse_keytab(data)) == data
    assert parse_keytab(data).to_bytes() == data


def test_holes_are_skipped_and_padding_kept():
    data = (DATA / "holes.keytab").read_bytes()
    kt = parse_keytab(data)
    assert listing(kt.entries) == [
        (1, "bob@EXAMPLE.TEST", 17),
        *[(1, "HTTP/web.example.test@EXAMPLE.TEST", e) for e in AES],
    ]
    assert not kt.entries_for("carol@EXAMPLE.TEST")
    # bob's record reuses the larger hole of a deleted entry: zeros follow the 32-bit kvno
    bob_len = struct.unpack(">i", data[2:6])[0]
    bob_end = 6 + bob_len
    assert kt.entries[0].encoding is not None
    assert kt.entries[0].encoding.padding == bytes(len(kt.entries[0].encoding.padding))
    assert len(kt.entries[0].encoding.padding) > 0
    hole_len = struct.unpack(">i", data[bob_end : bob_end + 4])[0]
    assert hole_len < 0, "fixture should hold carol's hole right after bob"
    # Written back without the hole; every entry record byte-identical.
    assert keytab_to_bytes(kt) == data[:bob_end] + data[bob_end + 4 - hole_len :]


def test_zero_length_record_ends_the_keytab():
    data = (DATA / "ktutil.keytab").read_bytes()
    first_len = struct.unpack(">i", data[2:6])[0]
    cut = 6 + first_len
    damaged = data[:cut] + b"\0\0\0\0" + b"garbage after the end marker"
    assert listing(parse_keytab(damaged).entries) == listing(parse_keytab(data).entries[:1])


def test_hole_running_past_end_of_file_ends_the_keytab():
    one = keytab_to_bytes([make_entry(HTTP, 2, 18, bytes(32), 100)])
    assert len(parse_keytab(one + struct.pack(">i", -50) + bytes(10)).entries) == 1


# --- kvno fields ---------------------------------------------------------------------


def _record(data: bytes) -> bytes:
    (length,) = struct.unpack(">i", data[2:6])
    assert len(data) == 6 + length
    return data[6:]


def test_kvno_300_uses_the_32_bit_field():
    entry = make_entry("svc/host@R.TEST", 300, 18, b"k" * 32, 1700000000)
    record = _record(keytab_to_bytes([entry]))
    # ... timestamp, kvno8, enctype, key length, key, kvno32
    assert record[-4:] == struct.pack(">I", 300)
    assert record[-(4 + 32 + 2 + 2 + 1) : -(4 + 32 + 2 + 2)] == bytes([300 & 0xFF])
    back = parse_keytab(keytab_to_bytes([entry])).entries[0]
    assert back == entry and back.kvno == 300


def test_record_without_32_bit_kvno_uses_8_bit_field():
    entry = make_entry("svc/host@R.TEST", 7, 17, b"k" * 16, 1700000000)
    data = keytab_to_bytes([entry])
    # Drop the trailing 32-bit kvno and leave 3 bytes of padding: too short to hold one.
    record = _record(data)[:-4] + b"\0\0\0"
    old_style = data[:2] + struct.pack(">i", len(record)) + record
    back = parse_keytab(old_style).entries[0]
    assert back.kvno == 7
    assert back.encoding == EntryEncoding(7, None, b"\0\0\0")
    assert keytab_to_bytes([back]) == old_style


def test_zero_32_bit_kvno_is_zero_fill():
    entry = make_entry("svc/host@R.TEST", 9, 17, b"k" * 16, 1700000000)
    data = keytab_to_bytes([entry])
    zeroed = data[:-4] + b"\0\0\0\0"
    back = parse_keytab(zeroed).entries[0]
    assert back.kvno == 9
    assert keytab_to_bytes([back]) == zeroed


def test_changing_kvno_of_a_read_entry_rewrites_both_fields():
    from dataclasses import replace

    entry = parse_keytab(keytab_to_bytes([make_entry("a@R", 9, 17, bytes(16), 5)])).entries[0]
    bumped = replace(entry, kvno=513)
    back = parse_keytab(keytab_to_bytes([bumped])).entries[0]
    assert back.kvno == 513
    assert back.encoding == EntryEncoding(513 & 0xFF, 513)


def test_reads_version_0x0501():
    """Version 1: native byte order, component count includes the realm, no name type."""
    order = "<" if sys.byteorder == "little" else ">"
    body = struct.pack(order + "H", 3)  # realm + 2 components
    for text in (b"R.TEST", b"host", b"h.r.test"):
        body += struct.pack(order + "H", len(text)) + text
    body += struct.pack(order + "IBHH", 1600000000, 4, 17, 16) + bytes(range(16))
    data = b"\x05\x01" + struct.pack(order + "i", len(body)) + body
    (entry,) = parse_keytab(data).entries
    assert entry.principal == FormatPrincipal(0, "R.TEST", ("host", "h.r.test"))
    assert (entry.timestamp, entry.kvno, entry.enctype, entry.key) == (
        1600000000,
        4,
        17,
        bytes(range(16)),
    )


# --- writing and the Keytab helpers ---------------------------------------------------


def test_write_keytab_is_0600_and_reads_back(tmp_path):
    target = tmp_path / "http.keytab"
    target.write_bytes(b"old")
    target.chmod(0o644)
    entries = [make_entry(HTTP, 2, e, bytes([e]) * KEY_LENGTHS[e], 1700000000) for e in AES]
    write_keytab(target, entries)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert read_keytab(target).entries == entries
    assert read_keytab(str(target)).entries == entries
    assert [p.name for p in tmp_path.iterdir()] == ["http.keytab"]


def test_make_entry_stamps_now():
    import time

    before = int(time.time())
    entry = make_entry("a@R", 1, 17, bytes(16))
    assert before <= entry.timestamp <= int(time.time())


def test_keys_for_picks_highest_kvno_and_add_keeps_old_kvnos():
    kt = Keytab()
    kt.add([make_entry(HTTP, 1, e, bytes([1]) * KEY_LENGTHS[e], 10) for e in (18, 17)])
    kt.add([make_entry("other@EXAMPLE.TEST", 5, 18, bytes(32), 10)])
    kt.add([make_entry(HTTP, 2, e, bytes([2]) * KEY_LENGTHS[e], 20) for e in (18, 17)])
    # ktadd semantics: kvno 1 stays (tickets under it still decrypt), kvno 2 is current
    assert sorted({e.kvno for e in kt.entries_for(HTTP)}) == [1, 2]
    assert [(e.kvno, e.enctype) for e in kt.keys_for(HTTP)] == [(2, 18), (2, 17)]
    assert [(e.kvno, e.enctype) for e in kt.keys_for(HTTP, kvno=1)] == [(1, 18), (1, 17)]
    assert kt.key_for("HTTP/web.example.test@EXAMPLE.TEST", 17).key == bytes([2]) * 16
    assert kt.key_for(HTTP, 17, kvno=1).key == bytes([1]) * 16
    assert kt.key_for(HTTP, 20) is None
    assert kt.keys_for("nobody@EXAMPLE.TEST") == []
    # same principal, kvno and enctype again: replaced, not duplicated
    kt.add([make_entry(HTTP, 2, 18, bytes([3]) * 32, 30)])
    assert len(kt.keys_for(HTTP)) == 2
    assert kt.key_for(HTTP, 18).key == bytes([3]) * 32
    # name type is not part of a principal's identity (as in MIT)
    srv_hst = FormatPrincipal(3, HTTP.realm, HTTP.components)
    assert len(kt.keys_for(srv_hst)) == 2
    assert [str(p) for p in kt.principals()] == [str(HTTP), "other@EXAMPLE.TEST"]


def test_replace_principal_and_remove():
    kt = Keytab([make_entry(HTTP, k, 18, bytes(32), 1) for k in (1, 2)])
    kt.add([make_entry("keep@EXAMPLE.TEST", 1, 18, bytes(32), 1)])
    kt.replace_principal(HTTP, [make_entry(HTTP, 7, 17, bytes(16), 2)])
    assert [(e.kvno, e.enctype) for e in kt.entries_for(HTTP)] == [(7, 17)]
    assert len(kt.entries_for("keep@EXAMPLE.TEST")) == 1
    assert kt.remove(HTTP, kvno=6) == 0
    assert kt.remove(HTTP) == 1
    assert [str(e.principal) for e in kt.entries] == ["keep@EXAMPLE.TEST"]


def test_key_is_not_in_repr():
    key = b"\x8a\x17SECRETKEYBYTES\x01" + bytes(16)
    entry = make_entry(HTTP, 2, 18, key, 1)
    text = repr(Keytab([entry])) + repr(entry)
    assert "SECRETKEYBYTES" not in text and key.hex() not in text
    padded = parse_keytab(keytab_to_bytes([entry])).entries[0]
    assert "SECRETKEYBYTES" not in repr(padded)


def test_escaped_principal_names_round_trip():
    odd = FormatPrincipal(1, "R.TEST", ("a/b", "c@d", "\u00e9"))
    assert str(odd) == "a\\/b/c\\@d/\u00e9@R.TEST"
    assert FormatPrincipal.from_string(str(odd)) == odd
    entry = make_entry(odd, 1, 17, bytes(16), 1)
    assert parse_keytab(keytab_to_bytes([entry])).entries == [entry]


def test_unwritable_values_raise_format_error():
    with pytest.raises(FormatError, match=r"keytab: cannot write key length .* \(entry 1\)"):
        keytab_to_bytes([make_entry(HTTP, 1, 18, bytes(70000), 1)])
    with pytest.raises(FormatError, match=r"enctype"):
        keytab_to_bytes([make_entry(HTTP, 1, -1, bytes(32), 1)])


# --- damaged input ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ktutil.keytab", "holes.keytab"])
def test_every_truncation_is_format_error_or_a_whole_prefix(name):
    data = (DATA / name).read_bytes()
    full = parse_keytab(data).entries
    keys = [e.key for e in full]
    errors = 0
    for cut in range(len(data)):
        try:
            got = parse_keytab(data[:cut]).entries
        except FormatError as exc:
            errors += 1
            message = str(exc)
            assert message.startswith("keytab: ") and " at offset " in message
            assert not any(k.hex() in message or repr(k) in message for k in keys)
            continue
        # Cut exactly at a record boundary (or inside a hole): a valid, shorter keytab.
        assert got == full[: len(got)]
        assert len(got) < len(full)
    assert errors > len(data) * 0.8


def test_truncated_key_message_names_field_offset_and_entry():
    data = (DATA / "ktutil.keytab").read_bytes()
    first_len = struct.unpack(">i", data[2:6])[0]
    second = 6 + first_len
    cut = second + struct.unpack(">i", data[second : second + 4])[0] - 10  # inside the key
    with pytest.raises(FormatError) as info:
        parse_keytab(data[:cut])
    m = re.fullmatch(r"keytab: truncated key at offset (\d+) \(entry 2\)", str(info.value))
    assert m, str(info.value)
    assert second < int(m.group(1)) < cut


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", r"keytab: truncated version at offset 0"),
        (b"\x05", r"keytab: truncated version at offset 1"),
        (b"\x05\x03", r"keytab: unknown version 0x0503 at offset 0"),
        (b"\x04\x02\x00\x00", r"keytab: unknown version 0x0402"),
        (b"\x05\x02\x00\x00\x01", r"keytab: truncated record length at offset 2 \(entry 1\)"),
        (
            b"\x05\x02\x00\x00\x10\x00" + b"\x00" * 8,
            r"keytab: truncated timestamp at offset 14 \(entry 1\)",
        ),
        # a component length that runs past the record's own length
        (
            b"\x05\x02\x00\x00\x00\x06\x00\x01\x00\x01R\xff\xff" + bytes(100),
            r"keytab: component 1 length runs past the end of its record at offset 11",
        ),
    ],
)
def test_garbled_keytabs(data, pattern):
    with pytest.raises(FormatError, match=pattern):
        parse_keytab(data)


def test_garbled_field_inside_record_is_format_error():
    data = bytearray((DATA / "ktutil.keytab").read_bytes())
    data[6:8] = b"\xff\xff"  # component count 65535 inside a record of ~70 bytes
    with pytest.raises(FormatError, match=r"runs past the end of its record .*\(entry 1\)"):
        parse_keytab(bytes(data))


def test_missing_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_keytab(tmp_path / "absent.keytab")


# --- interop with the MIT tools --------------------------------------------------------


@pytest.mark.mit
def test_keytab_we_write_is_listed_by_klist_and_used_by_kinit(mit_realm, tmp_path):
    name = "svc/keytab.mit.test"
    mit_realm.addprinc(name, "svc-secret")
    principal = FormatPrincipal.from_string(name, default_realm=mit_realm.realm)
    entries = [make_entry(principal, 1, e, string_to_key(e, "svc-secret", principal)) for e in AES]
    keytab = tmp_path / "svc.keytab"
    write_keytab(keytab, entries)
    out = mit_realm.klist("-kte", str(keytab)).stdout
    assert parse_klist_kte(out) == [(1, f"{name}@MIT.TEST", e) for e in AES]
    mit_realm.kinit_keytab(f"{name}@MIT.TEST", keytab)
    assert f"Default principal: {name}@MIT.TEST" in mit_realm.klist().stdout


@pytest.mark.mit
def test_wrong_key_in_our_keytab_is_refused_by_mit_kdc(mit_realm, tmp_path):
    """The positive kinit test means something only if a bad key fails."""
    name = "svc/wrong.mit.test"
    mit_realm.addprinc(name, "right-pw")
    principal = FormatPrincipal.from_string(name, default_realm=mit_realm.realm)
    keytab = tmp_path / "wrong.keytab"
    write_keytab(keytab, [make_entry(principal, 1, 18, string_to_key(18, "wrong", principal))])
    proc = mit_realm.kinit_keytab(f"{name}@MIT.TEST", keytab, check=False)
    assert proc.returncode != 0


@pytest.mark.mit
def test_kvno_300_is_shown_by_klist(mit_realm, tmp_path):
    keytab = tmp_path / "big.keytab"
    entries = [
        make_entry("svc/big@MIT.TEST", 300, 18, bytes(32), 1700000000),
        make_entry("svc/big@MIT.TEST", 70000, 17, bytes(16), 1700000000),
    ]
    write_keytab(keytab, entries)
    out = mit_realm.klist("-ke", str(keytab)).stdout
    assert parse_klist_kte(out) == [
        (300, "svc/big@MIT.TEST", 18),
        (70000, "svc/big@MIT.TEST", 17),
    ]
    assert read_keytab(keytab).entries == entries


@pytest.mark.mit
def test_ktutil_keytab_reads_back_with_our_keys(mit_realm, tmp_path):
    keytab = tmp_path / "ktutil.keytab"
    commands = []
    for enctype_name in ENCTYPE_NAMES:
        commands += [f"addent -password -p user@MIT.TEST -k 4 -e {enctype_name}", "user-pw"]
    commands += ["addent -password -p user@MIT.TEST -k 300 -e aes256-cts-hmac-sha1-96", "pw-300"]
    commands.append(f"wkt {keytab}")
    mit_realm.ktutil(commands)
    data = keytab.read_bytes()
    kt = parse_keytab(data)
    out = mit_realm.klist("-kte", str(keytab)).stdout
    assert listing(kt.entries) == parse_klist_kte(out)
    user = FormatPrincipal.from_string("user@MIT.TEST")
    for entry in kt.entries:
        password = "pw-300" if entry.kvno == 300 else "user-pw"
        assert entry.key == string_to_key(entry.enctype, password, user)
    assert [e.kvno for e in kt.keys_for(user)] == [300]
    assert keytab_to_bytes(kt) == data


@pytest.mark.mit
def test_kadmin_ktadd_keytab_reads_back_with_our_keys(mit_realm, tmp_path):
    keytab = tmp_path / "ktadd.keytab"
    mit_realm.ktadd(keytab, "user")
    mit_realm.ktadd(keytab, "host/service.mit.test")
    data = keytab.read_bytes()
    kt = parse_keytab(data)
    out = mit_realm.klist("-kte", str(keytab)).stdout
    assert listing(kt.entries) == parse_klist_kte(out)
    user = FormatPrincipal.from_string("user@MIT.TEST")
    assert sorted(e.enctype for e in kt.keys_for(user)) == [17, 18, 19, 20]
    for entry in kt.keys_for(user):
        assert entry.key == string_to_key(entry.enctype, "user-pw", user)
    assert keytab_to_bytes(kt) == data
    # A keytab we re-write from it still gets a TGT for the host service.
    copy = tmp_path / "copy.keytab"
    write_keytab(copy, kt.entries_for("host/service.mit.test@MIT.TEST"))
    mit_realm.kinit_keytab("host/service.mit.test@MIT.TEST", copy)


@pytest.mark.mit
def test_ktremove_hole_is_skipped(mit_realm, tmp_path):
    keytab = tmp_path / "holes.keytab"
    mit_realm.ktadd(keytab, "host/service.mit.test")
    mit_realm.ktadd(keytab, "user")
    mit_realm.kadmin(f"ktremove -k {keytab} host/service.mit.test all")
    data = keytab.read_bytes()
    assert struct.unpack(">i", data[2:6])[0] < 0, "MIT should leave a hole at the start"
    kt = parse_keytab(data)
    assert listing(kt.entries) == parse_klist_kte(mit_realm.klist("-kte", str(keytab)).stdout)
    assert {str(p) for p in kt.principals()} == {"user@MIT.TEST"}
