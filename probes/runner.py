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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.triggers.interval import IntervalTrigger

from probes.errors import IcmpError, ProbeError, SnmpError
from probes.icmp import Pinger, PingResult, detect_icmp_capability
from probes.snmp import SnmpPoller, SnmpPollResult
from probes.spec import DeviceSpec, IcmpSettings, SnmpSettings
from probes.state import (
    CHECK_ICMP,
    CHECK_SNMP,
    Observation,
    Policy,
    StateChange,
    StateEngine,
    classify_if_status,
    classify_ping,
    interface_check,
    threshold_check,
    threshold_crossed,
)

__all__ = ["JOB_DEFAULTS", "Clock", "ProbeRow", "ProbeRunner", "run_once"]

log = logging.getLogger(__name__)

# For the caller's AsyncIOScheduler(job_defaults=JOB_DEFAULTS); jobs also set them explicitly.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}

OnChange = Callable[[StateChange], Awaitable[None]]
OnSample = Callable[[str, str, Any, datetime], Awaitable[None] | None]
# After each batch's cycle, with its kind and wall seconds: where the caller makes the
# cycle's samples durable, so a restart knows the last probe actually observed.
OnCycle = Callable[[str, float], Awaitable[None] | None]


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


@dataclass(frozen=True, slots=True)
class ProbeRow:
    """One line of ``slabridge probe --once``: one device and check."""

    device_id: str
    address: str
    check: str
    status: str  # ok, degraded, fail
    summary: str
    at: datetime
    loss: float | None = None
    rtt_avg_ms: float | None = None


