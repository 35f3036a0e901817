"""Real peers for the probe tests, shared by tests/probes and tests/e2e.

An nftables table that silences a loopback range (or chosen loopback addresses), and a
net-snmp snmpd on a free loopback UDP port with its own config and persistent dir. Nothing
skips: a missing binary fails with a message saying what to install.

tests/probes has no __init__.py (it would shadow the real ``probes`` package), so this lives
one level up, importable as ``tests.probe_helpers`` from both trees.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SNMP_PASS = Path(__file__).parent / "probes" / "snmp_pass.py"
V2C_COMMUNITY = "alice-public"
V3_USER = "bob"
V3_AUTH = "bob-auth-pass"
V3_PRIV = "bob-priv-pass"
PRIVATE_OID = "1.3.6.1.4.1.99999"
TEMPERATURE_OID = f"{PRIVATE_OID}.1.1.0"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if path is None:
        pytest.fail(
            f"{name} not found: install the Debian package {package!r} (.ci/run installs it)",
            pytrace=False,
        )
    return path


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.fail(f"{what} needs root (CI runs as root)", pytrace=False)


# -- nftables -------------------------------------------------------------------------------


class SilentRange:
    """Drops ICMP echo requests arriving on lo for one 127.77.x.0/24 while active."""

    def __init__(self, nft: str, table: str, cidr: str) -> None:
        self.nft, self.table, self.cidr = nft, table, cidr

    def address(self, n: int) -> str:
        base = self.cidr.split("/")[0].rsplit(".", 1)[0]
        return f"{base}.{n}"

    def add(self) -> None:
        ruleset = (
            f"table inet {self.table} {{\n"
            "  chain input {\n"
            "    type filter hook input priority 0; policy accept;\n"
            f'    iifname "lo" ip daddr {self.cidr} icmp type echo-request drop\n'
            "  }\n"
            "}\n"
        )
        subprocess.run(
            [self.nft, "-f", "-"], input=ruleset, text=True, check=True, capture_output=True
        )

    def remove(self) -> None:
        subprocess.run(
            [self.nft, "delete", "table", "inet", self.table], check=False, capture_output=True
        )


class NftDrop:
    """The test's own nft table: drops echo requests arriving on lo for chosen addresses.

    ``drop(*addresses)`` replaces the silenced set (no address: everything answers again);
    ``remove()`` deletes the table. Only 127.0.0.0/8 addresses are accepted.
    """

    def __init__(self, nft: str, table: str) -> None:
        self.nft, self.table = nft, table
        self.silenced: tuple[str, ...] = ()

    def _run(self, ruleset: str) -> None:
        subprocess.run(
            [self.nft, "-f", "-"], input=ruleset, text=True, check=True, capture_output=True
        )

    def create(self) -> None:
        self._run(
            f"table inet {self.table} {{\n"
            "  chain input {\n"
            "    type filter hook input priority 0; policy accept;\n"
            "  }\n"
            "}\n"
        )

    def drop(self, *addresses: str) -> None:
        for a in addresses:
            if not a.startswith("127."):
                raise ValueError(f"{a} is not a loopback address")
        rules = f"flush chain inet {self.table} input\n"
        if addresses:
            rules += (
                f'add rule inet {self.table} input iifname "lo" '
                f"ip daddr {{ {', '.join(addresses)} }} icmp type echo-request drop\n"
            )
        self._run(rules)
        self.silenced = tuple(addresses)

    def allow_all(self) -> None:
        self.drop()

    def remove(self) -> None:
        subprocess.run(
            [self.nft, "delete", "table", "inet", self.table], check=False, capture_output=True
        )


# -- snmpd ----------------------------------------------------------------------------------


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Snmpd:
    """A net-snmp agent on 127.0.0.1:port; values under ifEntry and 99999 come from a file.

    Trap: snmpd reuses a pass script's output when the identical command line (same OID) runs
    again within 30 s, so after ``set()`` a poller that GETs only that one pass OID keeps
    seeing the old value. Poll at least two pass OIDs per request (e.g. fake0 and fake1).
    """

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_udp_port()
        self.values_path = workdir / "values.json"
        self.conf = workdir / "snmpd.conf"
        self.persist = workdir / "persist"
        self.persist.mkdir()
        self.log_path = workdir / "snmpd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.values: dict[str, list] = {
            f"{IF_DESCR}.1001": ["string", "fake0"],
            f"{IF_DESCR}.1002": ["string", "fake1"],
            f"{IF_OPER}.1001": ["integer", 1],
            f"{IF_OPER}.1002": ["integer", 1],
            TEMPERATURE_OID: ["gauge", 40],
        }
        self.write_values()
        script = f"{sys.executable} {SNMP_PASS} {self.values_path}"
        self.conf.write_text(
            f"rocommunity {V2C_COMMUNITY} 127.0.0.1\n"
            f'createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"\n'
            f"rouser {V3_USER} priv\n"
            # ifEntry is shadowed by the script: fake interfaces, no host interface touched.
            f"pass .1.3.6.1.2.1.2.2.1 {script}\n"
            f"pass .{PRIVATE_OID} {script}\n"
        )

    def write_values(self) -> None:
        tmp = self.values_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.values))
        tmp.replace(self.values_path)

    def set(self, oid: str, kind: str, value: object) -> None:
        self.values[oid] = [kind, value]
        self.write_values()

    def start(self) -> None:
        env = dict(
            os.environ,
            SNMP_PERSISTENT_DIR=str(self.persist),
            MIBS="",
            MIBDIRS=str(self.workdir / "no-mibs"),
        )
        self.log_path.write_text("")
        log = open(self.log_path, "ab")  # handed to the child, closed below
        self.proc = subprocess.Popen(
            [
                self.binary,
                "-f",
                "-Lo",
                "-C",
                "-I",
                "-smux",
                "-c",
                str(self.conf),
                "-p",
                str(self.workdir / "snmpd.pid"),
                f"udp:127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if "NET-SNMP version" in text:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail(
            f"snmpd did not start on udp:127.0.0.1:{self.port}:\n"
            f"{self.log_path.read_text(errors='replace')[-2000:]}",
            pytrace=False,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    """A real net-snmp agent on a free loopback UDP port, always stopped afterwards."""
    agent = Snmpd(require_binary("snmpd", "snmpd"), tmp_path)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
