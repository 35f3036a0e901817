"""Business calendars: when the SLA clock may run, and the arithmetic on business time.

A calendar is either 24x7 or weekly opening hours in one time zone, with public holidays
from the ``holidays`` package, extra closed days, extra open days with their own hours,
and the weekend days a country works instead of a bridged holiday.

Everything is reduced to one representation: sorted, disjoint open intervals in UTC epoch
seconds for whole local years (a :class:`Timeline`). Business time between two instants is
then a difference of a cumulative function ``B(t)`` (open seconds before ``t``), looked up
with ``numpy.searchsorted``; a deadline is the inverse of ``B``. The scalar API and the
vectorized one (``sla.frames``) share this arithmetic, so they cannot disagree.

Opening hours are local wall-clock times of a local date. Around DST changes the UTC
instants whose wall-clock time falls in a window are found piece by piece over stretches of
constant UTC offset, so a window inside the spring-forward gap is empty, and a window over
the repeated autumn hour counts that hour twice (it really is open twice as long).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from sla.instants import from_epoch, require_aware, to_epoch

__all__ = ["Calendar", "Timeline", "Window", "parse_hours"]

#: An opening window of one local day: seconds since local midnight, ``[start, end)``,
#: ``0 <= start < end <= 86400`` (``end == 86400`` means "until midnight").
Window = tuple[int, int]

DAY = 86_400
_MAX_YEARS_AHEAD = 60
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ORDINAL_EPOCH = date(1970, 1, 1).toordinal()

HoursSpec = str | Sequence[str] | Sequence[tuple[time | str, time | str]] | Sequence[Window]


def _clock_seconds(value: time | str | int) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second
    hh, _, mm = value.partition(":")
    return int(hh) * 3600 + int(mm or 0) * 60


def parse_hours(spec: HoursSpec | None) -> tuple[Window, ...]:
    """Normalise opening hours to sorted, disjoint windows; raises ValueError when invalid.

    Accepts ``"08:00-17:00"``, a list of such strings, or pairs of ``time``/``"HH:MM"``/seconds.
    ``"24:00"`` closes at midnight; ``None``/empty means closed.
    """
    if spec is None:
        return ()
    items: list[object] = [spec] if isinstance(spec, str) else list(spec)
    windows: list[Window] = []
    for item in items:
        if isinstance(item, str):
            match = _HOURS.match(item)
            if not match:
                raise ValueError(f"opening hours {item!r} are not 'HH:MM-HH:MM'")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            window = (h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60)
        else:
            start, end = item  # type: ignore[misc]
            window = (_clock_seconds(start), _clock_seconds(end))
        if not 0 <= window[0] < window[1] <= DAY:
            raise ValueError(f"opening hours {item!r} must satisfy 00:00 <= start < end <= 24:00")
        windows.append(window)
    windows.sort()
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        if start < end:
            raise ValueError(f"opening hours {spec!r} overlap")
    return tuple(windows)


def _weekday_key(key: int | str) -> int:
    if isinstance(key, int) and 0 <= key <= 6:
        return key
    if isinstance(key, str) and key[:3].lower() in _WEEKDAYS:
        return _WEEKDAYS[key[:3].lower()]
    raise ValueError(f"weekday {key!r} is not 0..6 (Monday=0) or a day name")


@dataclass(frozen=True)
class Calendar:
    """When business time runs; immutable and hashable, so its timelines are cached.

    Precedence for a local date: an extra open day (its own hours) > an extra closed day >
    a public holiday > a weekend day the country works (``transfer_hours``, by default the
    hours of the first weekday Monday..Friday that has any) > the weekly hours.
    Build it with :meth:`always` or :meth:`business_hours` rather than by hand.
    """

    tz: str = "UTC"
    weekly: tuple[tuple[Window, ...], ...] = (((0, DAY),),) * 7
    country: str | None = None
    subdiv: str | None = None
    closed_days: frozenset[date] = frozenset()
    open_days: tuple[tuple[date, tuple[Window, ...]], ...] = ()
    transfer_hours: tuple[Window, ...] = ((0, DAY),)
    name: str = "24x7"
    _open_map: dict[date, tuple[Window, ...]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)  # fail early on an unknown zone
        if len(self.weekly) != 7:
            raise ValueError("weekly hours need exactly 7 days, Monday first")
        self._open_map.update(dict(self.open_days))

    @classmethod
    def always(cls, name: str = "24x7") -> Calendar:
        """Round-the-clock calendar: business time equals elapsed time."""
        return cls(name=name)

    @classmethod
    def business_hours(
        cls,
        tz: str,
        hours: Mapping[int | str, HoursSpec | None],
        *,
        country: str | None = None,
        subdiv: str | None = None,
        closed_days: Iterable[date] = (),
        open_days: Mapping[date, HoursSpec] | None = None,
        transfer_hours: HoursSpec | None = None,
        name: str = "",
    ) -> Calendar:
        """Weekly opening hours in ``tz``; ``hours`` maps weekday (0=Monday or "mon") to hours.

        Days missing from ``hours`` are closed. ``country``/``subdiv`` select public holidays
        and worked weekend days from the ``holidays`` package.
        """
        weekly: list[tuple[Window, ...]] = [()] * 7
        for key, spec in hours.items():
            weekly[_weekday_key(key)] = parse_hours(spec)
        if transfer_hours is None:
            transfer = next((w for w in weekly[:5] if w), next((w for w in weekly if w), ()))
        else:
            transfer = parse_hours(transfer_hours)
        if country is not None:
            holidays.country_holidays(country, subdiv=subdiv, years=2000)  # fail early
        extra_open = tuple(sorted((d, parse_hours(s)) for d, s in (open_days or {}).items()))
        return cls(
            tz=tz,
            weekly=tuple(weekly),
            country=country,
            subdiv=subdiv,
            closed_days=frozenset(closed_days),
            open_days=extra_open,
            transfer_hours=transfer,
            name=name or f"business hours {tz}" + (f" {country}" if country else ""),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's zone, in which days are cut."""
        return _zone(self.tz)

    @property
    def is_always_open(self) -> bool:
        """True for 24x7 without any closed day; such calendars skip the per-day work."""
        return (
            all(day == ((0, DAY),) for day in self.weekly)
            and self.country is None
            and not self.closed_days
            and not self.open_days
        )

    def day_windows(self, day: date) -> tuple[Window, ...]:
        """Opening windows of one local date after holidays and exceptions."""
        if day in self._open_map:
            return self._open_map[day]
        if day in self.closed_days:
            return ()
        if self.country is not None:
            public, worked = _public_days(self.country, self.subdiv, day.year)
            if day in public:
                return ()
            if day in worked:
                return self.transfer_hours
        return self.weekly[day.weekday()]

    def local_year(self, epoch: int) -> int:
        """Year of an epoch instant in the calendar's zone (timelines are cut by it)."""
        span = _LAST_YEAR_SPAN.get(self.tz)
        if span is not None and span[0] <= epoch < span[1]:
            return span[2]
        year = from_epoch(epoch).astimezone(self.zone).year
        span = _year_span(self.tz, year)
        if span is not None:
            _LAST_YEAR_SPAN[self.tz] = span
        return year

    def timeline(self, first_year: int, last_year: int) -> Timeline:
        """Open intervals of local years ``first_year..last_year`` (cached)."""
        return _timeline(self, first_year, last_year)

    def timeline_for(self, start: int, end: int) -> Timeline:
        """Timeline valid for every epoch instant in ``[start, end]``."""
        return _timeline(self, self.local_year(start), self.local_year(end))

    def business_seconds(self, start: datetime, end: datetime) -> int:
        """Open seconds in ``[start, end)``; raises ValueError if ``end < start``."""
        a, b = to_epoch(start, "start"), to_epoch(end, "end")
        if b < a:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        return self.business_between(a, b)

    def business_between(self, a: int, b: int) -> int:
        """Epoch-seconds form of :meth:`business_seconds`, for callers already in epochs."""
        line = self.timeline_for(a, b)
        return line.cumulative_one(b) - line.cumulative_one(a)

    def add_business(self, start: datetime, seconds: int) -> datetime:
        """Instant when ``seconds`` business seconds have elapsed since ``start`` (deadline)."""
        require_aware(start, "start")
        return from_epoch(self.add_business_epoch(to_epoch(start), seconds))

    def add_business_epoch(self, start: int, seconds: int) -> int:
        """Epoch form of :meth:`add_business`; ``seconds == 0`` returns ``start`` itself."""
        if seconds < 0:
            raise ValueError(f"business seconds must be >= 0, got {seconds}")
        first = self.local_year(start)
        for last in range(first, first + _MAX_YEARS_AHEAD):
            line = _timeline(self, first, last)
            target = line.cumulative_one(start) + int(seconds)
            if target <= line.total:
                return max(start, line.instant_at_one(target))
        raise ValueError(
            f"calendar {self.name!r} has no {seconds} open seconds within {_MAX_YEARS_AHEAD} years"
        )

    def is_open(self, instant: datetime) -> bool:
        """Whether the business clock runs at ``instant``."""
        t = to_epoch(instant, "instant")
        return self.business_between(t, t + 1) == 1


