"""Vectorized SLA figures for whole periods: many tickets and devices at once, for reports.

Gives the same numbers as :func:`sla.clocks.ticket_clocks`,
:func:`sla.availability.device_availability` (figures and outages) and
:func:`sla.availability.service_availability` (tests check it on generated data); only the
explanations (interval lists) are left to the per-item functions.

Ticket events frame (one row per event, any extra columns ignored):

==========  =================================================================
ticket_id   any hashable id
at          tz-aware datetime64 (naive is rejected)
seq         int, orders events with the same ``at``
kind        str; ``created``/``assigned``/``status_changed``/``priority_changed``
            matter, other kinds are ignored
priority    new priority for ``created`` and ``priority_changed`` (the "to"), else null
status      new status for ``created`` (null = "new") and ``status_changed``, else null
assignee    assignee for ``created`` (optional) and ``assigned``, else null
==========  =================================================================

State intervals frame: ``device_id``, ``start``, ``end`` (tz-aware), ``state`` (up,
degraded, down, unreachable, unknown). Maintenance frame: ``device_id``, ``start``, ``end``.

Business durations are differences of the cumulative business-seconds function of each
calendar, looked up with ``numpy.searchsorted`` over the open intervals of the years needed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from sla.availability import DEVICE_STATES, AvailabilityPolicy, MaintenanceWindow, StateInterval
from sla.calendar import Calendar, Timeline
from sla.clocks import ClockEvent, SlaPolicy
from sla.events import CLOCK_KINDS, STOP_STATUSES, EventKind, Status
from sla.instants import to_epoch
from sla.period import Period

__all__ = [
    "EVENT_COLUMNS",
    "INTERVAL_COLUMNS",
    "MAINTENANCE_COLUMNS",
    "device_availability_frame",
    "device_frames",
    "device_outages_frame",
    "events_frame",
    "intervals_frame",
    "maintenance_frame",
    "service_frames",
    "ticket_clocks_frame",
]

EVENT_COLUMNS = ("ticket_id", "at", "seq", "kind", "priority", "status", "assignee")
INTERVAL_COLUMNS = ("device_id", "start", "end", "state")
MAINTENANCE_COLUMNS = ("device_id", "start", "end")
_NS = 1_000_000_000
_STATE_NAMES = tuple(sorted(DEVICE_STATES))
_STATE_CODE = {name: k for k, name in enumerate(_STATE_NAMES)}
_UNKNOWN = _STATE_CODE["unknown"]
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def events_frame(logs: Mapping[Hashable, Iterable[ClockEvent]]) -> pd.DataFrame:
    """Flatten per-ticket :class:`ClockEvent` logs into the events frame."""
    rows = []
    for ticket_id, events in logs.items():
        for e in events:
            d = e.data
            rows.append(
                (
                    ticket_id,
                    e.at,
                    e.seq,
                    e.kind,
                    d.get("priority") if e.kind == "created" else d.get("to")
                    if e.kind == "priority_changed" else None,
                    d.get("status") if e.kind == "created" else d.get("to")
                    if e.kind == "status_changed" else None,
                    d.get("assignee") if e.kind in ("created", "assigned") else None,
                )
            )
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def intervals_frame(intervals: Mapping[Hashable, Iterable[StateInterval]]) -> pd.DataFrame:
    """Flatten per-device state intervals into the intervals frame."""
    rows = [(d, i.start, i.end, i.state) for d, ivs in intervals.items() for i in ivs]
    frame = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def maintenance_frame(windows: Mapping[Hashable, Iterable[MaintenanceWindow]]) -> pd.DataFrame:
    """Flatten per-device maintenance windows into the maintenance frame."""
    rows = [(d, w.start, w.end) for d, ws in windows.items() for w in ws]
    frame = pd.DataFrame(rows, columns=list(MAINTENANCE_COLUMNS))
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _epoch_raw(column: pd.Series, name: str) -> tuple[np.ndarray, int]:
    """UTC epoch integers of an aware datetime column in its own unit, and units per second.

    Naive columns are rejected. No copy and no unit conversion: callers floor to seconds.
    """
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"column {name!r} must be timezone-aware datetimes, got {column.dtype}")
    values = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    return values.view(np.int64), _PER_SECOND[unit]


def _seconds(column: pd.Series, name: str) -> np.ndarray:
    """Whole epoch seconds (floored) of an aware datetime column."""
    raw, per_sec = _epoch_raw(column, name)
    return raw if per_sec == 1 else np.floor_divide(raw, per_sec)


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for null) and the object array of distinct values of a column.

    Categorical columns give their codes for free; anything else is hashed once, so every
    later test is an integer comparison instead of a string one.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return (column.cat.codes.to_numpy(dtype=np.int64),
                np.asarray(column.cat.categories, dtype=object))
    codes, uniques = pd.factorize(column.to_numpy())
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _codes_at(
    column: pd.Series, rows: np.ndarray, keep_null: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_codes` of ``column[rows]`` only (hashing nulls one doesn't need is slow).

    ``keep_null`` gives a null its own code (and name) instead of -1.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, names = _codes(column)
        codes = codes[rows]
        if keep_null and (codes < 0).any():
            codes = np.where(codes < 0, len(names), codes)
            names = np.append(names, [np.nan])
        return codes, names
    codes, uniques = pd.factorize(column.to_numpy()[rows], use_na_sentinel=not keep_null)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _bits(span: int) -> int:
    return max(int(span), 0).bit_length()


def _sort_order(keys: list[np.ndarray]) -> np.ndarray | None:
    """Stable lexicographic order of int64 ``keys`` (most significant first), like lexsort.

    Packs the keys into one int64 when their ranges fit (the usual case), so one argsort
    replaces a multi-key lexsort; ``None`` means "already in order".
    """
    n = len(keys[0])
    if n < 2:
        return None
    lows = [int(k.min()) for k in keys]
    widths = [_bits(int(k.max()) - lo) for k, lo in zip(keys, lows, strict=True)]
    if sum(widths) > 62:
        return np.lexsort(keys[::-1])
    packed = np.zeros(n, dtype=np.int64)
    for k, lo, w in zip(keys, lows, widths, strict=True):
        packed <<= w
        packed |= k - lo
    descents = int(np.count_nonzero(packed[1:] < packed[:-1]))
    if descents == 0:
        return None
    if descents < n // 16:
        # Long sorted runs (data grouped by ticket or by time): timsort merges them cheaply.
        return np.argsort(packed, kind="stable")
    order = np.argsort(packed)
    ranked = packed[order]
    if (ranked[1:] == ranked[:-1]).any():  # ties: only a stable sort keeps input order
        return np.argsort(packed, kind="stable")
    return order


def _ticket_codes(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Group codes of ``column[rows]``: equal ids share a code (the codes' order is free)."""
    values = column.to_numpy()[rows] if not isinstance(column.dtype, pd.CategoricalDtype) \
        else column.cat.codes.to_numpy(dtype=np.int64)[rows]
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * len(values) + 1024:
            return values.astype(np.int64) - lo
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False)


