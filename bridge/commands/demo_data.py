"""``slabridge demo-data``: a realistic, deterministic month in the store, for reports.

Written through the real domain code (bridge.tickets create/assign/transition/change_priority
with explicit times) plus ``device_states`` and ``maintenance`` rows. Made for
config/example.yaml (customers acme, brno-bank, ops and their devices); customers or devices
the config lacks are skipped. It refuses to run twice for a month (the store is append-only:
tickets are never rewritten): when the store already holds tickets entered in the month for
these customers, or device states starting in it, it exits 1 and changes nothing.

The month (times local to each customer; October 2026 in Europe/Warsaw has the DST change):
proactive tickets from outages (acme-edge, brno-core), an outage during maintenance, a child
device unreachable behind its parent, an outage across the DST night with a late reaction, an
outage with no ticket (a gap the desk missed), a 4-hour unknown gap (no data), a customer-wide
maintenance window, a ticket paused for the customer, one reopened after resolution, one whose
priority is raised (and breaches), and tickets still open (waiting, unassigned) at month end.
"""

from __future__ import annotations

import argparse
import calendar as pycal
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bridge import jobs
from bridge import tickets as tk
from bridge.config import Config
from bridge.lifecycle import CloseReason, Origin, Priority, Status
from bridge.reporting import ReportError, parse_month
from bridge.store.schema import device_states, maintenance, tickets

ACTOR = "demo-data"


@dataclass(frozen=True)
class Local:
    """Wall-clock time of a day of the month in a zone; negative days count from the end."""

    day: int
    hhmm: str
    fold: int = 0

    def at(self, year: int, month: int, tz: str) -> datetime:
        last = pycal.monthrange(year, month)[1]
        day = self.day if self.day > 0 else last + 1 + self.day
        hh, mm = (int(x) for x in self.hhmm.split(":"))
        local = datetime.combine(date(year, month, day), time(hh, mm), ZoneInfo(tz))
        return local.replace(fold=self.fold).astimezone(UTC)


def _last_sunday(year: int, month: int) -> int:
    last = pycal.monthrange(year, month)[1]
    return max(d for d in range(last - 6, last + 1) if date(year, month, d).weekday() == 6)


# (device, [(local time, state or None for "no data")]); the first state starts a day before
# the month, the last one ends at the month end. (Not left open with ended_at NULL: the
# probes, when `serve` starts, close an open row at its last observation and record the
# time since as unknown, which would blank the demo month.)
def _states(dst_day: int) -> dict[str, list[tuple[Local | None, str | None]]]:
    return {
        "acme-edge": [
            (None, "up"),
            (Local(7, "10:00"), "down"),
            (Local(7, "10:45"), "up"),
        ],
        "acme-db": [
            (None, "up"),
            (Local(3, "23:00"), "down"),  # inside the agreed maintenance: excluded
            (Local(4, "00:30"), "up"),
            (Local(7, "10:00"), "unreachable"),  # behind acme-edge
            (Local(7, "10:45"), "up"),
            (Local(dst_day, "01:30"), "down"),  # across the DST night
            (Local(dst_day, "02:40", fold=1), "up"),
        ],
        "acme-web": [
            (None, "up"),
            (Local(7, "10:00"), "unreachable"),
            (Local(7, "10:45"), "up"),
            (Local(14, "03:10"), "down"),  # nobody opened a ticket
            (Local(14, "03:32"), "up"),
            (Local(20, "12:00"), None),  # the probe was off: no data
            (Local(20, "16:00"), "up"),
        ],
        "brno-core": [
            (None, "up"),
            (Local(9, "13:00"), "down"),
            (Local(9, "13:25"), "up"),
            (Local(21, "08:05"), "degraded"),  # counts as up
            (Local(21, "09:00"), "up"),
        ],
    }


