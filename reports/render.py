"""Renderings of a built report: JSON (the reference), CSV per table, and the file layout.

CSV: one file per table, header = the column keys of the JSON, values exactly as in the JSON
(durations in whole seconds, percentages 0..100, instants ISO 8601 with the UTC offset,
booleans true/false, empty for null), except text that a spreadsheet would run as a formula:
it gets a leading apostrophe (``reports.formulas``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reports.formulas import csv_text

__all__ = ["DEFAULT_FORMATS", "FORMATS", "render", "render_csv", "render_json", "write_report"]

FORMATS = ("html", "xlsx", "csv", "json", "pdf")
#: What ``slabridge report`` writes unless told: PDF needs Chromium, so it is asked for.
DEFAULT_FORMATS = ("html", "xlsx", "csv", "json")


def render_json(report: dict[str, Any]) -> bytes:
    """Compact JSON (the C encoder; indenting is 10x slower): keys in report order, UTF-8."""
    return (json.dumps(report, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_text(value)
    return value


def render_csv(report: dict[str, Any], table: str) -> bytes:
    """One table as CSV; raises KeyError naming the table when the report has none such."""
    try:
        t = report["tables"][table]
    except KeyError:
        raise KeyError(f"no table {table!r}; tables: {', '.join(report['tables'])}") from None
    keys = [c["key"] for c in t["columns"]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(keys)
    for row in t["rows"]:
        w.writerow([_csv_value(row[k]) for k in keys])
    return buf.getvalue().encode("utf-8")


def render(report: dict[str, Any], fmt: str, **options: Any) -> bytes:
    """Bytes of ``fmt`` (html, xlsx, json or pdf; CSV needs a table: use render_csv). For
    pdf, ``printer`` may pass an open :class:`reports.pdf.PdfPrinter` to reuse."""
    if fmt == "json":
        return render_json(report)
    if fmt == "html":
        from reports.html import render_html

        return render_html(report, **options).encode()
    if fmt == "xlsx":
        from reports.xlsx import render_xlsx

        return render_xlsx(report)
    if fmt == "pdf":
        from reports.pdf import render_pdf

        return render_pdf(report, options.get("printer"))
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")


def report_dir(out: Path, report: dict[str, Any]) -> Path:
    """``out/<customer>/<YYYY-MM>/``."""
    return out / report["customer"]["id"] / report["period"]["label"]


def write_report(
    report: dict[str, Any], out: Path, formats: Iterable[str], **options: Any
) -> list[Path]:
    """Write ``report.html``, ``report.xlsx``, ``report.json``, ``report.pdf`` and
    ``<table>.csv`` files under ``out/<customer>/<YYYY-MM>/``; returns the paths written.
    ``options`` go to :func:`render` (``printer`` for PDF)."""
    target = report_dir(Path(out), report)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        if fmt == "csv":
            for table in report["tables"]:
                path = target / f"{table}.csv"
                path.write_bytes(render_csv(report, table))
                written.append(path)
        else:
            path = target / f"report.{fmt}"
            path.write_bytes(render(report, fmt, **(options if fmt == "pdf" else {})))
            written.append(path)
    return written
