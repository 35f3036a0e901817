"""SQLite serves one node: a second `serve` on the same data directory exits 2 naming
PostgreSQL, while the first keeps serving; once the first has stopped, a new one starts."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e import SlabridgeServer, slabridge_argv
from tests.nodes.cluster import REPO
from tests.peers._proc import http_ok
from tests.peers.ports import LOOPBACK, free_tcp_port

pytestmark = pytest.mark.peers


def _second(server: SlabridgeServer) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
    argv = [
        *slabridge_argv(), "serve", "--config", str(server.config_path),
        "--data-dir", str(server.data_dir), "--node", "another", "--no-probes",
        "--host", LOOPBACK, "--port", str(free_tcp_port()),
    ]  # fmt: skip
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_a_second_node_on_one_sqlite_store_exits_2_naming_postgresql():
    with SlabridgeServer() as first:
        assert first.process is not None
        second = _second(first)
        assert second.returncode == 2, second.stderr
        assert "several nodes need PostgreSQL" in second.stderr
        assert str(first.db_path) in second.stderr
        assert f"pid {first.process.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert http_ok(first.url + "/healthz"), "the first node keeps serving"

        first.kill()  # the kernel drops the lock of a killed process too
        first.start()
        assert http_ok(first.url + "/healthz")
        assert _second(first).returncode == 2
