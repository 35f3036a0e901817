"""Availability and outages of services made of devices, many at once, for reports."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import pandas as pd

from sla.availability import AvailabilityPolicy
from sla.device_frames import availability_summary, device_segments, outage_runs
from sla.period import Period


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
    seg = device_segments(period, intervals, member_maintenance, policy, all_members)
    lo, hi = seg.lo, seg.hi
    nsvc = len(names)
    svc_ids = pd.Index(names, name="service_id")
    if not nsvc:
        empty = availability_summary(
            0,
            svc_ids,
            lo,
            hi,
            *(np.zeros(0, np.int64),) * 2,
            np.zeros(0, np.int8),
            np.zeros(0, bool),
            None,
        )
        return empty, outage_runs(
            *(np.zeros(0, np.int64),) * 3, np.zeros(0, np.int8), svc_ids, "service_id"
        )
    code_of = {k: i for i, k in enumerate(seg.ids)}
    pair_svc = np.repeat(np.arange(nsvc), [len(m) for m in members])
    pair_dev = np.array([code_of[m] for m in all_members], dtype=np.int64)
    size = np.array([len(m) for m in members], dtype=np.int64)
    # Segments of each device (contiguous: sorted by device code), repeated per service.
    first = np.searchsorted(seg.dev, np.arange(seg.ndev + 1))
    counts = first[1:] - first[:-1]
    n_rows = counts[pair_dev]
    rows = np.repeat(first[pair_dev] - np.cumsum(n_rows) + n_rows, n_rows) + np.arange(
        int(n_rows.sum())
    )
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
    avail = availability_summary(nsvc, svc_ids, lo, hi, s_svc, length, cls, known, None)
    return avail, outage_runs(s_svc, s_t, length, cls, svc_ids, "service_id")
