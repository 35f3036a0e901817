"""Smoke tests proving each real-peer launcher works (loopback only)."""

from __future__ import annotations

import datetime as dt
import http.server
import subprocess
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from aiohttp import web

from .alertmanager import Alertmanager, webhook_config
from .chromium import chromium_argv, cli_screenshot
from .ports import LOOPBACK, free_tcp_port, free_udp_port, port_is_listening
from .postgres import PostgresCluster
from .prometheus import Prometheus
from .webhook import WebhookReceiver

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PAGE = (
    "<!doctype html><html><head><title>slabridge peer smoke</title></head>"
    "<body><h1 id='t'>SLA bridge</h1><p>served on loopback</p></body></html>"
)


# -- ports -----------------------------------------------------------------------------------
def test_free_ports_are_loopback_and_bindable() -> None:
    tcp, udp = free_tcp_port(), free_udp_port()
    assert 1024 <= tcp <= 65535 and 1024 <= udp <= 65535
    assert not port_is_listening(tcp)
    with pytest.raises(ValueError):
        free_tcp_port("0.0.0.0")


# -- PostgreSQL ------------------------------------------------------------------------------
@pytest.mark.postgres
def test_postgres_roundtrip(pg_url: str, pg_cluster: PostgresCluster) -> None:
    assert pg_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{pg_cluster.port}/test_")
    engine = sa.create_engine(pg_url)
    try:
        meta = sa.MetaData()
        incidents = sa.Table(
            "incidents", meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        )
        meta.create_all(engine)
        opened = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
        with engine.begin() as conn:
            conn.execute(incidents.insert(), [{"title": "disk full on db1", "opened_at": opened}])
        with engine.connect() as conn:
            row = conn.execute(sa.select(incidents.c.title, incidents.c.opened_at)).one()
            server = conn.execute(sa.text("select inet_server_addr()::text")).scalar()
        assert row.title == "disk full on db1"
        assert row.opened_at == opened
        assert server.split("/")[0] == LOOPBACK
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_each_test_gets_a_fresh_database(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# -- Prometheus ------------------------------------------------------------------------------
@pytest.mark.peers
def test_prometheus_ready_and_scraping_itself(prometheus: Prometheus) -> None:
    target = prometheus.wait_for_target_up("prometheus", timeout=30)
    assert target["scrapeUrl"] == f"http://127.0.0.1:{prometheus.port}/metrics"
    up = prometheus.wait_for(lambda: prometheus.query('up{job="prometheus"}'), timeout=10,
                             what="up series")
    assert [s["value"][1] for s in up] == ["1"]


@pytest.mark.peers
def test_promtool_checks_rules(promtool: str, tmp_path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n"
    )
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up ==\n")
    ok = subprocess.run([promtool, "check", "rules", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ko = subprocess.run([promtool, "check", "rules", str(bad)], capture_output=True, text=True)
    assert ko.returncode != 0


# -- Alertmanager ----------------------------------------------------------------------------
@pytest.mark.peers
async def test_alertmanager_delivers_posted_alert_to_webhook(
    alertmanager_factory, webhook_receiver: WebhookReceiver
) -> None:
    am: Alertmanager = alertmanager_factory(webhook_config(webhook_receiver.url))
    now = dt.datetime.now(dt.UTC)
    alert = {
        "labels": {"alertname": "DiskFull", "instance": "db1", "severity": "critical"},
        "annotations": {"summary": "disk full on db1"},
        "startsAt": now.isoformat(),
    }
    await am.async_post_alerts([alert])
    payloads = await webhook_receiver.wait_for(timeout_s=20)
    first = payloads[0]
    assert first["status"] == "firing"
    assert first["receiver"] == "webhook"
    assert first["alerts"][0]["labels"]["alertname"] == "DiskFull"
    assert first["alerts"][0]["annotations"]["summary"] == "disk full on db1"

    # Resolve it: endsAt in the past -> a "resolved" notification (send_resolved: true).
    alert["endsAt"] = dt.datetime.now(dt.UTC).isoformat()
    await am.async_post_alerts([alert])
    await webhook_receiver.wait_for(
        lambda ps: any(p["status"] == "resolved" for p in ps), timeout_s=20
    )


@pytest.mark.peers
async def test_prometheus_rule_fires_through_alertmanager(
    prometheus_factory, alertmanager_factory, webhook_receiver: WebhookReceiver
) -> None:
    am = alertmanager_factory(webhook_config(webhook_receiver.url))
    rules = (
        "groups:\n- name: smoke\n  interval: 1s\n  rules:\n"
        "  - alert: AlwaysFiring\n    expr: vector(1)\n    labels:\n      severity: warning\n"
    )
    prom = prometheus_factory(rule_files={"smoke.yml": rules}, alertmanagers=[am.address])
    payloads = await webhook_receiver.wait_for(
        lambda ps: any(a["labels"].get("alertname") == "AlwaysFiring"
                       for p in ps for a in p["alerts"]),
        timeout_s=30,
    )
    alert = next(a for p in payloads for a in p["alerts"])
    assert alert["generatorURL"].startswith(prom.url + "/")


# -- Chromium --------------------------------------------------------------------------------
@pytest.fixture
def static_page() -> Iterator[str]:
    body = PAGE.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, free_tcp_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.peers
def test_chromium_screenshot_with_playwright(browser, static_page: str, artifacts_dir) -> None:
    page = browser.new_page(viewport={"width": 640, "height": 360})
    try:
        page.goto(static_page, timeout=30_000)
        assert page.title() == "slabridge peer smoke"
        assert page.inner_text("#t") == "SLA bridge"
        out = artifacts_dir / "peers-chromium-playwright.png"
        out.unlink(missing_ok=True)
        page.screenshot(path=str(out))
    finally:
        page.close()
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert out.stat().st_size > 1000


@pytest.mark.peers
async def test_chromium_async_api(async_browser) -> None:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_tcp_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        page = await async_browser.new_page()
        await page.goto(f"http://{LOOPBACK}:{port}/", timeout=30_000)
        assert await page.inner_text("#t") == "SLA bridge"
        await page.close()
    finally:
        await runner.cleanup()


@pytest.mark.peers
def test_chromium_cli_screenshot(static_page: str, artifacts_dir, tmp_path) -> None:
    assert "--no-sandbox" in chromium_argv(tmp_path)
    out = artifacts_dir / "peers-chromium-cli.png"
    out.unlink(missing_ok=True)
    cli_screenshot(static_page, out, size=(640, 360))
    assert out.read_bytes().startswith(PNG_MAGIC)
