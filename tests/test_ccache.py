"""Credential caches: read what MIT kinit writes, write what MIT klist and kvno use."""

from __future__ import annotations

import re
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from has_kdc.formats import (
    Credential,
    CredentialCache,
    FormatError,
    FormatPrincipal,
    HeaderTag,
    KeyBlock,
    ccache_to_bytes,
    new_ccache,
    parse_ccache,
    read_ccache,
    write_ccache,
)
from has_kdc.formats.ccache import CCACHE_V3, CCACHE_V4

DATA = Path(__file__).parent / "data" / "formats"
TGT = "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"

# RFC 4120 §5.3 TicketFlags as MIT stores them (bit 0 is the top bit) and klist -f letters.
FLAG_LETTERS = {
    0x40000000: "F",  # forwardable
    0x20000000: "f",  # forwarded
    0x10000000: "P",  # proxiable
    0x08000000: "p",  # proxy
    0x04000000: "D",  # may-postdate
    0x02000000: "d",  # postdated
    0x01000000: "i",  # invalid
    0x00800000: "R",  # renewable
    0x00400000: "I",  # initial
    0x00200000: "A",  # pre-authent
    0x00100000: "H",  # hw-authent
    0x00080000: "T",  # transited-policy-checked
    0x00040000: "O",  # ok-as-delegate
    0x00008000: "a",  # anonymous
}
FORWARDABLE, RENEWABLE, INITIAL, PRE_AUTHENT, TRANSITED_CHECKED = (
    0x40000000,
    0x00800000,
    0x00400000,
    0x00200000,
    0x00080000,
)


def letters(flags: int) -> set[str]:
    return {letter for bit, letter in FLAG_LETTERS.items() if flags & bit}


def load(name: str) -> tuple[bytes, CredentialCache]:
    data = (DATA / name).read_bytes()
    return data, parse_ccache(data)


# --- files MIT wrote ---------------------------------------------------------------


def test_reads_kinit_ccache():
    _, cc = load("kinit.ccache")
    assert cc.version == CCACHE_V4
    assert cc.header == [] and cc.kdc_offset is None
    assert cc.default_principal == FormatPrincipal(1, "EXAMPLE.TEST", ("alice",))
    assert [str(c.server) for c in cc.tickets] == [TGT, "HTTP/web.example.test@EXAMPLE.TEST"]
    assert [c.config_key for c in cc.config_entries] == ["fast_avail", "pa_type"]

    tgt, service = cc.tickets
    assert tgt.client == cc.default_principal == service.client
    assert tgt.keyblock.enctype == 18 and len(tgt.keyblock.key) == 32
    # kinit -f -r 2d against a KDC with max_life 24h, max_renewable_life 7d
    assert tgt.authtime == tgt.starttime == service.authtime
    assert tgt.endtime - tgt.starttime == 24 * 3600
    assert tgt.renew_till - tgt.starttime == 2 * 24 * 3600
    assert letters(tgt.ticket_flags) == {"F", "R", "I", "A"}
    assert letters(service.ticket_flags) == {"F", "R", "A", "T"}
    for cred in (tgt, service):
        assert not cred.is_skey and not cred.is_config
        assert cred.addresses == () and cred.authdata == ()
        assert cred.ticket[:1] == b"\x61"  # [APPLICATION 1] Ticket
        assert cred.second_ticket == b""
    assert cc.find("krbtgt/EXAMPLE.TEST") == tgt
    assert cc.find("HTTP/web.example.test@EXAMPLE.TEST") == service
    assert cc.find("HTTP/other@EXAMPLE.TEST") is None


def test_config_entries_of_kinit():
    _, cc = load("kinit.ccache")
    assert cc.config("fast_avail", TGT) == b"yes"
    assert cc.config("pa_type", TGT) == b"2"  # PA-ENC-TIMESTAMP
    assert cc.config("pa_type") is None  # that key is tied to the TGS principal
    for entry in cc.config_entries:
        assert entry.server.realm == "X-CACHECONF:"
        assert entry.client == cc.default_principal
        assert entry.config_principal == TGT
        assert (entry.authtime, entry.endtime, entry.ticket_flags) == (0, 0, 0)
        assert entry.keyblock == KeyBlock(0, b"")


