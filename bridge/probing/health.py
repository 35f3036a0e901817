"""Probe health: a site whose own network fails must not report its customers down.

After each ICMP sweep a node asks two questions: do its site's reference targets answer
(`probing.sites.<site>.references`), and did more than `impaired_share` of what it probed
fail while another site sees most of those devices up? Either way its site is *probe
impaired*: its observations from then on are unknown (never down, so no customer ticket and
no downtime), and one ticket opens for the internal operations customer naming node and site.
The first sweep that passes both questions ends it and resolves that ticket.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bridge.alert import Alert, AlertStatus
from bridge.config.models import ProbeSiteConfig, RouteRule, SourceConfig
from bridge.nodes.identity import Node
from bridge.probing import records
from bridge.store.schema import IMPAIRED_RULE, device_states
from probes.errors import IcmpError
from probes.state import CHECK_ICMP, State, StateChange

if TYPE_CHECKING:
    from bridge.probing.service import Prober

log = logging.getLogger(__name__)

HEALTH_SOURCE = SourceConfig(
    name="probe.health",
    type="probe.health",
    routing=[RouteRule(label="customer", to="customer")],
)


class SiteHealth:
    """This node's view of its site's probe health, one ICMP sweep at a time."""

    def __init__(self, node: Node, site_cfg: ProbeSiteConfig | None) -> None:
        self.node = node
        self.cfg = site_cfg or ProbeSiteConfig()
        self.impaired = False
        self.reason = ""
        self.pinger: Any = None
        self.failed: list[str] = []
        self.total = 0

    def sample(self, device_id: str, ok: bool) -> None:
        self.total += 1
        if not ok:
            self.failed.append(device_id)

    def take(self) -> tuple[list[str], int]:
        failed, total = self.failed, self.total
        self.failed, self.total = [], 0
        return failed, total

    async def references_answer(self) -> bool:
        if not self.cfg.references or self.pinger is None:
            return True
        try:
            got = await self.pinger.sweep(
                [str(a) for a in self.cfg.references], count=1, interval=0.0, timeout=1.0
            )
        except IcmpError:
            log.exception("reference sweep failed")
            return False
        return any(r.received > 0 for r in got.values())


def seen_up_elsewhere(conn: sa.Connection, site: str, device_ids: list[str]) -> int:
    """How many of the devices another site currently sees up."""
    if not device_ids:
        return 0
    ds = device_states.c
    rows = conn.execute(
        sa.select(sa.func.count(sa.distinct(ds.device_id))).where(
            ds.device_id.in_(device_ids),
            ds.check == CHECK_ICMP,
            ds.site.not_in([site, records.DECISION]),
            ds.state == State.UP.value,
            ds.ended_at.is_(None),
        )
    )
    return int(rows.scalar_one())


def mark_unknown(conn: sa.Connection, site: str, device_ids: list[str], at: datetime) -> None:
    """The site's current observations of these devices become unknown from `at`."""
    for device_id in device_ids:
        change = StateChange(
            device_id=device_id,
            check=CHECK_ICMP,
            old_state=State.UP,
            new_state=State.UNKNOWN,
            rule=IMPAIRED_RULE,
            at=at,
            detail={},
        )
        records.record_state(conn, change, site)


def ops_alert(prober: Prober, status: AlertStatus, reason: str, at: datetime) -> Alert | None:
    ops = next((c for c in prober.cfg.customers if getattr(c, "internal", False)), None)
    if ops is None:
        log.warning("probe impaired at site %s but no internal customer is configured", prober.site)
        return None
    node, site = prober.node.name, prober.site
    title = (
        f"probes of site {site} impaired (node {node})"
        if status == AlertStatus.FIRING
        else f"probes of site {site} healthy again (node {node})"
    )
    return Alert(
        source=HEALTH_SOURCE.type,
        identity=f"probe-health:{site}",
        status=status,
        title=title,
        severity="high",
        description=f"{title}\n{reason}\nits observations count as unknown, never as down",
        labels={"customer": ops.id, "alertname": "ProbeImpaired", "site": site, "node": node},
        annotations={"summary": title},
        starts_at=at,
        ends_at=at if status == AlertStatus.RESOLVED else None,
        raw={"site": site, "node": node, "reason": reason},
    )


async def after_cycle(prober: Prober) -> None:
    """Decide, after one ICMP sweep, whether the site is impaired; act on a change."""
    h = prober.health
    failed, total = h.take()
    if total == 0:
        return
    reason = ""
    if not await h.references_answer():
        reason = "no reference target answers"
    elif len(failed) > h.cfg.impaired_share * total:
        up = await prober.services.read(lambda c: seen_up_elsewhere(c, prober.site, failed))
        if up * 2 > len(failed):
            reason = f"{len(failed)} of {total} targets failed while another site sees {up} up"
    if bool(reason) == h.impaired:
        return
    at = prober.clock.now()
    h.impaired, h.reason = bool(reason), reason or h.reason
    log.warning(
        "site %s node %s: probes %s (%s)",
        prober.site,
        prober.node.name,
        "impaired" if reason else "healthy again",
        h.reason,
    )
    held = sorted({d for d, kind in prober.leases.held if kind == "icmp"})
    if prober.runner is not None:  # start over from unknown: no stale up or down carries on
        for device_id in held:
            prober.runner.engine.forget(device_id, "icmp")
    alert = ops_alert(prober, AlertStatus.FIRING if reason else AlertStatus.RESOLVED, h.reason, at)

    def work(conn: sa.Connection) -> tuple[SourceConfig, list[Alert]]:
        """The site's observations turn unknown with the ops ticket, in one transaction."""
        if reason:
            mark_unknown(conn, prober.site, held, at)
        return HEALTH_SOURCE, [] if alert is None else [alert]

    await prober.ingest(work, at)
