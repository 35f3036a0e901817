"""Text a spreadsheet would take for a formula, and how each export keeps it text.

Titles, assignee names, device names and labels come from customers and from webhook
senders; a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as
a formula by Excel and LibreOffice when the file is opened (``=HYPERLINK(...)`` exfiltrates,
DDE runs commands). The XLSX writer stores such text as a string cell with Excel's quote
prefix, so the cell shows exactly the original text and stays text when edited; CSV has no
cell types, so the OWASP rule applies there: a leading apostrophe.
"""

from __future__ import annotations

__all__ = ["FORMULA_LEADS", "csv_text", "formula_like"]

#: Leading characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_LEADS = frozenset("=+-@\t\r")


def formula_like(text: str) -> bool:
    """True when a spreadsheet would evaluate ``text`` typed into a cell."""
    return bool(text) and text[0] in FORMULA_LEADS


def csv_text(text: str) -> str:
    """``text`` for a CSV cell: prefixed with an apostrophe when it looks like a formula."""
    return "'" + text if formula_like(text) else text
