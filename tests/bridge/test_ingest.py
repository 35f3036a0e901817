"""The ingest engine below HTTP: routing rules (pure), and ingest through the single writer with
group commit, on SQLite and PostgreSQL: one batch, two writers on one database, a failing
command that must not undo the others.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bridge.alert import Alert, AlertStatus
from bridge.config.models import RouteRule
from bridge.ingest import Context, ingest
from bridge.routing import Router, host_of
from bridge.store import Writer
from bridge.store.schema import alert_keys, ticket_events, tickets
from tests.conftest import START


def alert(identity: str, labels: dict[str, str], status: str = "firing", **kw) -> Alert:
    return Alert(
        source="alertmanager",
        identity=identity,
        status=AlertStatus(status),
        title=f"alert {identity}",
        severity=kw.pop("severity", "critical"),
        labels={"alertname": "DeviceDown", **labels},
        **kw,
    )


# -- routing (pure) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("127.0.10.1:9100", "127.0.10.1"),
        ("127.0.10.1", "127.0.10.1"),
        ("[::1]:9100", "::1"),
        ("::1", "::1"),
        ("acme-db:9100", None),
        ("", None),
        ("127.0.10.1:9100:1", None),
    ],
)
def test_host_of(value, host):
    assert host_of(value) == host


def test_router_rules_in_order(cfg):
    router = Router(cfg)
    rules = cfg.source("prometheus").routing

    def route(labels):
        r = router.route(alert("a", labels), rules)
        return (r.customer_id, r.device_id)

    assert route({"device": "acme-db"}) == ("acme", "acme-db")
    assert route({"instance": "127.0.20.1:1"}) == ("brno-bank", "brno-core")
    assert route({"customer": "ops"}) == ("ops", None)
    assert route({"contract": "CZ-2026-0007"}) == ("brno-bank", None)
    # unknown values of every rule: no customer
    assert route({"device": "x", "instance": "127.9.9.9", "customer": "x", "contract": "x"}) == (
        None,
        None,
    )
    # a device found by a later rule is kept when it belongs to the deciding customer
    assert route({"customer": "acme", "instance": "127.0.10.3:9100"}) == ("acme", "acme-web")


def test_router_map_and_custom_label(cfg):
    router = Router(cfg)
    rules = [
        RouteRule(label="team", to="customer", map={"payments": "brno-bank"}),
        RouteRule(label="host", to="ip"),
    ]
    r = router.route(alert("a", {"team": "payments", "host": "127.0.20.1"}), rules)
    assert (r.customer_id, r.device_id) == ("brno-bank", "brno-core")
    # the map is a whitelist: an unmapped value is not taken as a customer id
    r = router.route(alert("a", {"team": "acme"}), rules)
    assert r.customer_id is None
    # a mapped customer with a device of another customer: the device is dropped
    r = router.route(alert("a", {"team": "payments", "host": "127.0.10.1"}), rules)
    assert (r.customer_id, r.device_id) == ("brno-bank", None)


@pytest.mark.parametrize(
    ("customer", "severity", "priority"),
    [
        ("acme", "critical", "P1"),
        ("acme", " Critical ", "P1"),
        ("acme", "high", "P2"),
        ("acme", "bogus", "P3"),
        ("acme", None, "P3"),
        ("brno-bank", "page", "P1"),
        ("brno-bank", "low", "P4"),
    ],
)
def test_priority_from_policy(cfg, customer, severity, priority):
    assert Router(cfg).priority(customer, severity) == priority


# -- ingest through the writer -------------------------------------------------------------------


def _count(engines, table, *where) -> int:
    with engines.read.connect() as conn:
        q = sa.select(sa.func.count()).select_from(table)
        return int(conn.execute(q.where(*where) if where else q).scalar_one())


def _ingest_fn(cfg, batch, at=START):
    ctx = Context(cfg=cfg, router=Router(cfg))
    source = cfg.source("prometheus")
    return lambda conn: ingest(conn, ctx, source, batch, received_at=at, now=at)


def test_same_alert_twice_in_one_group_commit(cfg, engines):
    writer = Writer(engines.write)
    a = alert("same-1", {"device": "acme-db"})
    # queue both before the writer starts, so they share one transaction
    f1 = writer.submit_sync(_ingest_fn(cfg, [a]))
    f2 = writer.submit_sync(_ingest_fn(cfg, [a, a]))
    writer.start()
    try:
        r1, r2 = f1.result(10), f2.result(10)
    finally:
        writer.stop()
    assert writer.commits == 1
    assert (r1.outcomes["accepted"], r2.outcomes["duplicate"]) == (1, 2)
    assert _count(engines, tickets) == 1
    assert _count(engines, ticket_events) == 1
    with engines.read.connect() as conn:
        assert conn.execute(sa.select(alert_keys.c.count)).scalar_one() == 3


def test_a_failing_command_does_not_undo_the_others(cfg, engines):
    writer = Writer(engines.write)

    def boom(conn):
        _ingest_fn(cfg, [alert("doomed", {"device": "acme-edge"})])(conn)
        raise RuntimeError("refused")

    f1 = writer.submit_sync(_ingest_fn(cfg, [alert("kept-1", {"device": "acme-db"})]))
    f2 = writer.submit_sync(boom)
    f3 = writer.submit_sync(_ingest_fn(cfg, [alert("kept-2", {"device": "acme-web"})]))
    writer.start()
    try:
        assert f1.result(10).outcomes["accepted"] == 1
        with pytest.raises(RuntimeError):
            f2.result(10)
        assert f3.result(10).outcomes["accepted"] == 1
    finally:
        writer.stop()
    with engines.read.connect() as conn:
        ids = sorted(conn.execute(sa.select(alert_keys.c.identity)).scalars())
    assert ids == ["kept-1", "kept-2"]  # the savepoint took "doomed" away, nothing else
    assert _count(engines, tickets) == 2


def test_two_writers_on_one_database_open_one_ticket(cfg, engines, store_url):
    """Two slabridge instances sharing a database: uniqueness is the database's job."""
    from bridge.app import StoreOptions, open_store

    other = open_store(StoreOptions(store_url))
    writers = [Writer(engines.write), Writer(other.write)]
    for w in writers:
        w.start()
    try:
        for n in range(20):
            a = alert(f"race-{n}", {"device": "acme-db"})
            gate = threading.Barrier(2)

            def run(w, a=a, gate=gate):
                gate.wait()
                return w.submit_sync(_ingest_fn(cfg, [a]))

            futs: list = []
            threads = [
                threading.Thread(target=lambda w=w, out=futs: out.append(run(w))) for w in writers
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            outcomes = sorted(next(iter(f.result(20).outcomes.elements())) for f in futs)
            assert outcomes == ["accepted", "duplicate"], (n, outcomes)
    finally:
        for w in writers:
            w.stop()
        other.dispose()
    assert _count(engines, tickets, tickets.c.kind == "incident") == 20
    # the flood behind acme-edge (threshold 5) opened exactly one major incident
    assert _count(engines, tickets, tickets.c.kind == "major") == 1
    with engines.read.connect() as conn:
        per_identity = conn.execute(
            sa.select(tickets.c.dedup_identity, sa.func.count())
            .group_by(tickets.c.dedup_identity)
            .having(sa.func.count() > 1)
        ).all()
    assert per_identity == []


def test_redelivery_after_restart_is_a_duplicate(cfg, engines):
    """The dedup state lives in the store, not in the process."""
    a = alert("persist-1", {"device": "acme-db"})
    for expected in ("accepted", "duplicate", "duplicate"):
        writer = Writer(engines.write)
        writer.start()
        try:
            fut = writer.submit_sync(_ingest_fn(cfg, [a], at=START + timedelta(minutes=1)))
            assert list(fut.result(10).outcomes) == [expected]
        finally:
            writer.stop()
    assert _count(engines, tickets) == 1


def _command(cfg, batch, at=START):
    from bridge.ingest import IngestCommand

    return IngestCommand(
        Context(cfg=cfg, router=Router(cfg)), cfg.source("prometheus"), batch, at, at
    )


def test_a_group_of_ingest_commands_runs_batched_like_one_by_one(cfg, engines):
    """Consecutive ingest commands in one group commit run together (`run_batch`): the same
    alert in two of them still opens one ticket and counts every receipt."""
    writer = Writer(engines.write)
    a = alert("grp-1", {"device": "acme-db"})
    b = alert("grp-2", {"device": "acme-web"})
    futs = [
        writer.submit_sync(_command(cfg, [a])),
        writer.submit_sync(_command(cfg, [a, b])),
        writer.submit_sync(_command(cfg, [b, a], at=START + timedelta(seconds=5))),
    ]
    writer.start()
    try:
        results = [f.result(10) for f in futs]
    finally:
        writer.stop()
    assert writer.commits == 1
    assert [dict(r.outcomes) for r in results] == [
        {"accepted": 1},
        {"duplicate": 1, "accepted": 1},
        {"duplicate": 2},
    ]
    assert _count(engines, tickets) == 2
    assert _count(engines, ticket_events) == 2
    with engines.read.connect() as conn:
        rows = dict(conn.execute(sa.select(alert_keys.c.identity, alert_keys.c.count)).all())
        last = conn.execute(
            sa.select(alert_keys.c.last_seen).where(alert_keys.c.identity == "grp-1")
        ).scalar_one()
    assert rows == {"grp-1": 3, "grp-2": 2}
    assert last == START + timedelta(seconds=5)


def test_a_refused_command_in_a_batched_group_fails_alone(cfg, engines, caplog):
    """A command that raises inside a batched group: the group's savepoint is rolled back and
    its commands run again one savepoint each, so only that one fails; the fallback is logged
    as a WARNING with its cause and counted."""
    from bridge.ingest import IngestCommand

    class Refusing(Router):
        def route(self, a, rules):
            if a.identity == "fb-bad":
                raise RuntimeError("refused")
            return super().route(a, rules)

    bad_ctx = Context(cfg=cfg, router=Refusing(cfg))
    bad = IngestCommand(
        bad_ctx, cfg.source("prometheus"), [alert("fb-bad", {"device": "acme-db"})], START, START
    )
    writer = Writer(engines.write)
    causes: list[Exception] = []
    writer.on_fallback = causes.append
    ok1 = writer.submit_sync(_command(cfg, [alert("fb-1", {"device": "acme-db"})]))
    refused = writer.submit_sync(bad)
    ok2 = writer.submit_sync(_command(cfg, [alert("fb-2", {"device": "acme-web"})]))
    writer.start()
    try:
        assert ok1.result(10).outcomes["accepted"] == 1
        with pytest.raises(RuntimeError):
            refused.result(10)
        assert ok2.result(10).outcomes["accepted"] == 1
    finally:
        writer.stop()
    assert writer.commits == 1
    assert writer.fallbacks == 1 and [str(c) for c in causes] == ["refused"]
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "one by one" in r.message]
    assert len(warnings) == 1 and "RuntimeError: refused" in warnings[0].message
    with engines.read.connect() as conn:
        ids = sorted(conn.execute(sa.select(alert_keys.c.identity)).scalars())
    assert ids == ["fb-1", "fb-2"]
    assert _count(engines, tickets) == 2


