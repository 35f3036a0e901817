"""Probing shared by leases across nodes and sites: real `slabridge serve` processes on one
PostgreSQL, real ICMP on loopback from each site's own source address, nftables on lo."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.nodes.probe_sites import (
    INTERVAL,
    SOURCES,
    TTL,
    ProbeCluster,
    SiteRules,
    device_ip,
    held,
    open_states,
    sites_config,
    tickets,
    wait_for,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def rules() -> Iterator[SiteRules]:
    r = SiteRules()
    try:
        yield r
    finally:
        r.remove()


@pytest.fixture
def probe_cluster(pg_url: str):
    made: list[ProbeCluster] = []

    def start(nodes: int, edit) -> ProbeCluster:
        c = ProbeCluster(pg_url, nodes, edit)
        made.append(c)
        c.start()
        return c

    try:
        yield start
    finally:
        for c in made:
            c.cleanup()


def _now() -> datetime:
    return datetime.now(UTC)


def test_three_nodes_probe_each_target_once_per_site_and_take_over_a_killed_node(
    probe_cluster, db: sa.Engine
) -> None:
    n = 300
    c = probe_cluster(3, sites_config(n))  # node1 waw, node2 prg, node3 waw

    def split() -> bool:
        h = held(db)
        waw = [h.get(("waw", "node1"), 0), h.get(("waw", "node3"), 0)]
        share = n // 2 + max(1, round(n / 2 * 0.05))
        return h.get(("prg", "node2"), 0) == n and sum(waw) == n and max(waw) <= share

    wait_for("waw's targets split between its two nodes", split, 60, c.logs)
    time.sleep(INTERVAL)  # claims settle; sweeps already running
    t0 = _now()
    time.sleep(5 * INTERVAL)
    t1 = _now()
    window = [s for s in c.sweeps() if t0 <= s["at"] < t1]
    by_site: dict[str, Counter[str]] = defaultdict(Counter)
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sweep in window:
        for device in sweep["devices"]:
            by_site[sweep["site"]][device] += 1
            owners[(sweep["site"], device)].add(sweep["node"])
    devices = {f"dev{i:04d}" for i in range(n)}
    for site in ("waw", "prg"):
        assert set(by_site[site]) == devices, f"every device probed from {site}"
        # five intervals in the window: five probes, one more or less at its edges
        assert set(by_site[site].values()) <= {4, 5, 6}, (site, Counter(by_site[site].values()))
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared, (len(shared), [
        (s["at"], s["node"], len(s["devices"])) for s in window if s["site"] == "waw"
    ], c.logs())  # fmt: skip
    assert {n for (site, _), ns in owners.items() if site == "waw" for n in ns} == {
        "node1",
        "node3",
    }

    # SIGKILL node3 in the middle of its cycle; node1 takes its targets over
    theirs = {d for (site, d), ns in owners.items() if site == "waw" and ns == {"node3"}}

    def node3_last() -> datetime:
        return max(s["at"] for s in c.sweeps() if s["node"] == "node3")

    last = node3_last()
    wait_for("a new node3 sweep", lambda: node3_last() > last, 10, c.logs)
    time.sleep(INTERVAL / 2)
    killed = _now()
    c.kill(2)
    bound = timedelta(seconds=TTL + INTERVAL)  # its leases lapse, then one interval at most
    time.sleep(bound.total_seconds() + INTERVAL)
    after = [s for s in c.sweeps() if s["node"] == "node1" and s["at"] > killed]
    first: dict[str, datetime] = {}
    for sweep in after:
        for device in sweep["devices"]:
            first.setdefault(device, sweep["at"])
    assert theirs <= set(first), "every target of the killed node probed again"
    late = {d: first[d] - killed for d in theirs if first[d] - killed > bound}
    assert not late, f"taken over later than TTL + interval: {late}"
    assert held(db).get(("waw", "node1")) == n
    # no gap: the site's intervals and the decisions carried on up, nothing else recorded
    with db.connect() as conn:
        other = conn.execute(
            sa.text(
                "SELECT site, state, count(*) FROM device_states "
                "WHERE state <> 'up' GROUP BY site, state"
            )
        ).all()
    assert other == []
    assert len(open_states(db, "waw")) == n and len(open_states(db, "*")) == n
    assert tickets(db) == []


def test_a_device_down_from_one_site_opens_no_ticket_with_quorum_two_and_one_from_both(
    probe_cluster, db: sa.Engine, rules: SiteRules
) -> None:
    n = 20
    c = probe_cluster(2, sites_config(n, quorum=2))  # node1 waw, node2 prg
    wait_for("every decision up", lambda: len(open_states(db, "*")) == n and all(
        s == "up" for s, _ in open_states(db, "*").values()), 60, c.logs)  # fmt: skip
    silent = [f"dev{i:04d}" for i in range(3)]
    ips = [device_ip(i) for i in range(3)]

    rules.set(rules.drop_replies(SOURCES["waw"], ips))
    wait_for("down from waw", lambda: all(
        open_states(db, "waw")[d][0] == "down" for d in silent), 30, c.logs)  # fmt: skip
    time.sleep(2 * INTERVAL)
    assert tickets(db) == [], "one site of two is not a quorum of two"
    assert {d: s for d, (s, _) in open_states(db, "prg").items() if d in silent} == dict.fromkeys(
        silent, "up"
    )
    assert all(open_states(db, "*")[d][0] == "up" for d in silent)

    rules.set(rules.drop_replies(SOURCES["waw"], ips), rules.drop_replies(SOURCES["prg"], ips))
    wait_for("decided down", lambda: all(
        open_states(db, "*")[d][0] == "down" for d in silent), 30, c.logs)  # fmt: skip
    time.sleep(2 * INTERVAL)
    opened = tickets(db)
    assert sorted(d for _, d, _ in opened) == silent, "one ticket per device, not per site"

    rules.set()
    wait_for("decided up again", lambda: all(
        open_states(db, "*")[d][0] == "up" for d in silent), 30, c.logs)  # fmt: skip
    assert len(tickets(db)) == len(silent)


def test_a_site_that_loses_its_own_network_is_probe_impaired_not_a_customer_outage(
    probe_cluster, db: sa.Engine, rules: SiteRules
) -> None:
    n = 20
    c = probe_cluster(2, sites_config(n, quorum=1, references=True))
    wait_for("every device up from both sites", lambda: all(
        len(open_states(db, s)) == n and all(st == "up" for st, _ in open_states(db, s).values())
        for s in ("waw", "prg")), 60, c.logs)  # fmt: skip

    waw = SOURCES["waw"]
    rules.set(f"ip saddr {waw}", f"ip daddr {waw}")
    wait_for("waw's observations unknown", lambda: all(
        st == "unknown" and det.get("rule") == "probe_impaired"
        for st, det in open_states(db, "waw").values()), 30, c.logs)  # fmt: skip
    time.sleep(3 * INTERVAL)  # long past down_after: still nothing for the customer
    everything = tickets(db)
    assert [t for t in everything if t[0] != "ops"] == []
    ops = [t for t in everything if t[0] == "ops"]
    assert len(ops) == 1 and "waw" in ops[0][2] and "node1" in ops[0][2]
    assert all(st == "up" for st, _ in open_states(db, "*").values())
    assert all(st == "up" for st, _ in open_states(db, "prg").values())

    rules.set()
    wait_for("waw sees its devices up again", lambda: all(
        st == "up" for st, _ in open_states(db, "waw").values()), 30, c.logs)  # fmt: skip
    with db.connect() as conn:
        status = conn.execute(
            sa.text("SELECT status FROM alert_keys WHERE source = 'probe.health'")
        ).scalar_one()
    assert status == "resolved"
    assert len(tickets(db)) == 1
