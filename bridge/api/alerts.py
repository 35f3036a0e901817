"""Webhook ingest and the unrouted-alert queue.

A sender gets 2xx only once its alerts are committed, 503 when the store fails (it retries),
and a 4xx naming the problem for anything it sent wrong; nothing is stored in that case.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge.alert import Alert, ParseError
from bridge.api import openapi
from bridge.api.auth import principal
from bridge.api.errors import ApiError, decode_json, read_body, read_model
from bridge.api.tickets import SERVICES, TOKENS
from bridge.config import Role, SourceConfig
from bridge.intake import IngestResult
from bridge.intake.kept import NotKept
from bridge.intake.service import INTAKE
from bridge.metrics import METRICS
from bridge.routing import Route
from bridge.sources import get_source_type
from bridge.sources.auth import AuthError, AuthSpec, check_auth
from bridge.store import StoreError
from bridge.store.schema import alert_keys, alerts

#: alert_keys.identity / alerts.identity width; PostgreSQL refuses longer values
MAX_IDENTITY = 256


def auth_spec(source: SourceConfig) -> AuthSpec:
    a = source.auth
    kwargs: dict[str, Any] = {
        "kind": a.type,
        "token": a.token,
        "username": a.username,
        "password": a.password,
        "secret": a.secret,
        "timestamp_header": a.timestamp_header,
    }
    if a.max_age is not None:
        kwargs["max_age_seconds"] = int(a.max_age)
    return AuthSpec(**kwargs)


async def receive(request: web.Request) -> web.Response:
    started = time.perf_counter()
    svc = request.app[SERVICES]
    metrics = request.app[METRICS]
    received_at = svc.now()
    name = request.match_info["source"]
    source = svc.cfg.source(name)
    label = metrics.source_label(name)

    def count(outcome: str) -> None:
        metrics.notifications.labels(label, outcome).inc()

    if source is None:
        count("rejected-invalid")
        raise ApiError(404, f"unknown webhook source '{name}'")
    try:
        body = await read_body(request, svc.cfg.service.body_limit)
    except ApiError:
        count("rejected-invalid")
        raise
    try:
        check_auth(auth_spec(source), request.headers, body, received_at)
    except AuthError as err:
        count("rejected-auth")
        raise ApiError(401, f"sender authentication failed: {err}") from err
    try:
        payload = decode_json(body)
    except ApiError:
        count("rejected-invalid")
        raise
    kind = get_source_type(source.type)
    try:
        batch = kind.parse(payload)
    except ParseError as err:
        count("rejected-invalid")
        raise ApiError(400, "invalid payload", path=err.path, problem=err.problem) from err
    for i, alert in enumerate(batch):
        if len(alert.identity) > MAX_IDENTITY:
            count("rejected-invalid")
            if isinstance(payload, list):
                where = f"[{i}]"
            elif isinstance(payload, dict) and isinstance(payload.get("alerts"), list):
                where = f"alerts[{i}]"
            else:
                where = ""
            problem = f"alert identity longer than {MAX_IDENTITY} characters"
            raise ApiError(400, "invalid payload", path=where, problem=problem)
    if kind.truncated_count is not None:
        truncated = kind.truncated_count(payload)
        if truncated:
            metrics.truncated.labels(label).inc(truncated)
    try:
        result = await request.app[INTAKE].take(source, batch, received_at)
    except StoreError:
        metrics.store_errors.inc()
        raise
    count(
        "accepted"
        if result.outcomes["accepted"]
        else "unrouted"
        if result.outcomes["unrouted"]
        else "duplicate"
    )
    metrics.ingest_latency.labels(label).observe(time.perf_counter() - started)
    return web.json_response(result.as_json(svc.keys))


async def ingest_alerts(
    app: web.Application, source: SourceConfig, batch: list[Alert], received_at: Any
) -> IngestResult:
    """Kept for callers of the former entry point: `app[INTAKE].take` is the one way in."""
    return await app[INTAKE].take(source, batch, received_at)


async def list_unrouted(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    principal(request, request.app[TOKENS], Role.ADMIN, Role.ENGINEER)
    query = (
        sa.select(alert_keys)
        .where(alert_keys.c.customer_id.is_(None))
        .order_by(alert_keys.c.first_seen)
        .limit(1000)
    )

    def run(conn: sa.Connection) -> list[dict]:
        out = []
        for hot in conn.execute(query).mappings():
            last = (
                conn.execute(
                    sa.select(alerts.c.title, alerts.c.severity, alerts.c.labels)
                    .where(alerts.c.source == hot["source"], alerts.c.identity == hot["identity"])
                    .order_by(alerts.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            out.append(
                {
                    "source": hot["source"],
                    "identity": hot["identity"],
                    "status": hot["status"],
                    "first_seen": hot["first_seen"].isoformat(),
                    "last_seen": hot["last_seen"].isoformat(),
                    "count": hot["count"],
                    "title": last["title"] if last else None,
                    "severity": last["severity"] if last else None,
                    "labels": last["labels"] if last else {},
                }
            )
        return out

    return web.json_response({"alerts": await svc.read(run)})


class RouteAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Annotated[str, Field(min_length=1)]
    identity: Annotated[str, Field(min_length=1)]
    customer: Annotated[str, Field(min_length=1)]
    device: str | None = None


async def route_unrouted(request: web.Request) -> web.Response:
    """An admin routes a kept alert; its ticket's reaction clock starts at the first receipt."""
    svc = request.app[SERVICES]
    who = principal(request, request.app[TOKENS], Role.ADMIN)
    body = await read_model(request, RouteAlert)
    source = svc.cfg.source(body.source)
    if source is None:
        raise ApiError(404, f"unknown webhook source '{body.source}'")
    if svc.cfg.customer(body.customer) is None:
        raise ApiError(
            400,
            "invalid request",
            problems=[{"path": "customer", "message": f"unknown customer '{body.customer}'"}],
        )
    device = svc.cfg.device(body.device) if body.device else None
    if body.device and (device is None or device.customer != body.customer):
        raise ApiError(
            400,
            "invalid request",
            problems=[
                {"path": "device", "message": f"unknown device '{body.device}' for this customer"}
            ],
        )
    route = Route(body.customer, body.device)
    try:
        ticket_id = await request.app[INTAKE].route_kept(source, body.identity, route, by=who.name)
    except NotKept:
        raise ApiError(404, "no such unrouted alert") from None
    return web.json_response({"ticket": svc.keys.format(ticket_id)}, status=201)


