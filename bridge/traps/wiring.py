"""The snmptrap sources of a config as one service: started and stopped with the app, counted.

Every datagram's verdict is on /metrics as `slabridge_snmp_datagrams_total{source,outcome}`:
"accepted", "ignored" (a notification switched off, e.g. authenticationFailure) or the reason
it was dropped; "store-failed" counts accepted datagrams whose alerts the store then refused
(logged; a trap cannot be asked again). A v3 inform sender's engine discovery shows as one
"unknown-engine": that is the protocol, not an attack. Every series exists from the start.

Between the receivers and the intake sits the flapping rule (`bridge.traps.flapping`): a trap
identity that changes too often becomes one flapping ticket; a task checks every few seconds
whether flapping has ended, since a port that has become stable sends nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from bridge.alert import Alert
from bridge.clock import Clock, SystemClock
from bridge.config import Config, SourceConfig
from bridge.traps.flapping import TrapFlaps, trap_policy
from bridge.traps.receiver import DROP_REASONS, TrapReceiver

log = logging.getLogger(__name__)

Intake = Callable[[SourceConfig, list[Alert]], Awaitable[object]]
OUTCOMES = ("accepted", *DROP_REASONS)
#: how often (seconds of real time) flapping identities are checked for having become stable
SETTLE_EVERY = 5.0


class TrapReceivers:
    def __init__(self, cfg: Config, intake: Intake, clock: Clock | None = None) -> None:
        self.sources = [s for s in cfg.sources if s.type == "snmptrap"]
        self.receivers: dict[str, TrapReceiver] = {}
        self.flaps = TrapFlaps(trap_policy(cfg))
        self._intake = intake
        self._clock = clock or SystemClock()
        self._settle_lock = asyncio.Lock()  # a caller of settle() sees a running round's end

    async def take(self, source: SourceConfig, alerts: list[Alert]) -> None:
        """A receiver's alerts, through the flapping rule, to the intake."""
        batch = self.flaps.take(source.name, alerts, self._clock.now())
        if batch:
            await self._intake(source, batch)

    async def settle(self) -> None:
        """End the flapping of identities stable for the flap window (their tickets hear it)."""
        async with self._settle_lock:
            at = self._clock.now()
            for source in self.sources:
                batch = self.flaps.settle(source.name, at)
                if batch:
                    await self._intake(source, batch)

    async def _settling(self) -> None:
        while True:
            await asyncio.sleep(SETTLE_EVERY)
            try:
                await self.settle()
            except Exception:  # the store may be failing; the next round tries again
                log.exception("snmptrap: ending flapping failed")

    def _sink(self, source: SourceConfig) -> Callable[[list[Alert]], Awaitable[object]]:
        return lambda batch: self.take(source, batch)

    async def ctx(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: bind every source at start-up (fail fast), close at shutdown."""
        settling: asyncio.Task[None] | None = None
        try:
            for source in self.sources:
                receiver = TrapReceiver(source, self._sink(source))
                await receiver.start()
                self.receivers[source.name] = receiver
            if self.sources and self.flaps.policy.flap_changes:
                settling = asyncio.create_task(self._settling(), name="traps:flapping")
            yield
        finally:
            if settling is not None:
                settling.cancel()
                await asyncio.gather(settling, return_exceptions=True)
            for receiver in self.receivers.values():
                await receiver.drained()
                await receiver.stop()
            self.receivers.clear()


class TrapCollector(Collector):
    def __init__(self, traps: TrapReceivers) -> None:
        self._traps = traps

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "slabridge_snmp_datagrams",
            "SNMP datagrams received by snmptrap sources, by verdict (accepted or drop reason)",
            labels=["source", "outcome"],
        )
        for source in self._traps.sources:
            receiver = self._traps.receivers.get(source.name)
            for outcome in OUTCOMES:
                n = receiver.outcomes.get(outcome, 0) if receiver else 0
                family.add_metric([source.name, outcome], n)
        yield family
