"""Business calendars against the minute-walking oracle and hand-computed cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla import Calendar
from tests.sla import oracle
from tests.sla.strategies import ANCHORS, anchor_instant, calendars, to_calendar

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = {d: "08:00-17:00" for d in range(5)}


@st.composite
def calendar_and_span(draw: st.DrawFn) -> tuple[oracle.CalSpec, datetime, datetime]:
    anchor = draw(st.sampled_from(ANCHORS))
    spec = draw(calendars(anchor))
    start = draw(anchor_instant(anchor))
    end = start + timedelta(minutes=draw(st.integers(0, 4 * 1440)))
    return spec, start, end


@settings(max_examples=150, deadline=None)
@given(calendar_and_span())
def test_business_seconds_match_minute_walk(case: tuple[oracle.CalSpec, datetime, datetime]):
    spec, start, end = case
    assert to_calendar(spec).business_seconds(start, end) == oracle.business_seconds(
        spec, start, end
    )


@settings(max_examples=150, deadline=None)
@given(calendar_and_span(), st.integers(0, 20 * 60))
def test_deadline_matches_minute_walk(case, minutes: int):
    spec, start, _ = case
    cal = to_calendar(spec)
    deadline = cal.add_business(start, minutes * 60)
    assert deadline == oracle.add_business(spec, start, minutes * 60)
    assert cal.business_seconds(start, deadline) == minutes * 60


@settings(max_examples=30, deadline=None)
@given(calendar_and_span())
def test_cumulative_is_vectorized_business_seconds(case):
    spec, start, end = case
    cal = to_calendar(spec)
    a, b = int(start.timestamp()), int(end.timestamp())
    points = np.linspace(a, b, 7).astype(np.int64)
    line = cal.timeline_for(a, b)
    got = np.diff(line.cumulative(points))
    want = [cal.business_between(int(x), int(y)) for x, y in zip(points, points[1:], strict=False)]
    assert got.tolist() == want


@settings(max_examples=40, deadline=None)
@given(calendar_and_span(), st.integers(-3 * 86_400, 3 * 86_400))
def test_scalar_forms_equal_the_vectorized_ones(case, shift: int):
    """``cumulative_one``/``instant_at_one`` (the per-ticket path) against the numpy forms,
    at the span's ends and at every interval edge of the timeline (and one second around)."""
    spec, start, end = case
    cal = to_calendar(spec)
    a, b = int(start.timestamp()), int(end.timestamp())
    line = cal.timeline_for(a, b)
    edges = np.concatenate((line.starts, line.ends, [a, b, a + shift]))
    points = np.unique(np.concatenate((edges - 1, edges, edges + 1)))
    assert [line.cumulative_one(int(t)) for t in points] == line.cumulative(points).tolist()
    if not len(line.starts):
        assert line.total == 0
        return
    assert line.total == int(line.cum[-1] + line.ends[-1] - line.starts[-1])
    targets = np.unique(np.clip(line.cumulative(points), 1, line.total))
    assert [line.instant_at_one(int(x)) for x in targets] == line.instant_at(targets).tolist()


@pytest.mark.parametrize("tz", ["UTC", "Europe/Warsaw", "Pacific/Apia", "America/St_Johns"])
def test_local_year_at_new_year_edges(tz: str):
    """The cached year spans of ``Calendar.local_year`` agree with the datetime computation
    one second either side of each local New Year."""
    cal = Calendar.business_hours(tz, OFFICE)
    zone = ZoneInfo(tz)
    for year in (2011, 2012, 2025, 2026):
        edge = int(datetime(year, 1, 1, tzinfo=zone).timestamp())
        for t in (edge - 86_400, edge - 1, edge, edge + 1, edge + 86_400, edge - 1):
            assert cal.local_year(t) == datetime.fromtimestamp(t, zone).year, (tz, t)