@pytest.mark.parametrize("name", ["kinit.ccache", "kinit-timesync.ccache"])
def test_mit_ccache_reserializes_byte_identical(name):
    data, cc = load(name)
    assert ccache_to_bytes(cc) == data
    assert cc.to_bytes() == data


def test_header_kdc_offset_tag():
    data, cc = load("kinit-timesync.ccache")
    assert [t.tag for t in cc.header] == [1]
    assert cc.kdc_offset == (0, 0)  # the KDC runs on this machine's clock
    cc.set_kdc_offset(-5, 250000)
    back = parse_ccache(ccache_to_bytes(cc))
    assert back.kdc_offset == (-5, 250000)
    assert len(ccache_to_bytes(cc)) == len(data)


def test_unknown_header_tags_are_kept():
    _, cc = load("kinit-timesync.ccache")
    cc.header.append(HeaderTag(77, b"future"))
    back = parse_ccache(ccache_to_bytes(cc))
    assert back.header == cc.header
    assert back.kdc_offset == (0, 0)


def test_version_0x0503_round_trip():
    _, cc = load("kinit.ccache")
    v3 = replace(cc, version=CCACHE_V3)
    data = ccache_to_bytes(v3)
    assert data[:2] == b"\x05\x03"
    # no header length field; every credential's enctype is written twice
    assert len(data) == len(ccache_to_bytes(cc)) - 2 + 2 * len(cc.credentials)
    back = parse_ccache(data)
    assert back == v3
    assert ccache_to_bytes(back) == data


def test_0x0503_cannot_carry_header_fields():
    _, cc = load("kinit-timesync.ccache")
    with pytest.raises(FormatError, match="0x0503"):
        ccache_to_bytes(replace(cc, version=CCACHE_V3))


def test_set_config_replaces_value():
    cc = new_ccache("bob@R.TEST")
    cc.set_config("fast_avail", b"yes", "krbtgt/R.TEST@R.TEST")
    cc.set_config("refresh_time", b"1700000000")
    cc.set_config("fast_avail", b"no", "krbtgt/R.TEST@R.TEST")
    back = parse_ccache(ccache_to_bytes(cc))
    assert back.config("fast_avail", "krbtgt/R.TEST@R.TEST") == b"no"
    assert back.config("refresh_time") == b"1700000000"
    assert len(back.config_entries) == 2 and back.tickets == []


def test_is_config_needs_the_conf_prefix():
    client = FormatPrincipal(1, "R", ("bob",))
    look_alike = FormatPrincipal(1, "X-CACHECONF:", ("something", "else"))
    assert not Credential(client, look_alike, KeyBlock(0, b"")).is_config
    entry = Credential.config_entry(client, "pa_type", b"2")
    assert entry.is_config and entry.config_principal is None


def test_secrets_not_in_repr():
    cred = Credential(
        FormatPrincipal(1, "R", ("bob",)),
        FormatPrincipal(1, "R", ("krbtgt", "R")),
        KeyBlock(18, b"SESSIONKEY" + bytes(22)),
        ticket=b"TICKETBYTES",
    )
    text = repr(new_ccache("bob@R", [cred]))
    assert "SESSIONKEY" not in text and "TICKETBYTES" not in text


def test_write_ccache_is_0600_and_accepts_file_prefix(tmp_path):
    data, cc = load("kinit.ccache")
    target = tmp_path / "cc"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_ccache(f"FILE:{target}", cc)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == data
    assert read_ccache(f"FILE:{target}") == cc
    assert read_ccache(target) == cc


def test_unwritable_values_raise_format_error():
    cred = Credential(
        FormatPrincipal(1, "R", ("bob",)),
        FormatPrincipal(1, "R", ("krbtgt", "R")),
        KeyBlock(18, bytes(32)),
        endtime=2**32,
    )
    with pytest.raises(FormatError, match=r"ccache: cannot write endtime .*\(credential 1\)"):
        ccache_to_bytes(new_ccache("bob@R", [cred]))


