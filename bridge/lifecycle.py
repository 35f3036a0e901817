"""The ticket lifecycle as a pure state machine: no web framework, no database.

new → in_progress ⇄ waiting → resolved → closed, reopen from resolved, closed is final, and a
new ticket may be closed at once as a duplicate or a false alarm. Every allowed move has a rule
name, which is recorded with the event so a history reads as a sequence of named decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The status, priority and line vocabulary is the event log's (sla.events, pure); it is
# re-exported here so bridge code keeps one place to import the lifecycle from.
from sla.events import Line, Priority, Status

__all__ = [
    "OPEN_STATUSES",
    "RULES",
    "CloseReason",
    "Line",
    "Origin",
    "Priority",
    "Status",
    "Transition",
    "TransitionRefused",
    "allowed_targets",
    "can_escalate",
    "is_open",
    "plan_transition",
]


#: every status but closed, as stored (what "open" means in queries)
OPEN_STATUSES = tuple(s.value for s in Status if s is not Status.CLOSED)


class Origin(StrEnum):
    MONITORING = "monitoring"
    PROBE = "probe"
    CUSTOMER = "customer"
    PHONE = "phone"
    EMAIL = "email"

    @property
    def proactive(self) -> bool:
        return self in (Origin.MONITORING, Origin.PROBE)


class CloseReason(StrEnum):
    VERIFIED = "verified"
    NO_ANSWER = "no_answer"  # verification window passed: the auto-close job
    DUPLICATE = "duplicate"
    FALSE_ALARM = "false_alarm"


#: (from, to) → rule name.
RULES: dict[tuple[Status, Status], str] = {
    (Status.NEW, Status.IN_PROGRESS): "accept",
    (Status.NEW, Status.CLOSED): "dismiss",
    (Status.IN_PROGRESS, Status.WAITING): "pause",
    (Status.WAITING, Status.IN_PROGRESS): "resume",
    (Status.IN_PROGRESS, Status.RESOLVED): "resolve",
    (Status.WAITING, Status.RESOLVED): "resolve",
    (Status.RESOLVED, Status.IN_PROGRESS): "reopen",
    (Status.RESOLVED, Status.CLOSED): "close",
}

_CLOSE_REASONS: dict[Status, frozenset[CloseReason]] = {
    Status.NEW: frozenset({CloseReason.DUPLICATE, CloseReason.FALSE_ALARM}),
    Status.RESOLVED: frozenset({CloseReason.VERIFIED, CloseReason.NO_ANSWER}),
}


class TransitionRefused(Exception):
    """The lifecycle does not allow this move; `allowed` lists where the ticket may go."""

    def __init__(self, current: Status, target: Status, allowed: list[Status], why: str) -> None:
        super().__init__(why)
        self.current = current
        self.target = target
        self.allowed = allowed
        self.why = why


@dataclass(frozen=True, slots=True)
class Transition:
    old: Status
    new: Status
    rule: str
    close_reason: CloseReason | None = None


def allowed_targets(current: Status) -> list[Status]:
    return [to for (frm, to) in RULES if frm == current]


def plan_transition(
    current: Status,
    target: Status,
    *,
    assignee: str | None,
    close_reason: CloseReason | None = None,
) -> Transition:
    """Decide whether `current → target` is allowed, and under which rule.

    Raises TransitionRefused naming the allowed targets; never touches storage, so the caller
    can apply the result with a compare-and-set on the old status.
    """
    allowed = allowed_targets(current)
    rule = RULES.get((current, target))
    if rule is None:
        if current == Status.CLOSED:
            why = "a closed ticket is final"
        else:
            why = f"cannot go from {current.value} to {target.value}"
        raise TransitionRefused(current, target, allowed, why)
    if target == Status.IN_PROGRESS and current == Status.NEW and not assignee:
        raise TransitionRefused(
            current, target, allowed, "a ticket goes in progress only when assigned to someone"
        )
    if target == Status.CLOSED:
        reasons = _CLOSE_REASONS[current]
        if close_reason is None:
            close_reason = CloseReason.VERIFIED if current == Status.RESOLVED else None
        if close_reason not in reasons:
            names = ", ".join(sorted(r.value for r in reasons))
            raise TransitionRefused(
                current,
                target,
                allowed,
                f"closing a {current.value} ticket needs a reason out of: {names}",
            )
    return Transition(current, target, rule, close_reason)


def can_escalate(current: Line, target: Line) -> bool:
    """Escalation only moves up; L1 stays the owner of the conversation whatever the line."""
    return target.level > current.level


def is_open(status: Status) -> bool:
    return status != Status.CLOSED
