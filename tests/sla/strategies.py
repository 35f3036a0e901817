"""Hypothesis strategies shared by the SLA tests: calendars around DST weeks and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from sla import Calendar
from tests.sla.oracle import CalSpec, Hours

ZONES = [
    ("Europe/Warsaw", "PL"),
    ("Europe/Prague", "CZ"),
    ("Europe/Rome", "IT"),
    ("Europe/Moscow", "RU"),
]
# DST changes of the four zones (Moscow's last ones: 2011 spring, 2014 autumn), plus
# holidays and RU's worked Saturdays (2024-04-27, 2024-11-02, 2024-12-28).
ANCHORS = [
    date(2024, 3, 31), date(2024, 10, 27), date(2025, 3, 30), date(2025, 10, 26),
    date(2011, 3, 27), date(2014, 10, 26), date(2024, 4, 27), date(2024, 11, 2),
    date(2024, 12, 28), date(2025, 12, 24), date(2024, 4, 1), date(2024, 5, 8),
    date(2025, 12, 31),
]


@st.composite
def weekday_hours(draw: st.DrawFn, required: bool) -> Hours:
    """Zero to two windows on quarter hours; working days get at least two hours."""
    if not required and draw(st.booleans()):
        return ()
    start = draw(st.integers(0, 80))
    end = draw(st.integers(start + 8 if required else start + 1, 96))
    windows = [(start * 15, end * 15)]
    if end <= 94 and draw(st.booleans()):
        s2 = draw(st.integers(end + 1, 95))
        windows.append((s2 * 15, draw(st.integers(s2 + 1, 96)) * 15))
    return tuple(windows)


def to_calendar(spec: CalSpec) -> Calendar:
    """The sla Calendar built from the same definition as the oracle's."""
    if spec.weekly is None:
        return Calendar.always()

    def sec(hours: Hours) -> list[tuple[int, int]]:
        return [(a * 60, b * 60) for a, b in hours]

    return Calendar.business_hours(
        spec.tz,
        {d: sec(h) for d, h in spec.weekly.items()},
        country=spec.country,
        subdiv=spec.subdiv,
        closed_days=spec.closed,
        open_days={d: sec(h) for d, h in spec.extra_open.items()},
    )


@st.composite
def calendars(draw: st.DrawFn, anchor: date | None = None) -> CalSpec:
    """A random calendar: 24x7 now and then, else weekly hours in one of the four zones."""
    if draw(st.integers(0, 9)) == 0:
        return CalSpec()
    tz, country = draw(st.sampled_from(ZONES))
    weekly = {d: draw(weekday_hours(required=d < 5)) for d in range(7)}
    near = anchor or date(2024, 3, 31)
    days = st.integers(-6, 6).map(lambda n: near + timedelta(days=n))
    closed = frozenset(draw(st.lists(days, max_size=2)))
    extra = {d: draw(weekday_hours(required=True)) for d in draw(st.lists(days, max_size=2))}
    return CalSpec(
        tz=tz,
        weekly=weekly,
        country=country if draw(st.integers(0, 4)) else None,
        closed=closed,
        extra_open=extra,
    )


def anchor_instant(anchor: date) -> st.SearchStrategy[datetime]:
    """Whole-minute UTC instants within a few days of ``anchor``."""
    base = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    return st.integers(-3 * 1440, 4 * 1440).map(lambda m: base + timedelta(minutes=m))


PRIORITIES = ("P1", "P2", "P3")
STATUSES = ("new", "in_progress", "waiting", "resolved", "closed")

Event = tuple[datetime, int, str, dict[str, str]]


@st.composite
def tickets(
    draw: st.DrawFn, anchor: date, start: datetime | None = None
) -> tuple[list[Event], datetime]:
    """A random log (pauses, reopenings, ties, priority changes, noise) and a "now"."""
    t = start or draw(anchor_instant(anchor))
    prio = draw(st.sampled_from(PRIORITIES))
    status = draw(st.sampled_from(("new", "new", "in_progress")))
    created: dict[str, str] = {"priority": prio, "status": status}
    if draw(st.integers(0, 5)) == 0:
        created["assignee"] = "alice"
    events: list[Event] = [(t, 0, "created", created)]
    for seq in range(1, draw(st.integers(0, 8)) + 1):
        t = t + timedelta(minutes=draw(st.sampled_from((0, 1, 30, 59, 240, 700, 1440))))
        t = t + timedelta(minutes=draw(st.integers(0, 200)))
        action = draw(st.sampled_from(("assigned", "status", "status", "priority", "noise")))
        if action == "assigned":
            events.append((t, seq, "assigned", {"assignee": draw(st.sampled_from(("bob", "")))}))
        elif action == "status":
            new = draw(st.sampled_from(STATUSES))
            events.append((t, seq, "status_changed", {"from": status, "to": new}))
            status = new
        elif action == "priority":
            new = draw(st.sampled_from(PRIORITIES))
            events.append((t, seq, "priority_changed", {"from": prio, "to": new}))
            prio = new
        else:
            events.append((t, seq, draw(st.sampled_from(("commented", "sla_warning"))), {}))
    now = events[0][0] + timedelta(minutes=draw(st.integers(0, int(
        (t - events[0][0]).total_seconds() // 60) + 2880)))
    return events, now


@st.composite
def policies(
    draw: st.DrawFn, anchor: date
) -> tuple[dict[str, CalSpec], dict[str, tuple[int, int]]]:
    """Per-priority calendars (two shared among three priorities) and targets in seconds."""
    specs = [draw(calendars(anchor)), draw(calendars(anchor))]
    cal_of = {p: specs[draw(st.integers(0, 1))] for p in PRIORITIES}
    targets = {
        p: (draw(st.integers(1, 300)) * 60, draw(st.integers(1, 900)) * 60) for p in PRIORITIES
    }
    return cal_of, targets