class _Lines:
    """Timelines of several calendars searched at once.

    Calendar ``c`` is moved to its own block of the integer line (``t + shift[c]``) and every
    block starts with an empty sentinel interval, so ``B_c(t)`` of many rows with mixed
    calendars is one ``searchsorted`` with no masks and no clipping; the arithmetic is that
    of :meth:`Timeline.cumulative`, so the figures are bit-identical.
    """

    _BLOCK = 1 << 42

    def __init__(self, lines: list[Timeline]) -> None:
        self.lines = lines
        self.shift = np.arange(len(lines), dtype=np.int64) * self._BLOCK + self._BLOCK // 2
        starts, lengths, cums = [], [], []
        for c, line in enumerate(lines):
            starts += [np.array([c * self._BLOCK], np.int64), line.starts + self.shift[c]]
            lengths += [np.zeros(1, np.int64), line.ends - line.starts]
            cums += [np.zeros(1, np.int64), line.cum]
        self.starts = np.concatenate(starts)
        self.lengths = np.concatenate(lengths)
        self.cum = np.concatenate(cums)

    def cumulative(self, t: np.ndarray, cal: np.ndarray) -> np.ndarray:
        """``B(t)`` of each row in the timeline of its calendar ``cal``."""
        q = t + self.shift[cal]
        idx = np.searchsorted(self.starts, q, side="right") - 1
        inside = q - self.starts[idx]
        np.clip(inside, 0, self.lengths[idx], out=inside)
        return self.cum[idx] + inside

    def instant_at(self, b: np.ndarray, cal: np.ndarray) -> np.ndarray:
        """:meth:`Timeline.instant_at` of each row in the timeline of its calendar."""
        out = np.empty(len(b), dtype=np.int64)
        for c, line in enumerate(self.lines):
            sel = cal == c
            if sel.all():
                return line.instant_at(b)
            if sel.any():
                out[sel] = line.instant_at(b[sel])
        return out


