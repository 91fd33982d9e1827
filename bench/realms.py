"""The two KDCs under test, each in a throwaway realm with the same principals.

- ``MitKdc``: MIT ``krb5kdc`` through ``tests.mitkrb.MitRealm`` (its own database,
  kdc.conf and log under a temp directory, 127.0.0.1 on a free port).
  ``tuned=True`` keeps MitRealm's ``disable_last_success``/``disable_lockout`` (no
  database write per login, the configuration issue 10 compares against);
  ``tuned=False`` sets both back to MIT's defaults.
- ``HasKdc``: ``has-server`` through ``tests.hasnode.HasNode`` (conf_dir, SQLite
  file, ``kdcinit init``), restartable with a different ``--workers``.

Both get: the user (a password, so keys in every configured enctype including
aes256-cts-hmac-sha1-96), a service principal (random keys), and ``fillers``
principals ``fillerNNNNNN`` with random keys requiring pre-authentication. Fillers
are created in bulk, not one admin command each: MIT by ``kdb5_util load`` of its
own dump with the filler line repeated under new names (the same key for all,
encrypted under the realm's master key, which the benchmark does not need to
differ); has-kdc by one backend transaction of ``add_principal`` calls.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from has_kdc.admin import random_keys
from has_kdc.backend import Principal, open_backend
from has_kdc.conf import load_conf_dir
from tests.hasnode import HasNode, script
from tests.mitkrb import MitRealm

__all__ = ["BenchPrincipals", "HasKdc", "MitKdc", "filler_name"]

#: MIT's dump-format attribute bit for REQUIRES_PRE_AUTH (kdb.h KRB5_KDB_REQUIRES_PRE_AUTH).
_MIT_REQUIRES_PRE_AUTH = 0x80
#: The enctypes both realms are configured with (MIT's names, has-kdc numbers).
MIT_ENCTYPES = (
    "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal "
    "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal"
)
HAS_ENCTYPES = (18, 17, 20, 19)


@dataclass(frozen=True)
class BenchPrincipals:
    """Who exists in every benchmark realm (the password is a throwaway's)."""

    realm: str = "BENCH.TEST"
    user: str = "user"
    password: str = "bench-user-pw"
    service: str = "host/svc.bench.test"
    unknown: str = "nobody-here"
    fillers: int = 100


def filler_name(index: int) -> str:
    return f"filler{index:06d}"


class MitKdc:
    """MIT krb5kdc with the benchmark principals."""

    name = "MIT krb5kdc"

    def __init__(self, tmp: Path, principals: BenchPrincipals, *, tuned: bool = True) -> None:
        self.principals = principals
        self.tmp = Path(tmp)
        self.tuned = tuned
        self.realm = MitRealm(
            self.tmp, principals.realm, supported_enctypes=MIT_ENCTYPES, no_db_writes=tuned
        )
        self.host, self.port = self.realm.host, self.realm.port

    def create(self) -> None:
        p = self.principals
        self.realm.create()
        self.realm.addprinc(p.user, p.password)
        self.realm.addprinc(p.service)
        if p.fillers:
            self._add_fillers(p.fillers)

    def _add_fillers(self, count: int) -> None:
        """Dump, repeat the first filler's record under new names, load it back."""
        first = filler_name(0)
        self.realm.addprinc(first)
        dump = self.tmp / "bench.dump"
        self.realm.run("kdb5_util", "-r", self.realm.realm, "dump", str(dump))
        lines = dump.read_text().splitlines(keepends=True)
        full = f"{first}@{self.realm.realm}"
        template = next(line for line in lines if line.split("\t")[6:7] == [full])
        fields = template.split("\t")
        fields[7] = str(int(fields[7]) | _MIT_REQUIRES_PRE_AUTH)
        with dump.open("a") as out:
            for index in range(1, count):
                name = f"{filler_name(index)}@{self.realm.realm}"
                fields[2], fields[6] = str(len(name.encode())), name
                out.write("\t".join(fields))
        self.realm.run("kdb5_util", "-r", self.realm.realm, "load", str(dump), timeout=600)
        dump.unlink()

    def start(self, workers: int = 1) -> None:
        if workers != 1:
            raise ValueError("the MIT side runs as MIT ships it: one krb5kdc process")
        self.realm.start()

    def stop(self) -> None:
        self.realm.stop()

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.tmp / "krb5kdc.stderr", lines) + _tail(self.tmp / "krb5kdc.log", lines)


class HasKdc:
    """has-server (SQLite backend) with the benchmark principals."""

    name = "has-kdc"

    def __init__(self, tmp: Path, principals: BenchPrincipals) -> None:
        self.principals = principals
        self.tmp = Path(tmp)
        self.node = HasNode(self.tmp, principals.realm)
        self.host, self.port = self.node.host, self.node.port
        self.workers = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def create(self) -> None:
        p = self.principals
        self.node.init()
        self.node.hadmin("addprinc", "-pw", p.password, p.user)
        self.node.hadmin("addprinc", "-randkey", p.service)
        if p.fillers:
            self._add_fillers(p.fillers)

    def _add_fillers(self, count: int) -> None:
        """One transaction of ``add_principal`` through the store API, as an import would."""
        conf = load_conf_dir(self.node.conf_dir)
        keys = random_keys(HAS_ENCTYPES, 1)
        realm = self.principals.realm
        with open_backend(conf.backend) as backend, backend.transaction():
            for index in range(count):
                backend.add_principal(
                    Principal(name=f"{filler_name(index)}@{realm}", kvno=1, keys=list(keys))
                )

    def start(self, workers: int = 1) -> None:
        """``has-server <conf_dir> --workers N`` in the foreground, as a child of ours.

        Ready when it has written its pidfile (it does so once every worker listens).
        Not ``--daemon``: its readiness pipe is inherited by forked workers, so the
        launching parent waits for an end of file that never comes when N > 1.
        """
        node = self.node
        node.pidfile.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [
                script("has-server"),
                str(node.conf_dir),
                "--workers",
                str(workers),
                "--pidfile",
                str(node.pidfile),
                "--log-file",
                str(node.log_file),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "has-server.stderr", "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while not node.pidfile.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"has-server exited {self.proc.returncode} before listening: "
                    + (self.tmp / "has-server.stderr").read_text(errors="replace")[-2000:]
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("has-server did not start listening within 30 s")
            time.sleep(0.05)
        self.workers = workers

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        self.workers = 0
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.tmp / "has-server.stderr", lines) + _tail(self.node.log_file, lines)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "".join(f"{path.name}: {line}\n" for line in text[-lines:])


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
