"""Wiring probes into the one alert path, and recording device states for availability.

probes/ knows nothing of tickets: it reports state changes and samples. Here a change becomes a
normalized Alert (source `probe.icmp` / `probe.snmp`, identity `device:check`) for the same
ingest as webhooks, and an interval in `device_states`, the source of truth for availability.
A child behind a down parent is *unreachable*: it opens no ticket of its own, its state is still
recorded, and the parent's ticket hears of it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

import sla
from bridge import tickets as tk
from bridge.alert import Alert, AlertStatus
from bridge.config import Config, DeviceConfig, SourceConfig
from bridge.config.models import RouteRule
from bridge.store.schema import alert_keys, device_states, probe_samples
from probes.icmp import PingResult
from probes.snmp import SnmpPollResult
from probes.spec import DeviceSpec, IcmpSettings, SnmpSettings, ThresholdSpec
from probes.state import CHECK_ICMP, CHECK_SNMP, Policy, State, StateChange

log = logging.getLogger(__name__)

_DEVICE_ROUTE = [RouteRule(label="device", to="device")]
PROBE_SOURCES = {
    "icmp": SourceConfig(name="probe.icmp", type="probe.icmp", routing=_DEVICE_ROUTE),
    "snmp": SourceConfig(name="probe.snmp", type="probe.snmp", routing=_DEVICE_ROUTE),
}


def policy(cfg: Config) -> Policy:
    p = cfg.probing
    return Policy(
        down_after=p.down_after,
        up_after=p.up_after,
        flap_changes=p.flap_changes,
        flap_window=timedelta(seconds=p.flap_window),
    )


def device_specs(cfg: Config) -> list[DeviceSpec]:
    """The probe settings of every configured device that has any."""
    out = []
    for d in cfg.devices:
        probe = d.probe
        if probe is None or (probe.icmp is None and probe.snmp is None):
            continue
        icmp = None
        if probe.icmp is not None:
            i = probe.icmp
            icmp = IcmpSettings(
                interval=i.interval,
                count=i.count,
                timeout=i.timeout,
                degraded_loss=i.degraded_loss,
                degraded_rtt_ms=i.degraded_rtt_ms,
            )
        snmp = None
        if probe.snmp is not None:
            s = probe.snmp
            thresholds = []
            for t in s.thresholds:
                if t.above is not None:
                    thresholds.append(ThresholdSpec(t.name, t.oid.lstrip("."), ">", t.above))
                if t.below is not None:
                    thresholds.append(ThresholdSpec(t.name, t.oid.lstrip("."), "<", t.below))
            snmp = SnmpSettings(
                version="2c" if s.version == "v2c" else "3",
                port=s.port,
                community=s.community,
                user=s.user,
                auth_protocol=s.auth_protocol.lower(),
                auth_key=s.auth_key,
                priv_protocol=s.priv_protocol.lower(),
                priv_key=s.priv_key,
                timeout=s.timeout,
                retries=s.retries,
                interval=s.interval,
                interfaces=tuple(s.interfaces),
                thresholds=tuple(thresholds),
            )
        parent = d.depends_on
        out.append(DeviceSpec(id=d.id, address=d.ip, parent=parent, icmp=icmp, snmp=snmp))
    # a parent without probes of its own cannot gate its children
    probed = {s.id for s in out}
    return [s if s.parent in probed or s.parent is None else _orphan(s) for s in out]


def without_icmp(specs: list[DeviceSpec]) -> list[DeviceSpec]:
    """The specs with their ICMP checks dropped (no ICMP on this host); SNMP checks stay."""
    kept = [dataclasses.replace(s, icmp=None) for s in specs if s.snmp is not None]
    ids = {s.id for s in kept}
    return [s if s.parent is None or s.parent in ids else _orphan(s) for s in kept]


def _orphan(spec: DeviceSpec) -> DeviceSpec:
    return DeviceSpec(id=spec.id, address=spec.address, parent=None, icmp=spec.icmp, snmp=spec.snmp)


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


#: device_states.site of the device's decided state (the other rows are each site's own)
DECISION = "*"


def _open_row(
    conn: sa.Connection, device_id: str, check: str, site: str = DECISION
) -> sa.RowMapping | None:
    return (
        conn.execute(
            sa.select(device_states).where(
                device_states.c.device_id == device_id,
                device_states.c.check == check,
                device_states.c.site == site,
                device_states.c.ended_at.is_(None),
            )
        )
        .mappings()
        .one_or_none()
    )


def _close(conn: sa.Connection, row: sa.RowMapping | None, at: datetime) -> None:
    """End the open interval at ``at``; one that would end where it began goes."""
    if row is None:
        return
    query = device_states.c.id == row["id"]
    if row["started_at"] >= at:
        conn.execute(sa.delete(device_states).where(query))
    else:
        conn.execute(sa.update(device_states).where(query).values(ended_at=at))


def record_state(conn: sa.Connection, change: StateChange, site: str = DECISION) -> None:
    """Close the check's open interval where the change began and open the new one.

    The instants are the probes' (``began_at``: the first probe of the deciding run), not the
    debounce's decision. Failed probes never confirmed are an interval of their own
    (``unconfirmed``) cut out of the state they interrupted, which then carries on.
    """
    unconfirmed = change.rule == "unconfirmed_failure"
    if change.old_state == change.new_state and not unconfirmed:
        return  # reboots and flapping markers are events, not states
    current = _open_row(conn, change.device_id, change.check, site)
    if not unconfirmed and current is not None and current["state"] == change.new_state.value:
        return  # already recorded (a flap that settles where it was last told)
    begin = change.began_at
    if current is not None:  # never reach back over what is already recorded
        begin = max(begin, current["started_at"])
    if unconfirmed and begin >= change.at:
        return  # nothing left to cut out
    _close(conn, current, begin)
    detail = {k: v for k, v in change.detail.items() if isinstance(v, str | int | float | bool)}
    detail["rule"] = change.rule
    key = {"device_id": change.device_id, "check": change.check, "site": site}
    if unconfirmed:
        conn.execute(
            sa.insert(device_states).values(
                **key, state=sla.UNCONFIRMED, started_at=begin, ended_at=change.at, detail=detail
            )
        )
        if current is not None:  # the interrupted state carries on
            conn.execute(
                sa.insert(device_states).values(
                    **key,
                    state=current["state"],
                    started_at=change.at,
                    ended_at=None,
                    detail=current["detail"],
                )
            )
        return
    conn.execute(
        sa.insert(device_states).values(
            **key, state=change.new_state.value, started_at=begin, ended_at=None, detail=detail
        )
    )


def _sample_check(check: str) -> str:
    """The sample a check's observation comes from: one SNMP poll serves every snmp.* check."""
    return check if check == CHECK_ICMP else CHECK_SNMP


