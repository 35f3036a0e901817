"""Benchmark: probing N devices on 1, 2 and 4 `slabridge serve` nodes against one PostgreSQL.

Prints, per node count: CPU seconds per cycle per node (from /proc, the whole process) against
the one-node figure divided by N, the sweep wall time (each node's probe log), the database
work the leases and heartbeats add (statements per second by design: a steady lease round is
one UPDATE and one SELECT every third of the TTL, a heartbeat one UPDATE; and the measured time
of one lease round and one heartbeat against the same database, as a share of a cycle), and,
on the largest node count, the takeover time after SIGKILL of one node against TTL + interval.
Loopback only (127.70.0.0/16). Needs root (raw ICMP) and the PostgreSQL binaries the tests use.

    .venv/bin/python bench/scale.py [--devices 20000] [--interval 30] [--nodes 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from tests.nodes.cluster import Cluster  # noqa: E402
from tests.peers.postgres import PostgresCluster  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class BenchCluster(Cluster):
    def __init__(self, url: str, nodes: int, devices: int, interval: float, ttl: float) -> None:
        self.log_dir = Path(__import__("tempfile").mkdtemp(prefix="slabridge-scale-"))

        def edit(data: dict[str, Any]) -> None:
            data["devices"] = [
                {
                    "id": f"d{i:05d}",
                    "customer": "acme",
                    "ip": f"127.70.{i // 250}.{i % 250 + 1}",
                    "probe": {"icmp": {"interval": f"{interval:g}s", "count": 1, "timeout": "1s"}},
                }
                for i in range(devices)
            ]
            data["maintenance"] = []
            data["probing"] = {
                "down_after": 3, "up_after": 2, "jitter": "1s", "batch_size": 5000,
                "lease_ttl": f"{ttl:g}s", "probe_log": str(self.log_dir / "p-{node}.jsonl"),
            }  # fmt: skip
            data["nodes"] = {"heartbeat_interval": "5s", "down_after": f"{max(ttl, 10):g}s"}
            # the everyday timers (the test cluster runs them every second): their cost is
            # not probing's, and every node would pay it whatever its share
            for timer in ("autoclose_interval", "sla_check_interval"):
                data["service"].pop(timer, None)

        super().__init__(url, nodes, edit=edit)

    def argv(self, node: Any) -> list[str]:
        return [a for a in super().argv(node) if a != "--no-probes"]

    def sweeps(self) -> list[dict[str, Any]]:
        out = []
        for path in self.log_dir.glob("p-*.jsonl"):
            for line in path.read_text().splitlines():
                row = json.loads(line)
                row["at"] = datetime.fromisoformat(row["at"])
                out.append(row)
        return sorted(out, key=lambda r: r["at"])


def held(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT node, count(*) FROM probe_leases WHERE lease_until > now() "
                    "AND node IS NOT NULL GROUP BY node"
                )
            ).all()
        )


def decided_up(engine: sa.Engine) -> int:
    """Devices whose decided ICMP state is an open *up* interval."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM device_states WHERE site = '*' AND \"check\" = 'icmp' "
                "AND ended_at IS NULL AND state = 'up'"
            )
        ).scalar_one()


def wait(what: str, pred, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.5)
    raise SystemExit(f"{what}: not within {timeout:g}s")


def lease_round_seconds(url: str, devices: int, ttl: float) -> tuple[float, float]:
    """(one steady lease round of a node holding `devices` targets, one heartbeat), seconds,
    each its own transaction as the nodes run them."""
    from bridge.nodes import registry
    from bridge.nodes.identity import Node
    from bridge.probing.leases import Leases

    engine = sa.create_engine(url)
    targets = frozenset((f"d{i:05d}", "icmp") for i in range(devices))
    lease = Leases("bench-probe", "bench", ttl, 0.05, targets)
    node = Node(name="bench-probe", site="bench")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        registry.register(conn, node, now, ttl)
        lease.step(conn, now)
    t0 = time.perf_counter()
    for k in range(5):
        with engine.begin() as conn:
            lease.step(conn, now + timedelta(seconds=k + 1))
    t1 = time.perf_counter()
    for k in range(5):
        with engine.begin() as conn:
            registry.heartbeat(conn, node, now + timedelta(seconds=k + 1))
    t2 = time.perf_counter()
    with engine.begin() as conn:
        lease.release(conn)
        registry.sign_off(conn, node, now)
    engine.dispose()
    return (t1 - t0) / 5, (t2 - t1) / 5


