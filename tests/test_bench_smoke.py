"""bench/kdc_bench.py, tiny: every row gets numbers from both KDCs, and the right answers.

Not a measurement (a few hundred requests per row): it keeps the benchmark from
rotting, and checks what a benchmark must never get wrong — each KDC answers each
workload with the expected reply class (PREAUTH_REQUIRED without pre-authentication,
AS-REP with PA-ENC-TIMESTAMP, error 6 for an unknown client, TGS-REP for TGS), so a
fast wrong answer could not pass for speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.kdc_bench import (
    PREAUTH_REQUIRED,
    PRINCIPAL_UNKNOWN,
    SECTIONS,
    Settings,
    format_table,
    main,
    run_bench,
)

pytestmark = pytest.mark.mit

EXPECTED = {
    "as-no-preauth": PREAUTH_REQUIRED,
    "as-enc-timestamp": "AS-REP",
    "unknown": PRINCIPAL_UNKNOWN,
    "tgs": "TGS-REP",
    "as-spread": PREAUTH_REQUIRED,
}


def test_every_row_has_numbers_and_the_expected_replies(tmp_path: Path) -> None:
    settings = Settings(
        runs=1,
        duration=1.0,
        count=150,
        in_flight=8,
        warmup=5,
        workers=2,
        fillers=20,
        scale_principals=300,
    )
    rows = run_bench(settings, SECTIONS, tmp_path, lambda _text: None)
    # 4 one-process rows, 2 scaling rows, the AS one against MIT, 4 worker rows
    assert [r.section.split(":")[0].split(" ")[0] for r in rows] == (
        ["one"] * 4 + ["scaling"] * 2 + ["300"] + ["has-kdc"] * 4
    )
    for row in rows:
        sides = [row.mit, row.has] + ([row.baseline] if row.baseline else [])
        for side in sides:
            assert len(side.runs) == 1, (row.title, side.label)
            (m,) = side.runs
            assert m.result.by_class == {EXPECTED[m.workload]: m.good}, (row.title, side.label)
            assert m.good > 0 and m.rate > 0 and m.p99_ms > 0
        assert row.problems() == []
        assert row.ratio > 0
    assert [r.floor for r in rows] == [1.0] * 4 + [0.9, None, 1.0] + [1.0] * 4
    assert rows[6].has is rows[4].has and rows[6].mit is rows[4].mit
    table = format_table(rows, settings)
    assert table.count("\n| ") == 1 + 4 + len(rows)  # header, 4 section lines, rows
    assert "WRONG" not in table and "NO EXPECTED" not in table


def test_command_line_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
    assert main(["--sections", "single,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_json_output_of_a_one_section_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    status = main(
        [
            "--sections",
            "single",
            "--runs",
            "1",
            "--duration",
            "0.5",
            "--count",
            "100",
            "--in-flight",
            "4",
            "--fillers",
            "5",
            "--json",
            str(out),
        ]
    )
    assert status == 0
    data = json.loads(out.read_text())
    assert [row["section"] for row in data["rows"]] == ["one process each"] * 4
    for row in data["rows"]:
        assert row["mit_rate"] > 0 and row["has_rate"] > 0 and row["problems"] == []
        assert {run["kdc"] for run in row["runs"]} == {row["mit_label"], row["has_label"]}
