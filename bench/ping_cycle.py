"""Benchmark: one ICMP cycle over 1,000 and 10,000 loopback addresses, against fping.

Prints wall and CPU seconds and peak RSS of each run, every run a child process measured by
GNU time (so interpreter start-up counts as fping's start-up does), the sweep alone as
measured inside our child, and the ratios to fping. Targets: <= 3x fping wall and CPU,
peak < 100 MB. Loopback only (127.50.0.0/16): every 127.x address answers on Linux.
Then the everyday case: 10,000 hosts of which 10 % never answer (target <= 1.2x fping's wall).
Needs root (raw socket, fping -i 0, nft).

The child imports only what a sweep needs (the harness's own modules are imported in main),
and runs with Python's bytecode cache on, in a temporary directory (PYTHONPYCACHEPREFIX), as
an installed package has its .pyc files; one unmeasured run fills the cache first.

    .venv/bin/python bench/ping_cycle.py [--sizes 1000,10000] [--timeout-ms 500]
                                         [--silent-hosts 10000 --silent-share 0.1]
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

ROOT = __file__.rsplit("/", 2)[0]


def addresses(n: int) -> list[str]:
    return [f"127.50.{i // 250}.{i % 250 + 1}" for i in range(n)]


def child(list_path: str, timeout_ms: int) -> None:
    """Runs inside the measured child: one sweep, prints JSON (without importing json)."""
    import asyncio

    from probes.icmp import Pinger, detect_icmp_capability

    with open(list_path, encoding="ascii") as fh:
        targets = fh.read().split()

    async def sweep_once() -> tuple[float, float, int]:
        t0, c0 = time.perf_counter(), time.process_time()
        async with Pinger(detect_icmp_capability()) as pinger:
            res = await pinger.sweep(targets, count=1, timeout=timeout_ms / 1000)
        alive = sum(r.received > 0 for r in res.values())
        return time.perf_counter() - t0, time.process_time() - c0, alive

    wall, cpu, alive = asyncio.run(sweep_once())
    print(f'{{"sweep_wall": {wall}, "sweep_cpu": {cpu}, "alive": {alive}}}')


def child_cmd(list_path: str, timeout_ms: int) -> list[str]:
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r}); from bench.ping_cycle import child; "
        f"child({list_path!r}, {timeout_ms})"
    )
    return [sys.executable, "-c", code]


def child_env(pycache: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(wall s, cpu s, peak RSS MB, stdout) of one child process.

    GNU time reports the child's own peak RSS; os.wait4 after a fork from this Python
    process would report the parent's size copied at fork time instead.
    """
    import subprocess
    import tempfile
    from pathlib import Path

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
            env=env,
        )
        wall = time.perf_counter() - t0
        user, system, max_kb = tf.read().split()[-3:]
    if proc.returncode not in (0, 1):  # fping exits 1 when some host is unreachable
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}")
    return wall, float(user) + float(system), int(max_kb) / 1024, proc.stdout.decode()


Run = tuple[float, float, float, str]


def compare(
    fp_cmd: list[str], py_cmd: list[str], env: dict[str, str], repeat: int
) -> tuple[Run, Run, dict]:
    """Best wall of ``repeat`` runs of each, fping and ours taking turns (so a burst of load
    on the shared machine hits both), and what our child reported of its best run."""
    import json

    fps: list[Run] = []
    pys: list[Run] = []
    for _ in range(repeat):
        fps.append(measure(fp_cmd))
        pys.append(measure(py_cmd, env))
    fp = min(fps, key=lambda m: m[0])
    py = min(pys, key=lambda m: m[0])
    return fp, py, json.loads(py[3])


def loadavg() -> str:
    import os

    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    import argparse
    import shutil
    import tempfile
    from pathlib import Path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000", help="empty: only the silent case")
    ap.add_argument("--timeout-ms", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; best wall is shown")
    ap.add_argument("--silent-hosts", type=int, default=10000)
    ap.add_argument("--silent-share", type=float, default=0.1, help="0: skip the silent case")
    args = ap.parse_args()
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping not found: apt-get install fping")
    print(
        f"ICMP cycle, count=1, timeout {args.timeout_ms} ms, best of {args.repeat}; "
        f"fping: -q -C1 -t{args.timeout_ms} -i0 -r0 -f LIST (no inter-packet wait); "
        f"load average {loadavg()}"
    )
    print(
        f"{'hosts':>6} {'tool':<10} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
        f"{'alive':>6}  sweep-only wall/cpu s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = child_env(str(Path(tmp) / "pycache"))
        warm = Path(tmp) / "warm"
        warm.write_text("127.0.0.1\n")
        measure(child_cmd(str(warm), args.timeout_ms), env)  # fills the bytecode cache
        for n in (int(x) for x in args.sizes.split(",") if x):
            path = Path(tmp) / f"list{n}"
            path.write_text("\n".join(addresses(n)) + "\n")
            fp_cmd = [fping, "-q", "-C1", f"-t{args.timeout_ms}", "-i0", "-r0", "-f", str(path)]
            fp, py, info = compare(fp_cmd, child_cmd(str(path), args.timeout_ms), env, args.repeat)
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
            silent_case(args, fping, tmp, env)
    print(f"load average at the end: {loadavg()}")


def silent_case(args: argparse.Namespace, fping: str, tmp: str, env: dict[str, str]) -> None:
    """The case users meet every day: 10,000 hosts of which a share never answers (an nft rule
    drops their echo requests on lo), in the same run as fping. Target: <= 1.2x fping's wall
    (the silent hosts' shared timeout dominates both). Both wait the same: fping's -t is each
    host's timeout from its own request, ours one deadline after the last request; no retries
    (-r0, count 1)."""
    from pathlib import Path

    sys.path.insert(0, ROOT)
    from tests.probe_helpers import NftDrop, require_binary

    n = args.silent_hosts
    hosts = addresses(n)
    step = max(1, round(1 / args.silent_share))
    silent = hosts[::step]
    path = Path(tmp) / "silent-list"
    path.write_text("\n".join(hosts) + "\n")
    fp_cmd = [fping, "-q", "-C1", f"-t{args.timeout_ms}", "-i0", "-r0", "-f", str(path)]
    nft = NftDrop(require_binary("nft", "nftables"), "slabridge_bench_silent")
    nft.create()
    try:
        nft.drop(*silent)
        fp, py, info = compare(fp_cmd, child_cmd(str(path), args.timeout_ms), env, args.repeat)
    finally:
        nft.remove()
    print(f"{n} hosts, {len(silent)} silent ({args.silent_share:.0%}, nft drop):")
    print(f"{n:>6} {'fping':<10} {fp[0]:8.3f} {fp[1]:8.3f} {fp[2]:8.1f} {'':>6}")
    print(
        f"{n:>6} {'slabridge':<10} {py[0]:8.3f} {py[1]:8.3f} {py[2]:8.1f} "
        f"{info['alive']:>6}  {info['sweep_wall']:.3f}/{info['sweep_cpu']:.3f}"
    )
    print(
        f"{n:>6} {'ratio':<10} {py[0] / fp[0]:7.2f}x wall (target <= 1.2x); "
        f"sweep only {info['sweep_wall'] / fp[0]:.2f}x; "
        f"start-up and exit {py[0] - info['sweep_wall']:.3f} s"
    )


if __name__ == "__main__":
    main()