def test_a_flood_in_one_group_commit_correlates_like_one_by_one(cfg, engines):
    """New tickets of one group are opened together; correlation still sees each earlier one:
    the fifth of a flood opens the major incident, the rest of the group join it, and every
    ticket's row is the fold of its events."""
    from bridge import projection

    writer = Writer(engines.write)
    futs = [
        writer.submit_sync(_command(cfg, [alert(f"fl-{n}", {"device": "acme-db"})]))
        for n in range(8)
    ]
    futs.append(
        writer.submit_sync(
            _command(cfg, [alert(f"fl-{n}", {"device": "acme-db"}) for n in range(8, 12)])
        )
    )
    writer.start()
    try:
        results = [f.result(10) for f in futs]
    finally:
        writer.stop()
    assert writer.commits == 1
    assert sum(r.outcomes["accepted"] for r in results) == 12
    ids = [t for r in results for t in r.tickets]
    assert len(set(ids)) == 12
    with engines.read.connect() as conn:
        majors = conn.execute(sa.select(tickets).where(tickets.c.kind == "major")).mappings().all()
        assert len(majors) == 1
        children = conn.execute(
            sa.select(tickets.c.id, tickets.c.parent_id).where(tickets.c.kind == "incident")
        ).all()
        assert sorted(c.id for c in children) == sorted(ids)
        assert {c.parent_id for c in children} == {majors[0]["id"]}
        for row in conn.execute(sa.select(tickets)).mappings():
            events = conn.execute(
                sa.select(ticket_events)
                .where(ticket_events.c.ticket_id == row["id"])
                .order_by(ticket_events.c.seq)
            ).mappings()
            assert projection.rebuild(events) == {k: v for k, v in row.items() if k != "id"}


