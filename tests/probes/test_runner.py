"""The runner on a real AsyncIOScheduler, pinging loopback and polling a real snmpd."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from probe_peers import IF_OPER, TEMPERATURE_OID, V2C_COMMUNITY

from probes.icmp import Pinger, detect_icmp_capability
from probes.runner import JOB_DEFAULTS, ProbeRunner, run_once
from probes.snmp import SnmpPoller
from probes.spec import DeviceSpec, IcmpSettings, SnmpSettings, ThresholdSpec
from probes.state import CHECK_ICMP, Policy, State


class SystemClock:
    """The runner reads time only through this; real time here because APScheduler runs."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class Recorder:
    def __init__(self) -> None:
        self.changes = []
        self.samples = []

    async def on_change(self, change) -> None:
        self.changes.append(change)

    def on_sample(self, device_id, check, result, at) -> None:
        self.samples.append((device_id, check, result, at))

    def states(self):
        return {(c.device_id, c.check): c.new_state for c in self.changes}


@pytest.fixture
async def pinger():
    async with Pinger(detect_icmp_capability()) as p:
        yield p


async def test_batches_are_spread_over_the_interval_with_explicit_job_options(pinger):
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone=UTC)
    icmp = IcmpSettings(interval=60, count=1)
    specs = [DeviceSpec(f"d{i}", f"127.40.{i // 250}.{i % 250 + 1}", icmp=icmp)
             for i in range(1200)]
    rec = Recorder()
    runner = ProbeRunner(scheduler, SystemClock(), specs, on_change=rec.on_change,
                         pinger=pinger, batch_size=500)
    assert [(k, iv, off, len(d)) for k, iv, off, d in runner.batches()] == [
        ("icmp", 60, 0.0, 500), ("icmp", 60, 20.0, 500), ("icmp", 60, 40.0, 200),
    ]
    runner.start()
    jobs = scheduler.get_jobs()
    assert len(jobs) == 3
    for job in jobs:
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == 30
    firsts = sorted(job.trigger.start_date for job in jobs)
    gaps = [(b - a).total_seconds() for a, b in zip(firsts, firsts[1:], strict=False)]
    assert all(15 < g < 25 for g in gaps), gaps
    runner.stop()
    assert scheduler.get_jobs() == []


async def test_missed_runs_are_counted(pinger):
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone=UTC)
    runner = ProbeRunner(scheduler, SystemClock(),
                         [DeviceSpec("a", "127.0.0.1", icmp=IcmpSettings(interval=60))],
                         on_change=Recorder().on_change, pinger=pinger)
    runner.start()
    now = datetime.now(UTC)
    scheduler._dispatch_event(JobExecutionEvent(EVENT_JOB_MISSED, runner.job_ids[0],
                                                "default", now))
    scheduler._dispatch_event(JobExecutionEvent(EVENT_JOB_MISSED, "someone-else", "default",
                                                now))
    assert runner.missed_runs == 1
    runner.stop()


def test_unknown_parent_is_rejected():
    with pytest.raises(ValueError, match="device 'alice': unknown parent 'gw'"):
        ProbeRunner(None, SystemClock(), [DeviceSpec("alice", "127.0.0.1", parent="gw")],
                    on_change=Recorder().on_change)


