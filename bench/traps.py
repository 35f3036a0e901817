"""SNMP trap intake throughput: slabridge against Net-SNMP's snmptrapd. Prints figures; not a test.

    .venv/bin/python bench/traps.py [--traps 20000] [--interfaces 200] [--window 150]

Datagrams are made once by Net-SNMP's own `snmptrap` (one linkDown per interface, v2c and v3
authPriv SHA/AES-128) and captured; the bench then replays them from 127.0.20.1 (the example's
brno-core switch, so every trap is routed to a device): the first of each interface opens a
ticket, the rest are repeats. Each receiver gets the same sequence, one after the other:

1. `slabridge serve` (SQLite in a temporary data dir, an snmptrap source): a trap counts once
   its alert is committed (slabridge_alerts_received_total on /metrics);
2. `snmptrapd -f -Lf FILE` with no handler (format: source and varbinds, one line per trap):
   a trap counts once its line is in the file.

The sender keeps at most `--window` traps in flight (sent, not yet counted), so the figure is
the receiver's rate, not the loopback socket buffer's loss. Target: slabridge >= 0.5x
snmptrapd for v2c; the v3 authPriv figures are printed alongside.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SWITCH = "127.0.20.1"
COMMUNITY = "bench-community"
USER, AUTH, PRIV, ENGINE = "benchuser", "benchauth123", "benchpriv123", "0x8000000001020304"
LINK_DOWN, IF_INDEX = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture(version: str, interfaces: int) -> list[bytes]:
    """One real Net-SNMP linkDown per interface, as the bytes it put on the wire."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    target = f"127.0.0.1:{sock.getsockname()[1]}"
    if version == "v2c":
        head = ["snmptrap", "-v", "2c", "-c", COMMUNITY]
    else:
        head = ["snmptrap", "-v", "3", "-e", ENGINE, "-u", USER, "-l", "authPriv",
                "-a", "SHA", "-A", AUTH, "-x", "AES", "-X", PRIV]  # fmt: skip
    out = []
    for i in range(1, interfaces + 1):
        subprocess.run(
            [*head, target, "", LINK_DOWN, f"{IF_INDEX}.{i}", "i", str(i)],
            check=True, env={**os.environ, "MIBS": ""},
        )  # fmt: skip
        out.append(sock.recv(4096))
    sock.close()
    return out


