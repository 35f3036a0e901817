"""The device's state from its sites' observations: down when enough sites see it down.

Each site's nodes record what they observe as their own intervals (device_states.site = the
site). A site change is folded into the device's decided state under a per-check lock, so
two sites changing at once decide once: a ticket opens for the decision, never per site.
Two thresholds are applied to the same site states: `probing.quorum` decides tickets, the
customer's SLA policy `availability_from` (quorum, any, all) decides the intervals kept under
site '*' that availability, metrics and pages read. A site whose observations are *probe
impaired* (or unknown) counts neither way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa

from bridge.store.schema import device_states, nodes
from probes.state import State

DECISION = "*"
_BAD = (State.DOWN, State.UNREACHABLE)


def lock(conn: sa.Connection, device_id: str, check: str) -> None:
    """One decision at a time per device check across nodes (PostgreSQL; SQLite is one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"probe-decision:{device_id}:{check}"},
        )


def site_states(
    conn: sa.Connection, device_id: str, check: str, sites: Iterable[str]
) -> dict[str, State]:
    """Each site's open state of the check (a site without one: unknown)."""
    wanted = list(sites)
    rows = conn.execute(
        sa.select(device_states.c.site, device_states.c.state).where(
            device_states.c.device_id == device_id,
            device_states.c.check == check,
            device_states.c.site.in_(wanted),
            device_states.c.ended_at.is_(None),
        )
    )
    out = {s: State.UNKNOWN for s in wanted}
    for site, state in rows:
        try:
            out[site] = State(state)
        except ValueError:  # "unconfirmed" pieces are cut out of a state, never open
            out[site] = State.UNKNOWN
    return out


def threshold(rule: str, quorum: int, n_sites: int) -> int:
    """How many sites must see the device down: quorum (capped at its sites), any, all."""
    n = max(1, n_sites)
    if rule == "any":
        return 1
    if rule == "all":
        return n
    return max(1, min(quorum, n))


def decide(states: Mapping[str, State], need: int) -> State:
    """Pure: the decided state of sites' states when `need` sites must agree on down."""
    bad = [s for s in states.values() if s in _BAD]
    if len(bad) >= need:
        return State.DOWN if State.DOWN in bad else State.UNREACHABLE
    known = [s for s in states.values() if s not in _BAD and s is not State.UNKNOWN]
    if not known:
        return State.UNKNOWN if not bad else State.UNKNOWN
    return State.UP if State.UP in known else State.DEGRADED


def live_sites(conn: sa.Connection, now: datetime, fresh_seconds: float) -> set[str]:
    """Sites that have a node alive now (heartbeat within `fresh_seconds`)."""
    since = now.timestamp() - fresh_seconds
    rows = conn.execute(
        sa.select(nodes.c.site, nodes.c.heartbeat_at).where(nodes.c.stopped_at.is_(None))
    )
    return {site for site, beat in rows if beat.timestamp() > since}


def fair_share(targets: int, live_nodes: int, margin: float) -> tuple[int, int]:
    """(share to claim up to, most to hold) for one node of a site."""
    share = math.ceil(targets / max(1, live_nodes))
    return share, share + max(1, math.ceil(share * margin))
