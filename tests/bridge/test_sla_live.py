"""Live SLA clocks in the running service: the /sla endpoint, warnings and breaches, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

import sla
from bridge import jobs, sla_live
from bridge.api.sla import POLICIES
from bridge.live_clocks import KeptTicket, OpenClocks, figures_of
from bridge.metrics import METRICS
from bridge.metrics.sla_clocks import SlaCollector
from bridge.store.schema import tickets
from tests.conftest import Api


def _gauge(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def _to_breach(text: str) -> float | None:
    return _gauge(text, "slabridge_sla_time_to_breach_seconds", customer="acme", priority="P1")


async def _metrics(api: Api) -> str:
    reply = await api.call("GET", "/metrics", as_=None)
    assert reply.status == 200
    return reply.body


async def test_it_explains_reaction_and_resolution_with_a_pause(api: Api) -> None:
    t = await api.create(priority="P1", origin="phone")  # P1: 15 min reaction, 4 h resolution
    api.clock.advance(timedelta(minutes=10))
    await api.assign(t["id"], "alice")
    api.clock.advance(timedelta(minutes=20))
    await api.move(t["id"], "waiting", reason="asked for logs")
    api.clock.advance(timedelta(hours=1))
    await api.move(t["id"], "in_progress")
    api.clock.advance(timedelta(minutes=5))

    body = await api.ok("GET", f"/api/v1/tickets/{t['id']}/sla")
    assert body["reaction"]["state"] == "met"
    assert body["reaction"]["elapsed_seconds"] == 10 * 60
    res = body["resolution"]
    assert res["state"] == "running"
    # 10 + 20 minutes before the pause, 5 after it; the hour of waiting does not count
    assert res["elapsed_seconds"] == 35 * 60
    assert res["remaining_seconds"] == 4 * 3600 - 35 * 60
    kinds = [(i["kind"], i["business_seconds"]) for i in res["explanation"]]
    assert ("paused", 3600) in kinds
    paused = next(i for i in res["explanation"] if i["kind"] == "paused")
    assert paused["started_by"]["kind"] == "status_changed"
    assert paused["ended_by"]["kind"] == "status_changed"


async def test_a_customer_cannot_see_another_customers_clocks(api: Api) -> None:
    t = await api.create(customer="brno-bank", priority="P2", origin="email")
    mine = await api.call("GET", f"/api/v1/tickets/{t['id']}/sla", as_="brno-portal")
    theirs = await api.call("GET", f"/api/v1/tickets/{t['id']}/sla", as_="acme-portal")
    assert mine.status == 200
    assert theirs.status == 404


async def test_warning_and_breach_go_into_the_history_once(api: Api) -> None:
    t = await api.create(priority="P1", origin="phone")  # reaction target 15 min
    policies = api.app[POLICIES]

    api.clock.advance(timedelta(minutes=13))  # 87 % of the reaction target
    assert await jobs.run_sla_check(api.services, policies) == 1
    assert await jobs.run_sla_check(api.services, policies) == 0
    api.clock.advance(timedelta(minutes=5))  # 18 min: breached
    assert await jobs.run_sla_check(api.services, policies) == 1
    api.clock.advance(timedelta(minutes=5))
    assert await jobs.run_sla_check(api.services, policies) == 0

    history = (await api.get(t["id"]))["history"]
    sla_events = [(e["kind"], e["data"]["clock"]) for e in history if e["kind"].startswith("sla_")]
    assert sla_events == [("sla_warning", "reaction"), ("sla_breach", "reaction")]
    breach = next(e for e in history if e["kind"] == "sla_breach")
    # the breach is recorded at the instant the target was reached, not when the job noticed
    assert breach["at"].startswith("2026-10-05T07:15:00")


async def test_a_check_with_kept_clocks_reads_what_changed_and_finds_what_fell_due(
    api: Api,
) -> None:
    policies = api.app[POLICIES]
    kept, beside = OpenClocks(), OpenClocks()
    p1 = await api.create(priority="P1", origin="phone")  # reaction target 15 min
    p2 = await api.create(priority="P2", origin="phone")  # 30 min

    async def check() -> int:
        # what the kept clocks find equals replaying every open ticket's whole history
        now = api.clock.now()
        with api.engines.read.connect() as conn:
            ids = [i for (i,) in conn.execute(sa.select(tickets.c.id))]
            replayed = [
                due
                for row, history in sla_live.histories(conn, ids)
                if row["status"] != "closed"
                for due in sla_live.due_events(policies, row, history, now)
            ]
            assert sla_live.check_clocks(conn, policies, now, beside) == replayed
        return await jobs.run_sla_check(api.services, policies, kept)

    assert await check() == 0
    assert kept.refetched == 2
    api.clock.advance(timedelta(minutes=13))  # P1 at 87 %, nothing written meanwhile
    assert await check() == 1
    assert kept.refetched == 2  # found without reading either history again
    api.clock.advance(timedelta(minutes=1))
    assert await check() == 0
    assert kept.refetched == 3  # the warning moved P1's version: its new event only
    await api.assign(p1["id"], "alice")  # reaction met; P2 goes on
    api.clock.advance(timedelta(minutes=12))  # P2 at 87 %
    assert await check() == 1
    api.clock.advance(timedelta(minutes=10))  # P2 breached at 07:30
    assert await check() == 1
    assert await check() == 0
    history = (await api.get(p2["id"]))["history"]
    sla_events = [(e["kind"], e["at"][:19]) for e in history if e["kind"].startswith("sla_")]
    assert sla_events == [
        ("sla_warning", "2026-10-05T07:26:00"),
        ("sla_breach", "2026-10-05T07:30:00"),
    ]
    assert not [e for e in (await api.get(p1["id"]))["history"] if e["kind"] == "sla_breach"]


async def test_metrics_follow_the_injected_clock(api: Api) -> None:
    await api.create(priority="P1", origin="phone")
    text = await _metrics(api)
    assert _gauge(text, "slabridge_sla_tickets_breached", customer="acme", priority="P1") == 0
    assert (
        _gauge(text, "slabridge_sla_time_to_breach_seconds", customer="acme", priority="P1") == 900
    )
    assert (
        _gauge(
            text,
            "slabridge_tickets_open",
            customer="acme",
            priority="P1",
            status="new",
            origin="phone",
        )
        == 1
    )

    api.clock.advance(timedelta(minutes=13))
    text = await _metrics(api)
    assert _gauge(text, "slabridge_sla_tickets_at_risk", customer="acme", priority="P1") == 1
    assert (
        _gauge(text, "slabridge_sla_time_to_breach_seconds", customer="acme", priority="P1") == 120
    )

    api.clock.advance(timedelta(minutes=3))
    text = await _metrics(api)
    assert _gauge(text, "slabridge_sla_tickets_breached", customer="acme", priority="P1") == 1
    assert _gauge(text, "slabridge_sla_tickets_at_risk", customer="acme", priority="P1") == 0
    # series exist for every configured customer and priority, at zero when nothing is open
    assert _gauge(text, "slabridge_sla_tickets_breached", customer="ops", priority="P4") == 0


# -- the live gauges fold only what changed since the last scrape ------------------------------

_BUSINESS = sla.Calendar.business_hours(
    "Europe/Prague", {d: ["08:00-12:00", "13:00-17:00"] for d in range(5)}, name="office"
)
_POLICY = sla.SlaPolicy(
    targets={
        "P1": sla.PriorityTargets(900, 4 * 3600, sla.Calendar.always("24x7")),
        "P2": sla.PriorityTargets(3600, 8 * 3600, _BUSINESS),
        "P3": sla.PriorityTargets(4 * 3600, 3 * 86400, _BUSINESS),
    },
    pause_statuses=frozenset({"waiting"}),
)
_STATUSES = ("new", "in_progress", "waiting", "resolved")
_STEP = st.tuples(
    st.integers(min_value=0, max_value=30 * 3600),  # how far the clock moves first
    st.sampled_from(("assign", "status", "priority", "nothing", "scrape-only")),
    st.integers(min_value=0, max_value=3),  # which status / priority / assignee
    st.booleans(),  # scrape after this step?
)


@settings(max_examples=150, deadline=None)
@given(start_prio=st.sampled_from(("P1", "P2", "P3")), steps=st.lists(_STEP, max_size=14))
def test_kept_clocks_equal_a_full_replay_at_every_scrape(
    start_prio: str, steps: list[tuple[int, str, int, bool]]
) -> None:
    now = datetime(2026, 10, 2, 16, 30, 15, tzinfo=UTC)  # a Friday, near closing time
    log = [sla.ClockEvent(now, 1, "created", {"priority": start_prio, "status": "new"})]
    status, prio = "new", start_prio
    kept = KeptTicket()
    kept.add(log, 1)
    unread: list[sla.ClockEvent] = []
    for seconds, action, pick, scrape in steps:
        now += timedelta(seconds=seconds)
        seq = len(log) + len(unread) + 1
        event = None
        if action == "assign":
            event = sla.ClockEvent(now, seq, "assigned", {"assignee": f"eng{pick}"})
        elif action == "status" and _STATUSES[pick] != status:
            event = sla.ClockEvent(
                now, seq, "status_changed", {"from": status, "to": _STATUSES[pick]}
            )
            status = _STATUSES[pick]
        elif action == "priority" and ("P1", "P2", "P3")[pick % 3] != prio:
            new = ("P1", "P2", "P3")[pick % 3]
            event = sla.ClockEvent(now, seq, "priority_changed", {"from": prio, "to": new})
            prio = new
        if event is not None:
            unread.append(event)
        if scrape or action == "scrape-only":
            kept.add(unread, seq)  # what a scrape reads: the events since the last one
            log += unread
            unread = []
            full = figures_of(sla.ticket_clocks(log, _POLICY, now))
            assert kept.figures(_POLICY, now) == full


async def test_a_scrape_reads_the_events_of_changed_tickets_only(api: Api) -> None:
    first = await api.create(priority="P1", origin="phone")
    await api.create(priority="P2", origin="phone")
    collector = next(
        c
        for c in api.app[METRICS].registry._collector_to_names
        if isinstance(c, SlaCollector)  # noqa: SLF001
    )
    await _metrics(api)
    before = collector.clocks.refetched
    api.clock.advance(timedelta(minutes=5))
    await _metrics(api)
    assert collector.clocks.refetched == before  # nothing was written: no events read
    await api.assign(first["id"], "alice")
    api.clock.advance(timedelta(minutes=20))
    text = await _metrics(api)
    assert collector.clocks.refetched == before + 1
    # P1 after 25 min: reaction met at 5 min, resolution 4 h - 25 min left
    assert _to_breach(text) == 4 * 3600 - 25 * 60