# A ticket: (customer, title, device, origin, priority, created, [steps]); a step is
# (local time, action, argument): assign <name>, move <status>, priority <P>, close <reason>.
def _tickets(dst_day: int) -> list[tuple]:
    return [
        ("acme", "acme-edge unreachable (icmp)", "acme-edge", Origin.PROBE, Priority.P1,
         Local(7, "10:01"), [
             (Local(7, "10:09"), "assign", "alice"),
             (Local(7, "10:52"), "move", Status.RESOLVED),
             (Local(7, "11:30"), "close", CloseReason.VERIFIED),
         ]),
        ("acme", "Invoice export times out", "acme-web", Origin.CUSTOMER, Priority.P3,
         Local(5, "09:30"), [
             (Local(5, "10:15"), "assign", "bob"),
             (Local(5, "14:00"), "move", Status.WAITING),  # waiting for the customer's logs
             (Local(6, "11:00"), "move", Status.IN_PROGRESS),
             (Local(6, "15:00"), "move", Status.RESOLVED),
             (Local(7, "09:00"), "move", Status.IN_PROGRESS),  # "still broken": reopened
             (Local(7, "12:00"), "move", Status.RESOLVED),
             (Local(8, "09:00"), "close", CloseReason.VERIFIED),
         ]),
        ("acme", "Replication lag on the database", "acme-db", Origin.PHONE, Priority.P3,
         Local(12, "08:20"), [
             (Local(12, "08:40"), "assign", "alice"),
             (Local(12, "09:00"), "priority", Priority.P2),  # invoices stuck: raised, breaches
             (Local(12, "18:30"), "move", Status.RESOLVED),
             (Local(12, "19:00"), "close", CloseReason.VERIFIED),
         ]),
        ("acme", "acme-db down", "acme-db", Origin.MONITORING, Priority.P2,
         Local(dst_day, "01:35"), [
             (Local(dst_day, "02:20", fold=1), "assign", "alice"),  # late: reaction breached
             (Local(dst_day, "02:45", fold=1), "move", Status.RESOLVED),
             (Local(dst_day + 1, "02:45"), "close", CloseReason.NO_ANSWER),
         ]),
        ("acme", "Add a VPN account for the new warehouse", None, Origin.EMAIL, Priority.P4,
         Local(-3, "16:00"), [
             (Local(-2, "09:00"), "assign", "bob"),
             (Local(-2, "10:00"), "move", Status.WAITING),  # still waiting at month end
         ]),
        ("acme", "Label printer queue stuck", None, Origin.CUSTOMER, Priority.P3,
         Local(-2, "14:00"), []),  # nobody took it before the month ended
        ("brno-bank", "brno-core unreachable (icmp)", "brno-core", Origin.PROBE, Priority.P1,
         Local(9, "13:01"), [
             (Local(9, "13:20"), "assign", "bob"),
             (Local(9, "13:40"), "move", Status.RESOLVED),
             (Local(9, "14:00"), "close", CloseReason.VERIFIED),
         ]),
        ("brno-bank", "Slow transfers through the core switch", "brno-core", Origin.CUSTOMER,
         Priority.P2, Local(21, "08:30"), [
             (Local(21, "09:10"), "assign", "alice"),
             (Local(21, "10:00"), "move", Status.WAITING),
             (Local(22, "09:00"), "move", Status.IN_PROGRESS),
             (Local(22, "11:00"), "move", Status.RESOLVED),
             (Local(22, "15:00"), "close", CloseReason.VERIFIED),
         ]),
        ("ops", "Rotate the monitoring API tokens", None, Origin.EMAIL, Priority.P4,
         Local(13, "11:00"), [
             (Local(13, "11:30"), "assign", "alice"),
             (Local(14, "10:00"), "move", Status.RESOLVED),
             (Local(15, "10:00"), "close", CloseReason.VERIFIED),
         ]),
    ]


# (customer, device or None for customer-wide, start, end, reason)
_MAINTENANCE = [
    ("acme", None, Local(18, "06:00"), Local(18, "07:00"), "quarterly power test, agreed"),
]


class AlreadyFilled(Exception):
    """The store already holds data for the month."""


