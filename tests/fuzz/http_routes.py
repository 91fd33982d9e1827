"""HTTP fuzzing of every route of a node from its own OpenAPI document, with schemathesis.

``FuzzServer(tmp)`` runs a node in a child process (``python -m tests.fuzz.http_routes
serve DIR``: tests/webnode.py's node with the admin API and the TGT route, enable_conf on),
so its memory is measured alone. ``fuzz(server, examples=..., seed=...)`` loads the
OpenAPI document the node serves and, for every operation, sends schemathesis cases
(valid and invalid: hypothesis, seeded) in three rounds:

1. before the realm is initialized, anonymously and with the setup token;
2. the realm is initialized (through the setup window);
3. anonymously and as an administrator (``X-Test-Principal``, the stand-in for SPNEGO).

The `FuzzReport` counts cases and statuses, lists every 5xx other than the 503s a
node gives by design (health before init) — the request that caused it, without
header values — and every hang (no answer within ``HANG_SECONDS``), and gives the
node's RSS before and after. tests/test_web_fuzz.py runs a quick round in the suite;
``scripts/fuzz-http.sh [--examples N] [--seed S]`` (this module's ``main``) a long one,
100 cases per operation, caller and kind by default; it exits 1 on any 5xx or hang.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HANG_SECONDS = 30.0
ADMIN = "kadmin/HADOOP.COM@HADOOP.COM"
#: 503s that are answers, not failures: health says "down", kdcinit/conf before the
#: store can say whether the realm exists.
EXPECTED_503 = {"/has/v1/health", "/has/v1/kdcstart"}


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_round: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    rss_before_kb: int = 0
    rss_after_kb: int = 0

    def summary(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        rounds = ", ".join(f"{r}: {n}" for r, n in self.by_round.items())
        return (
            f"{self.cases} cases ({rounds}); statuses {statuses}; "
            f"5xx {len(self.server_errors)}, hangs {len(self.hangs)}; "
            f"node RSS {self.rss_before_kb / 1024:.1f} MB -> {self.rss_after_kb / 1024:.1f} MB"
        )


class FuzzServer:
    """A node in a child process; ``url``, ``ca_file``, ``conf_dir``, ``rss_kb()``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.http_routes", "serve", str(self.directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise RuntimeError("the fuzzing node did not start")
        info = json.loads(line)
        self.url = f"https://127.0.0.1:{info['port']}"
        self.ca_file = info["ca_file"]
        self.conf_dir = Path(info["conf_dir"])

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def setup_token(self) -> str | None:
        try:
            return (self.conf_dir / "setup-token").read_text().strip() or None
        except OSError:
            return None

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> FuzzServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(case: Any) -> str:
    """The request, for a report: method, path, query and body (never header values)."""
    body = case.body if not isinstance(case.body, (bytes, bytearray)) else case.body[:200]
    text = f"{case.method} {case.formatted_path} query={case.query!r} body={body!r}"
    return text if len(text) <= 600 else text[:600] + "..."


def fuzz(server: FuzzServer, *, examples: int, seed: int) -> FuzzReport:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    report = FuzzReport(rss_before_kb=server.rss_kb())
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies are not for this node
    session.verify = server.ca_file
    document = session.get(f"{server.url}/has/v1/openapi.json", timeout=HANG_SECONDS).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]

    def send(case: Any, headers: dict[str, str], round_name: str) -> None:
        try:
            response = case.call(
                base_url=server.url,
                session=session,
                headers=headers,
                timeout=HANG_SECONDS,
                verify=server.ca_file,
            )
        except requests.Timeout:
            report.hangs.append(_describe(case))
            return
        except requests.ConnectionError as exc:
            report.server_errors.append(f"connection failed: {exc}: {_describe(case)}")
            return
        report.cases += 1
        report.by_round[round_name] += 1
        report.statuses[response.status_code] += 1
        expected = response.status_code == 503 and case.formatted_path in EXPECTED_503
        if response.status_code >= 500 and not expected:
            report.server_errors.append(f"{response.status_code} {_describe(case)}")

    def run(operation: Any, headers: Any, round_name: str, mode: GenerationMode) -> None:
        @hypothesis_seed(seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            send(case, headers(), round_name)

        with contextlib.suppress(Unsatisfiable):  # no invalid request: an operation without inputs
            one()

    def anonymous() -> dict[str, str]:
        return {}

    def token() -> dict[str, str]:
        value = server.setup_token()
        return {"X-Has-Setup-Token": value} if value else {}

    def admin() -> dict[str, str]:
        return {"X-Test-Principal": ADMIN}

    kdcinit = {("GET", "/has/v1/kdcinit"), ("PUT", "/has/v1/kdcinit")}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            if (operation.method.upper(), operation.path) in kdcinit:
                continue  # round 2 initializes the realm
            run(operation, anonymous, "before init, anonymous", mode)
            run(operation, token, "before init, setup token", mode)
    answer = session.put(f"{server.url}/has/v1/kdcinit", headers=token(), timeout=HANG_SECONDS)
    if answer.status_code != 200:
        report.server_errors.append(f"kdcinit with the setup token: {answer.status_code}")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            run(operation, anonymous, "after init, anonymous", mode)
            run(operation, admin, "after init, admin", mode)
    report.rss_after_kb = server.rss_kb()
    return report


def _serve(directory: str) -> None:
    """The child: a node until stdin closes."""
    from tests.webnode import make_node

    node = make_node(Path(directory), enable_conf=True, with_tgt=True)
    print(
        json.dumps(
            {"port": node.port, "ca_file": str(node.ca_file), "conf_dir": str(node.conf_dir)}
        ),
        flush=True,
    )
    try:
        sys.stdin.read()
    finally:
        node.thread.stop()


def run_standalone(examples: int, seed: int, keep: bool = False) -> FuzzReport:
    """A fuzzing run in a temp directory (removed unless ``keep``)."""
    tmp = Path(tempfile.mkdtemp(prefix="has-http-fuzz-"))
    try:
        with FuzzServer(tmp / "node") as server:
            return fuzz(server, examples=examples, seed=seed)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "serve":
        _serve(args[1])
        return 0
    parser = argparse.ArgumentParser(
        prog="scripts/fuzz-http.sh", description="schemathesis over every HTTPS route"
    )
    parser.add_argument("--examples", type=int, default=100, help="per operation and round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the node's directory")
    options = parser.parse_args(args)
    started = time.monotonic()
    report = run_standalone(options.examples, options.seed, keep=options.keep)
    print(report.summary())
    print(f"{time.monotonic() - started:.0f} s")
    for line in report.server_errors:
        print("5xx:", line)
    for line in report.hangs:
        print("hang:", line)
    return 1 if report.server_errors or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
