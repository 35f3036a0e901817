"""Recording device states for availability, and the latest probe samples.

Every state change is an interval in `device_states`, the source of truth for availability:
each site's own observations, and the device's decided state under site `*`. A child behind a
down parent is *unreachable*: its state is recorded and the parent's ticket hears of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

import sla
from bridge import tickets as tk
from bridge.alert import AlertStatus
from bridge.probing.alerts import PROBE_SOURCES
from bridge.store.schema import alert_keys, device_states, probe_samples
from probes.icmp import PingResult
from probes.snmp import SnmpPollResult
from probes.state import CHECK_ICMP, CHECK_SNMP, State, StateChange

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
