"""Issue 4 through the service: real pings on loopback, a real snmpd, tickets and intervals.

The app runs with ``run_probes=True`` and no scheduler; each test drives probe cycles with
``app[PROBER].cycle()`` and moves the ManualClock by the probe interval between cycles. The
pings are real: a "down" device is an nft rule of the test's own table dropping echo requests
arriving on ``lo`` for its address. The only real waiting is the ping timeout of silent hosts
(and, once, snmpd's uptime growing before its restart).

Runs on SQLite and PostgreSQL (the conftest's ``store_url``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.app import PROBER, StoreOptions, build_app, open_store
from bridge.clock import ManualClock
from bridge.config import Config
from bridge.store import Engines
from bridge.store.schema import alerts, device_states, probe_samples
from probes.snmp import SnmpPoller
from probes.spec import SnmpSettings
from tests.conftest import Api
from tests.e2e import SlabridgeServer, example_config, slabridge_argv
from tests.probe_helpers import (
    IF_OPER,
    V2C_COMMUNITY,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    NftDrop,
    Snmpd,
    require_binary,
    require_root,
)

pytestmark = pytest.mark.peers

ICMP_INTERVAL = timedelta(seconds=30)
SNMP_INTERVAL = timedelta(seconds=60)
TIMEOUT = "0.25s"  # how long a silent host gets per cycle: the only sleep of these tests


@pytest.fixture
def net(request: pytest.FixtureRequest) -> Iterator[str]:
    """A /24 of loopback for this test: 127.78.<n>.0/24 (tests/probes uses 127.77)."""
    n = abs(hash(request.node.nodeid)) % 250
    yield f"127.78.{n}"


@pytest.fixture
def nft(request: pytest.FixtureRequest) -> Iterator[NftDrop]:
    """The test's own nft table (nothing dropped yet); always deleted afterwards."""
    require_root("the nftables fixture")
    binary = require_binary("nft", "nftables")
    n = abs(hash(request.node.nodeid)) % 10_000
    table = NftDrop(binary, f"slabridge_e2e_{os.getpid()}_{n}")
    try:
        table.create()
    except subprocess.CalledProcessError as err:
        pytest.fail(f"nft could not add table {table.table}: {err.stderr}", pytrace=False)
    try:
        yield table
    finally:
        table.remove()


StartProbes = Callable[..., Awaitable[Api]]


@pytest.fixture
async def start_probes(
    engines: Engines, clock: ManualClock, aiohttp_client: Any
) -> AsyncIterator[StartProbes]:
    """``await start_probes(cfg, engines=None) -> Api``: the app with its Prober started."""

    async def start(cfg: Config, engines_: Engines | None = None) -> Api:
        e = engines_ or engines
        app = build_app(cfg, e, clock=clock, run_scheduler=False, run_probes=True)
        client = await aiohttp_client(app)  # startup: writer, then the prober
        return Api(client, cfg, e, clock)

    yield start


def probe_config(make_config: Callable[..., Config], devices: list[dict], **probing: Any) -> Config:
    """The example config with only the given devices and the probing rules of issue 4."""

    def edit(data: dict) -> None:
        data["devices"] = devices
        data["maintenance"] = []
        data["probing"] = {
            "down_after": 3,
            "up_after": 2,
            "flap_changes": 6,
            "flap_window": "10m",
            "batch_size": 500,
            "jitter": "0.1s",
            **probing,
        }

    return make_config(edit)


def icmp(**extra: Any) -> dict[str, Any]:
    return {"icmp": {"interval": "30s", "count": 1, "timeout": TIMEOUT, **extra}}


async def cycle(api: Api, step: timedelta = ICMP_INTERVAL) -> datetime:
    """Move the clock by one interval, then run one probe cycle; returns the cycle's instant."""
    api.clock.advance(step)
    await api.app[PROBER].cycle()
    return api.clock.now()


async def first_cycle(api: Api) -> datetime:
    await api.app[PROBER].cycle()
    return api.clock.now()


async def probe_tickets(api: Api) -> list[dict[str, Any]]:
    return [t for t in await api.list() if t["origin"] == "probe"]


