"""``slabridge report``: monthly SLA reports of one or every customer, as files.

Writes ``OUT/<customer>/<YYYY-MM>/report.{html,xlsx,json,pdf}`` and ``<table>.csv``. The month
is cut in each customer's zone; figures are as of min(month end, now). A bad --month or
--customer exits 2 with a one-line message. ``--desk`` writes the desk's internal report over
every customer instead, to ``OUT/_desk/<YYYY-MM>/``. Over several customers a progress bar goes to
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bridge.reporting import ReportError, desk_calendar, desk_month, load_input, month_of
from bridge.sla_live import Policies
from reports import DEFAULT_FORMATS, FORMATS, build_reports, write_report
from reports.desk import build_desk_report
from reports.pdf import PdfPrinter, PdfUnavailable, chromium_path

EXIT_USAGE = 2


def _formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ReportError(
            f"unknown format '{(bad or [text])[0]}'; formats: {', '.join(FORMATS)}"
        )
    return formats


class Progress:
    """``[#####.....] 3/10 acme`` on stderr, redrawn in place on a terminal."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.stream, self.width, self.done = total, stream, width, 0
        self.tty = stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        filled = self.width * self.done // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        end = "" if self.tty and self.done < self.total else "\n"
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}[{bar}] {self.done}/{self.total} {label}{end}")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from bridge.cli import _load, _open_store

    cfg = _load(args.config)
    now = datetime.now(UTC)
    try:
        formats = _formats(args.format)
        if args.customer and cfg.customer(args.customer) is None:
            known = ", ".join(c.id for c in cfg.customers)
            raise ReportError(f"unknown customer '{args.customer}' (known: {known})")
        customers = [args.customer] if args.customer else [c.id for c in cfg.customers]
        periods = [month_of(cfg, c, args.month, now) for c in customers]
        if args.desk:
            if args.customer:
                raise ReportError("--desk covers every customer; leave out --customer")
            calendar = desk_calendar(cfg, args.calendar)
            month = desk_month(calendar, args.month, now)
        if "pdf" in formats:
            chromium_path()
    except (ReportError, PdfUnavailable) as err:
        print(f"slabridge report: {err}", file=sys.stderr)
        return EXIT_USAGE
    engines = _open_store(args)
    policies = Policies.from_config(cfg)
    out = Path(args.out)
    progress = Progress(len(customers)) if len(customers) > 1 else None
    try:
        with engines.read.connect() as conn:
            inputs = [
                load_input(conn, cfg, c, p, policies)
                for c, p in zip(customers, periods, strict=True)
            ]
        reports = build_reports(inputs)
        if args.desk:
            progress = None
            reports = [build_desk_report(reports, calendar, month, now)]
        with contextlib.ExitStack() as stack:
            printer = stack.enter_context(PdfPrinter()) if "pdf" in formats else None
            for report in reports:
                paths = write_report(report, out, formats, printer=printer)
                if progress:
                    progress.step(report["customer"]["id"])
                if not progress or args.verbose:
                    for path in paths:
                        print(path)
    finally:
        engines.dispose()
    if progress:
        print(f"{len(reports)} reports for {args.month} in {out}/<customer>/{args.month}/")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report`` to the ``slabridge`` command."""
    from bridge.cli import _store_args

    p = subparsers.add_parser(
        "report", help="write monthly SLA reports (HTML, XLSX, CSV, JSON, PDF)"
    )
    p.add_argument("--config", required=True)
    p.add_argument("--month", required=True, help="YYYY-MM, cut in each customer's time zone")
    p.add_argument("--customer", help="one customer id (default: every customer)")
    p.add_argument(
        "--desk", action="store_true",
        help="the desk's internal report over every customer (workload per hour of the week, "
        "SLA by hour of entry) in OUT/_desk/<YYYY-MM>/",
    )
    p.add_argument("--calendar", help="with --desk: the calendar whose zone and opening hours "
                   "frame it (default: the first business calendar)")
    p.add_argument(
        "--format", default=",".join(DEFAULT_FORMATS),
        help=f"comma list of {','.join(FORMATS)} (default {','.join(DEFAULT_FORMATS)}; "
        "pdf needs Chromium)",
    )
    p.add_argument("--out", required=True, help="directory; files go to OUT/<customer>/<YYYY-MM>/")
    p.add_argument("--verbose", action="store_true", help="list every file written")
    _store_args(p)
    p.set_defaults(handler=run)
