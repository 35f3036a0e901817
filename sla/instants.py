"""Conversions between aware datetimes and integer epoch seconds.

All SLA arithmetic runs on whole UTC epoch seconds (``int``): durations are then plain
subtractions, the per-ticket and the vectorized paths give bit-identical results, and
nothing depends on the local zone. Sub-second parts are truncated at this edge, which is
far below any contractual resolution (minutes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["from_epoch", "require_aware", "to_epoch"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Reject naive datetimes, whose meaning depends on the machine's zone."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def to_epoch(value: datetime, name: str = "datetime") -> int:
    """Whole UTC epoch seconds of an aware instant (floored, also before 1970)."""
    require_aware(value, name)
    delta = value - _EPOCH
    return delta.days * 86_400 + delta.seconds


def from_epoch(seconds: int) -> datetime:
    """Aware UTC datetime of whole epoch seconds."""
    return _EPOCH + timedelta(seconds=int(seconds))