# -- the planner (pure: no database) -------------------------------------------------------------


def _plan(cfg, a: Alert, hot=None, ticket=None, **facts):
    from bridge.intake.plan import plan_alert
    from bridge.intake.snapshot import Facts

    ctx = Context(cfg, Router(cfg))
    return plan_alert(ctx, cfg.source("prometheus"), a, Facts(hot, ticket, **facts))


def _hot(status: str, customer: str | None = "acme", ticket_id: int | None = 7) -> dict:
    return {"identity": "x", "customer_id": customer, "ticket_id": ticket_id,
            "status": status, "count": 3}  # fmt: skip


def _ticket(status: str, close_reason: str | None = None, customer: str = "acme") -> dict:
    return {"id": 7, "status": status, "close_reason": close_reason, "customer_id": customer}


def test_planner_counts_the_same_state_again_and_reopens_only_what_was_really_closed(cfg):
    from bridge.intake.actions import Do

    acme = {"device": "acme-db"}
    firing = alert("x", acme)
    a = _plan(cfg, firing, _hot("acknowledged"), _ticket("in_progress"))
    assert (a.do, a.outcome) == (Do.REPEAT, "duplicate")
    # closed as a duplicate or false alarm: firing again is still a repeat
    a = _plan(cfg, firing, _hot("firing"), _ticket("closed", "duplicate"))
    assert a.do is Do.REPEAT
    # closed after being resolved: a new ticket related to the old one
    a = _plan(cfg, firing, _hot("firing"), _ticket("closed", "resolved"))
    assert (a.do, a.outcome) == (Do.REOPEN, "accepted")
    # firing again during verification: back to work
    assert _plan(cfg, firing, _hot("resolved"), _ticket("resolved")).do is Do.RESUME
    assert _plan(cfg, firing, _hot("resolved"), _ticket("resolved")).firing_changed
    # a kept alert that still routes nowhere is a repeat; once it routes, it opens a ticket
    kept = _hot("firing", customer=None, ticket_id=None)
    a = _plan(cfg, alert("x", {"device": "nowhere"}), kept)
    assert (a.do, a.outcome) == (Do.REPEAT, "unrouted")
    a = _plan(cfg, firing, kept)
    assert (a.do, a.route.customer_id, a.route.device_id) == (Do.OPEN, "acme", "acme-db")
    assert _plan(cfg, alert("y", {"device": "nowhere"})).do is Do.KEEP_UNROUTED


