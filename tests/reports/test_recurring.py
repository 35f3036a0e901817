"""The recurring-problems table: alert names and devices that kept coming back in the month,
with their tickets, the outages they covered and the downtime, from real webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.bridge.ingest_fixtures import am_alert, am_payload, post
from tests.conftest import Api

AFTER = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _fire(api: Api, fingerprint: str, alertname: str, instance: str) -> None:
    alert = am_alert(fingerprint, {"instance": instance}, alertname=alertname)
    reply = await post(api, "prometheus", am_payload(alert))
    assert reply.status < 300, reply


async def test_a_repeated_alert_heads_the_recurring_problems(api: Api) -> None:
    await _fire(api, "f1", "DiskFull", "127.0.10.2:9100")  # acme-db
    api.clock.advance(timedelta(hours=1))
    await _fire(api, "f2", "DiskFull", "127.0.10.3:9100")  # acme-web
    api.clock.advance(timedelta(hours=1))
    await _fire(api, "f3", "DiskFull", "127.0.10.2:9100")  # acme-db again
    await _fire(api, "f4", "HighLoad", "127.0.10.2:9100")
    api.clock.set(AFTER)
    report = await api.ok("GET", "/api/v1/reports/acme/2026-10", as_="carol")
    rows = [
        (r["kind"], r["subject"], r["tickets"])
        for r in report["tables"]["recurring"]["rows"]
    ]
    assert rows[:2] == [("alert", "DiskFull", 3), ("alert", "HighLoad", 1)]
    assert ("device", "acme-db", 3) in rows and ("device", "acme-web", 1) in rows
    assert all(r["downtime"] == 0 for r in report["tables"]["recurring"]["rows"])


def test_an_alert_names_downtime_counts_each_outage_its_tickets_covered_once() -> None:
    from reports.recurring import recurring_rows

    tickets = [
        {"ticket": "INC-1", "device": "db"},
        {"ticket": "INC-2", "device": "db"},
        {"ticket": "INC-3", "device": "web"},
    ]
    names = {"INC-1": "DiskFull", "INC-2": "DiskFull", "INC-3": None}
    outages = [
        {"device": "db", "duration": 600, "tickets": "INC-1, INC-2"},
        {"device": "web", "duration": 60, "tickets": "INC-1 (on db)"},
        {"device": "web", "duration": 5, "tickets": None},
    ]
    availability = [{"device": "db", "downtime": 600}, {"device": "web", "downtime": 65},
                    {"device": "idle", "downtime": 0}]
    assert recurring_rows(tickets, names, outages, availability) == [
        {"kind": "alert", "subject": "DiskFull", "tickets": 2, "outages": 2, "downtime": 660},
        {"kind": "device", "subject": "db", "tickets": 2, "outages": 1, "downtime": 600},
        {"kind": "device", "subject": "web", "tickets": 1, "outages": 2, "downtime": 65},
    ]
