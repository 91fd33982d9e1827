"""KDC listeners on real loopback sockets, with a stand-in handler instead of the KDC.

The stand-in answers ``REQ...`` with ``<transport>:<request>`` and treats anything
else as a message it cannot parse (it raises), the way a KDC meets garbage. A few
requests steer it: ``REQ-none`` (answer nothing), ``REQ-big:N`` (an N-byte reply).
The error builders return recognisable markers in place of the KRB-ERRORs the KDC
layer builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from has_kdc.net import (
    KdcHandlers,
    KdcListener,
    ListenerLimits,
    NetBindError,
    NetStats,
    Transport,
    encode_record,
    serve,
)
from tests.mitkrb import free_port

TOO_BIG = b"KRB-ERROR 52 for "
TOOLONG = b"KRB-ERROR 61"
GENERIC = b"KRB-ERROR 60"
TIMEOUT = 3.0


def stand_in_kdc(request: bytes, transport: Transport, peer: str | None = None) -> bytes | None:
    if not request.startswith(b"REQ"):
        raise ValueError("not a Kerberos message")
    if request == b"REQ-none":
        return None
    if request.startswith(b"REQ-big:"):
        return b"B" * int(request[8:])
    return transport.encode() + b":" + request


def full_handlers() -> KdcHandlers:
    return KdcHandlers(
        handle=stand_in_kdc,
        too_big_reply=lambda request: TOO_BIG + request,
        field_toolong_reply=lambda: TOOLONG,
        generic_error_reply=lambda request: GENERIC,
    )


@contextlib.contextmanager
def running(handlers: KdcHandlers, **options: Any) -> Iterator[KdcListener]:
    """A listener served by its own event loop in a thread; the test uses plain sockets."""
    options.setdefault("host", "127.0.0.1")
    options.setdefault("udp_port", 0)
    options.setdefault("tcp_port", 0)
    bound: list[KdcListener] = []
    failure: list[BaseException] = []
    ready = threading.Event()
    stop = threading.Event()

    async def main() -> None:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_ready(listener: KdcListener) -> None:
            bound.append(listener)
            ready.set()

        threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(stop_event.set)), daemon=True
        ).start()
        await serve(handlers, on_ready=on_ready, stop_event=stop_event, **options)

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT), "listener did not become ready"
    if failure:
        raise failure[0]
    try:
        yield bound[0]
    finally:
        stop.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "listener did not stop"


def udp_ask(address: tuple[str, int], request: bytes, timeout: float = TIMEOUT) -> bytes | None:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(request, address)
        try:
            return sock.recv(70000)
        except TimeoutError:
            return None


def tcp_connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def tcp_read_record(sock: socket.socket) -> bytes:
    (length,) = struct.unpack("!I", recv_exact(sock, 4))
    return recv_exact(sock, length)


def wait_closed_by_peer(sock: socket.socket, timeout: float = TIMEOUT) -> None:
    """Returns once the server has closed the connection (EOF or reset)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass


def udp_address(listener: KdcListener) -> tuple[str, int]:
    return next(addr for kind, addr in listener.addresses if kind == "udp")


def tcp_address(listener: KdcListener) -> tuple[str, int]:
    return next(addr for kind, addr in listener.addresses if kind == "tcp")


# --- UDP ---------------------------------------------------------------------------


def test_udp_request_gets_the_handlers_reply_told_it_came_by_udp() -> None:
    with running(full_handlers()) as listener:
        assert udp_ask(udp_address(listener), b"REQ-1") == b"udp:REQ-1"
        assert listener.stats.requests_udp == 1
        assert listener.stats.replies_udp == 1


def test_garbage_datagrams_then_a_normal_request_is_answered() -> None:
    garbage = [b"", b"\x00", b"\xff" * 7, b"\x6a\x82\xff\xff", bytes(range(256)) * 200]
    with running(full_handlers()) as listener:
        address = udp_address(listener)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for datagram in garbage:
                sock.sendto(datagram, address)
        assert udp_ask(address, b"REQ-after-garbage") == b"udp:REQ-after-garbage"
        assert listener.stats.handler_errors == len(garbage)


def test_handler_raising_gets_the_generic_error_over_udp_and_tcp() -> None:
    with running(full_handlers()) as listener:
        assert udp_ask(udp_address(listener), b"boom") == GENERIC
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(encode_record(b"boom"))
            assert tcp_read_record(sock) == GENERIC
            sock.sendall(encode_record(b"REQ-still-here"))
            assert tcp_read_record(sock) == b"tcp:REQ-still-here"
        assert listener.stats.handler_errors == 2


def test_handler_raising_without_a_generic_builder_is_silence_and_server_lives() -> None:
    with running(KdcHandlers(handle=stand_in_kdc)) as listener:
        assert udp_ask(udp_address(listener), b"boom", timeout=0.3) is None
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(encode_record(b"boom"))
            wait_closed_by_peer(sock)
        assert udp_ask(udp_address(listener), b"REQ-ok") == b"udp:REQ-ok"
        assert listener.stats.dropped == 2


