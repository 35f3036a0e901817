"""What every request must satisfy at the HTTP level before a handler sees it.

- Bodies are never inflated: aiohttp's parser would decompress a `Content-Encoding` body as it
  arrives, on the event loop and before any token is checked (a 1 MiB gzip body is 1 GiB), so
  the server is built with `auto_decompress` off and any encoding but identity gets 415.
- A request's headers, then its body, must arrive within `service.request_timeout`: the
  keep-alive timer (armed from the connection's start and after each response) closes a
  connection that has not delivered complete headers; a body still incomplete after the timeout
  gets 408. Without both, stalled senders hold a file descriptor each, forever.
- Every body is read whole (however it is framed) before the handler runs, so handlers and
  `request.post()` see a complete body or none; multipart bodies are refused (no page sends
  them, and reading one twice is not possible).
- 405 answers keep aiohttp's `Allow` header.
- A request aiohttp cannot parse (a scanner, a broken sender) is one WARNING line naming the
  problem, not an ERROR traceback per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from bridge.api.errors import ApiError
from bridge.config.models import ServiceConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
T = TypeVar("T")


class _ServerLog(logging.LoggerAdapter):
    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            problem = (str(exc_info.message).splitlines() or ["?"])[0].rstrip(":")
            self.warning(f"{msg}: malformed request ({exc_info.code}): %s", *args, problem, **kw)
            return
        super().exception(msg, *args, exc_info=exc_info, **kw)


_SERVER_LOG = _ServerLog(logging.getLogger("aiohttp.server"))


def handler_args(service: ServiceConfig) -> dict[str, Any]:
    """Server settings that belong to the app (aiohttp applies them for run_app and tests)."""
    return {
        "logger": _SERVER_LOG,
        "auto_decompress": False,
        "keepalive_timeout": service.request_timeout,
        # how long an unread body is drained after an early answer (413, 415, 408)
        "lingering_time": service.request_timeout,
    }


def framing_middleware(service: ServiceConfig) -> Middleware:
    limit, timeout = service.body_limit, service.request_timeout

    @web.middleware
    async def framing(request: web.Request, handler: Handler) -> web.StreamResponse:
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
        if encoding not in ("", "identity"):
            raise ApiError(
                415,
                f"Content-Encoding {encoding} is not accepted; send the body uncompressed",
            )
        try:
            if request.content_length is not None and request.content_length > limit:
                # refused by whatever reads it, naming that route's limit (read_body refuses
                # before reading a byte); the deadline still holds if it reads anyway
                return await _within(timeout, handler(request))
            if request.body_exists:
                await _within(timeout, _read_whole(request, limit))
            return await handler(request)
        except web.HTTPMethodNotAllowed as exc:
            raise web.HTTPMethodNotAllowed(
                exc.method,
                exc.allowed_methods,
                text=json.dumps({"error": exc.reason}),
                content_type="application/json",
            ) from None

    return framing


async def _within(seconds: float, work: Awaitable[T]) -> T:
    try:
        async with asyncio.timeout(seconds) as deadline:
            return await work
    except TimeoutError:
        if deadline.expired():
            raise ApiError(408, f"the body did not arrive within {seconds:g} s") from None
        raise


async def _read_whole(request: web.Request, limit: int) -> None:
    """Read the body into the request (`request.read()` keeps it) within the limit."""
    if request.content_type == "multipart/form-data":
        raise ApiError(415, "multipart bodies are not accepted; send a form or JSON")
    try:
        await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"body is larger than the limit of {limit} bytes") from None
    except web.RequestPayloadError as err:  # bad chunk sizes, a body cut by the sender
        raise ApiError(400, f"the body is incomplete or badly framed: {err}") from None
