"""Probe targets shared by leases: each (device, check, site) is probed by one node of its site.

A node renews the leases it holds every third of `probing.lease_ttl`, claims unowned or
expired targets of its own site up to its fair share (targets of the site / live nodes of the
site) and gives back what it holds beyond that share plus `probing.lease_margin`, so a joining
node gets work without a stampede. The claim is a `SELECT … FOR UPDATE SKIP LOCKED LIMIT n`
and an `UPDATE … RETURNING` of what it locked (SQLite has one node; the same statements
without the lock clause). A node probes a target only while its own copy of the lease is
unexpired, so a node that cannot renew stops probing before another may take it over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from bridge.probing.quorum import fair_share
from bridge.store.schema import nodes, probe_leases

log = logging.getLogger(__name__)

Target = tuple[str, str]  # (device id, check kind: "icmp" | "snmp")


@dataclass
class Leases:
    """One node's view of the leases it holds (its own copy of each expiry)."""

    node: str
    site: str
    ttl: float
    margin: float
    targets: frozenset[Target]
    held: dict[Target, datetime] = field(default_factory=dict)
    seeded: bool = False

    def owns(self, device_id: str, kind: str, now: datetime) -> bool:
        until = self.held.get((device_id, kind))
        return until is not None and until > now

    def step(
        self, conn: sa.Connection, now: datetime, busy: frozenset[Target] = frozenset()
    ) -> tuple[set[Target], set[Target]]:
        """Renew, give back beyond the share (never a target in a running sweep: a target is
        probed by one node of its site at a time), claim up to it; (gained, lost) targets."""
        before = {t for t, until in self.held.items() if until > now}
        if not self.seeded:
            seed(conn, self.site, self.targets)
            self.seeded = True
        until = now + timedelta(seconds=self.ttl)
        pl = probe_leases.c
        renewed = conn.execute(
            sa.update(probe_leases)
            .where(pl.site == self.site, pl.node == self.node, pl.lease_until > now)
            .values(lease_until=until, renewed_at=now)
            .returning(pl.device_id, pl.check)
        ).all()
        mine = {(d, c) for d, c in renewed}
        live = live_nodes(conn, self.site, now, self.ttl) | {self.node}
        share, most = fair_share(len(self.targets), len(live), self.margin)
        if len(mine) > most:
            extra = sorted(mine - busy)[: len(mine) - share]
            give_back(conn, self.node, extra)
            mine -= set(extra)
        elif len(mine) < share:
            mine |= claim(conn, self.node, self.site, share - len(mine), now, until)
        self.held = {t: until for t in mine if t in self.targets}
        return mine - before, before - mine

    def release(self, conn: sa.Connection) -> int:
        """A clean stop: every lease back at once, so the others need not wait for the TTL."""
        self.held = {}
        done = conn.execute(
            sa.update(probe_leases)
            .where(probe_leases.c.node == self.node)
            .values(node=None, lease_until=None)
        )
        return done.rowcount or 0


def seed(conn: sa.Connection, site: str, targets: Iterable[Target]) -> int:
    """A lease row, unowned, for every target of the site that has none yet."""
    have = {
        (d, c)
        for d, c in conn.execute(
            sa.select(probe_leases.c.device_id, probe_leases.c.check).where(
                probe_leases.c.site == site
            )
        )
    }
    rows = [{"device_id": d, "check": c, "site": site} for d, c in targets if (d, c) not in have]
    if rows:
        conn.execute(sa.insert(probe_leases), rows)
    return len(rows)


def live_nodes(conn: sa.Connection, site: str, now: datetime, ttl: float) -> set[str]:
    """The site's nodes alive now: a heartbeat within the lease TTL and not signed off."""
    fresh = now - timedelta(seconds=ttl)
    rows = conn.execute(
        sa.select(nodes.c.name).where(
            nodes.c.site == site, nodes.c.stopped_at.is_(None), nodes.c.heartbeat_at > fresh
        )
    )
    return {r[0] for r in rows}


def claim(
    conn: sa.Connection, node: str, site: str, want: int, now: datetime, until: datetime
) -> set[Target]:
    """Up to `want` unowned or expired targets of the site; concurrent claimers skip each
    other's locked rows instead of waiting or taking the same ones."""
    pl = probe_leases.c
    free = sa.and_(pl.site == site, sa.or_(pl.node.is_(None), pl.lease_until <= now))
    pick = (
        sa.select(pl.device_id, pl.check)
        .where(free)
        .order_by(pl.device_id, pl.check)
        .limit(want)
        .with_for_update(skip_locked=True)
    )
    # picked first, then updated: a LIMIT … FOR UPDATE subquery inside the UPDATE may be
    # rescanned by PostgreSQL after earlier rows changed, and then yields more than `want`
    picked = [tuple(r) for r in conn.execute(pick)]
    won: set[Target] = set()
    for i in range(0, len(picked), 500):
        rows = conn.execute(
            sa.update(probe_leases)
            .where(free, sa.tuple_(pl.device_id, pl.check).in_(picked[i : i + 500]))
            .values(node=node, lease_until=until, renewed_at=now)
            .returning(pl.device_id, pl.check)
        ).all()
        won |= {(d, c) for d, c in rows}
    return won


def give_back(conn: sa.Connection, node: str, targets: Iterable[Target]) -> None:
    """Leases beyond the share, unowned again for a node with fewer."""
    pl = probe_leases.c
    keys = list(targets)
    for i in range(0, len(keys), 500):
        conn.execute(
            sa.update(probe_leases)
            .where(pl.node == node, sa.tuple_(pl.device_id, pl.check).in_(keys[i : i + 500]))
            .values(node=None, lease_until=None)
        )
