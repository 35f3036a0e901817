"""An in-process aiohttp webhook receiver on 127.0.0.1:<free port> (e.g. for Alertmanager)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .ports import LOOPBACK, free_tcp_port


class WebhookReceiver:
    """Records every JSON body POSTed to ``/hook`` (any path, in fact) in ``payloads``.

    ``async with WebhookReceiver() as hook:`` then point the sender at ``hook.url``.
    """

    def __init__(self, path: str = "/hook", status: int = 200) -> None:
        self.host = LOOPBACK
        self.port = 0
        self.path = path
        self.status = status
        self.payloads: list[Any] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body.decode(errors="replace")
        assert self._changed is not None
        async with self._changed:
            self.payloads.append(payload)
            self.requests.append((request.path, dict(request.headers)))
            self._changed.notify_all()
        return web.Response(status=self.status, text="ok")

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        for attempt in range(3):
            self.port = free_tcp_port()
            try:
                await web.TCPSite(self._runner, self.host, self.port).start()
                return
            except OSError:
                if attempt == 2:
                    await self._runner.cleanup()
                    raise

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for(
        self, predicate: Callable[[list[Any]], Any] | None = None, timeout_s: float = 20.0
    ) -> list[Any]:
        """Wait until ``predicate(payloads)`` is truthy (default: at least one payload);
        returns the payloads. TimeoutError (with what arrived) after ``timeout_s`` seconds."""
        pred = predicate or (lambda p: len(p) > 0)
        assert self._changed is not None, "receiver not started"
        try:
            async with asyncio.timeout(timeout_s):
                async with self._changed:
                    await self._changed.wait_for(lambda: pred(self.payloads))
        except TimeoutError:
            raise TimeoutError(
                f"webhook {self.url}: condition not met within {timeout_s}s; "
                f"received {len(self.payloads)} payload(s): {self.payloads!r}"[:4000]
            ) from None
        return self.payloads