async def histories(api: Api) -> dict[str, list[dict[str, Any]]]:
    return {t["id"]: (await api.get(t["id"]))["history"] for t in await api.list()}


def intervals(engines: Engines, device: str, check: str = "icmp") -> list[tuple]:
    with engines.read.connect() as conn:
        rows = conn.execute(
            sa.select(device_states.c.state, device_states.c.started_at, device_states.c.ended_at)
            .where(device_states.c.device_id == device, device_states.c.check == check)
            .where(device_states.c.site == "*")  # the decided state (one site here)
            .order_by(device_states.c.started_at, device_states.c.id)
        ).all()
    return [tuple(r) for r in rows]


def kinds(history: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in history]


# -- 1. down after N, nothing more while down, recovery after M ------------------------------


async def test_a_silent_device_opens_one_probe_ticket_and_its_recovery_reaches_it(
    make_config, start_probes, nft, net
) -> None:
    ip = f"{net}.10"
    cfg = probe_config(
        make_config,
        [
            {
                "id": "acme-edge",
                "customer": "acme",
                "ip": ip,
                "name": "ACME edge router",
                "probe": icmp(),
            }
        ],
    )
    api = await start_probes(cfg)
    await first_cycle(api)
    assert await probe_tickets(api) == []

    nft.drop(ip)
    await cycle(api)
    await cycle(api)
    assert await probe_tickets(api) == [], "down after 2 failed cycles: down_after is 3"
    t_down = await cycle(api)
    tickets = await probe_tickets(api)
    assert len(tickets) == 1
    ticket = tickets[0]
    assert (ticket["customer"], ticket["contract"], ticket["device"], ticket["device_ip"]) == (
        "acme",
        "PL-2026-0042",
        "acme-edge",
        ip,
    )
    assert ticket["origin"] == "probe"
    assert ticket["title"] == "ACME edge router does not answer ping"
    assert ticket["priority"] == "P1"  # critical → P1 by acme's policy
    assert ticket["entered_at"] == t_down.isoformat()
    assert "probe saw: last loss 100%" in ticket["description"]
    before = await api.get(ticket["id"])

    for _ in range(3):  # still down: nothing new anywhere
        await cycle(api)
    assert [t["id"] for t in await api.list()] == [ticket["id"]]
    assert await api.get(ticket["id"]) == before

    nft.allow_all()
    await cycle(api)
    assert "recovery" not in kinds((await api.get(ticket["id"]))["history"]), "up_after is 2"
    t_up = await cycle(api)
    after = await api.get(ticket["id"])
    assert after["history"][: len(before["history"])] == before["history"]
    new = after["history"][len(before["history"]) :]
    assert [(e["kind"], e["at"]) for e in new] == [("recovery", t_up.isoformat())]
    assert new[0]["data"]["identity"] == "acme-edge:icmp"
    # the probe that opened the ticket is the one that tells its recovery
    assert [(e["kind"], e["actor"]) for e in after["history"]] == [
        ("created", "probe.icmp"),
        ("recovery", "probe.icmp"),
    ]
    assert after["status"] == "new"  # acme: recovery "leave", the engineer decides
    assert len(await api.list()) == 1


# -- 2. parent down, children unreachable: one ticket ------------------------------------------


async def test_children_behind_a_down_parent_hang_under_its_one_ticket(
    make_config, start_probes, nft, net, engines
) -> None:
    edge, db, web = f"{net}.1", f"{net}.2", f"{net}.3"
    cfg = probe_config(
        make_config,
        [
            # children first in the file: the parent is still evaluated before them
            {
                "id": "acme-db",
                "customer": "acme",
                "ip": db,
                "depends_on": "acme-edge",
                "probe": icmp(),
            },
            {
                "id": "acme-web",
                "customer": "acme",
                "ip": web,
                "depends_on": "acme-edge",
                "probe": icmp(),
            },
            {"id": "acme-edge", "customer": "acme", "ip": edge, "probe": icmp()},
        ],
    )
    api = await start_probes(cfg)
    await first_cycle(api)
    nft.drop(edge, db, web)
    t_fail = await cycle(api)
    await cycle(api)
    assert await api.list() == []
    t_down = await cycle(api)

    tickets = await api.list()
    assert [(t["device"], t["origin"]) for t in tickets] == [("acme-edge", "probe")]
    history = (await api.get(tickets[0]["id"]))["history"]
    attached = [e for e in history if e["kind"] == "alert_attached"]
    assert sorted(e["data"]["identity"] for e in attached) == ["acme-db:icmp", "acme-web:icmp"]
    assert {e["data"]["status"] for e in attached} == {"unreachable"}
    assert {e["at"] for e in attached} == {t_down.isoformat()}
    for child in ("acme-db", "acme-web"):
        rows = intervals(engines, child)
        assert [r[0] for r in rows] == ["up", "unreachable"]
        assert rows[-1][1:] == (t_fail, None)  # from the first failed probe
    assert [r[:2] for r in intervals(engines, "acme-edge")][1:] == [("down", t_fail)]

    await cycle(api)  # still all down: no new ticket, nothing attached twice
    assert len(await api.list()) == 1
    assert (await api.get(tickets[0]["id"]))["history"] == history


