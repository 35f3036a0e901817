"""The composition root: the only module that knows every part and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bridge import jobs, sla_live
from bridge import tickets as tk
from bridge.api import alerts as alert_api
from bridge.api import health, openapi
from bridge.api import kept_reports as kept_report_api
from bridge.api import reports as report_api
from bridge.api import sla as sla_api
from bridge.api import tickets as ticket_api
from bridge.api.auth import TokenBook
from bridge.api.errors import error_middleware
from bridge.api.framing import framing_middleware, handler_args
from bridge.clock import Clock, SystemClock
from bridge.config import Config
from bridge.intake import Context
from bridge.intake.service import INTAKE, AlertIntake
from bridge.metrics import METRICS, Metrics
from bridge.metrics import add_routes as metrics_routes
from bridge.metrics.sla_clocks import SlaCollector
from bridge.nodes import wiring as nodes_wiring
from bridge.nodes.identity import Node
from bridge.notices import wiring as notices_wiring
from bridge.probing.service import Prober
from bridge.routing import Router
from bridge.service import Services
from bridge.store import Engines, Writer, create_engines, migrate
from bridge.traps.wiring import TrapCollector, TrapReceivers
from bridge.web import routes as web_routes

log = logging.getLogger(__name__)

SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
PROBER = web.AppKey("prober", Prober)
TRAPS = web.AppKey("traps", TrapReceivers)


@dataclass(frozen=True, slots=True)
class StoreOptions:
    url: str
    synchronous: str = "NORMAL"


#: how long shutdown waits for running jobs (a probe sweep, a report) before cancelling them
JOB_GRACE_SECONDS = 10


class JobsInFlight:
    """Scheduler runs started and not yet ended, so shutdown lets them end instead of cancelling
    them mid-sweep (APScheduler logs a cancelled job as an ERROR with a traceback)."""

    def __init__(self) -> None:
        self.running = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def watch(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.add_listener(self._started, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._ended, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def _started(self, event: JobSubmissionEvent) -> None:
        self.running += len(event.scheduled_run_times)
        self.idle.clear()

    def _ended(self, _event: JobEvent) -> None:
        self.running = max(0, self.running - 1)
        if not self.running:
            self.idle.set()

    async def settle(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.pause()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), JOB_GRACE_SECONDS)


def open_store(options: StoreOptions) -> Engines:
    engines = create_engines(options.url, synchronous=options.synchronous)
    migrate(engines)
    return engines


def build_app(
    cfg: Config,
    engines: Engines,
    *,
    clock: Clock | None = None,
    run_scheduler: bool = True,
    run_probes: bool = False,
    metrics: Metrics | None = None,
    node: Node | None = None,
) -> web.Application:
    """Build the aiohttp app; the store must be migrated already (see open_store)."""
    clock = clock or SystemClock()
    writer = Writer(engines.write)
    services = Services(cfg=cfg, clock=clock, engines=engines, writer=writer, node=node or Node())
    app = web.Application(
        middlewares=[error_middleware, framing_middleware(cfg.service)],
        client_max_size=cfg.service.body_limit,
        handler_args=handler_args(cfg.service),
    )
    app[ticket_api.SERVICES] = services
    app[ticket_api.TOKENS] = TokenBook(cfg)
    app[METRICS] = metrics or Metrics(cfg)
    app[INTAKE] = AlertIntake(services, Context(cfg=cfg, router=Router(cfg)), app[METRICS])
    writer.on_fallback = lambda _cause: app[METRICS].batch_fallbacks.inc()
    policies = sla_live.Policies.from_config(cfg)
    app[sla_api.POLICIES] = policies
    app[METRICS].register(SlaCollector(cfg, engines.read, policies, clock))

    async def writer_ctx(_app: web.Application) -> AsyncIterator[None]:
        writer.start()
        await services.write(lambda conn: jobs.sync_maintenance(conn, cfg))
        closed = await services.write(lambda conn: tk.close_due(conn, now=clock.now()))
        if closed:
            log.info("applied %d auto-close deadlines that passed while stopped", len(closed))
        yield
        writer.stop()

    app.cleanup_ctx.append(writer_ctx)
    nodes_wiring.install(app, services, app[METRICS].registry, run_jobs=run_scheduler)

    if run_scheduler:
        in_flight = JobsInFlight()

        async def let_jobs_finish(_app: web.Application) -> None:
            # on_shutdown runs before every cleanup context: probes still have their sockets
            if SCHEDULER in app:
                await in_flight.settle(app[SCHEDULER])

        app.on_shutdown.append(let_jobs_finish)

        async def scheduler_ctx(_app: web.Application) -> AsyncIterator[None]:
            scheduler = AsyncIOScheduler(
                job_defaults={"coalesce": True, "misfire_grace_time": 300, "max_instances": 1},
                timezone="UTC",
            )
            jobs.schedule(scheduler, services, policies)
            scheduler.add_listener(lambda _event: app[METRICS].missed_run(), EVENT_JOB_MISSED)
            in_flight.watch(scheduler)
            scheduler.start()
            app[SCHEDULER] = scheduler
            yield
            scheduler.shutdown(wait=False)

        app.cleanup_ctx.append(scheduler_ctx)

    if run_probes:

        async def prober_ctx(_app: web.Application) -> AsyncIterator[None]:
            scheduler = app.get(SCHEDULER)
            prober = Prober(cfg, services, clock, scheduler, app[INTAKE].take_within, app[METRICS])
            await prober.start(schedule=scheduler is not None)
            app[PROBER] = prober
            yield
            await prober.stop()

        app.cleanup_ctx.append(prober_ctx)

    async def trap_intake(source: Any, batch: Any) -> Any:
        return await app[INTAKE].take(source, batch, clock.now())

    app[TRAPS] = TrapReceivers(cfg, trap_intake, clock)
    app[METRICS].registry.register(TrapCollector(app[TRAPS]))
    app.cleanup_ctx.append(app[TRAPS].ctx)

    notices_wiring.install(
        app, services, app[METRICS].registry, app[ticket_api.TOKENS], run_jobs=run_scheduler
    )
    ticket_api.add_routes(app)
    alert_api.add_routes(app)
    sla_api.add_routes(app)
    report_api.add_routes(app)
    web_routes.add_routes(app)
    kept_report_api.add_routes(app)
    health.add_routes(app)
    metrics_routes(app)
    openapi.add_routes(app)
    return app


def ping_store(engines: Engines) -> None:
    with engines.read.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
