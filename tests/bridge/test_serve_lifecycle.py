"""`slabridge serve` as an operator runs it, in a real subprocess: a start on a busy port fails
before it touches the store; SIGTERM while a probe is in flight shuts down quietly; the
open-file limit is raised to the hard limit. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
#: generous guards so a broken server cannot hang the suite; never measured durations
START_GUARD = 120
STOP_GUARD = 60


def store_args(store_url: str, tmp_path: Path) -> list[str]:
    """sqlite: a data directory that does not exist yet; postgres: the test's database."""
    if store_url.startswith("sqlite"):
        return ["--data-dir", str(tmp_path / "data")]
    return ["--database-url", store_url]


def store_untouched(store_url: str, tmp_path: Path) -> bool:
    if store_url.startswith("sqlite"):
        return not (tmp_path / "data").exists()
    engine = sa.create_engine(store_url)
    try:
        return sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def serve(config: Path, port: int, extra: list[str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "serve", "--config", str(config), "--port", str(port)]
        + extra,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def test_a_start_on_a_busy_port_fails_before_touching_the_store(
    busy_port, store_url, tmp_path, config_variant
):
    config = tmp_path / "slabridge.yaml"
    config.write_text(config_variant(), encoding="utf-8")
    proc = serve(config, busy_port, store_args(store_url, tmp_path))
    _, err = proc.communicate(timeout=START_GUARD)
    assert proc.returncode == 1, err
    assert f"slabridge: cannot listen on 127.0.0.1:{busy_port}: Address already in use" in err
    assert "Traceback" not in err
    assert store_untouched(store_url, tmp_path)


@pytest.fixture
def silent_snmp_agent() -> Iterator[socket.socket]:
    """A UDP socket where the example's SNMP device is polled; it never answers, so a probe
    job is in flight from the first datagram it receives."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.20.1", 0))
        yield sock


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def polled_config(config_variant: Callable[..., str], snmp_port: int) -> str:
    def edit(data: dict[str, Any]) -> None:
        for device in data["devices"]:
            snmp = device.get("probe", {}).get("snmp")
            if snmp is not None:
                snmp.update(port=snmp_port, timeout="2s", retries=1)

    return config_variant(edit)


def soft_limit_256() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def open_file_limits(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no open-file limit in /proc")


def test_sigterm_during_a_probe_shuts_down_quietly_with_the_file_limit_raised(
    store_url, tmp_path, config_variant, silent_snmp_agent
):
    config = tmp_path / "slabridge.yaml"
    config.write_text(polled_config(config_variant, silent_snmp_agent.getsockname()[1]))
    proc = serve(
        config, free_port(), store_args(store_url, tmp_path), preexec_fn=soft_limit_256
    )
    try:
        silent_snmp_agent.settimeout(START_GUARD)
        silent_snmp_agent.recvfrom(65536)  # an SNMP request: a probe job is waiting for us
        soft, hard = open_file_limits(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=STOP_GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert " ERROR " not in err, err
    assert soft == hard, (soft, hard)
    assert "slabridge listening on" in err
