"""``slabridge report --desk``: the desk's internal report of the demo month over every
customer, as HTML, XLSX, JSON and PDF."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bridge import cli
from reports import build_reports
from tests.conftest import EXAMPLE_CONFIG
from tests.peers.chromium import artifact_path
from tests.reports.demo import demo_inputs, demo_store


def _report(tmp_path: Path, *extra: str) -> int:
    return cli.main([
        "report", "--config", str(EXAMPLE_CONFIG), "--month", "2026-10", "--desk",
        "--out", str(tmp_path / "out"), "--database-url", f"sqlite:///{tmp_path / 'demo.db'}",
        *extra,
    ])


@pytest.mark.peers
def test_the_desk_report_adds_up_every_customers_tickets_by_hour(tmp_path, cfg):
    engines = demo_store(tmp_path, cfg)
    try:
        customers = build_reports(demo_inputs(engines, cfg))
    finally:
        engines.dispose()
    assert _report(tmp_path, "--format", "json,html,xlsx,pdf") == 0
    month = tmp_path / "out" / "_desk" / "2026-10"
    desk = json.loads((month / "report.json").read_text())
    tickets = sum(r["overview"]["tickets"] for r in customers)
    assert desk["overview"]["tickets"] == tickets == 9
    t = desk["tables"]
    assert sum(r["total"] for r in t["workload"]["rows"]) == tickets
    assert sum(r["tickets"] for r in t["by_hour"]["rows"]) == tickets
    assert [r["customer"] for r in t["customers"]["rows"]] == ["acme", "brno-bank", "ops"]
    assert desk["workload"]["calendar"] == "warsaw-office" and desk["period"]["tz"] == (
        "Europe/Warsaw")
    # INC-000001 (acme, P1) was entered at 10:01 Warsaw time and reacted to in 8 minutes
    ten = t["by_hour"]["rows"][10]
    assert ten["tickets"] >= 1 and ten["reaction_median"] is not None
    assert "Mon–Fri 08:00–17:00" in desk["policy"]["calendars"]["warsaw-office"]
    devices = {r["subject"]: r for r in t["recurring"]["rows"] if r["kind"] == "device"}
    assert devices["acme-db"]["tickets"] == 2 and devices["acme-db"]["downtime"] == 10500

    html = (month / "report.html").read_text()
    assert 'data-table="workload"' in html and "<svg" in html and "by_hour" in html
    wb = load_workbook(io.BytesIO((month / "report.xlsx").read_bytes()))
    assert {"Workload", "By hour of entry", "Customers", "Recurring problems"} <= set(
        wb.sheetnames)
    pdf = month / "report.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")[:-1]
    assert all("Service desk — all customers" in p and "2026-10 · time zone Europe/Warsaw" in p
               for p in pages)
    shot = artifact_path("desk-2026-10-page1")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(shot)], check=True)


def test_bad_desk_requests_exit_2_with_one_line(tmp_path, cfg, capsys):
    demo_store(tmp_path, cfg).dispose()
    assert _report(tmp_path, "--calendar", "nope") == 2
    assert "unknown calendar 'nope' (known: always, warsaw-office, prague-office)" in (
        capsys.readouterr().err)
    assert _report(tmp_path, "--customer", "acme") == 2
    assert "--desk covers every customer" in capsys.readouterr().err
