"""Monthly SLA reports for account managers: figures from sla/, rendered as HTML, XLSX, CSV,
JSON and PDF (the HTML printed by headless Chromium). Imports sla/ (and pandas, Jinja2,
matplotlib, openpyxl, playwright for PDF), nothing of bridge/.

``build_report(ReportInput) -> dict`` is the JSON reference; ``render(report, fmt)`` gives
the bytes of one format; ``write_report(report, out_dir, formats)`` writes files.
"""

from reports.builder import build_report, build_reports
from reports.model import (
    CustomerInfo,
    DeviceInfo,
    ReportInput,
    ReportPeriod,
    TicketInfo,
)
from reports.render import DEFAULT_FORMATS, FORMATS, render, render_csv, write_report
from reports.tables import DEFINITIONS, TABLES

__all__ = [
    "DEFAULT_FORMATS",
    "DEFINITIONS",
    "FORMATS",
    "TABLES",
    "CustomerInfo",
    "DeviceInfo",
    "ReportInput",
    "ReportPeriod",
    "TicketInfo",
    "build_report",
    "build_reports",
    "render",
    "render_csv",
    "write_report",
]
