"""Serve processes that probe (no --no-probes), from two sites with their own loopback source
addresses, and what they report probing (each node's probe log: one JSON line per sweep)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.nodes.cluster import Cluster
from tests.probe_helpers import require_binary, require_root

SOURCES = {"waw": "127.0.0.2", "prg": "127.0.0.3"}
INTERVAL = 2.0
TTL = 3.0


def device_ip(i: int) -> str:
    return f"127.61.{i // 250}.{i % 250 + 1}"


def sites_config(
    n_devices: int, *, quorum: int = 1, references: bool = False
) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["devices"] = [
            {
                "id": f"dev{i:04d}",
                "customer": "acme",
                "ip": device_ip(i),
                "probe": {"icmp": {"interval": f"{INTERVAL:g}s", "count": 1, "timeout": "0.5s"}},
            }
            for i in range(n_devices)
        ]
        data["maintenance"] = []
        sites: dict[str, Any] = {s: {"source": a} for s, a in SOURCES.items()}
        if references:  # waw's nodes must reach prg's address
            sites["waw"]["references"] = [SOURCES["prg"]]
        data["probing"] = {
            "down_after": 2,
            "up_after": 2,
            "jitter": "0.1s",
            "lease_ttl": f"{TTL:g}s",
            "quorum": quorum,
            "sites": sites,
        }

    return edit


class ProbeCluster(Cluster):
    """Like Cluster, but the nodes probe and log what they probe."""

    def __init__(self, database_url: str, nodes: int, edit: Callable[..., None]) -> None:
        self.log_dir: Path | None = None

        def with_log(data: dict[str, Any]) -> None:
            edit(data)
            assert self.log_dir is not None
            data["probing"]["probe_log"] = str(self.log_dir / "probes-{node}.jsonl")

        self.log_dir = Path(__import__("tempfile").mkdtemp(prefix="slabridge-probelog-"))
        super().__init__(database_url, nodes, edit=with_log, sites=("waw", "prg"))

    def argv(self, node: Any) -> list[str]:
        return [a for a in super().argv(node) if a != "--no-probes"]

    def sweeps(self) -> list[dict[str, Any]]:
        """Every sweep every node reported, in time order."""
        assert self.log_dir is not None
        out = []
        for path in sorted(self.log_dir.glob("probes-*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    row["at"] = datetime.fromisoformat(row["at"])
                    out.append(row)
        return sorted(out, key=lambda r: r["at"])


def wait_for(what: str, predicate: Callable[[], Any], timeout: float, logs: Callable[[], str]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} never happened within {timeout:g}s\n{logs()}")


def held(db: sa.Engine) -> dict[tuple[str, str], int]:
    """(site, node) -> unexpired leases held now."""
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT site, node, count(*) FROM probe_leases "
                "WHERE node IS NOT NULL AND lease_until > now() GROUP BY site, node"
            )
        ).all()
    return {(s, n): c for s, n, c in rows}


def open_states(db: sa.Engine, site: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """device -> (state, detail) of its open icmp interval at a site ('*': the decision)."""
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT device_id, state, detail FROM device_states "
                "WHERE site = :s AND \"check\" = 'icmp' AND ended_at IS NULL"
            ),
            {"s": site},
        ).all()
    return {d: (s, det if isinstance(det, dict) else json.loads(det)) for d, s, det in rows}


def tickets(db: sa.Engine) -> list[tuple[str, str | None, str]]:
    """(customer, device, title) of every ticket."""
    with db.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT customer_id, device_id, title FROM tickets ORDER BY id")
            )
        ]


class SiteRules:
    """The test's own nft table on lo: drop what is sent to or from one site's address."""

    TABLE = "slabridge_probe_sites"

    def __init__(self) -> None:
        require_root("nftables rules on lo")
        self.nft = require_binary("nft", "nftables")
        self._run(
            f"table inet {self.TABLE} {{\n  chain input {{\n"
            "    type filter hook input priority 0; policy accept;\n  }\n}\n"
        )

    def _run(self, ruleset: str) -> None:
        subprocess.run(
            [self.nft, "-f", "-"], input=ruleset, text=True, check=True, capture_output=True
        )

    def set(self, *rules: str) -> None:
        text = f"flush chain inet {self.TABLE} input\n"
        for rule in rules:
            text += f'add rule inet {self.TABLE} input iifname "lo" {rule} drop\n'
        self._run(text)

    def drop_replies(self, source: str, devices: list[str]) -> str:
        return f"ip saddr {{ {', '.join(devices)} }} ip daddr {source} icmp type echo-reply"

    def remove(self) -> None:
        subprocess.run(
            [self.nft, "delete", "table", "inet", self.TABLE], check=False, capture_output=True
        )
