"""Benchmark: one month of SLA figures, vectorized, against a per-item sample and a groupby.

Prints figures only (never a test): 100,000 tickets with events and 10,000 devices with state
intervals in October 2026 (Europe/Warsaw, a DST month), computed with ``sla.frames``; the
per-ticket path on a sample (checked equal); and a plain pandas groupby over the same rows
as the baseline. Run: ``.venv/bin/python bench/sla_month.py``.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla import (  # noqa: E402
    AvailabilityPolicy,
    Calendar,
    ClockEvent,
    Month,
    PriorityTargets,
    SlaPolicy,
    ticket_clocks,
)
from sla.frames import device_availability_frame, ticket_clocks_frame  # noqa: E402

N_TICKETS = 100_000
N_DEVICES = 10_000
MONTH = Month(2026, 10, "Europe/Warsaw")
H = 3600


def policy() -> SlaPolicy:
    office = Calendar.business_hours(
        "Europe/Warsaw", {d: "08:00-17:00" for d in range(5)}, country="PL"
    )
    return SlaPolicy(
        {
            "P1": PriorityTargets(H // 2, 4 * H, Calendar.always()),
            "P2": PriorityTargets(2 * H, 8 * H, office),
            "P3": PriorityTargets(4 * H, 24 * H, office),
        }
    )


def ticket_events(rng: np.random.Generator) -> pd.DataFrame:
    """created, assigned, in_progress, waiting<->in_progress, maybe priority change, resolved,
    maybe reopen/resolve, closed; plus comments. About 8 events per ticket."""
    start = int(MONTH.start.timestamp())
    span = MONTH.seconds
    t0 = start + rng.integers(0, span, N_TICKETS)
    prio = rng.choice(np.array(["P1", "P2", "P3"], dtype=object), N_TICKETS, p=[0.1, 0.4, 0.5])
    steps: list[tuple[str, object, object, object, float]] = [
        # kind, priority, status, assignee, probability
        ("assigned", None, None, "alice", 0.95),
        ("status_changed", None, "in_progress", None, 0.95),
        ("commented", None, None, None, 0.7),
        ("status_changed", None, "waiting", None, 0.4),
        ("status_changed", None, "in_progress", None, 0.4),
        ("priority_changed", "P1", None, None, 0.1),
        ("status_changed", None, "resolved", None, 0.85),
        ("status_changed", None, "in_progress", None, 0.1),
        ("status_changed", None, "resolved", None, 0.1),
        ("status_changed", None, "closed", None, 0.7),
    ]
    ids = np.arange(N_TICKETS)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                         ("ticket_id", "at", "seq", "kind", "priority", "status",
                                          "assignee")}

    def add(mask: np.ndarray, at: np.ndarray, seq: int, kind: str, p, s, a) -> None:
        n = int(mask.sum())
        cols["ticket_id"].append(ids[mask])
        cols["at"].append(at[mask])
        cols["seq"].append(np.full(n, seq))
        cols["kind"].append(np.full(n, kind, dtype=object))
        cols["priority"].append(p[mask] if isinstance(p, np.ndarray) else np.full(n, p, object))
        cols["status"].append(np.full(n, s, dtype=object))
        cols["assignee"].append(np.full(n, a, dtype=object))

    add(np.ones(N_TICKETS, bool), t0, 0, "created", prio, "new", None)
    t = t0.copy()
    for seq, (kind, p, s, a, prob) in enumerate(steps, start=1):
        t = t + rng.exponential(3 * H, N_TICKETS).astype(np.int64)
        add(rng.random(N_TICKETS) < prob, t, seq, kind, p, s, a)
    frame = pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()})
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame


def state_intervals(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """About 20 intervals per device (mostly up, some down/unreachable/unknown gaps)."""
    k = 20
    start = int(MONTH.start.timestamp()) - 3 * H
    lengths = rng.exponential(MONTH.seconds / k, (N_DEVICES, k)).astype(np.int64) + 60
    ends = start + np.cumsum(lengths, axis=1)
    gaps = np.minimum(rng.choice([0, 0, 0, 0, 300], (N_DEVICES, k)), lengths // 2)
    starts = ends - lengths + gaps  # some unknown gaps
    state = rng.choice(np.array(["up", "degraded", "down", "unreachable", "unknown"], object),
                       (N_DEVICES, k), p=[0.7, 0.05, 0.15, 0.05, 0.05])
    intervals = pd.DataFrame({
        "device_id": np.repeat(np.arange(N_DEVICES), k),
        "start": pd.to_datetime(starts.ravel(), unit="s", utc=True),
        "end": pd.to_datetime(ends.ravel(), unit="s", utc=True),
        "state": state.ravel(),
    })
    md = rng.choice(N_DEVICES, N_DEVICES // 5, replace=False)
    ms = int(MONTH.start.timestamp()) + rng.integers(0, MONTH.seconds, len(md))
    maintenance = pd.DataFrame({
        "device_id": md,
        "start": pd.to_datetime(ms, unit="s", utc=True),
        "end": pd.to_datetime(ms + 2 * H, unit="s", utc=True),
    })
    return intervals, maintenance


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    rng = np.random.default_rng(20261)
    pol = policy()
    now = MONTH.end
    events = ticket_events(rng)
    intervals, maintenance = state_intervals(rng)
    print(f"month {MONTH.label} {MONTH.tz} ({MONTH.seconds / H:.0f} h); "
          f"{N_TICKETS:,} tickets / {len(events):,} events; "
          f"{N_DEVICES:,} devices / {len(intervals):,} intervals, {len(maintenance):,} windows")

    # Warm the calendar caches once (holiday tables, year timelines), as a service would.
    ticket_clocks_frame(events.head(1000), pol, now)

    t_clocks, clocks = timed(lambda: ticket_clocks_frame(events, pol, now))
    t_avail, avail = timed(lambda: device_availability_frame(
        MONTH, intervals, maintenance, AvailabilityPolicy()))
    t_vec = t_clocks + t_avail

    def baseline() -> object:
        g = events.groupby("ticket_id").agg(first=("at", "min"), last=("at", "max"),
                                           n=("seq", "size"))
        d = intervals.assign(sec=(intervals["end"] - intervals["start"]).dt.total_seconds())
        return g, d.groupby(["device_id", "state"])["sec"].sum()

    t_base, _ = timed(baseline)

    sample_ids = rng.choice(N_TICKETS, 1000, replace=False)
    sample = events[events["ticket_id"].isin(sample_ids)].sort_values(["ticket_id", "seq"])
    logs = {
        tid: [ClockEvent(r.at.to_pydatetime(), r.seq, r.kind,
                         {k: v for k, v in (("priority", r.priority), ("status", r.status),
                                            ("assignee", r.assignee), ("to", r.priority
                                            if r.kind == "priority_changed" else r.status))
                          if pd.notna(v)})
              for r in grp.itertuples()]
        for tid, grp in sample.groupby("ticket_id")
    }
    t_per, per = timed(lambda: {tid: ticket_clocks(evs, pol, now) for tid, evs in logs.items()})
    mismatches = sum(
        (c.resolution.elapsed_seconds, c.reaction.elapsed_seconds, c.resolution.state)
        != (clocks.loc[tid, "resolution_elapsed"], clocks.loc[tid, "reaction_elapsed"],
            clocks.loc[tid, "resolution_state"])
        for tid, c in per.items()
    )

    tracemalloc.start()
    ticket_clocks_frame(events, pol, now)
    device_availability_frame(MONTH, intervals, maintenance, AvailabilityPolicy())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"vectorized ticket clocks      {t_clocks:7.3f} s")
    print(f"vectorized device availability{t_avail:7.3f} s")
    print(f"vectorized total              {t_vec:7.3f} s   (target < 2 s)")
    print(f"plain pandas groupby baseline {t_base:7.3f} s")
    print(f"ratio vectorized / groupby    {t_vec / t_base:7.2f} x (target <= 3 x)")
    print(f"per-ticket path, 1,000 sample {t_per:7.3f} s  -> {t_per * N_TICKETS / 1000:.1f} s "
          f"extrapolated for {N_TICKETS:,}; mismatches vs frame: {mismatches}")
    print(f"peak traced memory (frames)   {peak / 2**20:7.1f} MiB; max RSS {rss:.0f} MiB")
    print(f"states: {clocks['resolution_state'].value_counts().to_dict()}; "
          f"mean availability {avail['availability'].mean():.4%}")


if __name__ == "__main__":
    main()
