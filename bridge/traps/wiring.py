"""The snmptrap sources of a config as one service: started and stopped with the app, counted.

Every datagram's verdict is on /metrics as `slabridge_snmp_datagrams_total{source,outcome}`:
"accepted", "ignored" (a notification switched off, e.g. authenticationFailure) or the reason
it was dropped; "store-failed" counts accepted datagrams whose alerts the store then refused
(logged; a trap cannot be asked again). A v3 inform sender's engine discovery shows as one
"unknown-engine": that is the protocol, not an attack. Every series exists from the start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from bridge.alert import Alert
from bridge.config import Config, SourceConfig
from bridge.traps.receiver import DROP_REASONS, TrapReceiver

Intake = Callable[[SourceConfig, list[Alert]], Awaitable[object]]
OUTCOMES = ("accepted", *DROP_REASONS)


class TrapReceivers:
    def __init__(self, cfg: Config, intake: Intake) -> None:
        self.sources = [s for s in cfg.sources if s.type == "snmptrap"]
        self.receivers: dict[str, TrapReceiver] = {}
        self._intake = intake

    def _sink(self, source: SourceConfig) -> Callable[[list[Alert]], Awaitable[object]]:
        return lambda batch: self._intake(source, batch)

    async def ctx(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: bind every source at start-up (fail fast), close at shutdown."""
        try:
            for source in self.sources:
                receiver = TrapReceiver(source, self._sink(source))
                await receiver.start()
                self.receivers[source.name] = receiver
            yield
        finally:
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
