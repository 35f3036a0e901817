"""A real `slabridge serve` (or any command line that serves it) on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import REPO
from tests.peers.ports import free_tcp_port


@contextmanager
def serving(argv: list[str], log_path: Path, *, timeout: float = 30) -> Iterator[str]:
    """Run `argv + --host 127.0.0.1 --port N` until /healthz answers; yield the base URL.
    The output goes to `log_path`, shown when the service does not come up."""
    port = free_tcp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log_path.read_text()) from None
                    time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
