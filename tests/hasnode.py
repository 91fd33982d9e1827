"""A has-kdc node for tests: conf_dir, realm init, has-server and hadmin-local, for real.

``HasNode(tmp, realm, host="127.0.0.1", port=None, backend=None)`` writes
``tmp/conf/kdc.conf`` and ``backend.conf``: an SQLite file under ``tmp/data`` by default,
or the MySQL database ``backend`` names (a ``BackendConfig``, written as HAS writes
backend.conf: ``mysql_url``, ``mysql_user``, the password in ``mysql_password_file``
0600), or ``backend`` given as the literal backend.conf text. Several nodes on one
MySQL database and one port, each on its own loopback address (127.0.1.1, 127.0.1.2),
make a multi-node realm on one machine. Then:

With ``https_port`` the node is a full HAS node: ``has-server.conf`` (https_host = the
node's host, enable_conf = true, plus ``server_conf`` settings) and, through
``kdcinit <conf> certs --ca-dir <ca_dir>``, the cluster CA (shared by every node
given the same ``ca_dir``) and the node's certificate. ``https_client()`` is a
``HasHttpsClient`` for it, ``kdcinit(...)`` runs one kdcinit command.

- ``init()`` runs ``kdcinit <conf> init -p <tmp>`` (``admin_keytab`` is the result);
- ``start()`` runs ``has-server <conf> --daemon --pidfile ...``: it returns once the
  server listens; ``stop()`` sends SIGTERM and waits for the process to end;
  ``kill()`` sends SIGKILL (a crashed node);
- ``hadmin(*args, input=None, check=True)`` runs one ``hadmin-local`` command;
- ``mit_client(tmp)`` is an MIT client (tests.mitkrb.MitClient) pointed at the node.

Everything runs through the installed console scripts of the venv, as an operator
would run them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from has_kdc.backend.hosts import format_address
from has_kdc.client.has_client import HasHttpsClient, client_ssl_context
from has_kdc.conf import BackendConfig
from tests.mitkrb import MitClient, free_port

BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """The venv's console script ``name`` (has-server, kdcinit, hadmin-local)."""
    path = BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run .venv/bin/pip install -e '.[test]'")
    return str(path)


def backend_conf_text(config: BackendConfig, password_file: Path | None = None) -> str:
    """backend.conf for a MySQL ``config``, as HAS writes it (JDBC URL, Kerby class name),
    with every database host of the config and its preferred one.

    With ``password_file`` the password goes there (mode 0600) and the file is named
    by ``mysql_password_file``; otherwise it is written inline.
    """
    if config.kind != "mysql":
        return f"kdc_identity_backend = sqlite\nsqlite_path = {config.sqlite_path}\n"
    hosts = ",".join(format_address(h, p) for h, p in config.mysql_hosts)
    query = "&".join(f"{k}={v}" for k, v in config.mysql_params.items())
    lines = [
        "kdc_identity_backend = org.apache.kerby.kerberos.kdc.identitybackend.MySQLIdentityBackend",
        f"mysql_url = jdbc:mysql://{hosts}/{config.mysql_database}"
        + (f"?{query}" if query else ""),
        f"mysql_user = {config.mysql_user}",
    ]
    if config.mysql_prefer_host is not None:
        lines.append(f"mysql_prefer_host = {format_address(*config.mysql_prefer_host)}")
    if password_file is not None:
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write((config.mysql_password or "") + "\n")
        lines.append(f"mysql_password_file = {password_file}")
    else:
        lines.append(f"mysql_password = {config.mysql_password or ''}")
    return "\n".join(lines) + "\n"


class HasNode:
    """One has-kdc node on ``host:port``, UDP and TCP; SQLite unless ``backend`` is given."""

    def __init__(
        self,
        tmp: Path,
        realm: str = "HADOOP.COM",
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        kdc_extra: dict[str, str] | None = None,
        backend: BackendConfig | str | None = None,
        https_port: int | None = None,
        ca_dir: Path | None = None,
        server_conf: dict[str, str] | None = None,
    ) -> None:
        self.tmp = Path(tmp)
        self.backend = backend
        self.https_port = https_port
        self.ca_dir = Path(ca_dir) if ca_dir is not None else self.tmp / "ca"
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
        if https_port is not None:
            self.write_server_conf(server_conf)
            self.kdcinit("certs", "--ca-dir", str(self.ca_dir))

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
        if self.backend is None:
            text = f"kdc_identity_backend = sqlite\nsqlite_path = {self.data_dir / 'has.sqlite'}\n"
        elif isinstance(self.backend, str):
            text = self.backend
        else:
            text = backend_conf_text(self.backend, self.conf_dir / "mysql.password")
        (self.conf_dir / "backend.conf").write_text(text)

    def write_server_conf(self, extra: dict[str, str] | None = None) -> None:
        settings = {
            "https_host": self.host,
            "https_port": str(self.https_port),
            "filter_auth_type": "kerberos",
            "enable_conf": "true",
            **(extra or {}),
        }
        plugin = settings.pop("auth_type", "MySQL")
        lines = ["[HAS]", *(f"  {k} = {v}" for k, v in settings.items())]
        lines += ["", "[PLUGIN]", f"  auth_type = {plugin}", ""]
        (self.conf_dir / "has-server.conf").write_text("\n".join(lines))

    @property
    def ca_file(self) -> Path:
        return self.conf_dir / "ca-root.pem"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.https_port}/has/v1"

    def https_client(self, **kwargs: object) -> HasHttpsClient:
        """A HAS HTTPS client for this node, trusting the cluster CA."""
        return HasHttpsClient([self.base_url], client_ssl_context(self.ca_file), **kwargs)  # type: ignore[arg-type]

    def kdcinit(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("kdcinit", *args, input=input, check=check)

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

    def kill(self) -> None:
        """SIGKILL the server (a crash: no clean-up, the pidfile stays) and wait for it."""
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        self.pidfile.unlink(missing_ok=True)

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def kdc_address(self) -> str:
        return f"{self.host}:{self.port}"

    def mit_client(self, tmp: Path, **kwargs: object) -> MitClient:
        """MIT client tools (own krb5.conf and ccache under ``tmp``) pointed at this node."""
        return MitClient(tmp, self.realm, [self.kdc_address()], **kwargs)  # type: ignore[arg-type]
