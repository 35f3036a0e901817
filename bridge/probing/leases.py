"""Probe targets shared by leases: each (device, check, site) is probed by one node of its site.

A node renews the leases it holds every third of `probing.lease_ttl`, claims unowned or
expired targets of its own site up to its fair share (targets of the site / live nodes of the
site) and gives back what it holds beyond that share plus `probing.lease_margin`, so a joining
node gets work without a stampede. The claim is a `SELECT … FOR UPDATE SKIP LOCKED LIMIT n`
and an `UPDATE … RETURNING` of what it locked (SQLite has one node; the same statements
without the lock clause). A node probes a target only while its own copy of the lease is
unexpired, so a node that cannot renew stops probing before another may take it over.

A round in the steady state is two statements: one UPDATE renewing every held lease (no
RETURNING: its row count says whether anything was lost) and one SELECT of the nodes table
that also gives the earliest expiry among the other nodes' leases. The prober runs its next
round at that expiry when it comes before the regular one, so a killed node's targets are
claimed the moment they lapse, not a third of the TTL later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from bridge.nodes import store
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
    #: a node of the site shares the work while its heartbeat is younger than this: a third
    #: of the TTL, so a killed node is out of the share by the time its leases lapse even if
    #: its last renewal came late (its last heartbeat may follow its last renewal by up to a
    #: third of the TTL, more on a busy node); counting a live node out for a moment costs
    #: nothing, its leases are not free
    fresh: float = 0.0
    #: the earliest expiry among the other nodes' leases of the site (None: nothing held)
    others_expire: datetime | None = None
    #: sites with a node alive (a heartbeat within the TTL), from the last round
    live_sites: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.fresh = self.fresh or self.ttl / 3

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
        mine = renew(conn, self.node, self.site, before, now, until)
        live, self.live_sites, self.others_expire = survey(
            conn, self.node, self.site, now, self.fresh, self.ttl
        )
        share, most = fair_share(len(self.targets), len(live | {self.node}), self.margin)
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


def renew(
    conn: sa.Connection,
    node: str,
    site: str,
    expected: set[Target],
    now: datetime,
    until: datetime,
) -> set[Target]:
    """Every unexpired lease of the node to `until` in one UPDATE. The rows come back only
    when the count differs from what the node believes it holds (a restart under the same
    name, a lease lost): a round of a node holding 20,000 targets reads no rows."""
    pl = probe_leases.c
    done = conn.execute(
        sa.update(probe_leases)
        .where(pl.site == site, pl.node == node, pl.lease_until > now)
        .values(lease_until=until, renewed_at=now)
    )
    if done.rowcount == len(expected):
        return set(expected)
    rows = conn.execute(
        sa.select(pl.device_id, pl.check).where(
            pl.site == site, pl.node == node, pl.lease_until == until
        )
    )
    return {(d, c) for d, c in rows}


def survey(
    conn: sa.Connection, node: str, site: str, now: datetime, fresh: float, ttl: float
) -> tuple[set[str], set[str], datetime | None]:
    """(nodes of the site sharing its work, sites with a live node, the earliest expiry among
    the other nodes' leases of the site) in one statement: the nodes table is a few rows and
    the expiry is the first entry of the (site, lease_until) index that is not this node's."""
    pl = probe_leases.c
    earliest = (
        sa.select(sa.func.min(pl.lease_until))
        .where(pl.site == site, pl.lease_until > now, pl.node != node)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(nodes.c.name, nodes.c.site, nodes.c.heartbeat_at, earliest.label("e")).where(
            nodes.c.stopped_at.is_(None)
        )
    ).all()
    sharing = {n for n, s, beat, _ in rows if s == site and beat > now - timedelta(seconds=fresh)}
    sites = {s for _, s, beat, _ in rows if beat > now - timedelta(seconds=ttl)}
    expires = rows[0][3] if rows else None
    return sharing, sites, expires


def seed(conn: sa.Connection, site: str, targets: Iterable[Target]) -> int:
    """A lease row, unowned, for every target of the site that has none yet (nodes starting
    together seed at once: a row another node inserted first is left alone)."""
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
        conn.execute(store.insert(conn, probe_leases).on_conflict_do_nothing(), rows)
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
