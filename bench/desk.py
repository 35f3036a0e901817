"""The desk under load: queue pages against a bare Jinja2 render, and live-event fan-out.
Prints figures; not a test.

    .venv/bin/python bench/desk.py [--tickets 10000] [--customers 100] [--desks 50]

1. Pages: 10,000 open tickets across 100 customers in a SQLite store (new, in progress,
   waiting), served by `slabridge serve` (a subprocess). An engineer signs in and asks for
   the first page of every view 50 times; side by side, in this process, the same 50 rows
   (already in memory, countdowns computed) are rendered with the same Jinja2 template.
   Target: p95 < 150 ms and ≤ 5× the bare render.
2. Fan-out: 50 desks connected to /desk/events while new alerts arrive (one per request,
   8 senders); for every new ticket, the delay from the webhook's 2xx to its arrival at each
   desk; and the webhook p99 with the 50 desks connected against the same load with none.
   Targets: delivery p99 < 1 s; ingest p99 with desks ≤ 1.5× without.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge import tickets as tk  # noqa: E402
from bridge.accounts import users  # noqa: E402
from bridge.app import StoreOptions, open_store  # noqa: E402
from bridge.config import parse_config  # noqa: E402
from bridge.lifecycle import Origin, Priority, Status  # noqa: E402
from bridge.sla_live import Policies  # noqa: E402
from bridge.web import queue as q  # noqa: E402
from bridge.web.render import render  # noqa: E402

TOKEN = "bench-token"
PASSWORD = "bench password"
REQUESTS = 50


def bench_config(customers: int) -> str:
    data = yaml.safe_load((REPO / "config" / "example.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    for c in range(customers):
        data["customers"].append(
            {"id": f"cust{c:03d}", "name": f"Customer {c}", "contract": f"BENCH-{c:03d}",
             "timezone": "Europe/Warsaw", "sla_policy": "gold" if c % 2 else "silver"})
    data["sources"].append({"name": "bench", "type": "alertmanager",
                            "auth": {"type": "bearer", "token": TOKEN},
                            "routing": [{"label": "customer", "to": "customer"}]})
    data["major_incidents"]["threshold"] = 1_000_000
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def fill(url: str, cfg: Any, n: int, customers: int) -> None:
    engines = open_store(StoreOptions(url))
    now = datetime.now(UTC)
    prio = list(Priority)
    with engines.write.begin() as conn:
        for who in ("alice", "bob"):
            users.add(conn, cfg, name=who, role="engineer", password=PASSWORD, now=now)
        for i in range(n):
            at = now - timedelta(minutes=(n - i) % 600)
            row = tk.create(conn, cfg, customer_id=f"cust{i % customers:03d}",
                            title=f"bench ticket {i}", origin=Origin.MONITORING,
                            priority=prio[i % 4], at=at, actor="bench", now=now)
            if i % 5 >= 2:
                row = tk.assign(conn, row, ("alice", "bob", "carl")[i % 3], at=at, actor="bench",
                                now=now)
            if i % 5 == 4:
                tk.transition(conn, row, Status.WAITING, cfg=cfg, at=at, actor="bench", now=now)
    engines.dispose()


def start_serve(cfg_path: Path, data: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "serve", "--config", str(cfg_path), "--host",
         "127.0.0.1", "--port", str(port), "--no-probes", "--data-dir", str(data)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("slabridge serve did not start") from None
            time.sleep(0.2)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


async def sign_in(session: aiohttp.ClientSession, base: str, name: str) -> None:
    async with session.post(f"{base}/login", data={"username": name, "password": PASSWORD},
                            allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()


def person() -> aiohttp.ClientSession:
    """A browser-like client: keeps the session cookie of a loopback IP address."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def pages(base: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    async with person() as session:
        await sign_in(session, base, "alice")
        async with session.get(f"{base}/desk?view=all") as resp:  # warms the countdown cache
            assert resp.status == 200
        for view in q.VIEWS:
            times = []
            for _ in range(REQUESTS):
                t0 = time.perf_counter()
                async with session.get(f"{base}/desk", params={"view": view},
                                       allow_redirects=False) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                times.append(time.perf_counter() - t0)
            out[view] = times
    return out


def bare_render(url: str, cfg: Any) -> dict[str, list[float]]:
    """The same first pages rendered from rows already in memory (no store, no HTTP)."""
    from types import SimpleNamespace

    from bridge.accounts.users import User
    from bridge.config import Role
    from bridge.lifecycle import Line
    from bridge.tickets import TicketKey
    from sla.instants import to_epoch

    engines = open_store(StoreOptions(url))
    policies = Policies.from_config(cfg)
    now = datetime.now(UTC)
    with engines.read.connect() as conn:
        items = q.QueueCache().items(conn, policies, now)
    engines.dispose()
    user = User(1, "alice", Role.ENGINEER, None, Line.L1, False)
    session = SimpleNamespace(user=user, csrf="x" * 43)
    out = {}
    for view in q.VIEWS:
        query = q.QueueQuery(view=view)
        result = q.build(items, query, "alice", "L1")
        times = []
        for _ in range(REQUESTS):
            t0 = time.perf_counter()
            render("queue.html", session=session, query=query, result=result, views=q.VIEWS,
                   sorts=q.SORTS, bulletin=[], keys=TicketKey("INC"), now=now,
                   now_epoch=to_epoch(now), can_act=True, bulk={"take": "Take"},
                   lines=["L1", "L2", "L3"], customers=[c.id for c in cfg.customers],
                   choices=q._CHOICES)
            times.append(time.perf_counter() - t0)
        out[view] = times
    return out


