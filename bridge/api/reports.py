"""Monthly SLA report pages and downloads for account managers (and admins, engineers, and
customers for their own customer only).

People sign in with their account (bridge.web.login); machines send ``Authorization:
Bearer``. Without either an HTML page redirects to ``/login``; the JSON and download routes
answer 401. A customer asking for another customer's report gets 404 (ids do not leak).
Reports are computed on request, in a worker thread, as of the service clock.
"""

from __future__ import annotations

import asyncio
from html import escape
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bridge import reporting
from bridge.api import openapi
from bridge.api.auth import Principal
from bridge.api.errors import ApiError
from bridge.api.sla import POLICIES
from bridge.api.tickets import SERVICES
from bridge.config import Role
from bridge.web.identity import caller
from reports import render, render_csv
from reports.pdf import PdfUnavailable

ROLES = (Role.ADMIN, Role.ACCOUNT_MANAGER, Role.ENGINEER, Role.CUSTOMER)
_MONTH = r"{month:\d{4}-\d{2}}"

_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:14px/1.4 Arial,sans-serif;max-width:960px;margin:24px auto;padding:0 16px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccd;padding:4px 8px;text-align:left}}
.error{{color:#c0392b}}input{{font-size:14px;padding:4px}}</style></head><body>{body}</body></html>"""


async def _who(request: web.Request, *, page: bool) -> Principal:
    """The caller; a page without a session redirects to /login, other routes 401/403."""
    return await caller(request, *ROLES, page=page)


def _customer(request: web.Request, who: Principal) -> str:
    customer = request.match_info["customer"]
    cfg = request.app[SERVICES].cfg
    if cfg.customer(customer) is None or not who.sees_customer(customer):
        raise ApiError(404, "no such customer")
    return customer


async def _report(request: web.Request, *, page: bool) -> tuple[Principal, dict[str, Any]]:
    who = await _who(request, page=page)
    customer = _customer(request, who)
    month = request.match_info["month"]
    svc = request.app[SERVICES]
    now = svc.now()
    policies = request.app[POLICIES]
    try:
        reporting.parse_month(month)
        reporting.month_of(svc.cfg, customer, month, now)
    except reporting.ReportError as err:
        status = 400 if "is not a month" in str(err) else 404
        raise ApiError(status, str(err)) from None

    def build() -> dict[str, Any]:
        return reporting.build(svc.engines.read, svc.cfg, [customer], month, now, policies)[0]

    return who, (await asyncio.to_thread(build))


def _filename(report: dict[str, Any], ext: str) -> str:
    return f"sla-{report['customer']['id']}-{report['period']['label']}.{ext}"


async def report_page(request: web.Request) -> web.Response:
    _who_, report = await _report(request, page=True)
    base = f"/reports/{report['customer']['id']}/{report['period']['label']}"
    links = {"PDF": f"{base}.pdf", "Excel (XLSX)": f"{base}.xlsx"}
    for table in report["tables"]:
        links[f"{table}.csv"] = f"{base}.csv?table={table}"
    links["JSON"] = f"/api/v1/reports/{report['customer']['id']}/{report['period']['label']}"
    links["All reports"] = "/reports"
    html = await asyncio.to_thread(lambda: render(report, "html", links=links))
    return web.Response(body=html, content_type="text/html", charset="utf-8")


async def report_xlsx(request: web.Request) -> web.Response:
    _, report = await _report(request, page=False)
    body = await asyncio.to_thread(lambda: render(report, "xlsx"))
    return web.Response(
        body=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'},
    )


async def pdf_response(report: dict[str, Any]) -> web.Response:
    """The report printed as a PDF attachment; 503 naming what to install without Chromium."""
    try:
        body = await asyncio.to_thread(lambda: render(report, "pdf"))
    except PdfUnavailable as err:
        raise ApiError(503, str(err)) from None
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "pdf")}"'},
    )


async def report_pdf(request: web.Request) -> web.Response:
    _, report = await _report(request, page=False)
    return await pdf_response(report)


