"""The Galera start rules of roles/has_mariadb (module_utils/has_galera.py), case by case.

What each node reported (``has_galera_node``) goes in, the node to bootstrap and the
nodes to join come out; the molecule scenario ``galera`` runs the same rules on a real
cluster (new cluster, rolling restart, a full stop and start again).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).parent.parent / "module_utils" / "has_galera.py"
_spec = importlib.util.spec_from_file_location("has_galera", _PATH)
assert _spec is not None and _spec.loader is not None
galera = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(galera)

UUID = "1b1c1942-eefe-11f1-b21c-abb59facdbd5"


def stopped(uuid: str = "", seqno: str = "-1", safe: str = "0") -> dict:
    grastate = {"uuid": uuid, "seqno": seqno, "safe_to_bootstrap": safe} if uuid else {}
    return {"running": False, "galera": False, "wsrep": {}, "grastate": grastate}


def running(status: str = "Primary") -> dict:
    return {
        "running": True,
        "galera": True,
        "wsrep": {"wsrep_cluster_status": status, "wsrep_local_state_comment": "Synced"},
        "grastate": {"uuid": UUID, "seqno": "-1", "safe_to_bootstrap": "0"},
    }


def test_a_new_cluster_is_bootstrapped_on_the_bootstrap_host_only():
    nodes = {"db1": stopped(), "db2": stopped(), "db3": stopped()}
    assert galera.plan(nodes, "db1") == {
        "bootstrap": "db1",
        "join": ["db2", "db3"],
        "stop": [],
        "error": None,
    }


def test_a_running_cluster_is_joined_never_bootstrapped():
    nodes = {"db1": stopped(UUID, "-1"), "db2": running(), "db3": stopped()}
    result = galera.plan(nodes, "db1", force_bootstrap="db1")  # even when told to
    assert (result["bootstrap"], result["join"]) == (None, ["db1", "db3"])


def test_the_node_a_clean_stop_left_safe_is_bootstrapped_whatever_the_order():
    nodes = {
        "db1": stopped(UUID, "41"),
        "db2": stopped(UUID, "41"),
        "db3": stopped(UUID, "42", safe="1"),
    }
    assert galera.plan(nodes, "db1")["bootstrap"] == "db3"


def test_after_a_crash_the_operator_decides():
    nodes = {"db1": stopped(UUID), "db2": stopped(UUID), "db3": stopped(UUID)}
    result = galera.plan(nodes, "db1")
    assert result["bootstrap"] is None and result["join"] == []
    assert "none says safe_to_bootstrap: 1" in result["error"]
    assert (
        "db1 seqno -1" in result["error"]
        and "has_mariadb_galera_force_bootstrap" in result["error"]
    )
    forced = galera.plan(nodes, "db1", force_bootstrap="db2")
    assert (forced["bootstrap"], forced["join"], forced["error"]) == ("db2", ["db1", "db3"], None)
    assert "not one of the nodes" in galera.plan(nodes, "db1", force_bootstrap="db9")["error"]


def test_nodes_without_quorum_are_left_to_the_operator():
    nodes = {"db1": running("non-Primary"), "db2": stopped(UUID), "db3": stopped(UUID)}
    result = galera.plan(nodes, "db1")
    assert result["bootstrap"] is None and "pc.bootstrap=YES" in result["error"]
    assert "db1 run without a primary component" in result["error"]


def test_a_standalone_server_is_stopped_first_then_treated_as_stopped():
    standalone = {"running": True, "galera": False, "wsrep": {}, "grastate": {}}
    nodes = {"db1": dict(standalone), "db2": dict(standalone), "db3": stopped()}
    result = galera.plan(nodes, "db1")
    assert result == {
        "bootstrap": "db1",
        "join": ["db2", "db3"],
        "stop": ["db1", "db2"],
        "error": None,
    }


@pytest.mark.parametrize("safe", [["db1", "db2"], []])
def test_zero_or_two_safe_nodes_is_not_guessed(safe):
    nodes = {h: stopped(UUID, "5", safe="1" if h in safe else "0") for h in ("db1", "db2", "db3")}
    assert galera.plan(nodes, "db1")["bootstrap"] is None


def test_grastate_is_read_as_written(tmp_path):
    path = tmp_path / "grastate.dat"
    path.write_text(
        f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID}\nseqno:   -1\nsafe_to_bootstrap: 1\n"
    )
    assert galera.read_grastate(str(path)) == {
        "version": "2.1",
        "uuid": UUID,
        "seqno": "-1",
        "safe_to_bootstrap": "1",
    }
    assert galera.read_grastate(str(tmp_path / "none")) == {}
