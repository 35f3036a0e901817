"""Business calendars: weekly hours in a zone, public holidays, closed and open days."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bridge.config.fields import Strict, ZoneName

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_range(text: str) -> tuple[time, time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not m:
        raise ValueError(f"'{text}' is not a time range such as 08:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"'{text}' has an impossible time")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"'{text}' ends before it starts")
    return start, end


def _expand_days(key: str) -> list[int]:
    key = key.strip().lower()
    if "-" in key:
        first, _, last = key.partition("-")
        if first not in WEEKDAYS or last not in WEEKDAYS:
            raise ValueError(f"'{key}' is not a day range such as mon-fri")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
        if b < a:
            raise ValueError(f"'{key}' runs backwards")
        return list(range(a, b + 1))
    if key not in WEEKDAYS:
        raise ValueError(f"'{key}' is not a weekday (mon, tue, … sun or a range like mon-fri)")
    return [WEEKDAYS.index(key)]


class HolidaysConfig(Strict):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known_country(self) -> HolidaysConfig:
        import holidays

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision, years=2026)
        except NotImplementedError as err:
            raise ValueError(f"the holidays package knows no country '{self.country}'") from err
        except Exception as err:  # holidays raises its own error types for a bad subdivision
            raise ValueError(str(err)) from err
        return self


class OpenDay(Strict):
    date: date
    hours: list[str]

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        for item in value:
            _parse_range(item)
        return value


class CalendarConfig(Strict):
    """24×7, or weekly business hours in a zone with public holidays and exceptions."""

    type: Literal["24x7", "business"] = "business"
    timezone: ZoneName = "UTC"
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: HolidaysConfig | None = None
    closed_days: list[date] = Field(default_factory=list)
    open_days: list[OpenDay] = Field(default_factory=list)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, ranges in value.items():
            _expand_days(key)
            for item in ranges:
                _parse_range(item)
        return value

    @model_validator(mode="after")
    def _business_needs_hours(self) -> CalendarConfig:
        if self.type == "business" and not self.hours:
            raise ValueError("a business calendar needs hours, e.g. {mon-fri: ['08:00-17:00']}")
        return self

    def weekly(self) -> dict[int, list[tuple[time, time]]]:
        out: dict[int, list[tuple[time, time]]] = {}
        for key, ranges in self.hours.items():
            for day in _expand_days(key):
                out.setdefault(day, []).extend(_parse_range(r) for r in ranges)
        return out