openapi.register(
    {
        "/api/v1/alerts/{source}": {
            "post": {
                "summary": "Receive a webhook notification from a configured source "
                "(alertmanager, grafana, pagerduty, zabbix or generic)",
                "security": [],
                "parameters": [
                    {"name": "source", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {"required": True, "content": {"application/json": {}}},
                "responses": {
                    "200": {"description": "committed: counts of accepted, duplicate, unrouted"},
                    "400": {"description": "invalid payload; `path` names the field"},
                    "401": {"description": "sender authentication failed"},
                    "404": {"description": "unknown source"},
                    "413": {"description": "body over the configured limit"},
                    "415": {"description": "not JSON"},
                    "503": {"description": "store unavailable; retry"},
                },
            }
        },
        "/api/v1/unrouted": {
            "get": {
                "summary": "Alerts that matched no customer, kept for an admin to route",
                "responses": {"200": {"description": "the unrouted alerts"}},
            }
        },
        "/api/v1/unrouted/route": {
            "post": {
                "summary": "Route a kept alert to a customer: opens its ticket, entered at "
                "the alert's first receipt",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RouteAlert"}}
                    },
                },
                "responses": {"201": {"description": "ticket opened"}},
            }
        },
    },
    [RouteAlert],
)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/alerts/{source}", receive)
    app.router.add_get("/api/v1/unrouted", list_unrouted)
    app.router.add_post("/api/v1/unrouted/route", route_unrouted)
