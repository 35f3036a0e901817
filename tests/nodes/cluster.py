"""N `slabridge serve --node nodeK --site SITE --no-probes` processes on loopback ports, all on
one PostgreSQL database, started together; `kill(k)` sends SIGKILL to one of them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e import example_config, slabridge_argv
from tests.peers._proc import ManagedProcess, PeerError, http_ok
from tests.peers.ports import LOOPBACK, free_tcp_port

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer demo-admin-token"}
ENGINEER = {"Authorization": "Bearer demo-engineer-token"}
AM = {"Authorization": "Bearer demo-alertmanager-token"}


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET with headers, no proxies; (status, body), HTTP errors included."""
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def post(url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    """POST JSON; the JSON answer of a 2xx (anything else fails the test)."""
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with _OPENER.open(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raise AssertionError(f"{url}: {err.code} {err.read()[:500]!r}") from None


def fast(data: dict[str, Any]) -> None:
    """Short heartbeats and sweeps, so tests wait seconds, not minutes."""
    data.setdefault("nodes", {}).update({"heartbeat_interval": "0.5s", "down_after": "5s"})
    data["service"].update({"autoclose_interval": "1s", "sla_check_interval": "1s"})


class Node:
    def __init__(self, name: str, site: str, tmpdir: Path) -> None:
        self.name = name
        self.site = site
        self.port = free_tcp_port()
        self.log_path = tmpdir / f"{name}.log"
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


class Cluster:
    def __init__(
        self,
        database_url: str,
        nodes: int = 3,
        *,
        edit: Callable[[dict[str, Any]], None] | None = None,
        sites: tuple[str, ...] = ("default",),
    ) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix="slabridge-nodes-"))
        self.database_url = database_url

        def both(data: dict[str, Any]) -> None:
            fast(data)
            if edit is not None:
                edit(data)

        self.config_path = self.tmpdir / "slabridge.yaml"
        self.config_path.write_text(example_config(both), encoding="utf-8")
        self.nodes = [
            Node(f"node{k + 1}", sites[k % len(sites)], self.tmpdir) for k in range(nodes)
        ]

    def argv(self, node: Node) -> list[str]:
        return [
            *slabridge_argv(), "serve",
            "--config", str(self.config_path),
            "--database-url", self.database_url,
            "--node", node.name, "--site", node.site, "--no-probes",
            "--host", LOOPBACK, "--port", str(node.port),
        ]  # fmt: skip

    def start(self, *which: int, timeout: float = 60) -> None:
        """Start the given nodes (all by default) at the same time; wait until each answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
        chosen = [self.nodes[k] for k in which] if which else self.nodes
        for node in chosen:
            node.process = ManagedProcess(
                node.name, self.argv(node), node.log_path, cwd=REPO, env=env
            )
        for node in chosen:
            assert node.process is not None
            try:
                node.process.wait_ready(
                    lambda n=node: http_ok(n.url + "/healthz"), timeout, "ready"
                )
            except PeerError:
                self.stop()
                raise

    def kill(self, k: int) -> None:
        """SIGKILL: no shutdown handler runs, the node's row keeps its last heartbeat."""
        process = self.nodes[k].process
        assert process is not None
        process.proc.send_signal(signal.SIGKILL)
        process.proc.wait(10)
        process.stop()
        self.nodes[k].process = None

    def logs(self) -> str:
        return "\n".join(
            f"--- {n.name} ---\n{n.process.log_tail(30) if n.process else '(stopped)'}"
            for n in self.nodes
        )

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None:
                node.process.stop(timeout=30)
                node.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