def blast(
    datagrams: list[bytes],
    total: int,
    port: int,
    window: int,
    counted: Callable[[], int],
    poll: float,
) -> tuple[int, float]:
    """Send `total` traps keeping at most `window` uncounted; (counted, seconds to the last).

    If nothing is counted for a while with the window full, the socket buffer dropped what
    was in flight: those are written off and sending goes on. `poll` spaces the progress
    checks (a /metrics scrape costs slabridge CPU; reading snmptrapd's file costs nothing).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((SWITCH, 0))
    base = counted()
    sent = done = lost = 0
    started = last = finished = time.perf_counter()
    while True:
        while sent < total and sent - done - lost < window:
            sock.sendto(datagrams[sent % len(datagrams)], ("127.0.0.1", port))
            sent += 1
        time.sleep(poll)
        now_done, now = counted() - base, time.perf_counter()
        if now_done > done:
            done, last, finished = now_done, now, now
        elif now - last > 0.5:
            if sent == total:
                break
            lost, last = sent - done, now
    sock.close()
    return done, finished - started


# -- slabridge ----------------------------------------------------------------------------------


def bench_config(port: int) -> str:
    data = yaml.safe_load((REPO / "config" / "example.yaml").read_text(encoding="utf-8"))
    for device in data["devices"]:
        device.pop("probe", None)
        device.pop("depends_on", None)
    data["major_incidents"]["threshold"] = 1_000_000  # one ticket per interface, no grouping
    data["sources"].append(
        {
            "name": "traps",
            "type": "snmptrap",
            "listen": f"127.0.0.1:{port}",
            "communities": [COMMUNITY],
            "users": [
                {"name": USER, "auth_protocol": "SHA", "auth_key": AUTH,
                 "priv_protocol": "AES", "priv_key": PRIV, "engine_ids": [ENGINE]}
            ],
        }
    )  # fmt: skip
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class Slabridge:
    def __init__(self, tmp: Path) -> None:
        tmp.mkdir(parents=True)
        self.trap_port, http = free_udp_port(), free_tcp_port()
        self.url = f"http://127.0.0.1:{http}"
        (tmp / "config.yaml").write_text(bench_config(self.trap_port), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
        self.log = open(tmp / "slabridge.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "slabridge"), "serve",
             "--config", str(tmp / "config.yaml"), "--port", str(http),
             "--data-dir", str(tmp / "data")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
        )  # fmt: skip
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"slabridge exited: see {tmp / 'slabridge.log'}")
            try:
                self.opener.open(self.url + "/healthz", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("slabridge did not start")

    def metric(self, pattern: str) -> int:
        try:
            with self.opener.open(self.url + "/metrics", timeout=10) as resp:
                text = resp.read().decode()
        except OSError as err:
            self.log.flush()
            tail = Path(self.log.name).read_text(errors="replace")[-3000:]
            raise SystemExit(f"/metrics failed ({err}); slabridge's log ends:\n{tail}") from err
        return int(sum(float(v) for v in re.findall(pattern, text, re.M)))

    def stored(self) -> int:
        return self.metric(r'^slabridge_alerts_received_total\{[^}]*source="traps"[^}]*\} (\S+)$')

    def tickets(self) -> int:
        return self.metric(
            r'^slabridge_alerts_received_total\{outcome="accepted",source="traps"\} (\S+)$'
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


# -- snmptrapd ----------------------------------------------------------------------------------


class Snmptrapd:
    def __init__(self, tmp: Path) -> None:
        tmp.mkdir(parents=True)
        self.port = free_udp_port()
        conf = tmp / "snmptrapd.conf"
        conf.write_text(
            f"authCommunity log {COMMUNITY}\n"
            f"createUser -e {ENGINE} {USER} SHA {AUTH} AES {PRIV}\n"
            f"authUser log {USER} priv\n"
        )
        self.log_path = tmp / "snmptrapd.log"
        self.proc = subprocess.Popen(
            ["snmptrapd", "-f", "-Lf", str(self.log_path), "-C", "-c", str(conf), "-n",
             "-F", "%B %v\\n", "-p", str(tmp / "snmptrapd.pid"), f"udp:127.0.0.1:{self.port}"],
            env={**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(tmp / "persist")},
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not (self.log_path.exists() and b"NET-SNMP" in self.log_path.read_bytes()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("snmptrapd did not start")
            time.sleep(0.05)
        self.fh = open(self.log_path, "rb")  # noqa: SIM115 - closed in stop()
        self.lines = 0

    def logged(self) -> int:
        self.lines += self.fh.read().count(b"\n")
        return self.lines

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.fh.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traps", type=int, default=20000)
    parser.add_argument("--interfaces", type=int, default=200)
    parser.add_argument("--window", type=int, default=150)
    parser.add_argument("--versions", default="v2c,v3")
    parser.add_argument("--keep", action="store_true", help="keep the temporary dir (logs)")
    args = parser.parse_args()
    for tool in ("snmptrap", "snmptrapd"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: apt-get install -y snmp snmptrapd", file=sys.stderr)
            return 2
    tmp = Path(tempfile.mkdtemp(prefix="slabridge-traps-bench-"))
    try:
        sets = {v: capture(v, args.interfaces) for v in args.versions.split(",")}
        print(f"{args.traps} traps per run over {args.interfaces} interfaces "
              f"(the first of each opens a ticket), window {args.window}")  # fmt: skip
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'version':<8} {'receiver':<10} {'handled':>8} {'lost':>6} {'traps/s':>9}")
        rates: dict[tuple[str, str], float] = {}
        for version, datagrams in sets.items():
            sb = Slabridge(tmp / f"sb-{version}")
            try:
                n, secs = blast(datagrams, args.traps, sb.trap_port, args.window, sb.stored, 0.05)
                opened = sb.tickets()
            finally:
                sb.stop()
            rates[(version, "slabridge")] = n / secs
            print(f"{version:<8} {'slabridge':<10} {n:>8} {args.traps - n:>6} {n / secs:>9.0f}"
                  f"   ({opened} tickets opened)")  # fmt: skip
            td = Snmptrapd(tmp / f"td-{version}")
            try:
                n, secs = blast(datagrams, args.traps, td.port, args.window, td.logged, 0.002)
            finally:
                td.stop()
            rates[(version, "snmptrapd")] = n / secs
            print(f"{version:<8} {'snmptrapd':<10} {n:>8} {args.traps - n:>6} {n / secs:>9.0f}")
        for version in sets:
            ratio = rates[(version, "slabridge")] / rates[(version, "snmptrapd")]
            verdict = "target met" if ratio >= 0.5 else "below the 0.5x target"
            extra = f" ({verdict})" if version == "v2c" else ""
            print(f"{version}: slabridge / snmptrapd = {ratio:.2f}x{extra}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