# -- 3. SNMP: reboot and interface down through a real snmpd -----------------------------------


async def wait_for_uptime(snmpd: Snmpd, ticks: int) -> None:
    """snmpd's sysUpTime must have grown past what a restarted agent shows at once."""
    settings = SnmpSettings(
        version="2c", port=snmpd.port, community=V2C_COMMUNITY, timeout=0.5, retries=0
    )
    deadline = time.monotonic() + 10
    async with await SnmpPoller.create() as poller:
        while (await poller.poll("127.0.0.1", settings)).uptime_ticks < ticks:
            assert time.monotonic() < deadline, "snmpd uptime does not grow"
            await asyncio.sleep(0.2)


async def test_snmp_reboot_and_interface_down_open_tickets_and_recovery_reaches_them(
    make_config, start_probes, snmpd, engines
) -> None:
    cfg = probe_config(
        make_config,
        [
            {
                "id": "brno-core",
                "customer": "brno-bank",
                "ip": "127.0.0.1",
                "name": "Brno core",
                "probe": {
                    "snmp": {
                        "version": "v2c",
                        "community": V2C_COMMUNITY,
                        "port": snmpd.port,
                        "interval": "60s",
                        "timeout": "1s",
                        "retries": 0,
                        "interfaces": ["fake0", "fake1"],
                    }
                },
            }
        ],
    )
    # fake1 is there for net-snmp's exec cache: snmpd reuses a pass script's output for an
    # identical command line (same OID) run within 30 s, so polling fake0 alone would keep
    # seeing a stale ifOperStatus; two pass OIDs in each GET alternate the command line.
    await wait_for_uptime(snmpd, 150)
    api = await start_probes(cfg)
    await first_cycle(api)
    assert await api.list() == []

    snmpd.restart()
    t_reboot = await cycle(api, SNMP_INTERVAL)
    [reboot] = await api.list()
    assert (reboot["title"], reboot["origin"], reboot["device"], reboot["customer"]) == (
        "Brno core rebooted",
        "probe",
        "brno-core",
        "brno-bank",
    )
    assert reboot["entered_at"] == t_reboot.isoformat()
    assert "sysUpTime went back from" in reboot["description"]

    snmpd.set(f"{IF_OPER}.1001", "integer", 2)  # fake0 (ifIndex 1001) goes down
    t_if_fail = await cycle(api, SNMP_INTERVAL)
    await cycle(api, SNMP_INTERVAL)
    assert [t["id"] for t in await api.list()] == [reboot["id"]]
    t_if_down = await cycle(api, SNMP_INTERVAL)
    tickets = {t["id"]: t for t in await api.list()}
    assert len(tickets) == 2
    [iface] = [t for t in tickets.values() if t["id"] != reboot["id"]]
    assert iface["title"] == "Brno core: interface fake0 down"
    assert "fake0" in iface["description"]
    assert (iface["origin"], iface["device"], iface["device_ip"]) == (
        "probe",
        "brno-core",
        "127.0.0.1",
    )
    assert iface["entered_at"] == t_if_down.isoformat()
    assert intervals(engines, "brno-core", "snmp.if.fake0")[-1][:2] == ("down", t_if_fail)
    assert [r[0] for r in intervals(engines, "brno-core", "snmp")] == ["up"]

    snmpd.set(f"{IF_OPER}.1001", "integer", 1)
    await cycle(api, SNMP_INTERVAL)
    t_if_up = await cycle(api, SNMP_INTERVAL)
    history = (await api.get(iface["id"]))["history"]
    recoveries = [e for e in history if e["kind"] == "recovery"]
    assert [(e["at"], e["data"]["identity"], e["actor"]) for e in recoveries] == [
        (t_if_up.isoformat(), "brno-core:snmp.if.fake0", "probe.snmp")
    ]
    assert history[0]["actor"] == "probe.snmp"
    assert "recovery" not in kinds((await api.get(reboot["id"]))["history"])
    assert len(await api.list()) == 2