def fill(conn: sa.Connection, cfg: Config, year: int, month: int) -> dict[str, int]:
    """Write the demo month; raises AlreadyFilled (nothing written) when run a second time."""
    dst_day = _last_sunday(year, month)
    tz_of = {c.id: c.timezone for c in cfg.customers}
    devices = {d.id: d for d in cfg.devices}
    lo = min(datetime(year, month, 1, tzinfo=ZoneInfo(tz)) for tz in tz_of.values())
    nxt = date(year + month // 12, month % 12 + 1, 1)
    hi = max(datetime.combine(nxt, time(), ZoneInfo(tz)) for tz in tz_of.values())
    used = conn.execute(
        sa.select(sa.func.count()).select_from(tickets).where(
            tickets.c.customer_id.in_(list(tz_of)),
            tickets.c.entered_at >= lo,
            tickets.c.entered_at < hi,
        )
    ).scalar_one()
    used += conn.execute(
        sa.select(sa.func.count()).select_from(device_states).where(
            device_states.c.device_id.in_(list(devices)),
            device_states.c.started_at >= lo - timedelta(days=1),
            device_states.c.started_at < hi,
        )
    ).scalar_one()
    if used:
        raise AlreadyFilled(
            f"the store already holds data for {year:04d}-{month:02d}; demo-data refuses to "
            "run twice (use a fresh --data-dir)"
        )
    counts = {"tickets": 0, "events": 0, "device_states": 0, "maintenance": 0}

    jobs.sync_maintenance(conn, cfg)
    for customer, dev, start, end, reason in _MAINTENANCE:
        if customer not in tz_of or (dev and dev not in devices):
            continue
        tz = tz_of[customer]
        conn.execute(
            sa.insert(maintenance).values(
                customer_id=None if dev else customer, device_id=dev,
                starts_at=start.at(year, month, tz), ends_at=end.at(year, month, tz),
                reason=reason, origin="demo",
            )
        )
        counts["maintenance"] += 1

    for dev_id, steps in _states(dst_day).items():
        dev = devices.get(dev_id)
        if dev is None:
            continue
        tz = tz_of[dev.customer]
        month_start = datetime(year, month, 1, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        month_end = datetime.combine(nxt, time(), ZoneInfo(tz)).astimezone(UTC)
        times = [
            month_start - timedelta(days=1) if at is None else at.at(year, month, tz)
            for at, _ in steps
        ] + [month_end]
        for i, (_, state) in enumerate(steps):
            if state is None:
                continue
            conn.execute(
                sa.insert(device_states).values(
                    device_id=dev_id, check="icmp", state=state, started_at=times[i],
                    ended_at=times[i + 1],
                    detail={"source": ACTOR},
                )
            )
            counts["device_states"] += 1

    for customer, title, dev, origin, prio, created, steps in _tickets(dst_day):
        if customer not in tz_of or (dev and dev not in devices):
            continue
        tz = tz_of[customer]
        at = created.at(year, month, tz)
        row = tk.create(
            conn, cfg, customer_id=customer, title=title, origin=origin, priority=prio,
            at=at, actor=ACTOR, now=at, device_id=dev,
        )
        counts["tickets"] += 1
        counts["events"] += 1
        for when, action, arg in steps:
            at = when.at(year, month, tz)
            kw = {"at": at, "actor": ACTOR, "now": at}
            if action == "assign":
                before = row["version"]
                row = tk.assign(conn, row, arg, **kw)
                counts["events"] += row["version"] - before
                continue
            if action == "move":
                row = tk.transition(conn, row, arg, cfg=cfg, **kw)
            elif action == "priority":
                row = tk.change_priority(conn, row, arg, "customer escalated by phone", **kw)
            else:
                row = tk.transition(conn, row, Status.CLOSED, cfg=cfg, close_reason=arg, **kw)
            counts["events"] += 1
    return counts


def run(args: argparse.Namespace) -> int:
    from bridge.cli import _load, _open_store

    cfg = _load(args.config)
    try:
        year, month = parse_month(args.month)
    except ReportError as err:
        print(f"slabridge demo-data: {err}", file=sys.stderr)
        return 2
    engines = _open_store(args)
    try:
        with engines.write.begin() as conn:
            counts = fill(conn, cfg, year, month)
    except AlreadyFilled as err:
        print(f"slabridge demo-data: {err}", file=sys.stderr)
        return 1
    finally:
        engines.dispose()
    print(
        f"demo data for {args.month}: {counts['tickets']} tickets ({counts['events']} events), "
        f"{counts['device_states']} device states, {counts['maintenance']} maintenance windows"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo-data`` to the ``slabridge`` command."""
    from bridge.cli import _store_args

    p = subparsers.add_parser(
        "demo-data", help="fill the store with a realistic month for trying reports"
    )
    p.add_argument("--config", required=True)
    p.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-10")
    _store_args(p)
    p.set_defaults(handler=run)
