"""Explanations of ticket clocks for many tickets at once: the intervals that counted or paused.

:func:`sla.ticket_clocks` gives the same intervals per ticket (``Clock.intervals``), at about
0.6 ms a ticket, which is a minute for 100,000 tickets; this replays the same rules with numpy
(see :mod:`sla.clocks` for the contract). ``tests/reports/test_explain.py`` checks that both
give identical rows, and that the counted seconds add up to the elapsed figures of
:func:`sla.frames.ticket_clocks_frame`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

import sla
from sla.instants import to_epoch

__all__ = ["EXPLAIN_COLUMNS", "explain_frame", "explain_scalar"]

#: One row per interval; instants are UTC epoch seconds; ``ended_*`` are null while open.
EXPLAIN_COLUMNS = (
    "ticket_id",
    "clock",
    "kind",
    "start",
    "end",
    "business_seconds",
    "priority",
    "started_kind",
    "started_seq",
    "started_at",
    "ended_kind",
    "ended_seq",
    "ended_at",
)
_NS = 1_000_000_000
_STOP = tuple(sla.STOP_STATUSES)


def _as_str(values: np.ndarray) -> np.ndarray:
    """``values.astype(str)``, converting each distinct value once."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(uniq, dtype=object).astype(str)[codes]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in EXPLAIN_COLUMNS})


def explain_scalar(
    logs: dict[object, list[sla.ClockEvent]], policy: sla.SlaPolicy, now: datetime
) -> pd.DataFrame:
    """The reference: :func:`sla.ticket_clocks` per ticket, flattened to rows."""
    rows = []
    for ticket_id, events in logs.items():
        clocks = sla.ticket_clocks(events, policy, now)
        for clock in (clocks.reaction, clocks.resolution):
            for i in clock.intervals:
                end = i.ended_by
                rows.append(
                    (
                        ticket_id, clock.name, i.kind, to_epoch(i.start), to_epoch(i.end),
                        i.business_seconds, i.priority, i.started_by.kind, i.started_by.seq,
                        to_epoch(i.started_by.at), end.kind if end else None,
                        end.seq if end else None, to_epoch(end.at) if end else None,
                    )
                )
    if not rows:
        return _empty()
    return _sorted(pd.DataFrame(rows, columns=list(EXPLAIN_COLUMNS)))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values(["ticket_id", "clock", "start"], kind="stable")
    return frame.reset_index(drop=True)