@pytest.mark.parametrize(
    ("start", "end", "minutes", "why"),
    [
        # Friday 16:30 -> Monday 09:15: 30 min on Friday + 75 on Monday.
        (datetime(2026, 1, 9, 16, 30), datetime(2026, 1, 12, 9, 15), 105, "over a weekend"),
        # Dec 24 (PL holiday since 2025), 25, 26 closed; the weekend too: counts from Monday 29.
        (datetime(2025, 12, 24, 9, 0), datetime(2025, 12, 29, 10, 0), 120, "Christmas"),
        # Spring forward (Sun 30 Mar 2025) does not touch office hours: Fri 16:00 -> Mon 09:00.
        (datetime(2025, 3, 28, 16, 0), datetime(2025, 3, 31, 9, 0), 120, "DST weekend"),
        (datetime(2025, 11, 10, 12, 0), datetime(2025, 11, 12, 12, 0), 540, "Nov 11 holiday"),
    ],
)
def test_office_hours_in_warsaw(start: datetime, end: datetime, minutes: int, why: str):
    cal = Calendar.business_hours("Europe/Warsaw", OFFICE, country="PL")
    got = cal.business_seconds(start.replace(tzinfo=WARSAW), end.replace(tzinfo=WARSAW))
    assert got == minutes * 60, why


def test_it_knows_christmas_eve_is_a_polish_holiday_since_2025():
    cal = Calendar.business_hours("Europe/Warsaw", OFFICE, country="PL")
    assert cal.day_windows(date(2025, 12, 24)) == ()
    assert cal.day_windows(date(2024, 12, 24)) == ((8 * 3600, 17 * 3600),)


def test_it_opens_russian_worked_saturdays_with_weekday_hours():
    cal = Calendar.business_hours(
        "Europe/Moscow", {d: "09:00-18:00" for d in range(5)}, country="RU"
    )
    moscow = ZoneInfo("Europe/Moscow")
    saturday = datetime(2024, 11, 2, tzinfo=moscow)
    assert cal.business_seconds(saturday, saturday + timedelta(days=1)) == 9 * 3600
    # ... and the Monday it replaces (Dec 30 2024 is a bridged day off) is closed.
    monday = datetime(2024, 12, 30, tzinfo=moscow)
    assert cal.business_seconds(monday, monday + timedelta(days=1)) == 0


def test_it_counts_the_repeated_autumn_hour_twice_and_skips_the_spring_gap():
    night = Calendar.business_hours("Europe/Warsaw", {6: "02:00-04:00"})
    autumn = datetime(2025, 10, 26, tzinfo=WARSAW)
    spring = datetime(2025, 3, 30, tzinfo=WARSAW)
    assert night.business_seconds(autumn, autumn + timedelta(days=1)) == 3 * 3600
    assert night.business_seconds(spring, spring + timedelta(days=1)) == 1 * 3600


def test_extra_open_day_overrides_holiday_and_extra_closed_day_closes():
    cal = Calendar.business_hours(
        "Europe/Warsaw",
        OFFICE,
        country="PL",
        closed_days=[date(2026, 1, 2)],
        open_days={date(2026, 1, 6): "10:00-12:00"},  # Epiphany, a PL holiday
    )
    assert cal.day_windows(date(2026, 1, 2)) == ()
    assert cal.day_windows(date(2026, 1, 6)) == ((10 * 3600, 12 * 3600),)


def test_deadline_lands_at_closing_time_not_next_opening():
    cal = Calendar.business_hours("Europe/Warsaw", OFFICE)
    start = datetime(2026, 1, 9, 16, 0, tzinfo=WARSAW)
    assert cal.add_business(start, 3600) == datetime(2026, 1, 9, 17, 0, tzinfo=WARSAW)
    assert cal.add_business(start, 3601) == datetime(2026, 1, 12, 8, 0, 1, tzinfo=WARSAW)


def test_24x7_counts_real_time_across_dst():
    always = Calendar.always()
    start = datetime(2026, 3, 1, tzinfo=WARSAW)
    assert always.business_seconds(start, datetime(2026, 4, 1, tzinfo=WARSAW)) == 743 * 3600


def test_it_rejects_naive_datetimes_and_bad_hours():
    cal = Calendar.always()
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.business_seconds(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        Calendar.business_hours("Europe/Warsaw", {0: "8-17"})
    with pytest.raises(ValueError, match="overlap"):
        Calendar.business_hours("Europe/Warsaw", {0: ["08:00-12:00", "11:00-13:00"]})
