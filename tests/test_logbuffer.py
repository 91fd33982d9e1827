"""The batched log handler: MIT-style lines as logging words them, written in batches."""

from __future__ import annotations

import io
import logging
import os
import threading

import pytest

from has_kdc.logbuffer import LOG_FORMAT, BatchedLogHandler
from tests.hacluster import eventually


def test_a_fast_line_is_the_formatter_s_line(monkeypatch):
    now = 1_790_000_000.0421
    monkeypatch.setattr("has_kdc.logbuffer.time.time", lambda: now)
    out = io.StringIO()
    handler = BatchedLogHandler(out, close_stream=False)
    message = "AS_REQ (1 etypes {aes256-cts-hmac-sha1-96(18)}) 127.0.0.1: ISSUE: ..."
    handler.line("has_kdc.kdc", "INFO", message)
    handler.flush()
    record = logging.LogRecord("has_kdc.kdc", logging.INFO, __file__, 1, message, None, None)
    record.created, record.msecs = now, int((now - int(now)) * 1000)
    assert out.getvalue() == logging.Formatter(LOG_FORMAT).format(record) + "\n"
    assert f" {os.getpid()} INFO has_kdc.kdc: AS_REQ" in out.getvalue()
    assert ",042 " in out.getvalue()


def test_request_lines_wait_for_a_batch_a_record_or_a_flush():
    out = io.StringIO()
    handler = BatchedLogHandler(out, interval=3600, max_lines=3, close_stream=False)
    logger = logging.getLogger("test.logbuffer.batch")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    try:
        handler.line("has_kdc.kdc", "INFO", "one")
        handler.line("has_kdc.kdc", "INFO", "two")
        assert out.getvalue() == ""  # still in memory
        handler.line("has_kdc.kdc", "INFO", "three")  # max_lines: written together
        assert [line.rsplit(": ", 1)[1] for line in out.getvalue().splitlines()] == [
            "one",
            "two",
            "three",
        ]
        handler.line("has_kdc.kdc", "INFO", "four")
        assert "four" not in out.getvalue()
        logger.info("five %s", "percent-args")  # any record goes out at once, in order
        assert out.getvalue().splitlines()[-2].endswith("has_kdc.kdc: four")
        assert (
            out.getvalue().splitlines()[-1].endswith("INFO test.logbuffer.batch: five percent-args")
        )
        handler.line("has_kdc.kdc", "INFO", "six")
        handler.close()  # what logging.shutdown does at exit
        assert out.getvalue().splitlines()[-1].endswith("has_kdc.kdc: six")
    finally:
        logger.handlers = []


def test_a_quiet_log_is_still_written_by_the_background_flush():
    out = io.StringIO()
    handler = BatchedLogHandler(out, interval=0.05, close_stream=False)
    try:
        handler.line("has_kdc.kdc", "INFO", "alone")

        def written() -> None:
            assert "has_kdc.kdc: alone" in out.getvalue()

        eventually(written)
    finally:
        handler.close()


def test_a_file_handler_appends_and_a_closed_stream_does_not_raise(tmp_path):
    path = tmp_path / "has-server.log"
    path.write_text("earlier\n")
    handler = BatchedLogHandler.to_file(path)
    handler.line("has_kdc.kdc", "INFO", "later")
    handler.close()
    assert path.read_text().splitlines()[0] == "earlier"
    assert path.read_text().splitlines()[1].endswith("has_kdc.kdc: later")
    broken = BatchedLogHandler(io.StringIO(), close_stream=False)
    broken.stream.close()
    broken.line("has_kdc.kdc", "INFO", "lost")
    with pytest.raises(ValueError):
        broken.stream.write("x")
    broken.flush()  # a closed stream (or a full disk) must not stop the KDC


def test_lines_added_while_another_thread_writes_are_each_written_once_in_order():
    # The KDC appends without the lock while the background flush and other records
    # write: no line may be lost, doubled or moved.
    out = io.StringIO()
    handler = BatchedLogHandler(out, interval=3600, max_lines=97, close_stream=False)
    add = handler.lines_of("has_kdc.kdc", "INFO")
    stop = threading.Event()

    def flush_all_the_time() -> None:
        while not stop.is_set():
            handler.flush()

    writer = threading.Thread(target=flush_all_the_time)
    writer.start()
    try:
        for i in range(20_000):
            add(f"request {i}")
    finally:
        stop.set()
        writer.join()
    handler.close()
    numbers = [int(line.rsplit(" ", 1)[1]) for line in out.getvalue().splitlines()]
    assert numbers == list(range(20_000))


def test_a_forked_child_writes_its_own_lines_under_its_own_pid(tmp_path):
    path = tmp_path / "has-server.log"
    handler = BatchedLogHandler.to_file(path, interval=3600)
    add = handler.lines_of("has_kdc.kdc", "INFO")
    add("parent before")
    pid = os.fork()
    if pid == 0:  # the child: logging re-initializes handlers at fork
        try:
            add("child")
            handler.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    add("parent after")
    handler.close()
    lines = path.read_text().splitlines()
    assert sorted(line.rsplit(": ", 1)[1] for line in lines) == [
        "child",
        "parent after",
        "parent before",
    ]
    child = next(line for line in lines if line.endswith(": child"))
    assert f" {pid} INFO has_kdc.kdc: child" in child
    assert all(f" {os.getpid()} INFO" in line for line in lines if line != child)