def am_body(customer: str) -> bytes:
    fp = uuid.uuid4().hex[:16]
    return json.dumps({
        "receiver": "slabridge", "status": "firing", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "version": "4",
        "groupKey": "{}:{}", "truncatedAlerts": 0,
        "alerts": [{"status": "firing",
                    "labels": {"alertname": f"Bench{fp}", "customer": customer},
                    "annotations": {"summary": f"bench {fp}"},
                    "startsAt": "2026-10-05T07:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": fp}],
    }).encode()


async def ingest(base: str, seconds: float, senders: int,
                 sent: dict[str, float] | None) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def sender(k: int) -> None:
        async with aiohttp.ClientSession() as session:
            n = 0
            while time.monotonic() < stop:
                n += 1
                t0 = time.perf_counter()
                async with session.post(f"{base}/api/v1/alerts/bench", headers=headers,
                                        data=am_body(f"cust{(k * 7 + n) % 100:03d}")) as resp:
                    body = await resp.json()
                    assert resp.status == 200, body
                done = time.perf_counter()
                latencies.append(done - t0)
                if sent is not None:
                    for key in body["tickets"]:
                        sent[key] = done
                await asyncio.sleep(0.05)

    await asyncio.gather(*(sender(k) for k in range(senders)))
    return latencies


async def fanout(base: str, desks: int, seconds: float) -> tuple[list[float], list[float], int]:
    sent: dict[str, float] = {}
    arrivals: list[tuple[str, float]] = []
    ready = asyncio.Event()
    connected = 0

    async def desk() -> None:
        nonlocal connected
        async with person() as session:
            await sign_in(session, base, "bob")
            async with session.get(f"{base}/desk/events",
                                   timeout=aiohttp.ClientTimeout(total=None)) as resp:
                connected += 1
                if connected == desks:
                    ready.set()
                event = ""
                async for raw in resp.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "ticket":
                        msg = json.loads(line[6:])
                        if msg["kind"] == "created":
                            arrivals.append((msg["id"], time.perf_counter()))

    tasks = [asyncio.create_task(desk()) for _ in range(desks)]
    await asyncio.wait_for(ready.wait(), 60)
    latencies = await ingest(base, seconds, 8, sent)
    await asyncio.sleep(2)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = [at - sent[key] for key, at in arrivals if key in sent]
    return latencies, delays, len(sent)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--customers", type=int, default=100)
    ap.add_argument("--desks", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="slabridge-desk-bench-") as tmp:
        tmpdir = Path(tmp)
        cfg_text = bench_config(args.customers)
        cfg_path = tmpdir / "bench.yaml"
        cfg_path.write_text(cfg_text, encoding="utf-8")
        cfg = parse_config(cfg_text, str(cfg_path), env={})
        data = tmpdir / "var"
        data.mkdir()
        url = f"sqlite:///{data / 'slabridge.db'}"
        t0 = time.perf_counter()
        fill(url, cfg, args.tickets, args.customers)
        print(f"store: {args.tickets} open tickets, {args.customers} customers "
              f"(filled in {time.perf_counter() - t0:.1f} s)")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_serve(cfg_path, data, port)
        try:
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"{base}/healthz"):
                pass
            served = asyncio.run(pages(base))
            bare = bare_render(url, cfg)
            print(f"\n1. first page of each view, {REQUESTS} requests each "
                  "(served = HTTP through slabridge; bare = Jinja2 render of the same rows)")
            print(f"{'view':<12}{'served p50':>14}{'served p95':>14}{'bare p50':>14}"
                  f"{'bare p95':>14}{'ratio p95':>11}")
            for view in q.VIEWS:
                s, b = served[view], bare[view]
                print(f"{view:<12}{ms(statistics.median(s)):>14}{ms(pct(s, 95)):>14}"
                      f"{ms(statistics.median(b)):>14}{ms(pct(b, 95)):>14}"
                      f"{pct(s, 95) / pct(b, 95):>10.1f}×")
            base_lat = asyncio.run(ingest(base, args.seconds, 8, None))
            with_lat, delays, opened = asyncio.run(fanout(base, args.desks, args.seconds))
            print(f"\n2. fan-out to {args.desks} desks: {opened} new tickets, "
                  f"{len(delays)} deliveries (expected {opened * args.desks})")
            if delays:
                print(f"   delivery after the webhook's 2xx: p50 {ms(statistics.median(delays))}"
                      f", p99 {ms(pct(delays, 99))}, max {ms(max(delays))}")
            print(f"   webhook p99 without desks {ms(pct(base_lat, 99))} "
                  f"({len(base_lat)} requests), with {args.desks} desks "
                  f"{ms(pct(with_lat, 99))} ({len(with_lat)} requests): "
                  f"{pct(with_lat, 99) / pct(base_lat, 99):.2f}×")
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
