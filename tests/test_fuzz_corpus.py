"""The atheris corpora of tests/data/fuzz replayed, and a short atheris run of each target.

The corpora are what coverage-guided fuzzing of the DER decoders (``der``: fast path
against the pyasn1 model) and of the KDC handler (``kdc``) kept, minimized: every
input that reached new code, including those that once broke an invariant. Replaying
them checks every invariant of tests/fuzz/targets.py again on every input. The short
run then lets libFuzzer mutate them for a fixed number of inputs (not a fixed time);
the long run is ``scripts/fuzz-atheris.sh``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz import targets

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "fuzz"
#: Inputs of the short run, per target (a few seconds each).
SHORT_RUN = 4000


def corpus(target: str) -> list[Path]:
    return sorted(p for p in (CORPUS / target).iterdir() if p.is_file())


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_the_corpus_replays_with_every_invariant_holding(target):
    files = corpus(target)
    assert len(files) >= 100, f"tests/data/fuzz/{target} holds only {len(files)} inputs"
    for path in files:
        targets.TARGETS[target](path.read_bytes())  # raises Finding, or worse


def test_the_corpora_stay_small():
    total = sum(p.stat().st_size for t in targets.TARGETS for p in corpus(t))
    assert total < 400 * 1024


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_a_short_atheris_run_finds_nothing(target, tmp_path):
    work = tmp_path / "corpus"
    work.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.atheris_run",
            target,
            f"-runs={SHORT_RUN}",
            "-seed=14",
            "-timeout=10",
            "-max_len=4096",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(work),
            str(CORPUS / target),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tail = "\n".join(
        line for line in proc.stderr.splitlines() if not line.startswith("INFO: Instrumenting")
    )[-3000:]
    assert proc.returncode == 0, tail
    assert "Done" in proc.stderr, tail
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
