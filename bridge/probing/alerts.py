"""A probe state change as a normalized Alert for the one intake.

Source `probe.icmp` / `probe.snmp`, identity `device:check`, so probe alerts are deduplicated,
recovered and correlated exactly like webhook alerts. A child behind a down parent is
*unreachable*: it opens no ticket of its own (its state is still recorded, see `records`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.alert import Alert, AlertStatus
from bridge.config import DeviceConfig, SourceConfig
from bridge.config.models import RouteRule
from probes.state import CHECK_ICMP, State, StateChange

_DEVICE_ROUTE = [RouteRule(label="device", to="device")]
PROBE_SOURCES = {
    "icmp": SourceConfig(name="probe.icmp", type="probe.icmp", routing=_DEVICE_ROUTE),
    "snmp": SourceConfig(name="probe.snmp", type="probe.snmp", routing=_DEVICE_ROUTE),
}


@dataclass(frozen=True, slots=True)
class ProbeAlert:
    """What a state change means for tickets."""

    alert: Alert | None  # None: no ticket of its own
    source: SourceConfig


def _alertname(check: str, rule: str) -> str:
    if rule == "reboot":
        return "DeviceRebooted"
    if check == CHECK_ICMP:
        return "DeviceDown"
    if check.startswith("snmp.if."):
        return "InterfaceDown"
    if check.startswith("snmp.threshold."):
        return "ThresholdCrossed"
    return "SnmpUnreachable"


def _sample_text(sample: Mapping[str, Any] | None) -> str:
    if not sample:
        return ""
    parts = []
    if sample.get("loss") is not None:
        parts.append(f"last loss {sample['loss']:.0%}")
    if sample.get("rtt_avg_ms") is not None:
        parts.append(f"last RTT avg {sample['rtt_avg_ms']:.2f} ms")
    return ", ".join(parts)


def change_to_alert(
    change: StateChange, device: DeviceConfig, sample: Mapping[str, Any] | None
) -> ProbeAlert:
    """Pure: a probe state change as a normalized Alert, or none for an unreachable child."""
    kind = "icmp" if change.check == CHECK_ICMP else "snmp"
    source = PROBE_SOURCES[kind]
    name = device.name or device.id
    new, old = change.new_state, change.old_state
    detail = {k: v for k, v in change.detail.items() if isinstance(v, str | int | float | bool)}
    labels = {
        "device": device.id,
        "check": change.check,
        "alertname": _alertname(change.check, change.rule),
    }
    seen = _sample_text(sample)
    raw = {
        "check": change.check,
        "rule": change.rule,
        "old": old.value,
        "new": new.value,
        "detail": detail,
        "sample": dict(sample or {}),
    }

    def make(identity: str, status: AlertStatus, title: str, severity: str, text: str) -> Alert:
        lines = [text, f"device {device.id} ({device.ip}), check {change.check}"]
        if seen:
            lines.append(f"probe saw: {seen}")
        lines += [f"{k}: {v}" for k, v in sorted(detail.items())]
        return Alert(
            source=source.type,
            identity=identity,
            status=status,
            title=title,
            severity=severity,
            description="\n".join(lines),
            labels=labels,
            annotations={"summary": title},
            starts_at=change.began_at,
            ends_at=change.began_at if status == AlertStatus.RESOLVED else None,
            raw=raw,
        )

    base = f"{device.id}:{change.check}"
    if change.rule == "reboot":
        return ProbeAlert(
            make(
                f"{device.id}:reboot",
                AlertStatus.FIRING,
                f"{name} rebooted",
                "warning",
                f"sysUpTime went back from {detail.get('uptime_before')} to "
                f"{detail.get('uptime_after')} ticks",
            ),
            source,
        )
    if change.rule == "flapping_started":
        return ProbeAlert(
            make(
                f"{base}:flapping",
                AlertStatus.FIRING,
                f"{name} is flapping",
                "warning",
                "state changes too often; one ticket until stable",
            ),
            source,
        )
    if change.rule == "flapping_stopped":
        return ProbeAlert(
            make(
                f"{base}:flapping",
                AlertStatus.RESOLVED,
                f"{name} is stable again",
                "warning",
                f"settled {new.value}",
            ),
            source,
        )
    if new == State.UNREACHABLE or change.rule in ("flapping_suppressed", "unconfirmed_failure"):
        return ProbeAlert(None, source)
    if change.check == CHECK_ICMP:
        if new == State.DOWN:
            return ProbeAlert(
                make(
                    base,
                    AlertStatus.FIRING,
                    f"{name} does not answer ping",
                    "critical",
                    "down after consecutive failed cycles",
                ),
                source,
            )
        if new == State.DEGRADED:
            return ProbeAlert(
                make(
                    f"{base}:degraded",
                    AlertStatus.FIRING,
                    f"{name} answers ping poorly",
                    "warning",
                    "loss or RTT above the degraded threshold",
                ),
                source,
            )
        if new == State.UP and old in (State.DOWN, State.UNREACHABLE):
            return ProbeAlert(
                make(
                    base,
                    AlertStatus.RESOLVED,
                    f"{name} answers ping again",
                    "critical",
                    "up after consecutive good cycles",
                ),
                source,
            )
        if new == State.UP and old == State.DEGRADED:
            return ProbeAlert(
                make(
                    f"{base}:degraded",
                    AlertStatus.RESOLVED,
                    f"{name} answers ping normally",
                    "warning",
                    "recovered",
                ),
                source,
            )
        return ProbeAlert(None, source)
    label = change.check.removeprefix("snmp.if.").removeprefix("snmp.threshold.")
    if change.check.startswith("snmp.if."):
        title = f"{name}: interface {label} {'down' if new == State.DOWN else 'up'}"
    elif change.check.startswith("snmp.threshold."):
        title = (
            f"{name}: {label} {'crossed its threshold' if new == State.DOWN else 'back in range'}"
        )
    else:
        title = f"{name} {'does not answer SNMP' if new == State.DOWN else 'answers SNMP again'}"
    if new == State.DOWN:
        return ProbeAlert(make(base, AlertStatus.FIRING, title, "high", title), source)
    if new == State.UP and old == State.DOWN:
        return ProbeAlert(make(base, AlertStatus.RESOLVED, title, "high", title), source)
    return ProbeAlert(None, source)
