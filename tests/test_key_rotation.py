"""Key rotation without downtime, with MIT's tools against a running has-server.

``cpw -randkey -keepold`` gives a principal a new kvno and keeps the older ones;
``ktadd -norandkey`` exports every kept kvno; ``purgekeys`` drops the old ones later.
Between those steps no MIT ``kinit -k`` nor ``kvno`` may fail: tickets issued under
the old kvno (a TGT after a krbtgt rotation, a service ticket a client still holds)
keep working while the old keys are kept, and everything new is issued under the new
kvno. ``kvno -k KEYTAB`` makes MIT decrypt each service ticket with the keytab, as
the service itself would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from has_kdc.backend import open_backend
from has_kdc.conf import load_conf_dir
from has_kdc.formats import read_keytab
from tests.hacluster import eventually
from tests.hasnode import HasNode
from tests.mitkrb import MitClient

pytestmark = pytest.mark.mit

REALM = "HADOOP.COM"
SERVICE = f"svc/app.example.com@{REALM}"
KRBTGT = f"krbtgt/{REALM}@{REALM}"


@pytest.fixture
def node(has_node: HasNode) -> HasNode:
    """conftest's initialized, started node of HADOOP.COM."""
    return has_node


def stored_kvnos(node: HasNode, name: str) -> tuple[int, set[int]]:
    """(current kvno, every kvno with keys) as the store holds them."""
    with open_backend(load_conf_dir(node.conf_dir).backend) as backend:
        principal = backend.get_principal(name)
    assert principal is not None
    return principal.kvno, {k.kvno for k in principal.keys}


def ticket_kvno(mit: MitClient, *args: str) -> int:
    """``kvno`` (with ``args``) as MIT prints it: the kvno of the ticket it got."""
    out = mit.kvno(*args).stdout
    found = re.search(r": kvno = (\d+)", out)
    assert found, out
    return int(found[1])


def fresh_ticket_kvno(mit: MitClient, expected: int, *args: str) -> None:
    """``kvno`` (with ``args``) until the KDC issues the ticket under ``expected``: each
    try from the client's credential cache as it is now, so no ticket a try got (from a
    KDC that had not yet seen the change) is taken from the cache by the next."""
    pristine = mit.ccache.read_bytes()

    def check() -> None:
        mit.ccache.write_bytes(pristine)
        got = ticket_kvno(mit, *args)
        assert got == expected, f"kvno {got}: the KDC has not seen the change yet"

    eventually(check)


def keytab_kvnos(mit: MitClient, keytab: Path) -> set[tuple[int, str]]:
    """(kvno, principal) of every entry, as MIT's ``klist -k`` lists them."""
    out = mit.klist("-k", str(keytab)).stdout
    return {(int(m[1]), m[2]) for m in re.finditer(r"^\s*(\d+) (\S+)$", out, re.M)}


#: python-gssapi (MIT libgssapi_krb5) both ends of one context: the initiator from the
#: ccache (its cached service ticket, whatever its kvno), the acceptor from KRB5_KTNAME.
GSS_SCRIPT = """
import sys, gssapi
name = gssapi.Name(sys.argv[1], gssapi.NameType.kerberos_principal)
init = gssapi.SecurityContext(name=name, usage="initiate", mech=gssapi.MechType.kerberos)
acc = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
acc.step(init.step())
assert acc.complete
print(acc.initiator_name)
"""


