"""A quick schemathesis round over every route of the OpenAPI document (tests/fuzz/http_routes.py).

Seeded, a few cases per operation and caller: before init anonymously and with the
setup token, after init anonymously and as an administrator. Any 5xx other than
health's "down", and any request left without an answer, fails the test; the
report (cases, statuses, the node's RSS before and after) is printed. The long run
is scripts/fuzz-http.sh.
"""

from __future__ import annotations

from tests.fuzz.http_routes import FuzzServer, fuzz

EXAMPLES = 2
SEED = 20260514


def test_no_route_answers_500_or_hangs(tmp_path):
    with FuzzServer(tmp_path / "node") as server:
        report = fuzz(server, examples=EXAMPLES, seed=SEED)
    print("\nschemathesis:", report.summary())
    assert report.server_errors == []
    assert report.hangs == []
    assert report.cases >= 200  # every operation got cases, in every round
    assert len(report.by_round) == 4
