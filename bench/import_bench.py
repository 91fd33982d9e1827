"""Time and peak memory of ``hadmin-local import`` for 10,000 principals, per source format.

Each source is built in its real format with 10,000 principals (``--principals``):

- ``mit-dump``: an MIT realm made by ``kdb5_util``/``kadmin.local``, one filler record
  repeated under new names and loaded back with ``kdb5_util load`` (as bench/realms.py
  does), then dumped again by ``kdb5_util dump``: MIT's own file, every key encrypted
  in the master key (six keys per principal: four AES, 3DES, RC4);
- ``kerby-mysql``: Kerby's trunk-generation tables in a MariaDB started for the run
  (tests/mariadb.py, loopback only), two AES keys per identity;
- ``kerby-json``: Kerby's JSON backend file, two AES keys per identity.

Each is imported into a fresh has-kdc realm (SQLite; with ``--stores sqlite,mariadb``
also MySQL) through the installed console script, as an operator would, then again
(the re-run: every principal compared, nothing written). Wall time, the CPU time
and the peak resident set size of the ``hadmin-local`` process (``wait4``'s
``ru_utime + ru_stime`` and ``ru_maxrss``; CPU time says more than wall time on a
busy machine, so the load average is printed too) go into a Markdown table.
Everything started is stopped and the temp directory removed (unless ``--keep``).

    .venv/bin/python -m bench.import_bench                     # all sources, SQLite
    .venv/bin/python -m bench.import_bench --stores sqlite,mariadb --principals 2000

Run from the checkout's top directory (it imports tests.hasnode, tests.mitkrb,
tests.mariadb and tests.kerby_data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.hacluster import mysql_config
from tests.hasnode import HasNode, script
from tests.kerby_data import CREATED_MILLIS, NEVER_MILLIS, der_encryption_key, kerby_mysql_ddl
from tests.mitkrb import MitRealm

REALM = "BENCH.TEST"
SOURCES = ("mit-dump", "kerby-mysql", "kerby-json")
MIT_ENCTYPES = (
    "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal "
    "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal "
    "des3-cbc-sha1:normal arcfour-hmac:normal"
)


#: Kerby's name (as its MySQL backend stores it) and size of each identity's two keys
AES_KEYS = (("aes256-cts-hmac-sha1-96", 32), ("aes128-cts-hmac-sha1-96", 16))


def name_of(index: int) -> str:
    return f"svc{index:06d}/node{index % 1000:04d}.bench.test@{REALM}"


def _key(index: int, size: int) -> bytes:
    return (index.to_bytes(4, "big") * (size // 4 + 1))[:size]


# ---------------------------------------------------------------- sources


def mit_source(tmp: Path, count: int) -> tuple[list[str], str]:
    realm = MitRealm(tmp / "mit", REALM, supported_enctypes=MIT_ENCTYPES)
    realm.create()
    realm.addprinc(name_of(0))
    dump = tmp / "seed.dump"
    realm.run("kdb5_util", "-r", REALM, "dump", str(dump))
    lines = dump.read_text().splitlines(keepends=True)
    fields = next(line for line in lines if line.split("\t")[6:7] == [name_of(0)]).split("\t")
    with dump.open("a") as out:
        for index in range(1, count):
            name = name_of(index)
            fields[2], fields[6] = str(len(name.encode())), name
            out.write("\t".join(fields))
    realm.run("kdb5_util", "-r", REALM, "load", str(dump), timeout=900)
    final = tmp / "realm.dump"
    realm.run("kdb5_util", "-r", REALM, "dump", str(final), timeout=900)
    return ["--stash", str(realm.tmp / "stash")], str(final)


def kerby_json_source(tmp: Path, count: int) -> tuple[list[str], str]:
    document = {}
    for index in range(count):
        name = name_of(index)
        document[name] = {
            "principal": name,
            "keyVersion": 1,
            "kdcFlags": 0,
            "disabled": False,
            "locked": False,
            "expireTime": str(NEVER_MILLIS),
            "createdTime": str(CREATED_MILLIS),
            "keys": {
                const: {"kvno": 1, "key": der_encryption_key(etype, _key(index, size)).hex()}
                for const, etype, size in (
                    ("AES256_CTS_HMAC_SHA1_96", 18, 32),
                    ("AES128_CTS_HMAC_SHA1_96", 17, 16),
                )
            },
        }
    path = tmp / "json-backend.json"
    path.write_text(json.dumps(document, indent=2))
    return [], str(path)


def kerby_mysql_source(tmp: Path, count: int, server: object) -> tuple[list[str], str]:
    """Kerby's trunk tables (tests/kerby_data.py's DDL) filled by batched INSERTs."""
    config = mysql_config(server, "kerby_source")
    table = REALM.lower()
    identities = [(name_of(i), 1, 0, 0, 0, CREATED_MILLIS, NEVER_MILLIS) for i in range(count)]
    keys = [(label, 1, _key(i, size), name_of(i)) for i in range(count) for label, size in AES_KEYS]
    conn = server.admin()  # type: ignore[attr-defined]
    try:
        with conn.cursor() as cur:
            cur.execute("USE kerby_source")
            for statement in kerby_mysql_ddl(REALM, "trunk"):
                cur.execute(statement)
            cur.executemany(
                f"INSERT INTO `{table}_identity` (principal, key_version, kdc_flags, "  # noqa: S608
                "disabled, locked, created_time, expire_time) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                identities,
            )
            cur.executemany(
                f"INSERT INTO `{table}_key` (key_type, kvno, key_value, principal) "  # noqa: S608
                "VALUES (%s, %s, %s, %s)",
                keys,
            )
    finally:
        conn.close()
    secret = tmp / "source-password"
    secret.write_text(f"{config.mysql_password}\n")
    url = f"jdbc:mysql://{config.mysql_host}:{config.mysql_port}/kerby_source"
    return ["--password-file", str(secret), "--user", str(config.mysql_user)], url


# ---------------------------------------------------------------- measuring


def run_import(
    node: HasNode, args: list[str], location: str, timeout: float, out_dir: Path
) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in KiB, summary line) of one hadmin-local import."""
    out_path, err_path = out_dir / "import.out", out_dir / "import.err"
    started = time.monotonic()
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [script("hadmin-local"), str(node.conf_dir), "import", *args, location],
            stdout=out,
            stderr=err,
        )
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    finally:
        killer.cancel()
    elapsed = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"import exited {code}: {err_path.read_text()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss, out_path.read_text().strip().splitlines()[-1]


