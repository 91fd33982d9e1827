"""Throwaway MIT Kerberos realms and clients for interop tests, in the spirit of k5test.

MIT Kerberos is the protocol truth for has-kdc, so tests run the real tools (`kinit`,
`klist`, `kvno`, `ktutil`, `krb5kdc`) with a private configuration: every file lives
in a temp directory and every tool gets its environment from `MitClient.env`, so
nothing touches /etc/krb5.conf or the user's ccache.

- `MitClient(tmp, realm, kdcs)`: MIT client tools pointed at any KDC (ours or MIT's).
- `MitRealm(tmp, realm)`: an MIT `krb5kdc` with its own database on a free loopback
  port, plus `kadmin.local` to manage it. The pytest fixture `mit_realm` (in
  conftest.py) yields a started one and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

TOOLS = ("kinit", "klist", "kvno", "kdestroy", "ktutil")
MASTER_PASSWORD = "master-secret"


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on host (a KDC listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port found")


def find_tool(name: str) -> str:
    for d in (None, "/usr/sbin", "/usr/bin"):
        path = shutil.which(name, path=d)
        if path:
            return path
    raise FileNotFoundError(
        f"MIT Kerberos tool {name!r} not found: run scripts/bootstrap.sh "
        "(installs krb5-user, krb5-kdc, krb5-admin-server)"
    )


def render_krb5_conf(
    realm: str,
    kdcs: Iterable[str],
    *,
    libdefaults: dict[str, str] | None = None,
) -> str:
    """A krb5.conf for MIT clients: one `kdc =` line per entry, no DNS, no rDNS."""
    defaults = {
        "default_realm": realm,
        "dns_lookup_kdc": "false",
        "dns_lookup_realm": "false",
        "rdns": "false",
        "dns_canonicalize_hostname": "false",
        "ignore_acceptor_hostname": "true",
        "udp_preference_limit": "1465",
        "kdc_timesync": "0",
    }
    defaults.update(libdefaults or {})
    lines = ["[libdefaults]"]
    lines += [f"    {k} = {v}" for k, v in defaults.items()]
    lines += ["", "[realms]", f"    {realm} = {{"]
    lines += [f"        kdc = {kdc}" for kdc in kdcs]
    lines += ["    }", ""]
    return "\n".join(lines)


class MitClient:
    """MIT client tools with a private krb5.conf and ccache under ``tmp``."""

    def __init__(
        self,
        tmp: Path,
        realm: str,
        kdcs: Iterable[str],
        *,
        libdefaults: dict[str, str] | None = None,
    ) -> None:
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.realm = realm
        self.krb5_conf = self.tmp / "krb5.conf"
        self.ccache = self.tmp / "ccache"
        self.write_conf(kdcs, libdefaults=libdefaults)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin",
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5CCNAME": f"FILE:{self.ccache}",
            "KRB5_KTNAME": f"FILE:{self.tmp / 'default.keytab'}",
            "KRB5_CLIENT_KTNAME": f"FILE:{self.tmp / 'client.keytab'}",
            "KRB5RCACHEDIR": str(self.tmp),
            "KRB5_TRACE": "/dev/null",
            "LANG": "C",
        }

    def write_conf(self, kdcs: Iterable[str], *, libdefaults: dict[str, str] | None = None) -> None:
        self.krb5_conf.write_text(render_krb5_conf(self.realm, kdcs, libdefaults=libdefaults))

    def run(
        self,
        *argv: str,
        input: str | bytes | None = None,
        check: bool = True,
        timeout: float = 30,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run an MIT tool with this client's environment; output as text."""
        full_env = dict(self.env, **(env or {}))
        data = input.decode() if isinstance(input, bytes) else input
        proc = subprocess.run(
            [find_tool(argv[0]), *argv[1:]],
            input=data if data is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def kinit(
        self, principal: str, password: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """kinit with the password on stdin (MIT reads it there when stdin is no tty)."""
        return self.run("kinit", *args, principal, input=password + "\n", check=check)

    def kinit_keytab(
        self, principal: str, keytab: str | Path, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("kinit", "-k", "-t", str(keytab), *args, principal, check=check)

    def klist(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("klist", *args, check=check)

    def kvno(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("kvno", *args, check=check)

    def ktutil(
        self, commands: Sequence[str], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Feed ktutil a script of commands (one per line), ending with quit."""
        script = "\n".join([*commands, "quit", ""])
        return self.run("ktutil", input=script, check=check)


class MitRealm(MitClient):
    """An MIT KDC (`krb5kdc`) with a fresh database, on a free port of 127.0.0.1."""

    def __init__(
        self,
        tmp: Path,
        realm: str = "MIT.TEST",
        *,
        host: str = "127.0.0.1",
        supported_enctypes: str = (
            "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal "
            "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal"
        ),
        kdc_extra: dict[str, str] | None = None,
        no_db_writes: bool = True,
        port: int | None = None,
    ) -> None:
        """``no_db_writes``: MIT's [dbmodules] disable_last_success/disable_lockout, so a
        login writes nothing to the database (the fast configuration issue 10 compares
        against); False keeps MIT's default, which records every pre-authenticated login."""
        self.host = host
        # ``port``: a fixed port (e.g. 88 on a spare loopback address, for clients that
        # cannot be told another one); a free one by default.
        self.port = port if port is not None else free_port(host)
        super().__init__(tmp, realm, [f"{host}:{self.port}"])
        self.kdc_conf = self.tmp / "kdc.conf"
        realm_settings = {
            "database_name": str(self.tmp / "principal"),
            "key_stash_file": str(self.tmp / "stash"),
            "acl_file": str(self.tmp / "kadm5.acl"),
            "kdc_listen": f"{host}:{self.port}",
            "kdc_tcp_listen": f"{host}:{self.port}",
            "max_life": "24h",
            "max_renewable_life": "7d",
            "master_key_type": "aes256-cts-hmac-sha1-96",
            "supported_enctypes": supported_enctypes,
            "default_principal_flags": "+preauth",
        }
        realm_settings.update(kdc_extra or {})
        lines = [
            "[kdcdefaults]",
            f"    kdc_listen = {host}:{self.port}",
            f"    kdc_tcp_listen = {host}:{self.port}",
            "",
            "[realms]",
            f"    {realm} = {{",
        ]
        lines += [f"        {k} = {v}" for k, v in realm_settings.items()]
        lines += ["    }", ""]
        if no_db_writes:
            # kdc.conf(5): these two are read from [dbmodules], not from [realms].
            lines += [
                "[dbmodules]",
                f"    {realm} = {{",
                "        disable_last_success = true",
                "        disable_lockout = true",
                "    }",
                "",
            ]
        lines += ["[logging]", f"    kdc = FILE:{self.tmp / 'krb5kdc.log'}", ""]
        self.kdc_conf.write_text("\n".join(lines))
        (self.tmp / "kadm5.acl").write_text("")
        self.env["KRB5_KDC_PROFILE"] = str(self.kdc_conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def create(self) -> None:
        self.run("kdb5_util", "-r", self.realm, "create", "-s", "-P", MASTER_PASSWORD)

    def start(self) -> None:
        """Start krb5kdc in the foreground (-n) and wait until it answers on TCP."""
        env = dict(self.env)
        self.proc = subprocess.Popen(
            [find_tool("krb5kdc"), "-n", "-r", self.realm],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "krb5kdc.stderr", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "krb5kdc exited: " + (self.tmp / "krb5kdc.stderr").read_text(errors="replace")
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("krb5kdc did not start listening within 15 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kadmin(self, query: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """One kadmin.local query against this realm's database."""
        return self.run("kadmin.local", "-r", self.realm, "-q", query, check=check)

    def addprinc(self, name: str, password: str | None = None, *options: str) -> None:
        """Add a principal with a password, or random keys when password is None."""
        key_opt = f"-pw {password}" if password is not None else "-randkey"
        self.kadmin(f"addprinc {' '.join(options)} {key_opt} {name}")

    def ktadd(self, keytab: str | Path, name: str, *, norandkey: bool = True) -> None:
        flag = "-norandkey " if norandkey else ""
        self.kadmin(f"ktadd -k {keytab} {flag}{name}")

    def client(self, tmp: Path, **kwargs: object) -> MitClient:
        """A separate MIT client (own ccache) pointed at this KDC."""
        return MitClient(tmp, self.realm, [f"{self.host}:{self.port}"], **kwargs)  # type: ignore[arg-type]
