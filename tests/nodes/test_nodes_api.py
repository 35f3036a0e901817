"""Three nodes on one PostgreSQL list each other in /api/v1/nodes and /metrics; a node killed
with SIGKILL turns down once its heartbeat is older than nodes.down_after."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.nodes.cluster import ADMIN, ENGINEER
from tests.nodes.cluster import get as _get
from tests.peers._proc import http_get
from tests.peers.ports import free_tcp_port

pytestmark = [pytest.mark.postgres, pytest.mark.peers]


def _nodes(url: str) -> dict[str, dict]:
    status, body = _get(url + "/api/v1/nodes", ADMIN)
    assert status == 200, body
    return {n["name"]: n for n in json.loads(body)["nodes"]}


def test_every_node_sees_the_others_and_a_killed_one_turns_down(cluster):
    c = cluster(3)
    first = c.nodes[0].url
    for node in c.nodes:
        listed = _nodes(node.url)
        assert sorted(listed) == ["node1", "node2", "node3"]
        assert all(n["up"] and n["site"] == "default" for n in listed.values())
        assert [n for n in listed if listed[n]["this_node"]] == [node.name]
        assert listed[node.name]["port"] == node.port
        assert listed[node.name]["probe_targets"] == 0
    beat = _nodes(first)["node2"]["heartbeat_at"]
    metrics = http_get(first + "/metrics")[1].decode()
    for name in ("node1", "node2", "node3"):
        assert f'slabridge_node_up{{node="{name}",site="default"}} 1.0' in metrics
        assert f'slabridge_node_probe_targets{{node="{name}",site="default"}} 0.0' in metrics
    assert "slabridge_store_transaction_retries_total 0.0" in metrics

    c.kill(2)  # node3
    killed_at = time.monotonic()
    deadline = killed_at + 30
    while _nodes(first)["node3"]["up"]:
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.2)
    # down only after the TTL (5 s), not at once: the row keeps its last heartbeat
    assert time.monotonic() - killed_at > 3
    listed = _nodes(first)
    assert listed["node1"]["up"] and listed["node2"]["up"]
    assert listed["node2"]["heartbeat_at"] > beat, "the living keep heartbeating"
    metrics = http_get(first + "/metrics")[1].decode()
    assert 'slabridge_node_up{node="node3",site="default"} 0.0' in metrics
    assert 'slabridge_node_up{node="node2",site="default"} 1.0' in metrics

    # a clean stop signs off at once
    c.nodes[1].process.stop(timeout=30)
    c.nodes[1].process = None
    assert not _nodes(first)["node2"]["up"]


def test_the_node_list_is_for_admins(cluster):
    c = cluster(1)
    assert _get(c.nodes[0].url + "/api/v1/nodes", ENGINEER)[0] == 403
    assert _get(c.nodes[0].url + "/api/v1/nodes", {})[0] == 401


def test_a_second_live_node_under_a_name_in_use_refuses_to_start(cluster):
    c = cluster(1)
    clash = c.nodes[0]
    argv = c.argv(clash)
    argv[argv.index("--port") + 1] = str(free_tcp_port())
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "node 'node1' is already running" in done.stderr
    assert "Traceback" not in done.stderr
    assert _nodes(clash.url)["node1"]["port"] == clash.port, "the running node keeps its row"
