"""Claims on timed work, so that with every node running the same timers each unit of work is
done by one node: the database decides, by a unique key and a compare-and-set on the lease.

- `claim(job, unit)`: take one unit (e.g. a customer's month report) unless another node holds
  it under an unexpired lease or it is done; `finish` marks it done so nobody takes it again.
  A claimer that dies leaves its lease to expire; then another node takes the unit over.
- `take_turn(job)`: the node that takes a sweep's turn (auto-close, SLA clocks) runs it for
  the next interval; the others skip it. The sweeps themselves also lock the rows they
  change, so a late or overlapping turn still writes each event once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from bridge.nodes import store
from bridge.store.schema import job_claims

TURN = "turn"


def _take(
    conn: sa.Connection,
    job: str,
    unit: str,
    node: str,
    now: datetime,
    until: datetime,
    free: sa.ColumnElement[bool],
) -> bool:
    """Insert the claim, or take the existing row over where `free` holds (compare-and-set)."""
    values = {"claimed_by": node, "claimed_at": now, "lease_until": until}
    inserted = conn.execute(
        store.insert(conn, job_claims)
        .values(job=job, unit=unit, **values)
        .on_conflict_do_nothing(index_elements=[job_claims.c.job, job_claims.c.unit])
        .returning(job_claims.c.job)  # (rowcount of an INSERT is not reliable on psycopg)
    ).first()
    if inserted is not None:
        return True
    taken = conn.execute(
        sa.update(job_claims)
        .where(job_claims.c.job == job, job_claims.c.unit == unit, free)
        .values(**values)
    )
    return taken.rowcount == 1


def claim(conn: sa.Connection, job: str, unit: str, node: str, now: datetime, lease: float) -> bool:
    """Whether this node now holds `unit` of `job` (until `now + lease`)."""
    free = sa.and_(
        job_claims.c.done_at.is_(None),
        sa.or_(job_claims.c.lease_until <= now, job_claims.c.claimed_by == node),
    )
    return _take(conn, job, unit, node, now, now + timedelta(seconds=lease), free)


def finish(conn: sa.Connection, job: str, unit: str, node: str, now: datetime) -> bool:
    """Mark a claimed unit done (only by its holder); False if another node took it over."""
    done = conn.execute(
        sa.update(job_claims)
        .where(
            job_claims.c.job == job,
            job_claims.c.unit == unit,
            job_claims.c.claimed_by == node,
            job_claims.c.done_at.is_(None),
        )
        .values(done_at=now)
    )
    return done.rowcount == 1


def release(conn: sa.Connection, job: str, unit: str, node: str) -> None:
    """Give up a claim without doing the work (it failed): another node may try at once."""
    conn.execute(
        sa.delete(job_claims).where(
            job_claims.c.job == job,
            job_claims.c.unit == unit,
            job_claims.c.claimed_by == node,
            job_claims.c.done_at.is_(None),
        )
    )


def take_turn(conn: sa.Connection, job: str, node: str, now: datetime, every: float) -> bool:
    """Whether this node runs the sweep `job` now. The turn is a lease of a little less than
    the interval, taken only once the last turn (anybody's, this node's too) has expired, so
    the nodes' unaligned timers run the sweep about once per interval in all, and a node that
    died hands its turn on after one interval."""
    if every <= 0:
        return True
    until = now + timedelta(seconds=every * 0.8)
    return _take(conn, job, TURN, node, now, until, job_claims.c.lease_until <= now)
