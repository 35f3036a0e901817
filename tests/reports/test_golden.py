"""The demo month's JSON reports, pinned: October 2026 in Europe/Warsaw (DST ends on the 25th),
with maintenance (device and customer-wide), an unknown gap, a pause, a reopen, a priority
change, an outage no ticket covered, and tickets still open at month end.

The golden files are tests/fixtures/golden/<customer>-2026-10.json. Regenerate them only on
purpose, after checking the diff by eye:

    SLABRIDGE_REGEN_GOLDEN=1 .venv/bin/pytest tests/reports/test_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reports import build_reports
from reports.calendar_rules import HOLIDAYS_VERSION
from tests.reports.demo import CUSTOMERS, demo_inputs, demo_store

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"


@pytest.fixture
def demo(tmp_path, cfg):
    engines = demo_store(tmp_path, cfg)
    try:
        yield demo_inputs(engines, cfg)
    finally:
        engines.dispose()


def test_demo_month_matches_the_golden_files(demo):
    regen = os.environ.get("SLABRIDGE_REGEN_GOLDEN") == "1"
    for customer, report in zip(CUSTOMERS, build_reports(demo), strict=True):
        path = GOLDEN / f"{customer}-2026-10.json"
        # The installed holiday tables' version is printed; the golden files name none.
        text = json.dumps(report, ensure_ascii=False, indent=1).replace(
            f"holidays {HOLIDAYS_VERSION}", "holidays X").replace(
            f'"holidays_version": "{HOLIDAYS_VERSION}"', '"holidays_version": "X"') + "\n"
        if regen:
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"{path} missing: run with SLABRIDGE_REGEN_GOLDEN=1"
        assert json.loads(text) == json.loads(path.read_text(encoding="utf-8")), customer


def test_it_prints_the_period_and_the_zone(demo):
    report = build_reports(demo[:1])[0]
    assert report["period"] == {
        "label": "2026-10",
        "tz": "Europe/Warsaw",
        "start": "2026-10-01T00:00:00+02:00",
        "end": "2026-11-01T00:00:00+01:00",
        "as_of": "2026-11-01T00:00:00+01:00",
        "complete": True,
        "seconds": 31 * 86400 + 3600,  # the fall-back hour makes October 745 hours
    }


def test_frames_and_scalar_engines_give_the_same_reports(demo):
    assert build_reports(demo, engine="frames") == build_reports(demo, engine="scalar")


def test_a_month_still_running_is_cut_at_now(tmp_path, cfg):
    from datetime import UTC, datetime

    engines = demo_store(tmp_path, cfg)
    try:
        now = datetime(2026, 10, 12, 10, 0, tzinfo=UTC)
        report = build_reports(demo_inputs(engines, cfg, now)[:1])[0]
    finally:
        engines.dispose()
    assert report["period"]["complete"] is False
    assert report["period"]["as_of"] == "2026-10-12T12:00:00+02:00"
    rows = {r["ticket"]: r for r in report["tables"]["tickets"]["rows"]}
    # INC-000003 was entered at 08:20 local, raised to P2 at 09:00, resolved at 18:30: at
    # 12:00 it is running with 40 min of P3 office time and 3 h of P2 time.
    assert rows["INC-000003"]["running"] is True
    assert rows["INC-000003"]["resolution"] == 40 * 60 + 3 * 3600
    assert rows["INC-000003"]["resolved"] is None
