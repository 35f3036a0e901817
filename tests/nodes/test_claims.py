"""Claims and heartbeats on SQLite and PostgreSQL, with an injected clock: a unit of work is
held by one node until done or until its lease expires; a sweep's turn goes to one node per
interval; a node is up while its heartbeat is fresh."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge.nodes import claims, registry
from bridge.nodes.identity import Node
from tests.conftest import START


def test_a_unit_is_one_nodes_until_done_or_expired(engines):
    at = START
    with engines.write.begin() as conn:
        assert claims.claim(conn, "report", "acme:2026-09", "a", at, 60)
        assert not claims.claim(conn, "report", "acme:2026-09", "b", at, 60)
        assert claims.claim(conn, "report", "acme:2026-09", "a", at, 60), "the holder renews"
        assert claims.claim(conn, "report", "brno:2026-09", "b", at, 60), "another unit"
        # a dead holder: after the lease another node takes the unit over
        later = at + timedelta(seconds=61)
        assert claims.claim(conn, "report", "acme:2026-09", "b", later, 60)
        assert not claims.finish(conn, "report", "acme:2026-09", "a", later), "a lost it"
        assert claims.finish(conn, "report", "acme:2026-09", "b", later)
        # done is done, for everybody, however late
        much_later = later + timedelta(days=1)
        assert not claims.claim(conn, "report", "acme:2026-09", "a", much_later, 60)
        assert not claims.claim(conn, "report", "acme:2026-09", "b", much_later, 60)


def test_a_released_unit_is_free_at_once(engines):
    with engines.write.begin() as conn:
        assert claims.claim(conn, "report", "u", "a", START, 600)
        claims.release(conn, "report", "u", "a")
        assert claims.claim(conn, "report", "u", "b", START, 600)


def test_a_sweep_turn_is_one_nodes_per_interval(engines):
    with engines.write.begin() as conn:
        assert claims.take_turn(conn, "auto-close", "a", START, 10)
        assert not claims.take_turn(conn, "auto-close", "b", START + timedelta(seconds=5), 10)
        assert not claims.take_turn(conn, "auto-close", "a", START + timedelta(seconds=5), 10)
        assert claims.take_turn(conn, "sla-check", "b", START, 10), "each job its own turn"
        next_turn = START + timedelta(seconds=8)
        assert claims.take_turn(conn, "auto-close", "b", next_turn, 10)
        assert not claims.take_turn(conn, "auto-close", "a", next_turn, 10)


def test_a_node_is_up_while_it_heartbeats_and_down_after_down_after(engines):
    one = Node(name="waw-1", site="waw", address="127.0.0.1", port=8080)
    two = Node(name="prg-1", site="prg", address="127.0.0.2", port=8080)
    with engines.write.begin() as conn:
        registry.register(conn, one, START, 20)
        registry.register(conn, two, START, 20)
        registry.heartbeat(conn, one, START + timedelta(seconds=15))
    with engines.read.connect() as conn:
        listed = {n["name"]: n for n in registry.listing(conn, START + timedelta(seconds=25), 20)}
    assert listed["waw-1"]["up"] and listed["waw-1"]["site"] == "waw"
    assert not listed["prg-1"]["up"], "no heartbeat for 25 s"
    assert listed["waw-1"]["heartbeat_at"] == START + timedelta(seconds=15)
    with engines.write.begin() as conn:
        registry.sign_off(conn, one, START + timedelta(seconds=26))
    with engines.read.connect() as conn:
        listed = {n["name"]: n for n in registry.listing(conn, START + timedelta(seconds=26), 20)}
    assert not listed["waw-1"]["up"], "a clean stop is down at once"


def test_a_name_in_use_elsewhere_is_refused_and_a_restart_is_not(engines):
    first = Node(name="n", address="127.0.0.1", port=8080, pid=100)
    with engines.write.begin() as conn:
        registry.register(conn, first, START, 20)
    elsewhere = Node(name="n", address="127.0.0.1", port=8081, pid=200)
    with engines.write.begin() as conn, pytest.raises(registry.NameTaken, match="port|8080"):
        registry.register(conn, elsewhere, START + timedelta(seconds=5), 20)
    restarted = Node(name="n", address="127.0.0.1", port=8080, pid=300)
    with engines.write.begin() as conn:
        registry.register(conn, restarted, START + timedelta(seconds=5), 20)
        # once the old one is down, the name is free anywhere
        registry.register(conn, elsewhere, START + timedelta(seconds=60), 20)
    with engines.read.connect() as conn:
        (row,) = registry.listing(conn, START + timedelta(seconds=60), 20)
    assert (row["port"], row["pid"], row["up"]) == (8081, 200, True)


def test_a_node_holds_the_probe_targets_of_its_unexpired_leases(engines):
    from bridge.store.schema import probe_leases

    one = Node(name="waw-1", site="waw", address="127.0.0.1", port=8080)
    two = Node(name="waw-2", site="waw", address="127.0.0.2", port=8080)
    later = START + timedelta(seconds=30)
    rows = [
        ("acme-edge", "icmp", "waw-1", later),
        ("acme-db", "icmp", "waw-1", later),
        ("acme-web", "icmp", "waw-1", START - timedelta(seconds=1)),  # expired: up for grabs
        ("brno-core", "snmp", "waw-2", later),
        ("brno-core", "icmp", None, None),  # nobody's yet
    ]
    with engines.write.begin() as conn:
        registry.register(conn, one, START, 20)
        registry.register(conn, two, START, 20)
        conn.execute(
            probe_leases.insert(),
            [
                {"device_id": d, "check": c, "site": "waw", "node": n, "lease_until": u}
                for d, c, n, u in rows
            ],
        )
    with engines.read.connect() as conn:
        listed = {n["name"]: n["probe_targets"] for n in registry.listing(conn, START, 20)}
    assert listed == {"waw-1": 2, "waw-2": 1}
