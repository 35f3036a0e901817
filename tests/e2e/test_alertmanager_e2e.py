"""Real Prometheus and Alertmanager deliver to a real `slabridge serve` (all on loopback).

(a) A Prometheus rule fires on a gauge this test serves; Alertmanager posts to slabridge with
    the bearer token; a ticket opens for the device's customer; the gauge flips back and the
    resolved notification adds a recovery event.
(b) Alerts pushed into Alertmanager's API reach slabridge through a proxy that first answers 503
    without forwarding, then forwards but still answers 503 (the commit happened, the ack was
    lost): Alertmanager's byte-identical retries leave exactly one ticket with one history.

Waits are bounded polls; nothing sleeps for a fixed time to make a test pass.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.e2e import AM_TOKEN, ENGINEER, SlabridgeServer
from tests.peers.alertmanager import webhook_config
from tests.peers.ports import LOOPBACK

pytestmark = pytest.mark.peers

TIMEOUT = aiohttp.ClientTimeout(total=10)


@pytest.fixture
def slabridge() -> Iterator[SlabridgeServer]:
    with SlabridgeServer() as server:
        yield server


async def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(url, headers=headers) as r:
        assert r.status == 200, (url, r.status, await r.text())
        return await r.json()


async def tickets(server: SlabridgeServer) -> list[dict]:
    return (await get_json(server.url + "/api/v1/tickets", ENGINEER))["tickets"]


async def ticket(server: SlabridgeServer, key: str) -> dict:
    return await get_json(f"{server.url}/api/v1/tickets/{key}", ENGINEER)


async def poll(fetch: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], within: float,
               what: str) -> Any:  # fmt: skip
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: Any = None
    while loop.time() < deadline:
        last = await fetch()
        if ok(last):
            return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what}: not within {within}s; last: {last!r}")


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://{LOOPBACK}:{port}"


def am_config(url: str) -> dict[str, Any]:
    cfg = webhook_config(url, group_wait="1s", group_interval="1s", repeat_interval="1h")
    cfg["receivers"][0]["webhook_configs"][0]["http_config"] = {
        "authorization": {"type": "Bearer", "credentials": AM_TOKEN}
    }
    return cfg


@pytest.fixture
async def gauge() -> AsyncIterator[dict[str, Any]]:
    """A /metrics page on loopback: `device_down{device="acme-db"} <value>`."""
    state: dict[str, Any] = {"value": 1, "scrapes": 0}

    async def metrics(_request: web.Request) -> web.Response:
        state["scrapes"] += 1
        text = (
            "# TYPE device_down gauge\n"
            f'device_down{{device="acme-db",customer="acme"}} {state["value"]}\n'
        )
        return web.Response(text=text, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner, url = await serve(app)
    state["address"] = url.removeprefix("http://")
    try:
        yield state
    finally:
        await runner.cleanup()


RULES = """
groups:
  - name: slabridge-e2e
    rules:
      - alert: DeviceDown
        expr: device_down == 1
        for: 0s
        labels: {severity: critical}
        annotations: {summary: "Device {{ $labels.device }} is down"}
