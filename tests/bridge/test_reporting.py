"""Report routes: who may see which report, signed-in people, downloads; on SQLite and
PostgreSQL (the demo month written through the real ticket commands)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bridge import cli, reporting
from bridge import tickets as tk
from bridge.api import reports as reports_api
from bridge.app import build_app
from bridge.commands.demo_data import fill
from bridge.store.schema import notices, outbox, tickets
from tests.bridge.ingest_fixtures import post
from tests.conftest import EXAMPLE_CONFIG, TOKENS, Api
from tests.reports.test_spreadsheet_formulas import HOSTILE, assert_xlsx_holds_text, csv_cells
from tests.web.people import add_people, sign_in

AFTER = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def rapi(cfg, engines, clock, aiohttp_client) -> Api:
    with engines.write.begin() as conn:
        fill(conn, cfg, 2026, 10)
    clock.set(AFTER)
    app = build_app(cfg, engines, clock=clock, run_scheduler=False)
    if not any(getattr(r, "canonical", "") == "/reports" for r in app.router.resources()):
        reports_api.add_routes(app)  # until the lead wires it into build_app
    client = await aiohttp_client(app)
    return Api(client, cfg, engines, clock)


@pytest.mark.parametrize("persona", ["carol", "admin", "alice", "acme-portal"])
async def test_it_serves_the_json_report_to_readers(rapi, persona):
    body = await rapi.ok("GET", "/api/v1/reports/acme/2026-10", as_=persona)
    assert body["customer"]["id"] == "acme"
    assert body["period"]["tz"] == "Europe/Warsaw"
    assert body["overview"]["tickets"] == 6


async def test_a_customer_sees_only_its_own_reports(rapi):
    reply = await rapi.call("GET", "/api/v1/reports/brno-bank/2026-10", as_="acme-portal")
    assert reply.status == 404
    reply = await rapi.call("GET", "/reports/brno-bank/2026-10.xlsx", as_="acme-portal")
    assert reply.status == 404
    index = await rapi.call("GET", "/reports", as_="acme-portal")
    assert index.status == 200
    assert "/reports/acme/2026-10" in index.body and "brno-bank" not in index.body


async def test_no_token_is_401_for_data_and_a_login_redirect_for_pages(rapi):
    assert (await rapi.call("GET", "/api/v1/reports/acme/2026-10", as_=None)).status == 401
    assert (await rapi.call("GET", "/reports/acme/2026-10.xlsx", as_=None)).status == 401
    assert (await rapi.call("GET", "/api/v1/reports/acme/2026-10", as_="nope-nope")).status == 401
    async with rapi.client.get("/reports/acme/2026-10", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"].startswith("/login?next=")


async def test_an_account_manager_may_not_write_tickets(rapi):
    reply = await rapi.call(
        "POST", "/api/v1/tickets", as_="carol", json={"customer": "acme", "title": "x"}
    )
    assert reply.status == 403


async def test_an_account_managers_session_opens_report_pages(rapi):
    add_people(rapi.engines, rapi.cfg, "carol")
    await sign_in(rapi.client, "carol")
    async with rapi.client.get("/reports/acme/2026-10") as resp:  # the client keeps cookies
        assert resp.status == 200
        page = await resp.text()
    assert "2026-10 · time zone Europe/Warsaw" in page
    assert 'href="/reports/acme/2026-10.xlsx"' in page
    async with rapi.client.get("/reports/acme/2026-10.xlsx") as resp:
        assert resp.status == 200


async def test_a_config_token_in_a_cookie_opens_nothing(rapi):
    cookies = {"slabridge_token": TOKENS["carol"], "slabridge_session": TOKENS["carol"]}
    async with rapi.client.get(
        "/reports/acme/2026-10", cookies=cookies, allow_redirects=False
    ) as resp:
        assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    async with rapi.client.get("/api/v1/reports/acme/2026-10", cookies=cookies) as resp:
        assert resp.status == 401


async def test_downloads_carry_the_json_figures(rapi):
    body = await rapi.ok("GET", "/api/v1/reports/acme/2026-10", as_="carol")
    async with rapi.client.get(
        "/reports/acme/2026-10.xlsx", headers={"Authorization": f"Bearer {TOKENS['carol']}"}
    ) as resp:
        assert resp.status == 200
        assert "attachment" in resp.headers["Content-Disposition"]
        wb = load_workbook(io.BytesIO(await resp.read()))
    values = [row[2] for row in wb["Availability"].iter_rows(min_row=2, values_only=True)]
    expected = [r["availability_pct"] for r in body["tables"]["availability"]["rows"]]
    assert values == pytest.approx([v / 100 for v in expected], abs=1e-12)
    reply = await rapi.call("GET", "/reports/acme/2026-10.csv", as_="carol",
                            params={"table": "outages"})
    assert reply.status == 200 and "a gap the desk missed" in reply.body
    reply = await rapi.call("GET", "/reports/acme/2026-10.csv", as_="carol",
                            params={"table": "nope"})
    assert reply.status == 400


async def test_bad_and_future_months(rapi):
    assert (await rapi.call("GET", "/api/v1/reports/acme/2026-13", as_="carol")).status == 400
    assert (await rapi.call("GET", "/api/v1/reports/acme/2027-01", as_="carol")).status == 404
    assert (await rapi.call("GET", "/api/v1/reports/nope/2026-10", as_="carol")).status == 404


async def test_openapi_describes_the_report_routes(rapi):
    doc = await rapi.ok("GET", "/api/v1/openapi.json", as_=None)
    assert "/api/v1/reports/{customer}/{month}" in doc["paths"]


async def _plant_formulas(rapi: Api) -> None:
    """Tickets of October whose title, assignee, comment and alert labels are formula text."""
    rapi.clock.set(datetime(2026, 10, 20, 10, 0, tzinfo=UTC))
    for i, text in enumerate(HOSTILE):
        ticket = await rapi.create(title=text)
        await rapi.assign(ticket["id"], HOSTILE[-1 - i])
        await rapi.comment(ticket["id"], text)
    reply = await post(rapi, "generic", {
        "id": "formula/1", "status": "firing", "title": "@SUM(A1)",
        "labels": {"customer": "acme", "team": "=1+1", "note": "-2+3"},
    })
    assert reply.status < 300, reply
    rapi.clock.set(AFTER)


def _assert_csv_neutralised(data: bytes) -> None:
    rows = csv_cells(data)
    header = rows[0]
    titles = [row[header.index("title")] for row in rows[1:]]
    assignees = [row[header.index("assignee")] for row in rows[1:]]
    for text in HOSTILE:
        assert "'" + text in titles and "'" + text in assignees, text
    assert not any(text in titles for text in HOSTILE)


async def test_formula_text_stays_text_in_the_downloads(rapi):
    await _plant_formulas(rapi)
    auth = {"Authorization": f"Bearer {TOKENS['carol']}"}
    async with rapi.client.get("/reports/acme/2026-10.xlsx", headers=auth) as resp:
        assert resp.status == 200
        assert_xlsx_holds_text(await resp.read(), set(HOSTILE))
    async with rapi.client.get("/reports/acme/2026-10.csv?table=tickets", headers=auth) as resp:
        assert resp.status == 200
        _assert_csv_neutralised(await resp.read())


async def test_formula_text_stays_text_in_report_files(rapi, store_url, tmp_path):
    await _plant_formulas(rapi)
    out = tmp_path / "out"
    code = cli.main([
        "report", "--config", str(EXAMPLE_CONFIG), "--month", "2026-10", "--customer", "acme",
        "--format", "xlsx,csv", "--out", str(out), "--database-url", store_url,
    ])
    assert code == 0
    month = Path(out, "acme", "2026-10")
    assert_xlsx_holds_text((month / "report.xlsx").read_bytes(), set(HOSTILE))
    _assert_csv_neutralised((month / "tickets.csv").read_bytes())


async def test_the_report_reads_ratings_and_the_first_notice_sent_from_the_store(rapi):
    """A rating given with "It works" and the outbox's first sent notice reach the report,
    read for the whole month at once (not ticket by ticket)."""
    with rapi.engines.write.begin() as conn:
        ticket = conn.execute(
            sa.select(tickets).where(tickets.c.customer_id == "acme",
                                     tickets.c.origin.in_(("probe", "monitoring")))
            .order_by(tickets.c.id).limit(1)
        ).mappings().one()  # fmt: skip
        tid, entered = ticket["id"], ticket["entered_at"]
        row = tk.load(conn, tid)
        tk.record(conn, row, "commented", entered + timedelta(hours=3), "customer:a@x.test",
                  {"text": "ok", "rating": 2, "by_customer": True,
                   "visibility": "customer"}, now=entered + timedelta(hours=3))  # fmt: skip
        nid = conn.execute(notices.insert().values(
            ticket_id=tid, seq=1, kind="opened", at=entered, created_at=entered, state="sent",
            data={})).inserted_primary_key[0]  # fmt: skip
        for n, (sent, status) in enumerate(((75, "sent"), (30, "sent"), (None, "failed"))):
            conn.execute(outbox.insert().values(
                notice_id=nid, ticket_id=tid, recipient=f"r{n}@x.test", name="R",
                language="en", message_id=f"<m{n}@x>", token=f"tok{n}", status=status,
                attempts=1, next_attempt=entered, created_at=entered,
                sent_at=None if sent is None else entered + timedelta(seconds=sent)))  # fmt: skip
    with rapi.engines.read.connect() as conn:
        inp = reporting.load_input(
            conn, rapi.cfg, "acme", reporting.month_of(rapi.cfg, "acme", "2026-10", AFTER))
    info = next(t for t in inp.tickets if t.id == tid)
    assert info.ratings == (2,) and info.first_notice_at == entered + timedelta(seconds=30)
    assert all(e.kind != "commented" for e in info.events)  # the clocks see their kinds only
    body = await rapi.ok("GET", "/api/v1/reports/acme/2026-10", as_="carol")
    key = f"{rapi.cfg.service.ticket_prefix}-{tid:06d}"
    [shown] = [r for r in body["tables"]["tickets"]["rows"] if r["ticket"] == key]
    assert (shown["rating"], shown["notice"]) == (2, 30)
    assert body["tables"]["loop"]["rows"][0]["ratings"] == 1
