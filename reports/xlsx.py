"""XLSX workbook of a report (openpyxl): a "Report" sheet, then one sheet per table.

Cell types: durations are Excel time fractions (seconds / 86400) formatted ``[h]:mm:ss``
(sum them, compare them, they stay durations); percentages are fractions formatted
``0.000%``; instants are local wall-clock datetimes in the report's zone (named in each
header; Excel has no zones, so the repeated hour of a DST change shows twice); booleans are
TRUE/FALSE; text is always a string cell, never a formula (``reports.formulas``). The
header row is frozen and filterable.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.formulas import formula_like

__all__ = ["SHEET_NAMES", "render_xlsx"]

SHEET_NAMES = {
    "breaches": "Breaches",
    "priorities": "Priorities",
    "tickets": "Tickets",
    "availability": "Availability",
    "accounting": "Accounting",
    "services": "Services",
    "outages": "Outages",
    "recurring": "Recurring problems",
    "workload": "Workload",
    "by_hour": "By hour of entry",
    "customers": "Customers",
    "maintenance": "Maintenance",
    "engineers": "Engineers",
    "loop": "Customer loop",
    "explanation": "Explanation",
}
FORMATS = {
    "seconds": "[h]:mm:ss",
    "pct": "0.000%",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "int": "0",
    "number": "0.00",
}
_HEAD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="EEF1F5")


def cell_value(value: Any, kind: str) -> Any:
    """The Excel value of a JSON value of a column type."""
    if value is None:
        return None
    if kind == "seconds":
        return value / 86400
    if kind == "pct":
        return value / 100
    if kind == "datetime":
        return datetime.fromisoformat(value).replace(tzinfo=None)
    return value


def append_row(ws: Worksheet, values: Sequence[Any]) -> None:
    """Append a row; text that looks like a formula stays a quoted string cell (openpyxl
    would otherwise store ``=...`` as a live formula)."""
    ws.append(values)
    for j, value in enumerate(values, start=1):
        if isinstance(value, str) and formula_like(value):
            cell = ws.cell(row=ws.max_row, column=j)
            cell.data_type = "s"
            cell.quotePrefix = True


def render_xlsx(report: dict[str, Any]) -> bytes:
    wb = Workbook()
    info = wb.active
    info.title = "Report"
    p, c = report["period"], report["customer"]
    policy = report["policy"]
    lines = [
        ("Customer", c["name"]),
        ("Customer id", c["id"]),
        ("Contract", c["contract"]),
        ("Month", p["label"]),
        ("Time zone", p["tz"]),
        ("Period start", p["start"]),
        ("Period end", p["end"]),
        ("Figures as of", p["as_of"]),
        ("SLA policy", policy["name"]),
        *((label, policy[key]) for label, key in (
            ("Availability target %", "availability_target_pct"),
            ("Availability accounting", "accounting"),
            ("Device states", "device_states"),
        ) if key in policy),  # the desk report has no availability
        ("Units", "Durations are [h]:mm:ss (Excel time); percentages are Excel percentages; "
                  f"times are local to {p['tz']}."),
        *(("Calendar", words) for words in report["policy"]["calendars"].values()),
        ("Holiday tables", f"holidays {report['policy']['holidays_version']}"),
        *(("Definition", d) for d in report["policy"]["definitions"]),
    ]
    for row in lines:
        append_row(info, row)
    for cell in info["A"]:
        cell.font = _HEAD
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 100

    for name, table in report["tables"].items():
        ws = wb.create_sheet(SHEET_NAMES.get(name, name[:31]))
        cols = table["columns"]
        append_row(ws, [
            f"{col['label']} ({p['tz']})" if col["type"] == "datetime" else col["label"]
            for col in cols
        ])
        for cell in ws[1]:
            cell.font = _HEAD
            cell.fill = _FILL
        for row in table["rows"]:
            append_row(ws, [cell_value(row[col["key"]], col["type"]) for col in cols])
        for j, col in enumerate(cols, start=1):
            letter = get_column_letter(j)
            number_format = FORMATS.get(col["type"])
            if number_format:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = number_format
            width = 20 if col["type"] == "datetime" else max(10, min(48, len(col["label"]) + 2))
            if col["key"] in ("title", "detail", "started_by", "ended_by", "devices", "tickets"):
                width = 40
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "A2"
        if table["rows"]:
            ws.auto_filter.ref = ws.dimensions
    # Fixed document dates: the same report gives the same workbook contents.
    stamp = datetime.fromisoformat(p["as_of"]).replace(tzinfo=None)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