# -- 4. availability intervals to the cycle, and the unknown gap across a restart -------------


async def test_intervals_match_the_cycles_and_a_restart_leaves_an_exact_unknown_gap(
    make_config, start_probes, nft, net, store_url, clock
) -> None:
    ip = f"{net}.20"
    cfg = probe_config(
        make_config,
        [{"id": "acme-edge", "customer": "acme", "ip": ip, "probe": icmp()}],
    )
    engines = open_store(StoreOptions(store_url))
    second_engines = None
    try:
        api = await start_probes(cfg, engines)
        t0 = await first_cycle(api)
        nft.drop(ip)
        t_blip = await cycle(api)  # two failed probes: fewer than down_after (3)
        await cycle(api)
        nft.allow_all()
        t_blip_end = await cycle(api)
        nft.drop(ip)
        t_fail = await cycle(api)  # the outage's first failed probe
        await cycle(api)
        t_down = await cycle(api)  # the third: the ticket opens now
        await cycle(api)
        nft.allow_all()
        t_good = await cycle(api)  # the first good probe
        t_up = await cycle(api)  # the second: the recovery is told now
        last = await cycle(api)
        assert [t - t0 for t in (t_blip, t_blip_end, t_fail, t_down, t_good, t_up, last)] == [
            n * ICMP_INTERVAL for n in (1, 3, 4, 6, 8, 9, 10)
        ]
        before = [
            ("up", t0, t_blip),
            ("unconfirmed", t_blip, t_blip_end),
            ("up", t_blip_end, t_fail),
            ("down", t_fail, t_good),
        ]
        assert intervals(engines, "acme-edge") == [*before, ("up", t_good, None)]
        [ticket] = await api.list()
        assert ticket["entered_at"] == t_down.isoformat()  # the decision, not the probe
        with engines.read.connect() as conn:
            sent = conn.execute(
                sa.select(alerts.c.status, alerts.c.starts_at, alerts.c.ends_at)
                .where(alerts.c.identity == "acme-edge:icmp")
                .order_by(alerts.c.id)
            ).all()
        assert [tuple(r) for r in sent] == [
            ("firing", t_fail, None),
            ("resolved", t_good, t_good),
        ]
        await api.stop()  # flushes the last sample (taken at `last`)

        clock.advance(timedelta(hours=1, seconds=7))
        restart = clock.now()
        engines.dispose()
        second_engines = open_store(StoreOptions(store_url))
        api2 = await start_probes(cfg, second_engines)
        # at start: the time since the last sample is unknown, not up
        assert intervals(second_engines, "acme-edge") == [
            *before,
            ("up", t_good, last),
            ("unknown", last, None),
        ]
        await first_cycle(api2)  # the first cycle of the new process, at the restart instant
        assert intervals(second_engines, "acme-edge") == [
            *before,
            ("up", t_good, last),
            ("unknown", last, restart),
            ("up", restart, None),
        ]
        await api2.stop()
    finally:
        engines.dispose()
        if second_engines is not None:
            second_engines.dispose()


