"""Password checks in worker processes, with a bounded queue (has_kdc.plugins.hash_pool)."""

from __future__ import annotations

import contextlib
import os

import pytest

from has_kdc.crypto import enctype_by_id
from has_kdc.plugins.hash_pool import HashPool, HashPoolBusy
from has_kdc.plugins.passwords import ScryptParams, hash_password

FAST = ScryptParams(ln=4)


@pytest.fixture(scope="module")
def pool():
    p = HashPool(workers=2, queue=1)
    p.start()
    yield p
    p.close()


def test_checks_run_in_other_processes_and_agree(pool):
    stored = hash_password("right", params=FAST)
    with pool.slot():
        assert pool.verify_password("right", stored) is True
        assert pool.verify_password("wrong", stored) is False
        assert pool.run(os.getpid) != os.getpid()
        salt = b"HADOOP.COMhdfs"
        assert pool.derive_key(18, b"hdfstest", salt) == enctype_by_id(18).string_to_key(
            b"hdfstest", salt, None
        )


def test_a_damaged_hash_is_an_error_that_does_not_repeat_it(pool):
    with pool.slot(), pytest.raises(ValueError) as err:
        pool.verify_password("right", "$scrypt$garbage-hash-text")
    assert "garbage-hash-text" not in str(err.value)


def test_a_full_queue_refuses_at_once_with_a_retry_after(pool):
    assert pool.capacity == 3
    with contextlib.ExitStack() as held:
        for _ in range(pool.capacity):
            held.enter_context(pool.slot())
        with pytest.raises(HashPoolBusy) as err:
            held.enter_context(pool.slot())
        assert (err.value.status, err.value.error) == (503, "busy")
        assert err.value.retry_after >= 1
    with pool.slot():  # the places came back
        pass


def test_workers_default_to_the_cores_and_queue_to_four_each():
    p = HashPool()
    try:
        assert p.workers == len(os.sched_getaffinity(0))
        assert p.capacity == 5 * p.workers
    finally:
        p.close()
