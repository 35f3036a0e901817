"""A real snmpd with its trap sink pointed at the app: its own notifications become alerts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.probe_helpers import Snmpd, require_binary
from tests.traps.conftest import COMMUNITY, SWITCH, Traps


async def test_snmpd_own_cold_start_is_a_reboot_and_auth_failures_a_security_alert(
    traps: Traps, tmp_path: Path
) -> None:
    agent = Snmpd(require_binary("snmpd", "snmpd"), tmp_path)
    agent.conf.write_text(
        agent.conf.read_text()
        + f"trap2sink {traps.target} {COMMUNITY}\n"
        + "authtrapenable 1\n"
        + f"[snmp] clientaddr {SWITCH}\n"
    )
    await asyncio.to_thread(agent.start)
    try:
        async with asyncio.timeout(20):
            await traps.receiver.judged(1)
            await traps.receiver.drained()
        (reboot,) = [t for t in await traps.api.list(as_="admin") if t["device"] == "brno-core"]
        assert reboot["title"] == f"Device restarted (coldStart): {SWITCH}"
        detail = await traps.api.get(reboot["id"], as_="admin")
        assert [a["status"] for a in detail["alerts"]] == ["resolved"]
        assert "recovery" in [e["kind"] for e in detail["history"]]

        snmpget = require_binary("snmpget", "snmp")
        wrong = [snmpget, "-v", "2c", "-c", "not-the-community", "-t", "0.5", "-r", "0",
                 f"127.0.0.1:{agent.port}", "1.3.6.1.2.1.1.3.0"]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *wrong, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await proc.wait()
        async with asyncio.timeout(20):
            await traps.receiver.judged(2)
            await traps.receiver.drained()
        titles = [t["title"] for t in await traps.api.list(as_="admin")]
        assert f"SNMP authentication failure reported by {SWITCH}" in titles
    finally:
        await asyncio.to_thread(agent.stop)
