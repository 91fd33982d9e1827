"""A has-kdc node for tests: conf_dir, realm init, has-server and hadmin-local, for real.

``HasNode(tmp, realm, host="127.0.0.1", port=None)`` writes ``tmp/conf/kdc.conf`` (and
``backend.conf`` naming an SQLite file under ``tmp/data``), then:

- ``init()`` runs ``kdcinit <conf> init -p <tmp>`` (``admin_keytab`` is the result);
- ``start()`` runs ``has-server <conf> --daemon --pidfile ...``: it returns once the
  server listens; ``stop()`` sends SIGTERM and waits for the process to end;
- ``hadmin(*args, input=None, check=True)`` runs one ``hadmin-local`` command;
- ``mit_client(tmp)`` is an MIT client (tests.mitkrb.MitClient) pointed at the node.

Everything runs through the installed console scripts of the venv, as an operator
would run them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.mitkrb import MitClient, free_port

BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """The venv's console script ``name`` (has-server, kdcinit, hadmin-local)."""
    path = BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run .venv/bin/pip install -e '.[test]'")
    return str(path)


class HasNode:
    """One has-kdc node (SQLite backend) on ``host:port``, UDP and TCP."""

    def __init__(
        self,
        tmp: Path,
        realm: str = "HADOOP.COM",
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        kdc_extra: dict[str, str] | None = None,
    ) -> None:
        self.tmp = Path(tmp)
        self.realm = realm
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.conf_dir = self.tmp / "conf"
        self.data_dir = self.tmp / "data"
        self.pidfile = self.tmp / "has-server.pid"
        self.log_file = self.tmp / "has-server.log"
        self.admin_keytab = self.tmp / "admin.keytab"
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.write_conf(kdc_extra)

    def write_conf(self, kdc_extra: dict[str, str] | None = None) -> None:
        settings = {
            "kdc_host": self.host,
            "kdc_udp_port": str(self.port),
            "kdc_tcp_port": str(self.port),
            "kdc_realm": self.realm,
            "data_dir": str(self.data_dir),
            **(kdc_extra or {}),
        }
        lines = ["[kdcdefaults]", *(f"  {k} = {v}" for k, v in settings.items()), ""]
        (self.conf_dir / "kdc.conf").write_text("\n".join(lines))
        (self.conf_dir / "backend.conf").write_text(
            f"kdc_identity_backend = sqlite\nsqlite_path = {self.data_dir / 'has.sqlite'}\n"
        )

    def run(
        self, name: str, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [script(name), str(self.conf_dir), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{name} {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def init(self) -> subprocess.CompletedProcess[str]:
        return self.run("kdcinit", "init", "-p", str(self.tmp))

    def hadmin(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("hadmin-local", *args, input=input, check=check)

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, *extra: str) -> None:
        """Start has-server as a daemon; returns once it listens (its parent says so)."""
        self.run(
            "has-server",
            "--daemon",
            "--pidfile",
            str(self.pidfile),
            "--log-file",
            str(self.log_file),
            *extra,
        )

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the server and wait until the process is gone."""
        pid = self.pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        raise AssertionError(f"has-server (pid {pid}) ignored SIGTERM for {timeout} s")

    def kdc_address(self) -> str:
        return f"{self.host}:{self.port}"

    def mit_client(self, tmp: Path, **kwargs: object) -> MitClient:
        """MIT client tools (own krb5.conf and ccache under ``tmp``) pointed at this node."""
        return MitClient(tmp, self.realm, [self.kdc_address()], **kwargs)  # type: ignore[arg-type]
