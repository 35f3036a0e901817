"""A customer's month as a plain, JSON-able report: the reference every rendering is checked
against.

Definitions printed on the report (see ``reports.tables.DEFINITIONS``):

* the tickets of a month are those *entered* in it (local midnight to local midnight in the
  customer's zone); their clocks are replayed up to min(month end, now), so a past month is
  reproducible and a ticket still open at month end is reported as running;
* met % = met / (met + breached) per clock; tickets still running within target are
  "pending" and not in the ratio; median, p90 and worst use the nearest-rank method over the
  decided clocks (met or breached), in business seconds of the priority's calendar;
* a service is every device of the customer sharing a tag (tags of two or more devices), up
  while all its members are up;
* an outage is "covered" by a ticket on the same device (or on a parent it depends on) whose
  entered → resolved span (→ report end while open) overlaps it; otherwise it is a gap the
  desk missed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

import sla
from reports.calendar_rules import HOLIDAYS_VERSION, describe_calendar
from reports.figures import STATE_COLUMNS, Engine, Figures, compute, gc_paused
from reports.loop import engineer_ratings, loop_row, ticket_loop
from reports.model import PROACTIVE_ORIGINS, ReportInput
from reports.recurring import recurring_rows
from reports.tables import DEFINITIONS, REPORT_VERSION, TABLES
from reports.timefmt import iso_local, iso_one
from reports.workload import open_hours, workload_calendar, workload_rows
from sla.instants import to_epoch

__all__ = ["assemble", "build_report", "build_reports", "check_accounting"]

UNASSIGNED = "(unassigned)"


def _pct(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), 4)


def _nearest_rank(values: Sequence[int], p: float) -> int | None:
    if not len(values):
        return None
    ordered = sorted(values)
    return int(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1])


def _table(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    title, cols = TABLES[name]
    return {
        "title": title,
        "columns": [{"key": k, "label": label, "type": t} for k, label, t in cols],
        "rows": rows,
    }


def _facts(events: Sequence[sla.ClockEvent], as_of: Any) -> dict[str, Any]:
    """Entered/assigned/resolved instants, assignee, initial priority and reopens at as-of, out
    of the one fold of the event log that the projection and the clocks use (sla.fold)."""
    f = sla.fold(events, until=as_of)
    if f is None:
        return dict.fromkeys(_FACT_KEYS, None) | {"reopened": 0}
    assigned, first_stop = _epoch(f.assigned_at), _epoch(f.first_stopped_at)
    reacted = assigned if first_stop is None or (
        assigned is not None and assigned <= first_stop) else first_stop
    return {
        "entered": to_epoch(f.entered_at),
        "assigned": assigned,
        "resolved": _epoch(f.stopped_at),
        "reacted": reacted,
        "assignee": f.assignee,
        "initial_priority": f.initial_priority,
        "reopened": f.reopens,
    }


_FACT_KEYS = ("entered", "assigned", "resolved", "reacted", "assignee", "initial_priority")


def _epoch(at: Any) -> int | None:
    return None if at is None else to_epoch(at)


def clock_stats(states: np.ndarray, elapsed: np.ndarray) -> dict[str, Any]:
    """Met, breached, pending, met % and nearest-rank median, p90 and worst of clocks."""
    met = int((states == "met").sum())
    breached = int((states == "breached").sum())
    decided = elapsed[(states == "met") | (states == "breached")].tolist()
    return {
        "met": met,
        "breached": breached,
        "pending": int(len(states) - met - breached),
        "met_pct": _pct(100.0 * met / (met + breached)) if met + breached else None,
        "median": _nearest_rank(decided, 50),
        "p90": _nearest_rank(decided, 90),
        "worst": max(decided) if decided else None,
    }


def _ref(kind: str | None, seq: Any, at: str | None) -> str:
    if kind is None or seq is None or seq is pd.NA or seq != seq:
        return "report end (still open)"
    return f"{kind} #{int(seq)} at {at}"


def _assemble(inp: ReportInput, fig: Figures) -> dict[str, Any]:
    tz = inp.period.tz
    end_epoch = to_epoch(inp.period.end)
    start_epoch = to_epoch(inp.period.start)
    target_pct = float(inp.availability_target_pct)
    devices = {d.id: d for d in inp.devices}

    # -- raw figures first; every instant of the report is then formatted in one pass
    tickets = sorted(inp.tickets, key=lambda t: t.id)
    clocks = fig.clocks
    facts = [_facts(t.events, inp.period.end) for t in tickets]
    loops = [ticket_loop(t.events, inp.period.end, t.ratings, t.first_notice_at)
             for t in tickets]
    keys = [inp.ticket_key(t.id) for t in tickets]
    ids = [t.id for t in tickets]
    c = clocks.cols
    if ids and clocks.index != ids:
        pos = {k: n for n, k in enumerate(clocks.index)}
        take = [pos[k] for k in ids]
        c = {k: v[take] for k, v in c.items()}
    r_state = np.asarray(c["reaction_state"], dtype=object)
    s_state = np.asarray(c["resolution_state"], dtype=object)
    status = np.asarray(c["status"], dtype=object)
    prio = np.asarray(c["priority"], dtype=object)
    r_el = np.asarray(c["reaction_elapsed"]).astype(np.int64)
    s_el = np.asarray(c["resolution_elapsed"]).astype(np.int64)
    r_tg = np.asarray(c["reaction_target"]).astype(np.int64)
    s_tg = np.asarray(c["resolution_target"]).astype(np.int64)
    proactive = np.array([t.origin in PROACTIVE_ORIGINS for t in tickets], dtype=bool)
    running = ~np.isin(status, list(sla.STOP_STATUSES))
    r_stopped = np.asarray(c["reaction_stopped"], dtype=bool)
    s_stopped = np.asarray(c["resolution_stopped"], dtype=bool)
    paused = np.isin(status, list(inp.policy.pause_statuses))

    # outages, matched to tickets
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for i, t in enumerate(tickets):
        if t.device_id:
            f = facts[i]
            stop = f["resolved"] if f["resolved"] is not None else end_epoch
            spans.setdefault(t.device_id, []).append((f["entered"], stop, keys[i]))
    out_raw = []
    for d in inp.devices:
        outs = fig.outages.get(d.id)
        if not outs:
            continue
        chain, seen = [d.id], {d.id}
        parent = d.parent
        while parent and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = devices[parent].parent if parent in devices else None
        cand = [(dev, s, e, key) for dev in chain for s, e, key in spans.get(dev, ())]
        for a, b, secs in outs:
            hits = [
                key + ("" if dev == d.id else f" (on {dev})")
                for dev, s, e, key in cand
                if s < b and a < max(e, s + 1)
            ]
            out_raw.append((d.id, a, b, secs, hits))

    # maintenance windows (clipped to the report period)
    m_raw = []
    for d in inp.devices:
        for w in sorted(inp.maintenance.get(d.id, ()), key=lambda w: (w.start, w.end)):
            a = max(to_epoch(w.start), start_epoch)
            b = min(to_epoch(w.end), end_epoch)
            if b > a:
                m_raw.append((d.id, a, b))

    ex = fig.explain
    n_ex = len(ex)
    n_t, n_o, n_m = len(facts), len(out_raw), len(m_raw)
    # An interval starts at the event that started it and ends at the one that ended it
    # (when any): those instants are formatted once and reused when equal.
    x_start, x_end = ex["start"].tolist(), ex["end"].tolist()
    x_sat, x_eat = ex["started_at"].tolist(), ex["ended_at"].tolist()
    same_sat = x_sat == x_start
    same_eat = all(b is None or b == e for b, e in zip(x_eat, x_end, strict=True))
    stamps = iso_local(
        [f["entered"] for f in facts] + [f["assigned"] for f in facts]
        + [f["resolved"] for f in facts]
        + [f["reacted"] if r_stopped[i] else None for i, f in enumerate(facts)]
        + [f["resolved"] if s_stopped[i] else None for i, f in enumerate(facts)]
        + [r[1] for r in out_raw] + [r[2] for r in out_raw]
        + [r[1] for r in m_raw] + [r[2] for r in m_raw]
        + x_start + x_end + ([] if same_sat else x_sat) + ([] if same_eat else x_eat),
        tz,
    )
    cut = np.cumsum([0, n_t, n_t, n_t, n_t, n_t, n_o, n_o, n_m, n_m, n_ex, n_ex,
                     0 if same_sat else n_ex, 0 if same_eat else n_ex]).tolist()
    (entered_iso, assigned_iso, resolved_iso, r_stop_iso, s_stop_iso, o_start, o_end, m_start,
     m_end, ex_start, ex_end, ex_sat, ex_eat) = (
        stamps[a:b] for a, b in itertools.pairwise(cut))
    if same_sat:
        ex_sat = ex_start
    if same_eat:
        ex_eat = [None if b is None else e for b, e in zip(x_eat, ex_end, strict=True)]

    # -- tickets
    ticket_rows = []
    for i, t in enumerate(tickets):
        f = facts[i]
        rs, ss = r_state[i], s_state[i]
        any_breach = rs == "breached" or ss == "breached"
        both_met = rs == "met" and ss == "met"
        ticket_rows.append(
            {
                "ticket": keys[i],
                "title": t.title,
                "device": t.device_id,
                "origin": "proactive" if proactive[i] else "customer",
                "source": t.origin,
                "priority": str(prio[i]),
                "initial_priority": f["initial_priority"],
                "status": str(status[i]),
                "assignee": f["assignee"],
                "entered": entered_iso[i],
                "assigned": assigned_iso[i],
                "resolved": resolved_iso[i],
                "reopened": f["reopened"],
                "verification": loops[i].verification,
                "rating": loops[i].ratings[-1] if loops[i].ratings else None,
                "notice": loops[i].notice if proactive[i] else None,
                "reaction": int(r_el[i]),
                "reaction_target": int(r_tg[i]),
                "reaction_state": str(rs),
                "reaction_clock": "stopped" if r_stopped[i] else "running",
                "reaction_stopped": r_stop_iso[i],
                "resolution": int(s_el[i]),
                "resolution_target": int(s_tg[i]),
                "resolution_state": str(ss),
                "resolution_clock": (
                    "stopped" if s_stopped[i] else "paused" if paused[i] else "running"
                ),
                "resolution_stopped": s_stop_iso[i],
                "met": False if any_breach else True if both_met else None,
                "running": bool(running[i]),
            }
        )

    # -- priorities
    prio_rows = []
    for p in sorted(inp.policy.targets):
        sel = prio == p
        tg = inp.policy.targets[p]
        row: dict[str, Any] = {
            "priority": p,
            "tickets": int(sel.sum()),
            "proactive": int((sel & proactive).sum()),
            "running": int((sel & running).sum()),
        }
        for name, states, el, target in (
            ("reaction", r_state, r_el, tg.reaction_seconds),
            ("resolution", s_state, s_el, tg.resolution_seconds),
        ):
            row[f"{name}_target"] = int(target)
            for k, v in clock_stats(states[sel], el[sel]).items():
                row[f"{name}_{k}"] = v
        prio_rows.append(row)

    # -- engineers
    eng_rows = []
    assignees = np.array([f["assignee"] or UNASSIGNED for f in facts], dtype=object)
    rated = engineer_ratings(loops, assignees.tolist())
    no_rating = {"ratings": 0, "satisfaction": None}
    for name in sorted(set(assignees.tolist()) | set(rated),
                       key=lambda a: (a == UNASSIGNED, a)):
        sel = assignees == name
        rs = clock_stats(r_state[sel], r_el[sel])
        ss = clock_stats(s_state[sel], s_el[sel])
        eng_rows.append(
            {
                "engineer": name,
                "tickets": int(sel.sum()),
                "reaction_met_pct": rs["met_pct"],
                "reaction_median": rs["median"],
                "resolution_met_pct": ss["met_pct"],
                "resolution_median": ss["median"],
                "breaches": rs["breached"] + ss["breached"],
                **rated.get(name, no_rating),
            }
        )

    # -- availability per device
    avail = fig.availability
    dev_ids = [d.id for d in inp.devices]
    take = None
    if avail.index != dev_ids:
        pos = {k: n for n, k in enumerate(avail.index)}
        take = [pos[k] for k in dev_ids]
    a_cols = {k: (avail[k] if take is None else avail[k][take]).tolist() for k in (
        "availability", "down_seconds", "outage_count", "longest_outage_seconds",
        "maintenance_seconds", "excluded_seconds", "counted_seconds", "coverage_pct")}
    period_seconds = end_epoch - start_epoch
    state_cols = {k: (avail[k] if take is None else avail[k][take]).tolist()
                  for k in STATE_COLUMNS}
    accounting_rows = [
        {"device": d.id, **{k: int(state_cols[k][i]) for k in STATE_COLUMNS},
         "period": period_seconds}
        for i, d in enumerate(inp.devices)
    ]
    check_accounting(accounting_rows)
    avail_rows = []
    for i, d in enumerate(inp.devices):
        av = a_cols["availability"][i]
        pct = None if av != av else _pct(100.0 * float(av))
        avail_rows.append(
            {
                "device": d.id,
                "name": d.name,
                "availability_pct": pct,
                "target_pct": target_pct,
                "met": None if pct is None else bool(100.0 * av >= target_pct),
                "downtime": int(a_cols["down_seconds"][i]),
                "outages": int(a_cols["outage_count"][i]),
                "longest_outage": int(a_cols["longest_outage_seconds"][i]),
                "maintenance": int(a_cols["maintenance_seconds"][i]),
                "excluded": int(a_cols["excluded_seconds"][i]),
                "counted": int(a_cols["counted_seconds"][i]),
                "coverage_pct": _pct(float(a_cols["coverage_pct"][i])),
            }
        )

    # -- services: tags shared by two or more devices
    svc = fig.services
    service_rows = []
    if len(svc):
        s_cols = {k: svc[k].tolist() for k in (
            "availability", "down_seconds", "outage_count", "longest_outage_seconds",
            "coverage_pct")}
        for i, tag in enumerate(svc.index):
            av = s_cols["availability"][i]
            pct_raw = None if av != av else av * 100.0
            pct = _pct(pct_raw)
            service_rows.append(
                {
                    "service": tag,
                    "devices": ", ".join(fig.service_members[tag]),
                    "availability_pct": pct,
                    "target_pct": target_pct,
                    "met": None if pct is None else bool(pct_raw >= target_pct),
                    "downtime": int(s_cols["down_seconds"][i]),
                    "outages": int(s_cols["outage_count"][i]),
                    "longest_outage": int(s_cols["longest_outage_seconds"][i]),
                    "coverage_pct": _pct(float(s_cols["coverage_pct"][i])),
                }
            )

    outage_rows = [
        {
            "device": dev,
            "start": o_start[i],
            "end": o_end[i],
            "duration": secs,
            "tickets": ", ".join(hits) or None,
            "covered": bool(hits),
            "note": None if hits else "a gap the desk missed",
        }
        for i, (dev, _a, _b, secs, hits) in enumerate(out_raw)
    ]
    maint_rows = [
        {"device": dev, "start": m_start[i], "end": m_end[i], "duration": b - a}
        for i, (dev, a, b) in enumerate(m_raw)
    ]

    # -- explanation
    key_of = dict(zip(ids, keys, strict=True))
    explain_rows = [
        {
            "ticket": key_of[int(tid)],
            "clock": clock,
            "kind": kind,
            "priority": p,
            "start": ex_start[i],
            "end": ex_end[i],
            "business_seconds": int(bs),
            "started_by": _ref(sk, sq, ex_sat[i]),
            "ended_by": _ref(ek, eq, ex_eat[i]),
        }
        for i, (tid, clock, kind, p, bs, sk, sq, ek, eq) in enumerate(
            zip(
                ex["ticket_id"].tolist(), ex["clock"].tolist(), ex["kind"].tolist(),
                ex["priority"].tolist(), ex["business_seconds"].tolist(),
                ex["started_kind"].tolist(), ex["started_seq"].tolist(),
                ex["ended_kind"].tolist(), ex["ended_seq"].tolist(), strict=True,
            )
        )
    ]

    # -- breaches, listed first
    breach_rows = []
    for row in ticket_rows:
        for clock in ("reaction", "resolution"):
            if row[f"{clock}_state"] == "breached":
                breach_rows.append(
                    {
                        "kind": f"ticket {clock}",
                        "subject": row["ticket"],
                        "detail": row["title"],
                        "priority": row["priority"],
                        "actual_seconds": row[clock],
                        "target_seconds": row[f"{clock}_target"],
                        "actual_pct": None,
                        "target_pct": None,
                    }
                )
    for kind, rows, subject in (("device", avail_rows, "device"), ("service", service_rows,
                                                                    "service")):
        for row in rows:
            if row["met"] is False:
                breach_rows.append(
                    {
                        "kind": f"{kind} availability",
                        "subject": row[subject],
                        "detail": row.get("name") or row.get("devices"),
                        "priority": None,
                        "actual_seconds": None,
                        "target_seconds": None,
                        "actual_pct": row["availability_pct"],
                        "target_pct": row["target_pct"],
                    }
                )

    loop = loop_row(loops, proactive.tolist())
    period = inp.period
    return {
        "report": "monthly-sla",
        "version": REPORT_VERSION,
        "customer": {
            "id": inp.customer.id,
            "name": inp.customer.name,
            "contract": inp.customer.contract,
        },
        "period": {
            "label": period.label,
            "tz": tz,
            "start": iso_one(start_epoch, tz),
            "end": iso_one(to_epoch(period.month.end), tz),
            "as_of": iso_one(end_epoch, tz),
            "complete": period.complete,
            "seconds": end_epoch - start_epoch,
        },
        "policy": {
            "name": inp.policy_name,
            "availability_target_pct": target_pct,
            "accounting": inp.availability_policy.describe(),
            "device_states": inp.states_source,
            "pause_statuses": sorted(inp.policy.pause_statuses),
            "targets": {
                p: {
                    "reaction_seconds": t.reaction_seconds,
                    "resolution_seconds": t.resolution_seconds,
                    "calendar": t.calendar.name,
                }
                for p, t in sorted(inp.policy.targets.items())
            },
            "calendars": _calendar_rules(inp),
            "holidays_version": HOLIDAYS_VERSION,
            "definitions": list(DEFINITIONS),
        },
        "overview": {
            "tickets": len(ticket_rows),
            "proactive": int(proactive.sum()),
            "customer": int((~proactive).sum()),
            "running": int(running.sum()),
            "breaches": len(breach_rows),
            "devices": len(avail_rows),
            "devices_below_target": sum(r["met"] is False for r in avail_rows),
            "services": len(service_rows),
            "outages": len(outage_rows),
            "outages_without_ticket": sum(not r["covered"] for r in outage_rows),
            **{k: loop[k] for k in ("first_time_fix_pct", "reopens", "ratings",
                                    "satisfaction", "notice_median", "notice_worst")},
        },
        "workload": _workload(inp),
        "tables": {
            "breaches": _table("breaches", breach_rows),
            "priorities": _table("priorities", prio_rows),
            "tickets": _table("tickets", ticket_rows),
            "availability": _table("availability", avail_rows),
            "accounting": _table("accounting", accounting_rows),
            "services": _table("services", service_rows),
            "outages": _table("outages", outage_rows),
            "recurring": _table("recurring", recurring_rows(
                ticket_rows, {keys[i]: t.alertname for i, t in enumerate(tickets)},
                outage_rows, avail_rows,
            )),
            "workload": _table("workload", workload_rows(entered_iso, tz)),
            "maintenance": _table("maintenance", maint_rows),
            "engineers": _table("engineers", eng_rows),
            "loop": _table("loop", [loop]),
            "explanation": _table("explanation", explain_rows),
        },
    }


def _calendar_rules(inp: ReportInput) -> dict[str, str]:
    """Each calendar of the policy's targets in words, with the month's holidays."""
    m = inp.period.month
    first = date(m.year, m.month, 1)
    last = date(m.year + m.month // 12, m.month % 12 + 1, 1) - timedelta(days=1)
    cals = {t.calendar.name: t.calendar for _, t in sorted(inp.policy.targets.items())}
    return {name: describe_calendar(cal, first, last) for name, cal in cals.items()}


def _workload(inp: ReportInput) -> dict[str, Any]:
    cal = workload_calendar(inp.policy)
    return {"calendar": cal.name, "tz": inp.period.tz, "open": open_hours(cal)}


def check_accounting(rows: Sequence[dict[str, Any]]) -> None:
    """Raise ValueError unless every device's parts add up to the period: a report whose
    seconds do not add up must never leave the builder."""
    for row in rows:
        parts = sum(row[k] for k in STATE_COLUMNS)
        if parts != row["period"]:
            raise ValueError(
                f"accounting of {row['device']} adds up to {parts} s, not {row['period']} s"
            )


def assemble(inputs: Sequence[ReportInput], figures: Sequence[Figures]) -> list[dict]:
    """The report of every input from its computed figures, in order."""
    with gc_paused():
        return [_assemble(inp, fig) for inp, fig in zip(inputs, figures, strict=True)]


def build_reports(inputs: Sequence[ReportInput], *, engine: Engine = "frames") -> list[dict]:
    """The report of every input, in order (figures batched across customers)."""
    return assemble(inputs, compute(inputs, engine))


def build_report(inp: ReportInput, *, engine: Engine = "frames") -> dict[str, Any]:
    """One customer's month as a JSON-able dict."""
    return build_reports([inp], engine=engine)[0]