def _chunks(items: Sequence[DeviceSpec], size: int) -> list[list[DeviceSpec]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _icmp_key(s: IcmpSettings) -> tuple[float, int, float, float]:
    return (s.interval, s.count, s.spacing, s.timeout)


def _ping_observation(result: PingResult, s: IcmpSettings) -> tuple[Observation, dict[str, Any]]:
    obs = classify_ping(
        result.received, result.loss, result.rtt_avg_ms, s.degraded_loss, s.degraded_rtt_ms
    )
    detail: dict[str, Any] = {
        "address": result.address,
        "sent": result.sent,
        "received": result.received,
        "loss": result.loss,
        "rtt_avg_ms": result.rtt_avg_ms,
        "rtt_max_ms": result.rtt_max_ms,
    }
    if result.error:
        detail["error"] = result.error
    return obs, detail


def _snmp_observations(
    spec: DeviceSpec, settings: SnmpSettings, result: SnmpPollResult | ProbeError
) -> list[tuple[str, Observation, dict[str, Any]]]:
    """(check, observation, detail) triples of one poll; errors fail the snmp check only."""
    if isinstance(result, ProbeError):
        return [
            (
                CHECK_SNMP,
                Observation.FAIL,
                {
                    "address": spec.address,
                    "error": str(result),
                    "error_type": type(result).__name__,
                },
            )
        ]
    out = [
        (CHECK_SNMP, Observation.OK, {"address": spec.address, "rtt_ms": round(result.rtt_ms, 3)})
    ]
    for label, status in result.interfaces.items():
        detail: dict[str, Any] = {"interface": label, "oper_status": status}
        if status is None:
            detail["error"] = "no such interface"
            out.append((interface_check(label), Observation.FAIL, detail))
        else:
            out.append((interface_check(label), classify_if_status(status), detail))
    for th in settings.thresholds:
        value = result.thresholds.get(th.name)
        if value is None:
            continue  # missing or non-numeric: nothing to compare; the sample shows it
        crossed = threshold_crossed(value, th.op, th.value)
        out.append(
            (
                threshold_check(th.name),
                Observation.DEGRADED if crossed else Observation.OK,
                {
                    "threshold": th.name,
                    "oid": th.oid,
                    "value": value,
                    "op": th.op,
                    "limit": th.value,
                },
            )
        )
    return out


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
        icmp_groups: dict[tuple[float, int, float, float], list[DeviceSpec]] = {}
        snmp_groups: dict[float, list[DeviceSpec]] = {}
        for spec in self.specs.values():
            if spec.icmp is not None:
                icmp_groups.setdefault(_icmp_key(spec.icmp), []).append(spec)
            if spec.snmp is not None:
                snmp_groups.setdefault(spec.snmp.interval, []).append(spec)
        for kind, groups in (("icmp", icmp_groups), ("snmp", snmp_groups)):
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
        if self._on_sample is None:
            return
        try:
            ret = self._on_sample(device_id, check, result, at)
            if inspect.isawaitable(ret):
                await ret
        except Exception:
            log.exception("on_sample failed for %s/%s", device_id, check)

    async def _cycle_done(self, kind: str, started: float) -> None:
        if self._on_cycle is None:
            return
        try:
            ret = self._on_cycle(kind, time.perf_counter() - started)
            if inspect.isawaitable(ret):
                await ret
        except Exception:
            log.exception("on_cycle failed after a %s cycle", kind)

    async def _run_icmp_batch(self, devices: list[DeviceSpec]) -> None:
        """One sweep of a batch; a failure of our own (no socket) feeds no observation."""
        assert self._pinger is not None
        devices = await self._owned(devices, "icmp")
        if not devices:
            return
        started = time.perf_counter()
        self.runs += 1
        settings = devices[0].icmp
        assert settings is not None
        try:
            results = await self._pinger.sweep(
                [d.address for d in devices],
                count=settings.count,
                interval=settings.spacing,
                timeout=settings.timeout,
            )
        except IcmpError:
            log.exception("ICMP sweep of %d devices failed", len(devices))
            return
        at = self._clock.now()
        cycle = []
        for spec in devices:
            result = results[spec.address]
            assert spec.icmp is not None
            obs, detail = _ping_observation(result, spec.icmp)
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
        assert self._snmp is not None and spec.snmp is not None
        try:
            return await self._snmp.poll(spec.address, spec.snmp)
        except SnmpError as err:
            return err

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
            for check, obs, detail in _snmp_observations(spec, spec.snmp, result):
                cycle.append((spec.id, check, obs, detail))
        changes += self.engine.observe_cycle(cycle, at)
        await self._emit(changes)
        await self._cycle_done("snmp", started)


async def run_once(
    specs: Iterable[DeviceSpec],
    clock: Clock,
    *,
    pinger: Pinger | None = None,
    snmp: SnmpPoller | None = None,
) -> list[ProbeRow]:
    """Probe every device once (no debounce) and return one row per device and check.

    Creates (and closes) a Pinger / SnmpPoller when none is given and one is needed.
    """
    specs = list(specs)
    own_pinger = own_snmp = False
    if pinger is None and any(s.icmp for s in specs):
        pinger, own_pinger = Pinger(detect_icmp_capability()), True
    if snmp is None and any(s.snmp for s in specs):
        snmp, own_snmp = await SnmpPoller.create(), True
    rows: list[ProbeRow] = []
    try:
        groups: dict[tuple[float, int, float, float], list[DeviceSpec]] = {}
        for s in specs:
            if s.icmp is not None:
                groups.setdefault(_icmp_key(s.icmp), []).append(s)

        async def sweep_group(devs: list[DeviceSpec]) -> dict[str, PingResult]:
            assert pinger is not None and devs[0].icmp is not None
            st = devs[0].icmp
            return await pinger.sweep(
                [d.address for d in devs], count=st.count, interval=st.spacing, timeout=st.timeout
            )

        snmp_specs = [s for s in specs if s.snmp is not None]

        async def poll(spec: DeviceSpec) -> SnmpPollResult | ProbeError:
            assert snmp is not None and spec.snmp is not None
            try:
                return await snmp.poll(spec.address, spec.snmp)
            except SnmpError as err:
                return err

        sweeps = await asyncio.gather(*(sweep_group(d) for d in groups.values()))
        polls = await asyncio.gather(*(poll(s) for s in snmp_specs))
        at = clock.now()
        ping_results: dict[str, PingResult] = {}
        for res in sweeps:
            ping_results.update(res)
        for s in specs:
            if s.icmp is not None:
                r = ping_results[s.address]
                obs, _ = _ping_observation(r, s.icmp)
                summary = (
                    f"{r.received}/{r.sent} replies, rtt avg {r.rtt_avg_ms:.3f} ms"
                    if r.rtt_avg_ms is not None
                    else f"0/{r.sent} replies"
                )
                if r.error:
                    summary += f" ({r.error})"
                rows.append(
                    ProbeRow(
                        s.id, s.address, CHECK_ICMP, str(obs), summary, at, r.loss, r.rtt_avg_ms
                    )
                )
        for s, res in zip(snmp_specs, polls, strict=True):
            assert s.snmp is not None
            for check, obs, detail in _snmp_observations(s, s.snmp, res):
                if isinstance(res, ProbeError):
                    summary = str(res)
                elif check == CHECK_SNMP:
                    summary = f"sysUpTime {res.uptime_ticks / 100:.0f} s"
                else:
                    summary = ", ".join(f"{k}={v}" for k, v in detail.items())
                rows.append(ProbeRow(s.id, s.address, check, str(obs), summary, at))
    finally:
        if own_pinger and pinger is not None:
            pinger.close()
        if own_snmp and snmp is not None:
            await snmp.aclose()
    return rows
