"""has_pki and has_node_cert as Ansible runs them: ad hoc on this host, temp directories.

The CA directory and the node directory stand for the two hosts of the role's flow
(roles/has_server/tasks/pki.yml): the node makes its key and a CSR, the CA node signs
it, the node installs the certificate. What crosses between them here is exactly what
crosses between hosts there: the module results (CA certificate, CSR, certificate).
"""

from __future__ import annotations

import datetime as dt
import grp
import json
import os
import pwd
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from has_kdc.pki import key_sha256, load_certificate
from tests.ansible_env import ansible_env

REPO = Path(__file__).resolve().parent.parent
ANSIBLE = Path(sys.executable).parent / "ansible"
NODE = "emr-worker-1"
NAMES = {"dns_names": [NODE], "ip_addresses": ["127.0.3.2"]}
OWNER = {
    "key_owner": pwd.getpwuid(os.getuid()).pw_name,
    "group": grp.getgrgid(os.getgid()).gr_name,
}


@dataclass
class Result:
    data: dict
    output: str

    def __getitem__(self, key: str) -> object:
        return self.data[key]


class Hosts:
    """A CA directory and a node directory, and every module output seen."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.ca_dir = base / "ca"
        self.tls_dir = base / "node" / "tls"
        self.outputs: list[str] = []
        self.validity: dict[str, int] = {}  # has_pki's validity_days, when not the default

    def run(self, module: str, args: dict, *flags: str, ok: bool = True) -> Result:
        argv = [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local"]
        argv += ["-e", f"ansible_python_interpreter={sys.executable}"]
        argv += ["-m", module, "-a", json.dumps(args), *flags]
        env = ansible_env(self.base)
        proc = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        output = proc.stdout + proc.stderr
        self.outputs.append(output)
        match = re.search(r"^localhost \| (\w+!?) => (\{.*\})\s*$", proc.stdout, re.S | re.M)
        assert match, f"{argv}: {output[-3000:]}"
        data = json.loads(match[2])
        data["failed"] = match[1] == "FAILED!"
        if ok:
            assert not data["failed"], f"{module} failed: {data.get('msg')}"
        return Result(data, output)

    def keep_ca(self, *flags: str) -> Result:
        return self.run("has_pki", {"ca_dir": str(self.ca_dir)}, *flags)

    def request(self, ca_cert: str, *flags: str, **extra: object) -> Result:
        args = {"tls_dir": str(self.tls_dir), "ca_cert": ca_cert, **NAMES, **OWNER, **extra}
        return self.run("has_node_cert", args, *flags)

    def sign(self, csr: str, *flags: str, ok: bool = True, **extra: object) -> Result:
        args = {"ca_dir": str(self.ca_dir), "csr": csr, **NAMES, **extra}
        return self.run("has_pki", args, *flags, ok=ok)

    def install(self, ca_cert: str, certificate: str, *flags: str, ok: bool = True) -> Result:
        args = {
            "tls_dir": str(self.tls_dir),
            "ca_cert": ca_cert,
            "certificate": certificate,
            **NAMES,
            **OWNER,
        }
        return self.run("has_node_cert", args, *flags, ok=ok)

    def converge(self, **request: object) -> dict[str, Result]:
        """The role's four steps; the sign and install steps only when the node asked."""
        steps = {"ca": self.keep_ca()}
        ca_cert = str(steps["ca"]["ca_cert"])
        steps["request"] = self.request(ca_cert, **request)
        if steps["request"]["requested"]:
            steps["sign"] = self.sign(str(steps["request"]["csr"]), **self.validity)
            steps["install"] = self.install(ca_cert, str(steps["sign"]["certificate"]))
        return steps

    def tree(self) -> list[str]:
        found = []
        for path in sorted(self.base.rglob("*")):
            if "ansible-tmp" in path.parts:
                continue
            st = path.lstat()
            found.append(f"{path.relative_to(self.base)} {oct(st.st_mode)} {st.st_mtime_ns}")
        return found

    def secrets(self) -> list[bytes]:
        """Every private key on both hosts, as the base64 lines of its PEM."""
        keys = [*self.ca_dir.rglob("*.key"), *self.tls_dir.rglob("*.key")]
        return [line for k in keys for line in k.read_bytes().splitlines() if b"-----" not in line]


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    """The two directories; after the test, no output of any run may hold a private key."""
    h = Hosts(tmp_path)
    yield h
    text = "\n".join(h.outputs)
    assert "PRIVATE KEY" not in text
    for line in h.secrets():
        assert line.decode() not in text, "a line of a private key is in the output"


def test_first_run_makes_the_key_on_the_node_and_a_rerun_changes_nothing(hosts: Hosts) -> None:
    steps = hosts.converge()
    assert all(step.data["changed"] for step in steps.values()), "first run: all four change"
    csr = str(steps["request"]["csr"])
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    # the CA directory has the CA's pair only; the node's key is on the node only
    assert sorted(p.name for p in hosts.ca_dir.iterdir()) == ["ca-root.key", "ca-root.pem"]
    assert sorted(p.name for p in hosts.tls_dir.iterdir()) == [
        "ca-root.pem",
        "server.key",
        "server.pem",
    ]
    assert (hosts.tls_dir / "server.key").stat().st_mode & 0o777 == 0o600
    cert = load_certificate(hosts.tls_dir / "server.pem")
    assert key_sha256(cert.public_key()) == steps["request"]["key_sha256"]
    assert steps["install"]["serial"] == steps["sign"]["serial"]

    again = hosts.converge()
    assert set(again) == {"ca", "request"}, "a valid certificate is not signed again"
    assert not again["ca"].data["changed"] and not again["request"].data["changed"]
    assert again["request"]["requested"] is False
    assert load_certificate(hosts.tls_dir / "server.pem") == cert

    before = hosts.tree()
    checked = hosts.request(str(again["ca"]["ca_cert"]), "--check", "--diff")
    assert checked.data["changed"] is False and "--- before" not in checked.output
    assert hosts.tree() == before


