"""has-server start-up against a store that is not there yet: retry, backoff, fatal errors."""

from __future__ import annotations

import logging
import subprocess
import threading
from dataclasses import replace

import pytest

from has_kdc.backend import BackendError, BackendUnavailable, open_backend
from has_kdc.conf import BackendConfig, load_conf_dir
from has_kdc.node import backend_startup
from has_kdc.node.backend_startup import (
    StoreStartup,
    open_backend_deferred,
    open_backend_with_retry,
    store_location,
)
from tests.hacluster import wait_for
from tests.hasnode import HasNode, script
from tests.mariadb import free_tcp_port


class RecordingEvent(threading.Event):
    """A stop event whose waits are recorded instead of slept; set after ``stop_after``."""

    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop_after = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        if self.stop_after is not None and len(self.waits) >= self.stop_after:
            self.set()
        return self.is_set()


def _mysql(port: int, password: str = "") -> BackendConfig:
    return BackendConfig(
        kind="mysql",
        mysql_host="127.0.0.1",
        mysql_port=port,
        mysql_database="has",
        mysql_user="has",
        mysql_password=password,
    )


def _flaky(failures: int, result: object, error: BackendError | None = None):
    calls = []

    def opener(config, *, migrate):
        calls.append(migrate)
        if len(calls) <= failures:
            raise BackendUnavailable(f"cannot reach {store_location(config)}: refused")
        if error is not None:
            raise error
        return result

    return opener, calls


def test_retries_with_doubling_delays_up_to_the_maximum(caplog):
    config = _mysql(3306)
    opener, calls = _flaky(5, "the backend")
    event = RecordingEvent()
    log = logging.getLogger("test.startup")
    with caplog.at_level(logging.INFO, logger="test.startup"):
        got = open_backend_with_retry(
            config, log=log, stop_event=event, initial=0.5, maximum=3, opener=opener
        )
    assert got == "the backend" and len(calls) == 6
    assert event.waits == [0.5, 1.0, 2.0, 3.0, 3.0]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "MySQL at 127.0.0.1:3306/has unreachable: refused; retrying in 0.5 s"
    assert lines[4].endswith("retrying in 3.0 s")
    assert lines[5].startswith("MySQL at 127.0.0.1:3306/has reachable after")


def test_configuration_errors_are_not_retried():
    denied = BackendError("MySQL at 127.0.0.1:3306/has refused user 'has': access denied")
    opener, calls = _flaky(2, None, error=denied)
    event = RecordingEvent()
    with pytest.raises(BackendError, match="access denied"):
        open_backend_with_retry(_mysql(3306), stop_event=event, opener=opener)
    assert len(calls) == 3 and len(event.waits) == 2


def test_stop_ends_the_waiting():
    opener, calls = _flaky(100, None)
    event = RecordingEvent(stop_after=3)
    assert open_backend_with_retry(_mysql(3306), stop_event=event, opener=opener) is None
    assert len(calls) == 3


def test_real_unreachable_port_is_reported_and_retried(caplog):
    port = free_tcp_port()  # nothing listens there
    event = RecordingEvent(stop_after=2)
    with caplog.at_level(logging.WARNING, logger="has_kdc.server"):
        assert open_backend_with_retry(_mysql(port, "s3cret-pw"), stop_event=event) is None
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert f"MySQL at 127.0.0.1:{port}/has unreachable: (2003)" in text
    assert "retrying in 0.5 s" in text and "retrying in 1.0 s" in text
    assert "s3cret-pw" not in text


def test_access_denied_is_final_and_hides_the_password(mysql_backend_config):
    wrong = replace(mysql_backend_config, mysql_password="not-the-Password-9")
    event = RecordingEvent()
    with pytest.raises(BackendError) as raised:
        open_backend_with_retry(wrong, stop_event=event)
    assert not isinstance(raised.value, BackendUnavailable)
    assert "access denied" in str(raised.value) and "mysql_password" in str(raised.value)
    assert "not-the-Password-9" not in str(raised.value)
    assert event.waits == []


def test_has_server_exits_with_a_clear_message_on_access_denied(mysql_backend_config, tmp_path):
    wrong = replace(mysql_backend_config, mysql_password="not-the-Password-9")
    node = HasNode(tmp_path, host="127.0.1.1", backend=wrong)
    proc = subprocess.run(
        [script("has-server"), str(node.conf_dir), "--daemon", "--pidfile", str(node.pidfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "access denied" in proc.stderr and "not-the-Password-9" not in proc.stderr
    assert not node.pidfile.exists()


def test_deferred_mysql_backend_does_not_connect():
    backend = open_backend_deferred(_mysql(free_tcp_port()))
    try:
        with pytest.raises(BackendUnavailable):
            backend.change_counter()  # only now, and only an error the KDC answers with 29
    finally:
        backend.close()


def test_background_registers_the_node_once_the_store_answers(tmp_path, monkeypatch):
    node = HasNode(tmp_path, host="127.0.1.1")
    conf = load_conf_dir(node.conf_dir)
    node.init()
    real_open = backend_startup.open_backend
    attempts = []

    def flaky_open(config, *, migrate=True):
        attempts.append(1)
        if len(attempts) <= 3:
            raise BackendUnavailable(f"cannot reach {store_location(config)}: refused")
        return real_open(config, migrate=migrate)

    monkeypatch.setattr(backend_startup, "open_backend", flaky_open)
    startup = StoreStartup(conf, initial=0.01, maximum=0.02)
    assert not startup.first_attempt()
    startup.start_background()
    assert startup.done.wait(10)
    startup.stop()
    startup.raise_fatal()
    with open_backend(conf.backend) as backend:
        assert backend.list_nodes() == ["127.0.1.1"]
        assert backend.get_principal("HTTP/127.0.1.1@HADOOP.COM") is not None


def test_background_configuration_error_is_fatal(tmp_path, monkeypatch):
    node = HasNode(tmp_path, host="127.0.1.1")
    attempts = []

    def failing_open(config, *, migrate=True):
        attempts.append(1)
        if len(attempts) <= 2:
            raise BackendUnavailable("cannot reach it: refused")
        raise BackendError("MySQL refused user 'has': access denied")

    monkeypatch.setattr(backend_startup, "open_backend", failing_open)
    fatal = []
    startup = StoreStartup(
        load_conf_dir(node.conf_dir), initial=0.01, maximum=0.02, on_fatal=fatal.append
    )
    assert not startup.first_attempt()
    startup.start_background()
    wait_for(lambda: fatal, 10)
    startup.stop()
    assert [str(e) for e in fatal] == ["MySQL refused user 'has': access denied"]
    with pytest.raises(BackendError, match="access denied"):
        startup.raise_fatal()
    assert not startup.done.is_set()
