"""``slabridge report --format pdf`` prints the demo month with headless Chromium: every
figure of the JSON is in the PDF's text, and every page carries the customer, contract, month,
zone and its page number."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge import cli
from reports.html import fmt
from tests.conftest import EXAMPLE_CONFIG, TOKENS
from tests.peers.chromium import artifact_path
from tests.reports.demo import demo_store

pytestmark = pytest.mark.peers


@pytest.fixture
def printed(tmp_path: Path, cfg) -> tuple[dict, Path]:
    demo_store(tmp_path, cfg).dispose()
    out = tmp_path / "out"
    code = cli.main([
        "report", "--config", str(EXAMPLE_CONFIG), "--month", "2026-10", "--customer", "acme",
        "--format", "pdf,json", "--out", str(out), "--database-url",
        f"sqlite:///{tmp_path / 'demo.db'}",
    ])
    assert code == 0
    month = out / "acme" / "2026-10"
    return json.loads((month / "report.json").read_text()), month / "report.pdf"


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_pdf_holds_every_figure_of_the_json(printed):
    report, pdf = printed
    flat = re.sub(r"\s+", "", _text(pdf))  # table cells wrap inside narrow columns
    cells = 0
    for name, table in report["tables"].items():
        types = {c["key"]: c["type"] for c in table["columns"]}
        for row in table["rows"]:
            for key, value in row.items():
                shown = re.sub(r"\s+", "", fmt(value, types[key]))
                assert shown in flat, (name, key, shown)
                cells += 1
    assert cells > 500
    for words in report["policy"]["calendars"].values():
        assert re.sub(r"\s+", "", words) in flat


def test_every_page_has_the_header_and_its_number(printed):
    report, pdf = printed
    pages = _text(pdf).split("\f")[:-1]
    assert len(pages) >= 5
    for n, page in enumerate(pages, start=1):
        assert "SLA report — ACME Logistics sp. z o.o. · contract PL-2026-0042" in page, n
        assert "2026-10 · time zone Europe/Warsaw" in page, n
        assert f"Page {n} of {len(pages)}" in page, n
    shot = artifact_path("report-acme-2026-10-page1")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(shot)], check=True)
    assert shot.with_suffix(".png").stat().st_size > 10_000


def test_a_missing_chromium_is_a_one_line_error(tmp_path, cfg, monkeypatch, capsys):
    demo_store(tmp_path, cfg).dispose()
    monkeypatch.setenv("SLABRIDGE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    code = cli.main([
        "report", "--config", str(EXAMPLE_CONFIG), "--month", "2026-10", "--format", "pdf",
        "--out", str(tmp_path / "out"), "--database-url", f"sqlite:///{tmp_path / 'demo.db'}",
    ])
    assert code == 2
    err = capsys.readouterr().err
    assert "no-such-chromium is not an executable file" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


async def test_the_report_page_links_its_pdf_and_kept_versions_print_as_kept(api, tmp_path):
    ticket = await api.create(priority="P2", origin="phone", title="Printer on fire")
    api.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    page = await api.call("GET", "/reports/acme/2026-10", as_="carol")
    assert page.status == 200 and 'href="/reports/acme/2026-10.pdf"' in page.body
    auth = {"Authorization": f"Bearer {TOKENS['carol']}"}
    async with api.client.get("/reports/acme/2026-10.pdf", headers=auth) as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert 'filename="sla-acme-2026-10.pdf"' in resp.headers["Content-Disposition"]
        live = tmp_path / "live.pdf"
        live.write_bytes(await resp.read())
    assert ticket["id"] in _text(live) and "Printer on fire" in _text(live)

    await api.ok("POST", "/api/v1/reports/acme/2026-10/versions", 201, as_="carol")
    async with api.client.get("/api/v1/reports/acme/2026-10/versions/1.pdf", headers=auth) as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        kept = tmp_path / "kept.pdf"
        kept.write_bytes(await resp.read())
    assert ticket["id"] in _text(kept)
    missing = await api.call("GET", "/api/v1/reports/acme/2026-10/versions/7.pdf", as_="carol")
    assert missing.status == 404
    foreign = await api.call("GET", "/reports/acme/2026-10.pdf", as_="brno-portal")
    assert foreign.status == 404
