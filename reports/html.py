"""Self-contained HTML of a report (Jinja2): inline CSS, inline SVG charts, no external asset.

Prints on A4 (``@page``), each section on its own page, table headers repeated on every
page. Each table names its columns on its header cells (``data-col``) and each row its
subject (``data-row``), so tests and scripts can check the page against the JSON figure by
figure.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

__all__ = ["environment", "fmt", "render_html"]


def _hms(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@lru_cache(maxsize=65536)
def _fmt_datetime(value: str) -> str:
    dt = datetime.fromisoformat(value)
    text = dt.strftime("%Y-%m-%d %H:%M" if dt.second == 0 else "%Y-%m-%d %H:%M:%S")
    return f"{text} {dt.strftime('%z')[:3]}:{dt.strftime('%z')[3:]}"


def fmt(value: Any, kind: str) -> str:
    """A value of a column type as shown on the page (and in the browser test)."""
    if value is None:
        return "—"
    if kind == "seconds":
        return _hms(value)
    if kind == "pct":
        return f"{value:.3f} %"
    if kind == "datetime":
        return _fmt_datetime(value)
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "number":
        return f"{value:.2f}"
    return str(value)


def _cell_class(value: Any, col: dict[str, str]) -> str:
    """``b`` (bad: breached, not met, a gap) or ``n`` (a number, right-aligned)."""
    key = col["key"]
    if value is False and key in ("met", "covered"):
        return "b"
    if value == "breached" or (key == "note" and value):
        return "b"
    if col["type"] in ("int", "seconds", "pct", "number"):
        return "n"
    return ""


def table_html(table: dict[str, Any], name: str, keys: list[str] | None = None,
               id_col: str | None = None) -> Markup:
    """A report table as HTML, built in Python: ten times faster than a Jinja macro for the
    thousands of cells of a big month. Column keys are on the header cells (``data-col``);
    body cells hold only the shown text, so a month of 100 tickets stays a small page (the
    JSON route has the raw values)."""
    cols = table["columns"] if keys is None else [c for c in table["columns"] if c["key"] in keys]
    if not table["rows"]:
        return Markup('<p class="empty">None this month.</p>')
    num = ("int", "seconds", "pct", "number")
    out = [f'<table data-table="{escape(name)}"><thead><tr>']
    out += [f'<th data-col="{c["key"]}"{_NUM if c["type"] in num else ""}>'
            f'{escape(c["label"])}</th>' for c in cols]
    out.append("</tr></thead><tbody>")
    # the cell of each distinct (column, type, value) once per table
    seen: dict[tuple, str] = {}
    for row in table["rows"]:
        out.append(f'<tr data-row="{escape(str(row[id_col]))}">' if id_col else "<tr>")
        for c in cols:
            key = c["key"]
            v = row[key]
            memo = (key, type(v), v if type(v) is not float else repr(v))  # -0.0, nan
            cell = seen.get(memo)
            if cell is None:
                css = _cell_class(v, c)
                attr = f' class="{css}"' if css else ""
                # end tags of cells and rows are optional in HTML: a tenth of a big page
                cell = seen[memo] = f"<td{attr}>{escape(fmt(v, c['type']))}"
            out.append(cell)
    out.append("</tbody></table>")
    return Markup("".join(out))


_NUM = ' class="n"'


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string for a ``<style>`` block: every character outside
    plain letters, digits and spaces is a CSS escape, so no text closes the string or the
    style element."""
    out = "".join(
        ch if ch.isalnum() and ch.isascii() or ch in " .,:·—-" else f"\\{ord(ch):x} "
        for ch in str(text)
    )
    return Markup(f'"{out}"')


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["hms"] = _hms
    env.filters["css_string"] = css_string
    env.globals["table_html"] = table_html
    return env


def render_html(
    report: dict[str, Any],
    *,
    links: dict[str, str] | None = None,
    with_charts: bool = True,
) -> str:
    """The report page; ``links`` (label → URL) adds a download bar (the web page uses it)."""
    from reports.charts import charts

    template = "desk.html.j2" if report.get("report") == "desk-workload" else "report.html.j2"
    return environment().get_template(template).render(
        r=report,
        t=report["tables"],
        charts=charts(report) if with_charts else {},
        links=links or {},
    )
