"""The quick mode of the KDC wire fuzzer: 50,000 hostile inputs to a real has-server
over UDP and TCP, and it must neither crash, hang, log a traceback nor grow.

The inputs are seeded (``HAS_KDC_FUZZ_SEED``, default below), so a failure is replayed
by running with the same seed; the batch in flight when the KDC stopped answering is
saved under the test's tmp_path. The long mode (1,000,000 inputs and more) is
``scripts/fuzz-kdc.sh``; tests/fuzz/README.md says what each kind of input is.
"""

from __future__ import annotations

import os

from tests.fuzz.kdc_inputs import KINDS
from tests.fuzz.kdc_wire import (
    TCP_VARIANTS,
    WireFuzzer,
    live_seed_requests,
    start_node,
    target_of,
)

INPUTS = 50_000
SEED = int(os.environ.get("HAS_KDC_FUZZ_SEED", "20261203"))
#: The caches are bounded in bytes (a few tens of MB in all at worst); 50,000 inputs
#: do not fill them.
MAX_RSS_GROWTH = 48 * 1024 * 1024


def test_the_kdc_survives_50000_hostile_inputs(tmp_path):
    node = start_node(tmp_path / "node")
    try:
        fuzzer = WireFuzzer(
            target_of(node),
            live_seed_requests(node.host, node.port, node.realm),
            seed=SEED,
            save_dir=tmp_path / "findings",
        )
        report = fuzzer.run(INPUTS)
    finally:
        node.stop()
    print(report.summary())
    assert report.total == INPUTS
    assert not report.findings, report.summary()
    assert report.rss_after - report.rss_before < MAX_RSS_GROWTH, report.summary()
    # every kind of input went over both transports, with every TCP framing variant
    for kind in KINDS:
        assert report.inputs[f"udp/{kind}"] > 0, kind
        for variant in TCP_VARIANTS:
            assert report.inputs[f"tcp/{variant}/{kind}"] > 0, (variant, kind)
    # the mutations reached the bottom of both exchanges, not only the decoder
    replies = report.replies
    assert replies["udp/AS-REP"] and replies["udp/TGS-REP"], replies
    assert replies["udp/error 24"] and replies["udp/error 31"], replies  # bad preauth, bad TGT
    assert replies["tcp/error 61"], replies  # bad length prefixes answered FIELD_TOOLONG
    # slow partial frames were answered, and the connection cap evicted held ones
    assert report.slow_frames_answered > 0
    assert report.held_connections_closed > 0
