"""A flapping port: its traps become one flapping ticket instead of a stream of reopenings,
with the probes' rule (probing.flap_changes within probing.flap_window), and the ticket hears
when the port has been stable for the window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bridge.alert import Alert
from bridge.clock import ManualClock
from bridge.config import Config, SourceConfig
from bridge.sources import snmptrap
from bridge.traps.wiring import TrapReceivers
from tests.traps.conftest import IF_DESCR, IF_INDEX, LINK_DOWN, LINK_UP, SWITCH, Traps, trap_source

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
WINDOW = timedelta(minutes=10)


def flap_config(make_config: Callable[..., Config], changes: int = 5) -> Config:
    def edit(doc: dict) -> None:
        doc["sources"].append(trap_source())
        doc.setdefault("probing", {}).update(flap_changes=changes, flap_window="10m")

    return make_config(edit)


def link(oid: str, index: int = 3, source: str = SWITCH) -> list[Alert]:
    return snmptrap.parse(
        {
            "version": "v2c",
            "pdu": "trap",
            "source": source,
            "varbinds": [
                [SNMP_TRAP_OID, oid],
                [f"{IF_INDEX}.{index}", index],
                [f"{IF_DESCR}.{index}", f"ge-0/0/{index}"],
            ],
        }
    )


class Recorded:
    """The intake as the wiring sees it: what reached it, in order."""

    def __init__(self) -> None:
        self.batches: list[list[Alert]] = []

    async def __call__(self, _source: SourceConfig, batch: list[Alert]) -> None:
        self.batches.append(batch)

    def take(self) -> list[tuple[str, str, str]]:
        out = [(a.identity, a.status.value, a.title) for b in self.batches for a in b]
        self.batches.clear()
        return out


@pytest.fixture
def wiring(make_config: Callable[..., Config]) -> tuple[TrapReceivers, Recorded, ManualClock]:
    intake = Recorded()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return TrapReceivers(flap_config(make_config), intake, clock), intake, clock


BASE = f"link:{SWITCH}:3"
FLAP = f"{BASE}:flapping"
DOWN_TITLE = f"Link down: ge-0/0/3 (ifIndex 3) on {SWITCH}"
UP_TITLE = f"Link up: ge-0/0/3 (ifIndex 3) on {SWITCH}"
FLAPPING = f"Link ge-0/0/3 (ifIndex 3) on {SWITCH} is flapping"
STABLE = f"Link ge-0/0/3 (ifIndex 3) on {SWITCH} is stable again"


async def test_the_wiring_passes_changes_until_flapping_then_counts_on_one_flapping_alert(
    wiring: tuple[TrapReceivers, Recorded, ManualClock],
) -> None:
    receivers, intake, clock = wiring
    (source,) = receivers.sources
    for _ in range(3):  # down, up, down, up, down, up: the 5th change (third up) starts it
        await receivers.take(source, link(LINK_DOWN))
        clock.advance(10)
        await receivers.take(source, link(LINK_UP))
        clock.advance(10)
    assert intake.take() == [
        (BASE, "firing", DOWN_TITLE),
        (BASE, "resolved", UP_TITLE),
        (BASE, "firing", DOWN_TITLE),
        (BASE, "resolved", UP_TITLE),
        (BASE, "firing", DOWN_TITLE),
        (BASE, "resolved", UP_TITLE),
        (FLAP, "firing", FLAPPING),
    ]
    assert receivers.flaps.is_flapping("traps", BASE)

    # further traps of that port only repeat the flapping alert; another port is untouched
    await receivers.take(source, link(LINK_DOWN) + link(LINK_DOWN, index=4))
    await receivers.take(source, link(LINK_UP))
    assert intake.take() == [
        (FLAP, "firing", FLAPPING),
        (f"link:{SWITCH}:4", "firing", f"Link down: ge-0/0/4 (ifIndex 4) on {SWITCH}"),
        (FLAP, "firing", FLAPPING),
    ]

    # not yet stable for the whole window: still flapping
    clock.advance(WINDOW - timedelta(seconds=1))
    await receivers.settle()
    assert intake.take() == []
    clock.advance(timedelta(seconds=1))
    await receivers.settle()
    assert intake.take() == [(FLAP, "resolved", STABLE)]
    assert not receivers.flaps.is_flapping("traps", BASE)
    await receivers.settle()
    assert intake.take() == []

    # stable again, a single down is a change like any other
    await receivers.take(source, link(LINK_DOWN))
    assert intake.take() == [(BASE, "firing", DOWN_TITLE)]


async def test_flapping_that_settles_elsewhere_than_last_told_passes_the_last_trap_on(
    make_config: Callable[..., Config],
) -> None:
    intake = Recorded()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    receivers = TrapReceivers(flap_config(make_config, changes=4), intake, clock)
    (source,) = receivers.sources
    for oid in (LINK_DOWN, LINK_UP, LINK_DOWN, LINK_UP, LINK_DOWN):  # 4th change: a down
        await receivers.take(source, link(oid))
    assert intake.take()[-2:] == [(BASE, "firing", DOWN_TITLE), (FLAP, "firing", FLAPPING)]
    await receivers.take(source, link(LINK_UP))  # the port is up, the tickets think down
    assert intake.take() == [(FLAP, "firing", FLAPPING)]
    clock.advance(WINDOW)
    await receivers.settle()
    assert intake.take() == [(FLAP, "resolved", STABLE), (BASE, "resolved", UP_TITLE)]


async def test_without_flap_detection_every_trap_passes(
    make_config: Callable[..., Config],
) -> None:
    intake = Recorded()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    receivers = TrapReceivers(flap_config(make_config, changes=0), intake, clock)
    (source,) = receivers.sources
    for _ in range(6):
        await receivers.take(source, link(LINK_DOWN))
        await receivers.take(source, link(LINK_UP))
    seen = intake.take()
    assert len(seen) == 12
    assert {identity for identity, _, _ in seen} == {BASE}


async def test_a_reboot_trap_never_counts_as_flapping(
    wiring: tuple[TrapReceivers, Recorded, ManualClock],
) -> None:
    receivers, intake, _clock = wiring
    (source,) = receivers.sources
    cold = {
        "version": "v2c",
        "pdu": "trap",
        "source": SWITCH,
        "varbinds": [[SNMP_TRAP_OID, "1.3.6.1.6.3.1.1.5.1"]],
    }
    for _ in range(5):
        await receivers.take(source, snmptrap.parse(cold))
    seen = intake.take()
    assert len(seen) == 10
    assert not any(identity.endswith(":flapping") for identity, _, _ in seen)


# -- with the real snmptrap tool against the running app ----------------------------------


@pytest.fixture
def trap_cfg(make_config: Callable[..., Config]) -> Config:
    return flap_config(make_config)


async def histories(traps: Traps) -> dict[int, list[dict]]:
    out = {}
    for t in await traps.api.list(as_="admin"):
        out[t["id"]] = (await traps.api.get(t["id"], as_="admin"))["history"]
    return out


async def test_a_port_sending_link_down_and_up_six_times_gets_one_flapping_ticket(
    traps: Traps,
) -> None:
    index = [f"{IF_INDEX}.3", "i", "3", f"{IF_DESCR}.3", "s", "ge-0/0/3"]

    async def send(oid: str) -> None:
        cmd = traps.v2c(oid, *index)
        assert await traps.run(cmd[0], f"--clientaddr={SWITCH}", *cmd[1:]) == 0

    for _ in range(3):  # the fifth change (the third linkUp) starts flapping
        await send(LINK_DOWN)
        await send(LINK_UP)
    tickets = await traps.api.list(as_="admin")
    flapping = [t for t in tickets if t["title"] == FLAPPING]
    assert len(flapping) == 1
    assert flapping[0]["device"] == "brno-core"
    assert flapping[0]["customer"] == "brno-bank"
    # the first linkDown's ticket (opened before anyone could know), and the flapping one
    assert sorted(t["title"] for t in tickets) == sorted([DOWN_TITLE, FLAPPING])
    before = await histories(traps)

    for _ in range(3):  # three more downs and ups: nothing new in any history
        await send(LINK_DOWN)
        await send(LINK_UP)
    assert await histories(traps) == before
    assert len(await traps.api.list(as_="admin")) == 2
    detail = await traps.api.get(flapping[0]["id"], as_="admin")
    assert [a["count"] for a in detail["alerts"]] == [7]  # counted on the flapping ticket

    # stable for the whole flap window: the flapping ticket hears that it has ended
    traps.api.clock.advance(WINDOW)
    from bridge.app import TRAPS

    await traps.api.app[TRAPS].settle()
    after = await histories(traps)
    key = flapping[0]["id"]
    new = after[key][len(before[key]) :]
    assert [e["kind"] for e in new] == ["recovery"]
    assert new[0]["data"]["identity"] == FLAP
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }
