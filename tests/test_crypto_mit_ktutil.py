"""string_to_key agrees with MIT: keys that MIT ``ktutil addent -password`` writes to a keytab.

The keytab is parsed here just far enough to pull out (principal, enctype, key): the
full reader lives in has_kdc.formats and has its own tests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from has_kdc.crypto import enctype_by_id
from tests.mitkrb import find_tool

pytestmark = pytest.mark.mit

PASSWORD = "Correct-Horse-9"
PRINCIPALS = {
    # principal: the default salt (realm followed by the name components)
    "user@EXAMPLE.COM": b"EXAMPLE.COMuser",
    "host/node1.example.com@EXAMPLE.COM": b"EXAMPLE.COMhostnode1.example.com",
}


def _keytab_keys(data: bytes) -> dict[tuple[str, int], bytes]:
    """(principal, enctype) -> key from a version 0x0502 keytab."""
    assert data[:2] == b"\x05\x02"
    pos, keys = 2, {}

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        assert len(chunk) == n, "truncated keytab"
        pos += n
        return chunk

    def counted() -> bytes:
        return take(int.from_bytes(take(2), "big"))

    while pos < len(data):
        size = int.from_bytes(take(4), "big", signed=True)
        if size <= 0:  # a hole left by a deleted entry
            take(-size)
            continue
        end = pos + size
        ncomponents = int.from_bytes(take(2), "big")
        realm = counted().decode()
        components = [counted().decode() for _ in range(ncomponents)]
        take(4 + 4 + 1)  # name type, timestamp, 8-bit kvno
        etype = int.from_bytes(take(2), "big")
        keys[("/".join(components) + "@" + realm, etype)] = counted()
        pos = end
    return keys


def test_string_to_key_matches_keys_mit_ktutil_writes(tmp_path: Path) -> None:
    keytab = tmp_path / "mit.keytab"
    conf = tmp_path / "krb5.conf"
    conf.write_text("[libdefaults]\n")
    script = []
    for principal in PRINCIPALS:
        for etype in (17, 18, 19, 20):
            name = enctype_by_id(etype).name
            script += [f"addent -password -p {principal} -k 1 -e {name}", PASSWORD]
    script += [f"wkt {keytab}", "quit"]
    env = {**os.environ, "KRB5_CONFIG": str(conf)}
    result = subprocess.run(
        [find_tool("ktutil")],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert keytab.exists(), f"ktutil wrote no keytab: {result.stdout} {result.stderr}"

    mit_keys = _keytab_keys(keytab.read_bytes())
    assert len(mit_keys) == 8
    for principal, salt in PRINCIPALS.items():
        for etype in (17, 18, 19, 20):
            ours = enctype_by_id(etype).string_to_key(PASSWORD.encode(), salt)
            assert mit_keys[(principal, etype)] == ours, (principal, etype)
