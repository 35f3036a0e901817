"""HTML, XLSX, CSV and JSON of the same month agree figure by figure."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from reports import build_reports, render, render_csv
from reports.html import fmt
from reports.xlsx import SHEET_NAMES, cell_value
from tests.reports.demo import demo_inputs, demo_store


class Cells(HTMLParser):
    """Every table[data-table] of the page: its columns (``th[data-col]``) and rows of
    (column, shown text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[str], list[list[tuple[str, str]]]]] = []
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-table" in a:
            self.tables.append((a["data-table"], [], []))
        elif tag == "th" and "data-col" in a and self.tables:
            self.tables[-1][1].append(a["data-col"])
        elif tag == "tr" and self.tables:
            self._close()
            self.tables[-1][2].append([])
        elif tag == "td" and self.tables:
            self._close()
            cols, row = self.tables[-1][1], self.tables[-1][2][-1]
            self._cell = [cols[len(row)], ""]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag in ("td", "tr", "tbody", "table"):  # cell and row end tags are optional
            self._close()

    def _close(self):
        if self._cell is not None:
            self.tables[-1][2][-1].append(tuple(self._cell))
            self._cell = None


@pytest.fixture
def report(tmp_path, cfg):
    engines = demo_store(tmp_path, cfg)
    try:
        return build_reports(demo_inputs(engines, cfg)[:1])[0]
    finally:
        engines.dispose()


def test_json_round_trips(report):
    assert json.loads(render(report, "json")) == report


def test_html_cells_show_the_json_values(report):
    parser = Cells()
    parser.feed(render(report, "html").decode())
    seen = set()
    for name, _cols, rows in parser.tables:
        table = report["tables"][name]
        types = {c["key"]: c["type"] for c in table["columns"]}
        body = [r for r in rows if r]
        assert len(body) == len(table["rows"]), name
        for got, want in zip(body, table["rows"], strict=True):
            for col, shown in got:
                assert shown == fmt(want[col], types[col]), (name, col)
        seen.add(name)
    assert seen == {n for n, t in report["tables"].items() if t["rows"]}
    assert "2026-10 · time zone Europe/Warsaw" in render(report, "html").decode()


def test_csv_tables_equal_the_json(report):
    for name, table in report["tables"].items():
        rows = list(csv.DictReader(io.StringIO(render_csv(report, name).decode())))
        assert len(rows) == len(table["rows"])
        for got, want in zip(rows, table["rows"], strict=True):
            for col in table["columns"]:
                v, k = want[col["key"]], col["key"]
                expected = "" if v is None else ("true" if v else "false") \
                    if isinstance(v, bool) else str(v)
                assert got[k] == expected, (name, k)


def test_xlsx_sheets_equal_the_json(report):
    wb = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert wb.sheetnames[0] == "Report"
    info = {r[0]: r[1] for r in wb["Report"].iter_rows(values_only=True)}
    assert info["Month"] == "2026-10" and info["Time zone"] == "Europe/Warsaw"
    for name, table in report["tables"].items():
        ws = wb[SHEET_NAMES[name]]
        assert ws.freeze_panes == "A2"
        rows = list(ws.iter_rows(min_row=2))
        assert len(rows) == len(table["rows"]), name
        for cells, want in zip(rows, table["rows"], strict=True):
            for cell, col in zip(cells, table["columns"], strict=True):
                v = want[col["key"]]
                if col["type"] == "seconds" and v is not None:
                    assert cell.number_format == "[h]:mm:ss"
                    # openpyxl reads a [h]:mm:ss cell back as a timedelta: a real duration.
                    got = cell.value
                    seconds = got.total_seconds() if isinstance(got, timedelta) else got * 86400
                    assert round(seconds) == v, (name, col["key"])
                elif col["type"] == "pct" and v is not None:
                    assert cell.number_format == "0.000%"
                    assert cell.value == pytest.approx(v / 100, abs=1e-12)
                elif col["type"] == "datetime" and v is not None:
                    assert isinstance(cell.value, datetime)
                    assert cell.value == cell_value(v, "datetime")
                else:
                    assert cell.value == v, (name, col["key"])
