"""What a probe check is, what one cycle can see of it, and the change records it produces.

The vocabulary shared by the debounce tracker (:mod:`probes.debounce`), the engine
(:mod:`probes.state`) and the runner: check names, states, observations, the debounce policy,
the emitted :class:`StateChange`, and how raw ping, ifOperStatus and threshold readings
classify into observations. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

CHECK_ICMP = "icmp"
CHECK_SNMP = "snmp"
CHECK_UPTIME = "snmp.uptime"
REACHABILITY_CHECKS = (CHECK_ICMP, CHECK_SNMP)  # in order of preference for dependencies
EMPTY_DETAIL: Mapping[str, Any] = MappingProxyType({})


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


@dataclass(frozen=True, slots=True)
class StateChange:
    """One emitted transition (or event: ``reboot``, ``flapping_*``) of one device check."""

    device_id: str
    check: str
    old_state: State
    new_state: State
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=lambda: EMPTY_DETAIL)
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
