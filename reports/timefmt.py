"""Instants as ISO 8601 in the report's zone, with the UTC offset: vectorized for big tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = ["iso_local", "iso_one", "parse_iso"]


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def iso_one(epoch: int, tz: str) -> str:
    """``2026-10-25T02:30:00+01:00`` for whole UTC epoch seconds."""
    return datetime.fromtimestamp(int(epoch), _zone(tz)).isoformat()


@lru_cache(maxsize=256 * 1024)
def _hour_offset(tz: str, hour: int) -> int | None:
    """UTC offset (seconds) of ``tz`` throughout the UTC hour ``hour`` (epoch // 3600), or
    None when it changes inside that hour."""
    zone = _zone(tz)
    a = datetime.fromtimestamp(hour * 3600, zone).utcoffset()
    b = datetime.fromtimestamp(hour * 3600 + 3599, zone).utcoffset()
    return int(a.total_seconds()) if a == b and a is not None else None


def _offset(epoch: int, tz: str) -> int:
    off = datetime.fromtimestamp(epoch, _zone(tz)).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _suffix(offset: int) -> str:
    a = abs(offset)
    return f"{'-' if offset < 0 else '+'}{a // 3600:02d}:{a % 3600 // 60:02d}"


def iso_local(epochs: Sequence[int | None], tz: str) -> list[str | None]:
    """:func:`iso_one` of each item (``None`` and NaN give ``None``), in one numpy pass.

    Offsets are looked up once per distinct UTC hour (cached across calls); an hour holding
    an offset change is resolved item by item."""
    n = len(epochs)
    if not n:
        return []
    values = np.empty(n, dtype=object)
    values[:] = epochs
    mask = pd.isna(values)
    missing = bool(mask.any())
    if missing:
        values[mask] = 0
    # Each distinct instant is formatted once (explanations repeat most of them).
    uniq, where = np.unique(values.astype(np.int64), return_inverse=True)
    hours, inv = np.unique(uniq // 3600, return_inverse=True)
    per_hour = [_hour_offset(tz, h) for h in hours.tolist()]
    if None in per_hour:
        offset = np.array([0 if o is None else o for o in per_hour], np.int64)[inv]
        for k in np.flatnonzero(np.array([o is None for o in per_hour])[inv]).tolist():
            offset[k] = _offset(int(uniq[k]), tz)
    else:
        offset = np.array(per_hour, np.int64)[inv]
    text = np.datetime_as_string((uniq + offset).astype("datetime64[s]"), unit="s").tolist()
    offs, o_inv = np.unique(offset, return_inverse=True)
    table = [_suffix(o) for o in offs.tolist()]
    strings = [t + table[k] for t, k in zip(text, o_inv.tolist(), strict=True)]
    out = [strings[k] for k in where.tolist()]
    if missing:
        for k in np.flatnonzero(mask).tolist():
            out[k] = None
    return out


def parse_iso(text: str) -> datetime:
    """Aware datetime of an ISO string written by this module, converted to UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)
