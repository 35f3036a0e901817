"""Availability and outages of many devices at once (:func:`device_frames`), for reports."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import ParamSpec

import numpy as np
import pandas as pd

from sla.availability import DEVICE_STATES, NO_DATA, AvailabilityPolicy
from sla.frame_columns import MAINTENANCE_COLUMNS, epoch_seconds, sort_order, value_codes
from sla.instants import to_epoch
from sla.period import Period

_STATE_NAMES = tuple(sorted(DEVICE_STATES))
_STATE_CODE = {name: k for k, name in enumerate(_STATE_NAMES)}
_UNKNOWN = _STATE_CODE["unknown"]
P = ParamSpec("P")


class Segments:
    """Classified segments of every device: they partition ``[lo, hi)`` per device, in device
    code then time order (adjacent segments of one class are not merged)."""

    __slots__ = (
        "cls",
        "depth",
        "dev",
        "hi",
        "ids",
        "known",
        "length",
        "lo",
        "ndev",
        "start",
        "state",
    )

    def __init__(self, **kw: object) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def device_segments(
    period: Period,
    intervals: pd.DataFrame,
    maintenance: pd.DataFrame | None,
    policy: AvailabilityPolicy,
    devices: Iterable[Hashable] | None,
) -> Segments:
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
    ids = pd.Index(
        uniques.to_numpy() if uniques.dtype == object else uniques.array, name="device_id"
    )
    ndev = len(ids)
    dev = dev.astype(np.int64, copy=False)  # uniq_i come first, so their codes stand
    mdev = codes[len(uniq_i) : len(uniq_i) + len(uniq_m)].astype(np.int64)[mdev]
    s = epoch_seconds(intervals["start"], "start")
    e = epoch_seconds(intervals["end"], "end")
    scodes, snames = value_codes(intervals["state"])
    order = sort_order([dev, s, e])
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
    st_known = np.array([v not in NO_DATA for v in snames], dtype=bool)[scodes]
    st_state = np.array([_STATE_CODE.get(v, _UNKNOWN) for v in snames], dtype=np.int8)[scodes]
    unknown_cls = cls_of["unknown"]

    md = mdev
    ms = np.maximum(epoch_seconds(maintenance["start"], "start"), lo)
    me = np.minimum(epoch_seconds(maintenance["end"], "end"), hi)
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
    r_ord = np.concatenate(
        [np.zeros(ndev, np.int64), np.tile(np.array([1, 0]), k_i), np.full(2 * k_m, 2, np.int64)]
    )
    r_is_state = np.ones(ndev + k_s + 2 * k_m, dtype=bool)
    r_is_state[ndev + k_s :] = False
    r_cls = np.full(ndev + k_s + 2 * k_m, unknown_cls, np.int8)
    r_cls[ndev : ndev + k_s : 2] = st_cls
    r_cls[ndev + k_s :] = 0
    r_known = np.zeros(ndev + k_s + 2 * k_m, dtype=bool)
    r_known[ndev : ndev + k_s : 2] = st_known
    r_state = np.full(ndev + k_s + 2 * k_m, _UNKNOWN, np.int8)
    r_state[ndev : ndev + k_s : 2] = st_state
    r_delta = np.zeros(ndev + k_s + 2 * k_m, dtype=np.int64)
    r_delta[ndev + k_s : ndev + k_s + k_m] = 1
    r_delta[ndev + k_s + k_m :] = -1
    del dev, s, e, cs, ce, scodes, st_cls, st_known, st_state, ok, same
    o = sort_order([r_dev, r_t, r_ord])
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
    return Segments(
        dev=r_dev[pos],
        start=r_t[pos],
        length=length[pos],
        cls=cls[pos].astype(np.int8),
        known=known[pos],
        depth=depth[pos],
        ids=ids,
        ndev=ndev,
        lo=lo,
        hi=hi,
        state=state[pos],
    )


def _state_seconds(seg: Segments) -> dict[str, np.ndarray]:
    """``state_<name>`` and ``state_maintenance`` seconds per device, as
    :func:`sla.availability.state_seconds`: maintenance first, then the state."""
    slot = np.where(seg.depth > 0, len(_STATE_NAMES), seg.state).astype(np.int64)
    width = len(_STATE_NAMES) + 1
    by = np.bincount(seg.dev * width + slot, weights=seg.length, minlength=width * seg.ndev).astype(
        np.int64
    )
    names = [*_STATE_NAMES, "maintenance"]
    return {f"state_{n}": by[k::width] for k, n in enumerate(names)}


def _down_runs(d: np.ndarray, c: np.ndarray, ln: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of down (class 1) segments per device: the mask of each run's first
    segment, and each run's length (of ``ln``, the segments' lengths)."""
    is_down = c == 1
    prev_down = np.zeros(len(d), dtype=bool)
    prev_down[1:] = is_down[:-1] & (d[1:] == d[:-1])
    run_start = is_down & ~prev_down
    run_id = np.cumsum(run_start) - 1
    run_len = np.bincount(
        run_id[is_down], weights=ln[is_down], minlength=int(run_start.sum())
    ).astype(np.int64)
    return run_start, run_len