@dataclass(frozen=True, eq=False)
class Timeline:
    """Sorted disjoint open intervals ``[starts[i], ends[i])`` in epoch seconds.

    ``cum[i]`` is the open time before ``starts[i]``. Valid for instants within the local
    years it was built for; callers choose the years (see :meth:`Calendar.timeline_for`).
    """

    starts: np.ndarray
    ends: np.ndarray
    cum: np.ndarray
    first_year: int
    last_year: int

    @property
    def total(self) -> int:
        """Open seconds in the whole timeline."""
        cum_end = self._lists[3]
        return cum_end[-1] if cum_end else 0

    def cumulative(self, t: np.ndarray | int) -> np.ndarray:
        """``B(t)``: open seconds of the timeline before ``t`` (vectorized)."""
        t = np.asarray(t, dtype=np.int64)
        if not len(self.starts):
            return np.zeros_like(t)
        idx = np.searchsorted(self.starts, t, side="right") - 1
        idx = np.clip(idx, 0, None)
        inside = np.clip(t - self.starts[idx], 0, self.ends[idx] - self.starts[idx])
        return self.cum[idx] + inside

    def instant_at(self, b: np.ndarray | int) -> np.ndarray:
        """Earliest instant ``t`` with ``B(t) == b`` for ``0 < b <= total`` (vectorized)."""
        b = np.asarray(b, dtype=np.int64)
        cum_end = self.cum + (self.ends - self.starts)
        idx = np.searchsorted(cum_end, b, side="left")
        idx = np.clip(idx, 0, len(self.starts) - 1)
        return self.starts[idx] + (b - self.cum[idx])

    # Scalar forms for one instant, as plain ints: the same arithmetic as the vectorized
    # methods (bisect on Python lists instead of searchsorted), without numpy's per-call
    # overhead, which dominated the per-ticket clocks (bridge.sla_live at every scrape).
    @cached_property
    def _lists(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """``starts``, ``lengths``, ``cum`` and ``cum + lengths`` as lists of ints."""
        starts = self.starts.tolist()
        lengths = (self.ends - self.starts).tolist()
        cum = self.cum.tolist()
        return starts, lengths, cum, (self.cum + (self.ends - self.starts)).tolist()

    def cumulative_one(self, t: int) -> int:
        """:meth:`cumulative` of one instant, as an int."""
        starts, lengths, cum, _ = self._lists
        if not starts:
            return 0
        t = int(t)
        idx = bisect_right(starts, t) - 1
        if idx < 0:
            idx = 0
        inside = t - starts[idx]
        if inside < 0:
            inside = 0
        elif inside > lengths[idx]:
            inside = lengths[idx]
        return cum[idx] + inside

    def instant_at_one(self, b: int) -> int:
        """:meth:`instant_at` of one business-seconds value, as an int."""
        starts, _, cum, cum_end = self._lists
        if not starts:
            return int(self.instant_at(b))  # raises like the vectorized form
        b = int(b)
        idx = bisect_left(cum_end, b)
        if idx > len(starts) - 1:
            idx = len(starts) - 1
        return starts[idx] + (b - cum[idx])


@cache
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


#: zone → the last ``(lo, hi, year)`` :meth:`Calendar.local_year` looked up: epochs in
#: ``[lo, hi)`` are in that local year. Replaced whole (one assignment), so thread-safe.
_LAST_YEAR_SPAN: dict[str, tuple[int, int, int]] = {}


@lru_cache(maxsize=1024)
def _year_span(tz: str, year: int) -> tuple[int, int, int] | None:
    """``(lo, hi, year)``: the epochs whose local year in ``tz`` is ``year``, checked at both
    edges against the datetime computation; None when the check fails (then not cached)."""
    zone = _zone(tz)

    def year_of(epoch: int) -> int:
        return from_epoch(epoch).astimezone(zone).year

    try:
        lo = to_epoch(datetime.combine(date(year, 1, 1), time(), zone))
        hi = to_epoch(datetime.combine(date(year + 1, 1, 1), time(), zone))
        ok = (
            year_of(lo) == year
            and year_of(lo - 1) == year - 1
            and year_of(hi - 1) == year
            and year_of(hi) == year + 1
        )
    except (OverflowError, ValueError):
        return None
    return (lo, hi, year) if ok else None


@lru_cache(maxsize=512)
def _public_days(
    country: str, subdiv: str | None, year: int
) -> tuple[frozenset[date], frozenset[date]]:
    """Public holidays and worked weekend days (``weekend_workdays``) of one year."""
    table = holidays.country_holidays(country, subdiv=subdiv, years=year)
    worked = frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)
    return frozenset(d for d in table if d.year == year), worked


