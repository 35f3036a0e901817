"""Benchmark: SNMP GETs per second against a local snmpd this script starts, pysnmp (our
probes.snmp.SnmpPoller) side by side with net-snmp's snmpget, v2c and v3 authPriv SHA/AES.

What is compared: every GET is one request PDU with one OID (sysUpTime.0) and one reply.
* slabridge: N GETs from one process, at most --window in flight (one UDP socket).
* Net-SNMP's C library in one process (bench/netsnmp_get.c, built here with gcc against
  libsnmp-dev): synchronous (one GET at a time), and with --window requests in flight
  (snmp_async_send + select). This is how a user who needs speed polls with Net-SNMP.
* snmpget loop: one snmpget process per GET, --procs processes at a time. This is the
  usual way scripts use net-snmp, and is dominated by process start-up (and for v3 by the
  engine-ID discovery and key localisation each process repeats).
Target: v2c >= 1,000 GETs/s from one process. Loopback only (127.0.0.1:<free port>).

    .venv/bin/python bench/snmp_poll.py [--gets 5000] [--window 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

OID = "1.3.6.1.2.1.1.3.0"
COMMUNITY, USER, AUTH, PRIV = "bench-public", "bench", "bench-auth-pass", "bench-priv-pass"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_snmpd(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(binary).exists():
        raise SystemExit("snmpd not found: apt-get install snmpd")
    conf = workdir / "snmpd.conf"
    conf.write_text(f"rocommunity {COMMUNITY} 127.0.0.1\n"
                    f'createUser {USER} SHA "{AUTH}" AES "{PRIV}"\nrouser {USER} priv\n')
    (workdir / "persist").mkdir()
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(workdir / "persist"), MIBS="",
               MIBDIRS=str(workdir / "none"))
    log = workdir / "snmpd.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([binary, "-f", "-Lo", "-C", "-I", "-smux", "-c", str(conf), "-p",
                                 str(workdir / "pid"), f"udp:127.0.0.1:{port}"],
                                stdout=fh, stderr=subprocess.STDOUT, env=env)
    for _ in range(200):
        if "NET-SNMP version" in log.read_text(errors="replace"):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"snmpd did not start:\n{log.read_text()}")


async def bench_pysnmp(port: int, version: str, gets: int, window: int) -> tuple[float, float]:
    from probes.snmp import SnmpPoller
    from probes.spec import SnmpSettings

    if version == "2c":
        settings = SnmpSettings(version="2c", port=port, community=COMMUNITY, retries=2)
    else:
        settings = SnmpSettings(version="3", port=port, user=USER, auth_key=AUTH,
                                priv_key=PRIV, retries=2)
    async with await SnmpPoller.create(max_concurrency=window) as poller:
        await poller.get("127.0.0.1", settings, [OID])  # warm-up (v3: engine discovery)
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(poller.get("127.0.0.1", settings, [OID]) for _ in range(gets)))
        return time.perf_counter() - t0, time.process_time() - c0


def bench_snmpget(port: int, version: str, gets: int, procs: int) -> float:
    snmpget = shutil.which("snmpget")
    if snmpget is None:
        raise SystemExit("snmpget not found: apt-get install snmp")
    if version == "2c":
        cmd = [snmpget, "-v2c", "-c", COMMUNITY]
    else:
        cmd = [snmpget, "-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH,
               "-x", "AES", "-X", PRIV]
    cmd += ["-On", "-Oq", f"127.0.0.1:{port}", OID]
    env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")

    def one(_: int) -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(procs) as pool:
        list(pool.map(one, range(gets)))
    return time.perf_counter() - t0


C_CLIENT = Path(__file__).resolve().parent / "netsnmp_get.c"


def build_c_client(workdir: Path) -> Path:
    """Compile the C baseline; SystemExit naming the packages when the toolchain is missing."""
    if shutil.which("gcc") is None or shutil.which("net-snmp-config") is None:
        raise SystemExit("gcc or net-snmp-config not found: apt-get install gcc libsnmp-dev")
    flags = subprocess.run(["net-snmp-config", "--cflags", "--libs"], capture_output=True,
                           text=True, check=True).stdout.split()
    binary = workdir / "netsnmp_get"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(C_CLIENT), *flags], check=True)
    return binary


def bench_c(binary: Path, port: int, version: str, gets: int, window: int) -> tuple[float, float]:
    """(wall seconds of the GETs alone, CPU seconds of the whole process)."""
    creds = [COMMUNITY] if version == "2c" else [USER, AUTH, PRIV]
    cmd = [str(binary), f"udp:127.0.0.1:{port}", OID, str(gets), str(window), version, *creds]
    env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")
    before = os.times()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    after = os.times()
    fields = dict(part.split("=") for part in out.split())
    if int(fields["failed"]):
        raise SystemExit(f"C client: {out}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return float(fields["seconds"]), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gets", type=int, default=5000, help="GETs per pysnmp run")
    ap.add_argument("--window", type=int, default=64, help="pysnmp GETs in flight")
    ap.add_argument("--snmpget-gets", type=int, default=300)
    ap.add_argument("--procs", type=int, default=2, help="snmpget processes at a time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_udp_port()
        agent = start_snmpd(Path(tmp), port)
        c_client = build_c_client(Path(tmp))
        try:
            print(f"snmpd on 127.0.0.1:{port}; one OID ({OID}) per GET")
            print(f"{'version':<8} {'client':<34} {'GETs':>6} {'wall s':>8} {'GETs/s':>8} "
                  f"{'cpu s':>7}")
            for version in ("2c", "3"):
                n = args.gets if version == "2c" else max(1, args.gets // 2)
                wall, cpu = asyncio.run(bench_pysnmp(port, version, n, args.window))
                ours = n / wall
                print(f"{version:<8} {'slabridge (1 process, window ' + str(args.window) + ')':<34}"
                      f" {n:>6} {wall:8.3f} {ours:8.0f} {cpu:7.3f}")
                for window in (1, args.window):
                    wall, cpu = bench_c(c_client, port, version, n, window)
                    mode = "sync" if window == 1 else f"window {window}"
                    label = f"Net-SNMP C library ({mode})"
                    print(f"{version:<8} {label:<34} {n:>6} {wall:8.3f} {n / wall:8.0f} "
                          f"{cpu:7.3f}")
                    print(f"{version:<8} {'ratio slabridge / C, ' + mode:<34} {'':>6} {'':>8} "
                          f"{ours / (n / wall):7.2f}x")
                m = args.snmpget_gets
                wall = bench_snmpget(port, version, m, args.procs)
                theirs = m / wall
                print(f"{version:<8} {'snmpget, ' + str(args.procs) + ' processes at a time':<34}"
                      f" {m:>6} {wall:8.3f} {theirs:8.0f} {'':>7}")
                print(f"{version:<8} {'ratio slabridge / snmpget':<34} {'':>6} {'':>8} "
                      f"{ours / theirs:7.1f}x")
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(5)


if __name__ == "__main__":
    main()
