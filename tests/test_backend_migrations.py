"""The migration steps both stores run (backend.rows.pending_migrations)."""

from __future__ import annotations

import logging

import pytest

from has_kdc.backend.errors import SchemaError
from has_kdc.backend.rows import Migration, pending_migrations

STEPS: tuple[Migration, ...] = (
    (1, "one", ("CREATE a",)),
    (2, "two", ("CREATE b",)),
    (3, "three", ("ALTER a", "ALTER b")),
)


def test_only_the_steps_between_the_store_and_the_goal_in_order() -> None:
    assert [v for v, _, _ in pending_migrations(STEPS, 0, 3, "db")] == [1, 2, 3]
    assert [v for v, _, _ in pending_migrations(STEPS, 1, 2, "db")] == [2]
    assert list(pending_migrations(STEPS, 3, 3, "db")) == []
    assert list(pending_migrations(STEPS, 2, 1, "db")) == []


def test_a_step_is_logged_once_applied_and_a_failed_one_never(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="has_kdc.backend")
    applied = []
    with pytest.raises(RuntimeError):
        for version, _, _ in pending_migrations(STEPS, 0, 3, "db at x"):
            if version == 2:
                raise RuntimeError("statement failed")
            applied.append(version)
    assert applied == [1]
    assert [r.getMessage() for r in caplog.records] == [
        "db at x: schema upgraded to version 1 (one)"
    ]


def test_a_store_from_a_newer_has_kdc_is_refused_before_any_step() -> None:
    with pytest.raises(SchemaError, match=r"db: schema version 4 is newer .* upgrade has-kdc"):
        next(pending_migrations(STEPS, 4, 3, "db"))