def record_unknown_gap(conn: sa.Connection, now: datetime, site: str | None = None) -> int:
    """At start: the time since each check's last observed probe was not observed: unknown.

    Samples are written at the end of every cycle, so the gap begins at the last probe the
    previous process saw (not at a periodic flush); it ends where the first probe of this
    process begins the next state (see probes.state).
    """
    query = sa.select(device_states).where(device_states.c.ended_at.is_(None))
    if site is not None:  # one site's observations and the decisions (a lone node's restart)
        query = query.where(device_states.c.site.in_([site, DECISION]))
    open_rows = conn.execute(query).mappings().all()
    last = {
        (r["device_id"], r["check"]): r["at"]
        for r in conn.execute(sa.select(probe_samples)).mappings()
    }
    n = 0
    for row in open_rows:
        if row["state"] == State.UNKNOWN.value:
            continue
        seen = last.get((row["device_id"], _sample_check(row["check"])), row["started_at"])
        seen = min(max(seen, row["started_at"]), now)
        _close(conn, row, seen)
        conn.execute(
            sa.insert(device_states).values(
                device_id=row["device_id"],
                check=row["check"],
                site=row["site"],
                state=State.UNKNOWN.value,
                started_at=seen,
                ended_at=None,
                detail={"rule": "probe_not_running"},
            )
        )
        n += 1
    return n


def is_firing(conn: sa.Connection, change: StateChange) -> bool:
    """Whether the store still holds this check's down alert as firing (e.g. across a restart)."""
    source = PROBE_SOURCES["icmp" if change.check == CHECK_ICMP else "snmp"].name
    status = conn.execute(
        sa.select(alert_keys.c.status).where(
            alert_keys.c.source == source,
            alert_keys.c.identity == f"{change.device_id}:{change.check}",
        )
    ).scalar_one_or_none()
    return status in (AlertStatus.FIRING.value, AlertStatus.ACKNOWLEDGED.value)


def attach_to_parent(
    conn: sa.Connection, change: StateChange, parent: str, *, now: datetime
) -> int | None:
    """An unreachable child hangs under its parent's open probe ticket."""
    hot = conn.execute(
        sa.select(alert_keys.c.ticket_id).where(
            alert_keys.c.source == PROBE_SOURCES["icmp"].name,
            alert_keys.c.identity == f"{parent}:{CHECK_ICMP}",
        )
    ).scalar_one_or_none()
    if hot is None:
        return None
    row = tk.load(conn, hot)
    if row["status"] == "closed":
        return None
    tk.record(
        conn,
        row,
        "alert_attached",
        change.at,
        "probe.icmp",
        {
            "source": "probe.icmp",
            "identity": f"{change.device_id}:{change.check}",
            "status": "unreachable",
            "note": f"{change.device_id} unreachable behind {parent}",
        },
        now=now,
    )
    return hot


@dataclass
class SampleBuffer:
    """The latest sample per device and check, flushed to the store in one statement."""

    latest: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, device_id: str, check: str, result: Any, at: datetime) -> dict[str, Any]:
        sample: dict[str, Any] = {"at": at.isoformat()}
        if isinstance(result, PingResult):
            sample.update(
                loss=result.loss,
                rtt_avg_ms=result.rtt_avg_ms,
                rtt_min_ms=result.rtt_min_ms,
                rtt_max_ms=result.rtt_max_ms,
            )
        elif isinstance(result, SnmpPollResult):
            sample.update(uptime_ticks=result.uptime_ticks, rtt_ms=result.rtt_ms)
        else:
            sample.update(error=str(result))
        self.latest[(device_id, check)] = {
            "device_id": device_id,
            "check": check,
            "at": at,
            "detail": sample,
        }
        return sample

    def take(self) -> list[dict[str, Any]]:
        rows = list(self.latest.values())
        self.latest.clear()
        return rows


def flush_samples(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [(r["device_id"], r["check"]) for r in rows]
    # in chunks: PostgreSQL refuses one IN list of 20,000 pairs (stack depth limit exceeded)
    for i in range(0, len(keys), 1000):
        conn.execute(
            sa.delete(probe_samples).where(
                sa.tuple_(probe_samples.c.device_id, probe_samples.c.check).in_(keys[i : i + 1000])
            )
        )
    conn.execute(sa.insert(probe_samples), rows)


OnAlert = Callable[[SourceConfig, list[Alert], datetime], Awaitable[Any]]
