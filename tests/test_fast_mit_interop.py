"""MIT's own tools with FAST, against has-kdc and against MIT krb5kdc side by side.

As an MIT admin sets FAST up: ``kinit -k`` a host keytab into an armor ccache, then
``kinit -T <armor ccache> user`` with the password (encrypted challenge inside the
armor), then ``kvno`` a service (the TGS-REQ armored by its own subkey, since kinit
marked the ccache ``fast_avail``). Each step runs against MIT krb5kdc and against
has-kdc with the same principals; the exit codes and what the tools print must be
the same, and on has-kdc's side the requests are read to prove FAST was used.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from has_kdc.asn1.codec import decode_kdc_req
from has_kdc.asn1.constants import PA_ENC_TIMESTAMP, PA_FX_FAST
from has_kdc.asn1.fx import decode_pa_fx_fast_request
from has_kdc.backend.model import Principal
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.conf.kdc import KdcConfig
from has_kdc.formats.keytab import make_entry, write_keytab
from has_kdc.kdc.handler import Kdc
from tests.kdc_fakes import make_keys
from tests.mitkrb import MitClient, MitRealm
from tests.test_kdc_mit_interop import LoopbackKdc

pytestmark = pytest.mark.mit

REALM = "MIT.TEST"
HOST = "host/service.mit.test"


class RecordingKdc(Kdc):
    """has-kdc's KDC, keeping the requests it was sent (to show FAST was used)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[bytes] = []

    def handle(self, request, transport, *, peer=None):
        self.seen.append(bytes(request))
        return super().handle(request, transport, peer=peer)

    def armored(self, first_byte: int) -> list[bytes]:
        """The requests of one kind (0x6A AS-REQ, 0x6C TGS-REQ) that carried PA-FX-FAST."""
        out = []
        for data in self.seen:
            if data[0] == first_byte:
                req = decode_kdc_req(data)
                if any(p.padata_type == PA_FX_FAST for p in req.padata):
                    out.append(data)
        return out


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[dict[str, tuple[MitClient, Path, RecordingKdc | None]]]:
    """{"MIT": (client, host keytab, None), "has-kdc": (client, host keytab, kdc)}."""
    mit = MitRealm(tmp_path / "mit")
    mit.create()
    mit.addprinc("user", "user-pw")
    mit.addprinc(HOST)
    mit_keytab = tmp_path / "mit-host.keytab"
    mit.ktadd(mit_keytab, HOST)
    mit.start()

    backend = SqliteBackend(tmp_path / "principals.sqlite")
    backend.migrate()
    tgs = f"krbtgt/{REALM}@{REALM}"
    backend.add_principal(Principal(name=tgs, keys=make_keys(tgs, None)))
    backend.add_principal(
        Principal(name=f"user@{REALM}", keys=make_keys(f"user@{REALM}", "user-pw"))
    )
    host = Principal(
        name=f"{HOST}@{REALM}", keys=make_keys(f"{HOST}@{REALM}", None), requires_preauth=False
    )
    backend.add_principal(host)
    ours_keytab = tmp_path / "has-host.keytab"
    write_keytab(ours_keytab, [make_entry(host.name, k.kvno, k.enctype, k.key) for k in host.keys])
    kdc = RecordingKdc(KdcConfig(kdc_realm=REALM), backend)
    server = LoopbackKdc(kdc)
    try:
        yield {
            "MIT": (mit.client(tmp_path / "mit-client"), mit_keytab, None),
            "has-kdc": (
                MitClient(tmp_path / "has-client", REALM, [f"127.0.0.1:{server.port}"]),
                ours_keytab,
                kdc,
            ),
        }
    finally:
        server.close()
        backend.close()
        mit.stop()


def armor_ccache(client: MitClient, keytab: Path) -> Path:
    ccache = client.tmp / "armor.ccache"
    client.run("kinit", "-k", "-t", str(keytab), "-c", str(ccache), HOST)
    return ccache


