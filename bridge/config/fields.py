"""Value types every config section shares: strict models, durations, ids, zones, e-mail."""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")


def _duration_seconds(value: Any) -> float:
    """Durations are written as 90, "90s", "15m", "4h", "1d" or "1h30m"; stored as seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 4h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and (m := _DURATION.match(value)):
        d, h, mi, s = m.groups()
        if not any((d, h, mi, s)):
            raise ValueError(f"'{value}' is not a duration such as 30s, 15m, 4h or 1d")
        seconds = int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    else:
        raise ValueError(f"'{value}' is not a duration such as 30s, 15m, 4h or 1d")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(_duration_seconds)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone '{value}'") from err
    return value


ZoneName = Annotated[str, AfterValidator(_zone)]


_EMAIL = re.compile(r"[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError(f"'{value}' is not an e-mail address such as support@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]