async def test_a_recovery_after_a_restart_still_reaches_the_ticket_opened_before_it(
    make_config, start_probes, nft, net, store_url, clock
) -> None:
    ip = f"{net}.21"
    cfg = probe_config(
        make_config,
        [{"id": "acme-edge", "customer": "acme", "ip": ip, "probe": icmp()}],
    )
    engines = open_store(StoreOptions(store_url))
    try:
        api = await start_probes(cfg, engines)
        await first_cycle(api)
        nft.drop(ip)
        for _ in range(3):
            await cycle(api)
        [ticket] = await api.list()
        await api.stop()

        nft.allow_all()  # it came back while the service was stopped
        clock.advance(timedelta(minutes=20))
        api2 = await start_probes(cfg, engines)
        restart = await first_cycle(api2)
        history = (await api2.get(ticket["id"]))["history"]
        assert [(e["kind"], e["at"]) for e in history[1:]] == [("recovery", restart.isoformat())]
        assert len(await api2.list()) == 1
        await cycle(api2)  # and only once
        assert (await api2.get(ticket["id"]))["history"] == history
        await api2.stop()
    finally:
        engines.dispose()


# -- 5. flapping: one ticket, not a stream ------------------------------------------------------


async def test_a_flapping_device_gets_one_flapping_ticket_instead_of_a_stream(
    make_config, start_probes, nft, net
) -> None:
    ip = f"{net}.30"
    # Alternating every cycle only changes state with a debounce of one cycle.
    cfg = probe_config(
        make_config,
        [
            {
                "id": "acme-edge",
                "customer": "acme",
                "ip": ip,
                "name": "ACME edge router",
                "probe": icmp(),
            }
        ],
        down_after=1,
        up_after=1,
        flap_changes=4,
        flap_window="10m",
    )
    api = await start_probes(cfg)
    await first_cycle(api)

    async def flip(n: int) -> None:
        for i in range(n):
            if i % 2 == 0:
                nft.drop(ip)
            else:
                nft.allow_all()
            await cycle(api)

    await flip(4)  # down, up, down, up: the fourth change starts flapping
    tickets = await api.list()
    flapping = [t for t in tickets if t["title"] == "ACME edge router is flapping"]
    assert len(flapping) == 1
    assert len(tickets) == 2, [t["title"] for t in tickets]  # the first down's, and this one
    assert {t["origin"] for t in tickets} == {"probe"}
    before = await histories(api)

    await flip(8)  # four more downs and ups: nothing new anywhere
    assert await histories(api) == before

    # Stable (up) for the whole flap window: flapping ends, its ticket hears of it.
    await cycle(api, timedelta(minutes=10))
    after = await histories(api)
    key = flapping[0]["id"]
    new = after[key][len(before[key]) :]
    assert [e["kind"] for e in new] == ["recovery"]
    assert new[0]["data"]["identity"] == "acme-edge:icmp:flapping"
    assert len(after) == 2


# -- 6. a killed prober: the unknown gap is exactly its absence ---------------------------------


async def job_cycle(api: Api, step: timedelta = ICMP_INTERVAL) -> datetime:
    """One cycle as the scheduler's jobs run it (no flush of our own afterwards)."""
    api.clock.advance(step)
    assert api.app[PROBER].runner is not None
    await api.app[PROBER].runner.run_cycle()
    return api.clock.now()


async def test_a_killed_prober_leaves_unknown_only_from_its_last_probe_to_the_next_first_probe(
    make_config, start_probes, nft, net, store_url, clock
) -> None:
    ip = f"{net}.22"
    cfg = probe_config(
        make_config,
        [{"id": "acme-edge", "customer": "acme", "ip": ip, "probe": icmp()}],
    )
    engines = open_store(StoreOptions(store_url))
    second = open_store(StoreOptions(store_url))
    try:
        api = await start_probes(cfg, engines)
        t0 = await job_cycle(api)
        nft.drop(ip)
        t_fail = await job_cycle(api)
        for _ in range(3):
            last = await job_cycle(api)
        # Killed here: no shutdown, nothing flushed. A new process starts on the same store.
        clock.advance(timedelta(seconds=21.5))
        api2 = await start_probes(cfg, second)
        assert intervals(second, "acme-edge") == [
            ("up", t0, t_fail),
            ("down", t_fail, last),
            ("unknown", last, None),
        ]
        restart = await job_cycle(api2, timedelta(0))  # still silent: down after 3 probes
        await job_cycle(api2)
        assert intervals(second, "acme-edge")[-1] == ("unknown", last, None)
        await job_cycle(api2)
        assert intervals(second, "acme-edge") == [
            ("up", t0, t_fail),
            ("down", t_fail, last),
            ("unknown", last, restart),  # 21.5 s: the absence, not a flush period more
            ("down", restart, None),
        ]
        assert restart - last == timedelta(seconds=21.5)
        await api2.stop()
        await api.stop()
    finally:
        engines.dispose()
        second.dispose()