async def report_csv(request: web.Request) -> web.Response:
    _, report = await _report(request, page=False)
    table = request.query.get("table", "tickets")
    if table not in report["tables"]:
        raise ApiError(400, f"no table '{table}'; tables: {', '.join(report['tables'])}")
    name = f"sla-{report['customer']['id']}-{report['period']['label']}-{table}.csv"
    return web.Response(
        body=render_csv(report, table),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def report_json(request: web.Request) -> web.Response:
    _, report = await _report(request, page=False)
    return web.json_response(report)


async def report_index(request: web.Request) -> web.Response:
    who = await _who(request, page=True)
    svc = request.app[SERVICES]
    now = svc.now()
    rows = []
    for c in svc.cfg.customers:
        if not who.sees_customer(c.id):
            continue
        months = reporting.recent_months(svc.cfg, c.id, now)
        links = " ".join(
            f'<a href="/reports/{quote(c.id)}/{m}">{m}</a>' for m in months
        )
        rows.append(
            f"<tr data-customer='{escape(c.id)}'><td>{escape(c.name)}<br><small>"
            f"{escape(c.id)} · {escape(c.contract)} · {escape(c.timezone)}</small></td>"
            f"<td>{links}</td></tr>"
        )
    body = (
        f"<h1>Monthly SLA reports</h1><p>Signed in as {escape(who.name)} "
        f"({who.role.value}). Months are cut in each customer's time zone; the current month "
        f"runs up to now.</p><table><thead><tr><th>Customer</th><th>Month</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p><a href='/'>Home</a></p>"
    )
    return web.Response(
        text=_PAGE.format(title="SLA reports", body=body), content_type="text/html"
    )


def add_routes(app: web.Application) -> None:
    """Report pages, downloads and the JSON API (sign-in: bridge.web.login)."""
    app.router.add_get("/reports", report_index)
    app.router.add_get("/reports/{customer}/" + _MONTH + ".xlsx", report_xlsx)
    app.router.add_get("/reports/{customer}/" + _MONTH + ".csv", report_csv)
    app.router.add_get("/reports/{customer}/" + _MONTH + ".pdf", report_pdf)
    app.router.add_get("/reports/{customer}/" + _MONTH, report_page)
    app.router.add_get("/api/v1/reports/{customer}/" + _MONTH, report_json)


_PARAMS = [
    {"name": "customer", "in": "path", "required": True, "schema": {"type": "string"},
     "example": "acme"},
    {"name": "month", "in": "path", "required": True,
     "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, "example": "2026-10"},
]
_RESP = {
    "400": {"description": "not a month such as 2026-10"},
    "401": {"description": "not signed in, or a missing or unknown bearer token"},
    "403": {"description": "role not allowed"},
    "404": {"description": "no such customer (or not yours), or a month not started yet"},
}

openapi.register(
    {
        "/api/v1/reports/{customer}/{month}": {
            "get": {
                "summary": "A customer's monthly SLA report as JSON (the reference figures)",
                "parameters": _PARAMS,
                "responses": {"200": {"description": "the report",
                                      "content": {"application/json": {}}}, **_RESP},
            }
        },
        "/reports/{customer}/{month}.xlsx": {
            "get": {
                "summary": "The report as an Excel workbook",
                "parameters": _PARAMS,
                "responses": {"200": {"description": "XLSX"}, **_RESP},
            }
        },
        "/reports/{customer}/{month}.pdf": {
            "get": {
                "summary": "The report as an A4 PDF (printed by headless Chromium)",
                "parameters": _PARAMS,
                "responses": {"200": {"description": "PDF"}, **_RESP,
                              "503": {"description": "no Chromium to print with"}},
            }
        },
        "/reports/{customer}/{month}.csv": {
            "get": {
                "summary": "One table of the report as CSV (?table=tickets, availability, ...)",
                "parameters": [*_PARAMS, {"name": "table", "in": "query", "required": False,
                                          "schema": {"type": "string"}}],
                "responses": {"200": {"description": "CSV"}, **_RESP},
            }
        },
        "/reports/{customer}/{month}": {
            "get": {
                "summary": "The report page (HTML; redirects to /login without a token)",
                "parameters": _PARAMS,
                "responses": {"200": {"description": "HTML"}, "303": {"description": "login"}},
            }
        },
        "/reports": {
            "get": {"summary": "Customers and months (HTML)",
                    "responses": {"200": {"description": "HTML"}}}
        },
    }
)
