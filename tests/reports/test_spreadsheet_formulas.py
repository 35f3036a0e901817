"""Text that a spreadsheet would run as a formula stays text in every export: the XLSX holds
it as a string cell with exactly the original text, the CSV neutralises its first character."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook

from reports import render, render_csv
from reports.formulas import csv_text, formula_like

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "acme-2026-10.json"
HOSTILE = (
    '=HYPERLINK("http://127.0.0.1/x","click")',
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
)


def hostile_report() -> dict:
    """The golden acme month with every text cell (and the customer name) replaced by formula
    text, round robin."""
    report = copy.deepcopy(json.loads(GOLDEN.read_text(encoding="utf-8")))
    report["customer"]["name"] = HOSTILE[0]
    n = 0
    for table in report["tables"].values():
        text_keys = [c["key"] for c in table["columns"] if c["type"] == "text"]
        for row in table["rows"]:
            for key in text_keys:
                row[key] = HOSTILE[n % len(HOSTILE)]
                n += 1
    assert n > 50
    return report


def assert_xlsx_holds_text(data: bytes, expected: set[str]) -> None:
    """No cell is a formula, and every expected text is a cell value exactly as written."""
    wb = load_workbook(io.BytesIO(data))
    values = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    values.add(cell.value)
    assert expected <= values, expected - values


def csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_the_rule_names_every_leading_character_that_makes_a_formula():
    assert [formula_like(t) for t in HOSTILE] == [True] * len(HOSTILE)
    assert not formula_like("") and not formula_like("Edge router =1") and not formula_like("1")
    assert csv_text("+1") == "'+1" and csv_text("plain") == "plain"


def test_the_workbook_keeps_formula_text_as_text():
    report = hostile_report()
    assert_xlsx_holds_text(render(report, "xlsx"), set(HOSTILE))


def test_every_csv_table_neutralises_formula_text():
    report = hostile_report()
    for table in report["tables"]:
        rows = csv_cells(render_csv(report, table))
        header, body = rows[0], rows[1:]
        types = {c["key"]: c["type"] for c in report["tables"][table]["columns"]}
        for row in body:
            for key, value in zip(header, row, strict=True):
                assert not formula_like(value), (table, key, value)
                if types[key] == "text":
                    assert value[1:] in HOSTILE and value[0] == "'", (table, key, value)