async def test_parent_down_children_unreachable_end_to_end(pinger, silent_range):
    """Children are swept in an earlier batch than their parent, and still no ticket."""
    icmp = IcmpSettings(interval=0.4, count=1, timeout=0.15)
    specs = [
        DeviceSpec("alice", silent_range.address(2), parent="gw", icmp=icmp),
        DeviceSpec("bob", silent_range.address(3), parent="gw", icmp=icmp),
        DeviceSpec("gw", silent_range.address(1), icmp=icmp),
        DeviceSpec("carol", "127.0.0.5", icmp=icmp),
    ]
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone=UTC)
    rec = Recorder()
    runner = ProbeRunner(scheduler, SystemClock(), specs, on_change=rec.on_change,
                         on_sample=rec.on_sample, pinger=pinger,
                         policy=Policy(down_after=2, up_after=2), batch_size=2, jitter=0)
    runner.start()
    scheduler.start()
    try:
        for _ in range(60):
            await asyncio.sleep(0.1)
            if len(rec.states()) == 4:
                break
    finally:
        scheduler.shutdown(wait=False)
    assert rec.states() == {
        ("gw", CHECK_ICMP): State.DOWN,
        ("alice", CHECK_ICMP): State.UNREACHABLE,
        ("bob", CHECK_ICMP): State.UNREACHABLE,
        ("carol", CHECK_ICMP): State.UP,
    }
    assert [c.device_id for c in rec.changes if c.new_state is State.DOWN] == ["gw"]
    assert runner.runs >= 4 and runner.missed_runs == 0
    assert {s[0] for s in rec.samples} == {"alice", "bob", "gw", "carol"}
    assert all(s[3].tzinfo is not None for s in rec.samples)


async def test_snmp_batch_emits_interface_and_threshold_changes(snmpd):
    snmp = SnmpSettings(version="2c", port=snmpd.port, community=V2C_COMMUNITY, interval=0.3,
                        timeout=0.5, retries=0, interfaces=("fake0",),
                        thresholds=(ThresholdSpec("temp", TEMPERATURE_OID, ">", 70),))
    scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone=UTC)
    rec = Recorder()
    async with await SnmpPoller.create() as poller:
        runner = ProbeRunner(scheduler, SystemClock(), [DeviceSpec("sw1", "127.0.0.1",
                                                                   snmp=snmp)],
                             on_change=rec.on_change, snmp=poller,
                             policy=Policy(down_after=1, up_after=1), jitter=0)
        runner.start()
        scheduler.start()
        try:
            async def wait_for(pred):
                for _ in range(50):
                    await asyncio.sleep(0.1)
                    if pred():
                        return
                raise AssertionError(f"timed out; changes: {rec.changes}")

            await wait_for(lambda: ("sw1", "snmp.if.fake0") in rec.states())
            snmpd.set(f"{IF_OPER}.1001", "integer", 2)
            snmpd.set(TEMPERATURE_OID, "gauge", 90)
            await wait_for(lambda: any(c.rule == "threshold_crossed" for c in rec.changes)
                           and any(c.rule == "interface_down" for c in rec.changes))
        finally:
            scheduler.shutdown(wait=False)
    down = next(c for c in rec.changes if c.rule == "interface_down")
    assert down.detail["interface"] == "fake0" and down.new_state is State.DOWN
    crossed = next(c for c in rec.changes if c.rule == "threshold_crossed")
    assert crossed.detail["value"] == 90.0 and crossed.detail["limit"] == 70


async def test_run_once_returns_one_row_per_device_and_check(snmpd, silent_range):
    icmp = IcmpSettings(count=2, spacing=0.01, timeout=0.3)
    specs = [
        DeviceSpec("alice", "127.0.0.1", icmp=icmp,
                   snmp=SnmpSettings(version="2c", port=snmpd.port, community=V2C_COMMUNITY,
                                     interfaces=("fake0",))),
        DeviceSpec("bob", silent_range.address(9), icmp=icmp),
    ]
    rows = await run_once(specs, SystemClock())
    table = {(r.device_id, r.check): r for r in rows}
    assert set(table) == {("alice", "icmp"), ("alice", "snmp"), ("alice", "snmp.if.fake0"),
                          ("bob", "icmp")}
    assert table[("alice", "icmp")].status == "ok" and table[("alice", "icmp")].loss == 0.0
    assert table[("bob", "icmp")].status == "fail" and table[("bob", "icmp")].loss == 1.0
    assert table[("bob", "icmp")].summary == "0/2 replies"
    assert table[("alice", "snmp")].summary.startswith("sysUpTime ")