"""


async def test_prometheus_rule_opens_and_recovers_a_ticket(
    slabridge, gauge, alertmanager_factory, prometheus_factory
):
    am = alertmanager_factory(am_config(slabridge.url + "/api/v1/alerts/prometheus"))
    prom_cfg = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": "fake_devices", "static_configs": [{"targets": [gauge["address"]]}]}
        ],
    }
    prometheus_factory(prom_cfg, rule_files={"rules.yml": RULES}, alertmanagers=[am.address])

    found = await poll(lambda: tickets(slabridge), lambda ts: len(ts) >= 1, 60,
                       "a ticket from Prometheus → Alertmanager → slabridge")  # fmt: skip
    assert len(found) == 1, found
    t = found[0]
    assert (t["customer"], t["device"], t["origin"]) == ("acme", "acme-db", "monitoring")
    assert t["priority"] == "P1"
    assert t["title"] == "Device acme-db is down"

    gauge["value"] = 0
    t = await poll(lambda: ticket(slabridge, t["id"]),
                   lambda x: any(e["kind"] == "recovery" for e in x["history"]), 60,
                   "the resolved notification")  # fmt: skip
    assert [e["kind"] for e in t["history"]] == ["created", "recovery"]
    assert t["status"] == "new"  # acme: recovery: leave
    assert t["alerts"][0]["status"] == "resolved"
    assert len(await tickets(slabridge)) == 1


class FlakyProxy:
    """Answers 503 to the first `drop` deliveries without forwarding, forwards the next `lose`
    ones but still answers 503 (ack lost), then passes everything through."""

    def __init__(self, target: str, drop: int, lose: int) -> None:
        self.target = target
        self.drop = drop
        self.lose = lose
        self.log: list[tuple[str, int, str]] = []  # (what, status to AM, body sha256)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        digest = hashlib.sha256(body).hexdigest()[:16]
        n = len(self.log)
        if n < self.drop:
            self.log.append(("dropped", 503, digest))
            return web.json_response({"error": "try later"}, status=503)
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("authorization", "content-type", "user-agent")}  # fmt: skip
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            async with s.post(self.target + request.path, data=body, headers=headers) as r:
                status, text = r.status, await r.text()
        if n < self.drop + self.lose:
            self.log.append((f"forwarded {status}", 503, digest))
            return web.json_response({"error": "ack lost"}, status=503)
        self.log.append((f"forwarded {status}", status, digest))
        return web.Response(status=status, text=text, content_type="application/json")


async def test_alertmanager_retries_leave_one_ticket_with_one_history(
    slabridge, alertmanager_factory
):
    proxy = FlakyProxy(slabridge.url, drop=2, lose=2)
    app = web.Application()
    app.router.add_post("/{tail:.*}", proxy.handle)
    runner, proxy_url = await serve(app)
    try:
        am = alertmanager_factory(am_config(proxy_url + "/api/v1/alerts/prometheus"))
        starts = datetime.now(UTC).replace(microsecond=0)
        alert = {
            "labels": {"alertname": "PushDeviceDown", "device": "brno-core",
                       "severity": "critical"},
            "annotations": {"summary": "brno-core does not answer"},
            "startsAt": starts.isoformat().replace("+00:00", "Z"),
        }  # fmt: skip
        await am.async_post_alerts([alert])

        def delivered(log: list) -> bool:
            return any(status == 200 for _, status, _ in log)

        await poll(lambda: asyncio.sleep(0, proxy.log), delivered, 45, "delivery after 503s")
        firing_log = list(proxy.log)
        assert [w for w, _, _ in firing_log[:4]] == [
            "dropped",
            "dropped",
            "forwarded 200",
            "forwarded 200",
        ], firing_log
        # every retry was byte-identical
        assert len({d for _, _, d in firing_log}) == 1, firing_log
        (t,) = await tickets(slabridge)
        assert (t["customer"], t["device"], t["priority"]) == ("brno-bank", "brno-core", "P1")
        t = await ticket(slabridge, t["id"])
        assert [e["kind"] for e in t["history"]] == ["created"]
        # the three deliveries that reached slabridge: one opened, two were duplicates
        assert t["alerts"][0]["count"] == 3

        # resolve: same alert with endsAt now
        ended = datetime.now(UTC).replace(microsecond=0)
        await am.async_post_alerts([{**alert, "endsAt": ended.isoformat().replace("+00:00", "Z")}])
        t = await poll(lambda: ticket(slabridge, t["id"]),
                       lambda x: x["history"][-1]["kind"] == "recovery", 45,
                       "the resolved notification")  # fmt: skip
        assert [e["kind"] for e in t["history"]] == ["created", "recovery"]
        assert len(await tickets(slabridge)) == 1
        metrics = await _metrics_text(slabridge)
        assert 'slabridge_alerts_received_total{outcome="duplicate",source="prometheus"} 2.0' in (
            metrics
        )
    finally:
        await runner.cleanup()


async def _metrics_text(server: SlabridgeServer) -> str:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(server.url + "/metrics") as r:
        return await r.text()