def _offset_at(zone: ZoneInfo, epoch: int) -> int:
    offset = from_epoch(epoch).astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _offset_pieces(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Split ``[lo, hi)`` into stretches of constant UTC offset: ``(start, end, offset)``.

    Offsets are sampled every 6 hours and transitions bisected to the second; real zones
    never change offset twice within 6 hours.
    """
    step = 6 * 3600
    pieces: list[tuple[int, int, int]] = []
    start, current = lo, _offset_at(zone, lo)
    t = lo
    while t < hi:
        nxt = min(t + step, hi)
        off = _offset_at(zone, nxt)
        if off != current:
            a, b = t, nxt  # offset(a) == current, offset(b) != current
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(zone, mid) == current:
                    a = mid
                else:
                    b = mid
            pieces.append((start, b, current))
            start, current = b, off
        t = nxt
    pieces.append((start, hi, current))
    return pieces


@lru_cache(maxsize=1024)
def _year_intervals(cal: Calendar, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Open intervals (epoch seconds) of every local date of ``year``."""
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    base = (first.toordinal() - _ORDINAL_EPOCH) * DAY
    if cal.is_always_open:
        # Local midnight of Jan 1 to local midnight of the next Jan 1, as UTC.
        lo = to_epoch(datetime.combine(first, time(), cal.zone))
        hi = to_epoch(datetime.combine(date(year + 1, 1, 1), time(), cal.zone))
        return np.array([lo], dtype=np.int64), np.array([hi], dtype=np.int64)
    pieces = _offset_pieces(cal.zone, base - 2 * DAY, base + (days + 2) * DAY)
    starts: list[int] = []
    ends: list[int] = []
    for n in range(days):
        day = first + timedelta(days=n)
        midnight = base + n * DAY  # the local midnight read as if it were UTC
        for ws, we in cal.day_windows(day):
            for pa, pb, off in pieces:
                lo, hi = max(midnight + ws - off, pa), min(midnight + we - off, pb)
                if lo < hi:
                    starts.append(lo)
                    ends.append(hi)
    order = np.argsort(np.array(starts, dtype=np.int64), kind="stable")
    return (
        np.array(starts, dtype=np.int64)[order],
        np.array(ends, dtype=np.int64)[order],
    )


@lru_cache(maxsize=256)
def _timeline(cal: Calendar, first_year: int, last_year: int) -> Timeline:
    parts = [_year_intervals(cal, y) for y in range(first_year, last_year + 1)]
    starts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    ends = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    lengths = ends - starts
    cum = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    for arr in (starts, ends, cum):
        arr.setflags(write=False)
    return Timeline(starts, ends, cum[: len(starts)], first_year, last_year)
