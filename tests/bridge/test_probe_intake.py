"""Probe changes reach tickets through the same intake as webhooks, without the HTTP layer: the
state interval and the ticket change are committed together, and /metrics counts probe alerts
under their own source label.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from bridge import reporting
from bridge.app import PROBER, build_app
from bridge.store.schema import device_states, tickets
from probes.icmp import IcmpCapability
from probes.state import CHECK_ICMP, CHECK_SNMP, State, StateChange

_NO_ICMP = IcmpCapability(
    raw_v4=False, raw_v6=False, dgram_v4=False, dgram_v6=False, ping_group_range=(1, 0), gid=65534
)


@pytest.fixture
async def probed(cfg, engines, clock, aiohttp_client, monkeypatch):
    # SNMP alone is enough here: nothing is probed, the test hands the prober its changes
    monkeypatch.setattr("bridge.probing.service.detect_icmp_capability", lambda: _NO_ICMP)
    app = build_app(cfg, engines, clock=clock, run_scheduler=False, run_probes=True)
    client = await aiohttp_client(app)
    return app, client


def _count(engines, table) -> int:
    with engines.read.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _down(clock) -> StateChange:
    return StateChange(
        "brno-core", CHECK_SNMP, State.UP, State.DOWN, clock.now(), rule="down_after_n",
        since=clock.now() - timedelta(seconds=120),
    )  # fmt: skip


async def test_a_probe_alert_is_counted_under_the_probe_source(probed, engines, clock):
    app, client = probed
    await app[PROBER].on_change(_down(clock))
    assert _count(engines, tickets) == 1
    with engines.read.connect() as conn:
        states = conn.execute(sa.select(device_states.c.state)).scalars().all()
    assert "down" in states
    text = await (await client.get("/metrics")).text()
    assert 'slabridge_alerts_received_total{outcome="accepted",source="probe"} 1.0' in text
    assert 'slabridge_alerts_received_total{outcome="accepted",source="_unknown"} 0.0' in text


async def _refused_ticket_write_leaves_nothing(app, engines, clock, monkeypatch) -> None:
    """A down change whose ticket write fails leaves no state interval of any site."""
    before = _count(engines, device_states)

    def refuse(*_args, **_kwargs):
        raise RuntimeError("ticket write refused")

    monkeypatch.setattr("bridge.incidents.outage_ticket", refuse)
    with pytest.raises(RuntimeError, match="ticket write refused"):
        await app[PROBER].on_change(_down(clock))
    assert _count(engines, device_states) == before
    assert _count(engines, tickets) == 0


async def test_a_failed_ticket_write_leaves_no_orphan_interval(probed, engines, clock, monkeypatch):
    app, _client = probed
    await _refused_ticket_write_leaves_nothing(app, engines, clock, monkeypatch)


@pytest.fixture
async def probed_from_two_sites(make_config, engines, clock, aiohttp_client, monkeypatch):
    """This node's site and another: each change is decided by quorum (one site enough)."""

    def two_sites(data):
        data["probing"]["sites"] = {"default": {}, "prg": {}}

    cfg = make_config(two_sites)
    monkeypatch.setattr("bridge.probing.service.detect_icmp_capability", lambda: _NO_ICMP)
    app = build_app(cfg, engines, clock=clock, run_scheduler=False, run_probes=True)
    await aiohttp_client(app)
    return app


async def test_a_quorum_decision_and_its_ticket_are_committed_together(
    probed_from_two_sites, engines, clock
):
    app = probed_from_two_sites
    await app[PROBER].on_change(_down(clock))
    with engines.read.connect() as conn:
        sites = conn.execute(sa.select(device_states.c.site, device_states.c.state)).all()
    assert ("default", "down") in sites and ("*", "down") in sites
    assert _count(engines, tickets) == 1


async def test_a_failed_ticket_write_leaves_no_orphan_quorum_decision(
    probed_from_two_sites, engines, clock, monkeypatch
):
    await _refused_ticket_write_leaves_nothing(probed_from_two_sites, engines, clock, monkeypatch)


async def test_time_the_probes_were_impaired_is_its_own_line_in_the_report_and_opens_nothing(
    probed, cfg, engines, clock
):
    app, _client = probed
    prober = app[PROBER]
    began = clock.now() - timedelta(hours=2)
    up = StateChange("brno-core", CHECK_ICMP, State.UNKNOWN, State.UP, began, rule="up_after_n")
    await prober.on_change(up)
    prober.health.impaired = True  # this site's own network failed (health's decision)
    silent = clock.now() - timedelta(hours=1)
    down = StateChange(
        "brno-core", CHECK_ICMP, State.UP, State.DOWN, silent, rule="down_after_n", since=silent
    )
    await prober.on_change(down)
    clock.advance(timedelta(minutes=30))
    assert _count(engines, tickets) == 0

    month = clock.now().strftime("%Y-%m")
    report = reporting.build(engines.read, cfg, ["brno-bank"], month, clock.now())[0]
    row = next(r for r in report["tables"]["accounting"]["rows"] if r["device"] == "brno-core")
    assert row["state_impaired"] == 90 * 60
    assert row["state_down"] == 0
    availability = next(
        r for r in report["tables"]["availability"]["rows"] if r["device"] == "brno-core"
    )
    assert availability["downtime"] == 0
    assert "time without trustworthy data" in " ".join(report["policy"]["definitions"])