def test_handler_returning_none_sends_nothing_and_closes_tcp() -> None:
    with running(full_handlers()) as listener:
        assert udp_ask(udp_address(listener), b"REQ-none", timeout=0.3) is None
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(encode_record(b"REQ-none"))
            wait_closed_by_peer(sock)


def test_udp_reply_over_the_limit_is_replaced_by_the_too_big_error() -> None:
    limits = ListenerLimits(max_dgram_reply_size=100)
    with running(full_handlers(), limits=limits) as listener:
        address = udp_address(listener)
        assert udp_ask(address, b"REQ-big:100") == b"B" * 100
        assert udp_ask(address, b"REQ-big:101") == TOO_BIG + b"REQ-big:101"
        assert listener.stats.too_big == 1
        # The same reply goes out whole over TCP, where there is no datagram limit.
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(encode_record(b"REQ-big:5000"))
            assert tcp_read_record(sock) == b"B" * 5000


def test_udp_reply_too_big_without_a_builder_is_dropped() -> None:
    limits = ListenerLimits(max_dgram_reply_size=100)
    with running(KdcHandlers(handle=stand_in_kdc), limits=limits) as listener:
        assert udp_ask(udp_address(listener), b"REQ-big:200", timeout=0.3) is None
        assert listener.stats.too_big == 1
        assert listener.stats.dropped == 1


def test_default_udp_limit_follows_mit_and_the_largest_datagram() -> None:
    limits = ListenerLimits()
    assert limits.max_dgram_reply_size == 65536
    assert limits.udp_reply_limit == 65507
    with running(full_handlers()) as listener:
        address = udp_address(listener)
        assert udp_ask(address, b"REQ-big:65507") == b"B" * 65507
        assert udp_ask(address, b"REQ-big:65508") == TOO_BIG + b"REQ-big:65508"


# --- TCP ---------------------------------------------------------------------------


def test_tcp_several_requests_on_one_connection_with_split_writes() -> None:
    with running(full_handlers()) as listener, tcp_connect(tcp_address(listener)) as sock:
        for n in range(3):
            request = b"REQ-split-%d" % n
            record = encode_record(request)
            for i in range(len(record)):  # one byte per write: prefix and body split
                sock.sendall(record[i : i + 1])
                time.sleep(0.001)
            assert tcp_read_record(sock) == b"tcp:" + request
        assert listener.stats.requests_tcp == 3


def test_tcp_pipelined_requests_are_answered_in_order() -> None:
    with running(full_handlers()) as listener, tcp_connect(tcp_address(listener)) as sock:
        sock.sendall(b"".join(encode_record(b"REQ-%d" % n) for n in range(5)))
        assert [tcp_read_record(sock) for _ in range(5)] == [b"tcp:REQ-%d" % n for n in range(5)]


def test_tcp_length_0xffffffff_gets_field_toolong_and_close_then_server_serves() -> None:
    with running(full_handlers()) as listener:
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(b"\xff\xff\xff\xff" + b"junk")
            assert tcp_read_record(sock) == TOOLONG
            wait_closed_by_peer(sock)
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(encode_record(b"REQ-next"))
            assert tcp_read_record(sock) == b"tcp:REQ-next"
        assert udp_ask(udp_address(listener), b"REQ-udp") == b"udp:REQ-udp"
        assert listener.stats.framing_errors == 1


def test_tcp_length_over_the_limit_is_refused_and_the_limit_is_accepted() -> None:
    limits = ListenerLimits(max_tcp_request=1024)
    with running(full_handlers(), limits=limits) as listener:
        with tcp_connect(tcp_address(listener)) as sock:
            request = b"REQ" + b"x" * 1021
            sock.sendall(encode_record(request))
            assert tcp_read_record(sock) == b"tcp:" + request
            sock.sendall(struct.pack("!I", 1025))
            assert tcp_read_record(sock) == TOOLONG
            wait_closed_by_peer(sock)
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(encode_record(b"REQ-after"))
            assert tcp_read_record(sock) == b"tcp:REQ-after"


def test_tcp_bad_length_without_a_builder_just_closes() -> None:
    with running(KdcHandlers(handle=stand_in_kdc)) as listener:
        with tcp_connect(tcp_address(listener)) as sock:
            sock.sendall(b"\x80\x00\x00\x01")
            sock.settimeout(TIMEOUT)
            assert sock.recv(100) == b""
        assert listener.stats.framing_errors == 1


def test_tcp_idle_connection_is_closed_after_the_timeout() -> None:
    limits = ListenerLimits(tcp_idle_timeout=0.3)
    with running(full_handlers(), limits=limits) as listener:
        with (
            tcp_connect(tcp_address(listener)) as silent,
            tcp_connect(tcp_address(listener)) as slow,
        ):
            slow.sendall(encode_record(b"REQ-partial")[:6])  # a request never finished
            started = time.monotonic()
            wait_closed_by_peer(silent)
            wait_closed_by_peer(slow)
            assert 0.2 < time.monotonic() - started < 2.0
        assert listener.stats.tcp_idle_closed == 2
        assert listener.stats.tcp_open == 0


