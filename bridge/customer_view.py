"""What a customer may see of a ticket and what they may ask for. Pure: no store, no web.

One place decides, for the portal (bridge.web.portal) and for the API with a customer token
(bridge.api.tickets) alike:

- **Which history a customer sees.** A whitelist, so a new event kind stays internal until
  someone decides otherwise:
  ``created``, ``status_changed``, ``priority_changed``, ``retitled``, ``linked`` (under which
  major incident), ``recovery`` (monitoring saw the device come back), and ``commented`` only
  when the comment is marked ``visibility: customer``. Hidden: internal comments (and comments
  with no visibility, which is how the API recorded them before it had one), ``assigned`` and
  ``escalated`` (who works a ticket inside the desk, and on which line, is the desk's own
  business; L1 stays the customer's voice), alert bookkeeping (``alert_attached``,
  ``alert_acknowledged``) and SLA warnings and breaches (the desk's alarms; the monthly report
  states the figures).
- **Which fields of a shown event.** Also a whitelist per kind: a status change shows its
  reason only where the reason was addressed to the customer (the question when a ticket waits
  for them, their own confirmation or reopening, the auto-close), never an engineer's resolve
  or reopen note.
- **Which priority a customer's urgency becomes.** Their SLA policy's ``urgency_map``
  (default: critical and high → P2, normal → P3, low → P4): a customer does not pick P1 by
  hand unless their contract's policy says so. A priority a customer sends anyway is capped at
  the highest the map could give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bridge.config.models import URGENCIES, SlaPolicyConfig
from bridge.lifecycle import Priority

#: Event kinds a customer sees (commented: only those marked for the customer).
SHOWN_KINDS = frozenset(
    {"created", "status_changed", "commented", "priority_changed", "retitled", "linked",
     "recovery"}
)  # fmt: skip
_FIELDS: dict[str, tuple[str, ...]] = {
    "created": ("title", "priority", "origin", "device_id", "kind"),
    "status_changed": ("from", "to", "close_reason", "close_deadline"),
    "commented": ("text", "visibility", "by_customer", "rating", "verification"),
    "priority_changed": ("from", "to"),
    "retitled": ("to",),
    "linked": ("parent_id",),
    "recovery": (),
}
#: Status-change reasons written for the customer (or by them), shown whoever recorded them.
CUSTOMER_REASONS = frozenset(
    {
        "confirmed by the customer",
        "reopened by the customer",
        "reopened by the customer's reply",
        "no answer within the verification window",
        "monitoring reports recovery",
    }
)
DEFAULT_URGENCY = "normal"


def is_customer_comment(data: Mapping[str, Any]) -> bool:
    return data.get("visibility") == "customer"


def shown(event: Mapping[str, Any]) -> bool:
    """Whether a customer sees this event at all."""
    kind = event["kind"]
    if kind not in SHOWN_KINDS:
        return False
    if kind == "commented":
        return is_customer_comment(event["data"])
    return True


def _reason_for_customer(event: Mapping[str, Any]) -> bool:
    data = event["data"]
    # the question a waiting ticket asks the customer (the "question" notice says it too)
    return data.get("to") == "waiting" or data.get("reason") in CUSTOMER_REASONS


def customer_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a customer sees it: same seq, time, kind and actor; only the data fields
    meant for them."""
    data = event["data"]
    kept = {k: data[k] for k in _FIELDS.get(event["kind"], ()) if k in data}
    if event["kind"] == "status_changed" and data.get("reason") and _reason_for_customer(event):
        kept["reason"] = data["reason"]
    return {
        "seq": event["seq"],
        "at": event["at"],
        "kind": event["kind"],
        "actor": event["actor"],
        "data": kept,
    }


def customer_history(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A ticket's history as its customer sees it (in seq order, gaps where hidden)."""
    return [customer_event(e) for e in events if shown(e)]


def by_customer(event: Mapping[str, Any], own_actors: Iterable[str] = ()) -> bool:
    """Whether the customer's side did this (a portal user, a mail, a verification link)."""
    return (
        bool(event["data"].get("by_customer"))
        or event["actor"].startswith("customer:")
        or (event["actor"] in tuple(own_actors))
    )


# -- urgency → priority ---------------------------------------------------------------------


def _rank(p: Priority) -> int:
    return int(p.value[1])  # P1 → 1: lower is more urgent


def priority_for(policy: SlaPolicyConfig, urgency: str) -> Priority:
    """The priority the customer's policy gives an urgency; ValueError for an unknown one."""
    if urgency not in URGENCIES:
        raise ValueError(f"urgency is one of {', '.join(URGENCIES)}, not '{urgency}'")
    return Priority(policy.urgency_map[urgency])


def highest_for_customer(policy: SlaPolicyConfig) -> Priority:
    """The most urgent priority a customer can reach under this policy."""
    return min((Priority(p) for p in policy.urgency_map.values()), key=_rank)


def capped(policy: SlaPolicyConfig, asked: Priority) -> Priority:
    """A priority a customer asked for, no more urgent than their policy allows them."""
    top = highest_for_customer(policy)
    return asked if _rank(asked) >= _rank(top) else top


def customer_priority(
    policy: SlaPolicyConfig, *, urgency: str | None = None, priority: Priority | None = None
) -> Priority:
    """The priority of a ticket a customer opens: their urgency mapped by the policy; else a
    priority they sent, capped; else the policy's mapping of a normal urgency."""
    if urgency is not None:
        return priority_for(policy, urgency)
    if priority is not None:
        return capped(policy, priority)
    return priority_for(policy, DEFAULT_URGENCY)
