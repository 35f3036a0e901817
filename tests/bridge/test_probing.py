"""bridge/probing: state changes as Alerts, device specs from config, recorded intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
import sqlalchemy as sa

from bridge.alert import AlertStatus
from bridge.app import PROBER, build_app
from bridge.config import DeviceConfig
from bridge.probing import (
    change_to_alert,
    device_specs,
    flush_samples,
    is_firing,
    record_state,
    record_unknown_gap,
    without_icmp,
)
from bridge.store.schema import alert_keys, device_states
from probes.icmp import IcmpCapability
from probes.spec import ThresholdSpec
from probes.state import State, StateChange

T0 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
EDGE = DeviceConfig(id="acme-edge", customer="acme", ip="127.0.10.1", name="ACME edge router")
CORE = DeviceConfig(id="brno-core", customer="brno-bank", ip="127.0.20.1")


def change(
    old: State,
    new: State,
    *,
    check: str = "icmp",
    rule: str = "",
    device: str = "acme-edge",
    at: datetime = T0,
    since: datetime | None = None,
    **detail: object,
) -> StateChange:
    return StateChange(
        device_id=device,
        check=check,
        old_state=old,
        new_state=new,
        at=at,
        detail=MappingProxyType(detail),
        rule=rule,
        since=since,
    )


# -- change_to_alert ----------------------------------------------------------------------------


def test_icmp_down_fires_a_critical_device_alert_with_what_the_probe_saw() -> None:
    pa = change_to_alert(
        change(State.UP, State.DOWN, rule="down_after_n", streak=3),
        EDGE,
        {"loss": 1.0, "rtt_avg_ms": None},
    )
    a = pa.alert
    assert a is not None and pa.source.name == "probe.icmp" and a.source == "probe.icmp"
    assert (a.identity, a.status, a.severity) == ("acme-edge:icmp", AlertStatus.FIRING, "critical")
    assert a.title == "ACME edge router does not answer ping"
    assert a.labels == {"device": "acme-edge", "check": "icmp", "alertname": "DeviceDown"}
    assert a.starts_at == T0 and a.ends_at is None
    assert "device acme-edge (127.0.10.1), check icmp" in a.description
    assert "probe saw: last loss 100%" in a.description
    assert "streak: 3" in a.description


def test_the_alert_starts_at_the_first_failed_probe_and_ends_at_the_first_good_one() -> None:
    first_failed, first_good = T0 - timedelta(seconds=60), T0 - timedelta(seconds=30)
    down = change_to_alert(
        change(State.UP, State.DOWN, rule="down_after_n", since=first_failed), EDGE, None
    ).alert
    up = change_to_alert(
        change(State.DOWN, State.UP, rule="up_after_m", since=first_good), EDGE, None
    ).alert
    assert down is not None and (down.starts_at, down.ends_at) == (first_failed, None)
    assert up is not None and up.ends_at == first_good


@pytest.mark.parametrize("old", [State.UP, State.DEGRADED, State.UNKNOWN])
def test_an_unconfirmed_failure_opens_and_resolves_nothing(old: State) -> None:
    blip = change(old, old, rule="unconfirmed_failure", since=T0 - timedelta(seconds=30))
    assert change_to_alert(blip, EDGE, None).alert is None


@pytest.mark.parametrize("old", [State.DOWN, State.UNREACHABLE])
def test_icmp_up_from_down_or_unreachable_resolves_the_same_identity(old: State) -> None:
    a = change_to_alert(change(old, State.UP), EDGE, None).alert
    assert a is not None
    assert (a.identity, a.status, a.ends_at) == ("acme-edge:icmp", AlertStatus.RESOLVED, T0)


@pytest.mark.parametrize(
    ("old", "new"),
    [(State.UP, State.UNREACHABLE), (State.DOWN, State.UNREACHABLE), (State.UNKNOWN, State.UP)],
)
def test_unreachable_and_first_up_open_nothing(old: State, new: State) -> None:
    assert change_to_alert(change(old, new), EDGE, None).alert is None


def test_degraded_has_its_own_identity_and_clears_on_up() -> None:
    fired = change_to_alert(change(State.UP, State.DEGRADED), EDGE, None).alert
    cleared = change_to_alert(change(State.DEGRADED, State.UP), EDGE, None).alert
    assert fired is not None and cleared is not None
    assert (fired.identity, fired.status, fired.severity) == (
        "acme-edge:icmp:degraded",
        AlertStatus.FIRING,
        "warning",
    )
    assert (cleared.identity, cleared.status) == ("acme-edge:icmp:degraded", AlertStatus.RESOLVED)


def test_reboot_fires_on_its_own_identity_with_the_uptimes() -> None:
    c = change(
        State.UP,
        State.UP,
        check="snmp.uptime",
        rule="reboot",
        device="brno-core",
        uptime_before=90000,
        uptime_after=12,
    )
    a = change_to_alert(c, CORE, None).alert
    assert a is not None and a.source == "probe.snmp"
    assert (a.identity, a.status, a.title) == (
        "brno-core:reboot",
        AlertStatus.FIRING,
        "brno-core rebooted",
    )
    assert a.labels["alertname"] == "DeviceRebooted"
    assert "sysUpTime went back from 90000 to 12 ticks" in a.description


def test_interface_down_and_up_name_the_interface() -> None:
    down = change_to_alert(
        change(State.UP, State.DOWN, check="snmp.if.fake0", device="brno-core", interface="fake0"),
        CORE,
        None,
    ).alert
    up = change_to_alert(
        change(State.DOWN, State.UP, check="snmp.if.fake0", device="brno-core"), CORE, None
    ).alert
    assert down is not None and up is not None
    assert (down.title, down.status, down.identity) == (
        "brno-core: interface fake0 down",
        AlertStatus.FIRING,
        "brno-core:snmp.if.fake0",
    )
    assert down.labels["alertname"] == "InterfaceDown"
    assert (up.title, up.status, up.identity) == (
        "brno-core: interface fake0 up",
        AlertStatus.RESOLVED,
        "brno-core:snmp.if.fake0",
    )


def test_flapping_is_one_identity_fired_then_resolved() -> None:
    started = change_to_alert(
        change(State.DOWN, State.DOWN, rule="flapping_started"), EDGE, None
    ).alert
    stopped = change_to_alert(
        change(State.DOWN, State.UP, rule="flapping_stopped"), EDGE, None
    ).alert
    assert started is not None and stopped is not None
    assert (started.identity, started.status, started.title) == (
        "acme-edge:icmp:flapping",
        AlertStatus.FIRING,
        "ACME edge router is flapping",
    )
    assert (stopped.identity, stopped.status) == ("acme-edge:icmp:flapping", AlertStatus.RESOLVED)


def test_non_scalar_detail_stays_out_of_the_alert() -> None:
    c = change(State.UP, State.DOWN, streak=3, nested={"a": 1}, listed=[1, 2])
    a = change_to_alert(c, EDGE, None).alert
    assert a is not None and a.raw["detail"] == {"streak": 3}


# -- device_specs ---------------------------------------------------------------------------


def test_device_specs_of_the_example(cfg) -> None:
    specs = {s.id: s for s in device_specs(cfg)}
    assert set(specs) == {"acme-edge", "acme-db", "acme-web", "brno-core"}
    edge = specs["acme-edge"]
    assert (edge.address, edge.parent, edge.snmp) == ("127.0.10.1", None, None)
    assert edge.icmp is not None and (edge.icmp.interval, edge.icmp.count, edge.icmp.timeout) == (
        30,
        3,
        1,
    )
    assert specs["acme-db"].parent == "acme-edge"
    core = specs["brno-core"]
    assert core.icmp is not None and (core.icmp.degraded_loss, core.icmp.degraded_rtt_ms) == (
        0.2,
        200,
    )
    assert core.snmp is not None
    assert (core.snmp.version, core.snmp.port, core.snmp.community, core.snmp.interfaces) == (
        "2c",
        161,
        "public",
        (1,),
    )
    assert core.snmp.thresholds == (
        ThresholdSpec("temperature", "1.3.6.1.4.1.2021.13.16.2.1.3.1", ">", 70000),
    )


def test_unprobed_devices_are_left_out_and_cannot_gate_children(make_config) -> None:
    def edit(data: dict) -> None:
        for d in data["devices"]:
            if d["id"] == "acme-edge":
                d.pop("probe")
            if d["id"] == "brno-core":
                d["probe"]["snmp"]["thresholds"] = [
                    {"name": "fans", "oid": ".1.3.6.1.4.1.9.1", "above": 9, "below": 2}
                ]
                d["probe"]["snmp"]["version"] = "v2c"

    specs = {s.id: s for s in device_specs(make_config(edit))}
    assert "acme-edge" not in specs
    assert specs["acme-db"].parent is None and specs["acme-web"].parent is None
    assert specs["brno-core"].snmp is not None
    assert specs["brno-core"].snmp.thresholds == (
        ThresholdSpec("fans", "1.3.6.1.4.1.9.1", ">", 9),
        ThresholdSpec("fans", "1.3.6.1.4.1.9.1", "<", 2),
    )


# -- record_state / record_unknown_gap on a real store ------------------------------------------


def rows(engines, device: str = "acme-edge", check: str = "icmp") -> list[tuple]:
    with engines.read.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(
                    device_states.c.state, device_states.c.started_at, device_states.c.ended_at
                )
                .where(device_states.c.device_id == device, device_states.c.check == check)
                .order_by(device_states.c.started_at, device_states.c.id)
            )
        ]


def test_record_state_closes_the_open_interval_and_opens_the_next(engines) -> None:
    t1, t2 = T0 + timedelta(minutes=2), T0 + timedelta(minutes=7)
    with engines.write.begin() as conn:
        record_state(conn, change(State.UNKNOWN, State.UP, rule="first_up"))
        record_state(conn, change(State.UP, State.DOWN, at=t1, rule="down_after_n", streak=3))
        record_state(conn, change(State.UP, State.DOWN, check="snmp", at=t1))  # other check
        record_state(conn, change(State.UP, State.UP, check="snmp.uptime", rule="reboot", at=t2))
        record_state(conn, change(State.DOWN, State.UP, at=t2, rule="up_after_m"))
    assert rows(engines) == [("up", T0, t1), ("down", t1, t2), ("up", t2, None)]
    assert rows(engines, check="snmp") == [("down", t1, None)]
    assert rows(engines, check="snmp.uptime") == []  # a reboot is an event, not a state
    with engines.read.connect() as conn:
        detail = conn.execute(
            sa.select(device_states.c.detail).where(
                device_states.c.state == "down", device_states.c.check == "icmp"
            )
        ).scalar_one()
    assert detail == {"streak": 3, "rule": "down_after_n"}


def test_intervals_begin_at_the_probes_and_unconfirmed_failures_are_cut_out(engines) -> None:
    s = timedelta(seconds=30)
    with engines.write.begin() as conn:
        # a blip of two failed probes (T0+1s, T0+2s), ended by the good probe at T0+3s
        record_state(conn, change(State.UNKNOWN, State.UP, rule="first_up"))
        record_state(conn, change(State.UP, State.UP, rule="unconfirmed_failure",
                                  since=T0 + s, at=T0 + 3 * s, failed_cycles=2))
        # an outage from its first failed probe (4s) decided at the third (6s)
        record_state(conn, change(State.UP, State.DOWN, rule="down_after_n",
                                  since=T0 + 4 * s, at=T0 + 6 * s))
        # back from its first good probe (8s), decided at the second (9s)
        record_state(conn, change(State.DOWN, State.UP, rule="up_after_m",
                                  since=T0 + 8 * s, at=T0 + 9 * s))
    assert rows(engines) == [
        ("up", T0, T0 + s),
        ("unconfirmed", T0 + s, T0 + 3 * s),
        ("up", T0 + 3 * s, T0 + 4 * s),
        ("down", T0 + 4 * s, T0 + 8 * s),
        ("up", T0 + 8 * s, None),
    ]


def test_a_change_never_reaches_back_over_an_interval_already_recorded(engines) -> None:
    """E.g. a second prober taking a device over: its first probe may predate the last
    interval the first one recorded; intervals of a check must still never overlap."""
    s = timedelta(seconds=30)
    with engines.write.begin() as conn:
        record_state(conn, change(State.UNKNOWN, State.UP, rule="first_up"))
        record_state(conn, change(State.UP, State.DOWN, since=T0 + 4 * s, at=T0 + 6 * s))
        record_state(conn, change(State.UNKNOWN, State.UP, since=T0 + 3 * s, at=T0 + 7 * s))
        record_state(conn, change(State.UP, State.UP, rule="unconfirmed_failure",
                                  since=T0 + 2 * s, at=T0 + 5 * s))
    assert rows(engines) == [
        ("up", T0, T0 + 4 * s),
        ("unconfirmed", T0 + 4 * s, T0 + 5 * s),
        ("up", T0 + 5 * s, None),
    ]


def test_a_blip_right_after_a_start_ends_the_unknown_gap_at_the_first_probe(engines) -> None:
    s = timedelta(seconds=30)
    with engines.write.begin() as conn:
        record_state(conn, change(State.UNKNOWN, State.UP, rule="first_up"))
        flush_samples(conn, [{"device_id": "acme-edge", "check": "icmp", "at": T0, "detail": {}}])
        record_unknown_gap(conn, T0 + 10 * s)
        record_state(conn, change(State.UNKNOWN, State.UNKNOWN, rule="unconfirmed_failure",
                                  since=T0 + 10 * s, at=T0 + 11 * s))
        record_state(conn, change(State.UNKNOWN, State.UP, rule="first_up", since=T0 + 11 * s,
                                  at=T0 + 11 * s))
    assert rows(engines) == [
        ("unknown", T0, T0 + 10 * s),  # up only at its last sample: nothing up is left
        ("unconfirmed", T0 + 10 * s, T0 + 11 * s),
        ("up", T0 + 11 * s, None),
    ]


def test_unknown_gap_starts_at_the_last_sample_of_each_check(engines) -> None:
    t1 = T0 + timedelta(minutes=5)
    last_icmp = T0 + timedelta(minutes=9, seconds=30)
    restart = T0 + timedelta(hours=2)
    with engines.write.begin() as conn:
        record_state(conn, change(State.UNKNOWN, State.UP))
        record_state(conn, change(State.UP, State.DOWN, at=t1))
        record_state(conn, change(State.UNKNOWN, State.UP, device="acme-db"))  # no sample
        # an interface check's observations come from the device's SNMP poll
        record_state(conn, change(State.UNKNOWN, State.UP, device="brno-core",
                                  check="snmp.if.fake0"))
        flush_samples(
            conn,
            [
                {"device_id": "acme-edge", "check": "icmp", "at": last_icmp, "detail": {}},
                {"device_id": "brno-core", "check": "snmp", "at": last_icmp, "detail": {}},
            ],
        )
    with engines.write.begin() as conn:
        assert record_unknown_gap(conn, restart) == 3
    assert rows(engines) == [("up", T0, t1), ("down", t1, last_icmp), ("unknown", last_icmp, None)]
    assert rows(engines, device="brno-core", check="snmp.if.fake0") == [
        ("up", T0, last_icmp), ("unknown", last_icmp, None)
    ]
    # without a sample the interval's own start is the last thing known: nothing was up
    assert rows(engines, device="acme-db") == [("unknown", T0, None)]
    with engines.write.begin() as conn:  # a second start adds nothing: already unknown
        assert record_unknown_gap(conn, restart + timedelta(hours=1)) == 0
    assert len(rows(engines)) == 3


def test_is_firing_reads_the_hot_row_of_the_check(engines) -> None:
    base = {
        "customer_id": "acme",
        "device_id": "acme-edge",
        "ticket_id": None,
        "first_seen": T0,
        "last_seen": T0,
        "count": 1,
    }
    with engines.write.begin() as conn:
        conn.execute(
            sa.insert(alert_keys),
            [
                {"source": "probe.icmp", "identity": "acme-edge:icmp", "status": "firing", **base},
                {
                    "source": "probe.snmp",
                    "identity": "acme-edge:snmp",
                    "status": "resolved",
                    **base,
                },
            ],
        )
    with engines.read.connect() as conn:
        assert is_firing(conn, change(State.UNKNOWN, State.UP))
        assert not is_firing(conn, change(State.UNKNOWN, State.UP, check="snmp"))
        assert not is_firing(conn, change(State.UNKNOWN, State.UP, device="acme-db"))


# -- a host without ICMP -----------------------------------------------------------------------


def test_without_icmp_keeps_snmp_checks_and_orphans_their_children(cfg) -> None:
    specs = {s.id: s for s in without_icmp(device_specs(cfg))}
    # only brno-core has SNMP in the example; the ping-only acme devices go
    assert set(specs) == {"brno-core"}
    assert specs["brno-core"].icmp is None and specs["brno-core"].snmp is not None


async def test_the_service_starts_without_icmp_and_says_so(
    cfg, engines, clock, aiohttp_client, monkeypatch, caplog
) -> None:
    """A non-root user on a default kernel (ping_group_range "1 0") has no ICMP at all: the
    service must still start, log why, and show it on /metrics instead of failing."""
    nothing = IcmpCapability(
        raw_v4=False,
        raw_v6=False,
        dgram_v4=False,
        dgram_v6=False,
        ping_group_range=(1, 0),
        gid=65534,
    )
    monkeypatch.setattr("bridge.probing.service.detect_icmp_capability", lambda: nothing)
    app = build_app(cfg, engines, clock=clock, run_scheduler=False, run_probes=True)
    client = await aiohttp_client(app)
    reply = await client.get("/metrics")
    text = await reply.text()
    assert 'slabridge_icmp_capability{mode="none"} 1.0' in text
    assert "ICMP probes are off" in caplog.text
    assert {s.id for s in app[PROBER].specs} == {"brno-core"}
