"""Probe targets shared by leases, and a device's state decided over its sites (store on SQLite
and PostgreSQL, an injected clock: no waiting)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bridge.nodes import registry, side
from bridge.nodes.identity import Node
from bridge.probing import quorum
from bridge.probing.leases import Leases
from bridge.store import Writer
from bridge.store.schema import nodes, probe_leases
from probes.state import State

T0 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
TTL = 30.0
TARGETS = frozenset((f"dev{i:02d}", "icmp") for i in range(10))


def beat(conn: sa.Connection, name: str, at: datetime, site: str = "waw") -> None:
    """A node's heartbeat row as bridge.nodes writes it."""
    done = conn.execute(sa.update(nodes).where(nodes.c.name == name).values(heartbeat_at=at))
    if done.rowcount == 0:
        conn.execute(
            sa.insert(nodes).values(
                name=name, site=site, address="127.0.0.1", port=1, pid=1, version="t",
                started_at=at, heartbeat_at=at,
            )
        )  # fmt: skip


def leases(name: str, site: str = "waw") -> Leases:
    return Leases(name, site, TTL, 0.05, TARGETS)


def test_a_lone_node_holds_every_target_of_its_site(engines) -> None:
    a = leases("a")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        gained, lost = a.step(conn, T0)
    assert gained == set(TARGETS) and lost == set()
    assert all(a.owns(d, k, T0) for d, k in TARGETS)
    assert not a.owns("dev00", "icmp", T0 + timedelta(seconds=TTL)), "its own copy expires"


def test_a_joining_node_gets_its_share_and_the_first_gives_back_the_rest(engines) -> None:
    a, b = leases("a"), leases("b")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        a.step(conn, T0)
    t = T0 + timedelta(seconds=10)
    with engines.write.begin() as conn:
        beat(conn, "a", t)
        beat(conn, "b", t)
        assert b.step(conn, t) == (set(), set()), "nothing free: no stampede"
        _, lost = a.step(conn, t)
        gained, _ = b.step(conn, t)
    assert len(lost) == 5 and gained == lost
    assert set(a.held).isdisjoint(b.held) and set(a.held) | set(b.held) == TARGETS


def test_a_dead_nodes_targets_are_taken_over_after_the_ttl_only(engines) -> None:
    a, b = leases("a"), leases("b")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        beat(conn, "b", T0)
        a.step(conn, T0)
        b.step(conn, T0)
        a.step(conn, T0)
        b.step(conn, T0)
    assert len(a.held) == 5 and len(b.held) == 5
    # a dies: no more heartbeats, no more renewals
    before = T0 + timedelta(seconds=TTL - 1)
    with engines.write.begin() as conn:
        beat(conn, "b", before)
        gained, _ = b.step(conn, before)
    assert gained == set(), "a's leases still hold"
    after = T0 + timedelta(seconds=TTL + 1)
    with engines.write.begin() as conn:
        beat(conn, "b", after)
        gained, _ = b.step(conn, after)
    assert gained == set(a.held) and set(b.held) == TARGETS


def test_a_killed_nodes_targets_are_claimed_as_its_leases_lapse(engines) -> None:
    a, b = leases("a"), leases("b")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        beat(conn, "b", T0)
        a.step(conn, T0)
        b.step(conn, T0)
        a.step(conn, T0)
    last = T0 + timedelta(seconds=TTL / 3)  # a's last heartbeat and renewal; then SIGKILL
    with engines.write.begin() as conn:
        beat(conn, "a", last)
        beat(conn, "b", last)
        a.step(conn, last)
        b.step(conn, last)
    lapse = last + timedelta(seconds=TTL)
    for k in (1, 2):  # b carries on renewing
        t = last + timedelta(seconds=k * TTL / 3)
        with engines.write.begin() as conn:
            beat(conn, "b", t)
            assert b.step(conn, t) == (set(), set())
    assert b.others_expire == lapse, "b knows when to look again"
    just_after = lapse + timedelta(seconds=0.1)  # a's heartbeat is younger than the TTL still
    with engines.write.begin() as conn:
        beat(conn, "b", just_after)
        gained, _ = b.step(conn, just_after)
    assert gained == set(a.held) and set(b.held) == TARGETS
    assert b.others_expire is None


def test_a_node_that_lost_its_leases_while_alive_gets_its_share_back(engines) -> None:
    a, b = leases("a"), leases("b")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        beat(conn, "b", T0)
        a.step(conn, T0)
        b.step(conn, T0)
        a.step(conn, T0)
    cut = T0 + timedelta(seconds=TTL + 1)  # a could not reach the store for a whole TTL
    with engines.write.begin() as conn:
        beat(conn, "b", cut)
        b.step(conn, cut)
    assert set(b.held) == TARGETS
    back = cut + timedelta(seconds=1)
    with engines.write.begin() as conn:
        beat(conn, "a", back)
        beat(conn, "b", back)
        assert a.step(conn, back) == (set(), set(a.held)) and a.held == {}
        _, given = b.step(conn, back)
        gained, _ = a.step(conn, back)
    assert len(given) == 5 and gained == given


