"""Alertmanager webhook bodies and a sender that retries like Alertmanager does (on anything
but a 2xx, including a node's 503 while the store refused a transaction)."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from tests.nodes.cluster import AM


def body(
    fingerprint: str, alertname: str, *, customer: str = "acme", status: str = "firing"
) -> bytes:
    alert = {
        "status": status,
        "labels": {
            "alertname": alertname,
            "customer": customer,
            "severity": "warning",
            "instance": fingerprint,
        },
        "annotations": {"summary": f"{alertname} on {fingerprint}"},
        "startsAt": "2026-10-05T07:00:00Z",
        "endsAt": "2026-10-05T08:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint,
    }
    payload = {
        "receiver": "slabridge", "status": status, "alerts": [alert], "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "version": "4", "groupKey": f'{{}}:{{alertname="{alertname}"}}', "truncatedAlerts": 0,
    }  # fmt: skip
    return json.dumps(payload).encode()


#: every answer but a 2xx that `send` got (and retried), for tests to assert there were none
REFUSED: list[str] = []


async def send(session: aiohttp.ClientSession, base: str, data: bytes) -> dict:
    """POST until a 2xx answers (at most 20 tries); the reply body."""
    headers = {**AM, "Content-Type": "application/json"}
    last = ""
    for _ in range(20):
        try:
            async with session.post(
                base + "/api/v1/alerts/prometheus", data=data, headers=headers
            ) as r:
                if 200 <= r.status < 300:
                    return await r.json()
                last = f"{r.status} {await r.text()}"
                REFUSED.append(last)
        except (TimeoutError, aiohttp.ClientError) as err:
            last = repr(err)
        await asyncio.sleep(0.2)
    raise AssertionError(f"never accepted: {last}")
