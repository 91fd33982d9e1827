"""A throwaway MariaDB server for tests: own datadir, socket and port; no systemd, no /etc.

The MySQL backend is only worth what it does against a real server, so tests start
Debian's ``mariadbd`` (package mariadb-server, installed by scripts/bootstrap.sh)
with ``--no-defaults``: nothing is read from /etc/mysql, nothing listens beyond
127.0.0.1, and the whole server lives in one temp directory.

- ``MariaDb(tmp)``: ``start()`` (initializes the datadir the first time),
  ``stop()``, ``kill()`` (SIGKILL, a crash), ``pause()``/``resume()`` (SIGSTOP/
  SIGCONT, a hung server), ``restart()`` (same port and datadir), and
  ``create_database(name, user, password)`` for a database with its own user.
- Administration goes over the unix socket as root, which
  ``--auth-root-authentication-method=normal`` leaves without a password; the
  backend under test connects over TCP with a real user and password, as a HAS
  node would.

The session fixture ``mariadb`` and the per-test ``mysql_backend_config`` live in
conftest.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

# Small buffers and a relaxed flush keep start-up and tests fast; a SIGKILL of the
# server (not of the machine) still loses no committed transaction with flush=2.
_SERVER_OPTIONS = (
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=2",
    "--innodb-use-native-aio=0",  # containers often refuse io_setup()
    "--skip-name-resolve",
    "--skip-log-bin",
    "--max-connections=300",
    "--loose-skip-feedback",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_bin",
)
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def find_server_tool(*names: str) -> str:
    for name in names:
        for directory in (None, "/usr/sbin", "/usr/bin"):
            path = shutil.which(name, path=directory)
            if path:
                return path
    raise FileNotFoundError(
        f"MariaDB server tool {names[0]!r} not found: run scripts/bootstrap.sh "
        "(installs mariadb-server)"
    )


def _stopped(stat: Path) -> bool:
    """Whether the thread whose /proc stat file this is has stopped (or is gone)."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (FileNotFoundError, ProcessLookupError):
        return True


class MariaDb:
    """One ``mariadbd`` on 127.0.0.1 and a free port, with everything under ``tmp``."""

    def __init__(self, tmp: Path, *, host: str = "127.0.0.1", extra_args: tuple[str, ...] = ()):
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = free_tcp_port(host)
        self.datadir = self.tmp / "data"
        self.error_log = self.tmp / "mariadbd.err"
        self.pid_file = self.tmp / "mariadbd.pid"
        socket_path = self.tmp / "mariadbd.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            socket_path = Path(tempfile.mkdtemp(prefix="mdb-")) / "sock"
        self.socket = socket_path
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ lifetime

    def _as_root(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        """Create the system tables in a fresh datadir (``mariadb-install-db``)."""
        tool = find_server_tool("mariadb-install-db", "mysql_install_db")
        proc = subprocess.run(
            [
                tool,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._as_root(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (installing the datadir first if needed); wait until it answers."""
        if not (self.datadir / "mysql").is_dir():
            self.install()
        server = find_server_tool("mariadbd", "mysqld")
        self.proc = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                f"--bind-address={self.host}",
                f"--pid-file={self.pid_file}",
                f"--log-error={self.error_log}",
                *self._as_root(),
                *_SERVER_OPTIONS,
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                self.admin().close()
                return
            except pymysql.err.MySQLError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"mariadbd did not accept connections within {timeout} s")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown; InnoDB recovers at the next start."""
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """A hung server: the process stops (SIGSTOP) with its sockets open."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)
            # kill() returns before every thread has stopped: a thread running on the
            # other core can still answer one query. Wait until the kernel says stopped.
            tasks = Path(f"/proc/{self.proc.pid}/task")
            deadline = time.monotonic() + 5
            while not all(_stopped(task / "stat") for task in tasks.iterdir()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mariadbd {self.proc.pid} did not stop")
                time.sleep(0.01)

    def resume(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """Start again on the same port and datadir (after ``stop()`` or ``kill()``)."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    # ------------------------------------------------------------------ administration

    def admin(self) -> pymysql.connections.Connection:
        """A root connection over the unix socket, autocommit on."""
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            autocommit=True,
            connect_timeout=2,
            read_timeout=30,
            charset="utf8mb4",
        )

    def execute(self, *statements: str) -> list[tuple]:
        """Run statements as root; returns the rows of the last one."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                rows: list[tuple] = []
                for statement in statements:
                    cur.execute(statement)
                    rows = list(cur.fetchall())
                return rows
        finally:
            conn.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of one parameterized statement, run as root."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def create_database(self, name: str, user: str, password: str) -> None:
        """A database and a user that may do anything in it (and nothing elsewhere)."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
                cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
                cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@'%%'", (user,))
        finally:
            conn.close()

    def create_user(self, user: str, password: str, *grants: str) -> None:
        """A user with only the given global privileges (e.g. ``CREATE``)."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
                for grant in grants:
                    cur.execute(f"GRANT {grant.replace('%', '%%')} TO %s@'%%'", (user,))
        finally:
            conn.close()

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS `{name}`")
