"""The intake as a service on the app: what webhooks, probes, traps, mail and an admin routing
a kept alert all call. It writes through the single writer and counts what it took per source
(every probe check under the one label `probe`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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

#: Writes what goes with the alerts (a probe's state interval) and says which alerts follow
#: from it: (source, alerts), or None for none.
Work = Callable[[sa.Connection], tuple[SourceConfig, list[Alert]] | None]


class AlertIntake:
    def __init__(self, services: Services, context: Context, metrics: Metrics) -> None:
        self.services = services
        self.context = context
        self.metrics = metrics

    async def take(
        self, source: SourceConfig, alerts: list[Alert], received_at: datetime
    ) -> IngestResult:
        """Ingest one notification; returns once it is committed."""
        command = IngestCommand(self.context, source, alerts, received_at, self.services.now())
        result = await self.services.write(command)
        self._count(source, result)
        return result

    async def take_within(self, work: Work, received_at: datetime) -> IngestResult:
        """Run `work` and ingest the alerts it returns in one transaction: either both are
        committed or neither. For a change whose alerts are known only once its own write has
        read the store (a probe's quorum decision over every site's intervals)."""
        now = self.services.now()

        def run(conn: sa.Connection) -> tuple[SourceConfig | None, IngestResult]:
            found = work(conn)
            if found is None or not found[1]:
                return None, IngestResult()
            source, alerts = found
            return source, IngestCommand(self.context, source, alerts, received_at, now)(conn)

        source, result = await self.services.write(run)
        if source is not None:
            self._count(source, result)
        return result

    def _count(self, source: SourceConfig, result: IngestResult) -> None:
        label = self.metrics.source_label(source.name)
        for outcome, n in result.outcomes.items():
            self.metrics.alerts.labels(label, outcome).inc(n)

    async def route_kept(
        self, source: SourceConfig, identity: str, route: Route, *, by: str
    ) -> int:
        """An admin routes a kept alert: its ticket opens (see `kept.route_kept`); the id."""
        now = self.services.now()
        return await self.services.write(
            lambda conn: route_kept(conn, self.context, source, identity, route, by=by, now=now)
        )


INTAKE = web.AppKey("intake", AlertIntake)
