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

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

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

CHECK_ICMP = "icmp"
CHECK_SNMP = "snmp"
CHECK_UPTIME = "snmp.uptime"
REACHABILITY_CHECKS = (CHECK_ICMP, CHECK_SNMP)  # in order of preference for dependencies
_EMPTY: Mapping[str, Any] = MappingProxyType({})
TIMETICKS_WRAP = 2**32


def interface_check(name: int | str) -> str:
    """The check name of one configured interface (ifIndex or ifDescr as configured)."""
    return f"snmp.if.{name}"


def threshold_check(name: str) -> str:
    """The check name of one configured threshold."""
    return f"snmp.threshold.{name}"


class State(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNREACHABLE = "unreachable"


class Observation(StrEnum):
    """What one cycle saw for one check."""

    OK = "ok"
    DEGRADED = "degraded"
    FAIL = "fail"


_RANK = {State.UP: 0, State.DEGRADED: 1, State.DOWN: 2, State.UNREACHABLE: 2}
_BAD = (State.DOWN, State.UNREACHABLE)


@dataclass(frozen=True, slots=True)
class StateChange:
    """One emitted transition (or event: ``reboot``, ``flapping_*``) of one device check."""

    device_id: str
    check: str
    old_state: State
    new_state: State
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    rule: str = ""
    since: datetime | None = None  # first probe of the run that made it; None: ``at``

    @property
    def began_at(self) -> datetime:
        """When the new state began, as observed (``at`` is when debouncing decided it)."""
        return self.at if self.since is None else self.since


@dataclass(frozen=True, slots=True)
class Policy:
    """Debounce and flapping parameters; flap_changes=0 disables flap detection."""

    down_after: int = 3
    up_after: int = 2
    flap_changes: int = 5
    flap_window: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if self.down_after < 1:
            raise ValueError(f"down_after must be >= 1, got {self.down_after}")
        if self.up_after < 1:
            raise ValueError(f"up_after must be >= 1, got {self.up_after}")
        if self.flap_changes < 0:
            raise ValueError(f"flap_changes must be >= 0, got {self.flap_changes}")


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass an aware datetime")


def _kind(check: str) -> str:
    if check.startswith("snmp.if."):
        return "interface"
    if check.startswith("snmp.threshold."):
        return "threshold"
    return "reachability"


def _rule(kind: str, old: State, new: State, parent_down: bool) -> str:
    if kind == "interface":
        return "interface_down" if new in _BAD else "interface_up"
    if kind == "threshold":
        return "threshold_crossed" if new is State.DEGRADED else "threshold_cleared"
    if new is State.UNREACHABLE:
        return "unreachable_parent_down"
    if old is State.UNREACHABLE and new is State.DOWN:
        return "down_parent_up"
    if old is State.UNKNOWN and new is State.UP:
        return "first_up"
    worse = old is State.UNKNOWN or _RANK[new] > _RANK[old]
    suffix = "n" if worse else "m"
    return f"{new.value}_after_{suffix}"


class _Tracker:
    """Debounce and flapping of one device check."""

    __slots__ = (
        "device_id",
        "check",
        "kind",
        "state",
        "emitted",
        "last_obs",
        "streak",
        "last_detail",
        "changes",
        "flapping",
        "last_change_at",
        "run_start",
        "since",
        "pending_since",
    )

    def __init__(self, device_id: str, check: str) -> None:
        self.device_id = device_id
        self.check = check
        self.kind = _kind(check)
        self.state = State.UNKNOWN
        self.emitted = State.UNKNOWN  # the state the outside world was last told
        self.last_obs: Observation | None = None
        self.streak = 0
        self.last_detail: Mapping[str, Any] = _EMPTY
        self.changes: deque[datetime] = deque()
        self.flapping = False
        self.last_change_at: datetime | None = None
        self.run_start: datetime | None = None  # first cycle of the current streak
        self.since: datetime | None = None  # when the current state began
        self.pending_since: datetime | None = None  # unknown: first probe not yet recorded

    @property
    def failing(self) -> bool:
        return self.last_obs is Observation.FAIL

    def observe(
        self,
        obs: Observation,
        at: datetime,
        detail: Mapping[str, Any],
        policy: Policy,
        parent: tuple[str, datetime | None],
    ) -> list[StateChange]:
        out: list[StateChange] = []
        if obs is self.last_obs:
            self.streak += 1
        else:
            if self.failing and self.state not in _BAD and self.run_start is not None:
                out.append(
                    self._change(
                        self.state,
                        self.state,
                        at,
                        {"failed_cycles": self.streak},
                        "unconfirmed_failure",
                        self.run_start,
                    )
                )
                self.pending_since = at
            self.streak = 1
            self.run_start = at
        if self.pending_since is None:
            self.pending_since = at
        self.last_obs = obs
        self.last_detail = detail
        out.extend(self.evaluate(at, policy, parent))
        return out

    def evaluate(
        self, at: datetime, policy: Policy, parent: tuple[str, datetime | None]
    ) -> list[StateChange]:
        """Apply the rules to the current streak; parent is ('up', 'failing' or 'down', and
        when the parent's current state began)."""
        parent_status, parent_since = parent
        out: list[StateChange] = []
        obs = self.last_obs
        if obs is not None:
            if obs is Observation.OK:
                candidate = State.UP
            elif obs is Observation.DEGRADED:
                candidate = State.DEGRADED
            elif self.kind == "reachability" and parent_status == "down":
                candidate = State.UNREACHABLE
            else:
                candidate = State.DOWN
            if self.state is State.UNKNOWN:
                need = 1 if candidate is State.UP else policy.down_after
            elif _RANK[candidate] > _RANK[self.state]:
                need = policy.down_after
            elif _RANK[candidate] == _RANK[self.state]:
                need = 1  # down <-> unreachable: the failure streak is already counted
            else:
                need = policy.up_after
            held = (
                candidate is State.DOWN
                and self.kind == "reachability"
                and parent_status == "failing"
            )
            if candidate is not self.state and self.streak >= need and not held:
                since = self._since(candidate, at, parent_since)
                out.extend(self._transition(candidate, at, policy, parent_status == "down", since))
        out.extend(self._check_flap_end(at, policy))
        return out

    def _since(self, new: State, at: datetime, parent_since: datetime | None) -> datetime:
        """When a change decided now began: the first cycle of the deciding run; for down <->
        unreachable (the same failure, re-attributed) when the parent's state changed."""
        if self.state is State.UNKNOWN:
            return self.pending_since or at
        since = self.run_start or at
        if _RANK.get(new) == _RANK.get(self.state) and parent_since is not None:
            since = parent_since
        return max(since, self.since or since)

    def _transition(
        self, new: State, at: datetime, policy: Policy, parent_down: bool, since: datetime
    ) -> list[StateChange]:
        old = self.state
        self.state = new
        self.since = since
        out: list[StateChange] = []
        rule = _rule(self.kind, old, new, parent_down)
        if old is not State.UNKNOWN:
            self.last_change_at = at
            if policy.flap_changes:
                self.changes.append(at)
                while self.changes and at - self.changes[0] > policy.flap_window:
                    self.changes.popleft()
        if self.flapping:
            # No alert while flapping, but the state is still told, so availability is exact.
            out.append(
                self._change(old, new, at, dict(self.last_detail), "flapping_suppressed", since)
            )
            return out
        detail = dict(self.last_detail)
        detail["streak"] = self.streak
        out.append(self._change(old, new, at, detail, rule, since))
        self.emitted = new
        if policy.flap_changes and len(self.changes) >= policy.flap_changes:
            self.flapping = True
            out.append(
                self._change(
                    new,
                    new,
                    at,
                    {"changes": len(self.changes), "window_s": policy.flap_window.total_seconds()},
                    "flapping_started",
                )
            )
        return out

    def _check_flap_end(self, at: datetime, policy: Policy) -> list[StateChange]:
        if not self.flapping or self.last_change_at is None:
            return []
        if at - self.last_change_at < policy.flap_window:
            return []
        self.flapping = False
        self.changes.clear()
        old, self.emitted = self.emitted, self.state
        return [self._change(old, self.state, at, dict(self.last_detail), "flapping_stopped")]

    def _change(
        self,
        old: State,
        new: State,
        at: datetime,
        detail: Mapping[str, Any],
        rule: str,
        since: datetime | None = None,
    ) -> StateChange:
        return StateChange(
            device_id=self.device_id,
            check=self.check,
            old_state=old,
            new_state=new,
            at=at,
            detail=MappingProxyType(dict(detail)),
            rule=rule,
            since=since,
        )


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
        self._trackers: dict[tuple[str, str], _Tracker] = {}
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

    def _reachability(self, device_id: str) -> _Tracker | None:
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
        if tr.state in _BAD:
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
            tr = self._trackers[key] = _Tracker(device_id, check)
        before = tr.state
        before_failing = tr.failing
        out = tr.observe(
            observation, at, detail or _EMPTY, self.policy, self._parent_status(device_id)
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


def classify_ping(
    received: int,
    loss: float,
    rtt_avg_ms: float | None,
    degraded_loss: float | None = None,
    degraded_rtt_ms: float | None = None,
) -> Observation:
    """No reply: FAIL; loss or average RTT at or above a threshold: DEGRADED; else OK."""
    if received == 0:
        return Observation.FAIL
    if degraded_loss is not None and loss >= degraded_loss:
        return Observation.DEGRADED
    if degraded_rtt_ms is not None and rtt_avg_ms is not None and rtt_avg_ms >= degraded_rtt_ms:
        return Observation.DEGRADED
    return Observation.OK


# IF-MIB ifOperStatus: up(1) down(2) testing(3) unknown(4) dormant(5) notPresent(6)
# lowerLayerDown(7). Dormant is a healthy interface waiting for traffic (e.g. dial-on-demand).
_IF_OK = frozenset({1, 5})


def classify_if_status(oper_status: int) -> Observation:
    """ifOperStatus up or dormant: OK; anything else: FAIL."""
    return Observation.OK if oper_status in _IF_OK else Observation.FAIL


def threshold_crossed(value: float, op: str, limit: float) -> bool:
    """True when ``value op limit`` holds, op one of > >= < <=; ValueError otherwise."""
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    if op == "<=":
        return value <= limit
    raise ValueError(f"unknown threshold operator {op!r} (use >, >=, < or <=)")
