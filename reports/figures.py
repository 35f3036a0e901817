"""SLA figures of many customers' months at once: the only place reports/ calls sla/.

Two engines give identical figures (a test checks it): ``frames`` (default) batches every
customer sharing a policy and a period into one :mod:`sla.frames` call, which is what makes
1,000 customers fast; ``scalar`` calls :func:`sla.ticket_clocks`,
:func:`sla.device_availability` and :func:`sla.service_availability` per item, the reference.

The frames engine makes one call per group for tickets (clocks and explanations), devices
(availability and outages, :func:`sla.frames.device_frames`) and services
(:func:`sla.frames.service_frames`), then cuts the results into customers by row ranges:
each customer's figures are numpy slices (:class:`Columns`), never DataFrames of their own.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

import sla
from reports.explain import EXPLAIN_COLUMNS, explain_frame, explain_scalar
from reports.model import ReportInput
from sla.frames import EVENT_COLUMNS, device_frames, service_frames, ticket_clocks_frame
from sla.instants import to_epoch

__all__ = [
    "CLOCK_COLUMNS", "STATE_COLUMNS", "Columns", "Engine", "Figures", "compute", "gc_paused",
    "services_of",
]

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
    "reaction_stopped",
    "resolution_stopped",
)
#: Seconds of each device state and of maintenance (:func:`sla.state_seconds`), in reading
#: order: a state sla/ may add later comes before maintenance.
_STATE_ORDER = ("up", "degraded", "down", "unreachable", "unknown", "impaired")
STATE_COLUMNS = tuple(
    f"state_{s}"
    for s in (*_STATE_ORDER, *sorted(sla.DEVICE_STATES - set(_STATE_ORDER)), "maintenance")
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
DEVICE_COLUMNS = AVAIL_COLUMNS + STATE_COLUMNS


@dataclass
class Columns:
    """One customer's table as plain numpy columns (cheap slices of a batch; no DataFrame per
    customer): ``index`` (ticket, device or service ids) and ``cols`` by name. Missing values
    of nullable columns are ``None``."""

    index: list
    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    @classmethod
    def of(cls, frame: pd.DataFrame, names: Sequence[str]) -> Columns:
        return cls(frame.index.tolist(), {c: _np(frame[c]) for c in names})

    def take(self, lo: int, hi: int, index: list) -> Columns:
        return Columns(index, {c: v[lo:hi] for c, v in self.cols.items()})


def _np(col: pd.Series) -> np.ndarray:
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iufb":
        return col.to_numpy()
    return col.to_numpy(dtype=object, na_value=None)


@dataclass
class Figures:
    """One customer's computed figures: clocks by ticket id, explanation rows, availability by
    device id, the outages of each device that had any (``(start, end, seconds)``, UTC epoch
    seconds, in time order) and the availability of each service (tag shared by two or more
    devices, sorted) with its member device ids."""

    clocks: Columns
    explain: Columns
    availability: Columns
    outages: dict[str, list[tuple[int, int, int]]]
    services: Columns
    service_members: dict[str, list[str]]


def services_of(inp: ReportInput) -> dict[str, list[str]]:
    """Tags shared by two or more devices (sorted) → member device ids in device order."""
    by_tag: dict[str, list[str]] = {}
    for d in inp.devices:
        for tag in d.tags:
            by_tag.setdefault(tag, []).append(d.id)
    return {t: by_tag[t] for t in sorted(t for t, m in by_tag.items() if len(m) >= 2)}


def _events_columns(inputs: Sequence[ReportInput], members: list[int]) -> pd.DataFrame:
    """The events frame of the clock events of every ticket of ``members`` (one tuple per
    event, transposed once); ticket ids are (customer index, ticket id) packed in one int64."""
    rows: list[tuple] = []
    add = rows.append
    clock_kinds = sla.CLOCK_KINDS
    for i in members:
        base = i * 2**32
        for t in inputs[i].tickets:
            k = base + t.id
            for e in t.events:
                ek = e.kind
                if ek not in clock_kinds:
                    continue
                d = e.data
                if ek == "created":
                    add((k, e.at, e.seq, ek, d.get("priority"), d.get("status"),
                         d.get("assignee")))
                else:
                    add((k, e.at, e.seq, ek, d.get("to") if ek == "priority_changed" else None,
                         d.get("to") if ek == "status_changed" else None,
                         d.get("assignee") if ek == "assigned" else None))
    if not rows:
        return pd.DataFrame({c: [] for c in EVENT_COLUMNS})
    key, at, seq, kind, prio, status, assignee = zip(*rows, strict=True)
    del rows
    frame = pd.DataFrame(
        {"ticket_id": np.array(key, dtype=np.int64), "at": pd.to_datetime(at, utc=True),
         "seq": np.array(seq, dtype=np.int64)}
    )
    for col, values in (("kind", kind), ("priority", prio), ("status", status),
                        ("assignee", assignee)):
        frame[col] = pd.Series(values, dtype=object)
    return frame


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a batch that allocates millions of objects and
    no reference cycles: every full collection would scan all the live inputs and figures
    (about a tenth of the time of 1,000 customers). Restores the previous state."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _empty_clocks() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in CLOCK_COLUMNS}, index=pd.Index([], name="ticket_id"))


def _empty_avail(name: str = "device_id") -> pd.DataFrame:
    cols = DEVICE_COLUMNS if name == "device_id" else AVAIL_COLUMNS
    return pd.DataFrame({c: [] for c in cols}, index=pd.Index([], name=name))


def _bounds(owner: np.ndarray, n: int) -> np.ndarray:
    """Row ranges of owners 0..n-1 in ``owner`` (ascending)."""
    return np.searchsorted(owner, np.arange(n + 1))


def _by_owner(frame: pd.DataFrame, owner: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if len(owner) > 1 and (owner[1:] < owner[:-1]).any():
        order = np.argsort(owner, kind="stable")
        return frame.iloc[order], owner[order]
    return frame, owner


def _compute_frames(inputs: Sequence[ReportInput]) -> list[Figures]:
    n = len(inputs)
    clocks = [Columns.of(_empty_clocks(), CLOCK_COLUMNS)] * n
    explains = [Columns.of(pd.DataFrame({c: [] for c in EXPLAIN_COLUMNS}), EXPLAIN_COLUMNS)] * n
    avails = [Columns.of(_empty_avail(), DEVICE_COLUMNS)] * n
    outages: list[dict[str, list[tuple[int, int, int]]]] = [{} for _ in range(n)]
    svc_members = [services_of(inp) for inp in inputs]
    services = [Columns.of(_empty_avail("service"), AVAIL_COLUMNS)] * n

    # Tickets: one sla.frames call per (policy, as-of) group. Keys are (customer index,
    # ticket id) packed in one int64 so factorizing stays numeric; results are cut into
    # customers by row ranges (sorted by owner), never by one mask per customer.
    groups: dict[tuple[int, object], list[int]] = {}
    for i, inp in enumerate(inputs):
        groups.setdefault((id(inp.policy), inp.period.end), []).append(i)
    for members in groups.values():
        events = _events_columns(inputs, members)
        if not len(events):
            continue
        policy, now = inputs[members[0]].policy, inputs[members[0]].period.end
        frame = ticket_clocks_frame(events, policy, now)
        expl = explain_frame(events, policy, now)
        raw = frame.index.to_numpy(dtype=np.int64)
        frame.index = pd.Index(raw % 2**32, name="ticket_id")
        frame, owner = _by_owner(frame, raw // 2**32)
        e_raw = expl["ticket_id"].to_numpy(dtype=np.int64)
        expl["ticket_id"] = e_raw % 2**32
        expl, e_owner = _by_owner(expl, e_raw // 2**32)
        cb, eb = _bounds(owner, n), _bounds(e_owner, n)
        c_all, e_all = Columns.of(frame, CLOCK_COLUMNS), Columns.of(expl, EXPLAIN_COLUMNS)
        for i in members:
            clocks[i] = c_all.take(cb[i], cb[i + 1], c_all.index[cb[i]:cb[i + 1]])
            explains[i] = e_all.take(eb[i], eb[i + 1], list(range(eb[i + 1] - eb[i])))

    # Devices and services: one call each per (period bounds, accounting policy) group.
    dgroups: dict[tuple, list[int]] = {}
    for i, inp in enumerate(inputs):
        key = (inp.period.start, inp.period.end, inp.availability_policy)
        dgroups.setdefault(key, []).append(i)
    for members in dgroups.values():
        iv_key, iv_s, iv_e, iv_st, m_key, m_s, m_e, all_devs = [], [], [], [], [], [], [], []
        svc_keys: dict[int, list[int]] = {}
        name_of: dict[int, str] = {}
        for i in members:
            inp = inputs[i]
            pos = {}
            for d_pos, dev in enumerate(inp.devices):
                key = i * 2**20 + d_pos
                pos[dev.id] = key
                name_of[key] = dev.id
                all_devs.append(key)
                for s in inp.states.get(dev.id, ()):
                    iv_key.append(key)
                    iv_s.append(s.start)
                    iv_e.append(s.end)
                    iv_st.append(s.state)
                for w in inp.maintenance.get(dev.id, ()):
                    m_key.append(key)
                    m_s.append(w.start)
                    m_e.append(w.end)
            for k, tag_members in enumerate(svc_members[i].values()):
                svc_keys[i * 2**20 + k] = [pos[m] for m in tag_members]
        if not all_devs:
            continue
        first = inputs[members[0]]
        intervals = _frame(iv_key, iv_s, iv_e, iv_st)
        maint = _frame(m_key, m_s, m_e, None)
        frame, outs = device_frames(
            first.period, intervals, maint, first.availability_policy, devices=all_devs
        )
        keys = frame.index.to_numpy(dtype=np.int64)
        frame, owner = _by_owner(frame, keys // 2**20)
        keys = frame.index.to_numpy(dtype=np.int64)
        b = _bounds(owner, n)
        a_all = Columns.of(frame, DEVICE_COLUMNS)
        for i in members:
            devs = inputs[i].devices
            avails[i] = a_all.take(
                b[i], b[i + 1], [devs[k].id for k in (keys[b[i]:b[i + 1]] % 2**20).tolist()]
            )
        okeys = outs["device_id"].to_numpy(dtype=np.int64)
        for i, name, a, e, sec in zip(
            (okeys // 2**20).tolist(), [name_of[k] for k in okeys.tolist()],
            outs["start"].tolist(), outs["end"].tolist(), outs["seconds"].tolist(), strict=True,
        ):
            per_dev = outages[i]
            if name in per_dev:
                per_dev[name].append((a, e, sec))
            else:
                per_dev[name] = [(a, e, sec)]
        if svc_keys:
            sframe, _ = service_frames(first.period, intervals, svc_keys, maint,
                                       first.availability_policy)
            skeys = sframe.index.to_numpy(dtype=np.int64)
            sframe, sowner = _by_owner(sframe, skeys // 2**20)
            skeys = sframe.index.to_numpy(dtype=np.int64)
            sb = _bounds(sowner, n)
            s_all = Columns.of(sframe, AVAIL_COLUMNS)
            for i in members:
                tags = list(svc_members[i])
                services[i] = s_all.take(
                    sb[i], sb[i + 1], [tags[k] for k in (skeys[sb[i]:sb[i + 1]] % 2**20).tolist()]
                )
    return [
        Figures(clocks[i], explains[i], avails[i], outages[i], services[i], svc_members[i])
        for i in range(n)
    ]


def _frame(key: list, start: list, end: list, state: list | None) -> pd.DataFrame:
    cols = {
        "device_id": np.array(key, dtype=np.int64),
        "start": pd.to_datetime(start, utc=True),
        "end": pd.to_datetime(end, utc=True),
    }
    frame = pd.DataFrame(cols)
    if state is not None:
        frame["state"] = pd.Series(state, dtype=object)
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
                    c.resolution.state, c.reaction.stopped, c.resolution.stopped,
                )
            )
        clocks = (
            pd.DataFrame(rows, columns=["ticket_id", *CLOCK_COLUMNS]).set_index("ticket_id")
            if rows else _empty_clocks()
        )
        arows, outages = [], {}
        for dev in inp.devices:
            states, windows = inp.states.get(dev.id, ()), inp.maintenance.get(dev.id, ())
            r = sla.device_availability(inp.period, states, windows, inp.availability_policy)
            split = sla.state_seconds(inp.period, states, windows)
            arows.append(
                (
                    dev.id,
                    np.nan if r.availability is None else r.availability,
                    r.up_seconds, r.down_seconds, r.excluded_seconds, r.maintenance_seconds,
                    r.counted_seconds, r.outage_count, r.longest_outage_seconds, r.coverage_pct,
                    *(split[c.removeprefix("state_")] for c in STATE_COLUMNS),
                )
            )
            if r.outages:
                outages[dev.id] = [(to_epoch(o.start), to_epoch(o.end), o.seconds)
                                   for o in r.outages]
        avail = (
            pd.DataFrame(arows, columns=["device_id", *DEVICE_COLUMNS]).set_index("device_id")
            if arows else _empty_avail()
        )
        members = services_of(inp)
        srows = []
        for tag, devs in members.items():
            r = sla.service_availability(
                inp.period,
                {m: inp.states.get(m, ()) for m in devs},
                mode="all",
                member_maintenance={m: inp.maintenance.get(m, ()) for m in devs},
                policy=inp.availability_policy,
            )
            srows.append(
                (
                    tag,
                    np.nan if r.availability is None else r.availability,
                    r.up_seconds, r.down_seconds, r.excluded_seconds, r.maintenance_seconds,
                    r.counted_seconds, r.outage_count, r.longest_outage_seconds, r.coverage_pct,
                )
            )
        services = (
            pd.DataFrame(srows, columns=["service", *AVAIL_COLUMNS]).set_index("service")
            if srows else _empty_avail("service")
        )
        out.append(
            Figures(
                Columns.of(clocks, CLOCK_COLUMNS),
                Columns.of(explain_scalar(logs, inp.policy, now), EXPLAIN_COLUMNS),
                Columns.of(avail, DEVICE_COLUMNS), outages,
                Columns.of(services, AVAIL_COLUMNS), members,
            )
        )
    return out


def compute(inputs: Sequence[ReportInput], engine: Engine = "frames") -> list[Figures]:
    """Figures of every input, in order."""
    if engine == "frames":
        with gc_paused():
            return _compute_frames(inputs)
    if engine == "scalar":
        return _compute_scalar(inputs)
    raise ValueError(f"engine must be 'frames' or 'scalar', not {engine!r}")