def test_after_sigkill_the_unknown_gap_runs_from_the_last_probe_to_the_first_probe_after_restart(
    nft, net
) -> None:
    """A real `slabridge serve` pinging a silent loopback address, killed with SIGKILL
    right after a probe cycle and started again on the same data directory."""
    ip = f"{net}.23"

    def edit(data: dict) -> None:
        data["devices"] = [
            {"id": "acme-edge", "customer": "acme", "ip": ip,
             "probe": {"icmp": {"interval": "2s", "count": 1, "timeout": TIMEOUT}}}
        ]
        data["maintenance"] = []
        data["probing"] = {"down_after": 2, "up_after": 2, "jitter": "0.1s"}

    nft.drop(ip)
    server = SlabridgeServer(example_config(edit))
    engine = sa.create_engine(f"sqlite:///{server.db_path}")

    def sample_at() -> datetime | None:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(probe_samples.c.at).where(probe_samples.c.device_id == "acme-edge",
                                                    probe_samples.c.check == "icmp")
            ).scalar_one_or_none()

    def rows() -> list[tuple]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(device_states.c.state, device_states.c.started_at,
                          device_states.c.ended_at)
                .where(device_states.c.device_id == "acme-edge",
                       device_states.c.check == "icmp", device_states.c.site == "*")
                .order_by(device_states.c.started_at, device_states.c.id)
            )]

    def wait_for(what: str, predicate: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        pytest.fail(f"{what} never happened:\n{server.log_tail()}", pytrace=False)

    try:
        server.start()
        wait_for("down", lambda: any(r[0] == "down" and r[2] is None for r in rows()))
        seen = sample_at()
        last = wait_for("a probe cycle", lambda: (a := sample_at()) != seen and a)
        server.kill()  # right after a cycle: the next one is two seconds away
        server.start()
        first = wait_for("the first probe after restart", lambda: (a := sample_at()) != last and a)
        wait_for("down again", lambda: rows()[-1][0] == "down")
        history = rows()
        assert history[-3:] == [
            ("down", history[0][1], last),
            ("unknown", last, first),
            ("down", first, None),
        ]
    finally:
        server.cleanup()
        engine.dispose()


# -- 7. `slabridge probe --once` against a real snmpd ------------------------------------------


def test_probe_once_prints_the_table_and_no_traceback(snmpd, tmp_path) -> None:
    def edit(data: dict) -> None:
        data["devices"] = [
            {"id": "brno-core", "customer": "brno-bank", "ip": "127.0.0.1",
             "probe": {"icmp": {"interval": "30s", "count": 1, "timeout": TIMEOUT},
                       "snmp": {"version": "v2c", "community": V2C_COMMUNITY,
                                "port": snmpd.port, "timeout": "1s", "retries": 1,
                                "interfaces": ["fake0", "fake1"]}}},
            {"id": "brno-v3", "customer": "brno-bank", "ip": "127.0.0.1",
             "probe": {"snmp": {"version": "v3", "user": V3_USER, "auth_protocol": "SHA",
                                "auth_key": V3_AUTH, "priv_protocol": "AES",
                                "priv_key": V3_PRIV, "port": snmpd.port}}},
        ]
        data["maintenance"] = []

    config = tmp_path / "slabridge.yaml"
    config.write_text(example_config(edit), encoding="utf-8")
    done = subprocess.run(
        [*slabridge_argv(), "probe", "--once", "--config", str(config)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output and "Error" not in output, output
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    status = {(cols[0], cols[2], cols[3]) for cols in rows}  # device, check, status
    assert status == {
        ("brno-core", "icmp", "ok"), ("brno-core", "snmp", "ok"),
        ("brno-core", "snmp.if.fake0", "ok"), ("brno-core", "snmp.if.fake1", "ok"),
        ("brno-v3", "snmp", "ok"),
    }
