"""Store rows + config → the plain inputs of reports/ (which knows nothing of the store).

Device states: only the ``icmp`` check counts (ping reachability is what the contracts call
availability); other checks (snmp thresholds, uptime) raise tickets but do not move the
figure. A row still open (``ended_at`` NULL) lasts until the report end. Maintenance: rows of
the ``maintenance`` table (the config's windows are synced into it at start and by
``demo-data``); a customer-wide window applies to every device of the customer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

import sla
from bridge.config import Config
from bridge.sla_live import Policies
from bridge.store.schema import (
    ACCOUNTED_STATE,
    device_states,
    maintenance,
    outbox,
    ticket_events,
    tickets,
)
from reports import (
    CustomerInfo,
    DeviceInfo,
    ReportInput,
    ReportPeriod,
    TicketInfo,
    build_reports,
)

__all__ = [
    "AVAILABILITY_CHECK",
    "ReportError",
    "build",
    "desk_calendar",
    "desk_month",
    "load_input",
    "month_of",
    "parse_month",
    "recent_months",
]

AVAILABILITY_CHECK = "icmp"
STATES_SOURCE = "ICMP reachability (ping) check; other checks do not count"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ReportError(ValueError):
    """A request for a report that cannot be made (unknown customer, bad or future month)."""


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-10"`` → (2026, 10); raises ReportError with a one-line message."""
    m = _MONTH.match(text or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1970:
        raise ReportError(f"'{text}' is not a month such as 2026-10")
    return int(m.group(1)), int(m.group(2))


def month_of(cfg: Config, customer_id: str, text: str, now: datetime) -> ReportPeriod:
    """The customer's month (cut in the customer's zone) as seen at ``now``."""
    customer = cfg.customer(customer_id)
    if customer is None:
        raise ReportError(f"unknown customer '{customer_id}'")
    year, month = parse_month(text)
    period = sla.Month(year, month, customer.timezone)
    if now <= period.start:
        raise ReportError(f"month {text} has not started yet for {customer_id} ({period.tz})")
    return ReportPeriod.of(period, now)


def desk_calendar(cfg: Config, name: str | None) -> sla.Calendar:
    """The calendar of the desk report: ``name``, else the first business calendar of the
    config (the desk's office hours), else round the clock."""
    from bridge.sla_live import calendar_from_config

    if name is not None:
        if name not in cfg.calendars:
            known = ", ".join(cfg.calendars)
            raise ReportError(f"unknown calendar '{name}' (known: {known})")
        return calendar_from_config(name, cfg.calendars[name])
    for n, cal in cfg.calendars.items():
        if cal.type == "business":
            return calendar_from_config(n, cal)
    return sla.Calendar.always()


def desk_month(calendar: sla.Calendar, text: str, now: datetime) -> sla.Month:
    """The month of the desk report, cut in the desk calendar's zone."""
    year, month = parse_month(text)
    period = sla.Month(year, month, calendar.tz)
    if now <= period.start:
        raise ReportError(f"month {text} has not started yet ({period.tz})")
    return period


def recent_months(cfg: Config, customer_id: str, now: datetime, count: int = 12) -> list[str]:
    """The last ``count`` month labels of the customer, the current (partial) one first."""
    customer = cfg.customer(customer_id)
    if customer is None:
        raise ReportError(f"unknown customer '{customer_id}'")
    month = sla.Month.containing(now, customer.timezone)
    out = []
    for _ in range(count):
        out.append(month.label)
        month = month.previous()
    return out


def _devices(cfg: Config, customer_id: str) -> list[DeviceInfo]:
    return [
        DeviceInfo(d.id, d.name or d.id, d.ip, tuple(d.tags), d.depends_on)
        for d in cfg.devices
        if d.customer == customer_id
    ]


def _first_notices(
    conn: sa.Connection, customer_id: str, lo: datetime, hi: datetime
) -> dict[int, datetime]:
    """When each ticket of the month had its first customer notice sent (one query)."""
    first = sa.func.min(outbox.c.sent_at)
    return {
        r.ticket_id: r.first
        for r in conn.execute(
            sa.select(outbox.c.ticket_id, first.label("first"))
            .join(tickets, tickets.c.id == outbox.c.ticket_id)
            .where(
                tickets.c.customer_id == customer_id,
                tickets.c.entered_at >= lo,
                tickets.c.entered_at < hi,
                outbox.c.sent_at.is_not(None),
                outbox.c.sent_at <= hi,
            )
            .group_by(outbox.c.ticket_id)
        )
    }


def load_input(
    conn: sa.Connection,
    cfg: Config,
    customer_id: str,
    period: ReportPeriod,
    policies: Policies | None = None,
) -> ReportInput:
    """Read one customer's month from the store."""
    customer = cfg.customer(customer_id)
    if customer is None:
        raise ReportError(f"unknown customer '{customer_id}'")
    policies = policies or Policies.from_config(cfg)
    policy_cfg = cfg.sla_policies[customer.sla_policy]
    lo, hi = period.start, period.end
    rows = conn.execute(
        sa.select(
            tickets.c.id, tickets.c.title, tickets.c.device_id, tickets.c.origin,
            tickets.c.alertname,
        )
        .where(
            tickets.c.customer_id == customer_id,
            tickets.c.entered_at >= lo,
            tickets.c.entered_at < hi,
        )
        .order_by(tickets.c.id)
    ).all()
    events: dict[int, list[sla.ClockEvent]] = {r.id: [] for r in rows}
    ratings: dict[int, list[int]] = {r.id: [] for r in rows}
    ids = list(events)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for ev in conn.execute(
            sa.select(
                ticket_events.c.ticket_id, ticket_events.c.at, ticket_events.c.seq,
                ticket_events.c.kind, ticket_events.c.data,
            )
            .where(
                ticket_events.c.ticket_id.in_(chunk),
                ticket_events.c.kind.in_(sorted(sla.CLOCK_KINDS | {"commented"})),
                ticket_events.c.at <= hi,
            )
            .order_by(ticket_events.c.ticket_id, ticket_events.c.seq)
        ):
            if ev.kind != "commented":
                events[ev.ticket_id].append(sla.ClockEvent(ev.at, ev.seq, ev.kind, ev.data))
            elif isinstance(rating := (ev.data or {}).get("rating"), int) and 1 <= rating <= 5:
                ratings[ev.ticket_id].append(rating)  # the customer's "It works" rating
    first_notice = _first_notices(conn, customer_id, lo, hi)
    ticket_infos = [
        TicketInfo(r.id, r.title, r.device_id, r.origin, tuple(events[r.id]), r.alertname,
                   tuple(ratings[r.id]), first_notice.get(r.id))
        for r in rows
    ]

    devices = _devices(cfg, customer_id)
    dev_ids = [d.id for d in devices]
    states: dict[str, list[sla.StateInterval]] = {d: [] for d in dev_ids}
    if dev_ids:
        for r in conn.execute(
            sa.select(
                device_states.c.device_id, ACCOUNTED_STATE,
                device_states.c.started_at, device_states.c.ended_at,
            )
            .where(
                device_states.c.device_id.in_(dev_ids),
                device_states.c.check == AVAILABILITY_CHECK,
                device_states.c.site == "*",  # the decided state, not each site's
                device_states.c.started_at < hi,
                sa.or_(device_states.c.ended_at.is_(None), device_states.c.ended_at > lo),
            )
            .order_by(device_states.c.device_id, device_states.c.started_at)
        ):
            end = hi if r.ended_at is None or r.ended_at > hi else r.ended_at
            if end > r.started_at and r.state in sla.DEVICE_STATES:
                states[r.device_id].append(sla.StateInterval(r.started_at, end, r.state))
    windows: dict[str, list[sla.MaintenanceWindow]] = {d: [] for d in dev_ids}
    if dev_ids:
        for r in conn.execute(
            sa.select(maintenance.c.device_id, maintenance.c.customer_id,
                      maintenance.c.starts_at, maintenance.c.ends_at)
            .where(
                sa.or_(
                    maintenance.c.device_id.in_(dev_ids),
                    maintenance.c.customer_id == customer_id,
                ),
                maintenance.c.starts_at < hi,
                maintenance.c.ends_at > lo,
            )
            .order_by(maintenance.c.starts_at, maintenance.c.id)
        ):
            window = sla.MaintenanceWindow(r.starts_at, r.ends_at)
            targets = [r.device_id] if r.device_id in windows else dev_ids
            for d in targets:
                windows[d].append(window)
    return ReportInput(
        customer=CustomerInfo(customer.id, customer.name, customer.contract, customer.timezone),
        period=period,
        policy_name=customer.sla_policy,
        policy=policies.by_customer[customer_id],
        availability_target_pct=policy_cfg.availability_target,
        availability_policy=sla.AvailabilityPolicy(
            unknown=policy_cfg.unknown_time, unreachable=policy_cfg.parent_outage,
            unconfirmed=policy_cfg.unconfirmed_failures,
        ),
        ticket_prefix=cfg.service.ticket_prefix,
        devices=devices,
        tickets=ticket_infos,
        states=states,
        maintenance=windows,
        states_source=STATES_SOURCE,
    )


def build(
    engine: sa.Engine,
    cfg: Config,
    customer_ids: Sequence[str],
    month: str,
    now: datetime,
    policies: Policies | None = None,
) -> list[dict]:
    """The JSON-able reports of ``customer_ids`` for ``month`` as seen at ``now``."""
    policies = policies or Policies.from_config(cfg)
    periods = [month_of(cfg, c, month, now) for c in customer_ids]
    with engine.connect() as conn:
        inputs = [
            load_input(conn, cfg, c, p, policies)
            for c, p in zip(customer_ids, periods, strict=True)
        ]
    return build_reports(inputs)
