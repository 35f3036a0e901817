"""Debounce and flapping of one device check: the tracker :class:`probes.state.StateEngine`
keeps per (device, check), applying the rules listed in :mod:`probes.state`. Pure: every
call takes the observation time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from probes.checks import EMPTY_DETAIL, Observation, Policy, State, StateChange

_RANK = {State.UP: 0, State.DEGRADED: 1, State.DOWN: 2, State.UNREACHABLE: 2}
BAD_STATES = (State.DOWN, State.UNREACHABLE)


def _kind(check: str) -> str:
    if check.startswith("snmp.if."):
        return "interface"
    if check.startswith("snmp.threshold."):
        return "threshold"
    return "reachability"


def _rule(kind: str, old: State, new: State, parent_down: bool) -> str:
    if kind == "interface":
        return "interface_down" if new in BAD_STATES else "interface_up"
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


class Tracker:
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
        self.last_detail: Mapping[str, Any] = EMPTY_DETAIL
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
            if self.failing and self.state not in BAD_STATES and self.run_start is not None:
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
