"""Benchmark: monthly reports for 1,000 customers (100,000 tickets, 10,000 devices), one month.

Prints figures only (never a test). Synthetic inputs are generated in memory (no store),
deterministically per customer, for October 2026 in Europe/Warsaw (a DST month):

* JSON: every report built in one process (SLA figures batched through sla.frames) and
  serialised; the share spent in SLA computation vs assembling/rendering;
* HTML with its three SVG charts, over a process pool (both cores), each worker building and
  rendering its own slice of customers;
* XLSX, over the same pool;
* PDF (the HTML printed by headless Chromium, one browser per worker slice), same pool.

Targets: JSON for all < 10 s; HTML < 90 s and XLSX < 90 s on 2 cores, an average HTML report
< 200 KB; PDF < 5 min; peak memory < 2 GB.
Run: ``.venv/bin/python bench/report_month.py [--scale 0.1] [--workers 2] [--skip-xlsx]
[--skip-pdf]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sla  # noqa: E402
from reports import (  # noqa: E402
    CustomerInfo,
    DeviceInfo,
    ReportInput,
    ReportPeriod,
    TicketInfo,
)
from reports.builder import assemble  # noqa: E402
from reports.figures import compute  # noqa: E402
from reports.pdf import PdfPrinter  # noqa: E402
from reports.render import render, render_json  # noqa: E402

MONTH = sla.Month(2026, 10, "Europe/Warsaw")
NOW = datetime(2026, 11, 20, tzinfo=UTC)
TICKETS_PER_CUSTOMER = 100
DEVICES_PER_CUSTOMER = 10
H = 3600


def _policy() -> sla.SlaPolicy:
    office = sla.Calendar.business_hours(
        "Europe/Warsaw", {d: "08:00-17:00" for d in range(5)}, country="PL", name="office"
    )
    always = sla.Calendar.always()
    return sla.SlaPolicy(
        {
            "P1": sla.PriorityTargets(15 * 60, 4 * H, always),
            "P2": sla.PriorityTargets(30 * 60, 8 * H, always),
            "P3": sla.PriorityTargets(2 * H, 48 * H, office),
            "P4": sla.PriorityTargets(8 * H, 120 * H, office),
        }
    )


POLICY = _policy()


def customer_input(n: int) -> ReportInput:
    """Customer ``n``'s month, the same every time."""
    rng = np.random.default_rng(n)
    start = MONTH.start
    span = MONTH.seconds
    devices = [
        DeviceInfo(f"c{n}-d{k}", f"device {k}", "", (("core",) if k < 3 else ("edge",)))
        for k in range(DEVICES_PER_CUSTOMER)
    ]
    states: dict[str, list[sla.StateInterval]] = {}
    for d in devices:
        cuts = np.sort(rng.integers(0, span, 8))
        t = start - timedelta(days=1)
        ivs = []
        for i, c in enumerate(cuts):
            at = start + timedelta(seconds=int(c))
            if at > t:
                ivs.append(sla.StateInterval(t, at, "up" if i % 2 == 0 else "down"))
                t = at + timedelta(seconds=int(rng.integers(60, 3 * H))) if i % 2 else at
        ivs.append(sla.StateInterval(t, MONTH.end, "up")) if t < MONTH.end else None
        # the "down" intervals above are short: rebuild as alternating up/down pieces
        fixed, cur = [], start - timedelta(days=1)
        for iv in ivs:
            if iv.start > cur:
                fixed.append(sla.StateInterval(cur, iv.start, "down"))
            fixed.append(sla.StateInterval(max(iv.start, cur), iv.end, iv.state))
            cur = iv.end
        states[d.id] = [iv for iv in fixed if iv.end > iv.start]
    maint_start = start + timedelta(seconds=int(rng.integers(0, span - 4 * H)))
    window = sla.MaintenanceWindow(maint_start, maint_start + timedelta(hours=2))
    maintenance = {d.id: [window] for d in devices}

    tickets = []
    prios = rng.choice(["P1", "P2", "P3", "P4"], TICKETS_PER_CUSTOMER, p=[0.1, 0.3, 0.4, 0.2])
    for k in range(TICKETS_PER_CUSTOMER):
        t0 = start + timedelta(seconds=int(rng.integers(0, span - H)))
        steps = np.cumsum(rng.integers(60, 6 * H, 7))
        at = [t0 + timedelta(seconds=int(s)) for s in steps]
        ev = [sla.ClockEvent(t0, 1, "created", {"priority": str(prios[k]), "status": "new"})]
        ev.append(sla.ClockEvent(at[0], 2, "assigned", {"assignee": f"eng{k % 7}"}))
        ev.append(sla.ClockEvent(at[0], 3, "status_changed", {"from": "new", "to": "in_progress"}))
        seq = 4
        if k % 3 == 0:
            ev.append(sla.ClockEvent(at[1], seq, "status_changed",
                                     {"from": "in_progress", "to": "waiting"}))
            ev.append(sla.ClockEvent(at[2], seq + 1, "status_changed",
                                     {"from": "waiting", "to": "in_progress"}))
            seq += 2
        if k % 10 == 0:
            ev.append(sla.ClockEvent(at[2], seq, "priority_changed",
                                     {"from": str(prios[k]), "to": "P2"}))
            seq += 1
        if k % 11 != 0:  # a few stay open
            ev.append(sla.ClockEvent(at[3], seq, "status_changed",
                                     {"from": "in_progress", "to": "resolved"}))
            ev.append(sla.ClockEvent(at[4], seq + 1, "status_changed",
                                     {"from": "resolved", "to": "closed"}))
        tickets.append(
            TicketInfo(k + 1, f"synthetic ticket {k}", devices[k % len(devices)].id,
                       "probe" if k % 2 else "customer", tuple(ev))
        )
    return ReportInput(
        customer=CustomerInfo(f"c{n}", f"Customer {n}", f"CT-{n:05d}", MONTH.tz),
        period=ReportPeriod.of(MONTH, NOW),
        policy_name="gold",
        policy=POLICY,
        availability_target_pct=99.5,
        availability_policy=sla.AvailabilityPolicy(),
        ticket_prefix="INC",
        devices=devices,
        tickets=tickets,
        states=states,
        maintenance=maintenance,
    )