def gss_accepts(client: MitClient, keytab: Path) -> list[str]:
    """Who a python-gssapi acceptor with ``keytab`` sees in ``client``'s context."""
    proc = subprocess.run(
        [sys.executable, "-c", GSS_SCRIPT, SERVICE],
        env=dict(client.env, KRB5_KTNAME=f"FILE:{keytab}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_service_rotation_keeps_every_ticket_working(node: HasNode, tmp_path: Path) -> None:
    node.hadmin("addprinc", "-pw", "alice-pw", "alice")
    node.hadmin("addprinc", "-randkey", SERVICE)
    keytab = tmp_path / "svc.keytab"
    node.hadmin("ktadd", "-k", str(keytab), "-norandkey", SERVICE)
    svc = node.mit_client(tmp_path / "svc")
    before = node.mit_client(tmp_path / "before")  # a client holding a kvno-1 ticket
    before.kinit("alice", "alice-pw")
    assert ticket_kvno(before, "-k", str(keytab), SERVICE) == 1
    svc.kinit_keytab(SERVICE, keytab)

    out = node.hadmin("cpw", "-randkey", "-keepold", SERVICE).stdout
    assert out == f'Key for "{SERVICE}" randomized.\n'
    assert stored_kvnos(node, SERVICE) == (2, {1, 2})
    shown = node.hadmin("getprinc", SERVICE).stdout
    assert "Key: vno 2, aes256-cts-hmac-sha1-96" in shown
    assert "Key: vno 1, aes256-cts-hmac-sha1-96" in shown

    # ktadd -norandkey writes every kept kvno, as MIT's does
    out = node.hadmin("ktadd", "-k", str(keytab), "-norandkey", SERVICE).stdout
    assert f"Entry for principal {SERVICE} with kvno 2" in out
    assert f"Entry for principal {SERVICE} with kvno 1" in out
    assert keytab_kvnos(svc, keytab) == {(1, SERVICE), (2, SERVICE)}
    assert {e.kvno for e in read_keytab(keytab).entries} == {1, 2}

    # the old ticket still opens with the keytab; new ones come under kvno 2
    assert ticket_kvno(before, "-k", str(keytab), SERVICE) == 1
    after = node.mit_client(tmp_path / "after")
    after.kinit("alice", "alice-pw")
    fresh_ticket_kvno(after, 2, "-k", str(keytab), SERVICE)
    svc.kinit_keytab(SERVICE, keytab)  # the AS reply comes under the newest kvno
    # python-gssapi accepts both tickets with the same two-kvno keytab
    assert gss_accepts(before, keytab) == gss_accepts(after, keytab) == ["alice@HADOOP.COM"]

    out = node.hadmin("purgekeys", SERVICE).stdout
    assert out == f'Old keys for principal "{SERVICE}" purged.\n'
    assert stored_kvnos(node, SERVICE) == (2, {2})
    assert "vno 1" not in node.hadmin("getprinc", SERVICE).stdout
    svc.kinit_keytab(SERVICE, keytab)
    assert ticket_kvno(after, "-k", str(keytab), SERVICE) == 2
    assert ticket_kvno(before, "-k", str(keytab), SERVICE) == 1  # the service decides

    # a keytab exported now holds only what is kept
    fresh = tmp_path / "fresh.keytab"
    node.hadmin("ktadd", "-k", str(fresh), "-norandkey", "-q", SERVICE)
    assert keytab_kvnos(svc, fresh) == {(2, SERVICE)}
    svc.kinit_keytab(SERVICE, fresh)


def test_krbtgt_rotation_keeps_existing_tgts_valid(node: HasNode, tmp_path: Path) -> None:
    node.hadmin("addprinc", "-pw", "alice-pw", "alice")
    for name in ("svc/one", "svc/two", "svc/three"):
        node.hadmin("addprinc", "-randkey", name)
    old = node.mit_client(tmp_path / "old")
    old.kinit("alice", "alice-pw")
    assert ticket_kvno(old, KRBTGT) == 1  # the TGT itself

    node.hadmin("cpw", "-randkey", "-keepold", KRBTGT)
    assert stored_kvnos(node, KRBTGT) == (2, {1, 2})
    new = node.mit_client(tmp_path / "new")

    def new_tgt_kvno() -> int:
        new.kinit("alice", "alice-pw")
        kvno = ticket_kvno(new, KRBTGT)
        assert kvno == 2, "the KDC has not seen the rotation yet"
        return kvno

    eventually(new_tgt_kvno)
    # the TGT issued under kvno 1 still gets service tickets, while kvno 1 is kept
    assert ticket_kvno(old, f"svc/one@{REALM}") == 1
    assert ticket_kvno(new, f"svc/one@{REALM}") == 1

    node.hadmin("purgekeys", "-keepkvno", "2", KRBTGT)
    assert stored_kvnos(node, KRBTGT) == (2, {2})
    pristine = old.ccache.read_bytes()  # each try from the TGT alone, no ticket cached
    scratch = tmp_path / "scratch.ccache"

    def old_tgt_refused() -> None:
        scratch.write_bytes(pristine)
        env = {"KRB5CCNAME": f"FILE:{scratch}"}
        refused = old.run("kvno", f"svc/two@{REALM}", check=False, env=env)
        assert refused.returncode != 0, "the KDC has not seen the purge yet"

    eventually(old_tgt_refused)
    assert ticket_kvno(new, f"svc/three@{REALM}") == 1  # the new TGT goes on


def test_purgekeys_options_as_mit(node: HasNode) -> None:
    node.hadmin("addprinc", "-randkey", SERVICE)
    for _ in range(3):
        node.hadmin("cpw", "-randkey", "-keepold", SERVICE)
    assert stored_kvnos(node, SERVICE) == (4, {1, 2, 3, 4})
    node.hadmin("purgekeys", "-keepkvno", "3", SERVICE)
    assert stored_kvnos(node, SERVICE) == (4, {3, 4})
    # cpw without -keepold drops every older kvno; the new one follows the highest kept
    node.hadmin("cpw", "-pw", "svc-pw", "-keepold", SERVICE)
    assert stored_kvnos(node, SERVICE) == (5, {3, 4, 5})
    node.hadmin("cpw", "-randkey", SERVICE)
    assert stored_kvnos(node, SERVICE) == (6, {6})
    node.hadmin("purgekeys", "-all", SERVICE)
    assert stored_kvnos(node, SERVICE) == (6, set())
    assert "Number of keys: 0" in node.hadmin("getprinc", SERVICE).stdout

    both = node.hadmin("purgekeys", "-all", "-keepkvno", "2", SERVICE, check=False)
    assert both.returncode != 0 and "not allowed with" in both.stderr
    for builtin in (KRBTGT, f"kadmin/{REALM}@{REALM}"):
        refused = node.hadmin("purgekeys", "-all", builtin, check=False)
        assert refused.returncode == 1, refused
        assert f"cannot purge every key of {builtin}" in refused.stderr
        assert stored_kvnos(node, builtin)[1] == {1}
    bad = node.hadmin("purgekeys", "-keepkvno", "0", SERVICE, check=False)
    assert bad.returncode == 1 and "out of range" in bad.stderr

    records = node.hadmin("audit", "-action", "purgekeys", "-json").stdout.splitlines()
    details = [(r["target"], r["result"], r["detail"]) for r in map(json.loads, records)]
    assert details[0] == (SERVICE, "success", {"all": False, "keepkvno": 3, "purged_kvnos": [1, 2]})
    assert (SERVICE, "success", {"all": True, "keepkvno": None, "purged_kvnos": [6]}) in details
    assert all(r == "failure" for t, r, _ in details if t != SERVICE)
    cpw = node.hadmin("audit", "-action", "cpw", "-json").stdout.splitlines()
    kept = json.loads(cpw[0])["detail"]
    assert kept == {"keepold": True, "keys": "random", "kept_kvnos": [1], "kvno": 2}
