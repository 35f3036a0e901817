"""Nodes register at start, heartbeat while they run and sign off when they stop; a node whose
heartbeat is older than `nodes.down_after` is down (killed, frozen or cut off from the store)."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import metadata as pkg_metadata
from typing import Any

import sqlalchemy as sa

from bridge.nodes import store
from bridge.nodes.identity import Node
from bridge.store.schema import metadata, nodes


class NameTaken(Exception):
    """Another live node already runs under this name elsewhere."""


def _version() -> str:
    try:
        return pkg_metadata.version("slabridge")
    except pkg_metadata.PackageNotFoundError:
        return "dev"


VERSION = _version()


def register(conn: sa.Connection, node: Node, now: datetime, down_after: float) -> None:
    """Record this node as started now. A node of the same name that is up and listens
    elsewhere is another process: refused (two nodes under one name would share leases and
    claims). The same name at the same address is this node restarted: taken over."""
    old = conn.execute(sa.select(nodes).where(nodes.c.name == node.name)).mappings().first()
    if (
        old is not None
        and old["stopped_at"] is None
        and old["heartbeat_at"] > now - timedelta(seconds=down_after)
        and (old["address"], old["port"]) != (node.address, node.port)
    ):
        raise NameTaken(
            f"node '{node.name}' is already running at {old['address']}:{old['port']} "
            f"(last heartbeat {old['heartbeat_at'].isoformat()}); give each node its own --node"
        )
    values = {
        "site": node.site,
        "address": node.address,
        "port": node.port,
        "pid": node.pid,
        "version": VERSION,
        "started_at": now,
        "heartbeat_at": now,
        "stopped_at": None,
    }
    stmt = store.insert(conn, nodes).values(name=node.name, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[nodes.c.name], set_=values))


def heartbeat(conn: sa.Connection, node: Node, now: datetime) -> None:
    """This node is alive at `now` (re-registered if its row went away)."""
    done = conn.execute(
        sa.update(nodes)
        .where(nodes.c.name == node.name)
        .values(heartbeat_at=now, stopped_at=None, site=node.site)
    )
    if done.rowcount == 0:
        register(conn, node, now, 0)


def sign_off(conn: sa.Connection, node: Node, now: datetime) -> None:
    """A clean stop: down at once, without waiting for the heartbeat to age."""
    conn.execute(sa.update(nodes).where(nodes.c.name == node.name).values(stopped_at=now))


#: the probe leases table (bridge.probing.leases, migration 0008): its node column and its
#: expiry column; looked up by name, so this module does not depend on the probing package
LEASES = ("probe_leases", "node", "lease_until")


def probe_targets(conn: sa.Connection, now: datetime) -> dict[str, int]:
    """How many probe targets each node holds now: unexpired leases, when the store has them."""
    name, holder, until = LEASES
    table = metadata.tables.get(name)
    if table is None or holder not in table.c or until not in table.c:
        return {}
    rows = conn.execute(
        sa.select(table.c[holder], sa.func.count())
        .where(table.c[until] > now, table.c[holder].is_not(None))
        .group_by(table.c[holder])
    )
    return {str(n): int(c) for n, c in rows}


def listing(conn: sa.Connection, now: datetime, down_after: float) -> list[dict[str, Any]]:
    """Every node known to the store with whether it is up, its site and its probe targets."""
    rows = conn.execute(sa.select(nodes).order_by(nodes.c.site, nodes.c.name)).mappings()
    targets = probe_targets(conn, now)
    fresh = now - timedelta(seconds=down_after)
    out = []
    for r in rows:
        up = r["stopped_at"] is None and r["heartbeat_at"] > fresh
        out.append(
            {
                "name": r["name"],
                "site": r["site"],
                "address": r["address"],
                "port": r["port"],
                "pid": r["pid"],
                "version": r["version"],
                "started_at": r["started_at"],
                "heartbeat_at": r["heartbeat_at"],
                "stopped_at": r["stopped_at"],
                "up": up,
                # a killed node still holds its leases until they expire (then others take them)
                "probe_targets": targets.get(r["name"], 0),
            }
        )
    return out