def test_planner_resolves_on_recovery_only_for_customers_who_ask_and_tickets_being_worked(cfg):
    from bridge.intake.actions import Do

    bank = {"instance": "127.0.20.1:9100"}
    resolved = alert("x", bank, status="resolved")
    hot = _hot("firing", customer="brno-bank")
    a = _plan(cfg, resolved, hot, _ticket("in_progress", customer="brno-bank"))
    assert (a.do, a.resolve, a.firing_changed) == (Do.RECOVER, True, True)
    # nobody accepted it yet: only recorded
    a = _plan(cfg, resolved, hot, _ticket("new", customer="brno-bank"))
    assert (a.do, a.resolve) == (Do.RECOVER, False)
    # acme leaves it to the engineer
    a = _plan(cfg, alert("x", {"device": "acme-db"}, status="resolved"), _hot("firing"),
              _ticket("in_progress"))  # fmt: skip
    assert (a.do, a.resolve) == (Do.RECOVER, False)
    # another check still finds the device silent: the ticket stays as it is
    a = _plan(cfg, resolved, hot, _ticket("in_progress", customer="brno-bank"),
              outage_goes_on=True)  # fmt: skip
    assert a.do is Do.RECOVER_OUTAGE_GOES_ON
    # a recovery after the ticket was closed only moves the key
    assert _plan(cfg, resolved, hot, _ticket("closed", "resolved")).do is Do.NOTE_ONLY


def test_planner_asks_for_more_facts_than_the_prefetched_snapshot_holds(cfg):
    from bridge.intake.actions import Do
    from bridge.intake.plan import plan_alert
    from bridge.intake.snapshot import Facts

    ctx = Context(cfg, Router(cfg))
    src = cfg.source("prometheus")
    state = {"id": 7, "status": "in_progress", "close_reason": None}  # no customer_id
    facts = Facts(_hot("firing"), state, complete=False)
    resolved = alert("x", {"device": "acme-db"}, status="resolved")
    assert plan_alert(ctx, src, resolved, facts).do is Do.LOOK_CLOSER
    # a repeat needs nothing more
    assert plan_alert(ctx, src, alert("x", {"device": "acme-db"}), facts).do is Do.REPEAT
