"""``login-test``: check that users can log in — one TGT over HTTPS, or a keytab load test.

HAS's ``login-test.sh`` (has-tool ``HasClientLoginTool``) has two modes:

- ``login-test tgt <conf_dir> <plugin_type>``: obtain a TGT through the HAS server
  with the client plugin of that type (``HasClient.requestTgt``) and store it in the
  ticket cache. Accepted in that order and as ``login-test <conf_dir> tgt [type]``;
  ``type`` defaults to has-client.conf's ``auth_type``. The conf_dir must hold
  has-client.conf (nodes, port, CA), or — an admin host set up as HAS's has-start.md
  does — hadmin.conf (or admin.conf), whose nodes, port, realm and CA are used.
  Credentials come from the environment as the plugin reads them (MySQL:
  ``userName``/``password`` or ``HAS_USER``/``HAS_PASSWORD``; RAM:
  ``AccessKeyId``/``AccessKeySecret``), else from a prompt on a terminal.
  Prints ``Login successful for <principal> via <url> (<type>); ticket cache <cache>,
  valid until <time>`` and exits 0, or the reason and exits 1.

- ``login-test add|run|delete <conf_dir> <work_dir> <n>``: HAS's load test.
  ``add`` creates principals ``test0`` .. ``test<n-1>`` with random keys and writes
  ``<work_dir>/<i>.keytab``; ``run`` logs every one in with its keytab, straight at
  the KDC (has_kdc.client, TCP), 5 at a time as HAS's thread pool (``-c N`` to
  change), and prints the time it took; ``delete`` removes principals and keytabs.
  HAS adds and deletes through its admin REST client; here ``add``/``delete`` use
  the conf_dir's identity store directly (the conf_dir of a node: kdc.conf and
  backend.conf), like hadmin-local. A progress bar shows on a terminal.

Exit status: 0 success, 1 failure (what failed is said on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import getpass
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from has_kdc.admin import AdminError
from has_kdc.asn1.messages import EncryptionKey
from has_kdc.backend import BackendError
from has_kdc.client.kdc_client import DEFAULT_ETYPES, KdcClient, KdcReplyError
from has_kdc.client.tgt_client import HasTgtClient, TgtRequestError, default_ccache_name, store_tgt
from has_kdc.client.transport import KdcAddress, KdcTransport
from has_kdc.conf import HAS_CLIENT_CONF, ConfigError, load_conf_dir
from has_kdc.conf.has_client import client_config_of_dir
from has_kdc.formats import read_keytab
from has_kdc.plugins import PluginError, UnknownPlugin, load_plugin

__all__ = ["main"]

LOAD_COMMANDS = ("add", "run", "delete")
DEFAULT_CONCURRENCY = 5  # HasClientLoginTool: Executors.newFixedThreadPool(5)


def _time_text(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _prompt(stdin: TextIO, stderr: TextIO) -> Callable[[str, bool], str] | None:
    if not stdin.isatty():
        return None

    def ask(text: str, secret: bool) -> str:
        if secret:
            return getpass.getpass(text, stream=stderr)
        stderr.write(text)
        stderr.flush()
        return stdin.readline().rstrip("\n")

    return ask


# ------------------------------------------------------------------ tgt


def login_tgt(
    conf_dir: Path,
    auth_type: str | None,
    *,
    environ: Mapping[str, str],
    ccache: str | None,
    stdout: TextIO,
    stderr: TextIO,
    stdin: TextIO,
) -> int:
    conf_path = conf_dir / HAS_CLIENT_CONF
    config = client_config_of_dir(conf_dir)  # has-client.conf, else HAS's hadmin.conf
    if config is None:
        stderr.write(f"login-test: {conf_path} does not exist (export it with kdcinit gethas)\n")
        return 1
    kind = auth_type or config.auth_type
    if not kind:
        stderr.write(f"login-test: no plugin type given and no auth_type in {config.source}\n")
        return 1
    plugin = load_plugin(kind).client_plugin()
    claims = plugin.make_token(config, environ, _prompt(stdin, stderr))
    target = ccache or default_ccache_name(environ)
    with HasTgtClient.from_config(config, environ=environ) as client:
        login = client.request_tgt(plugin.name, claims, passphrase=plugin.reply_passphrase(claims))
    for url, why in login.skipped:
        stderr.write(f"login-test: skipped {url}: {why}\n")
    cache = store_tgt(login.credentials, target)
    creds = login.credentials
    stdout.write(
        f"Login successful for {creds.client} via {login.url} ({plugin.name}); "
        f"ticket cache {cache}, valid until {_time_text(creds.endtime)}\n"
    )
    return 0


# ------------------------------------------------------------------ load test


class Progress:
    """``[#####.....] 42/100`` on a terminal (rewritten in place); silent otherwise."""

    def __init__(self, total: int, label: str, stream: TextIO) -> None:
        self.total = total
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty() and total > 0
        self.done = 0
        self._lock = threading.Lock()

    def step(self) -> None:
        with self._lock:
            self.done += 1
            if self.enabled:
                width = 30
                filled = width * self.done // self.total
                self.stream.write(
                    f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                    f"{self.done}/{self.total}"
                )
                self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class LoadSummary:
    succeeded: int
    failed: int
    seconds: float
    latencies: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0.0

        rate = (self.succeeded + self.failed) / self.seconds if self.seconds > 0 else 0.0
        return (
            f"Finished the login test: {self.succeeded} succeeded, {self.failed} failed in "
            f"{self.seconds * 1000:.0f} ms ({rate:.1f} logins/s; p50 {pct(0.5):.1f} ms, "
            f"p99 {pct(0.99):.1f} ms)"
        )


def _principal(i: int, realm: str) -> str:
    return f"test{i}@{realm}"


def load_add(conf_dir: Path, work_dir: Path, count: int, stdout: TextIO, stderr: TextIO) -> int:
    from has_kdc.cli.context import admin_session

    progress = Progress(count, "add", stderr)
    with admin_session(conf_dir, "login-test") as session:
        admin = session.admin
        for i in range(count):
            name = _principal(i, admin.realm)
            if not admin.exists(name):
                admin.add_principal(name, randkey=True)
            keytab = work_dir / f"{i}.keytab"
            keytab.unlink(missing_ok=True)
            admin.export_keytab(keytab, [name], norandkey=True)
            progress.step()
    progress.finish()
    stdout.write(f"Added {count} principals and their keytabs in {work_dir}.\n")
    return 0


def load_delete(conf_dir: Path, work_dir: Path, count: int, stdout: TextIO, stderr: TextIO) -> int:
    from has_kdc.cli.context import admin_session

    failures = 0
    progress = Progress(count, "delete", stderr)
    with admin_session(conf_dir, "login-test") as session:
        admin = session.admin
        for i in range(count):
            name = _principal(i, admin.realm)
            try:
                admin.delete_principal(name)
            except AdminError as exc:
                failures += 1
                stderr.write(f"login-test: cannot delete {name}: {exc}\n")
            (work_dir / f"{i}.keytab").unlink(missing_ok=True)
            progress.step()
    progress.finish()
    stdout.write(f"Deleted {count - failures} principals and their keytabs.\n")
    return 1 if failures else 0


def _keytab_key(path: Path, principal: str) -> EncryptionKey:
    entries = [e for e in read_keytab(path).entries if str(e.principal) == principal]
    if not entries:
        raise ValueError(f"{path} holds no key of {principal}")
    top = max(e.kvno for e in entries)
    current = {e.enctype: e for e in entries if e.kvno == top}
    for etype in DEFAULT_ETYPES:
        if etype in current:
            return EncryptionKey(etype, current[etype].key)
    raise ValueError(f"{path}: no key of {principal} in an enctype this client speaks")


def load_run(
    conf_dir: Path,
    work_dir: Path,
    count: int,
    concurrency: int,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    conf = load_conf_dir(conf_dir)
    realm = conf.kdc.kdc_realm
    port = conf.kdc.kdc_tcp_port
    if port is None:
        stderr.write("login-test: kdc.conf has no kdc_tcp_port; the load test logs in over TCP\n")
        return 1
    host = conf.kdc.kdc_host
    # TCP only (no request fits a UDP preference limit of 0), as HAS's load test logs in.
    client = KdcClient(
        KdcTransport([KdcAddress(host, port)], timeout=10.0, udp_preference_limit=0), realm
    )
    jobs: list[tuple[str, EncryptionKey]] = []
    for i in range(count):
        name = _principal(i, realm)
        jobs.append((name, _keytab_key(work_dir / f"{i}.keytab", name)))
    stdout.write(
        f"Start the login test: {count} logins, {concurrency} at a time, KDC {host}:{port}.\n"
    )
    progress = Progress(count, "run", stderr)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def login(job: tuple[str, EncryptionKey]) -> None:
        name, key = job
        started = time.perf_counter()
        try:
            client.get_tgt(name, key=key)
        except (OSError, KdcReplyError, ValueError) as exc:
            with lock:
                errors.append(f"{name}: {exc}")
        else:
            with lock:
                latencies.append(time.perf_counter() - started)
        progress.step()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(login, jobs))
    elapsed = time.perf_counter() - started
    progress.finish()
    for line in errors[:10]:
        stderr.write(f"login-test: login failed for {line}\n")
    if len(errors) > 10:
        stderr.write(f"login-test: ... and {len(errors) - 10} more failures\n")
    summary = LoadSummary(len(latencies), len(errors), elapsed, latencies)
    stdout.write(summary.line() + "\n")
    return 1 if errors else 0


# ------------------------------------------------------------------ main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="login-test",
        description="Log in through HAS: a TGT over HTTPS (tgt), or a keytab load test "
        "(add, run, delete).",
        usage=(
            "login-test <conf_dir> tgt [type] | login-test tgt <conf_dir> [type]\n"
            "       login-test add|run|delete <conf_dir> <work_dir> <number>"
        ),
    )
    parser.add_argument("words", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--ccache", metavar="CACHE", help="ticket cache (default KRB5CCNAME)")
    parser.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"logins at a time for run (default {DEFAULT_CONCURRENCY})",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    options = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    words = options.words
    env = os.environ if environ is None else environ
    try:
        if words[0] == "tgt" and len(words) in (2, 3):
            return login_tgt(
                Path(words[1]),
                words[2] if len(words) == 3 else None,
                environ=env,
                ccache=options.ccache,
                stdout=out,
                stderr=err,
                stdin=stdin or sys.stdin,
            )
        if len(words) in (2, 3) and words[1] == "tgt":
            return login_tgt(
                Path(words[0]),
                words[2] if len(words) == 3 else None,
                environ=env,
                ccache=options.ccache,
                stdout=out,
                stderr=err,
                stdin=stdin or sys.stdin,
            )
        if words[0] in LOAD_COMMANDS and len(words) == 4:
            conf_dir, work_dir = Path(words[1]), Path(words[2])
            try:
                count = int(words[3])
            except ValueError:
                count = 0
            if count <= 0:
                err.write("login-test: the number of principals must be a positive integer\n")
                return 2
            if not work_dir.is_dir():
                err.write(f"login-test: work_dir {work_dir} is not a directory\n")
                return 2
            if options.concurrency <= 0:
                err.write("login-test: -c must be a positive integer\n")
                return 2
            if words[0] == "add":
                return load_add(conf_dir, work_dir, count, out, err)
            if words[0] == "delete":
                return load_delete(conf_dir, work_dir, count, out, err)
            return load_run(conf_dir, work_dir, count, options.concurrency, out, err)
        parser.print_usage(err)
        err.write("login-test: expected 'tgt' with a conf_dir, or add|run|delete with 3 values\n")
        return 2
    except TgtRequestError as exc:
        err.write(f"login-test: login failed: {exc}\n")
        return 1
    except (PluginError, UnknownPlugin) as exc:
        err.write(f"login-test: {exc}\n")
        return 1
    except (ConfigError, AdminError, BackendError, OSError, ValueError) as exc:
        err.write(f"login-test: {exc}\n")
        return 1
    except KeyboardInterrupt:
        err.write("login-test: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
