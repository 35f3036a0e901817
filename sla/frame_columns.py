"""The frames' column names, and their columns turned into int64 arrays for numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("ticket_id", "at", "seq", "kind", "priority", "status", "assignee")
INTERVAL_COLUMNS = ("device_id", "start", "end", "state")
MAINTENANCE_COLUMNS = ("device_id", "start", "end")
NS_PER_SECOND = 1_000_000_000
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def epoch_raw(column: pd.Series, name: str) -> tuple[np.ndarray, int]:
    """UTC epoch integers of an aware datetime column in its own unit, and units per second.

    Naive columns are rejected. No copy and no unit conversion: callers floor to seconds.
    """
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"column {name!r} must be timezone-aware datetimes, got {column.dtype}")
    values = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    return values.view(np.int64), _PER_SECOND[unit]


def epoch_seconds(column: pd.Series, name: str) -> np.ndarray:
    """Whole epoch seconds (floored) of an aware datetime column."""
    raw, per_sec = epoch_raw(column, name)
    return raw if per_sec == 1 else np.floor_divide(raw, per_sec)


def value_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for null) and the object array of distinct values of a column.

    Categorical columns give their codes for free; anything else is hashed once, so every
    later test is an integer comparison instead of a string one.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return (
            column.cat.codes.to_numpy(dtype=np.int64),
            np.asarray(column.cat.categories, dtype=object),
        )
    codes, uniques = pd.factorize(column.to_numpy())
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def value_codes_at(
    column: pd.Series, rows: np.ndarray, keep_null: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`value_codes` of ``column[rows]`` only (hashing nulls one doesn't need is slow).

    ``keep_null`` gives a null its own code (and name) instead of -1.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, names = value_codes(column)
        codes = codes[rows]
        if keep_null and (codes < 0).any():
            codes = np.where(codes < 0, len(names), codes)
            names = np.append(names, [np.nan])
        return codes, names
    codes, uniques = pd.factorize(column.to_numpy()[rows], use_na_sentinel=not keep_null)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _bits(span: int) -> int:
    return max(int(span), 0).bit_length()


def sort_order(keys: list[np.ndarray]) -> np.ndarray | None:
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


def group_codes(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Group codes of ``column[rows]``: equal ids share a code (the codes' order is free)."""
    values = (
        column.to_numpy()[rows]
        if not isinstance(column.dtype, pd.CategoricalDtype)
        else column.cat.codes.to_numpy(dtype=np.int64)[rows]
    )
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * len(values) + 1024:
            return values.astype(np.int64) - lo
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False)