def measure_one(source: str, store: str, count: int, timeout: float, tmp: Path) -> dict:
    """Build one source and import it twice into a fresh realm."""
    server = None
    try:
        if store == "mariadb" or source == "kerby-mysql":
            from tests.mariadb import MariaDb

            server = MariaDb(tmp / "mariadb")
            server.start()
        if source == "mit-dump":
            args, location = mit_source(tmp, count)
        elif source == "kerby-json":
            args, location = kerby_json_source(tmp, count)
        else:
            args, location = kerby_mysql_source(tmp, count, server)
        backend = mysql_config(server, "has_target") if store == "mariadb" else None
        node = HasNode(tmp / "has", REALM, backend=backend)
        first = run_import(node, args, location, timeout, tmp)
        again = run_import(node, args, location, timeout, tmp)
        listed = node.hadmin("listprincs", "svc*").stdout.split()
        if len(listed) != count:
            raise RuntimeError(f"{source}: expected {count} principals, found {len(listed)}")
        return {
            "source": source,
            "store": store,
            "principals": count,
            "seconds": first[0],
            "cpu_seconds": first[1],
            "peak_rss_kib": first[2],
            "rerun_seconds": again[0],
            "rerun_cpu_seconds": again[1],
            "rerun_peak_rss_kib": again[2],
            "summary": first[3],
        }
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principals", type=int, default=10_000)
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--stores", default="sqlite", help="sqlite,mariadb")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per import")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    options = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="import-bench-"))
    rows = []
    try:
        for store in [s.strip() for s in options.stores.split(",") if s.strip()]:
            for source in [s.strip() for s in options.sources.split(",") if s.strip()]:
                where = tmp / f"{source}-{store}"
                where.mkdir()
                count = options.principals
                print(f"{source} -> {store}: {count:,} principals ...", file=sys.stderr)
                row = measure_one(source, store, count, options.timeout, where)
                print(f"  {row['summary']}", file=sys.stderr)
                rows.append(row)
    finally:
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        "| source | store | principals | import s (CPU s) | principals/s | peak RSS MiB "
        "| re-run s (CPU s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['source']} | {row['store']} | {row['principals']:,} | {row['seconds']:.1f} "
            f"({row['cpu_seconds']:.1f}) | {row['principals'] / row['seconds']:,.0f} "
            f"| {row['peak_rss_kib'] / 1024:.0f} | {row['rerun_seconds']:.1f} "
            f"({row['rerun_cpu_seconds']:.1f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
