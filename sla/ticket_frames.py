"""Both SLA clocks of many tickets at once (:func:`ticket_clocks_frame`), for reports."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from sla.calendar import Calendar, Timeline
from sla.clocks import SlaPolicy
from sla.events import CLOCK_KINDS, STOP_STATUSES, EventKind, Status
from sla.frame_columns import (
    NS_PER_SECOND,
    epoch_raw,
    group_codes,
    sort_order,
    value_codes,
    value_codes_at,
)
from sla.instants import to_epoch


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
_KIND_CODE = {
    EventKind.CREATED.value: _CREATED,
    EventKind.ASSIGNED.value: _ASSIGNED,
    EventKind.STATUS_CHANGED.value: _STATUS,
    EventKind.PRIORITY_CHANGED.value: _PRIORITY,
}
assert set(_KIND_CODE) == set(CLOCK_KINDS)
_STATES = np.array(["breached", "met", "paused", "running"], dtype=object)
_NO_DEADLINE = np.iinfo(np.int64).min


def _utc_ns(seconds: np.ndarray) -> pd.DatetimeIndex:
    """UTC datetimes of epoch seconds, ``_NO_DEADLINE`` giving NaT."""
    none = seconds == _NO_DEADLINE
    ns = np.where(none, _NO_DEADLINE, seconds * NS_PER_SECOND)
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
    raw, per_sec = epoch_raw(events["at"], "at")
    kcodes, knames = value_codes(events["kind"])
    lookup = np.zeros(len(knames) + 1, dtype=np.int8)  # code -1 (null kind) -> last -> 0
    for i, name in enumerate(knames):
        if isinstance(name, str) and name in _KIND_CODE:
            lookup[i] = _KIND_CODE[name]
    kind_all = lookup[kcodes]
    del kcodes
    keep = (kind_all != 0) & (raw <= now_ns // (NS_PER_SECOND // per_sec))
    kept = np.flatnonzero(keep)
    raw = raw[kept]
    t = raw if per_sec == 1 else np.floor_divide(raw, per_sec)
    at_key = t if per_sec == 1 or not (raw - t * per_sec).any() else raw
    seq = events["seq"].to_numpy(dtype=np.int64)[kept]
    tcode = group_codes(events["ticket_id"], kept)
    order = sort_order([tcode, at_key, seq])
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
    scode, snames = value_codes_at(events["status"], pos[set_stat])
    new_code = len(snames)
    snames = np.append(snames, [Status.NEW.value, None])
    if (scode < 0).any():
        # A created ticket without a status is "new"; a status change without one is null.
        scode = np.where(scode < 0, np.where(is_created[set_stat], new_code, new_code + 1), scode)
    status_code = scode[np.cumsum(set_stat) - 1]
    stop_of = np.array([s in STOP_STATUSES for s in snames], dtype=bool)
    pause_of = np.array(
        [s in policy.pause_statuses and s not in STOP_STATUSES for s in snames], dtype=bool
    )
    stopped_status = stop_of[status_code]
    paused = pause_of[status_code]

    # Priority in force after each row.
    set_prio = is_created | (kind == _PRIORITY)
    pcode_set, pnames = value_codes_at(events["priority"], pos[set_prio], keep_null=True)
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
