"""Durations and times as kadmin's command line takes them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from has_kdc.admin import AdminError, format_duration, parse_duration, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("600", 600),
        ("10h", 36000),
        ("7d", 604800),
        ("1d 2h 30m", 95400),
        ("1d2h30m", 95400),
        ("90 minutes", 5400),
        ("2 weeks", 1209600),
        ("10:00", 36000),
        ("10:00:30", 36030),
        ("0", 0),
        (" 1 day 1 second ", 86401),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten hours", "10x", "1:75", "h10", "-5m"])
def test_bad_durations_say_what_is_expected(text):
    with pytest.raises(AdminError, match="expected a duration such as"):
        parse_duration(text)


def test_times():
    now = 1_800_000_000
    assert parse_time("never") is None
    assert parse_time("now", now) == now
    assert parse_time("now + 30d", now) == now + 30 * 86400
    assert parse_time("+1h", now) == now + 3600
    assert parse_time("@1700000000") == 1_700_000_000
    assert parse_time("2027-01-01 UTC") == int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())
    assert parse_time("2027-01-01T10:00:00Z") == int(
        datetime(2027, 1, 1, 10, tzinfo=UTC).timestamp()
    )
    local = int(time.mktime((2027, 1, 1, 10, 0, 0, 0, 0, -1)))
    assert parse_time("2027-01-01 10:00:00") == local
    assert parse_time("2027-01-01 10:00") == local


@pytest.mark.parametrize("text", ["tomorrow", "2027-13-01", "01/02/2027", "now - 1d"])
def test_bad_times(text):
    with pytest.raises(AdminError, match="expected a time such as"):
        parse_time(text)


def test_format_duration_like_getprinc():
    assert format_duration(36000) == "10:00:00"
    assert format_duration(86400) == "1 day 00:00:00"
    assert format_duration(7 * 86400 + 61) == "7 days 00:01:01"
    assert format_duration(None) == "00:00:00"
