"""An account manager reads a monthly report in real headless Chromium, against a real
``slabridge serve`` subprocess on a free loopback port, with the demo month in its store.

SYNC test on purpose: the ``browser`` fixture is Playwright's sync API, which must not run
inside an event loop (see tests/peers/fixtures.py).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bridge.app import StoreOptions, open_store
from bridge.commands.demo_data import fill
from bridge.config import load_config
from reports.html import fmt
from tests.conftest import EXAMPLE_CONFIG, TOKENS
from tests.e2e.serve import serving
from tests.web.people import PASSWORD, add_people

pytestmark = pytest.mark.peers

# `slabridge serve`, with the report routes added when the app factory does not have them
# yet (a no-op once bridge/app.py wires bridge.api.reports).
LAUNCH = """
import sys
from bridge import app as app_module, cli
from bridge.api import reports
original = app_module.build_app
def build_app(*args, **kwargs):
    app = original(*args, **kwargs)
    if not any(getattr(r, "canonical", "") == "/reports" for r in app.router.resources()):
        reports.add_routes(app)
    return app
app_module.build_app = build_app
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.fixture
def server(tmp_path: Path):
    cfg = load_config(EXAMPLE_CONFIG, env={})
    data = tmp_path / "var"
    data.mkdir()
    engines = open_store(StoreOptions(f"sqlite:///{data / 'slabridge.db'}"))
    with engines.write.begin() as conn:
        fill(conn, cfg, 2026, 10)
    add_people(engines, cfg, "carol")
    engines.dispose()
    argv = [sys.executable, "-c", LAUNCH, "serve", "--config", str(EXAMPLE_CONFIG),
            "--data-dir", str(data)]
    with serving(argv, tmp_path / "serve.log") as base:
        yield base


def _json(url: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKENS['carol']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_account_manager_reads_and_downloads_a_month(browser, server, artifacts_dir, tmp_path):
    report = _json(f"{server}/api/v1/reports/acme/2026-10")
    edge = next(r for r in report["tables"]["availability"]["rows"] if r["device"] == "acme-edge")

    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/reports")
    assert "/login" in page.url  # not signed in yet: the page asks who it is
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/reports")
    page.locator("tr[data-customer='acme'] a", has_text="2026-10").click()
    page.wait_for_url(f"{server}/reports/acme/2026-10")

    assert "2026-10 · time zone Europe/Warsaw" in page.locator("#period").inner_text()
    column = 1 + [c["key"] for c in report["tables"]["availability"]["columns"]].index(
        "availability_pct")  # section 3 shows every column; headers carry data-col
    assert page.locator("#availability table[data-table='availability'] "
                        f"th:nth-child({column})").get_attribute("data-col") == "availability_pct"
    cell = page.locator(
        "#availability table[data-table='availability'] tr[data-row='acme-edge'] "
        f"td:nth-child({column})"
    )
    assert cell.inner_text() == fmt(edge["availability_pct"], "pct")
    assert cell.is_visible()
    page.screenshot(path=str(artifacts_dir / "reports-acme-2026-10.png"), full_page=True)

    with page.expect_download() as info:
        page.click("text=Excel (XLSX)")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "sla-acme-2026-10.xlsx"
    sheet = load_workbook(path)["Availability"]
    got = {row[0]: row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert got["acme-edge"] == pytest.approx(edge["availability_pct"] / 100, abs=1e-12)
    context.close()
