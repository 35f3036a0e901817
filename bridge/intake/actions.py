"""What the planner decides for one alert, as data: the applier (`bridge.intake.apply`) is the
only code that turns an action into SQL, so a decision can be read, tested and compared without
a database."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bridge.lifecycle import Priority
from bridge.routing import Route


class Do(enum.Enum):
    """What happens to an alert's key and ticket."""

    #: the same state again (a retry, a redelivery, Alertmanager's repeat_interval): count it
    REPEAT = "repeat"
    #: no customer owns it: keep it in the unrouted list until someone routes it
    KEEP_UNROUTED = "keep_unrouted"
    #: firing with no ticket: open one (correlated into a major incident when it belongs to one)
    OPEN = "open"
    #: firing again after its ticket was closed: open a new ticket related to the closed one
    REOPEN = "reopen"
    #: firing again while its ticket awaits verification: back to work, the alert attached
    RESUME = "resume"
    #: firing again while its ticket is worked on: attach the news
    ATTACH = "attach"
    #: another check of the same device already has the outage's open ticket: attach to it
    JOIN_OUTAGE = "join_outage"
    #: recovered: record it on the open ticket (and resolve it when the customer asks for that)
    RECOVER = "recover"
    #: recovered, but another check still finds the device silent: attach, keep the ticket open
    RECOVER_OUTAGE_GOES_ON = "recover_outage_goes_on"
    #: acknowledged at the source: record it on the open ticket
    ACKNOWLEDGE = "acknowledge"
    #: the prefetched snapshot cannot answer (it holds only a ticket's status): read the
    #: alert's full facts (`snapshot.gather`) and decide again
    LOOK_CLOSER = "look_closer"
    #: a state change with no open ticket to tell (a recovery after close): only the key moves
    NOTE_ONLY = "note_only"


@dataclass(frozen=True, slots=True)
class Action:
    """One decided alert. `outcome` is what the sender is told for it (accepted, duplicate,
    unrouted); `route` the customer and device it was routed to (None: not needed for a repeat
    of a routed key); `shared` the outage ticket to join (JOIN_OUTAGE) and `raise_to` the
    priority that ticket is raised to when this alert asks for more; `resolve` whether a
    recovery resolves the ticket; `firing_changed` whether the alert went from firing to
    resolved or back (its major incident's count follows)."""

    do: Do
    outcome: str = "accepted"
    route: Route | None = None
    shared: int | None = None
    raise_to: Priority | None = None
    resolve: bool = False
    firing_changed: bool = False
