"""Kept monthly reports: their versions, each frozen with its policy, and regeneration."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bridge import report_archive, reporting
from bridge.api import openapi
from bridge.api.errors import ApiError
from bridge.api.reports import _MONTH, _PARAMS, _RESP, _customer, _who, pdf_response
from bridge.api.sla import POLICIES
from bridge.api.tickets import SERVICES
from bridge.config import Role

REGENERATORS = (Role.ADMIN, Role.ACCOUNT_MANAGER)


def _version_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": row["version"],
        "generated_at": row["generated_at"].isoformat(),
        "generated_by": row["generated_by"],
        "policy_hash": row["policy_hash"],
    }


async def list_versions(request: web.Request) -> web.Response:
    who = await _who(request, page=False)
    customer = _customer(request, who)
    month = request.match_info["month"]
    svc = request.app[SERVICES]
    rows = await svc.read(lambda conn: report_archive.versions(conn, customer, month))
    return web.json_response(
        {"customer": customer, "month": month, "versions": [_version_json(r) for r in rows]}
    )


async def _kept_row(request: web.Request) -> dict[str, Any]:
    who = await _who(request, page=False)
    customer = _customer(request, who)
    month = request.match_info["month"]
    try:
        version = int(request.match_info["version"])
    except ValueError as err:
        raise ApiError(400, "version must be a whole number") from err
    svc = request.app[SERVICES]
    row = None
    if 0 <= version < 2**63:
        row = await svc.read(lambda conn: report_archive.kept(conn, customer, month, version))
    if row is None:
        raise ApiError(404, f"no kept version {version} of {customer} {month}")
    return row


async def get_version(request: web.Request) -> web.Response:
    row = await _kept_row(request)
    return web.json_response(
        {**_version_json(row), "policy": row["policy"], "report": row["report"]}
    )


async def get_version_pdf(request: web.Request) -> web.Response:
    """A kept version printed as it was kept (its own figures and policy words)."""
    row = await _kept_row(request)
    return await pdf_response(row["report"])


async def regenerate(request: web.Request) -> web.Response:
    """Compute the month again with the current policy and keep it as a new version."""
    who = await _who(request, page=False)
    if who.role not in REGENERATORS:
        raise ApiError(403, f"role {who.role.value} may not regenerate reports")
    customer = _customer(request, who)
    month = request.match_info["month"]
    svc = request.app[SERVICES]
    now = svc.now()
    try:
        reporting.month_of(svc.cfg, customer, month, now)
    except reporting.ReportError as err:
        raise ApiError(400 if "is not a month" in str(err) else 404, str(err)) from None
    policies = request.app[POLICIES]
    report = await asyncio.to_thread(
        lambda: reporting.build(svc.engines.read, svc.cfg, [customer], month, now, policies)[0]
    )
    row = await svc.write(
        lambda conn: report_archive.keep(
            conn, svc.cfg, customer, month, report, now=now, actor=who.name
        )
    )
    return web.json_response(_version_json(row), status=201)


openapi.register(
    {
        "/api/v1/reports/{customer}/{month}/versions": {
            "get": {
                "summary": "Kept versions of a customer's monthly report (generated on the "
                "report day, or regenerated), each with the hash of its policy",
                "parameters": _PARAMS,
                "responses": {"200": {"description": "the versions"}, **_RESP},
            },
            "post": {
                "summary": "Regenerate the month with the current policy and keep it as a new "
                "version (admin, account_manager)",
                "parameters": _PARAMS,
                "responses": {"201": {"description": "the new version"}, **_RESP},
            },
        },
        "/api/v1/reports/{customer}/{month}/versions/{version}": {
            "get": {
                "summary": "One kept version: the report as generated and its policy",
                "parameters": [
                    *_PARAMS,
                    {
                        "name": "version",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    },
                ],
                "responses": {"200": {"description": "the kept report"}, **_RESP},
            }
        },
        "/api/v1/reports/{customer}/{month}/versions/{version}.pdf": {
            "get": {
                "summary": "One kept version as an A4 PDF, with the figures and policy it was "
                "kept with",
                "parameters": [
                    *_PARAMS,
                    {"name": "version", "in": "path", "required": True,
                     "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "PDF"}, **_RESP,
                              "503": {"description": "no Chromium to print with"}},
            }
        },
    }
)


def add_routes(app: web.Application) -> None:
    base = "/api/v1/reports/{customer}/" + _MONTH + "/versions"
    app.router.add_get(base, list_versions)
    app.router.add_post(base, regenerate)
    app.router.add_get(base + r"/{version:\d+}.pdf", get_version_pdf)
    app.router.add_get(base + "/{version}", get_version)
