"""PDF of a report: its own HTML printed to A4 by headless Chromium.

Why Chromium and not WeasyPrint: both print the same page (running header from ``@page``
margin boxes, page numbers, vector SVG charts, table headers repeated on every page), but on
a month of 100 tickets WeasyPrint 70 took 13.7 s per report and Chromium 1.3 s, and the
target is 1,000 customers in minutes. One browser (one page) prints many reports in a row.

Needs a Chromium binary (Debian: ``apt-get install chromium``), found as ``$SLABRIDGE_CHROMIUM``
or ``chromium``/``chromium-browser``/``google-chrome`` on the PATH, driven through the
``playwright`` package (never its own browser downloads). Without one, :class:`PdfUnavailable`
says what to install.
"""

from __future__ import annotations

import os
import shutil
from types import TracebackType
from typing import Any

__all__ = ["PdfPrinter", "PdfUnavailable", "chromium_path", "render_pdf"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
)


class PdfUnavailable(RuntimeError):
    """No Chromium (or no playwright) to print with; the message says what to install."""


def chromium_path() -> str:
    """The Chromium binary to print with; raises PdfUnavailable naming what to install."""
    configured = os.environ.get("SLABRIDGE_CHROMIUM")
    if configured:
        if not os.access(configured, os.X_OK):
            raise PdfUnavailable(f"SLABRIDGE_CHROMIUM={configured} is not an executable file")
        return configured
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfUnavailable(
        "PDF reports need Chromium: install it (Debian: apt-get install chromium) or set "
        "SLABRIDGE_CHROMIUM to its path"
    )


class PdfPrinter:
    """One headless Chromium page that prints report HTML to PDF; use as a context manager
    (sync API: call it from a thread without a running event loop)."""

    def __init__(self) -> None:
        self._pw: Any = None
        self._browser: Any = None
        self._page: Any = None

    def __enter__(self) -> PdfPrinter:
        binary = chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as err:  # pragma: no cover - a dependency of the package
            raise PdfUnavailable("PDF reports need the 'playwright' package") from err
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=binary, args=list(_FLAGS))
            self._page = self._browser.new_page()
        except Exception:
            self._pw.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            self._pw.stop()

    def print(self, html: str) -> bytes:
        """The PDF of a self-contained HTML page (its ``@page`` rules set size and margins)."""
        self._page.set_content(html, wait_until="load")
        # No tagged (accessibility) structure: it makes a 100-ticket month 11x larger.
        return self._page.pdf(prefer_css_page_size=True, print_background=True, outline=True,
                              tagged=False)


def render_pdf(report: dict[str, Any], printer: PdfPrinter | None = None) -> bytes:
    """The report as an A4 PDF: the HTML page without its download links, printed."""
    from reports.html import render_html

    html = render_html(report)
    if printer is not None:
        return printer.print(html)
    with PdfPrinter() as own:
        return own.print(html)
