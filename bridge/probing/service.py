"""The prober inside the service: owns the pinger, the SNMP engine, the runner and the leases.

Every node runs one. It probes only the targets of its own site whose leases it holds
(bridge.probing.leases), records what its site saw, and folds that into the device's decided
state (bridge.probing.quorum); a ticket follows the decision, so it opens once whatever the
number of nodes and sites. A lone node holds every lease: the same code path as many.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bridge.alert import Alert
from bridge.clock import Clock
from bridge.config import Config
from bridge.config.models import DeviceConfig
from bridge.nodes import side
from bridge.nodes.identity import Node
from bridge.probing import alerts, health, quorum, records, specs
from bridge.probing.leases import Leases, live_nodes
from bridge.service import Services
from bridge.store.schema import IMPAIRED_RULE
from probes.icmp import IcmpCapability, Pinger, PingResult, detect_icmp_capability
from probes.runner import ProbeRunner
from probes.snmp import SnmpPoller, SnmpPollResult
from probes.state import State, StateChange

log = logging.getLogger(__name__)

#: `AlertIntake.take_within(work, received_at)`: `work(conn)` writes a change's intervals and
#: returns its alerts, ingested in the same transaction
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
        self.node: Node = getattr(services, "node", None) or Node()
        self.site = self.node.site
        self.site_cfg = cfg.probing.sites.get(self.site)
        self.devices = {d.id: d for d in cfg.devices}
        self.specs = specs.site_specs(cfg, specs.device_specs(cfg), self.site)
        self.samples = records.SampleBuffer()
        self.last_sample: dict[str, dict[str, Any]] = {}
        self.capability: IcmpCapability | None = None
        self.runner: ProbeRunner | None = None
        self.leases = self._leases()
        #: sites that have a live node, refreshed with the leases (a device's default sites)
        self.live_sites: set[str] = {self.site}
        #: (device, "icmp" | "snmp") -> how many times this node probed it (tests, bench)
        self.probed: dict[tuple[str, str], int] = {}
        self._sweep: dict[str, list[str]] = {}
        self._busy: set[tuple[str, str]] = set()
        self.health = health.SiteHealth(self.node, self.site_cfg)
        self._lease_task: asyncio.Task[None] | None = None
        #: when the next lease round is due: a third of the TTL after the last, or sooner
        #: when another node's leases lapse then (a dead node's targets, claimed at once)
        self._due = datetime.min.replace(tzinfo=UTC)
        #: sweeps of targets just taken over, running beside the scheduled ones
        self._takeovers: set[asyncio.Task[None]] = set()
        self._stack = contextlib.AsyncExitStack()

    def _leases(self) -> Leases:
        targets = {(s.id, "icmp") for s in self.specs if s.icmp}
        targets |= {(s.id, "snmp") for s in self.specs if s.snmp}
        p, beat = self.cfg.probing, self.cfg.nodes.heartbeat_interval
        fresh = min(p.lease_ttl, max(p.lease_ttl / 3, 2 * beat))
        return Leases(
            self.node.name, self.site, p.lease_ttl, p.lease_margin, frozenset(targets),
            fresh=fresh,
        )  # fmt: skip

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, schedule: bool = True) -> None:
        now = self.clock.now()

        def begin(conn: sa.Connection) -> int:
            others = live_nodes(conn, self.site, now, self.cfg.probing.lease_ttl)
            others |= {s for s in quorum.live_sites(conn, now, self.cfg.probing.lease_ttl)}
            others.discard(self.node.name)
            others.discard(self.site)
            # a lone node's restart: nobody probed while it was away; with other nodes
            # alive the intervals carry on under whoever took the targets over
            return 0 if others else records.record_unknown_gap(conn, now)

        gaps = await self.services.write(begin)
        if gaps:
            log.info("recorded an unknown gap for %d device checks since the last sample", gaps)
        await self.renew()
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
                self.specs = specs.without_icmp(self.specs)
            else:
                source = self.site_cfg.source if self.site_cfg else None
                pinger = await self._stack.enter_async_context(
                    Pinger(self.capability, source=str(source) if source else None)
                )
        snmp = None
        if any(s.snmp for s in self.specs):
            snmp = await self._stack.enter_async_context(await SnmpPoller.create())
        self.health.pinger = pinger
        self.runner = ProbeRunner(
            self.scheduler,
            self.clock,
            self.specs,
            on_change=self.on_change,
            on_sample=self.on_sample,
            on_cycle=self.on_cycle,
            pinger=pinger,
            snmp=snmp,
            policy=specs.policy(self.cfg),
            batch_size=self.cfg.probing.batch_size,
            jitter=self.cfg.probing.jitter,
            owns=self.owns,
            before_batch=self.renew_if_due,
        )
        if schedule:
            self.runner.start()
            self._lease_task = asyncio.create_task(self._keep_leases(), name="probe-leases")

    async def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
        for task in list(self._takeovers):
            task.cancel()
        await self.flush()
        with contextlib.suppress(Exception):
            await side.run(self.services.engines, self.leases.release)
        await self._stack.aclose()

    async def cycle(self) -> None:
        """One cycle of every held check (tests); each batch's samples reach the store."""
        assert self.runner is not None
        await self.runner.run_cycle()

    # -- leases ----------------------------------------------------------------------------

    def owns(self, device_id: str, kind: str) -> bool:
        if not self.leases.owns(device_id, kind, self.clock.now()):
            return False
        self._busy.add((device_id, kind))  # in a sweep now: not given back until it ends
        return True

    async def renew_if_due(self) -> None:
        """Before a batch: a lease round when one is due (see `_due`)."""
        if self.clock.now() >= self._due:
            await self.renew()

    async def renew(self) -> None:
        """One lease round: renew, give back, claim; forget what another node now watches.

        It runs in a transaction of its own beside the single writer (bridge.nodes.side): a
        queue of state writes must not delay a renewal past the TTL. Targets gained after
        start (a dead node's, or a share given back) are probed at once."""
        now = self.clock.now()
        ttl = self.cfg.probing.lease_ttl

        def step(conn: sa.Connection) -> tuple[set[Any], set[Any]]:
            return self.leases.step(conn, now, busy=frozenset(self._busy))

        gained, lost = await side.run(self.services.engines, step)
        self._due = now + timedelta(seconds=ttl / 3)
        if self.leases.others_expire is not None:
            # just after another node's leases lapse; a live node renews long before that
            lapse = self.leases.others_expire + timedelta(seconds=min(0.1, ttl / 30))
            self._due = min(self._due, lapse)
        self.live_sites = self.leases.live_sites | {self.site}
        if self.runner is not None:
            for device_id, kind in lost:
                self.runner.engine.forget(device_id, kind)
            if gained and self._lease_task is not None:
                self._probe_now(gained)
        if gained or lost:
            log.info(
                "probe leases of %s/%s: %d held (+%d, -%d)",
                self.site,
                self.node.name,
                len(self.leases.held),
                len(gained),
                len(lost),
            )

    def _probe_now(self, targets: set[tuple[str, str]]) -> None:
        assert self.runner is not None
        for kind in sorted({k for _, k in targets}):
            ids = [d for d, k in targets if k == kind]
            task = asyncio.create_task(self.runner.probe_now(kind, ids), name="probe-takeover")
            self._takeovers.add(task)
            task.add_done_callback(self._takeovers.discard)

    async def _keep_leases(self) -> None:
        """Wakes when the next round is due (at most a sixth of the TTL apart, so a clock
        step or a missed wake-up costs little)."""
        longest = max(0.2, self.cfg.probing.lease_ttl / 6)
        while True:
            wait = (self._due - self.clock.now()).total_seconds()
            await asyncio.sleep(min(longest, max(0.02, wait)))
            try:
                await self.renew_if_due()
            except Exception:  # the store away: our leases lapse and we stop probing
                log.exception("probe lease renewal failed")

    # -- observations ----------------------------------------------------------------------

    def on_sample(self, device_id: str, check: str, result: Any, at: datetime) -> None:
        self.last_sample[device_id] = self.samples.add(device_id, check, result, at)
        self.probed[(device_id, check)] = self.probed.get((device_id, check), 0) + 1
        self._sweep.setdefault(check, []).append(device_id)
        if isinstance(result, PingResult):
            self.health.sample(device_id, result.received > 0)
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

    async def on_cycle(self, kind: str, seconds: float) -> None:
        """The cycle's last observations to the store at once (one multi-row write), so a
        restart's unknown gap begins at the last probe actually observed."""
        if self.metrics is not None:
            self.metrics.probe_cycle(seconds)
        self._log_sweep(kind, seconds)
        self._busy = {t for t in self._busy if t[1] != kind}
        if kind == "icmp":
            await health.after_cycle(self)
        await self.flush()

    def _log_sweep(self, kind: str, seconds: float) -> None:
        devices = self._sweep.pop(kind, [])
        path = self.cfg.probing.probe_log
        if not path or not devices:
            return
        line = {
            "node": self.node.name,
            "site": self.site,
            "check": kind,
            "at": (self.clock.now() - timedelta(seconds=seconds)).isoformat(),  # its start
            "seconds": round(seconds, 4),
            "devices": devices,
        }
        path = path.replace("{node}", self.node.name)
        with open(path, "a", encoding="utf-8") as fh:  # one short append per sweep
            fh.write(json.dumps(line) + "\n")

    async def flush(self) -> None:
        rows = self.samples.take()
        if rows:
            await self.services.write(lambda conn: records.flush_samples(conn, rows))

    def sites_of(self, device: DeviceConfig) -> list[str]:
        """The sites a device is probed from: its `probe.sites`, else every site with nodes."""
        if device.probe is not None and device.probe.sites:
            return sorted(device.probe.sites)
        return sorted(self.live_sites | set(self.cfg.probing.sites))

    async def on_change(self, change: StateChange) -> None:
        device = self.devices.get(change.device_id)
        if device is None:
            return
        if self.health.impaired and change.new_state in (State.DOWN, State.UNREACHABLE):
            change = dataclasses.replace(
                change, new_state=State.UNKNOWN, rule=IMPAIRED_RULE, detail={}
            )
        sites = self.sites_of(device)
        if len(sites) <= 1:
            await self._alone(change, device)
        else:
            await self._with_quorum(change, device, sites)

    async def _alone(self, change: StateChange, device: DeviceConfig) -> None:
        """One site: its observation is the decision; interval and ticket in one transaction."""
        now = self.clock.now()
        parent = device.depends_on
        observed = change
        site = self.site

        def store(conn: Any) -> None:
            records.record_state(conn, observed, site)
            records.record_state(conn, observed)
            if observed.new_state.value == "unreachable" and parent:
                records.attach_to_parent(conn, observed, parent, now=now)

        await self._tell(change, device, store)

    async def _with_quorum(
        self, change: StateChange, device: DeviceConfig, sites: list[str]
    ) -> None:
        """Several sites: record this site's interval, then decide under the check's lock."""
        if change.old_state == change.new_state and change.rule != "unconfirmed_failure":
            await self._tell(change, device, None)  # reboots and flapping: events, once each
            return
        now = self.clock.now()
        site = self.site
        cfg = self.cfg
        customer = cfg.customer(device.customer) if hasattr(cfg, "customer") else None
        rule = "quorum"
        if customer is not None:
            rule = cfg.sla_policies[customer.sla_policy].availability_from
        need_ticket = quorum.threshold("quorum", cfg.probing.quorum, len(sites))
        need_avail = quorum.threshold(rule, cfg.probing.quorum, len(sites))

        def store(conn: sa.Connection) -> StateChange | None:
            quorum.lock(conn, change.device_id, change.check)
            before = quorum.site_states(conn, change.device_id, change.check, sites)
            records.record_state(conn, change, site)
            after = quorum.site_states(conn, change.device_id, change.check, sites)
            was, now_is = quorum.decide(before, need_avail), quorum.decide(after, need_avail)
            if was != now_is:
                decided = dataclasses.replace(change, old_state=was, new_state=now_is)
                records.record_state(conn, decided)
                if now_is is State.UNREACHABLE and device.depends_on:
                    records.attach_to_parent(conn, decided, device.depends_on, now=now)
            was, now_is = quorum.decide(before, need_ticket), quorum.decide(after, need_ticket)
            if was == now_is:
                return None
            return dataclasses.replace(
                change,
                old_state=was,
                new_state=now_is,
                detail={**change.detail, "sites": len(sites)},
            )

        def work(conn: sa.Connection) -> tuple[Any, list[Alert]] | None:
            decided = store(conn)
            return None if decided is None else self._alerts(conn, decided, device)

        await self.ingest(work, change.at)

    async def _tell(
        self, change: StateChange, device: DeviceConfig, store: Callable[[Any], None] | None
    ) -> None:
        """The change's alerts on the one ingest path, with `store` in their transaction."""

        def work(conn: sa.Connection) -> tuple[Any, list[Alert]]:
            if store is not None:
                store(conn)
            return self._alerts(conn, change, device)

        await self.ingest(work, change.at)

    def _alerts(
        self, conn: sa.Connection, change: StateChange, device: DeviceConfig
    ) -> tuple[Any, list[Alert]]:
        """The probe source and alerts a decided change tells the intake, read in its
        transaction."""
        if change.old_state is State.UNKNOWN and change.new_state is State.UP:
            # First state after a (re)start: a ticket this check opened before the restart
            # is still waiting for its recovery, which the fresh state engine cannot know of.
            if records.is_firing(conn, change):
                change = dataclasses.replace(change, old_state=State.DOWN)
        sample = self.last_sample.get(device.id)
        pa = alerts.change_to_alert(change, device, sample)
        batch = [pa.alert] if pa.alert is not None else []
        if change.rule == "flapping_stopped" and change.new_state is State.DOWN:
            # settled down: the outage itself needs its ticket, beside the flapping one
            settled = dataclasses.replace(change, old_state=State.UP, rule="down_after_n")
            down = alerts.change_to_alert(settled, device, sample)
            if down.alert is not None:
                batch.append(down.alert)
        return pa.source, batch
