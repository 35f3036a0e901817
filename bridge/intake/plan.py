"""The intake's decisions, pure: from an alert and the facts about its key (`snapshot.Facts`)
to one `Action`. No I/O here; `apply` writes what is decided. Both the batched path and the
long way (`engine`) decide with `plan_alert`, so each decision has exactly one home:

- dedup / repeat: `is_repeat`
- routing: `Router.route` (bridge/routing.py), asked here only when the decision needs it
- keep unrouted, open, reopen, resume, attach, join an outage, recover, acknowledge:
  `plan_alert`
"""

from __future__ import annotations

from bridge.alert import Alert, AlertStatus
from bridge.config import SourceConfig
from bridge.intake.actions import Action, Do
from bridge.intake.result import Context
from bridge.intake.snapshot import Facts
from bridge.lifecycle import CloseReason, Status
from bridge.routing import Route

_FIRING = AlertStatus.FIRING.value
_STILL_FIRING = (AlertStatus.FIRING.value, AlertStatus.ACKNOWLEDGED.value)
_QUIET_CLOSE = (CloseReason.DUPLICATE, CloseReason.FALSE_ALARM)
#: the common case, answered without routing again or allocating (a repeat of a routed key)
_ROUTED_REPEAT = Action(Do.REPEAT, "duplicate")


def firing(status: str | None) -> bool:
    return status in _STILL_FIRING


def is_repeat(alert: Alert, facts: Facts, route: Route | None) -> bool:
    """The same state again, which is counted and adds no history: the hot row has this state
    (an acknowledged alert firing again counts as firing), it was routed or still cannot be
    (`route`: None when the hot row is routed and routing was not needed), and its ticket
    does not need reopening (closed as a duplicate or false alarm stays closed)."""
    hot = facts.hot
    if hot is None:
        return False
    status = alert.status.value
    if not (hot["status"] == status or (firing(hot["status"]) and status == _FIRING)):
        return False
    if hot["customer_id"] is None and route is not None and route.customer_id is not None:
        return False
    last = facts.ticket
    return (
        last is None
        or last["status"] != Status.CLOSED
        or not firing(status)
        or last["close_reason"] in _QUIET_CLOSE
    )


def plan_alert(
    ctx: Context, source: SourceConfig, alert: Alert, facts: Facts, route: Route | None = None
) -> Action:
    """What to do with one alert. `route` when the caller already routed it. From incomplete
    facts (no outage facts) the answer holds for a repeat and for an alert that reports no
    device outage, and LOOK_CLOSER asks the caller to gather complete facts."""
    hot = facts.hot
    if route is None and (hot is None or hot["customer_id"] is None):
        route = ctx.router.route(alert, source.routing)
    if is_repeat(alert, facts, route):
        assert hot is not None
        if route is None:
            return _ROUTED_REPEAT
        return Action(Do.REPEAT, "unrouted" if hot["customer_id"] is None else "duplicate", route)
    if route is None:
        route = ctx.router.route(alert, source.routing)
    if route.customer_id is None:
        return Action(Do.KEEP_UNROUTED, "unrouted", route)
    if not facts.complete and hot is not None:
        return Action(Do.LOOK_CLOSER, route=route)
    status = alert.status
    changed = hot is not None and firing(hot["status"]) != firing(status.value)
    row = facts.ticket
    closed = row is None or row["status"] == Status.CLOSED
    if facts.shared is not None and status == AlertStatus.FIRING and closed:
        priority = ctx.router.priority(route.customer_id, alert.severity)
        raise_to = priority if priority.value < facts.shared["priority"] else None
        return Action(
            Do.JOIN_OUTAGE, route=route, shared=facts.shared["id"], raise_to=raise_to,
            firing_changed=changed,
        )  # fmt: skip
    if status == AlertStatus.FIRING:
        if row is None:
            do = Do.OPEN
        elif row["status"] == Status.CLOSED:
            do = Do.REOPEN
        elif row["status"] == Status.RESOLVED:
            do = Do.RESUME
        else:
            do = Do.ATTACH
        return Action(do, route=route, firing_changed=changed)
    if closed:
        return Action(Do.NOTE_ONLY, route=route, firing_changed=changed)
    assert row is not None
    if status == AlertStatus.RESOLVED:
        if facts.outage_goes_on:
            return Action(Do.RECOVER_OUTAGE_GOES_ON, route=route, firing_changed=changed)
        customer = ctx.cfg.customer(row["customer_id"])
        resolve = (
            customer is not None
            and customer.recovery == "resolve"
            and row["status"] in (Status.IN_PROGRESS, Status.WAITING)
        )
        return Action(Do.RECOVER, route=route, resolve=resolve, firing_changed=changed)
    return Action(Do.ACKNOWLEDGE, route=route, firing_changed=changed)
