"""``slabridge probe --once``: every device probed once, no debounce, one row per check."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from probes.checks import CHECK_ICMP, CHECK_SNMP
from probes.errors import ProbeError
from probes.icmp import Pinger, PingResult, detect_icmp_capability
from probes.readings import icmp_groups, ping_observation, poll, snmp_observations, sweep
from probes.snmp import SnmpPoller
from probes.spec import DeviceSpec

__all__ = ["Clock", "ProbeRow", "run_once"]


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


@dataclass(frozen=True, slots=True)
class ProbeRow:
    """One line of ``slabridge probe --once``: one device and check."""

    device_id: str
    address: str
    check: str
    status: str  # ok, degraded, fail
    summary: str
    at: datetime
    loss: float | None = None
    rtt_avg_ms: float | None = None


async def run_once(
    specs: Iterable[DeviceSpec],
    clock: Clock,
    *,
    pinger: Pinger | None = None,
    snmp: SnmpPoller | None = None,
) -> list[ProbeRow]:
    """Probe every device once (no debounce) and return one row per device and check.

    Creates (and closes) a Pinger / SnmpPoller when none is given and one is needed.
    """
    specs = list(specs)
    own_pinger = own_snmp = False
    if pinger is None and any(s.icmp for s in specs):
        pinger, own_pinger = Pinger(detect_icmp_capability()), True
    if snmp is None and any(s.snmp for s in specs):
        snmp, own_snmp = await SnmpPoller.create(), True
    rows: list[ProbeRow] = []
    try:
        snmp_specs = [s for s in specs if s.snmp is not None]
        groups = icmp_groups(specs).values()
        sweeps = await asyncio.gather(*(sweep(pinger, d) for d in groups))  # type: ignore[arg-type]
        polls = await asyncio.gather(*(poll(snmp, s) for s in snmp_specs))  # type: ignore[arg-type]
        at = clock.now()
        ping_results: dict[str, PingResult] = {}
        for res in sweeps:
            ping_results.update(res)
        for s in specs:
            if s.icmp is not None:
                r = ping_results[s.address]
                obs, _ = ping_observation(r, s.icmp)
                summary = (
                    f"{r.received}/{r.sent} replies, rtt avg {r.rtt_avg_ms:.3f} ms"
                    if r.rtt_avg_ms is not None
                    else f"0/{r.sent} replies"
                )
                if r.error:
                    summary += f" ({r.error})"
                rows.append(
                    ProbeRow(
                        s.id, s.address, CHECK_ICMP, str(obs), summary, at, r.loss, r.rtt_avg_ms
                    )
                )
        for s, res in zip(snmp_specs, polls, strict=True):
            assert s.snmp is not None
            for check, obs, detail in snmp_observations(s, s.snmp, res):
                if isinstance(res, ProbeError):
                    summary = str(res)
                elif check == CHECK_SNMP:
                    summary = f"sysUpTime {res.uptime_ticks / 100:.0f} s"
                else:
                    summary = ", ".join(f"{k}={v}" for k, v in detail.items())
                rows.append(ProbeRow(s.id, s.address, check, str(obs), summary, at))
    finally:
        if own_pinger and pinger is not None:
            pinger.close()
        if own_snmp and snmp is not None:
            await snmp.aclose()
    return rows
