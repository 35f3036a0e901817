"""The intake as a service on the app: what webhooks, probes, traps, mail and an admin routing
a kept alert all call. It writes through the single writer and counts what it took per source
(every probe check under the one label `probe`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bridge.alert import Alert
from bridge.config import SourceConfig
from bridge.intake.engine import IngestCommand
from bridge.intake.kept import route_kept
from bridge.intake.result import Context, IngestResult
from bridge.metrics import Metrics
from bridge.routing import Route
from bridge.service import Services


@dataclass(frozen=True, slots=True)
class _Together:
    """An ingest with another write in the same transaction and savepoint (a probe's state
    interval): either both are committed or neither."""

    first: Callable[[sa.Connection], Any]
    command: IngestCommand

    def __call__(self, conn: sa.Connection) -> IngestResult:
        self.first(conn)
        return self.command(conn)


class AlertIntake:
    def __init__(self, services: Services, context: Context, metrics: Metrics) -> None:
        self.services = services
        self.context = context
        self.metrics = metrics

    async def take(
        self,
        source: SourceConfig,
        alerts: list[Alert],
        received_at: datetime,
        *,
        along: Callable[[sa.Connection], Any] | None = None,
    ) -> IngestResult:
        """Ingest one notification; returns once it is committed. `along` is written in the
        same transaction, before the alerts (a probe change's interval)."""
        command = IngestCommand(self.context, source, alerts, received_at, self.services.now())
        result = await self.services.write(command if along is None else _Together(along, command))
        label = self.metrics.source_label(source.name)
        for outcome, n in result.outcomes.items():
            self.metrics.alerts.labels(label, outcome).inc(n)
        return result

    async def route_kept(
        self, source: SourceConfig, identity: str, route: Route, *, by: str
    ) -> int:
        """An admin routes a kept alert: its ticket opens (see `kept.route_kept`); the id."""
        now = self.services.now()
        return await self.services.write(
            lambda conn: route_kept(conn, self.context, source, identity, route, by=by, now=now)
        )


INTAKE = web.AppKey("intake", AlertIntake)