def _add_business(cal: Calendar, starts: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Vectorized :meth:`Calendar.add_business_epoch`."""
    if not len(starts):
        return starts
    first = cal.local_year(int(starts.min()))
    last = cal.local_year(int(starts.max()))
    for _ in range(60):
        line = cal.timeline(first, last)
        target = line.cumulative(starts) + seconds
        if len(target) and int(target.max()) <= line.total:
            return np.maximum(starts, line.instant_at(target))
        last += 1
    raise ValueError(f"calendar {cal.name!r} has too little open time for these deadlines")


_CREATED, _ASSIGNED, _STATUS, _PRIORITY = 1, 2, 3, 4
_KIND_CODE = {EventKind.CREATED.value: _CREATED, EventKind.ASSIGNED.value: _ASSIGNED,
              EventKind.STATUS_CHANGED.value: _STATUS, EventKind.PRIORITY_CHANGED.value: _PRIORITY}
assert set(_KIND_CODE) == set(CLOCK_KINDS)
_STATES = np.array(["breached", "met", "paused", "running"], dtype=object)
_NO_DEADLINE = np.iinfo(np.int64).min


def _utc_ns(seconds: np.ndarray) -> pd.DatetimeIndex:
    """UTC datetimes of epoch seconds, ``_NO_DEADLINE`` giving NaT."""
    none = seconds == _NO_DEADLINE
    ns = np.where(none, _NO_DEADLINE, seconds * _NS)
    if none.all():
        # pandas.to_datetime gives an all-NaT column the unit "s"; keep that dtype.
        return pd.to_datetime(ns, utc=True)
    return pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC")


def ticket_clocks_frame(events: pd.DataFrame, policy: SlaPolicy, now: datetime) -> pd.DataFrame:
    """Both clocks of every ticket at ``now``, indexed by ``ticket_id``.

    Columns: priority, status, and for each of ``reaction``/``resolution``: ``_elapsed``,
    ``_target``, ``_remaining`` (seconds), ``_deadline`` (UTC, NaT for None), ``_state``,
    ``_stopped``. Tickets with no event at or before ``now`` are absent.
    """
    # Everything below runs on int64 numpy arrays sorted by (ticket, at, seq): string columns
    # are hashed once into small integer codes, every "per ticket" step is a cumulative
    # operation or a reduction at group boundaries, and no Python loop runs per ticket.
    now_epoch = to_epoch(now, "now")
    now_ns = pd.Timestamp(now).value
    raw, per_sec = _epoch_raw(events["at"], "at")
    kcodes, knames = _codes(events["kind"])
    lookup = np.zeros(len(knames) + 1, dtype=np.int8)  # code -1 (null kind) -> last -> 0
    for i, name in enumerate(knames):
        if isinstance(name, str) and name in _KIND_CODE:
            lookup[i] = _KIND_CODE[name]
    kind_all = lookup[kcodes]
    del kcodes
    keep = (kind_all != 0) & (raw <= now_ns // (_NS // per_sec))
    kept = np.flatnonzero(keep)
    raw = raw[kept]
    t = raw if per_sec == 1 else np.floor_divide(raw, per_sec)
    at_key = t if per_sec == 1 or not (raw - t * per_sec).any() else raw
    seq = events["seq"].to_numpy(dtype=np.int64)[kept]
    tcode = _ticket_codes(events["ticket_id"], kept)
    order = _sort_order([tcode, at_key, seq])
    if order is None:
        pos, kind = kept, kind_all[kept]
    else:
        pos, kind, tcode, t = kept[order], kind_all[kept[order]], tcode[order], t[order]
    del raw, at_key, seq, kept, kind_all, order
    n = len(t)
    if n == 0:
        return _empty_clocks(events)

    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(tcode[1:], tcode[:-1], out=new_group[1:])
    gstart = np.flatnonzero(new_group)
    glast = np.empty(len(gstart), dtype=np.int64)
    glast[:-1] = gstart[1:] - 1
    glast[-1] = n - 1
    first_pos = np.minimum.reduceat(pos, gstart)  # first kept row of each ticket
    is_created = kind == _CREATED
    if not is_created[gstart].all():
        bad = events["ticket_id"].iloc[int(first_pos[~is_created[gstart]].min())]
        raise ValueError(f"ticket {bad!r}: log must start with a 'created' event at or before now")
    rows = np.arange(n)

    # Status in force after each row: codes of the rows that set it, carried forward.
    set_stat = is_created | (kind == _STATUS)
    scode, snames = _codes_at(events["status"], pos[set_stat])
    new_code = len(snames)
    snames = np.append(snames, [Status.NEW.value, None])
    if (scode < 0).any():
        # A created ticket without a status is "new"; a status change without one is null.
        scode = np.where(scode < 0, np.where(is_created[set_stat], new_code, new_code + 1), scode)
    status_code = scode[np.cumsum(set_stat) - 1]
    stop_of = np.array([s in STOP_STATUSES for s in snames], dtype=bool)
    pause_of = np.array([s in policy.pause_statuses and s not in STOP_STATUSES for s in snames],
                        dtype=bool)
    stopped_status = stop_of[status_code]
    paused = pause_of[status_code]

    # Priority in force after each row.
    set_prio = is_created | (kind == _PRIORITY)
    pcode_set, pnames = _codes_at(events["priority"], pos[set_prio], keep_null=True)
    unknown = [p for p in pnames if p not in policy.targets]
    if unknown:
        raise ValueError(f"no SLA targets for priority {unknown[0]!r}")
    pcode = pcode_set[np.cumsum(set_prio) - 1]
    targets = [policy.targets[p] for p in pnames]
    calendars = list(dict.fromkeys(tg.calendar for tg in targets))
    cal_of_pcode = np.array([calendars.index(tg.calendar) for tg in targets], dtype=np.int64)
    cal = cal_of_pcode[pcode]

    # Reaction: stopped from the first assignment to a non-empty assignee, or a stop status.
    set_assignee = is_created | (kind == _ASSIGNED)
    assignees = events["assignee"].to_numpy(dtype=object)[pos[set_assignee]]
    react_flag = stopped_status.copy()
    react_flag[set_assignee] |= ~pd.isna(assignees) & (assignees != "")
    group_first = np.maximum.accumulate(np.where(new_group, rows, 0))
    reacted = np.maximum.accumulate(np.where(react_flag, rows, -1)) >= group_first
    del react_flag, group_first, rows, assignees, set_assignee, set_stat, set_prio

    # Business seconds of each stretch [t_i, t_i+1) in the calendar of row i.
    lines = _Lines([c.timeline_for(int(t.min()), now_epoch) for c in calendars])
    b_start = lines.cumulative(t, cal)
    b_end = np.empty(n, dtype=np.int64)
    b_end[:-1] = b_start[1:]  # right whenever the next row is of the same ticket and calendar
    redo = np.empty(n, dtype=bool)
    np.not_equal(cal[1:], cal[:-1], out=redo[:-1])
    redo[glast] = True
    end = np.empty(n, dtype=np.int64)
    end[:-1] = t[1:]
    end[glast] = now_epoch
    fix = np.flatnonzero(redo)
    b_end[fix] = lines.cumulative(end[fix], cal[fix])
    business = b_end - b_start
    del b_end, end, redo, fix, tcode, pos

    final_pcode = pcode[glast]
    final_cal = cal_of_pcode[final_pcode]
    out: dict[str, object] = {
        "priority": pnames[final_pcode],
        "status": snames[status_code[glast]],
    }
    clocks = {
        "reaction": (~reacted, reacted, None, "reaction_seconds"),
        "resolution": (~stopped_status & ~paused, stopped_status, paused, "resolution_seconds"),
    }
    for name, (counted, stop, pause, attr) in clocks.items():
        target = np.array([getattr(tg, attr) for tg in targets], dtype=np.int64)[final_pcode]
        counted_bs = np.where(counted, business, 0)
        cum = np.cumsum(counted_bs)
        before = cum[gstart] - counted_bs[gstart]  # global sum before each ticket
        elapsed = cum[glast] - before
        stopped = stop[glast]
        is_paused = pause[glast] if pause is not None else np.zeros(len(gstart), dtype=bool)
        deadline = np.full(len(gstart), _NO_DEADLINE, dtype=np.int64)
        # Breached or exactly at target: the instant the target was reached, in the row
        # where the ticket's running sum first reaches it (cum is non-decreasing).
        reached = np.flatnonzero(elapsed >= target)
        if len(reached):
            row = np.searchsorted(cum, before[reached] + target[reached], side="left")
            left = target[reached] - (cum[row] - counted_bs[row] - before[reached])
            at = lines.instant_at(b_start[row] + left, cal[row])
            deadline[reached] = np.maximum(t[row], at)
        running = ~stopped & ~is_paused & (elapsed < target)
        for ci, calendar in enumerate(calendars):
            sel = running & (final_cal == ci)
            if sel.any():
                nows = np.full(int(sel.sum()), now_epoch, dtype=np.int64)
                deadline[sel] = _add_business(calendar, nows, target[sel] - elapsed[sel])
        state = np.where(elapsed > target, 0, np.where(stopped, 1, np.where(is_paused, 2, 3)))
        out[f"{name}_elapsed"] = elapsed
        out[f"{name}_target"] = target
        out[f"{name}_remaining"] = target - elapsed
        out[f"{name}_deadline"] = _utc_ns(deadline)
        out[f"{name}_state"] = _STATES[state]
        out[f"{name}_stopped"] = stopped
    if (first_pos[1:] < first_pos[:-1]).any():
        # Rows come out in order of each ticket's first event, as pandas.factorize would give.
        perm = np.argsort(first_pos, kind="stable")
        first_pos = first_pos[perm]
        out = {k: v[perm] for k, v in out.items()}
    index = pd.Index(events["ticket_id"].array.take(first_pos), name="ticket_id")
    return pd.DataFrame(out, index=index)


def _empty_clocks(events: pd.DataFrame) -> pd.DataFrame:
    """The frame of no ticket, with the columns and dtypes the general path gave it."""
    empty_i = np.zeros(0, dtype=np.int64)
    out: dict[str, object] = {"priority": np.zeros(0, object), "status": np.zeros(0, object)}
    for name in ("reaction", "resolution"):
        out[f"{name}_elapsed"] = empty_i
        out[f"{name}_target"] = empty_i
        out[f"{name}_remaining"] = empty_i
        out[f"{name}_deadline"] = pd.to_datetime(empty_i, utc=True)
        out[f"{name}_state"] = np.where(empty_i > 0, "breached", "met")
        out[f"{name}_stopped"] = np.zeros(0, dtype=bool)
    index = pd.Index(pd.factorize(events["ticket_id"].iloc[:0])[1], name="ticket_id")
    return pd.DataFrame(out, index=index)


class _Segments:
    """Classified segments of every device: they partition ``[lo, hi)`` per device, in device
    code then time order (adjacent segments of one class are not merged)."""

    __slots__ = ("cls", "depth", "dev", "hi", "ids", "known", "length", "lo", "ndev", "start",
                 "state")

    def __init__(self, **kw: object) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _device_segments(
    period: Period,
    intervals: pd.DataFrame,
    maintenance: pd.DataFrame | None,
    policy: AvailabilityPolicy,
    devices: Iterable[Hashable] | None,
) -> _Segments:
    lo, hi = to_epoch(period.start, "period start"), to_epoch(period.end, "period end")
    if maintenance is None:
        maintenance = pd.DataFrame({c: [] for c in MAINTENANCE_COLUMNS})
        maintenance["start"] = pd.to_datetime(maintenance["start"], utc=True)
        maintenance["end"] = pd.to_datetime(maintenance["end"], utc=True)
    # Devices in order of appearance over intervals, maintenance, ``devices`` (the index
    # pandas.unique of their concatenation gives), with each row's device code. The long
    # columns are hashed in their own dtype; only their few distinct ids are concatenated.
    dev, uniq_i = pd.factorize(intervals["device_id"], use_na_sentinel=False)
    mdev, uniq_m = pd.factorize(maintenance["device_id"], use_na_sentinel=False)
    all_ids = pd.concat(
        [pd.Series(uniq_i), pd.Series(uniq_m), pd.Series(list(devices or []))],
        ignore_index=True,
    )
    codes, uniques = pd.factorize(all_ids, use_na_sentinel=False)
    ids = pd.Index(uniques.to_numpy() if uniques.dtype == object else uniques.array,
                   name="device_id")
    ndev = len(ids)
    dev = dev.astype(np.int64, copy=False)  # uniq_i come first, so their codes stand
    mdev = codes[len(uniq_i):len(uniq_i) + len(uniq_m)].astype(np.int64)[mdev]
    s = _seconds(intervals["start"], "start")
    e = _seconds(intervals["end"], "end")
    scodes, snames = _codes(intervals["state"])
    order = _sort_order([dev, s, e])
    if order is not None:
        dev, s, e, scodes = dev[order], s[order], e[order], scodes[order]
    if (e < s).any():
        raise ValueError("a state interval ends before it starts")
    same = dev[1:] == dev[:-1]
    if (same & (s[1:] < e[:-1])).any():
        raise ValueError("state intervals of one device overlap")
    cs, ce = np.maximum(s, lo), np.minimum(e, hi)
    ok = ce > cs
    dev, cs, ce, scodes = dev[ok], cs[ok], ce[ok], scodes[ok]
    snames = np.append(snames, [np.nan])  # code -1: a null state, moved to the last code
    scodes = np.where(scodes < 0, len(snames) - 1, scodes)
    present = np.bincount(scodes, minlength=len(snames)) > 0
    bad_states = {v for v, p in zip(snames, present, strict=True) if p} - DEVICE_STATES
    if bad_states:
        raise ValueError(f"unknown device state {sorted(map(str, bad_states))[0]!r}")
    code = {"up": 0, "down": 1, "excluded": 2}
    cls_of = {st: code[policy.classify(st)] for st in DEVICE_STATES}
    cls_of_code = np.array([cls_of.get(v, 0) for v in snames], dtype=np.int8)
    st_cls = cls_of_code[scodes]
    st_known = np.array([v != "unknown" for v in snames], dtype=bool)[scodes]
    st_state = np.array([_STATE_CODE.get(v, _UNKNOWN) for v in snames], dtype=np.int8)[scodes]
    unknown_cls = cls_of["unknown"]

    md = mdev
    ms = np.maximum(_seconds(maintenance["start"], "start"), lo)
    me = np.minimum(_seconds(maintenance["end"], "end"), hi)
    mok = me > ms
    md, ms, me = md[mok], ms[mok], me[mok]

    k_i, k_m = len(cs), len(ms)
    # Boundary rows: device init at lo (order 0), state ends (0), state starts (1),
    # maintenance +1/-1 (2). At equal times the last row carries the final values.
    # The state rows of one device alternate start, end, start, ... already in time order,
    # so the rows form three sorted runs (inits, states, maintenance) that one stable sort
    # on a packed key merges in linear time.
    k_s = 2 * k_i
    r_dev = np.concatenate([np.arange(ndev), np.repeat(dev, 2), md, md])
    r_t = np.concatenate([np.full(ndev, lo), np.column_stack([cs, ce]).ravel(), ms, me])
    r_ord = np.concatenate([np.zeros(ndev, np.int64), np.tile(np.array([1, 0]), k_i),
                            np.full(2 * k_m, 2, np.int64)])
    r_is_state = np.ones(ndev + k_s + 2 * k_m, dtype=bool)
    r_is_state[ndev + k_s:] = False
    r_cls = np.full(ndev + k_s + 2 * k_m, unknown_cls, np.int8)
    r_cls[ndev:ndev + k_s:2] = st_cls
    r_cls[ndev + k_s:] = 0
    r_known = np.zeros(ndev + k_s + 2 * k_m, dtype=bool)
    r_known[ndev:ndev + k_s:2] = st_known
    r_state = np.full(ndev + k_s + 2 * k_m, _UNKNOWN, np.int8)
    r_state[ndev:ndev + k_s:2] = st_state
    r_delta = np.zeros(ndev + k_s + 2 * k_m, dtype=np.int64)
    r_delta[ndev + k_s:ndev + k_s + k_m] = 1
    r_delta[ndev + k_s + k_m:] = -1
    del dev, s, e, cs, ce, scodes, st_cls, st_known, st_state, ok, same
    o = _sort_order([r_dev, r_t, r_ord])
    del r_ord
    if o is not None:
        r_dev, r_t, r_is_state = r_dev[o], r_t[o], r_is_state[o]
        r_cls, r_known, r_delta, r_state = r_cls[o], r_known[o], r_delta[o], r_state[o]
    m = len(r_t)
    src = np.maximum.accumulate(np.where(r_is_state, np.arange(m), -1))
    cls = r_cls[src]
    known = r_known[src]
    state = r_state[src]
    depth = np.cumsum(r_delta)
    cls = np.where(depth > 0, code["excluded"], cls)
    nxt = np.empty(m, dtype=np.int64)
    nxt[:-1] = r_t[1:]
    last = np.ones(m, dtype=bool)
    last[:-1] = r_dev[1:] != r_dev[:-1]
    nxt[last] = hi
    length = nxt - r_t
    pos = length > 0
    return _Segments(
        dev=r_dev[pos], start=r_t[pos], length=length[pos], cls=cls[pos].astype(np.int8),
        known=known[pos], depth=depth[pos], ids=ids, ndev=ndev, lo=lo, hi=hi,
        state=state[pos],
    )


def _state_seconds(seg: _Segments) -> dict[str, np.ndarray]:
    """``state_<name>`` and ``state_maintenance`` seconds per device, as
    :func:`sla.availability.state_seconds`: maintenance first, then the state."""
    slot = np.where(seg.depth > 0, len(_STATE_NAMES), seg.state).astype(np.int64)
    width = len(_STATE_NAMES) + 1
    by = np.bincount(seg.dev * width + slot, weights=seg.length,
                     minlength=width * seg.ndev).astype(np.int64)
    names = [*_STATE_NAMES, "maintenance"]
    return {f"state_{n}": by[k::width] for k, n in enumerate(names)}


def _down_runs(d: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of down (class 1) segments per device: (first segment, run id of each
    down segment, mask of down segments)."""
    is_down = c == 1
    prev_down = np.zeros(len(d), dtype=bool)
    prev_down[1:] = is_down[:-1] & (d[1:] == d[:-1])
    run_start = is_down & ~prev_down
    run_id = np.cumsum(run_start) - 1
    return run_start, run_id, is_down


def _summary(
    ndev: int, ids: pd.Index, lo: int, hi: int, d: np.ndarray, ln: np.ndarray, c: np.ndarray,
    kn: np.ndarray, dp: np.ndarray | None,
) -> pd.DataFrame:
    def per_dev(weights: np.ndarray) -> np.ndarray:
        return np.bincount(d, weights=weights, minlength=ndev).astype(np.int64)

    by_class = np.bincount(d * 3 + c, weights=ln, minlength=3 * ndev).astype(np.int64)
    up, down, excluded = (by_class[k::3] for k in range(3))
    maint = per_dev(np.where(dp > 0, ln, 0)) if dp is not None else np.zeros(ndev, np.int64)
    known_s = per_dev(np.where(kn, ln, 0))
    run_start, run_id, is_down = _down_runs(d, c)
    run_len = np.bincount(run_id[is_down], weights=ln[is_down],
                          minlength=int(run_start.sum())).astype(np.int64)
    run_dev = d[run_start]
    count = np.bincount(run_dev, minlength=ndev)
    longest = np.zeros(ndev, dtype=np.int64)
    np.maximum.at(longest, run_dev, run_len)
    total = hi - lo
    counted = total - excluded
    with np.errstate(divide="ignore", invalid="ignore"):
        avail = np.where(counted > 0, up / np.where(counted > 0, counted, 1), np.nan)
    return pd.DataFrame(
        {
            "availability": avail,
            "up_seconds": up,
            "down_seconds": down,
            "excluded_seconds": excluded,
            "maintenance_seconds": maint,
            "counted_seconds": counted,
            "outage_count": count,
            "longest_outage_seconds": longest,
            "coverage_pct": 100.0 * known_s / total if total else np.zeros(ndev),
        },
        index=ids,
    )


def device_availability_frame(
    period: Period,
    intervals: pd.DataFrame,
    maintenance: pd.DataFrame | None = None,
    policy: AvailabilityPolicy = AvailabilityPolicy(),
    devices: Iterable[Hashable] | None = None,
) -> pd.DataFrame:
    """Availability figures of every device over ``period``, indexed by ``device_id``.

    Columns: availability (0..1, NaN when wholly excluded), up_seconds, down_seconds,
    excluded_seconds, maintenance_seconds, counted_seconds, outage_count,
    longest_outage_seconds, coverage_pct, and ``state_<state>`` for every device state plus
    ``state_maintenance`` (:func:`sla.availability.state_seconds`: they sum to the period).
    ``devices`` adds devices without any row (all unknown). Raises ValueError when intervals
    of one device overlap.
    """
    return device_frames(period, intervals, maintenance, policy, devices)[0]


def device_outages_frame(
    period: Period,
    intervals: pd.DataFrame,
    maintenance: pd.DataFrame | None = None,
    policy: AvailabilityPolicy = AvailabilityPolicy(),
    devices: Iterable[Hashable] | None = None,
) -> pd.DataFrame:
    """The outages of every device (``AvailabilityReport.outages`` of
    :func:`sla.availability.device_availability`): one row per maximal run of downtime, in
    order of device (first appearance, as :func:`device_availability_frame`) then time.
    Columns: device_id, start, end (UTC epoch seconds, int64) and seconds. ``devices`` adds
    devices without any row (all unknown: down when the policy counts unknown as down)."""
    return device_frames(period, intervals, maintenance, policy, devices)[1]


def _outages(d: np.ndarray, t: np.ndarray, ln: np.ndarray,
             c: np.ndarray, ids: pd.Index, name: str) -> pd.DataFrame:
    run_start, run_id, is_down = _down_runs(d, c)
    run_len = np.bincount(run_id[is_down], weights=ln[is_down],
                          minlength=int(run_start.sum())).astype(np.int64)
    start = t[run_start]
    return pd.DataFrame(
        {
            name: ids.take(d[run_start]),
            "start": start,
            "end": start + run_len,
            "seconds": run_len,
        }
    )


def device_frames(
    period: Period,
    intervals: pd.DataFrame,
    maintenance: pd.DataFrame | None = None,
    policy: AvailabilityPolicy = AvailabilityPolicy(),
    devices: Iterable[Hashable] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`device_availability_frame` and :func:`device_outages_frame` in one pass."""
    seg = _device_segments(period, intervals, maintenance, policy, devices)
    avail = _summary(seg.ndev, seg.ids, seg.lo, seg.hi, seg.dev, seg.length, seg.cls,
                     seg.known, seg.depth)
    for name, col in _state_seconds(seg).items():
        avail[name] = col
    return avail, _outages(seg.dev, seg.start, seg.length, seg.cls, seg.ids, "device_id")


def service_frames(
    period: Period,
    intervals: pd.DataFrame,
    services: Mapping[Hashable, Iterable[Hashable]],
    member_maintenance: pd.DataFrame | None = None,
    policy: AvailabilityPolicy = AvailabilityPolicy(),
    mode: str = "all",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Availability (indexed by ``service_id``) and outages of services made of devices, as
    :func:`sla.availability.service_availability` with ``member_maintenance`` and no
    service-wide maintenance (``maintenance_seconds`` is 0): up while all (or any) voting
    members are up; members excluded at an instant do not vote; excluded when none votes.
    ``services`` maps a service id to its member device ids (each at least one)."""
    if mode not in ("all", "any"):
        raise ValueError(f"service mode must be 'all' or 'any', not {mode!r}")
    names = list(services)
    members = [list(services[n]) for n in names]
    if any(not m for m in members):
        raise ValueError("a service needs at least one member device")
    all_members = [m for ms in members for m in ms]
    seg = _device_segments(period, intervals, member_maintenance, policy, all_members)
    lo, hi = seg.lo, seg.hi
    nsvc = len(names)
    svc_ids = pd.Index(names, name="service_id")
    if not nsvc:
        empty = _summary(0, svc_ids, lo, hi, *(np.zeros(0, np.int64),) * 2,
                         np.zeros(0, np.int8), np.zeros(0, bool), None)
        return empty, _outages(*(np.zeros(0, np.int64),) * 3, np.zeros(0, np.int8),
                               svc_ids, "service_id")
    code_of = {k: i for i, k in enumerate(seg.ids)}
    pair_svc = np.repeat(np.arange(nsvc), [len(m) for m in members])
    pair_dev = np.array([code_of[m] for m in all_members], dtype=np.int64)
    size = np.array([len(m) for m in members], dtype=np.int64)
    # Segments of each device (contiguous: sorted by device code), repeated per service.
    first = np.searchsorted(seg.dev, np.arange(seg.ndev + 1))
    counts = first[1:] - first[:-1]
    n_rows = counts[pair_dev]
    rows = np.repeat(first[pair_dev] - np.cumsum(n_rows) + n_rows, n_rows) + np.arange(
        int(n_rows.sum()))
    svc = np.repeat(pair_svc, n_rows)
    t0 = seg.start[rows]
    t1 = t0 + seg.length[rows]
    c = seg.cls[rows]
    unk = ~seg.known[rows]
    # Every member's segments partition [lo, hi): +1 at a segment's start, -1 at its end for
    # the down, up and excluded counts and the unknown count; ends at hi close every count.
    k = len(svc)
    ev_svc = np.concatenate([svc, svc])
    ev_t = np.concatenate([t0, t1])
    sign = np.concatenate([np.ones(k, np.int64), -np.ones(k, np.int64)])
    ev_ord = np.concatenate([np.ones(k, np.int64), np.zeros(k, np.int64)])  # ends first
    o = np.lexsort((ev_ord, ev_t, ev_svc))
    ev_svc, ev_t, sign = ev_svc[o], ev_t[o], sign[o]
    cc = np.concatenate([c, c])[o]
    uu = np.concatenate([unk, unk])[o]
    n_down = np.cumsum(np.where(cc == 1, sign, 0))
    n_up = np.cumsum(np.where(cc == 0, sign, 0))
    n_excl = np.cumsum(np.where(cc == 2, sign, 0))
    n_unk = np.cumsum(np.where(uu, sign, 0))
    # The last row of each (service, instant) carries the counts from that instant on.
    last = np.ones(len(ev_t), dtype=bool)
    last[:-1] = (ev_svc[1:] != ev_svc[:-1]) | (ev_t[1:] != ev_t[:-1])
    s_svc, s_t = ev_svc[last], ev_t[last]
    n_down, n_up, n_excl, n_unk = n_down[last], n_up[last], n_excl[last], n_unk[last]
    nxt = np.empty(len(s_t), dtype=np.int64)
    nxt[:-1] = s_t[1:]
    end_of_svc = np.ones(len(s_t), dtype=bool)
    end_of_svc[:-1] = s_svc[1:] != s_svc[:-1]
    nxt[end_of_svc] = hi
    length = nxt - s_t
    pos = length > 0
    s_svc, s_t, length = s_svc[pos], s_t[pos], length[pos]
    n_down, n_up, n_excl, n_unk = n_down[pos], n_up[pos], n_excl[pos], n_unk[pos]
    voting = size[s_svc] - n_excl
    up = (n_down == 0) if mode == "all" else (n_up > 0)
    cls = np.where(voting <= 0, 2, np.where(up, 0, 1)).astype(np.int8)
    known = n_unk == 0
    avail = _summary(nsvc, svc_ids, lo, hi, s_svc, length, cls, known, None)
    return avail, _outages(s_svc, s_t, length, cls, svc_ids, "service_id")
