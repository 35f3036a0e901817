"""Correlation at the intake, on SQLite and PostgreSQL: one silent device is one ticket whatever
checks notice it, and a major incident counts the alerts that are still firing.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bridge import probing
from bridge.alert import Alert, AlertStatus
from bridge.ingest import Context, ingest
from bridge.routing import Router
from bridge.store.schema import alert_keys, ticket_events, tickets
from probes.state import CHECK_ICMP, CHECK_SNMP, State, StateChange
from tests.conftest import START


def _feed(cfg, engines, source, batch, at):
    ctx = Context(cfg=cfg, router=Router(cfg))
    with engines.write.begin() as conn:
        return ingest(conn, ctx, source, batch, received_at=at, now=at)


def _probe(cfg, engines, check, old, new, at):
    change = StateChange("brno-core", check, old, new, at, rule="down_after_n")
    pa = probing.change_to_alert(change, cfg.device("brno-core"), None)
    return _feed(cfg, engines, pa.source, [pa.alert], at)


def _rows(engines, table, *where, order=None):
    with engines.read.connect() as conn:
        q = sa.select(table).where(*where)
        return [dict(r) for r in conn.execute(q.order_by(order) if order is not None else q)
                .mappings()]  # fmt: skip


def _history(engines, ticket_id):
    return _rows(engines, ticket_events, ticket_events.c.ticket_id == ticket_id,
                 order=ticket_events.c.seq)  # fmt: skip


def test_a_silent_device_is_one_ticket_whichever_check_notices_first(cfg, engines):
    t = START
    down, up = State.DOWN, State.UP
    first = _probe(cfg, engines, CHECK_SNMP, up, down, t)
    second = _probe(cfg, engines, CHECK_ICMP, up, down, t + timedelta(seconds=10))
    assert second.tickets == first.tickets
    [ticket] = _rows(engines, tickets)
    assert ticket["title"] == "brno-core does not answer SNMP"
    kinds = [e["kind"] for e in _history(engines, ticket["id"])]
    # ping's observation is attached; its priority (P1 for critical) is the ticket's now
    assert kinds == ["created", "alert_attached", "priority_changed"]
    assert ticket["priority"] == "P1"
    keys = {k["identity"]: k["ticket_id"] for k in _rows(engines, alert_keys)}
    assert keys == {"brno-core:snmp": ticket["id"], "brno-core:icmp": ticket["id"]}

    # ping answers again, SNMP still does not: the outage goes on
    _probe(cfg, engines, CHECK_ICMP, down, up, t + timedelta(minutes=5))
    history = _history(engines, ticket["id"])
    assert [e["kind"] for e in history][-1] == "alert_attached"
    assert "recovery" not in [e["kind"] for e in history]
    # the last silent check recovers: the ticket hears of the recovery once
    _probe(cfg, engines, CHECK_SNMP, down, up, t + timedelta(minutes=6))
    kinds = [e["kind"] for e in _history(engines, ticket["id"])]
    assert kinds.count("recovery") == 1 and kinds[-1] == "recovery"
    assert len(_rows(engines, tickets)) == 1

    # silent again while nobody has closed the ticket: both checks fire on it again
    _probe(cfg, engines, CHECK_ICMP, up, down, t + timedelta(hours=1))
    _probe(cfg, engines, CHECK_SNMP, up, down, t + timedelta(hours=1, seconds=5))
    assert [r["id"] for r in _rows(engines, tickets)] == [ticket["id"]]
    notes = [e["data"].get("note") for e in _history(engines, ticket["id"])][-2:]
    assert notes == ["fired again", "fired again"]


def test_after_an_outage_ticket_is_closed_the_next_outage_opens_one_ticket(cfg, engines):
    from bridge import tickets as tk
    from bridge.lifecycle import CloseReason, Status

    t = START
    _probe(cfg, engines, CHECK_ICMP, State.UP, State.DOWN, t)
    [ticket] = _rows(engines, tickets)
    with engines.write.begin() as conn:
        row = tk.load(conn, ticket["id"])
        tk.transition(conn, row, Status.CLOSED, cfg=cfg, at=t, actor="alice", now=t,
                      close_reason=CloseReason.FALSE_ALARM)  # fmt: skip
    _probe(cfg, engines, CHECK_ICMP, State.DOWN, State.UP, t + timedelta(seconds=20))
    _probe(cfg, engines, CHECK_SNMP, State.UP, State.DOWN, t + timedelta(seconds=30))
    _probe(cfg, engines, CHECK_ICMP, State.UP, State.DOWN, t + timedelta(seconds=40))
    opened = _rows(engines, tickets, tickets.c.id != ticket["id"])
    assert [o["title"] for o in opened] == ["brno-core does not answer SNMP"]
    kinds = [e["kind"] for e in _history(engines, opened[0]["id"])]
    assert kinds == ["created", "alert_attached", "priority_changed"]


def _alert(n: int, status: str = "firing") -> Alert:
    return Alert(
        source="alertmanager",
        identity=f"flood-{n}",
        status=AlertStatus(status),
        title=f"service {n} down",
        severity="critical",
        labels={"alertname": "ServiceDown", "device": "acme-db"},
    )


def test_a_major_incident_counts_only_what_still_fires(cfg, engines):
    source = cfg.source("prometheus")
    t = START

    def feed(batch, seconds):
        return _feed(cfg, engines, source, batch, t + timedelta(seconds=seconds))

    feed([_alert(n) for n in range(4)], 0)
    feed([_alert(0, "resolved"), _alert(1, "resolved")], 10)
    # two firing, then a third and a fourth: below the threshold of five
    feed([_alert(4)], 20)
    feed([_alert(5)], 25)
    assert _rows(engines, tickets, tickets.c.kind == "major") == []
    feed([_alert(6)], 30)
    [major] = _rows(engines, tickets, tickets.c.kind == "major")
    assert major["title"] == "Major incident: alert ServiceDown (5 alerts)"
    children = _rows(engines, tickets, tickets.c.parent_id == major["id"])
    assert {c["dedup_identity"] for c in children} == {f"flood-{n}" for n in range(2, 7)}

    def title():
        return _rows(engines, tickets, tickets.c.id == major["id"])[0]["title"]

    feed([_alert(n) for n in range(7, 10)], 40)
    assert title() == "Major incident: alert ServiceDown (8 alerts)"
    feed([_alert(7, "resolved"), _alert(8, "resolved")], 50)
    assert title() == "Major incident: alert ServiceDown (6 alerts)"
    feed([_alert(7)], 60)  # fires again
    assert title() == "Major incident: alert ServiceDown (7 alerts)"
    kinds = [e["kind"] for e in _history(engines, major["id"])]
    assert kinds[0] == "created" and set(kinds[1:]) == {"retitled"}
    from bridge import projection

    rebuilt = projection.rebuild(_history(engines, major["id"]))
    assert rebuilt["title"] == title()
