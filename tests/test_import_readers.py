"""The import's source readers on real-format data: MIT 1.20 dumps, Kerby's JSON file.

The MIT files were made by MIT's own kdb5_util (tests/data/importing/README.md lists
what is in them); the Kerby files are written from Kerby's sources by
tests/kerby_data.py. Keys read back are checked against string-to-key of the
passwords, so a reader that garbles a key, a salt or a kvno fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from has_kdc.admin import AdminError
from has_kdc.admin.importing import detect_format, read_source
from has_kdc.admin.importing.kerby import NEVER_MILLIS, millis_from_generalized_time
from has_kdc.admin.importing.kerby_json import decode_encryption_key
from has_kdc.admin.importing.mit_mkey import read_stash
from has_kdc.crypto import enctype_by_id
from tests import kerby_data

DATA = Path(__file__).parent / "data" / "importing"
DUMP, STASH = DATA / "mit-1.20.dump", DATA / "mit-1.20.stash"
JSON_FILE = DATA / "kerby-json-backend.json"


def s2k(etype: int, password: str, salt: bytes) -> bytes:
    et = enctype_by_id(etype)
    return et.string_to_key(password.encode(), salt, et.default_params)


@pytest.fixture(scope="module")
def mit():
    source = read_source(str(DUMP), stash=STASH)
    return source, {p.name: p for p in source.principals}


# ---------------------------------------------------------------- format detection


def test_format_is_recognised_from_the_source_itself(tmp_path):
    assert detect_format("jdbc:mysql://db:3306/has") == "kerby-mysql"
    assert detect_format("jdbc:mysql:thin://db/has?createDB=true") == "kerby-mysql"
    assert detect_format("mysql://u@db/has") == "kerby-mysql"
    assert detect_format(str(DUMP)) == "mit-dump"
    assert detect_format(str(JSON_FILE)) == "kerby-json"
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(AdminError, match="name the format with --format"):
        detect_format(str(other))
    with pytest.raises(AdminError, match="cannot read it as a file"):
        detect_format(str(tmp_path / "missing"))


# ---------------------------------------------------------------- MIT


def test_mit_keys_decrypt_to_the_password_keys_with_their_salts(mit):
    _, by_name = mit
    cases = {
        "alice@HADOOP.COM": ("alice-MIT-1", b"HADOOP.COMalice", None),
        "norealm@HADOOP.COM": ("norealm-MIT-1", b"norealm", b"norealm"),
        "onlyrealm@HADOOP.COM": ("onlyrealm-MIT-1", b"HADOOP.COM", b"HADOOP.COM"),
        "after@HADOOP.COM": ("renamed-MIT-1", b"HADOOP.COMbefore", b"HADOOP.COMbefore"),
    }
    for name, (password, salt, stored_salt) in cases.items():
        aes = [k for k in by_name[name].keys if k.enctype in (17, 18, 19, 20)]
        assert aes, name
        for key in aes:
            assert key.key == s2k(key.enctype, password, salt), (name, key.enctype)
            assert key.salt == stored_salt, name
    assert {k.enctype for k in by_name["alice@HADOOP.COM"].keys} == {16, 17, 18, 19, 20, 23}


def test_mit_every_kvno_is_kept(mit):
    _, by_name = mit
    kv = by_name["kv@HADOOP.COM"]
    for key in kv.keys:
        if key.enctype == 18:
            password = {2: "kv-MIT-2", 1: "kv-MIT-1"}[key.kvno]
            assert key.key == s2k(18, password, b"HADOOP.COMkv")
    assert sorted({k.kvno for k in kv.keys}) == [1, 2]


def test_mit_attributes_map_and_the_rest_is_reported(mit):
    source, by_name = mit
    assert by_name["locked@HADOOP.COM"].attributes["allow_tix"] is False
    assert by_name["nofwd@HADOOP.COM"].attributes["allow_forwardable"] is False
    assert by_name["nofwd@HADOOP.COM"].attributes["requires_preauth"] is False
    assert by_name["alice@HADOOP.COM"].attributes["requires_preauth"] is True
    assert by_name["temp@HADOOP.COM"].attributes["expiration"] == 1893456000
    assert by_name["alice@HADOOP.COM"].attributes["expiration"] is None
    assert by_name["short@HADOOP.COM"].attributes["max_life"] == 36000
    skipped = {(s.name, s.what) for p in source.principals for s in p.skipped}
    assert ("nofwd@HADOOP.COM", "attribute REQUIRES_PWCHANGE") in skipped
    assert ("host/app.hadoop.com@HADOOP.COM", "attribute OK_AS_DELEGATE") in skipped
    assert ("host/app.hadoop.com@HADOOP.COM", "string attributes session_enctypes") in skipped
    assert ("withpolicy@HADOOP.COM", "policy strict") in skipped
    whole = {(s.name, s.what) for s in source.skipped}
    assert (None, "policy strict") in whole
    assert ("K/M@HADOOP.COM", "principal") in whole
    assert "K/M@HADOOP.COM" not in by_name
    assert source.realm == "HADOOP.COM"


def test_mit_master_password_opens_the_dump_like_the_stash(mit):
    by_stash = mit[1]
    by_password = {
        p.name: p for p in read_source(str(DUMP), master_password="master-secret").principals
    }
    assert by_password.keys() == by_stash.keys()
    for name, principal in by_stash.items():
        assert by_password[name].keys == principal.keys


def test_mit_wrong_or_missing_master_key_is_a_clear_error(tmp_path):
    with pytest.raises(AdminError, match="give the stash file"):
        read_source(str(DUMP))
    with pytest.raises(AdminError, match="does not decrypt K/M's current key"):
        read_source(str(DUMP), master_password="not-the-master")
    entries = read_stash(STASH)
    assert [(kvno, etype) for kvno, etype, _ in entries] == [(1, 18)]
    old = tmp_path / "old.stash"  # the pre-1.7 stash format: enctype, length, key
    _kvno, etype, key = entries[0]
    old.write_bytes(etype.to_bytes(2, "little") + len(key).to_bytes(4, "little") + key)
    assert read_stash(old) == [(1, etype, key)]
    assert len(read_source(str(DUMP), stash=old).principals) == 15


def test_mit_damaged_record_is_reported_not_fatal(tmp_path):
    lines = DUMP.read_text(encoding="latin-1").splitlines(keepends=True)
    broken = next(i for i, line in enumerate(lines) if "\talice@HADOOP.COM\t" in line)
    lines[broken] = lines[broken][:120] + "\n"
    damaged = tmp_path / "damaged.dump"
    damaged.write_text("".join(lines), encoding="latin-1")
    source = read_source(str(damaged), stash=STASH)
    assert "alice@HADOOP.COM" not in {p.name for p in source.principals}
    assert len(source.principals) == 14
    assert any("unreadable principal record" in s.reason for s in source.skipped)


def test_mit_header_is_required(tmp_path):
    not_dump = tmp_path / "x.dump"
    not_dump.write_text("kdb5_util load_dump version 3\n")
    with pytest.raises(AdminError, match="not an MIT dump"):
        read_source(str(not_dump), "mit-dump", stash=STASH)


# ---------------------------------------------------------------- Kerby


def test_kerby_data_files_are_what_the_generator_writes():
    for name, make in kerby_data.FILES.items():
        assert (DATA / name).read_text() == make(), f"{name}: re-run python -m tests.kerby_data"


def test_kerby_json_keys_attributes_and_refusals():
    source = read_source(str(JSON_FILE))
    assert source.kind == "kerby-json" and source.realm == "HADOOP.COM"
    by_name = {p.name: p for p in source.principals}
    assert len(by_name) == len(kerby_data.IDENTITIES)
    for ident in kerby_data.IDENTITIES:
        got = {(k.enctype, k.kvno): k.key for k in by_name[ident.name].keys}
        assert got == {(e, ident.kvno): key for e, key in ident.keys.items()}, ident.name
    alice = by_name["alice@HADOOP.COM"]
    assert alice.keys[0].key == s2k(alice.keys[0].enctype, "alice-Kerby-1", b"HADOOP.COMalice")
    assert alice.attributes["expiration"] is None
    assert alice.created == kerby_data.CREATED_MILLIS // 1000
    assert by_name["bob@HADOOP.COM"].attributes["disabled"] is True
    assert by_name["carol@HADOOP.COM"].attributes["disabled"] is True
    assert [s.what for s in by_name["carol@HADOOP.COM"].skipped] == ["locked"]
    assert by_name["dave@HADOOP.COM"].attributes["expiration"] == 1893456000
    assert [s.what for s in by_name["eve@HADOOP.COM"].skipped] == ["kdc_flags 16"]


def test_kerby_json_never_and_broken_entries(tmp_path):
    document = json.loads(JSON_FILE.read_text())
    entry = document["alice@HADOOP.COM"]
    entry["expireTime"] = str(2**63 - 1)  # KerberosTime.NEVER
    entry["keys"]["AES128_CTS_HMAC_SHA1_96"]["key"] = "30"  # not a DER EncryptionKey
    path = tmp_path / "json-backend.json"
    path.write_text(json.dumps(document))
    alice = next(p for p in read_source(str(path)).principals if p.name.startswith("alice@"))
    assert alice.attributes["expiration"] is None
    assert [k.enctype for k in alice.keys] == [18]
    assert any("cannot be decoded" in s.reason for s in alice.skipped)
    entry = document["bob@HADOOP.COM"]  # a map Gson wrote as an array of [key, value] pairs
    entry["keys"] = [[k, v] for k, v in entry["keys"].items()]
    document["broken@HADOOP.COM"] = {"principal": "broken@HADOOP.COM", "keyVersion": "x"}
    path.write_text(json.dumps(document))
    source = read_source(str(path))
    bob = next(p for p in source.principals if p.name.startswith("bob@"))
    assert sorted(k.enctype for k in bob.keys) == [17, 18]
    assert [(s.name, s.what) for s in source.skipped] == [("broken@HADOOP.COM", "principal")]
    path.write_text("[1, 2]")
    with pytest.raises(AdminError, match="expected an object"):
        read_source(str(path), "kerby-json")


def test_der_encryption_key_round_trip():
    der = kerby_data.der_encryption_key(18, bytes(range(32)))
    assert der[:6].hex() == "3029a0030201"
    assert decode_encryption_key(der) == (18, bytes(range(32)))
    with pytest.raises(ValueError):
        decode_encryption_key(der[:-1])


def test_generalized_time_as_kerby_writes_it():
    assert millis_from_generalized_time("20231114221320.000Z") == 1_700_000_000_000
    assert millis_from_generalized_time("99991231235959.900Z") == NEVER_MILLIS
    assert millis_from_generalized_time("20231114231320.5+0100") == 1_700_000_000_500
    assert millis_from_generalized_time("2023111422Z") == 1_699_999_200_000
    # KerberosTime.NEVER through Apache Directory's writer: year byte out of range
    assert millis_from_generalized_time("\ufffd9940817071255.807Z") == NEVER_MILLIS
    assert millis_from_generalized_time("yesterday") is None
    assert millis_from_generalized_time("20231340000000Z") is None


def test_readers_do_not_touch_their_source(tmp_path):
    copy = tmp_path / "dump"
    shutil.copyfile(DUMP, copy)
    before = copy.read_bytes()
    read_source(str(copy), stash=STASH)
    assert copy.read_bytes() == before
