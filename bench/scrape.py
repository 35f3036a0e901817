"""Benchmark: the cost of one /metrics scrape with 10,000 configured devices, and what back-to-back
scrapes do to webhook latency.

Prints figures only (never a test). Run: ``.venv/bin/python bench/scrape.py [--quick]``.

1. Scrape cost, in this process: the registry ``build_app`` makes for a generated config
   (10,000 devices with ICMP probes, 1 in 10 also SNMP, 100 customers), over a SQLite store
   holding open tickets and a month of device states, against prometheus_client's own
   ``generate_latest`` over a registry of plain labelled gauges with the same number of
   samples. Target: ≤ 1.5×. Also the cold scrape (month-to-date availability computed) and
   the time of each store-backed collector.
2. Webhook latency: ``slabridge serve`` as a subprocess on loopback with the same config;
   Alertmanager-style notifications (a pool of alerts routed to devices, so tickets open and
   then repeat) posted by a few concurrent clients, first idle, then while another client
   scrapes /metrics back to back. Target: p99 under scrapes < 2× idle p99.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
import yaml
from prometheus_client import CollectorRegistry, Gauge, generate_latest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.app import StoreOptions, build_app, open_store  # noqa: E402
from bridge.clock import SystemClock  # noqa: E402
from bridge.config import parse_config  # noqa: E402
from bridge.metrics import METRICS, AvailabilityCollector  # noqa: E402
from bridge.store.schema import device_states, tickets  # noqa: E402

N_DEVICES = 10_000
N_CUSTOMERS = 100
AM_TOKEN = "demo-alertmanager-token"
POOL = 200  # distinct alerts, so at most 200 open tickets from the webhook phase


def generated_config() -> str:
    data = yaml.safe_load((REPO / "config" / "example.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["maintenance"] = []
    for c in range(N_CUSTOMERS):
        data["customers"].append(
            {"id": f"cust{c:03d}", "name": f"Customer {c}", "contract": f"BENCH-{c:03d}",
             "timezone": "Europe/Warsaw", "sla_policy": "gold" if c % 2 else "silver"}
        )  # fmt: skip
    devices = []
    for i in range(N_DEVICES):
        probe: dict[str, Any] = {"icmp": {"interval": "30s"}}
        if i % 10 == 0:
            probe["snmp"] = {"version": "v2c", "community": "public"}
        devices.append(
            {"id": f"dev{i:05d}", "customer": f"cust{i % N_CUSTOMERS:03d}",
             "ip": device_ip(i), "probe": probe}
        )  # fmt: skip
    data["devices"] = devices
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def am_body(i: int, now: datetime) -> dict[str, Any]:
    dev = (i % POOL) * (N_DEVICES // POOL)  # a pool of alerts: tickets open, then repeat
    fp = f"{dev:016x}"
    ip = device_ip(dev)
    return {
        "receiver": "slabridge",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "DeviceDown",
                    "instance": f"{ip}:9100",
                    "severity": "critical",
                },  # fmt: skip
                "annotations": {"summary": f"device {dev} down"},
                "startsAt": now.isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph",
                "fingerprint": fp,
            }
        ],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
    }


def device_ip(i: int) -> str:
    return f"127.{10 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}"


def fill_states(engine: sa.Engine, now: datetime) -> None:
    """A month of ICMP states per device: up, with one 10-minute outage on every tenth."""
    start = now - timedelta(days=40)
    rows = []
    for i in range(N_DEVICES):
        dev = f"dev{i:05d}"
        if i % 10 == 0:
            cut = now - timedelta(days=2)
            rows.append(_row(dev, "up", start, cut))
            rows.append(_row(dev, "down", cut, cut + timedelta(minutes=10)))
            rows.append(_row(dev, "up", cut + timedelta(minutes=10), None))
        else:
            rows.append(_row(dev, "up", start, None))
    with engine.begin() as conn:
        conn.execute(sa.insert(device_states), rows)


def _row(dev: str, state: str, start: datetime, end: datetime | None) -> dict[str, Any]:
    return {"device_id": dev, "check": "icmp", "state": state, "started_at": start,
            "ended_at": end, "detail": {}}  # fmt: skip


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def ms(x: float) -> str:
    return f"{x * 1000:8.1f} ms"


def scrape_cost(cfg_text: str, db_url: str, repeat: int) -> None:
    cfg = parse_config(cfg_text, "bench.yaml", env={})
    engines = open_store(StoreOptions(db_url))
    try:
        now = datetime.now(UTC)
        app = build_app(cfg, engines, clock=SystemClock(), run_scheduler=False)
        metrics = app[METRICS]
        registry = metrics.registry
        cold = timed(metrics.exposition, 1)[0]
        body = metrics.exposition()[0]
        warm = timed(lambda: generate_latest(registry), repeat)
        samples = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))

        plain = CollectorRegistry()
        g = Gauge("plain_gauge", "baseline", ["device"], registry=plain)
        for i in range(samples):
            g.labels(f"dev{i:05d}").set(i)
        base = timed(lambda: generate_latest(plain), repeat)

        with engines.read.connect() as conn:
            n_open = conn.execute(
                sa.select(sa.func.count()).select_from(tickets).where(tickets.c.status != "closed")
            ).scalar_one()
        print(f"registry: {samples} samples, {len(body) / 1024:.0f} KiB of text; "
              f"{n_open} open tickets")  # fmt: skip
        print(f"  slabridge scrape, cold (availability computed): {ms(cold)}")
        print(f"  slabridge scrape, warm, median of {repeat}:        {ms(statistics.median(warm))}")
        print(f"  plain gauges, same sample count, median:         {ms(statistics.median(base))}")
        ratio = statistics.median(warm) / statistics.median(base)
        print(f"  ratio (warm / plain): {ratio:.2f}x  (target <= 1.5x)")
        print("  store-backed collectors, one collect() each:")
        for c in list(registry._collector_to_names):  # noqa: SLF001 - a bench may peek
            name = type(c).__name__
            if name in ("ProcessCollector", "PlatformCollector") or hasattr(c, "_metrics"):
                continue
            t = statistics.median(timed(lambda c=c: list(c.collect()), 5))
            extra = ""
            if isinstance(c, AvailabilityCollector):
                extra = f" (cached); recompute: {ms(timed(lambda c=c: c.compute(now), 1)[0])}"
            print(f"    {name:24s} {ms(t)}{extra}")
    finally:
        engines.dispose()


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def webhook_latency(url: str, n: int, clients: int, scrape: bool) -> dict[str, float]:
    lat: list[float] = []
    scrapes: list[float] = []
    done = asyncio.Event()
    headers = {"Authorization": f"Bearer {AM_TOKEN}"}
    counter = iter(range(n))

    async with aiohttp.ClientSession() as s:

        async def sender() -> None:
            for i in counter:
                body = am_body(i, datetime.now(UTC))
                t0 = time.perf_counter()
                async with s.post(f"{url}/api/v1/alerts/prometheus", json=body,
                                  headers=headers) as r:  # fmt: skip
                    await r.read()
                    assert r.status == 200, (r.status, await r.text())
                lat.append(time.perf_counter() - t0)

        async def scraper() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                async with s.get(f"{url}/metrics") as r:
                    await r.read()
                scrapes.append(time.perf_counter() - t0)

        task = asyncio.ensure_future(scraper()) if scrape else None
        await asyncio.gather(*(sender() for _ in range(clients)))
        done.set()
        if task is not None:
            await task
    out = {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "n": len(lat)}
    if scrapes:
        out["scrapes"] = len(scrapes)
        out["scrape_p50"] = percentile(scrapes, 50)
    return out


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def webhook_bench(cfg_path: Path, data_dir: Path, n: int, clients: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).parent / "slabridge"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "bridge.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [*argv, "serve", "--config", str(cfg_path), "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
    )  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with opener.open(url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("slabridge did not start: see " + str(data_dir / "serve.log"))
            time.sleep(0.2)
        # warm up: the alert pool opens its tickets; later rounds repeat them
        asyncio.run(webhook_latency(url, min(n, 600), clients, scrape=False))
        idle = asyncio.run(webhook_latency(url, n, clients, scrape=False))
        busy = asyncio.run(webhook_latency(url, n, clients, scrape=True))
        idle2 = asyncio.run(webhook_latency(url, n, clients, scrape=False))
        print(f"webhooks ({clients} concurrent clients, {n} notifications per phase):")
        for name, r in (("idle", idle), ("scraping", busy), ("idle again", idle2)):
            extra = ""
            if "scrapes" in r:
                extra = f"   ({r['scrapes']} scrapes, scrape p50 {r['scrape_p50'] * 1000:.0f} ms)"
            print(f"  {name:11s} p50 {ms(r['p50'])}  p99 {ms(r['p99'])}{extra}")
        print(
            f"  p99 ratio scraping / idle: {busy['p99'] / idle['p99']:.2f}x against the first "
            f"idle phase, {busy['p99'] / idle2['p99']:.2f}x against the second  (target < 2x)"
        )
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    repeat = 5 if args.quick else 15
    n = 600 if args.quick else 2000
    with tempfile.TemporaryDirectory(prefix="slabridge-bench-") as tmp:
        tmpdir = Path(tmp)
        text = generated_config()
        cfg_path = tmpdir / "bench.yaml"
        cfg_path.write_text(text)
        data_dir = tmpdir / "data"
        data_dir.mkdir()
        db_url = f"sqlite:///{data_dir / 'slabridge.db'}"
        engines = open_store(StoreOptions(db_url))
        fill_states(engines.write, datetime.now(UTC))
        engines.dispose()
        print(f"{N_DEVICES} devices, {N_CUSTOMERS + 3} customers; python {sys.version.split()[0]}")
        webhook_bench(cfg_path, data_dir, n, clients=4)
        scrape_cost(text, db_url, repeat)


if __name__ == "__main__":
    main()
