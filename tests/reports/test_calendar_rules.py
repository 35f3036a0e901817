"""A report states its calendars' rules in words: hours, the month's public holidays with the
version of the holiday tables, transferred working days, extra closed and open days."""

from __future__ import annotations

from datetime import date

import holidays

import sla
from reports.calendar_rules import describe_calendar


def test_a_month_with_a_transferred_working_day_names_it_and_every_exception():
    cal = sla.Calendar.business_hours(
        "Europe/Minsk", {d: "09:00-18:00" for d in range(5)},
        country="BY", closed_days=[date(2026, 4, 30)],
        open_days={date(2026, 4, 26): "10:00-14:00"},
        name="minsk-office",
    )
    text = describe_calendar(cal, date(2026, 4, 1), date(2026, 4, 30))
    assert text.startswith("minsk-office: business hours in Europe/Minsk: Mon–Fri 09:00–18:00, "
                           "Sat–Sun closed.")
    assert f"Public holidays of BY (holidays {holidays.__version__}), closed: 2026-04-05" in text
    assert "2026-04-21 Radunitsa" in text
    assert "(transferred working days), open 09:00–18:00: 2026-04-25." in text
    assert "Extra closed days: 2026-04-30." in text
    assert "Extra open days (their own hours, before any other rule): 2026-04-26 10:00–14:00." \
        in text
    assert cal.day_windows(date(2026, 4, 25)) == ((9 * 3600, 18 * 3600),)  # what the words say


def test_a_round_the_clock_calendar_is_one_sentence():
    assert describe_calendar(sla.Calendar.always(), date(2026, 4, 1), date(2026, 4, 30)) == (
        "24x7: round the clock (24×7), every day.")