def _maxrss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _render_slice(args: tuple[int, int, str]) -> tuple[float, float, float, int]:
    """Build and render customers [lo, hi) in one worker: (sla s, assemble s, render s, bytes)."""
    lo, hi, fmt = args
    inputs = [customer_input(n) for n in range(lo, hi)]
    t0 = time.perf_counter()
    figs = compute(inputs)
    t1 = time.perf_counter()
    reports = assemble(inputs, figs)
    t2 = time.perf_counter()
    if fmt == "pdf":
        with PdfPrinter() as printer:
            size = sum(len(render(r, fmt, printer=printer)) for r in reports)
    else:
        size = sum(len(render(r, fmt)) for r in reports)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, size


def _pool(customers: int, workers: int, fmt: str, chunk: int = 25) -> None:
    slices = [(lo, min(lo + chunk, customers), fmt) for lo in range(0, customers, chunk)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_render_slice, slices))
    wall = time.perf_counter() - t0
    sla_s, asm_s, rnd_s = (sum(p[i] for p in parts) for i in range(3))
    size = sum(p[3] for p in parts)
    busy = sla_s + asm_s + rnd_s
    print(f"{fmt.upper():5} all {customers:,} customers, {workers} workers: {wall:7.2f} s wall "
          f"({size / 2**20:,.0f} MiB written, {size / customers / 1024:,.0f} KB per report); "
          f"worker time {busy:.1f} s = SLA "
          f"{sla_s / busy:.0%}, assembling {asm_s / busy:.0%}, rendering {rnd_s / busy:.0%} "
          "(input generation excluded)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="share of the 1,000 customers")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--skip-xlsx", action="store_true")
    p.add_argument("--skip-pdf", action="store_true")
    args = p.parse_args()
    customers = max(1, round(1000 * args.scale))

    t0 = time.perf_counter()
    inputs = [customer_input(n) for n in range(customers)]
    gen = time.perf_counter() - t0
    n_tickets = sum(len(i.tickets) for i in inputs)
    n_events = sum(len(t.events) for i in inputs for t in i.tickets)
    n_devices = sum(len(i.devices) for i in inputs)
    n_ivs = sum(len(v) for i in inputs for v in i.states.values())
    print(f"month {MONTH.label} {MONTH.tz}; {customers:,} customers, {n_tickets:,} tickets "
          f"({n_events:,} events), {n_devices:,} devices ({n_ivs:,} state intervals); "
          f"inputs generated in {gen:.1f} s (not counted)")

    t0 = time.perf_counter()
    figs = compute(inputs)
    t1 = time.perf_counter()
    reports = assemble(inputs, figs)
    t2 = time.perf_counter()
    size = sum(len(render_json(r)) for r in reports)
    t3 = time.perf_counter()
    total = t3 - t0
    print(f"JSON  all {customers:,} customers, 1 process:  {total:7.2f} s (target < 10 s); "
          f"SLA figures {t1 - t0:.2f} s ({(t1 - t0) / total:.0%}), assembling "
          f"{t2 - t1:.2f} s ({(t2 - t1) / total:.0%}), JSON encoding {t3 - t2:.2f} s "
          f"({(t3 - t2) / total:.0%}); {size / 2**20:,.0f} MiB")
    del reports, figs, inputs
    print(f"peak RSS so far (main process): {_maxrss_mib(resource.RUSAGE_SELF):,.0f} MiB")

    _pool(customers, args.workers, "html")
    if not args.skip_xlsx:
        _pool(customers, args.workers, "xlsx")
    if not args.skip_pdf:
        _pool(customers, args.workers, "pdf")
    print(f"peak RSS: main {_maxrss_mib(resource.RUSAGE_SELF):,.0f} MiB, largest worker "
          f"{_maxrss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB (target < 2 GB)")


if __name__ == "__main__":
    main()
