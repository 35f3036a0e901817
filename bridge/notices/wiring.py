"""Wiring for the composition root: `install(app, services, registry)` adds the verification
routes, the outbox figures on /metrics and, with a `mail:` section, the sender job and one
reader per IMAP mailbox. Without one, a job settles the notices that ticket events still
decide as "skipped", so they never pile up pending."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

from bridge.api.auth import TokenBook
from bridge.notices import api, outbox, verify
from bridge.notices.imap import Receiver
from bridge.notices.sender import Sender
from bridge.service import Services

log = logging.getLogger(__name__)


class Skipper:
    """Without mail: pending notices become "skipped" at start and then every `interval`."""

    def __init__(self, services: Services, interval: float = 60.0) -> None:
        self.services = services
        self.interval = interval

    async def run_once(self) -> int:
        return await self.services.write(outbox.skip_pending)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the store may be away; the next round tries again
                log.exception("settling notices without mail failed")
            await asyncio.sleep(self.interval)


SENDER = web.AppKey("mail_sender", Sender)
RECEIVERS = web.AppKey("mail_receivers", list)
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
SKIPPER = web.AppKey("notice_skipper", Skipper)


class OutboxCollector:
    """Messages in the outbox by status (pending, sent, failed), read from the store."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "slabridge_mail_messages", "Customer notice messages by status", labels=["status"]
        )
        with self.services.engines.read.connect() as conn:
            found = outbox.counts(conn)
        for status in ("pending", "sent", "failed"):
            family.add_metric([status], found.get(status, 0))
        yield family


def install(
    app: web.Application,
    services: Services,
    registry: CollectorRegistry,
    tokens: TokenBook,
    *,
    run_jobs: bool,
) -> None:
    mail = services.cfg.mail
    if mail is None:
        skipper = app[SKIPPER] = Skipper(services)
        if run_jobs:
            app.cleanup_ctx.append(_task_ctx(skipper.run_forever, "notices-skipped"))
        return
    verify.add_routes(app, services, mail.signing_key)
    api.add_routes(app, services, tokens)
    registry.register(OutboxCollector(services))
    sender = Sender(services, mail)
    app[SENDER] = sender
    receivers = [Receiver(services, mail, box) for box in mail.imap]
    app[RECEIVERS] = receivers
    if not run_jobs:
        return

    async def sender_ctx(_app: web.Application) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(sender.run_forever(), name="mail-sender")]
        tasks += [asyncio.create_task(r.run_forever(), name=f"imap {r.name}") for r in receivers]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(sender_ctx)


def _task_ctx(run: Callable[[], Awaitable[None]], name: str) -> CleanupCtx:
    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run(), name=name)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx
