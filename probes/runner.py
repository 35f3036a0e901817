"""Probe scheduling on an APScheduler 3 AsyncIOScheduler owned by the caller.

Devices with the same ICMP settings are grouped into batches (``batch_size`` devices), each
batch swept by one job; the batches of one interval are spread evenly over the interval,
plus a little jitter, so 10,000 devices never fire in the same instant. SNMP devices are
batched the same way by interval; a batch's polls run concurrently, bounded by the
poller's semaphore.

Every job is added with explicit ``coalesce=True``, ``max_instances=1`` and a
``misfire_grace_time`` of half its interval (APScheduler's default of one second silently
drops late runs). Runs the scheduler reports missed (``EVENT_JOB_MISSED``) or skipped
because the previous run of the batch was still going (``EVENT_JOB_MAX_INSTANCES``) are
counted in :attr:`ProbeRunner.missed_runs` and :attr:`ProbeRunner.skipped_runs`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.triggers.interval import IntervalTrigger

from probes.checks import CHECK_ICMP, CHECK_SNMP, Policy, StateChange
from probes.errors import IcmpError, ProbeError
from probes.icmp import Pinger
from probes.once import Clock, ProbeRow, run_once
from probes.readings import icmp_groups, ping_observation, poll, snmp_observations, sweep
from probes.snmp import SnmpPoller, SnmpPollResult
from probes.spec import DeviceSpec
from probes.state import StateEngine

__all__ = ["JOB_DEFAULTS", "Clock", "ProbeRow", "ProbeRunner", "run_once"]

log = logging.getLogger(__name__)

# For the caller's AsyncIOScheduler(job_defaults=JOB_DEFAULTS); jobs also set them explicitly.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}

OnChange = Callable[[StateChange], Awaitable[None]]
OnSample = Callable[[str, str, Any, datetime], Awaitable[None] | None]
# After each batch's cycle, with its kind and wall seconds: where the caller makes the
# cycle's samples durable, so a restart knows the last probe actually observed.
OnCycle = Callable[[str, float], Awaitable[None] | None]


def _chunks(items: Sequence[DeviceSpec], size: int) -> list[list[DeviceSpec]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


async def _call(
    callback: Callable[..., Awaitable[None] | None], args: tuple[Any, ...], failed: str, *why: Any
) -> None:
    """A caller's callback (plain or async); its failure is logged, never the sweep's."""
    try:
        ret = callback(*args)
        if inspect.isawaitable(ret):
            await ret
    except Exception:
        log.exception(failed, *why)


class ProbeRunner:
    """Schedules the probes of a set of devices and emits their state changes."""

    def __init__(
        self,
        scheduler: Any,  # apscheduler.schedulers.asyncio.AsyncIOScheduler
        clock: Clock,
        specs: Iterable[DeviceSpec],
        *,
        on_change: OnChange,
        on_sample: OnSample | None = None,
        on_cycle: OnCycle | None = None,
        pinger: Pinger | None = None,
        snmp: SnmpPoller | None = None,
        policy: Policy | None = None,
        batch_size: int = 500,
        jitter: float = 2.0,
        job_prefix: str = "probes",
        rng: random.Random | None = None,
        owns: Callable[[str, str], bool] | None = None,
        before_batch: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._on_change = on_change
        self._on_sample = on_sample
        self._on_cycle = on_cycle
        self._pinger = pinger
        self._snmp = snmp
        self._batch_size = max(1, batch_size)
        self._jitter = jitter
        self._prefix = job_prefix
        self._rng = rng or random.Random()
        #: (device id, "icmp" | "snmp") -> whether this node probes it now (leases); None: all
        self._owns = owns
        #: awaited before each batch picks its devices (the prober renews its leases when due)
        self._before_batch = before_batch
        self._job_ids: list[str] = []
        self._listening = False
        self.missed_runs = 0  # EVENT_JOB_MISSED of our jobs
        self.skipped_runs = 0  # EVENT_JOB_MAX_INSTANCES: previous run still going
        self.runs = 0
        self.engine = StateEngine(policy)
        self.specs: dict[str, DeviceSpec] = {}
        self.set_specs(specs)

    # -- configuration ---------------------------------------------------------------------

    def set_specs(self, specs: Iterable[DeviceSpec]) -> None:
        """Replace the device set (restart() to reschedule). Raises ValueError when bad."""
        by_id: dict[str, DeviceSpec] = {}
        for spec in specs:
            if spec.id in by_id:
                raise ValueError(f"duplicate device id {spec.id!r}")
            by_id[spec.id] = spec
        for spec in by_id.values():
            if spec.parent is not None and spec.parent not in by_id:
                raise ValueError(f"device {spec.id!r}: unknown parent {spec.parent!r}")
            if spec.icmp is not None and self._pinger is None:
                raise ValueError(f"device {spec.id!r} has an icmp check but no Pinger was given")
            if spec.snmp is not None and self._snmp is None:
                raise ValueError(
                    f"device {spec.id!r} has an snmp check but no SnmpPoller was given"
                )
        self.engine.set_parents({s.id: s.parent for s in by_id.values()})
        self.specs = by_id

    def batches(self) -> list[tuple[str, float, float, list[DeviceSpec]]]:
        """(kind, interval, offset seconds, devices) of every job start() would add."""
        out: list[tuple[str, float, float, list[DeviceSpec]]] = []
        snmp_groups: dict[float, list[DeviceSpec]] = {}
        for spec in self.specs.values():
            if spec.snmp is not None:
                snmp_groups.setdefault(spec.snmp.interval, []).append(spec)
        for kind, groups in (("icmp", icmp_groups(self.specs.values())), ("snmp", snmp_groups)):
            for key, devices in groups.items():
                interval = key[0] if isinstance(key, tuple) else key
                chunks = _chunks(devices, self._batch_size)
                for i, chunk in enumerate(chunks):
                    out.append((kind, interval, interval * i / len(chunks), chunk))
        return out

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Add one job per batch to the scheduler and listen for missed runs."""
        if self._job_ids:
            raise RuntimeError("ProbeRunner already started")
        if not self._listening:
            self._scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
            self._listening = True
        now = self._clock.now()
        for n, (kind, interval, offset, devices) in enumerate(self.batches()):
            job_id = f"{self._prefix}:{kind}:{interval:g}s:{n}"
            func = self._run_icmp_batch if kind == "icmp" else self._run_snmp_batch
            jitter = min(self._jitter, interval / 10) or None
            first = now + timedelta(seconds=offset + self._rng.uniform(0, jitter or 0))
            self._scheduler.add_job(
                func,
                trigger=IntervalTrigger(seconds=interval, start_date=first, jitter=jitter),
                args=[devices],
                id=job_id,
                name=f"{kind} sweep of {len(devices)} devices every {interval:g}s",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(interval / 2)),
                replace_existing=True,
            )
            self._job_ids.append(job_id)
        log.info(
            "probe runner started: %d jobs for %d devices", len(self._job_ids), len(self.specs)
        )

    def stop(self) -> None:
        """Remove our jobs and listener (runs in progress finish on their own)."""
        for job_id in self._job_ids:
            try:
                self._scheduler.remove_job(job_id)
            except Exception:  # noqa: BLE001 - JobLookupError: already gone
                log.debug("job %s already removed", job_id)
        self._job_ids.clear()
        if self._listening:
            self._scheduler.remove_listener(self._on_event)
            self._listening = False

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def job_ids(self) -> tuple[str, ...]:
        return tuple(self._job_ids)

    def _on_event(self, event: JobExecutionEvent) -> None:
        if not str(getattr(event, "job_id", "")).startswith(self._prefix + ":"):
            return
        if event.code == EVENT_JOB_MISSED:
            self.missed_runs += 1
            log.warning(
                "probe job %s missed its run time %s", event.job_id, event.scheduled_run_time
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            self.skipped_runs += 1
            log.warning("probe job %s skipped: previous run still going", event.job_id)

    async def run_cycle(self) -> None:
        """Run every batch once, now: for `slabridge probe --once` and for tests that move an
        injected clock between cycles instead of waiting for the scheduler."""
        for kind, _interval, _offset, devices in self.batches():
            if kind == "icmp":
                await self._run_icmp_batch(devices)
            else:
                await self._run_snmp_batch(devices)

    async def probe_now(self, kind: str, device_ids: Iterable[str]) -> None:
        """One sweep of these devices' `kind` checks now, batch by batch (targets just taken
        over from a node that died are probed at once, not at their batch's next turn)."""
        ids = set(device_ids)
        for k, _interval, _offset, devices in self.batches():
            chosen = [d for d in devices if d.id in ids]
            if k != kind or not chosen:
                continue
            if kind == "icmp":
                await self._run_icmp_batch(chosen)
            else:
                await self._run_snmp_batch(chosen)

    # -- jobs ------------------------------------------------------------------------------

    async def _emit(self, changes: Iterable[StateChange]) -> None:
        for change in changes:
            try:
                await self._on_change(change)
            except Exception:
                log.exception("on_change failed for %s/%s", change.device_id, change.check)

    async def _sample(self, device_id: str, check: str, result: Any, at: datetime) -> None:
        if self._on_sample is not None:
            args = (device_id, check, result, at)
            await _call(self._on_sample, args, "on_sample failed for %s/%s", device_id, check)

    async def _cycle_done(self, kind: str, started: float) -> None:
        if self._on_cycle is not None:
            args = (kind, time.perf_counter() - started)
            await _call(self._on_cycle, args, "on_cycle failed after a %s cycle", kind)

    async def _run_icmp_batch(self, devices: list[DeviceSpec]) -> None:
        """One sweep of a batch; a failure of our own (no socket) feeds no observation."""
        assert self._pinger is not None
        devices = await self._owned(devices, "icmp")
        if not devices:
            return
        started = time.perf_counter()
        self.runs += 1
        try:
            results = await sweep(self._pinger, devices)
        except IcmpError:
            log.exception("ICMP sweep of %d devices failed", len(devices))
            return
        at = self._clock.now()
        cycle = []
        for spec in devices:
            result = results[spec.address]
            assert spec.icmp is not None
            obs, detail = ping_observation(result, spec.icmp)
            cycle.append((spec.id, CHECK_ICMP, obs, detail))
            await self._sample(spec.id, CHECK_ICMP, result, at)
        await self._emit(self.engine.observe_cycle(cycle, at))
        await self._cycle_done("icmp", started)

    async def _owned(self, devices: list[DeviceSpec], kind: str) -> list[DeviceSpec]:
        if self._before_batch is not None:
            try:
                await self._before_batch()
            except Exception:
                log.exception("before_batch failed")
        if self._owns is None:
            return devices
        return [d for d in devices if self._owns(d.id, kind)]

    async def _poll_one(self, spec: DeviceSpec) -> SnmpPollResult | ProbeError:
        assert self._snmp is not None
        return await poll(self._snmp, spec)

    async def _run_snmp_batch(self, devices: list[DeviceSpec]) -> None:
        devices = await self._owned(devices, "snmp")
        if not devices:
            return
        self.runs += 1
        started = time.perf_counter()
        results = await asyncio.gather(*(self._poll_one(d) for d in devices))
        at = self._clock.now()
        cycle = []
        changes: list[StateChange] = []
        for spec, result in zip(devices, results, strict=True):
            assert spec.snmp is not None
            await self._sample(spec.id, CHECK_SNMP, result, at)
            if isinstance(result, SnmpPollResult):
                changes += self.engine.observe_uptime(spec.id, result.uptime_ticks, at)
            for check, obs, detail in snmp_observations(spec, spec.snmp, result):
                cycle.append((spec.id, check, obs, detail))
        changes += self.engine.observe_cycle(cycle, at)
        await self._emit(changes)
        await self._cycle_done("snmp", started)