def run(pg: PostgresCluster, n: int, args: argparse.Namespace, base: float | None) -> float:
    url = pg.create_database(f"scale_{n}")
    c = BenchCluster(url, n, args.devices, args.interval, args.ttl)
    engine = sa.create_engine(url)
    try:
        c.start(timeout=300)
        share = -(-args.devices // n)
        wait("leases settled", lambda: sum(held(engine).values()) == args.devices
             and max(held(engine).values()) <= share * 1.05 + 1, 6 * args.ttl + 120)  # fmt: skip
        # past the start-up burst: every target's first *up* is a state write and an alert
        # check, far more work than a steady cycle; measure from the first sweeps after it
        wait("every device decided up", lambda: decided_up(engine) == args.devices,
             30 * args.interval + 600)  # fmt: skip
        time.sleep(args.interval)
        pids = [node.process.proc.pid for node in c.nodes if node.process]
        cpu0 = [cpu_seconds(p) for p in pids]
        t0 = datetime.now(UTC)
        time.sleep(args.cycles * args.interval)
        cpu = [cpu_seconds(p) - c0 for p, c0 in zip(pids, cpu0, strict=True)]
        per_cycle = sum(cpu) / len(cpu) / args.cycles
        sweeps = [s for s in c.sweeps() if s["at"] >= t0]
        walls = [s["seconds"] for s in sweeps]
        ideal = (base / n) if base else per_cycle
        beats = 1 / 5  # nodes.heartbeat_interval 5 s: one UPDATE each
        statements = n * (2 / (args.ttl / 3) + beats)  # a steady lease round: 2 statements
        step, beat = lease_round_seconds(url, -(-args.devices // n), args.ttl)
        rounds_per_cycle = args.interval / (args.ttl / 3)
        busy = step * rounds_per_cycle + beat * beats * args.interval
        print(f"{n} node(s), {args.devices} devices, ICMP every {args.interval:g}s:")
        print(f"  CPU s/cycle/node {per_cycle:.2f}  (one-node/N {ideal:.2f}, "
              f"ratio {per_cycle / ideal:.2f})")  # fmt: skip
        if walls:
            print(
                f"  sweep wall s: median {sorted(walls)[len(walls) // 2]:.2f}, max {max(walls):.2f}"
            )
        print(f"  leases+heartbeats: {statements:.2f} statements/s; one lease round "
              f"{step * 1000:.1f} ms, one heartbeat {beat * 1000:.1f} ms: "
              f"{100 * busy / args.interval:.2f} % of a cycle per node")  # fmt: skip
        if n == max(args.node_counts):
            victim = c.nodes[-1]
            theirs_n = held(engine).get(victim.name, 0)
            with engine.connect() as conn:
                theirs = {
                    r[0]
                    for r in conn.execute(
                        sa.text("SELECT device_id FROM probe_leases WHERE node = :n"),
                        {"n": victim.name},
                    )
                }
            killed = datetime.now(UTC)
            c.kill(len(c.nodes) - 1)
            bound = args.ttl + args.interval
            time.sleep(bound + 5)
            first: dict[str, datetime] = {}
            for s in c.sweeps():
                if s["at"] > killed and s["node"] != victim.name:
                    for d in s["devices"]:
                        first.setdefault(d, s["at"])
            got = sorted(first[d] - killed for d in theirs if d in first)
            worst = got[-1].total_seconds() if got else float("nan")
            median = got[len(got) // 2].total_seconds() if got else float("nan")
            print(f"  SIGKILL of {victim.name} ({theirs_n} targets): {len(got)} taken over, "
                  f"median {median:.1f}s, worst {worst:.1f}s after the kill "
                  f"(TTL {args.ttl:g} + interval {args.interval:g} = {bound:.1f}s)")  # fmt: skip
        return per_cycle
    finally:
        engine.dispose()
        keep = os.environ.get("SCALE_KEEP_LOGS")  # probe logs and node logs, for a look
        if keep:
            c.stop()
            __import__("shutil").copytree(c.tmpdir, c.log_dir / "nodes", dirs_exist_ok=True)
            print(f"  logs kept in {c.log_dir}")
        c.cleanup()
        if not keep:
            __import__("shutil").rmtree(c.log_dir, ignore_errors=True)
        pg.drop_database(f"scale_{n}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=20000)
    ap.add_argument("--interval", type=float, default=30)
    ap.add_argument("--ttl", type=float, default=30)
    ap.add_argument("--cycles", type=int, default=2)
    ap.add_argument("--nodes", default="1,2,4")
    args = ap.parse_args()
    args.node_counts = [int(x) for x in args.nodes.split(",")]
    with PostgresCluster() as pg:
        base = None
        for n in args.node_counts:
            figure = run(pg, n, args, base)
            base = base or figure


if __name__ == "__main__":
    main()
