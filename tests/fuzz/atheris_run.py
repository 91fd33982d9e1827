"""Run a fuzz target of ``tests.fuzz.targets`` under atheris (libFuzzer), with coverage
from has_kdc and pyasn1.

    python -m tests.fuzz.atheris_run TARGET [libFuzzer options] [CORPUS_DIR ...]
    python -m tests.fuzz.atheris_run seeds TARGET DIR

The first form is libFuzzer's command line after the target name: for instance
``-max_total_time=600 -timeout=5 -max_len=4096 work/ tests/data/fuzz/TARGET`` fuzzes
for ten minutes, writing new inputs to ``work/`` and reading the kept corpus too, and
``-merge=1 NEW OLD...`` keeps in NEW only what adds coverage (how the corpus in
tests/data/fuzz is minimized). The second form writes the seed inputs of TARGET
(real requests, MIT captures) into DIR. ``scripts/fuzz-atheris.sh`` wraps both.

A crash (an invariant of the target broke, or any exception escaped) makes libFuzzer
write the input to ``crash-<sha1>`` (see ``-artifact_prefix``) and exit non-zero;
an input slower than ``-timeout`` seconds is written as ``timeout-<sha1>``.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["has_kdc", "pyasn1"]):
    from tests.fuzz import targets

    # Build the kdc target's realm now, so what it imports is instrumented too.
    _KDC_SEEDS = targets.kdc_seeds()


def seeds(target: str) -> list[bytes]:
    """Inputs to start ``target`` from."""
    if target == "kdc":
        return list(_KDC_SEEDS)
    if target == "der":
        from tests.fuzz.kdc_inputs import DATA

        captured = [p.read_bytes() for p in sorted(DATA.glob("*.der"))]
        requests = [*captured, *_KDC_SEEDS]
        # each message behind the selector byte of every decoder: most are refused
        # early, and the ones that fit show the fuzzer the way in
        return [
            bytes((index,)) + message
            for index in range(len(targets.DECODERS))
            for message in requests
        ]
    raise SystemExit(f"unknown target {target!r}; targets: {', '.join(targets.TARGETS)}")


def write_seeds(target: str, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    inputs = seeds(target)
    for data in inputs:
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)  # noqa: S324 (a name)
    return len(inputs)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "seeds":
        if len(argv) != 4:
            print("usage: python -m tests.fuzz.atheris_run seeds TARGET DIR", file=sys.stderr)
            return 2
        count = write_seeds(argv[2], Path(argv[3]))
        print(f"{count} seed inputs for {argv[2]} in {argv[3]}")
        return 0
    target = argv[1]
    if target not in targets.TARGETS:
        print(f"unknown target {target!r}; targets: {', '.join(targets.TARGETS)}", file=sys.stderr)
        return 2
    atheris.Setup([str(_launcher(target)), *argv[2:]], targets.TARGETS[target])
    atheris.Fuzz()
    return 0


def _launcher(target: str) -> Path:
    """A script that runs this target with this interpreter: libFuzzer starts child
    processes (``-merge``, ``-fork``) by running its own argv[0] again."""
    root = Path(__file__).resolve().parent.parent.parent
    path = Path(tempfile.gettempdir()) / f"has-kdc-atheris-{target}-{os.getuid()}.sh"
    text = (
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}} "
        f'exec {shlex.quote(sys.executable)} -m tests.fuzz.atheris_run {target} "$@"\n'
    )
    if not path.exists() or path.read_text() != text:
        temporary = path.with_suffix(f".{os.getpid()}")
        temporary.write_text(text)
        temporary.chmod(0o755)
        os.replace(temporary, path)
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv))
