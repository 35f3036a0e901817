"""End-to-end tests: a real `slabridge serve` subprocess (and real peers where needed).

:class:`SlabridgeServer` runs ``slabridge serve`` on a free loopback port with a temporary data
directory and a config derived from config/example.yaml; ``kill()`` sends SIGKILL, ``start()``
again reuses the same port and data directory (a restart).
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.peers._proc import ManagedProcess, PeerError, http_ok
from tests.peers.ports import LOOPBACK, free_tcp_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "example.yaml"
AM_TOKEN = "demo-alertmanager-token"
ENGINEER = {"Authorization": "Bearer demo-engineer-token"}


def slabridge_argv() -> list[str]:
    script = Path(sys.executable).parent / "slabridge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bridge.cli"]


def example_config(edit: Callable[[dict[str, Any]], None] | None = None) -> str:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    if edit is not None:
        edit(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class SlabridgeServer:
    def __init__(self, config_text: str | None = None, *, startup_timeout: float = 30.0) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix="slabridge-e2e-"))
        self.config_path = self.tmpdir / "slabridge.yaml"
        self.config_path.write_text(config_text or example_config(), encoding="utf-8")
        self.data_dir = self.tmpdir / "data"
        self.port = free_tcp_port()
        self.startup_timeout = startup_timeout
        self.process: ManagedProcess | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "slabridge.db"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
        argv = [
            *slabridge_argv(),
            "serve",
            "--config", str(self.config_path),
            "--host", LOOPBACK,
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        self.starts += 1
        self.process = ManagedProcess(
            "slabridge", argv, self.tmpdir / f"slabridge-{self.starts}.log", cwd=REPO, env=env
        )
        try:
            self.process.wait_ready(lambda: http_ok(self.url + "/healthz"), self.startup_timeout,
                                    "ready")  # fmt: skip
        except PeerError:
            self.process.stop()
            raise

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        assert self.process is not None
        self.process.proc.send_signal(signal.SIGKILL)
        self.process.proc.wait(10)
        self.process.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=15)
            self.process = None

    def log_tail(self, lines: int = 60) -> str:
        return self.process.log_tail(lines) if self.process else ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> SlabridgeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
