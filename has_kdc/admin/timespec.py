"""Durations and points in time as ``kadmin`` takes them on its command line.

``-maxlife 10h``, ``-maxrenewlife "7d"``, ``-expire 2027-01-01`` and friends come from
operators who know MIT's tools, so the same spellings work here:

- durations: plain seconds (``600``), unit groups (``10h``, ``1d 2h 30m``, ``1d10h``,
  ``90 minutes``, ``2 weeks``) and clock form (``10:00`` or ``10:00:00``, as
  ``krb5_string_to_deltat`` reads them);
- points in time: ``never`` (no expiry), ISO dates with an optional time
  (``2027-01-01``, ``2027-01-01 10:00``, ``2027-01-01T10:00:00``), a trailing ``Z``
  or ``UTC`` for UTC, otherwise local time as MIT's ``getdate`` reads it; ``now`` and
  ``now + 30d`` / ``+30d`` for a time relative to now; an ``@1700000000`` epoch.

Both parsers raise `AdminError` with the text that could not be read and what would
have been accepted.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from has_kdc.admin.errors import AdminError
from has_kdc.conf.values import DURATION_FORMS, duration_seconds

__all__ = ["format_duration", "format_time", "parse_duration", "parse_time"]

_TIME_HELP = "a time such as 2027-01-01, '2027-01-01 10:00:00', 'now + 30d' or never"


def parse_duration(text: str) -> int:
    """Seconds in ``text``; a duration of zero is allowed (MIT reads it as 'unlimited')."""
    if not text.strip():
        raise AdminError(f"empty duration: expected {DURATION_FORMS}")
    try:
        return duration_seconds(text)
    except ValueError as exc:
        raise AdminError(str(exc)) from None


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_time(text: str, now: float | None = None) -> int | None:
    """Seconds since the epoch for ``text``, or None for ``never``."""
    spec = " ".join(text.strip().split())
    lowered = spec.lower()
    current = int(time.time() if now is None else now)
    if lowered in ("never", "none", "0"):
        return None
    if lowered == "now":
        return current
    relative = re.match(r"^(?:now\s*)?\+\s*(.+)$", lowered)
    if relative:
        return current + parse_duration(relative.group(1))
    if re.fullmatch(r"@\d+", spec):
        return int(spec[1:])
    utc = False
    for suffix in (" utc", " gmt", "z"):
        if lowered.endswith(suffix):
            spec = spec[: -len(suffix)].rstrip()
            utc = True
            break
    spec = spec.replace("T", " ", 1) if re.match(r"^\d{4}-\d{2}-\d{2}T", spec) else spec
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(spec, fmt)
        except ValueError:
            continue
        if utc:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp())  # naive: local time, as MIT getdate
    raise AdminError(f"invalid time {text!r}: expected {_TIME_HELP}")


def format_duration(seconds: int | None) -> str:
    """MIT ``getprinc`` style: ``1 day 02:30:00``, ``10:00:00``; 0/None as ``0 days 00:00:00``."""
    value = int(seconds or 0)
    days, rest = divmod(value, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if days:
        return f"{days} day{'s' if days != 1 else ''} {clock}"
    return clock


def format_time(epoch: int | None) -> str:
    """MIT ``getprinc`` style for a point in time; None or 0 reads ``[never]``."""
    if not epoch:
        return "[never]"
    return time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(epoch))