def outcome(proc) -> tuple[int, str]:
    return proc.returncode, proc.stderr.strip()


def test_kinit_with_armor_and_password_then_kvno_matches_mit(sides) -> None:
    results = {}
    for name, (client, keytab, kdc) in sides.items():
        armor = armor_ccache(client, keytab)
        login = client.kinit("user", "user-pw", "-T", str(armor), check=False)
        klist = client.klist("-C", check=False)
        kvno = client.kvno(HOST, check=False)
        results[name] = (
            outcome(login),
            klist.returncode,
            "fast_avail" in klist.stdout,
            kvno.returncode,
            kvno.stdout.replace(REALM, "<realm>").split("=")[0],
        )
        if kdc is not None:
            (as_req,) = kdc.armored(0x6A)[-1:]
            fast = decode_pa_fx_fast_request(
                next(
                    p.padata_value
                    for p in decode_kdc_req(as_req).padata
                    if p.padata_type == PA_FX_FAST
                )
            )
            assert fast.armor is not None and fast.armor.armor_type == 1
            # the password went inside the armor: nothing but FAST outside
            assert all(
                p.padata_type != PA_ENC_TIMESTAMP
                for data in kdc.seen
                if data[0] == 0x6A
                for p in decode_kdc_req(data).padata
            )
            assert kdc.armored(0x6C), "kvno's TGS-REQ was not armored"
    print(results)
    assert results["has-kdc"] == results["MIT"]
    assert results["MIT"][0][0] == 0 and results["MIT"][2] is True and results["MIT"][3] == 0


def test_wrong_password_with_armor_gets_the_answer_mit_gives(sides) -> None:
    results = {}
    for name, (client, keytab, kdc) in sides.items():
        armor = armor_ccache(client, keytab)
        results[name] = outcome(client.kinit("user", "wrong-pw", "-T", str(armor), check=False))
        if kdc is not None:
            assert kdc.armored(0x6A)
    print(results)
    assert results["has-kdc"] == results["MIT"]
    assert results["MIT"][0] != 0


def test_kinit_without_armor_is_unchanged(sides) -> None:
    results = {}
    for name, (client, _, kdc) in sides.items():
        login = client.kinit("user", "user-pw", check=False)
        wrong = client.kinit("user", "wrong-pw", check=False)
        results[name] = (outcome(login), outcome(wrong))
        if kdc is not None:
            assert not kdc.armored(0x6A)
    print(results)
    assert results["has-kdc"] == results["MIT"]
    assert results["MIT"][0][0] == 0


#: python-gssapi (MIT libgssapi_krb5) both ends of one context: the initiator from the
#: ccache ``kinit -T`` left (marked fast_avail), the acceptor from KRB5_KTNAME.
GSS_SCRIPT = """
import sys, gssapi
name = gssapi.Name(sys.argv[1], gssapi.NameType.kerberos_principal)
init = gssapi.SecurityContext(name=name, usage="initiate", mech=gssapi.MechType.kerberos)
acc = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
acc.step(init.step())
assert acc.complete
print(acc.initiator_name)
"""


def test_python_gssapi_after_an_armored_kinit_armors_its_tgs_req(sides) -> None:
    results = {}
    for name, (client, keytab, kdc) in sides.items():
        armor = armor_ccache(client, keytab)
        client.kinit("user", "user-pw", "-T", str(armor))
        proc = subprocess.run(
            [sys.executable, "-c", GSS_SCRIPT, f"{HOST}@{REALM}"],
            env=dict(client.env, KRB5_KTNAME=f"FILE:{keytab}"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        results[name] = (proc.returncode, proc.stdout, proc.stderr)
        if kdc is not None:
            assert kdc.armored(0x6C), "python-gssapi's TGS-REQ was not armored"
    print(results)
    assert results["has-kdc"] == results["MIT"] == (0, f"user@{REALM}\n", "")
