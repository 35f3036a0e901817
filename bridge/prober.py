"""The probe process inside the service: owns the pinger, the SNMP engine and the runner.

Run probes in one process only (a single-worker bridge): every scheduler would otherwise
probe, and open tickets, once per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bridge import probing
from bridge.clock import Clock
from bridge.config import Config
from bridge.service import Services
from probes.icmp import IcmpCapability, Pinger, PingResult, detect_icmp_capability
from probes.runner import ProbeRunner
from probes.snmp import SnmpPoller, SnmpPollResult
from probes.state import State, StateChange

log = logging.getLogger(__name__)

#: `AlertIntake.take(source, alerts, received_at, *, along=write_in_the_same_transaction)`
Ingest = Callable[..., Awaitable[Any]]


class Prober:
    def __init__(
        self,
        cfg: Config,
        services: Services,
        clock: Clock,
        scheduler: Any,
        ingest: Ingest,
        metrics: Any = None,
    ) -> None:
        self.cfg = cfg
        self.services = services
        self.clock = clock
        self.scheduler = scheduler
        self.ingest = ingest
        self.metrics = metrics
        self.devices = {d.id: d for d in cfg.devices}
        self.specs = probing.device_specs(cfg)
        self.samples = probing.SampleBuffer()
        self.last_sample: dict[str, dict[str, Any]] = {}
        self.capability: IcmpCapability | None = None
        self.runner: ProbeRunner | None = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self, *, schedule: bool = True) -> None:
        now = self.clock.now()
        gaps = await self.services.write(lambda conn: probing.record_unknown_gap(conn, now))
        if gaps:
            log.info("recorded an unknown gap for %d device checks since the last sample", gaps)
        pinger = None
        if any(s.icmp for s in self.specs):
            self.capability = await asyncio.to_thread(detect_icmp_capability)
            log.info("ICMP: %s", self.capability.describe())
            if self.metrics is not None:
                self.metrics.icmp_capability(self.capability.mode)
            if self.capability.mode is None:
                log.error(
                    "ICMP probes are off: %s; run as root, grant CAP_NET_RAW, or put the "
                    "service's group in net.ipv4.ping_group_range (see the README)",
                    self.capability.describe(),
                )
                self.specs = probing.without_icmp(self.specs)
            else:
                pinger = await self._stack.enter_async_context(Pinger(self.capability))
        snmp = None
        if any(s.snmp for s in self.specs):
            snmp = await self._stack.enter_async_context(await SnmpPoller.create())
        self.runner = ProbeRunner(
            self.scheduler,
            self.clock,
            self.specs,
            on_change=self.on_change,
            on_sample=self.on_sample,
            on_cycle=self.on_cycle,
            pinger=pinger,
            snmp=snmp,
            policy=probing.policy(self.cfg),
            batch_size=self.cfg.probing.batch_size,
            jitter=self.cfg.probing.jitter,
        )
        if schedule:
            self.runner.start()

    async def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        await self.flush()
        await self._stack.aclose()

    async def cycle(self) -> None:
        """One cycle of every check (tests); each batch's samples reach the store as it ends."""
        assert self.runner is not None
        await self.runner.run_cycle()

    def on_sample(self, device_id: str, check: str, result: Any, at: datetime) -> None:
        self.last_sample[device_id] = self.samples.add(device_id, check, result, at)
        if self.metrics is None:
            return
        if isinstance(result, PingResult):
            self.metrics.probe_sample(
                device_id, check, result.received > 0, result.rtt_avg_ms, result.loss
            )
        elif isinstance(result, SnmpPollResult):
            self.metrics.probe_sample(device_id, check, True, result.rtt_ms)
        else:
            self.metrics.probe_sample(device_id, check, False)
            self.metrics.snmp_error(device_id)

    async def on_cycle(self, _kind: str, seconds: float) -> None:
        """The cycle's last observations to the store at once (one multi-row write), so a
        restart's unknown gap begins at the last probe actually observed."""
        if self.metrics is not None:
            self.metrics.probe_cycle(seconds)
        await self.flush()

    async def flush(self) -> None:
        rows = self.samples.take()
        if rows:
            await self.services.write(lambda conn: probing.flush_samples(conn, rows))

    async def on_change(self, change: StateChange) -> None:
        device = self.devices.get(change.device_id)
        if device is None:
            return
        now = self.clock.now()
        parent = device.depends_on

        observed = change

        def store(conn: Any) -> None:
            probing.record_state(conn, observed)
            if observed.new_state.value == "unreachable" and parent:
                probing.attach_to_parent(conn, observed, parent, now=now)

        if change.old_state is State.UNKNOWN and change.new_state is State.UP:
            # First state after a (re)start: a ticket this check opened before the restart
            # is still waiting for its recovery, which the fresh state engine cannot know of.
            if await self.services.read(lambda conn: probing.is_firing(conn, change)):
                change = dataclasses.replace(change, old_state=State.DOWN)
        sample = self.last_sample.get(device.id)
        pa = probing.change_to_alert(change, device, sample)
        batch = [pa.alert] if pa.alert is not None else []
        if change.rule == "flapping_stopped" and change.new_state is State.DOWN:
            # settled down: the outage itself needs its ticket, beside the flapping one
            settled = dataclasses.replace(change, old_state=State.UP, rule="down_after_n")
            down = probing.change_to_alert(settled, device, sample)
            if down.alert is not None:
                batch.append(down.alert)
        if batch:
            # the interval and the ticket change in one transaction: both or neither
            await self.ingest(pa.source, batch, change.at, along=store)
        else:
            await self.services.write(store)
