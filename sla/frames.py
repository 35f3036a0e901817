"""Vectorized SLA figures for whole periods: many tickets and devices at once, for reports.

Gives the same numbers as :func:`sla.clocks.ticket_clocks` and
:func:`sla.availability.device_availability` (a test checks it on generated data); only the
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
from sla.clocks import CLOCK_KINDS, STOP_STATUSES, ClockEvent, SlaPolicy
from sla.instants import to_epoch
from sla.period import Period

__all__ = [
    "EVENT_COLUMNS",
    "INTERVAL_COLUMNS",
    "MAINTENANCE_COLUMNS",
    "device_availability_frame",
    "events_frame",
    "intervals_frame",
    "maintenance_frame",
    "ticket_clocks_frame",
]

EVENT_COLUMNS = ("ticket_id", "at", "seq", "kind", "priority", "status", "assignee")
INTERVAL_COLUMNS = ("device_id", "start", "end", "state")
MAINTENANCE_COLUMNS = ("device_id", "start", "end")
_NS = 1_000_000_000


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


def _ns(column: pd.Series, name: str) -> np.ndarray:
    """Epoch nanoseconds of an aware datetime column; naive columns are rejected."""
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"column {name!r} must be timezone-aware datetimes, got {column.dtype}")
    naive_utc = column.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns")
    return naive_utc.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _timeline(cal: Calendar, lo: int, hi: int) -> Timeline:
    return cal.timeline_for(lo, hi)


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


def _group_reduce_first(flag: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Position of the first True per contiguous group (``n`` when none)."""
    pos = np.where(flag, np.arange(len(flag)), n)
    return np.minimum.reduceat(pos, starts) if len(flag) else pos