# --- damaged input ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kinit.ccache", "kinit-timesync.ccache"])
def test_every_truncation_is_format_error_or_a_whole_prefix(name):
    data, cc = load(name)
    secrets = [c.keyblock.key for c in cc.credentials if c.keyblock.key]
    errors = 0
    for cut in range(len(data)):
        try:
            got = parse_ccache(data[:cut])
        except FormatError as exc:
            errors += 1
            message = str(exc)
            assert message.startswith("ccache: ") and " at offset " in message
            assert not any(k.hex() in message or repr(k) in message for k in secrets)
            continue
        # Cut exactly between credentials: a valid cache holding fewer of them.
        assert got.default_principal == cc.default_principal
        assert got.credentials == cc.credentials[: len(got.credentials)]
        assert len(got.credentials) < len(cc.credentials)
        assert ccache_to_bytes(got) == data[:cut]
    assert errors >= len(data) - len(cc.credentials)


def test_truncated_ticket_message():
    data, _ = load("kinit.ccache")
    cut = len(data) - 200  # inside the service ticket (~460 bytes, then an empty second ticket)
    with pytest.raises(FormatError) as info:
        parse_ccache(data[:cut])
    m = re.fullmatch(r"ccache: truncated ticket at offset (\d+) \(credential 4\)", str(info.value))
    assert m, str(info.value)
    assert int(m.group(1)) < cut


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", r"ccache: truncated version at offset 0"),
        (b"\x05\x02\x00\x00", r"ccache: unsupported version 0x0502 at offset 0"),
        (b"\x05\x04\x00", r"ccache: truncated header length at offset 2 \(header\)"),
        (b"\x05\x04\x00\x20\x00\x01", r"ccache: truncated header \(length 32\) at offset 4"),
        (b"\x05\x04\x00\x03\x00\x01\x00", r"ccache: tag 1 length runs past the end of its record"),
        # a component count of 2^32-1 must fail at the first missing component, not allocate
        (
            b"\x05\x04\x00\x00" + b"\x00\x00\x00\x01\xff\xff\xff\xff\x00\x00\x00\x01R" + bytes(4),
            r"ccache: truncated default component 2 length at offset 21 \(default principal\)",
        ),
        (
            b"\x05\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01R\x00",
            r"ccache: truncated client name type at offset 17 \(credential 1\)",
        ),
    ],
)
def test_garbled_ccaches(data, pattern):
    with pytest.raises(FormatError, match=pattern):
        parse_ccache(data)


def test_huge_ticket_length_is_format_error():
    data, _ = load("kinit.ccache")
    # point the last credential's second-ticket length (the final 4 bytes) at 4 GiB
    with pytest.raises(FormatError, match=r"truncated second ticket at offset .* \(credential 4\)"):
        parse_ccache(data[:-4] + b"\xff\xff\xff\xff")


# --- interop with the MIT tools --------------------------------------------------------


def klist_times(out: str, server: str) -> tuple[str, str]:
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[-1] == server:
            return f"{parts[0]} {parts[1]}", f"{parts[2]} {parts[3]}"
    raise AssertionError(f"{server} not in klist output:\n{out}")


def klist_flags(out: str, server: str) -> set[str]:
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.split() and line.split()[-1] == server:
            m = re.search(r"Flags: (\w+)", lines[i + 1])
            assert m, lines[i + 1]
            return set(m.group(1))
    raise AssertionError(f"{server} not in klist output:\n{out}")


def mit_time(value: int) -> str:
    """A timestamp as MIT klist prints it in the C locale (local time)."""
    return time.strftime("%m/%d/%y %H:%M:%S", time.localtime(value))