def test_tcp_timer_restarts_after_each_reply() -> None:
    limits = ListenerLimits(tcp_idle_timeout=0.4)
    with (
        running(full_handlers(), limits=limits) as listener,
        tcp_connect(tcp_address(listener)) as sock,
    ):
        for n in range(4):  # 4 x 0.25 s: longer than the timeout in all, shorter each
            time.sleep(0.25)
            sock.sendall(encode_record(b"REQ-%d" % n))
            assert tcp_read_record(sock) == b"tcp:REQ-%d" % n


def test_tcp_connection_cap_closes_the_oldest() -> None:
    limits = ListenerLimits(max_tcp_connections=2)
    with running(full_handlers(), limits=limits) as listener:
        address = tcp_address(listener)
        first, second = tcp_connect(address), tcp_connect(address)
        try:
            for sock in (first, second):  # both accepted before the third arrives
                sock.sendall(encode_record(b"REQ-hello"))
                assert tcp_read_record(sock) == b"tcp:REQ-hello"
            with tcp_connect(address) as third:
                third.sendall(encode_record(b"REQ-third"))
                assert tcp_read_record(third) == b"tcp:REQ-third"
                wait_closed_by_peer(first)
                second.sendall(encode_record(b"REQ-second"))
                assert tcp_read_record(second) == b"tcp:REQ-second"
            assert listener.stats.tcp_evicted == 1
        finally:
            first.close()
            second.close()


# --- addresses ---------------------------------------------------------------------


def test_two_listeners_share_a_port_on_two_loopback_addresses() -> None:
    port = free_port("127.0.1.1")

    def tagged(tag: bytes) -> KdcHandlers:
        return KdcHandlers(handle=lambda request, transport, peer: tag + request)

    with (
        running(tagged(b"node1:"), host="127.0.0.1", udp_port=port, tcp_port=port),
        running(tagged(b"node2:"), host="127.0.1.1", udp_port=port, tcp_port=port),
    ):
        assert udp_ask(("127.0.0.1", port), b"x") == b"node1:x"
        assert udp_ask(("127.0.1.1", port), b"x") == b"node2:x"
        with tcp_connect(("127.0.1.1", port)) as sock:
            sock.sendall(encode_record(b"y"))
            assert tcp_read_record(sock) == b"node2:y"


def test_ipv6_loopback_serves_udp_and_tcp() -> None:
    with running(full_handlers(), host="::1") as listener:
        assert udp_ask(udp_address(listener), b"REQ-v6") == b"udp:REQ-v6"
        with socket.create_connection(tcp_address(listener), timeout=TIMEOUT) as sock:
            sock.sendall(encode_record(b"REQ-v6"))
            assert tcp_read_record(sock) == b"tcp:REQ-v6"


def test_host_name_is_resolved() -> None:
    with running(full_handlers(), host="localhost") as listener:
        hosts = {address[0] for _, address in listener.addresses}
        assert "127.0.0.1" in hosts
        assert udp_ask(("127.0.0.1", listener.port("udp")), b"REQ-name") == b"udp:REQ-name"


def test_only_the_transports_asked_for_are_bound() -> None:
    with running(full_handlers(), tcp_port=None) as listener:
        assert {kind for kind, _ in listener.addresses} == {"udp"}
        with pytest.raises(LookupError):
            listener.port("tcp")


def test_port_in_use_is_a_bind_error_naming_the_address() -> None:
    with running(full_handlers()) as listener:
        port = listener.port("udp")
        expected = rf"UDP 127\.0\.0\.1 port {port}.*already listens"
        with (
            pytest.raises(NetBindError, match=expected),
            running(full_handlers(), udp_port=port, tcp_port=None),
        ):
            pass


def test_unresolvable_host_is_a_bind_error() -> None:
    with (
        pytest.raises(NetBindError, match=r"cannot resolve KDC host 'no-such-kdc\.invalid'"),
        running(full_handlers(), host="no-such-kdc.invalid"),
    ):
        pass


def test_listener_as_context_manager_reports_ready_and_stops() -> None:
    async def main() -> tuple[bool, bytes | None]:
        stats = NetStats()
        async with KdcListener(
            full_handlers(), host="127.0.0.1", udp_port=0, stats=stats
        ) as listener:
            address = udp_address(listener)
            reply = await asyncio.to_thread(udp_ask, address, b"REQ-cm")
            ready = listener.ready.is_set()
        # After stop the port is free again.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(address)
        return ready, reply

    assert asyncio.run(main()) == (True, b"udp:REQ-cm")


def test_handler_failure_is_logged_with_the_length_not_the_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("ERROR", logger="has_kdc.net")
    with running(full_handlers()) as listener:
        assert udp_ask(udp_address(listener), b"boom-secret-bytes") == GENERIC
    records = [r for r in caplog.records if r.name == "has_kdc.net.dispatch"]
    assert len(records) == 1
    text = caplog.text
    assert "17-byte udp request" in text
    assert "ValueError: not a Kerberos message" in text  # the traceback is kept
    assert "secret" not in text
