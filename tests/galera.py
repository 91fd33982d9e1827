"""A throwaway Galera cluster for tests: several ``mariadbd`` on 127.0.0.1, one datadir each.

The real thing, as MariaDB ships it (Debian ``galera-4``, pulled in by
``mariadb-server``): every node is a ``tests.mariadb.MariaDb`` with its own datadir,
socket, SQL port and Galera ports (group communication, IST, SST), started with
``--no-defaults`` and the wsrep settings of a production node. What this machine
taught about running one:

- **rsync SST needs an unprivileged server.** ``wsrep_sst_rsync`` refuses to run as
  root, so as root the nodes run as ``mysql`` (``--user=mysql``), in a directory of
  their own under /var/tmp that ``mysql`` can reach (pytest's temporary directories are
  private to root). Not as root, they run as the current user.
- **Joining takes seconds.** The first node bootstraps (``--wsrep-new-cluster``), the
  others join one at a time by SST from it: three Synced nodes in 12-15 s.
- **Losing a node stalls writes** until the others declare it gone:
  ``evs.suspect_timeout=PT3S`` with ``evs.inactive_timeout=PT6S`` makes that about 4 s
  (the defaults give 5-6 s). Reads are not stalled.
- **After SIGKILL of every node**, every ``grastate.dat`` says ``seqno: -1`` and
  ``safe_to_bootstrap: 0``: ``recover()`` runs ``mariadbd --wsrep-recover`` on each,
  bootstraps the most advanced one and lets the others join, as an operator would.

``GaleraCluster(size)``: ``start()``, ``kill(i)`` (SIGKILL), ``stop(i)``,
``start_node(i)`` (rejoin through IST), ``status(i)`` (wsrep status variables),
``wait_synced()``, ``bootstrap_survivor(i)`` (``pc.bootstrap`` on the node left of a
cluster that lost quorum), ``recover()``, ``create_database(name, user, password)`` and
``close()``. ``url(database)`` is the multi-host JDBC URL HAS nodes are given.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

from tests.mariadb import MariaDb, find_server_tool, free_tcp_port

PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
CLUSTER_NAME = "has-kdc-test"
# How fast a lost node is declared gone (see the module docstring); the role's default.
EVS_TIMEOUTS = "evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S"
_RECOVERED = re.compile(r"WSREP: Recovered position: ([0-9a-f-]{36}):(-?\d+)")


def galera_available() -> str | None:
    """Why a Galera cluster cannot run here, or None when it can."""
    if not PROVIDER.exists():
        return (
            f"{PROVIDER} missing: install galera-4 (scripts/bootstrap.sh installs mariadb-server)"
        )
    if shutil.which("rsync") is None:
        return "rsync missing (needed for SST)"
    try:
        find_server_tool("mariadbd", "mysqld")
    except FileNotFoundError as exc:
        return str(exc)
    if os.geteuid() == 0 and not os.stat("/dev/null").st_mode & 0o002:
        # seen on a shared machine: the SST scripts, run as mysql, then fail obscurely
        return "/dev/null is not writable by other users (chmod 666 /dev/null): rsync SST needs it"
    return None


class GaleraNode(MariaDb):
    """One cluster member: a ``MariaDb`` with wsrep settings and Galera ports of its own."""

    def __init__(self, tmp: Path, name: str, owner: str | None) -> None:
        super().__init__(tmp)
        self.name = name
        self.owner = owner
        self.gcomm_port = free_tcp_port()
        self.ist_port = free_tcp_port()
        self.sst_port = free_tcp_port()
        self.cluster_address = ""
        self.new_cluster = False

    @property
    def gcomm(self) -> str:
        return f"{self.host}:{self.gcomm_port}"

    def _as_root(self) -> list[str]:
        return [f"--user={self.owner}"] if self.owner else []

    def wsrep_args(self, *, new_cluster: bool) -> tuple[str, ...]:
        options = ";".join(
            (
                f"gmcast.listen_addr=tcp://{self.host}:{self.gcomm_port}",
                f"ist.recv_addr={self.host}:{self.ist_port}",
                "gcache.size=16M",
                EVS_TIMEOUTS,
            )
        )
        args = (
            "--wsrep-on=ON",
            f"--wsrep-provider={PROVIDER}",
            f"--wsrep-cluster-name={CLUSTER_NAME}",
            f"--wsrep-cluster-address=gcomm://{self.cluster_address}",
            f"--wsrep-node-name={self.name}",
            f"--wsrep-node-address={self.host}",
            f"--wsrep-node-incoming-address={self.host}:{self.port}",
            "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address={self.host}:{self.sst_port}",
            f"--wsrep-provider-options={options}",
            "--binlog-format=ROW",
            "--innodb-autoinc-lock-mode=2",
            "--default-storage-engine=InnoDB",
        )
        return (*args, "--wsrep-new-cluster") if new_cluster else args

    def start(self, timeout: float = 90.0) -> None:
        self.extra_args = self.wsrep_args(new_cluster=self.new_cluster)
        if self.owner:
            _chown_tree(self.tmp, self.owner)
        super().start(timeout)

    def install(self) -> None:
        super().install()
        if self.owner:
            _chown_tree(self.tmp, self.owner)

    def status(self) -> dict[str, str]:
        """The node's ``wsrep_%`` status variables (empty when it does not answer)."""
        try:
            rows = self.query("SHOW GLOBAL STATUS LIKE 'wsrep%%'")
        except pymysql.err.MySQLError:
            return {}
        return {str(k): str(v) for k, v in rows}

    def synced(self) -> bool:
        state = self.status()
        return (
            state.get("wsrep_local_state_comment") == "Synced"
            and state.get("wsrep_cluster_status") == "Primary"
        )

    def grastate(self) -> dict[str, str]:
        try:
            text = (self.datadir / "grastate.dat").read_text()
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and not key.startswith("#"):
                out[key.strip()] = value.strip()
        return out

    def recovered_seqno(self) -> int:
        """``mariadbd --wsrep-recover``: the last committed seqno in this datadir."""
        log = self.tmp / "wsrep-recover.log"
        log.unlink(missing_ok=True)
        proc = subprocess.run(
            [
                find_server_tool("mariadbd", "mysqld"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--log-error={log}",
                f"--pid-file={self.tmp / 'recover.pid'}",
                *self._as_root(),
                "--innodb-use-native-aio=0",
                "--skip-networking",
                *self.wsrep_args(new_cluster=False),
                "--wsrep-recover",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        try:
            found = _RECOVERED.findall(log.read_text(errors="replace"))
        except OSError:
            found = []
        if not found:
            raise RuntimeError(
                f"{self.name}: --wsrep-recover found no position (exit {proc.returncode}):\n"
                f"{proc.stderr.decode(errors='replace')[-2000:]}"
            )
        return int(found[-1][1])

    def allow_bootstrap(self) -> None:
        """Mark this datadir safe to bootstrap from (what an operator edits by hand)."""
        path = self.datadir / "grastate.dat"
        text = path.read_text()
        path.write_text(re.sub(r"safe_to_bootstrap:\s*\d", "safe_to_bootstrap: 1", text))


class GaleraCluster:
    """``size`` Galera nodes on 127.0.0.1; everything under one directory, removed by close()."""

    def __init__(self, size: int = 3) -> None:
        reason = galera_available()
        if reason:
            raise RuntimeError(reason)
        owner = None
        if os.geteuid() == 0:
            owner = "mysql"
            pwd.getpwnam(owner)  # KeyError: no such user (the mariadb-server package makes it)
        self.base = Path(tempfile.mkdtemp(prefix="has-galera-", dir="/var/tmp"))
        self.base.chmod(0o755)
        self.nodes = [
            GaleraNode(self.base / f"db{i + 1}", f"db{i + 1}", owner) for i in range(size)
        ]
        members = ",".join(node.gcomm for node in self.nodes)
        for node in self.nodes:
            node.cluster_address = members

    # ------------------------------------------------------------------ lifetime

    def start(self) -> None:
        """Bootstrap the first node, then let the others join one at a time."""
        self.bootstrap(0)
        for i in range(1, len(self.nodes)):
            self.start_node(i)

    def bootstrap(self, index: int) -> None:
        """Start node ``index`` as a new Primary component (its data is the cluster's)."""
        node = self.nodes[index]
        node.new_cluster = True
        try:
            node.start()
        finally:
            node.new_cluster = False
        self.wait_synced([index])

    def start_node(self, index: int, timeout: float = 90.0) -> None:
        """Start (or restart) node ``index`` as a joiner; returns once it is Synced."""
        node = self.nodes[index]
        node.new_cluster = False
        node.start(timeout)
        self.wait_synced([index], timeout)

    def kill(self, index: int) -> None:
        self.nodes[index].kill()

    def stop(self, index: int) -> None:
        self.nodes[index].stop()

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------ state

    def status(self, index: int) -> dict[str, str]:
        return self.nodes[index].status()

    def running(self) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if node.running]

    def wait_synced(self, indexes: list[int] | None = None, timeout: float = 90.0) -> float:
        """Seconds until the given nodes (default: the running ones) are Synced in a Primary
        component of the size of the running nodes."""
        wanted = self.running() if indexes is None else indexes
        started = time.monotonic()
        while True:
            size = str(len(self.running()))
            states = [self.nodes[i].status() for i in wanted]
            if all(
                s.get("wsrep_local_state_comment") == "Synced"
                and s.get("wsrep_cluster_status") == "Primary"
                and s.get("wsrep_cluster_size") == size
                for s in states
            ):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                detail = {
                    self.nodes[i].name: (
                        s.get("wsrep_local_state_comment"),
                        s.get("wsrep_cluster_status"),
                        s.get("wsrep_cluster_size"),
                    )
                    for i, s in zip(wanted, states, strict=True)
                }
                raise RuntimeError(f"cluster not Synced after {timeout} s: {detail}")
            time.sleep(0.2)

    # ------------------------------------------------------------------ repairs

    def bootstrap_survivor(self, index: int) -> None:
        """Make the node left of a cluster without quorum a Primary component again."""
        self.nodes[index].execute("SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'")
        self.wait_synced([index])

    def recover(self) -> tuple[int, dict[str, int]]:
        """After every node died: bootstrap the most advanced one, join the others.

        Returns (index bootstrapped, seqno recovered per node).
        """
        positions = {node.name: node.recovered_seqno() for node in self.nodes}
        best = max(range(len(self.nodes)), key=lambda i: positions[self.nodes[i].name])
        self.nodes[best].allow_bootstrap()
        self.bootstrap(best)
        for i in range(len(self.nodes)):
            if i != best:
                self.start_node(i)
        return best, positions

    # ------------------------------------------------------------------ data

    def create_database(self, name: str, user: str, password: str) -> None:
        """A database and its user, made on one node (Galera replicates both)."""
        first = self.nodes[self.running()[0]]
        first.create_database(name, user, password)

    def drop_database(self, name: str) -> None:
        self.nodes[self.running()[0]].drop_database(name)

    def url(self, database: str, order: list[int] | None = None) -> str:
        """``jdbc:mysql://h1:p1,h2:p2,h3:p3/database``, in ``order`` (default: as numbered)."""
        indexes = order if order is not None else list(range(len(self.nodes)))
        hosts = ",".join(f"{self.nodes[i].host}:{self.nodes[i].port}" for i in indexes)
        return f"jdbc:mysql://{hosts}/{database}"


def _chown_tree(path: Path, owner: str) -> None:
    entry = pwd.getpwnam(owner)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