@pytest.mark.mit
def test_kinit_ccache_reads_back(mit_realm):
    mit_realm.kinit("user", "user-pw", "-f", "-r", "3d")
    data = mit_realm.ccache.read_bytes()
    cc = parse_ccache(data)
    assert str(cc.default_principal) == "user@MIT.TEST"
    tgt = cc.find("krbtgt/MIT.TEST@MIT.TEST")
    assert tgt is not None and tgt.keyblock.enctype in (17, 18, 19, 20)
    out = mit_realm.klist("-f").stdout
    start, end = klist_times(out, "krbtgt/MIT.TEST@MIT.TEST")
    assert (mit_time(tgt.starttime), mit_time(tgt.endtime)) == (start, end)
    assert f"renew until {mit_time(tgt.renew_till)}" in out
    assert letters(tgt.ticket_flags) == klist_flags(out, "krbtgt/MIT.TEST@MIT.TEST")
    assert tgt.ticket_flags & (FORWARDABLE | RENEWABLE | INITIAL | PRE_AUTHENT) == (
        FORWARDABLE | RENEWABLE | INITIAL | PRE_AUTHENT
    )
    assert tgt.renew_till - tgt.starttime == 3 * 24 * 3600
    assert cc.config("fast_avail", "krbtgt/MIT.TEST@MIT.TEST") == b"yes"
    assert cc.config("pa_type", "krbtgt/MIT.TEST@MIT.TEST") == b"2"
    assert ccache_to_bytes(cc) == data


@pytest.mark.mit
def test_kdc_offset_header_from_kinit(mit_realm, tmp_path):
    client = mit_realm.client(tmp_path / "timesync", libdefaults={"kdc_timesync": "1"})
    client.kinit("user", "user-pw")
    data = client.ccache.read_bytes()
    cc = parse_ccache(data)
    assert [t.tag for t in cc.header] == [1]
    seconds, _ = cc.kdc_offset
    assert abs(seconds) <= 1
    assert ccache_to_bytes(cc) == data


@pytest.mark.mit
def test_ccache_we_write_is_listed_by_klist_and_used_by_kvno(mit_realm, tmp_path):
    mit_realm.kinit("user", "user-pw")
    mit_cc = read_ccache(mit_realm.ccache)
    tgt = mit_cc.find("krbtgt/MIT.TEST@MIT.TEST")
    ours = new_ccache(mit_cc.default_principal, [tgt])  # no config entries, fresh header
    ours.header.append(HeaderTag(77, b"unknown tags are ignored by MIT"))
    path = tmp_path / "ours.ccache"
    write_ccache(path, ours)
    written = path.read_bytes()
    env = {"KRB5CCNAME": f"FILE:{path}"}

    out = mit_realm.run("klist", "-f", env=env).stdout
    assert "Default principal: user@MIT.TEST" in out
    assert klist_times(out, "krbtgt/MIT.TEST@MIT.TEST") == (
        mit_time(tgt.starttime),
        mit_time(tgt.endtime),
    )
    kvno = mit_realm.run("kvno", "host/service.mit.test", env=env).stdout
    assert "host/service.mit.test@MIT.TEST: kvno = 1" in kvno

    # MIT appended the service ticket to our file and kept what we wrote.
    after = path.read_bytes()
    assert after.startswith(written)
    back = parse_ccache(after)
    assert back.header == ours.header
    assert back.credentials[0] == tgt
    service = back.find("host/service.mit.test@MIT.TEST")
    assert service is not None and service.authtime == tgt.authtime


@pytest.mark.mit
def test_version_0x0503_we_write_is_read_by_mit(mit_realm, tmp_path):
    mit_realm.kinit("user", "user-pw")
    cc = read_ccache(mit_realm.ccache)
    path = tmp_path / "v3.ccache"
    write_ccache(path, replace(cc, version=CCACHE_V3, header=[]))
    env = {"KRB5CCNAME": f"FILE:{path}"}
    assert "krbtgt/MIT.TEST@MIT.TEST" in mit_realm.run("klist", env=env).stdout
    mit_realm.run("kvno", "host/service.mit.test", env=env)
    assert parse_ccache(path.read_bytes()).find("host/service.mit.test") is not None
