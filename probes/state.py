"""Pure check-state logic: debounce, degraded, flapping, dependencies, SNMP events.

No I/O and no clock: every call takes the observation time ``at`` (an aware datetime).
The runner feeds one observation per device and check and cycle; the engine returns the
StateChange records to emit, each naming the rule that produced it.

Rules (the ``rule`` field of StateChange):

* ``first_up`` / ``down_after_n`` / ``degraded_after_n``: from ``unknown``, the first good
  cycle gives ``up``; ``down`` or ``degraded`` need ``down_after`` consecutive cycles.
* ``down_after_n`` / ``degraded_after_n``: a worse state after ``down_after`` (N) cycles.
* ``up_after_m`` / ``degraded_after_m``: a better state after ``up_after`` (M) cycles.
* ``unreachable_parent_down``: a reachability check (icmp, snmp) that fails while the
  parent device is down or unreachable becomes ``unreachable``, not ``down``; while the
  parent is failing but not yet debounced, the child's ``down`` is held back.
* ``down_parent_up``: the parent is up again but the child still fails.
* ``flapping_started`` / ``flapping_stopped``: at least ``flap_changes`` transitions within
  ``flap_window`` start flapping; transitions are then not emitted one by one; once the
  state has been stable for ``flap_window`` one ``flapping_stopped`` carries the outcome.
* ``interface_down`` / ``interface_up`` and ``threshold_crossed`` / ``threshold_cleared``
  for the SNMP interface and threshold checks (debounced like the others).
* ``reboot``: sysUpTime went backwards (no debounce; old and new state are both ``up``).
* ``unconfirmed_failure``: a run of failed cycles ended (a good or degraded cycle came)
  before ``down_after`` confirmed it; old and new state are the unchanged state, ``since``
  is the first failed cycle and ``at`` the cycle that ended the run.

Debouncing decides *whether* a state changes, never *when*: a change is decided at ``at`` (the
cycle that confirmed it) and began at ``since``, the first cycle of the run that confirmed
it (the first failed probe of an outage, the first good probe of its recovery). From
``unknown`` (a start) the first decided state begins at the first probe not already
recorded as an unconfirmed failure, so no time after the first probe stays unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from probes.checks import (
    CHECK_ICMP,
    CHECK_SNMP,
    CHECK_UPTIME,
    EMPTY_DETAIL,
    REACHABILITY_CHECKS,
    Observation,
    Policy,
    State,
    StateChange,
    classify_if_status,
    classify_ping,
    interface_check,
    threshold_check,
    threshold_crossed,
)
from probes.debounce import BAD_STATES, Tracker

__all__ = [
    "CHECK_ICMP",
    "CHECK_SNMP",
    "CHECK_UPTIME",
    "Observation",
    "Policy",
    "State",
    "StateChange",
    "StateEngine",
    "classify_if_status",
    "classify_ping",
    "interface_check",
    "threshold_check",
    "threshold_crossed",
]

TIMETICKS_WRAP = 2**32


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass an aware datetime")


@dataclass(slots=True)
class _Uptime:
    ticks: int
    at: datetime


class StateEngine:
    """All trackers of a process; parents are given as {device_id: parent_id or None}."""

    def __init__(
        self, policy: Policy | None = None, parents: Mapping[str, str | None] | None = None
    ) -> None:
        self.policy = policy or Policy()
        self._parents: dict[str, str | None] = {}
        self._children: dict[str, list[str]] = {}
        self._trackers: dict[tuple[str, str], Tracker] = {}
        self._uptimes: dict[str, _Uptime] = {}
        self.set_parents(parents or {})

    # -- topology --------------------------------------------------------------------------

    def set_parents(self, parents: Mapping[str, str | None]) -> None:
        """Replace the dependency map; raises ValueError on a cycle."""
        for start in parents:
            seen = {start}
            cur = parents.get(start)
            while cur is not None:
                if cur in seen:
                    raise ValueError(f"dependency cycle through device {cur!r}")
                seen.add(cur)
                cur = parents.get(cur)
        self._parents = dict(parents)
        self._children = {}
        for child, parent in self._parents.items():
            if parent is not None:
                self._children.setdefault(parent, []).append(child)

    def depth(self, device_id: str) -> int:
        d, cur = 0, self._parents.get(device_id)
        while cur is not None:
            d, cur = d + 1, self._parents.get(cur)
        return d

    # -- queries ---------------------------------------------------------------------------

    def state(self, device_id: str, check: str) -> State:
        tr = self._trackers.get((device_id, check))
        return tr.state if tr else State.UNKNOWN

    def is_flapping(self, device_id: str, check: str) -> bool:
        tr = self._trackers.get((device_id, check))
        return bool(tr and tr.flapping)

    def forget(self, device_id: str, kind: str) -> None:
        """Drop what was seen of a device's checks of one kind ("icmp" or "snmp"): another
        prober now watches it, and a later takeover must start from unknown, not stale state."""
        for key in [k for k in self._trackers if k[0] == device_id]:
            if (key[1] == CHECK_ICMP) == (kind == "icmp"):
                del self._trackers[key]
        if kind == "snmp":
            self._uptimes.pop(device_id, None)

    def states(self) -> dict[tuple[str, str], State]:
        """Current state of every tracked (device, check), e.g. for a gauge at scrape time."""
        return {key: tr.state for key, tr in self._trackers.items()}

    def _reachability(self, device_id: str) -> Tracker | None:
        for check in REACHABILITY_CHECKS:
            tr = self._trackers.get((device_id, check))
            if tr is not None:
                return tr
        return None

    def _parent_status(self, device_id: str) -> tuple[str, datetime | None]:
        """'up', 'failing' or 'down', and when the parent's current state began."""
        parent = self._parents.get(device_id)
        if parent is None:
            return "up", None
        tr = self._reachability(parent)
        if tr is None:
            return "up", None
        if tr.state in BAD_STATES:
            return "down", tr.since
        if tr.failing:
            return "failing", tr.since
        return "up", tr.since

    # -- observations ----------------------------------------------------------------------

    def observe(
        self,
        device_id: str,
        check: str,
        observation: Observation,
        at: datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> list[StateChange]:
        """Record one cycle's observation of one check; returns what to emit."""
        _require_aware(at)
        key = (device_id, check)
        tr = self._trackers.get(key)
        if tr is None:
            tr = self._trackers[key] = Tracker(device_id, check)
        before = tr.state
        before_failing = tr.failing
        out = tr.observe(
            observation, at, detail or EMPTY_DETAIL, self.policy, self._parent_status(device_id)
        )
        if tr.kind == "reachability" and self._reachability(device_id) is tr:
            if tr.state is not before or tr.failing is not before_failing:
                out.extend(self._reevaluate_children(device_id, at))
        return out

    def observe_cycle(
        self,
        observations: Iterable[tuple[str, str, Observation, Mapping[str, Any] | None]],
        at: datetime,
    ) -> list[StateChange]:
        """Several observations of one instant; parents are evaluated before children."""
        ordered = sorted(observations, key=lambda o: self.depth(o[0]))
        out: list[StateChange] = []
        for device_id, check, obs, detail in ordered:
            out.extend(self.observe(device_id, check, obs, at, detail))
        return out

    def _reevaluate_children(self, device_id: str, at: datetime) -> list[StateChange]:
        out: list[StateChange] = []
        for child in self._children.get(device_id, ()):
            status = self._parent_status(child)
            for check in REACHABILITY_CHECKS:
                tr = self._trackers.get((child, check))
                if tr is None or tr.last_obs is None:
                    continue
                before = tr.state
                out.extend(tr.evaluate(at, self.policy, status))
                if tr.state is not before and self._reachability(child) is tr:
                    out.extend(self._reevaluate_children(child, at))
        return out

    def observe_uptime(self, device_id: str, ticks: int, at: datetime) -> list[StateChange]:
        """sysUpTime (hundredths of a second); a value going backwards is a reboot.

        A Counter wrap (after about 497 days) is told apart from a reboot by the time
        elapsed since the previous reading.
        """
        _require_aware(at)
        prev = self._uptimes.get(device_id)
        self._uptimes[device_id] = _Uptime(ticks, at)
        if prev is None or ticks >= prev.ticks:
            return []
        elapsed = int((at - prev.at).total_seconds() * 100)
        expected = prev.ticks + elapsed
        if expected >= TIMETICKS_WRAP:
            wrapped = expected - TIMETICKS_WRAP
            if abs(ticks - wrapped) <= max(500, elapsed // 10):
                return []
        detail = {
            "uptime_before": prev.ticks,
            "uptime_after": ticks,
            "uptime_before_s": prev.ticks / 100,
            "uptime_after_s": ticks / 100,
            "previous_reading_at": prev.at.isoformat(),
        }
        return [
            StateChange(
                device_id=device_id,
                check=CHECK_UPTIME,
                old_state=State.UP,
                new_state=State.UP,
                at=at,
                detail=MappingProxyType(detail),
                rule="reboot",
            )
        ]
