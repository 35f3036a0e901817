"""Timed work with three nodes running the same timers: each ticket auto-closes once, each SLA
warning and breach is written once, and each customer's month report is kept once."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.nodes.cluster import ENGINEER, Cluster, post

pytestmark = [pytest.mark.postgres, pytest.mark.peers]

SLA_TICKETS = 9
CLOSING_TICKETS = 9


def _quick(data: dict) -> None:
    # P1 of the gold policy (acme): warnings at half of 6 s and 12 s, breaches at 6 s and 12 s
    gold = data["sla_policies"]["gold"]
    gold["priorities"]["P1"] = {"reaction": "6s", "resolution": "12s", "calendar": "always"}
    gold["warning_share"] = 0.5
    for customer in data["customers"]:
        if customer["id"] == "acme":
            customer["verification_window"] = "2s"


def _create(c: Cluster, k: int, priority: str) -> str:
    title = f"{priority} ticket {k}"
    fields = {"customer": "acme", "title": title, "priority": priority, "origin": "phone"}
    ticket = post(c.nodes[k % 3].url + "/api/v1/tickets", ENGINEER, fields)
    return ticket["id"]


def _counts(db: sa.Engine) -> dict[str, dict[tuple[int, str], int]]:
    """kind (status_changed:<to>) → (ticket, SLA clock or "") → events."""
    query = sa.text(
        "SELECT CASE WHEN kind = 'status_changed' THEN kind || ':' || (data->>'to') "
        "ELSE kind END, ticket_id, coalesce(data->>'clock', ''), count(*) "
        "FROM ticket_events GROUP BY 1, 2, 3"
    )
    out: dict[str, dict[tuple[int, str], int]] = {}
    with db.connect() as conn:
        for kind, ticket_id, clock, count in conn.execute(query):
            out.setdefault(kind, {})[(ticket_id, clock)] = count
    return out


CLOSERS = sa.text(
    "SELECT DISTINCT actor FROM ticket_events "
    "WHERE kind = 'status_changed' AND data->>'to' = 'closed'"
)
KEPT = sa.text("SELECT customer_id, month, count(*) FROM kept_reports GROUP BY 1, 2")
CLAIMS = sa.text(
    "SELECT unit, claimed_by FROM job_claims WHERE job = 'monthly-report' AND done_at IS NOT NULL"
)


def test_auto_close_sla_warnings_and_kept_reports_happen_once_with_three_nodes(cluster, db):
    c = cluster(3, edit=_quick)
    watched = [_create(c, k, "P1") for k in range(SLA_TICKETS)]
    closing = [_create(c, k, "P4") for k in range(CLOSING_TICKETS)]
    for k, key in enumerate(closing):  # through different nodes
        node = c.nodes[k % 3].url
        post(f"{node}/api/v1/tickets/{key}/assign", ENGINEER, {"assignee": "alice"})
        post(f"{node}/api/v1/tickets/{key}/transition", ENGINEER, {"to": "resolved"})
    with db.connect() as conn:
        ids = dict(conn.execute(sa.text("SELECT title, id FROM tickets")).all())
    sla_ids = {ids[f"P1 ticket {k}"] for k in range(SLA_TICKETS)}
    assert len(watched) == len(sla_ids) == SLA_TICKETS

    clocks = [(t, clock) for t in sla_ids for clock in ("reaction", "resolution")]

    def done(counts: dict[str, dict[tuple[int, str], int]]) -> bool:
        closed = counts.get("status_changed:closed", {})
        breached = counts.get("sla_breach", {})
        return len(closed) >= CLOSING_TICKETS and all(k in breached for k in clocks)

    deadline = time.monotonic() + 90
    while not done(_counts(db)):
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.5)
    time.sleep(3)  # three more sweeps of every node: nothing is written again
    counts = _counts(db)
    closed = counts["status_changed:closed"]
    assert len(closed) == CLOSING_TICKETS and set(closed.values()) == {1}
    # one breach per ticket and clock; a warning at most once (none when a sweep came late
    # enough to find the clock breached already), and written for most
    assert sorted(counts["sla_breach"]) == sorted(clocks)
    assert set(counts["sla_breach"].values()) == {1}
    warned = counts.get("sla_warning", {})
    assert set(warned) <= set(clocks) and set(warned.values()) == {1}
    assert len(warned) >= len(clocks) // 2, warned
    with db.connect() as conn:
        closers = conn.execute(CLOSERS).scalars().all()
        kept = conn.execute(KEPT).all()
        claims = conn.execute(CLAIMS).all()
    assert closers == ["auto-close"]
    assert sorted(customer for customer, _m, _n in kept) == ["acme", "brno-bank", "ops"]
    assert {n for _c, _m, n in kept} == {1}, kept
    assert sorted(u for u, _by in claims) == sorted(f"{c_}:{m}" for c_, m, _n in kept)
    assert {by for _u, by in claims} <= {"node1", "node2", "node3"}


TURN = sa.text("SELECT claimed_by FROM job_claims WHERE job = 'auto-close' AND unit = 'turn'")


def test_when_the_node_doing_a_sweep_is_killed_another_takes_it_over(cluster, db):
    c = cluster(3, edit=_quick)
    deadline = time.monotonic() + 30
    holder = None
    while holder is None:
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.2)
        with db.connect() as conn:
            holder = conn.execute(TURN).scalar()
    k = int(holder.removeprefix("node")) - 1
    c.kill(k)
    alive = next(n for i, n in enumerate(c.nodes) if i != k)
    keys = []
    for n in range(3):
        fields = {"customer": "acme", "title": f"after {n}", "priority": "P4", "origin": "phone"}
        key = post(alive.url + "/api/v1/tickets", ENGINEER, fields)["id"]
        post(f"{alive.url}/api/v1/tickets/{key}/assign", ENGINEER, {"assignee": "alice"})
        post(f"{alive.url}/api/v1/tickets/{key}/transition", ENGINEER, {"to": "resolved"})
        keys.append(key)
    deadline = time.monotonic() + 60
    while len(_counts(db).get("status_changed:closed", {})) < len(keys):
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.5)
    time.sleep(2)
    closed = _counts(db)["status_changed:closed"]
    assert len(closed) == len(keys) and set(closed.values()) == {1}
    with db.connect() as conn:
        assert conn.execute(TURN).scalar() != holder
