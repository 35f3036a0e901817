"""Benchmark: one ICMP cycle over 1,000 and 10,000 loopback addresses, against fping.

Prints wall and CPU seconds and peak RSS of each run, every run a child process measured by
GNU time (so interpreter start-up counts as fping's start-up does), the sweep alone as
measured inside our child, and the ratios to fping. Targets: <= 3x fping wall and CPU,
peak < 100 MB. Loopback only (127.50.0.0/16): every 127.x address answers on Linux.
Needs root (raw socket, fping -i 0).

    .venv/bin/python bench/ping_cycle.py [--sizes 1000,10000] [--timeout-ms 500]
                                         [--silent-hosts 10000 --silent-share 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def addresses(n: int) -> list[str]:
    return [f"127.50.{i // 250}.{i % 250 + 1}" for i in range(n)]


def child(list_path: str, timeout_ms: int) -> None:
    """Runs inside the measured child: one sweep, prints JSON."""
    from probes.icmp import Pinger, detect_icmp_capability

    targets = Path(list_path).read_text().split()

    async def sweep_once() -> dict:
        t0, c0 = time.perf_counter(), time.process_time()
        async with Pinger(detect_icmp_capability()) as pinger:
            res = await pinger.sweep(targets, count=1, timeout=timeout_ms / 1000)
        return {
            "sweep_wall": time.perf_counter() - t0,
            "sweep_cpu": time.process_time() - c0,
            "alive": sum(r.received > 0 for r in res.values()),
        }

    print(json.dumps(asyncio.run(sweep_once())))


def measure(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall s, cpu s, peak RSS MB, stdout) of one child process.

    GNU time reports the child's own peak RSS; os.wait4 after a fork from this Python
    process would report the parent's size copied at fork time instead.
    """
    gnu_time = "/usr/bin/time"
    if not Path(gnu_time).exists():
        raise SystemExit("GNU time not found: apt-get install time")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [gnu_time, "-q", "-o", tf.name, "-f", "%U %S %M", *cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        wall = time.perf_counter() - t0
        user, system, max_kb = tf.read().split()[-3:]
    if proc.returncode not in (0, 1):  # fping exits 1 when some host is unreachable
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}")
    return wall, float(user) + float(system), int(max_kb) / 1024, proc.stdout.decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--timeout-ms", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; best wall is shown")
    ap.add_argument("--silent-hosts", type=int, default=10000)
    ap.add_argument("--silent-share", type=float, default=0.1, help="0: skip the silent case")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.timeout_ms)
        return
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping not found: apt-get install fping")
    print(
        f"ICMP cycle, count=1, timeout {args.timeout_ms} ms, best of {args.repeat}; "
        f"fping: -q -C1 -t{args.timeout_ms} -i0 -r0 -f LIST (no inter-packet wait)"
    )
    print(
        f"{'hosts':>6} {'tool':<10} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
        f"{'alive':>6}  sweep-only wall/cpu s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"list{n}"
            path.write_text("\n".join(addresses(n)) + "\n")
            fp_cmd = [fping, "-q", "-C1", f"-t{args.timeout_ms}", "-i0", "-r0", "-f", str(path)]
            py_cmd = [
                sys.executable,
                __file__,
                "--child",
                str(path),
                "--timeout-ms",
                str(args.timeout_ms),
            ]
            fp = min((measure(fp_cmd) for _ in range(args.repeat)), key=lambda m: m[0])
            py = min((measure(py_cmd) for _ in range(args.repeat)), key=lambda m: m[0])
            info = json.loads(py[3])
            print(f"{n:>6} {'fping':<10} {fp[0]:8.3f} {fp[1]:8.3f} {fp[2]:8.1f} {'':>6}")
            print(
                f"{n:>6} {'slabridge':<10} {py[0]:8.3f} {py[1]:8.3f} {py[2]:8.1f} "
                f"{info['alive']:>6}  {info['sweep_wall']:.3f}/{info['sweep_cpu']:.3f}"
            )
            print(
                f"{n:>6} {'ratio':<10} {py[0] / fp[0]:7.2f}x {py[1] / max(fp[1], 1e-3):7.2f}x"
                f"   (sweep only: {info['sweep_wall'] / fp[0]:.2f}x wall, "
                f"{info['sweep_cpu'] / max(fp[1], 1e-3):.2f}x cpu)"
            )

    if args.silent_share > 0:
        silent_case(args, fping)


def silent_case(args: argparse.Namespace, fping: str) -> None:
    """The case users meet every day: 10,000 hosts of which a share never answers (an nft rule
    drops their echo requests on lo), in the same run as fping. Target: <= 1.2x fping's wall
    (the silent hosts' shared timeout dominates both)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.probe_helpers import NftDrop, require_binary

    n = args.silent_hosts
    hosts = addresses(n)
    step = max(1, round(1 / args.silent_share))
    silent = hosts[::step]
    nft = NftDrop(require_binary("nft", "nftables"), "slabridge_bench_silent")
    nft.create()
    try:
        nft.drop(*silent)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "list"
            path.write_text("\n".join(hosts) + "\n")
            fp_cmd = [fping, "-q", "-C1", f"-t{args.timeout_ms}", "-i0", "-r0", "-f", str(path)]
            py_cmd = [
                sys.executable,
                __file__,
                "--child",
                str(path),
                "--timeout-ms",
                str(args.timeout_ms),
            ]
            fp = min((measure(fp_cmd) for _ in range(args.repeat)), key=lambda m: m[0])
            py = min((measure(py_cmd) for _ in range(args.repeat)), key=lambda m: m[0])
            info = json.loads(py[3])
    finally:
        nft.remove()
    print(f"{n} hosts, {len(silent)} silent ({args.silent_share:.0%}, nft drop):")
    print(f"{n:>6} {'fping':<10} {fp[0]:8.3f} {fp[1]:8.3f} {fp[2]:8.1f} {'':>6}")
    print(
        f"{n:>6} {'slabridge':<10} {py[0]:8.3f} {py[1]:8.3f} {py[2]:8.1f} "
        f"{info['alive']:>6}  {info['sweep_wall']:.3f}/{info['sweep_cpu']:.3f}"
    )
    print(f"{n:>6} {'ratio':<10} {py[0] / fp[0]:7.2f}x wall (target <= 1.2x)")


if __name__ == "__main__":
    main()
