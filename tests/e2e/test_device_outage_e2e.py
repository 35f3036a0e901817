"""One silent device is one ticket, through the service with real peers: a device probed by ping
(an nft rule on ``lo`` drops its echo requests) and by SNMP (a real snmpd, stopped) opens one
ticket; the other check's observation is attached to it, and the recovery comes once, when the
last check answers again. Runs on SQLite and PostgreSQL (the conftest's ``store_url``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.test_probes_e2e import (  # noqa: F401 - fixtures
    ICMP_INTERVAL,
    cycle,
    first_cycle,
    icmp,
    kinds,
    net,
    nft,
    probe_config,
    probe_tickets,
    start_probes,
)
from tests.probe_helpers import V2C_COMMUNITY

pytestmark = pytest.mark.peers


async def test_a_device_silent_to_ping_and_snmp_is_one_ticket(
    make_config, start_probes, nft, snmpd  # noqa: F811
) -> None:
    ip = "127.0.0.1"  # where snmpd listens; the nft rule drops only echo requests to it
    device = {
        "id": "brno-core", "customer": "brno-bank", "ip": ip, "name": "Brno core",
        "probe": {
            **icmp(),
            "snmp": {"version": "v2c", "community": V2C_COMMUNITY, "port": snmpd.port,
                     "interval": "30s", "timeout": "0.5s", "retries": 0},
        },
    }
    api = await start_probes(probe_config(make_config, [device]))
    await first_cycle(api)
    assert await probe_tickets(api) == []

    nft.drop(ip)
    snmpd.stop()
    for _ in range(5):
        await cycle(api, ICMP_INTERVAL)
    [ticket] = await probe_tickets(api)
    history = kinds((await api.get(ticket["id"]))["history"])
    assert history.count("created") == 1
    assert "alert_attached" in history, history  # the second check's observation
    assert ticket["priority"] == "P1"  # ping's critical, whichever noticed first

    nft.allow_all()
    snmpd.start()
    for _ in range(4):
        await cycle(api, timedelta(seconds=30))
    after = await api.get(ticket["id"])
    assert kinds(after["history"]).count("recovery") == 1, kinds(after["history"])
    # snmpd started anew is a reboot to the poller: that is its own ticket, not a second outage
    others = [t["title"] for t in await probe_tickets(api) if t["id"] != ticket["id"]]
    assert others in ([], ["Brno core rebooted"]), others