def test_a_steady_round_is_two_statements_and_reads_no_lease_rows(engines) -> None:
    a = leases("a")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        a.step(conn, T0)
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.split()[0].upper())

    t = T0 + timedelta(seconds=TTL / 3)
    sa.event.listen(engines.write, "before_cursor_execute", count)
    try:
        with engines.write.begin() as conn:
            a.step(conn, t)
    finally:
        sa.event.remove(engines.write, "before_cursor_execute", count)
    statements = [s for s in seen if s in ("SELECT", "UPDATE", "INSERT", "DELETE")]
    assert statements == ["UPDATE", "SELECT"], seen
    assert set(a.held) == TARGETS and all(u == t + timedelta(seconds=TTL) for u in a.held.values())


def test_a_restarted_node_adopts_the_leases_it_still_holds(engines) -> None:
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        leases("a").step(conn, T0)
    again = leases("a")  # same name, a fresh process: its own copy is empty
    t = T0 + timedelta(seconds=1)
    with engines.write.begin() as conn:
        gained, _ = again.step(conn, t)
        until = conn.execute(sa.select(sa.func.max(probe_leases.c.lease_until))).scalar_one()
    assert gained == set(TARGETS) and until == t + timedelta(seconds=TTL)


def test_node_bookkeeping_does_not_queue_behind_the_writer(engines) -> None:
    """A heartbeat and a lease round run in their own transaction while the writer is busy in
    one of its own: beside it on PostgreSQL, right after its commit on SQLite."""
    writer = Writer(engines.write)
    writer.start()
    inside, release = threading.Event(), threading.Event()
    node = Node(name="a", site="waw")
    a = leases("a")

    def busy(conn: sa.Connection) -> None:
        beat(conn, "other", T0, "prg")
        inside.set()
        release.wait(30)

    async def run() -> tuple[set, bool]:
        blocked = writer.submit_sync(busy)
        queued = writer.submit_sync(lambda conn: beat(conn, "queued", T0, "prg"))
        await asyncio.to_thread(inside.wait, 30)

        def round_(conn: sa.Connection) -> set:
            registry.heartbeat(conn, node, T0)
            return a.step(conn, T0)[0]

        job = asyncio.ensure_future(side.run(engines, round_))
        if engines.is_sqlite:
            await asyncio.sleep(0)
            release.set()
        gained = await job
        still_busy = not blocked.done()
        release.set()
        blocked.result(30)
        queued.result(30)
        return gained, still_busy

    try:
        gained, still_busy = asyncio.run(run())
    finally:
        release.set()
        writer.stop()
    assert gained == set(TARGETS)
    if not engines.is_sqlite:
        assert still_busy, "the round committed while the writer's transaction was open"
    with engines.read.connect() as conn:
        names = set(conn.execute(sa.select(nodes.c.name)).scalars())
    assert {"a", "other", "queued"} <= names


def test_a_clean_stop_gives_every_lease_back_at_once(engines) -> None:
    a, b = leases("a"), leases("b")
    with engines.write.begin() as conn:
        beat(conn, "a", T0)
        a.step(conn, T0)
        a.release(conn)
        conn.execute(sa.update(nodes).where(nodes.c.name == "a").values(stopped_at=T0))
        beat(conn, "b", T0)
        gained, _ = b.step(conn, T0)
    assert gained == set(TARGETS)


def test_sites_hold_their_own_leases(engines) -> None:
    w, p = leases("w", "waw"), leases("p", "prg")
    with engines.write.begin() as conn:
        beat(conn, "w", T0, "waw")
        beat(conn, "p", T0, "prg")
        w.step(conn, T0)
        p.step(conn, T0)
    assert set(w.held) == TARGETS and set(p.held) == TARGETS


def test_down_needs_the_quorum_of_sites_and_impaired_sites_count_neither_way() -> None:
    up, down, unknown = State.UP, State.DOWN, State.UNKNOWN
    need = quorum.threshold("quorum", 2, 2)
    assert quorum.decide({"waw": down, "prg": up}, need) is up
    assert quorum.decide({"waw": down, "prg": down}, need) is down
    assert quorum.decide({"waw": unknown, "prg": up}, need) is up
    assert quorum.decide({"waw": unknown, "prg": unknown}, need) is unknown
    assert quorum.decide({"waw": down, "prg": up}, quorum.threshold("any", 2, 2)) is down
    assert quorum.decide({"waw": down, "prg": up}, quorum.threshold("all", 1, 2)) is up
    assert quorum.threshold("quorum", 3, 2) == 2, "capped at the device's sites"


def test_a_fair_share_leaves_a_margin_before_giving_back() -> None:
    assert quorum.fair_share(300, 2, 0.05) == (150, 158)
    assert quorum.fair_share(10, 0, 0.05) == (10, 11)
