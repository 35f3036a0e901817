"""Real Net-SNMP senders against the running app: tickets open for the device that sent the
trap, close on the paired recovery, and bad senders open nothing but are counted."""

from __future__ import annotations

import re

import pytest

from tests.traps.conftest import (
    COMMUNITY,
    IF_DESCR,
    IF_INDEX,
    LINK_DOWN,
    LINK_UP,
    SWITCH,
    V3,
    Traps,
)

SENT_FROM_SWITCH = f"--clientaddr={SWITCH}"


def with_clientaddr(cmd: list[str]) -> list[str]:
    return [cmd[0], SENT_FROM_SWITCH, *cmd[1:]]


async def tickets_for(traps: Traps, device: str) -> list[dict]:
    return [t for t in await traps.api.list(as_="admin") if t.get("device") == device]


def datagrams(text: str, source: str, outcome: str) -> float:
    m = re.search(
        rf'^slabridge_snmp_datagrams_total\{{outcome="{outcome}",source="{source}"\}} (\S+)$',
        text,
        re.M,
    )
    assert m, f"no series for {outcome}"
    return float(m.group(1))


@pytest.mark.parametrize("version", ["v1", "v2c", "v3"])
async def test_link_down_opens_a_ticket_for_the_interface_and_link_up_resolves_it(
    traps: Traps, version: str
) -> None:
    index = [f"{IF_INDEX}.3", "i", "3", f"{IF_DESCR}.3", "s", "ge-0/0/3"]

    def send(oid: str) -> list[str]:
        if version == "v1":
            return traps.v1(2 if oid == LINK_DOWN else 3, SWITCH, *index)
        sender = traps.v2c if version == "v2c" else traps.v3
        return with_clientaddr(sender(oid, *index))

    assert await traps.run(*send(LINK_DOWN)) == 0
    (ticket,) = await tickets_for(traps, "brno-core")
    assert ticket["customer"] == "brno-bank"
    assert ticket["title"] == f"Link down: ge-0/0/3 (ifIndex 3) on {SWITCH}"
    assert ticket["status"] == "new"
    await traps.api.assign(ticket["id"])  # brno-bank: a recovery resolves work in progress
    assert await traps.run(*send(LINK_UP)) == 0
    (after,) = await tickets_for(traps, "brno-core")
    assert after["id"] == ticket["id"]
    assert after["status"] == "resolved"


async def test_each_interface_has_its_own_ticket_and_a_storm_counts_on_one(traps: Traps) -> None:
    for index in (1, 2, 1, 1, 1):
        assert (
            await traps.run(
                *with_clientaddr(traps.v2c(LINK_DOWN, f"{IF_INDEX}.{index}", "i", str(index)))
            )
            == 0
        )
    tickets = await tickets_for(traps, "brno-core")
    assert sorted(t["title"] for t in tickets) == [
        f"Link down: ifIndex 1 on {SWITCH}",
        f"Link down: ifIndex 2 on {SWITCH}",
    ]
    first = next(t for t in tickets if "ifIndex 1" in t["title"])
    detail = await traps.api.get(first["id"], as_="admin")
    assert [a["count"] for a in detail["alerts"]] == [4]


async def test_an_inform_is_acknowledged_and_stored(traps: Traps) -> None:
    base = [traps.snmpinform, SENT_FROM_SWITCH, "-t", "5", "-r", "0"]
    v2c = [
        *base,
        "-v",
        "2c",
        "-c",
        COMMUNITY,
        traps.target,
        "",
        LINK_DOWN,
        f"{IF_INDEX}.4",
        "i",
        "4",
    ]
    assert await traps.run(*v2c) == 0
    # v3 informs: the sender first discovers the app's engine (one report), then informs
    v3 = [
        *base,
        "-v",
        "3",
        "-u",
        V3["name"],
        "-l",
        "authPriv",
        "-a",
        "SHA",
        "-A",
        V3["auth"],
        "-x",
        "AES",
        "-X",
        V3["priv"],
        traps.target,
        "",
        LINK_DOWN,
        f"{IF_INDEX}.5",
        "i",
        "5",
    ]
    assert await traps.run(*v3, expect_datagrams=2) == 0
    titles = sorted(t["title"] for t in await tickets_for(traps, "brno-core"))
    assert titles == [f"Link down: ifIndex 4 on {SWITCH}", f"Link down: ifIndex 5 on {SWITCH}"]


async def test_an_unknown_sender_is_kept_unrouted(traps: Traps) -> None:
    cmd = traps.v2c(LINK_DOWN, f"{IF_INDEX}.1", "i", "1")
    assert await traps.run(cmd[0], "--clientaddr=127.0.77.7", *cmd[1:]) == 0
    assert await tickets_for(traps, "brno-core") == []
    unrouted = await traps.api.ok("GET", "/api/v1/unrouted", as_="admin")
    rows = unrouted["alerts"] if isinstance(unrouted, dict) else unrouted
    assert [r["identity"] for r in rows] == ["link:127.0.77.7:1"]


async def test_wrong_community_and_wrong_keys_open_nothing_and_are_counted(
    traps: Traps, snapshot
) -> None:
    before = snapshot()
    down = [f"{IF_INDEX}.1", "i", "1"]
    assert await traps.run(*traps.v2c(LINK_DOWN, *down, community="public")) == 0
    assert await traps.run(*traps.v3(LINK_DOWN, *down, auth="wrong-auth-key")) == 0
    assert await traps.run(*traps.v3(LINK_DOWN, *down, priv="wrong-priv-key")) == 0
    assert snapshot() == before
    reply = await traps.api.call("GET", "/metrics", as_=None)
    assert isinstance(reply.body, str), reply
    assert datagrams(reply.body, "traps", "wrong-community") == 1
    assert datagrams(reply.body, "traps", "wrong-digest") == 1
    assert datagrams(reply.body, "traps", "decryption-error") == 1
    assert datagrams(reply.body, "traps", "accepted") == 0


async def test_a_trap_source_takes_nothing_by_webhook(traps: Traps, snapshot) -> None:
    before = snapshot()
    decoded = {"version": "v2c", "pdu": "trap", "source": SWITCH,
               "varbinds": [["1.3.6.1.6.3.1.1.4.1.0", LINK_DOWN]]}  # fmt: skip
    reply = await traps.api.call("POST", "/api/v1/alerts/traps", as_=None, json=decoded)
    assert reply.status == 400, reply
    assert reply.body["problem"] == (
        "an snmptrap source receives SNMP notifications over UDP, not webhooks"
    )
    assert snapshot() == before
