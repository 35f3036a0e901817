"""Shared bits for HTTP peers (Prometheus, Alertmanager): config writing, start/stop."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from ._proc import ManagedProcess, PeerError, address_in_use, http_get, http_ok
from .ports import LOOPBACK, free_tcp_port

# A config is YAML text, a mapping, or a callable given the chosen port returning either.
ConfigSpec = str | dict[str, Any] | Callable[[int], "str | dict[str, Any]"] | None


class HttpPeer:
    """Base of a single-binary HTTP server started on 127.0.0.1:<free port>."""

    name = "peer"
    tmp_prefix = "slabridge-peer-"

    def __init__(self, *, startup_timeout: float = 30.0) -> None:
        self.startup_timeout = startup_timeout
        self.host = LOOPBACK
        self.port = 0
        self.tmpdir: Path | None = None
        self.process: ManagedProcess | None = None
        self.startup_seconds = 0.0

    # subclasses
    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _write_files(self) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """host:port, as Prometheus' static_configs and alerting targets want it."""
        return f"{self.host}:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        t0 = time.monotonic()
        self.tmpdir = Path(tempfile.mkdtemp(prefix=self.tmp_prefix))
        try:
            for attempt in range(3):
                self.port = free_tcp_port()
                self._write_files()
                self.process = ManagedProcess(
                    self.name, self._argv(), self.tmpdir / f"{self.name}.log", cwd=self.tmpdir
                )
                try:
                    self.process.wait_ready(
                        lambda: http_ok(self.url + "/-/ready"), self.startup_timeout, "ready"
                    )
                    break
                except PeerError:
                    log = self.process.log_tail(200)
                    self.process.stop()
                    self.process = None
                    if attempt < 2 and address_in_use(log):
                        continue
                    raise
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=10)
            self.process = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process else ""

    def get_json(self, path: str, timeout: float = 5.0) -> Any:
        status, body = http_get(self.url + path, timeout=timeout)
        if status != 200:
            raise PeerError(f"GET {path} on {self.name}: HTTP {status}: {body[:500]!r}")
        return json.loads(body)

    async def async_get_json(self, path: str, timeout_s: float = 5.0) -> Any:
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
            async with s.get(self.url + path) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise PeerError(
                        f"GET {path} on {self.name}: HTTP {resp.status}: {body[:500]!r}"
                    )
                return json.loads(body)


def render_config(spec: ConfigSpec, port: int, default: Callable[[int], dict]) -> dict:
    if callable(spec):
        spec = spec(port)
    if spec is None:
        return default(port)
    if isinstance(spec, str):
        loaded = yaml.safe_load(spec)
        return loaded if loaded is not None else {}
    return json.loads(json.dumps(spec))  # deep copy, and proves it is plain data


def write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def wait_for(
    fetch: Callable[[], Any], predicate: Callable[[Any], bool] | None, timeout: float,
    what: str, interval: float = 0.25,
) -> Any:
    """Poll ``fetch()`` until ``predicate(value)`` (or truthy value) holds; return the value.
    Raises TimeoutError with the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = fetch()
            last_exc = None
            if predicate(last) if predicate else last:
                return last
        except (OSError, PeerError, ValueError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{what}: not true within {timeout}s; last value: {last!r}"
                + (f"; last error: {last_exc!r}" if last_exc else "")
            )
        time.sleep(interval)


async def async_wait_for(
    fetch: Callable[[], Awaitable[Any]], predicate: Callable[[Any], bool] | None,
    timeout_s: float, what: str, interval: float = 0.25,
) -> Any:
    """Async :func:`wait_for`: doesn't block the event loop (in-process receivers keep
    working while it waits)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = await fetch()
            last_exc = None
            if predicate(last) if predicate else last:
                return last
        except (OSError, PeerError, ValueError, aiohttp.ClientError, TimeoutError) as e:
            last_exc = e
        if loop.time() >= deadline:
            raise TimeoutError(
                f"{what}: not true within {timeout_s}s; last value: {last!r}"
                + (f"; last error: {last_exc!r}" if last_exc else "")
            )
        await asyncio.sleep(interval)