def ticket_clocks_frame(events: pd.DataFrame, policy: SlaPolicy, now: datetime) -> pd.DataFrame:
    """Both clocks of every ticket at ``now``, indexed by ``ticket_id``.

    Columns: priority, status, and for each of ``reaction``/``resolution``: ``_elapsed``,
    ``_target``, ``_remaining`` (seconds), ``_deadline`` (UTC, NaT for None), ``_state``,
    ``_stopped``. Tickets with no event at or before ``now`` are absent.
    """
    now_epoch = to_epoch(now, "now")
    now_ns = pd.Timestamp(now).value
    at_ns = _ns(events["at"], "at")
    keep = events["kind"].isin(CLOCK_KINDS).to_numpy() & (at_ns <= now_ns)
    ev = events.loc[keep]
    at_ns = at_ns[keep]
    tcodes, tickets = pd.factorize(ev["ticket_id"], sort=False)
    seq = ev["seq"].to_numpy(dtype=np.int64)
    order = np.lexsort((seq, at_ns, tcodes))
    tcodes = tcodes[order]
    t = np.floor_divide(at_ns[order], _NS)
    # Compare small integer codes, not Python strings: this is most of the speed.
    kcodes, knames = pd.factorize(ev["kind"])
    kcode = kcodes[order]
    kind_names = list(knames)

    def kind_is(name: str) -> np.ndarray:
        return kcode == (kind_names.index(name) if name in kind_names else -2)

    n = len(t)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = tcodes[1:] != tcodes[:-1]
    gstart = np.flatnonzero(new_group)
    glast = np.append(gstart[1:] - 1, n - 1).astype(np.int64) if n else gstart
    g = np.cumsum(new_group) - 1  # dense group number per row
    is_created = kind_is("created")
    if not is_created[gstart].all():
        bad = tickets[tcodes[gstart[~is_created[gstart]]][0]]
        raise ValueError(f"ticket {bad!r}: log must start with a 'created' event at or before now")

    rows = np.arange(n)
    prio_raw = ev["priority"].to_numpy(dtype=object)[order]
    status_col = ev["status"].where(ev["status"].notna() | (ev["kind"] != "created"), "new")
    scodes, snames = pd.factorize(status_col)
    scode = scodes[order]
    status_names = np.asarray(snames, dtype=object)
    assignee = ev["assignee"]
    has_assignee = (assignee.notna() & (assignee.astype(str) != "")).to_numpy()[order]
    set_prio = is_created | kind_is("priority_changed")
    set_stat = is_created | kind_is("status_changed")
    priority = prio_raw[np.maximum.accumulate(np.where(set_prio, rows, -1))] if n else prio_raw
    status_code = scode[np.maximum.accumulate(np.where(set_stat, rows, -1))] if n else scode
    status = status_names[status_code] if n else np.zeros(0, object)

    def status_in(names: Iterable[str]) -> np.ndarray:
        codes = [i for i, s in enumerate(status_names) if s in set(names)]
        return np.isin(status_code, codes)

    stopped_status = status_in(STOP_STATUSES)
    react_flag = ((is_created | kind_is("assigned")) & has_assignee) | stopped_status
    first_react = _group_reduce_first(react_flag, gstart, n)
    reacted = rows >= first_react[g]

    end = np.empty(n, dtype=np.int64)
    end[:-1] = t[1:]
    end[glast] = now_epoch
    pcodes, pnames = pd.factorize(pd.Series(priority, dtype=object))
    unknown = [p for p in pnames if p not in policy.targets]
    if unknown:
        raise ValueError(f"no SLA targets for priority {unknown[0]!r}")
    targets = [policy.targets[p] for p in pnames]
    calendars = list(dict.fromkeys(tg.calendar for tg in targets))
    cal_of_pcode = np.array([calendars.index(tg.calendar) for tg in targets], dtype=np.int64)
    cal_row = cal_of_pcode[pcodes] if n else np.zeros(0, np.int64)
    lo = int(t.min()) if n else now_epoch
    business = np.zeros(n, dtype=np.int64)
    b_start = np.zeros(n, dtype=np.int64)
    lines = []
    for ci, cal in enumerate(calendars):
        line = _timeline(cal, lo, now_epoch)
        lines.append(line)
        sel = cal_row == ci
        b_start[sel] = line.cumulative(t[sel])
        business[sel] = line.cumulative(end[sel]) - b_start[sel]

    final_pcode = pcodes[glast]
    final_status = status[glast]
    paused = status_in(policy.pause_statuses) & ~stopped_status
    out: dict[str, object] = {
        "priority": np.asarray(pnames, dtype=object)[final_pcode],
        "status": final_status,
    }
    clocks = {
        "reaction": (~reacted, reacted, np.zeros(n, bool), "reaction_seconds"),
        "resolution": (~stopped_status & ~paused, stopped_status, paused, "resolution_seconds"),
    }
    for name, (counted, stop, pause, attr) in clocks.items():
        target_of_p = np.array([getattr(tg, attr) for tg in targets], dtype=np.int64)
        target = target_of_p[final_pcode]
        counted_bs = np.where(counted, business, 0)
        cum_after = np.cumsum(counted_bs)
        offset = np.repeat(cum_after[gstart] - counted_bs[gstart], np.diff(np.append(gstart, n)))
        cum_after = cum_after - offset
        cum_before = cum_after - counted_bs
        elapsed = cum_after[glast]
        stopped = stop[glast]
        is_paused = pause[glast]
        deadline = np.full(len(gstart), np.iinfo(np.int64).min, dtype=np.int64)
        # Breached or exactly at target: the instant the target was reached.
        tg_row = target[g]
        cross = counted & (cum_before < tg_row) & (tg_row <= cum_after)
        for ci, line in enumerate(lines):
            sel = cross & (cal_row == ci)
            if sel.any():
                at = line.instant_at(b_start[sel] + tg_row[sel] - cum_before[sel])
                deadline[g[sel]] = np.maximum(t[sel], at)
        running = ~stopped & ~is_paused & (elapsed < target)
        for ci, cal in enumerate(calendars):
            sel = running & (cal_of_pcode[final_pcode] == ci)
            if sel.any():
                nows = np.full(int(sel.sum()), now_epoch, dtype=np.int64)
                deadline[sel] = _add_business(cal, nows, target[sel] - elapsed[sel])
        state = np.where(
            elapsed > target,
            "breached",
            np.where(stopped, "met", np.where(is_paused, "paused", "running")),
        )
        dl = pd.to_datetime(
            np.where(deadline == np.iinfo(np.int64).min, np.iinfo(np.int64).min, deadline * _NS),
            utc=True,
        )
        out[f"{name}_elapsed"] = elapsed
        out[f"{name}_target"] = target
        out[f"{name}_remaining"] = target - elapsed
        out[f"{name}_deadline"] = dl
        out[f"{name}_state"] = state
        out[f"{name}_stopped"] = stopped
    index = pd.Index(tickets[tcodes[gstart]], name="ticket_id")
    return pd.DataFrame(out, index=index)


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
    longest_outage_seconds, coverage_pct. ``devices`` adds devices without any row (all
    unknown). Raises ValueError when intervals of one device overlap.
    """
    lo, hi = to_epoch(period.start, "period start"), to_epoch(period.end, "period end")
    if maintenance is None:
        maintenance = pd.DataFrame({c: [] for c in MAINTENANCE_COLUMNS})
        maintenance["start"] = pd.to_datetime(maintenance["start"], utc=True)
        maintenance["end"] = pd.to_datetime(maintenance["end"], utc=True)
    ids = pd.Index(pd.unique(pd.concat(
        [intervals["device_id"], maintenance["device_id"], pd.Series(list(devices or []))],
        ignore_index=True,
    )), name="device_id")
    ndev = len(ids)
    dev = ids.get_indexer(intervals["device_id"])
    s = np.floor_divide(_ns(intervals["start"], "start"), _NS)
    e = np.floor_divide(_ns(intervals["end"], "end"), _NS)
    state = intervals["state"].to_numpy(dtype=object)
    order = np.lexsort((e, s, dev))
    dev, s, e, state = dev[order], s[order], e[order], state[order]
    if (e < s).any():
        raise ValueError("a state interval ends before it starts")
    same = dev[1:] == dev[:-1]
    if (same & (s[1:] < e[:-1])).any():
        raise ValueError("state intervals of one device overlap")
    cs, ce = np.maximum(s, lo), np.minimum(e, hi)
    ok = ce > cs
    dev, cs, ce, state = dev[ok], cs[ok], ce[ok], state[ok]
    bad_states = set(pd.unique(state)) - DEVICE_STATES
    if bad_states:
        raise ValueError(f"unknown device state {sorted(map(str, bad_states))[0]!r}")
    code = {"up": 0, "down": 1, "excluded": 2}
    cls_of = {st: code[policy.classify(st)] for st in DEVICE_STATES}
    st_cls = pd.Series(state, dtype=object).map(cls_of).to_numpy(dtype=np.int8)
    st_known = state != "unknown"
    unknown_cls = cls_of["unknown"]

    md = ids.get_indexer(maintenance["device_id"])
    ms = np.maximum(np.floor_divide(_ns(maintenance["start"], "start"), _NS), lo)
    me = np.minimum(np.floor_divide(_ns(maintenance["end"], "end"), _NS), hi)
    mok = me > ms
    md, ms, me = md[mok], ms[mok], me[mok]

    k_i, k_m = len(cs), len(ms)
    # Boundary rows: device init at lo (order 0), state ends (0), state starts (1),
    # maintenance +1/-1 (2). At equal times the last row carries the final values.
    r_dev = np.concatenate([np.arange(ndev), dev, dev, md, md])
    r_t = np.concatenate([np.full(ndev, lo), ce, cs, ms, me])
    r_ord = np.concatenate([np.zeros(ndev + k_i, np.int8), np.ones(k_i, np.int8),
                            np.full(2 * k_m, 2, np.int8)])
    r_is_state = np.concatenate([np.ones(ndev + 2 * k_i, bool), np.zeros(2 * k_m, bool)])
    r_cls = np.concatenate([np.full(ndev + k_i, unknown_cls, np.int8), st_cls,
                            np.zeros(2 * k_m, np.int8)])
    r_known = np.concatenate([np.zeros(ndev + k_i, bool), st_known, np.zeros(2 * k_m, bool)])
    r_delta = np.concatenate([np.zeros(ndev + 2 * k_i, np.int64), np.ones(k_m, np.int64),
                              -np.ones(k_m, np.int64)])
    o = np.lexsort((r_ord, r_t, r_dev))
    r_dev, r_t, r_is_state = r_dev[o], r_t[o], r_is_state[o]
    r_cls, r_known, r_delta = r_cls[o], r_known[o], r_delta[o]
    m = len(r_t)
    src = np.maximum.accumulate(np.where(r_is_state, np.arange(m), -1))
    cls = r_cls[src]
    known = r_known[src]
    depth = np.cumsum(r_delta)
    cls = np.where(depth > 0, code["excluded"], cls)
    nxt = np.empty(m, dtype=np.int64)
    nxt[:-1] = r_t[1:]
    last = np.ones(m, dtype=bool)
    last[:-1] = r_dev[1:] != r_dev[:-1]
    nxt[last] = hi
    length = nxt - r_t
    pos = length > 0
    d, ln, c, kn, dp = r_dev[pos], length[pos], cls[pos], known[pos], depth[pos]

    def per_dev(weights: np.ndarray) -> np.ndarray:
        return np.bincount(d, weights=weights, minlength=ndev).astype(np.int64)

    up = per_dev(np.where(c == 0, ln, 0))
    down = per_dev(np.where(c == 1, ln, 0))
    excluded = per_dev(np.where(c == 2, ln, 0))
    maint = per_dev(np.where(dp > 0, ln, 0))
    known_s = per_dev(np.where(kn, ln, 0))
    is_down = c == 1
    prev_down = np.zeros(len(d), dtype=bool)
    prev_down[1:] = is_down[:-1] & (d[1:] == d[:-1])
    run_start = is_down & ~prev_down
    run_id = np.cumsum(run_start) - 1
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
