"""The customer loop in the monthly report: verification per ticket, first-time fix, reopens,
satisfaction overall and per engineer, and the time to the proactive notice, in every format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

import sla
from bridge.sla_live import Policies
from reports import (
    CustomerInfo,
    ReportInput,
    ReportPeriod,
    TicketInfo,
    build_report,
    render,
    render_csv,
)
from reports.loop import ticket_loop
from reports.xlsx import SHEET_NAMES

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _log(*steps: tuple[int, str, dict]) -> tuple[sla.ClockEvent, ...]:
    """Events at T0 + minutes, numbered in order."""
    return tuple(
        sla.ClockEvent(T0 + timedelta(minutes=m), n, kind, data)
        for n, (m, kind, data) in enumerate(steps, start=1)
    )


def _st(old: str, new: str, **extra) -> dict:
    return {"from": old, "to": new, **extra}


def _resolved_by(engineer: str, *, close: str | None, reopen: bool = False, start: int = 0):
    steps = [
        (start, "created", {"priority": "P2", "status": "new"}),
        (start + 5, "assigned", {"assignee": engineer}),
        (start + 6, "status_changed", _st("new", "in_progress")),
        (start + 60, "status_changed", _st("in_progress", "resolved")),
    ]
    if reopen:
        steps += [
            (
                start + 90,
                "status_changed",
                _st("resolved", "in_progress", reason="reopened by the customer"),
            ),
            (start + 120, "status_changed", _st("in_progress", "resolved")),
        ]
    if close:
        steps.append((start + 180, "status_changed", _st("resolved", "closed", close_reason=close)))
    return _log(*steps)


@pytest.fixture
def month_input(cfg):
    customer = cfg.customer("acme")
    policy = Policies.from_config(cfg).by_customer["acme"]
    pcfg = cfg.sla_policies[customer.sla_policy]
    period = ReportPeriod.of(sla.Month(2026, 10, customer.timezone), AFTER)

    def make(tickets: list[TicketInfo]) -> ReportInput:
        return ReportInput(
            customer=CustomerInfo(customer.id, customer.name, customer.contract,
                                  customer.timezone),
            period=period, policy_name=customer.sla_policy, policy=policy,
            availability_target_pct=pcfg.availability_target,
            availability_policy=sla.AvailabilityPolicy(), ticket_prefix="INC",
            devices=[], tickets=tickets,
        )  # fmt: skip

    return make


def _loop_tickets() -> list[TicketInfo]:
    notice = T0 + timedelta(seconds=42)
    return [
        # confirmed by the customer with 5, a proactive notice 42 s after entering
        TicketInfo(
            1,
            "confirmed",
            "acme-edge",
            "probe",
            _resolved_by("=bob", close="verified"),
            ratings=(5,),
            first_notice_at=notice,
        ),
        # auto-closed, no answer; proactive, its notice 3 minutes after entering
        TicketInfo(
            2,
            "no answer",
            "acme-edge",
            "monitoring",
            _resolved_by("carol", close="no_answer", start=300),
            first_notice_at=T0 + timedelta(minutes=303),
        ),
        # still broken once, then confirmed with 4
        TicketInfo(
            3,
            "reopened",
            None,
            "portal",
            _resolved_by("carol", close="verified", reopen=True, start=600),
            ratings=(4,),
        ),
        # resolved, not yet answered nor auto-closed at the report end: pending
        TicketInfo(4, "pending", None, "portal", _resolved_by("carol", close=None, start=900)),
        # still in progress
        TicketInfo(
            5,
            "open",
            None,
            "portal",
            _log((1200, "created", {"priority": "P2", "status": "new", "assignee": "dave"})),
        ),
    ]


def test_each_ticket_has_its_verification_outcome(month_input):
    report = build_report(month_input(_loop_tickets()))
    rows = {r["title"]: r for r in report["tables"]["tickets"]["rows"]}
    assert {k: r["verification"] for k, r in rows.items()} == {
        "confirmed": "confirmed",
        "no answer": "no answer",
        "reopened": "reopened",
        "pending": "pending",
        "open": None,
    }
    assert rows["reopened"]["reopened"] == 1 and rows["reopened"]["rating"] == 4
    assert rows["confirmed"]["rating"] == 5 and rows["no answer"]["rating"] is None
    # the proactive notice per ticket: proactive tickets only
    assert rows["confirmed"]["notice"] == 42 and rows["no answer"]["notice"] == 180
    assert rows["reopened"]["notice"] is None


def test_month_figures_first_time_fix_reopens_satisfaction_and_notice(month_input):
    report = build_report(month_input(_loop_tickets()))
    (loop,) = report["tables"]["loop"]["rows"]
    assert loop["resolved"] == 4  # the open ticket was never resolved
    assert loop["first_time_fix"] == 3 and loop["first_time_fix_pct"] == 75.0
    assert loop["reopens"] == 1
    assert (loop["confirmed"], loop["no_answer"], loop["reopened"], loop["pending"]) == (1, 1, 1, 1)
    assert loop["ratings"] == 2 and loop["satisfaction"] == 4.5
    assert (loop["notices"], loop["notice_median"], loop["notice_worst"]) == (2, 42, 180)
    o = report["overview"]
    assert (o["first_time_fix_pct"], o["reopens"], o["satisfaction"], o["ratings"]) == (
        75.0,
        1,
        4.5,
        2,
    )
    assert (o["notice_median"], o["notice_worst"]) == (42, 180)


def test_satisfaction_per_engineer(month_input):
    report = build_report(month_input(_loop_tickets()))
    eng = {r["engineer"]: r for r in report["tables"]["engineers"]["rows"]}
    assert (eng["=bob"]["ratings"], eng["=bob"]["satisfaction"]) == (1, 5.0)
    assert (eng["carol"]["ratings"], eng["carol"]["satisfaction"]) == (1, 4.0)
    assert (eng["dave"]["ratings"], eng["dave"]["satisfaction"]) == (0, None)


def test_a_month_without_ratings_shows_none_not_zero(month_input):
    tickets = [TicketInfo(1, "t", None, "portal", _resolved_by("bob", close="no_answer"))]
    report = build_report(month_input(tickets))
    (loop,) = report["tables"]["loop"]["rows"]
    assert loop["ratings"] == 0 and loop["satisfaction"] is None
    assert loop["notice_median"] is None and loop["first_time_fix_pct"] == 100.0
    assert report["overview"]["satisfaction"] is None
    html = render(report, "html").decode()
    assert "Satisfaction" in html and ">0.00<" not in html
    row = next(csv.DictReader(io.StringIO(render_csv(report, "loop").decode())))
    assert row["satisfaction"] == "" and row["ratings"] == "0"
    assert json.loads(render(report, "json"))["tables"]["loop"]["rows"][0]["satisfaction"] is None


def test_every_format_carries_the_loop_and_keeps_names_text(month_input):
    report = build_report(month_input(_loop_tickets()))
    wb = load_workbook(io.BytesIO(render(report, "xlsx")))
    ws = wb[SHEET_NAMES["loop"]]
    head = [c.value for c in ws[1]]
    values = dict(zip(head, [c.value for c in ws[2]], strict=True))
    assert values["Satisfaction (mean 1-5)"] == 4.5 and values["Reopens"] == 1
    eng = wb[SHEET_NAMES["engineers"]]
    names = [row[0] for row in eng.iter_rows(min_row=2)]
    bob = next(c for c in names if c.value == "=bob")
    assert bob.data_type == "s"  # an engineer's name is never a formula
    text = render_csv(report, "engineers").decode()
    assert "'=bob" in text
    html = render(report, "html").decode()
    assert "First-time fix" in html and "75.000 %" in html and "4.50" in html


def test_a_notice_after_the_report_end_is_not_counted():
    events = _resolved_by("bob", close=None)
    later = ticket_loop(events, T0 + timedelta(minutes=70), first_notice_at=T0 + timedelta(hours=2))
    assert later.notice is None and later.verification == "pending"
