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


def iso_local(epochs: Sequence[int | None], tz: str) -> list[str | None]:
    """:func:`iso_one` of each item (``None`` stays ``None``), in one numpy pass."""
    if not len(epochs):
        return []
    mask = np.array([e is None or e != e for e in epochs], dtype=bool)  # None or NaN
    arr = np.array([0 if m else int(e) for e, m in zip(epochs, mask, strict=True)], np.int64)
    utc = pd.to_datetime(arr, unit="s", utc=True).as_unit("s")
    naive = utc.tz_convert(tz).tz_localize(None)
    offset = naive.asi8 - utc.tz_localize(None).asi8  # whole seconds (unit "s")
    text = np.datetime_as_string(naive.to_numpy().astype("datetime64[s]"), unit="s")
    sign = np.where(offset < 0, "-", "+")
    a = np.abs(offset)
    suffix = [f"{s}{h:02d}:{m:02d}" for s, h, m in zip(sign, a // 3600, a % 3600 // 60,
                                                          strict=True)]
    return [None if m else f"{t}{s}" for t, s, m in zip(text.tolist(), suffix, mask, strict=True)]


def parse_iso(text: str) -> datetime:
    """Aware datetime of an ISO string written by this module, converted to UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)
