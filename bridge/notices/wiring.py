"""Wiring for the composition root: `install(app, services, registry)` adds the verification
routes, the outbox figures on /metrics and, with a `mail:` section, the sender job and one
reader per IMAP mailbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

from aiohttp import web
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

from bridge.api.auth import TokenBook
from bridge.notices import api, outbox, verify
from bridge.notices.imap import Receiver
from bridge.notices.sender import Sender
from bridge.service import Services

SENDER = web.AppKey("mail_sender", Sender)
RECEIVERS = web.AppKey("mail_receivers", list)


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