def explain_frame(events: pd.DataFrame, policy: sla.SlaPolicy, now: datetime) -> pd.DataFrame:
    """Counted and paused intervals of both clocks of every ticket in ``events``.

    ``events`` is an :mod:`sla.frames` events frame; the result has :data:`EXPLAIN_COLUMNS`,
    sorted by ticket, clock ("reaction" < "resolution") and start.
    """
    now_epoch = to_epoch(now, "now")
    at = events["at"]
    if not isinstance(at.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"column 'at' must be timezone-aware datetimes, got {at.dtype}")
    at_ns = at.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").to_numpy()
    at_ns = at_ns.view(np.int64)
    keep = events["kind"].isin(sla.CLOCK_KINDS).to_numpy() & (at_ns <= pd.Timestamp(now).value)
    if not keep.any():
        return _empty()
    ev = events.loc[keep]
    at_ns = at_ns[keep]
    codes, tickets = pd.factorize(ev["ticket_id"], sort=False)
    seq = ev["seq"].to_numpy(dtype=np.int64)
    order = np.lexsort((seq, at_ns, codes))
    codes, seq = codes[order], seq[order]
    t = np.floor_divide(at_ns[order], _NS)
    kind = ev["kind"].to_numpy(dtype=object)[order]
    n = len(t)
    rows = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = codes[1:] != codes[:-1]
    gstart = np.flatnonzero(new_group)
    g = np.cumsum(new_group) - 1
    last_in_group = np.append(new_group[1:], True)
    if not (kind[gstart] == "created").all():
        raise ValueError("a ticket's log must start with a 'created' event at or before now")

    is_created = kind == "created"
    set_prio = is_created | (kind == "priority_changed")
    set_stat = is_created | (kind == "status_changed")
    prio_raw = ev["priority"].to_numpy(dtype=object)[order]
    stat_raw = ev["status"].to_numpy(dtype=object)[order]
    stat_raw = np.where(is_created & pd.isna(stat_raw), "new", stat_raw)
    priority = prio_raw[np.maximum.accumulate(np.where(set_prio, rows, -1))]
    status = _as_str(stat_raw[np.maximum.accumulate(np.where(set_stat, rows, -1))])
    assignee = ev["assignee"].to_numpy(dtype=object)[order]
    has_assignee = ~pd.isna(assignee) & (assignee.astype(str) != "")
    stopped = np.isin(status, _STOP)
    react_flag = ((is_created | (kind == "assigned")) & has_assignee) | stopped
    first = np.minimum.reduceat(np.where(react_flag, rows, n), gstart)
    reacted = rows >= first[g]
    paused = np.isin(status, list(policy.pause_statuses)) & ~stopped

    end = np.empty(n, dtype=np.int64)
    end[:-1] = t[1:]
    end[last_in_group] = now_epoch
    p_codes, p_uniq = pd.factorize(priority, use_na_sentinel=False)
    unknown = sorted({str(p) for p in p_uniq} - set(policy.targets))
    if unknown:
        raise ValueError(f"no SLA targets for priority {unknown[0]!r}")
    calendars = list(dict.fromkeys(policy.targets[p].calendar for p in policy.targets))
    cal_of = {p: calendars.index(tg.calendar) for p, tg in policy.targets.items()}
    cal_row = np.array([cal_of[p] for p in p_uniq], dtype=np.int64)[p_codes]
    lines = [cal.timeline_for(int(t.min()), now_epoch) for cal in calendars]

    parts = []
    # 0 counted, 1 paused, 2 stopped
    kinds = {
        "reaction": np.where(reacted, 2, 0),
        "resolution": np.where(stopped, 2, np.where(paused, 1, 0)),
    }
    nonzero = end > t
    for clock, code in kinds.items():
        k = rows[nonzero]
        if not len(k):
            continue
        kc, kp, kg = code[k], priority[k], g[k]
        new_run = np.ones(len(k), dtype=bool)
        new_run[1:] = (kg[1:] != kg[:-1]) | (kc[1:] != kc[:-1]) | (kp[1:] != kp[:-1])
        starts = np.flatnonzero(new_run)
        lasts = np.append(starts[1:] - 1, len(k) - 1)
        first_row, last_row = k[starts], k[lasts]
        run_code = code[first_row]
        keep_run = run_code != 2
        first_row, last_row, run_code = first_row[keep_run], last_row[keep_run], run_code[keep_run]
        s, e = t[first_row], end[last_row]
        business = np.zeros(len(s), dtype=np.int64)
        cal = cal_row[first_row]
        for ci, line in enumerate(lines):
            sel = cal == ci
            if sel.any():
                business[sel] = line.cumulative(e[sel]) - line.cumulative(s[sel])
        has_next = ~last_in_group[last_row]
        nxt = np.where(has_next, last_row + 1, last_row)
        parts.append(
            pd.DataFrame(
                {
                    "ticket_id": tickets[codes[first_row]],
                    "clock": clock,
                    "kind": np.where(run_code == 0, "counted", "paused"),
                    "start": s,
                    "end": e,
                    "business_seconds": business,
                    "priority": priority[first_row],
                    "started_kind": kind[first_row],
                    "started_seq": seq[first_row],
                    "started_at": t[first_row],
                    "ended_kind": np.where(has_next, kind[nxt], None),
                    "ended_seq": pd.arrays.IntegerArray(seq[nxt], ~has_next),
                    "ended_at": pd.arrays.IntegerArray(t[nxt], ~has_next),
                }
            )
        )
    if not parts:
        return _empty()
    return _sorted(pd.concat(parts, ignore_index=True))
