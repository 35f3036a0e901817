"""SLA figures of many customers' months at once: the only place reports/ calls sla/.

Two engines give identical figures (a test checks it): ``frames`` (default) batches every
customer sharing a policy and a period into one :mod:`sla.frames` call, which is what makes
1,000 customers fast; ``scalar`` calls :func:`sla.ticket_clocks` and
:func:`sla.device_availability` per item, the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

import sla
from reports.explain import EXPLAIN_COLUMNS, explain_frame, explain_scalar
from reports.model import ReportInput
from sla.frames import EVENT_COLUMNS, device_availability_frame, ticket_clocks_frame

__all__ = ["CLOCK_COLUMNS", "Engine", "Figures", "compute"]

Engine = Literal["frames", "scalar"]
CLOCK_COLUMNS = (
    "priority",
    "status",
    "reaction_elapsed",
    "reaction_target",
    "reaction_state",
    "resolution_elapsed",
    "resolution_target",
    "resolution_state",
)
AVAIL_COLUMNS = (
    "availability",
    "up_seconds",
    "down_seconds",
    "excluded_seconds",
    "maintenance_seconds",
    "counted_seconds",
    "outage_count",
    "longest_outage_seconds",
    "coverage_pct",
)


@dataclass
class Figures:
    """One customer's computed figures: clocks by ticket id, explanation rows, availability by
    device id and the outages of each device that had any."""

    clocks: pd.DataFrame
    explain: pd.DataFrame
    availability: pd.DataFrame
    outages: dict[str, tuple[sla.Outage, ...]]


def _events_rows(inp: ReportInput, key_of: dict[int, object]) -> list[tuple]:
    rows = []
    for t in inp.tickets:
        key = key_of[t.id]
        for e in t.events:
            if e.kind not in sla.CLOCK_KINDS:
                continue
            d = e.data
            rows.append(
                (
                    key,
                    e.at,
                    e.seq,
                    e.kind,
                    d.get("priority") if e.kind == "created"
                    else d.get("to") if e.kind == "priority_changed" else None,
                    d.get("status") if e.kind == "created"
                    else d.get("to") if e.kind == "status_changed" else None,
                    d.get("assignee") if e.kind in ("created", "assigned") else None,
                )
            )
    return rows


def _events_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    for col in ("kind", "priority", "status", "assignee"):
        frame[col] = frame[col].astype(object)
    return frame


def _empty_clocks() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in CLOCK_COLUMNS}, index=pd.Index([], name="ticket_id"))


def _empty_avail() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in AVAIL_COLUMNS}, index=pd.Index([], name="device_id"))


def _outages(inp: ReportInput, device_ids: Sequence[str]) -> dict[str, tuple[sla.Outage, ...]]:
    out = {}
    for dev in device_ids:
        rep = sla.device_availability(
            inp.period, inp.states.get(dev, ()), inp.maintenance.get(dev, ()),
            inp.availability_policy,
        )
        out[dev] = rep.outages
    return out


def _compute_frames(inputs: Sequence[ReportInput]) -> list[Figures]:
    n = len(inputs)
    clocks: list[pd.DataFrame] = [_empty_clocks() for _ in range(n)]
    explains = [pd.DataFrame({c: [] for c in EXPLAIN_COLUMNS}) for _ in range(n)]
    avails: list[pd.DataFrame] = [_empty_avail() for _ in range(n)]

    # Tickets: one sla.frames call per (policy, as-of) group. Keys are (customer index,
    # ticket id) packed in one int64 so factorizing stays numeric.
    groups: dict[tuple[int, object], list[int]] = {}
    for i, inp in enumerate(inputs):
        groups.setdefault((id(inp.policy), inp.period.end), []).append(i)
    for members in groups.values():
        rows: list[tuple] = []
        for i in members:
            inp = inputs[i]
            rows.extend(_events_rows(inp, {t.id: i * 2**32 + t.id for t in inp.tickets}))
        if not rows:
            continue
        policy, now = inputs[members[0]].policy, inputs[members[0]].period.end
        events = _events_frame(rows)
        frame = ticket_clocks_frame(events, policy, now)
        expl = explain_frame(events, policy, now)
        owner = frame.index.to_numpy(dtype=np.int64) // 2**32
        frame.index = pd.Index(frame.index.to_numpy(dtype=np.int64) % 2**32, name="ticket_id")
        e_owner = expl["ticket_id"].to_numpy(dtype=np.int64) // 2**32
        expl["ticket_id"] = expl["ticket_id"].to_numpy(dtype=np.int64) % 2**32
        for i in members:
            clocks[i] = frame.loc[owner == i, list(CLOCK_COLUMNS)]
            explains[i] = expl.loc[e_owner == i].reset_index(drop=True)

    # Devices: one call per (period bounds, accounting policy) group.
    dgroups: dict[tuple, list[int]] = {}
    for i, inp in enumerate(inputs):
        key = (inp.period.start, inp.period.end, inp.availability_policy)
        dgroups.setdefault(key, []).append(i)
    for members in dgroups.values():
        iv_rows, m_rows, all_devs = [], [], []
        for i in members:
            inp = inputs[i]
            for d_pos, dev in enumerate(inp.devices):
                key = i * 2**20 + d_pos
                all_devs.append(key)
                iv_rows.extend((key, s.start, s.end, s.state) for s in inp.states.get(dev.id, ()))
                m_rows.extend((key, w.start, w.end) for w in inp.maintenance.get(dev.id, ()))
        if not all_devs:
            continue
        first = inputs[members[0]]
        intervals = _frame(iv_rows, ("device_id", "start", "end", "state"))
        maint = _frame(m_rows, ("device_id", "start", "end"))
        frame = device_availability_frame(
            first.period, intervals, maint, first.availability_policy, devices=all_devs
        )
        keys = frame.index.to_numpy(dtype=np.int64)
        for i in members:
            inp = inputs[i]
            sel = keys // 2**20 == i
            part = frame.loc[sel, list(AVAIL_COLUMNS)]
            part.index = pd.Index(
                [inp.devices[int(k % 2**20)].id for k in keys[sel]], name="device_id"
            )
            avails[i] = part
    out = []
    for i, inp in enumerate(inputs):
        a = avails[i]
        with_outages = a.index[a["outage_count"].to_numpy() > 0] if len(a) else []
        out.append(Figures(clocks[i], explains[i], a, _outages(inp, list(with_outages))))
    return out


def _frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["device_id"] = frame["device_id"].astype(np.int64)
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    if "state" in frame:
        frame["state"] = frame["state"].astype(object)
    return frame


def _compute_scalar(inputs: Sequence[ReportInput]) -> list[Figures]:
    out = []
    for inp in inputs:
        now = inp.period.end
        rows = []
        logs = {}
        for t in sorted(inp.tickets, key=lambda t: t.id):
            events = [e for e in t.events if e.kind in sla.CLOCK_KINDS]
            logs[t.id] = events
            c = sla.ticket_clocks(events, inp.policy, now)
            rows.append(
                (
                    t.id, c.priority, c.status,
                    c.reaction.elapsed_seconds, c.reaction.target_seconds, c.reaction.state,
                    c.resolution.elapsed_seconds, c.resolution.target_seconds,
                    c.resolution.state,
                )
            )
        clocks = (
            pd.DataFrame(rows, columns=["ticket_id", *CLOCK_COLUMNS]).set_index("ticket_id")
            if rows else _empty_clocks()
        )
        arows, outages = [], {}
        for dev in inp.devices:
            r = sla.device_availability(
                inp.period, inp.states.get(dev.id, ()), inp.maintenance.get(dev.id, ()),
                inp.availability_policy,
            )
            arows.append(
                (
                    dev.id,
                    np.nan if r.availability is None else r.availability,
                    r.up_seconds, r.down_seconds, r.excluded_seconds, r.maintenance_seconds,
                    r.counted_seconds, r.outage_count, r.longest_outage_seconds, r.coverage_pct,
                )
            )
            if r.outages:
                outages[dev.id] = r.outages
        avail = (
            pd.DataFrame(arows, columns=["device_id", *AVAIL_COLUMNS]).set_index("device_id")
            if arows else _empty_avail()
        )
        out.append(Figures(clocks, explain_scalar(logs, inp.policy, now), avail, outages))
    return out


def compute(inputs: Sequence[ReportInput], engine: Engine = "frames") -> list[Figures]:
    """Figures of every input, in order."""
    if engine == "frames":
        return _compute_frames(inputs)
    if engine == "scalar":
        return _compute_scalar(inputs)
    raise ValueError(f"engine must be 'frames' or 'scalar', not {engine!r}")