def availability_summary(
    ndev: int,
    ids: pd.Index,
    lo: int,
    hi: int,
    d: np.ndarray,
    ln: np.ndarray,
    c: np.ndarray,
    kn: np.ndarray,
    dp: np.ndarray | None,
) -> pd.DataFrame:
    """The availability figures of each of ``ndev`` items (devices or services) from their
    segments: item code ``d``, length ``ln``, class ``c`` (0 up, 1 down, 2 excluded), known
    ``kn`` and maintenance depth ``dp`` (None: no maintenance)."""

    def per_dev(weights: np.ndarray) -> np.ndarray:
        return np.bincount(d, weights=weights, minlength=ndev).astype(np.int64)

    by_class = np.bincount(d * 3 + c, weights=ln, minlength=3 * ndev).astype(np.int64)
    up, down, excluded = (by_class[k::3] for k in range(3))
    maint = per_dev(np.where(dp > 0, ln, 0)) if dp is not None else np.zeros(ndev, np.int64)
    known_s = per_dev(np.where(kn, ln, 0))
    run_start, run_len = _down_runs(d, c, ln)
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


def outage_runs(
    d: np.ndarray, t: np.ndarray, ln: np.ndarray, c: np.ndarray, ids: pd.Index, name: str
) -> pd.DataFrame:
    """One row per maximal run of down segments: the item (``ids`` by code ``d``, in column
    ``name``), start, end and seconds."""
    run_start, run_len = _down_runs(d, c, ln)
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
    seg = device_segments(period, intervals, maintenance, policy, devices)
    avail = availability_summary(
        seg.ndev, seg.ids, seg.lo, seg.hi, seg.dev, seg.length, seg.cls, seg.known, seg.depth
    )
    for name, col in _state_seconds(seg).items():
        avail[name] = col
    return avail, outage_runs(seg.dev, seg.start, seg.length, seg.cls, seg.ids, "device_id")


def _one_of(
    frames: Callable[P, tuple[pd.DataFrame, pd.DataFrame]], which: int, name: str, doc: str
) -> Callable[P, pd.DataFrame]:
    """One of the frames ``frames`` gives, with its parameters: one pass costs what either
    frame alone would, so each is that pass."""

    def frame(*args: P.args, **kwargs: P.kwargs) -> pd.DataFrame:
        return frames(*args, **kwargs)[which]

    frame.__name__ = frame.__qualname__ = name
    frame.__doc__ = doc
    frame.__wrapped__ = frames  # type: ignore[attr-defined]  # help() shows its parameters
    return frame


device_availability_frame = _one_of(
    device_frames,
    0,
    "device_availability_frame",
    """Availability figures of every device over ``period``, indexed by ``device_id``.

    Columns: availability (0..1, NaN when wholly excluded), up_seconds, down_seconds,
    excluded_seconds, maintenance_seconds, counted_seconds, outage_count,
    longest_outage_seconds, coverage_pct, and ``state_<state>`` for every device state plus
    ``state_maintenance`` (:func:`sla.availability.state_seconds`: they sum to the period).
    ``devices`` adds devices without any row (all unknown). Raises ValueError when intervals
    of one device overlap.
    """,
)
device_outages_frame = _one_of(
    device_frames,
    1,
    "device_outages_frame",
    """The outages of every device (``AvailabilityReport.outages`` of
    :func:`sla.availability.device_availability`): one row per maximal run of downtime, in
    order of device (first appearance, as :func:`device_availability_frame`) then time.
    Columns: device_id, start, end (UTC epoch seconds, int64) and seconds. ``devices`` adds
    devices without any row (all unknown: down when the policy counts unknown as down).""",
)