def test_check_mode_predicts_the_first_run_and_writes_nothing(hosts: Hosts) -> None:
    ca = hosts.keep_ca("--check", "--diff")
    assert ca.data["changed"] and ca["ca_created"] and ca["ca_cert"] == ""
    request = hosts.request("", "--check", "--diff")
    assert request.data["changed"] and request["requested"] and request["csr"] == ""
    signed = hosts.sign("", "--check", "--diff")
    assert signed.data["changed"] and signed["signed"] and signed["certificate"] == ""
    installed = hosts.install("", "", "--check", "--diff")
    assert installed.data["changed"]
    assert hosts.tree() == [], "check mode wrote files"


def test_check_mode_on_a_drifted_node_predicts_exactly_the_real_run(hosts: Hosts) -> None:
    hosts.converge()
    ca_cert = str(hosts.keep_ca()["ca_cert"])
    (hosts.tls_dir / "ca-root.pem").write_text("stale\n")
    before = hosts.tree()
    predicted = hosts.request(ca_cert, "--check", "--diff")
    assert hosts.tree() == before
    assert predicted.data["changed"] and predicted["requested"] is False
    assert "-stale" in predicted.output and "+-----BEGIN CERTIFICATE-----" in predicted.output
    real = hosts.request(ca_cert)
    assert real.data["changed"] and real["requested"] is False
    assert (hosts.tls_dir / "ca-root.pem").read_text() == ca_cert


def test_a_short_lived_certificate_is_renewed_by_a_rerun(hosts: Hosts) -> None:
    hosts.validity = {"validity_days": 1}
    first = hosts.converge()
    short = load_certificate(hosts.tls_dir / "server.pem")
    assert short.not_valid_after_utc - dt.datetime.now(dt.UTC) < dt.timedelta(days=1)
    ca_cert = str(first["ca"]["ca_cert"])
    # no renewal window: the one-day certificate stays
    assert hosts.request(ca_cert, renew_before_days=0)["requested"] is False

    hosts.validity = {}
    before = hosts.tree()
    predicted = hosts.request(ca_cert, "--check", "--diff", "-vvv")
    assert predicted["requested"] and "within the renewal window" in str(predicted["reason"])
    assert hosts.tree() == before, "check mode made a key"
    renewed = hosts.converge()
    assert "within the renewal window (30 days before the end)" in str(renewed["request"]["reason"])
    assert set(renewed) == {"ca", "request", "sign", "install"}
    new = load_certificate(hosts.tls_dir / "server.pem")
    assert new.serial_number != short.serial_number
    assert key_sha256(new.public_key()) != key_sha256(short.public_key()), "new key"
    assert new.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=800)
    assert not (hosts.tls_dir / "server-next.key").exists()
    assert set(hosts.converge()) == {"ca", "request"}, "renewed once, then kept"


def test_keys_made_on_the_ca_node_by_earlier_versions_are_replaced(hosts: Hosts) -> None:
    """The layout earlier versions left: ca_dir/issued/<node> holds the node's key and cert."""
    hosts.converge()
    legacy = hosts.ca_dir / "issued" / NODE
    legacy.mkdir(parents=True)
    for name in ("server.pem", "server.key", "ca-root.pem"):
        (legacy / name).write_bytes((hosts.tls_dir / name).read_bytes())
    old = key_sha256(load_certificate(hosts.tls_dir / "server.pem").public_key())

    ca = hosts.keep_ca()
    assert ca["node_keys"] == {NODE: old}
    assert hosts.request(str(ca["ca_cert"]))["requested"] is False, "kept unless retired"
    steps = hosts.converge(retired_keys=[old])
    assert "made on the CA node" in str(steps["request"]["reason"])
    new = key_sha256(load_certificate(hosts.tls_dir / "server.pem").public_key())
    assert new != old
    assert hosts.request(str(ca["ca_cert"]), retired_keys=[old])["requested"] is False


def test_the_ca_refuses_a_csr_for_other_names(hosts: Hosts) -> None:
    ca_cert = str(hosts.keep_ca()["ca_cert"])
    csr = str(hosts.request(ca_cert)["csr"])
    refused = hosts.sign(csr, ok=False, dns_names=["emr-header-1"])
    assert refused["failed"]
    assert (
        "the CSR asks for emr-worker-1, 127.0.3.2; this node's certificate is for emr-header-1"
        in str(refused["msg"])
    )
    empty = hosts.install(ca_cert, "", ok=False)
    assert "the CA node signed nothing for this node" in str(empty["msg"])
    assert not (hosts.tls_dir / "server.pem").exists()
