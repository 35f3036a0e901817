"""What one ICMP sweep or SNMP poll saw, as state-engine observations; shared by the
scheduled runner (:mod:`probes.runner`) and ``slabridge probe --once`` (:mod:`probes.once`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from probes.checks import (
    CHECK_SNMP,
    Observation,
    classify_if_status,
    classify_ping,
    interface_check,
    threshold_check,
    threshold_crossed,
)
from probes.errors import ProbeError, SnmpError
from probes.icmp import Pinger, PingResult
from probes.snmp import SnmpPoller, SnmpPollResult
from probes.spec import DeviceSpec, IcmpSettings, SnmpSettings

IcmpKey = tuple[float, int, float, float]


def icmp_groups(specs: Iterable[DeviceSpec]) -> dict[IcmpKey, list[DeviceSpec]]:
    """The devices with an ICMP check, grouped by their settings (one sweep per group)."""
    groups: dict[IcmpKey, list[DeviceSpec]] = {}
    for spec in specs:
        if spec.icmp is not None:
            groups.setdefault(_icmp_key(spec.icmp), []).append(spec)
    return groups


def _icmp_key(s: IcmpSettings) -> IcmpKey:
    return (s.interval, s.count, s.spacing, s.timeout)


async def sweep(pinger: Pinger, devices: list[DeviceSpec]) -> dict[str, PingResult]:
    """One ICMP sweep of devices sharing their ICMP settings, by address."""
    settings = devices[0].icmp
    assert settings is not None
    return await pinger.sweep(
        [d.address for d in devices],
        count=settings.count,
        interval=settings.spacing,
        timeout=settings.timeout,
    )


async def poll(snmp: SnmpPoller, spec: DeviceSpec) -> SnmpPollResult | ProbeError:
    """One SNMP poll of a device; its error is a result (it fails the snmp check)."""
    assert spec.snmp is not None
    try:
        return await snmp.poll(spec.address, spec.snmp)
    except SnmpError as err:
        return err


def ping_observation(result: PingResult, s: IcmpSettings) -> tuple[Observation, dict[str, Any]]:
    obs = classify_ping(
        result.received, result.loss, result.rtt_avg_ms, s.degraded_loss, s.degraded_rtt_ms
    )
    detail: dict[str, Any] = {
        "address": result.address,
        "sent": result.sent,
        "received": result.received,
        "loss": result.loss,
        "rtt_avg_ms": result.rtt_avg_ms,
        "rtt_max_ms": result.rtt_max_ms,
    }
    if result.error:
        detail["error"] = result.error
    return obs, detail


def snmp_observations(
    spec: DeviceSpec, settings: SnmpSettings, result: SnmpPollResult | ProbeError
) -> list[tuple[str, Observation, dict[str, Any]]]:
    """(check, observation, detail) triples of one poll; errors fail the snmp check only."""
    if isinstance(result, ProbeError):
        return [
            (
                CHECK_SNMP,
                Observation.FAIL,
                {
                    "address": spec.address,
                    "error": str(result),
                    "error_type": type(result).__name__,
                },
            )
        ]
    out = [
        (CHECK_SNMP, Observation.OK, {"address": spec.address, "rtt_ms": round(result.rtt_ms, 3)})
    ]
    for label, status in result.interfaces.items():
        detail: dict[str, Any] = {"interface": label, "oper_status": status}
        if status is None:
            detail["error"] = "no such interface"
            out.append((interface_check(label), Observation.FAIL, detail))
        else:
            out.append((interface_check(label), classify_if_status(status), detail))
    for th in settings.thresholds:
        value = result.thresholds.get(th.name)
        if value is None:
            continue  # missing or non-numeric: nothing to compare; the sample shows it
        crossed = threshold_crossed(value, th.op, th.value)
        out.append(
            (
                threshold_check(th.name),
                Observation.DEGRADED if crossed else Observation.OK,
                {
                    "threshold": th.name,
                    "oid": th.oid,
                    "value": value,
                    "op": th.op,
                    "limit": th.value,
                },
            )
        )
    return out
