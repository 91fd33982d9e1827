"""bench/kdc_bench.py's accounting: only expected replies count, wrong ones fail loudly."""

from __future__ import annotations

from array import array

from bench.kdc_bench import Measurement, Row, Settings, Side, format_table
from bench.loadgen import LoadResult


def _measurement(label: str, by_class: dict[str, int], elapsed: float = 1.0) -> Measurement:
    replies = sum(by_class.values())
    result = LoadResult(
        transport="udp",
        in_flight=32,
        processes=1,
        sent=replies,
        replies=replies,
        lost=0,
        elapsed=elapsed,
        latencies=array("d", [0.001] * replies),
        by_class=by_class,
    )
    return Measurement(label, "as-enc-timestamp", result, "AS-REP")


def _row(has_classes: dict[str, int], mit_classes: dict[str, int]) -> Row:
    row = Row("one process each", "AS", 0.5, Side("MIT"), Side("has-kdc"))
    row.mit.runs.append(_measurement("MIT", mit_classes))
    row.has.runs.append(_measurement("has-kdc", has_classes))
    return row


def test_rate_counts_expected_replies_only() -> None:
    m = _measurement("has-kdc", {"AS-REP": 300, "KRB-ERROR 60 KRB_ERR_GENERIC": 700}, elapsed=2.0)
    assert m.good == 300
    assert m.rate == 150.0
    assert m.wrong == {"KRB-ERROR 60 KRB_ERR_GENERIC": 700}


def test_a_fast_wrong_answer_fails_the_row_and_says_so() -> None:
    row = _row({"AS-REP": 900, "KRB-ERROR 37 KRB_AP_ERR_SKEW": 5000}, {"AS-REP": 1000})
    assert row.ratio == 0.9  # would pass the 0.5 floor on speed alone
    assert row.met is False
    assert row.problems() == ["WRONG ANSWERS from has-kdc: 5000 x KRB-ERROR 37 KRB_AP_ERR_SKEW"]
    table = format_table([row], Settings(runs=1))
    assert "**WRONG ANSWERS from has-kdc: 5000 x KRB-ERROR 37 KRB_AP_ERR_SKEW**" in table
    assert "| **NO** |" in table


def test_right_answers_meet_or_miss_the_floor_on_the_ratio() -> None:
    assert _row({"AS-REP": 600}, {"AS-REP": 1000}).met is True
    slow = _row({"AS-REP": 400}, {"AS-REP": 1000})
    assert slow.met is False
    assert slow.problems() == []


def test_no_expected_reply_at_all_is_reported() -> None:
    row = _row({"KRB-ERROR 6 KDC_ERR_C_PRINCIPAL_UNKNOWN": 10}, {"AS-REP": 1000})
    assert "NO EXPECTED REPLY from has-kdc" in row.problems()
    assert row.met is False


def test_scaling_row_ratio_is_against_its_own_baseline() -> None:
    row = Row("scaling", "AS", 0.9, Side("MIT big"), Side("has big"), baseline=Side("has small"))
    row.mit.runs.append(_measurement("MIT big", {"AS-REP": 5000}))
    row.has.runs.append(_measurement("has big", {"AS-REP": 950}))
    row.baseline.runs.append(_measurement("has small", {"AS-REP": 1000}))  # type: ignore[union-attr]
    assert row.ratio == 0.95
    assert row.met is True
    assert "0.95 (of 1,000)" in format_table([row], Settings(runs=1))
