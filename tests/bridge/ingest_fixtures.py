"""Helpers for the webhook tests: payload builders, per-source credentials, row counts, metrics.

Reuses tests/conftest.py (``api``, ``start_api``, ``make_config``, ``clock``, ``engines``); this
module only adds what the webhook tests need on top.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bridge.store import Engines
from bridge.store.schema import alert_keys, alerts, ticket_events, tickets

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = REPO / "tests" / "fixtures" / "payloads"

AM_TOKEN = "demo-alertmanager-token"
GRAFANA_SECRET = "demo-grafana-secret"
GRAFANA_TS_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
#: the routing key of the recorded PagerDuty fixtures (not in the example's map)
PD_FIXTURE_KEY = "R0UT1NGKEYFORACMECUSTOMER0000000"
#: the routing key the example config maps to acme
PD_ACME_KEY = "R0UT1NGKEYACME000000000000000001"

STARTS = "2026-10-05T06:59:00Z"
GO_ZERO = "0001-01-01T00:00:00Z"


def fixture_bytes(kind: str, name: str) -> bytes:
    return (PAYLOADS / kind / name).read_bytes()


def fixture_json(kind: str, name: str) -> Any:
    return json.loads(fixture_bytes(kind, name))


def am_alert(
    fingerprint: str,
    labels: dict[str, str] | None = None,
    *,
    status: str = "firing",
    alertname: str = "DeviceDown",
    severity: str | None = "critical",
    starts: str = STARTS,
    ends: str | None = None,
    summary: str | None = None,
) -> dict[str, Any]:
    lab = {"alertname": alertname, **(labels or {})}
    if severity is not None:
        lab.setdefault("severity", severity)
    ends_at = GO_ZERO if status == "firing" else (ends or "2026-10-05T07:30:00Z")
    return {
        "status": status,
        "labels": lab,
        "annotations": {"summary": summary or f"{alertname} {fingerprint}"},
        "startsAt": starts,
        "endsAt": ends_at,
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint,
    }


def am_payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "slabridge",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": '{}:{alertname="DeviceDown"}',
        "truncatedAlerts": 0,
    }


def encode(payload: Any) -> bytes:
    """Compact JSON plus a newline, the way Alertmanager writes its bodies."""
    return json.dumps(payload, separators=(",", ":")).encode() + b"\n"


def grafana_headers(body: bytes, at: datetime, secret: str = GRAFANA_SECRET) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    sig = hmac.new(secret.encode(), ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Grafana-Alert-Signature": sig, GRAFANA_TS_HEADER: ts}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def source_headers(source: str, body: bytes, at: datetime) -> dict[str, str]:
    """Valid credentials of each source of config/example.yaml."""
    if source == "grafana":
        return grafana_headers(body, at)
    if source == "zabbix":
        return {"Authorization": basic("zabbix", "demo-zabbix-password")}
    token = {
        "prometheus": AM_TOKEN,
        "pagerduty": "demo-pagerduty-token",
        "generic": "demo-generic-token",
    }[source]
    return {"Authorization": f"Bearer {token}"}


async def post(
    api: Any,
    source: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Any:
    """POST a webhook body (bytes as is, anything else JSON-encoded) with valid credentials
    unless `headers` is given; returns the conftest ``Reply``."""
    body = payload if isinstance(payload, bytes) else encode(payload)
    hdrs = dict(headers) if headers is not None else source_headers(source, body, api.clock.now())
    hdrs.setdefault("Content-Type", content_type)
    return await api.call("POST", f"/api/v1/alerts/{source}", as_=None, data=body, headers=hdrs)


COUNTED = (tickets, ticket_events, alerts, alert_keys)


def count_rows(engines: Engines) -> dict[str, int]:
    with engines.read.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in COUNTED
        }


async def metric(api: Any, name: str, **labels: str) -> float:
    """A sample's value as GET /metrics shows it (0.0 when absent)."""
    reply = await api.call("GET", "/metrics", as_=None)
    assert reply.status == 200, reply
    for family in text_string_to_metric_families(reply.body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
