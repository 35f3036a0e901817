"""The ticket event log's vocabulary, its typed events, and the one fold over it.

``ticket_events`` is the source of every SLA figure, so a misspelt status must be refused when
it is written, not counted as working time when it is replayed. This module holds:

* the vocabulary (:mod:`sla.vocabulary`, importable from here): :class:`Status`,
  :class:`Priority`, :class:`Line`, :class:`EventKind`, the kinds that move a clock and the
  statuses that stop one (bridge re-exports the enums);
* one frozen dataclass per kind, declared as its fields' checks and built by :func:`parse`,
  which refuses an unknown kind or a bad field with :class:`EventInvalid` naming both; fields a
  kind does not declare are kept in ``extra`` so a newer writer's additions survive a round trip;
* :func:`validate`, which the write path calls on every event before storing it.

The one transition and the fold over a log are in :mod:`sla.fold`. Reading stays lenient;
writing is strict. Pure: no I/O, no project imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, make_dataclass
from datetime import datetime
from typing import Any, ClassVar

from sla.vocabulary import CLOCK_KINDS, KINDS, STOP_STATUSES, EventKind, Line, Priority, Status

__all__ = [
    "CLOCK_KINDS",
    "STOP_STATUSES",
    "EventInvalid",
    "KINDS",
    "EventKind",
    "Line",
    "Priority",
    "Status",
    "TicketEvent",
    "parse",
    "validate",
]

_STATUSES = frozenset(s.value for s in Status)
_PRIORITIES = frozenset(p.value for p in Priority)
_LINES = frozenset(x.value for x in Line)
_CLOCKS = frozenset({"reaction", "resolution"})
#: A field check: (kind, stored key, value) -> the value, or EventInvalid naming kind and key.
Check = Callable[[str, str, Any], Any]


class EventInvalid(ValueError):
    """An event that must not be stored; ``kind`` and ``field`` say which part is wrong."""

    def __init__(self, kind: str, field_name: str | None, problem: str) -> None:
        where = f"event '{kind}'" + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {problem}")
        self.kind = kind
        self.field = field_name
        self.problem = problem


# Field checks: each returns the value or raises EventInvalid(kind, name, ...). ---------------


def _one_of(kind: str, name: str, value: Any, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        known = ", ".join(sorted(allowed))
        raise EventInvalid(kind, name, f"unknown {what} {value!r} (known: {known})")
    return str(value)


def _name(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EventInvalid(kind, name, f"must be a non-empty name, not {value!r}")
    return value


def _text(kind: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EventInvalid(kind, name, f"must be text, not {type(value).__name__}")
    return value


def _opt_text(kind: str, name: str, value: Any) -> str | None:
    return None if value is None else _text(kind, name, value)


def _choice(allowed: frozenset[str], what: str) -> Check:
    """The check that a value is one of ``allowed`` (a ``what``: status, priority, …)."""
    return lambda kind, name, value: _one_of(kind, name, value, allowed, what)


def _or_none(check: Check) -> Check:
    """``check``, letting a null through."""
    return lambda kind, name, value: None if value is None else check(kind, name, value)


def _opt_id(kind: str, name: str, value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise EventInvalid(kind, name, f"must be a ticket id or null, not {value!r}")
    return value


def _count(kind: str, name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise EventInvalid(kind, name, f"must be a whole number of seconds, not {value!r}")
    return value


def _instant(kind: str, name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise EventInvalid(kind, name, f"must be an ISO 8601 instant or null, not {value!r}")


# Typed events. -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """One declared field of an event: its type and check, and how it is stored."""

    type: Any
    check: Check
    #: the stored key where it differs from the attribute ("from" is a keyword)
    key: str | None = None
    #: what a missing key reads as, before the check
    default: Any = None
    #: left out of the stored data when null
    omit_none: bool = False


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Base of the typed events: ``to_data()`` gives back the stored ``data`` dict."""

    KIND: ClassVar[EventKind]
    #: attribute -> its spec, in the order the fields are checked (the first bad one is named)
    SPECS: ClassVar[Mapping[str, Spec]] = {}

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr, spec in self.SPECS.items():
            value = getattr(self, attr)
            if not (value is None and spec.omit_none):
                out[spec.key or attr] = value
        out.update(self.extra)  # type: ignore[attr-defined]
        return out

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The declared fields' values out of ``data``, checked (EventInvalid otherwise)."""
        kind = cls.KIND.value
        return {
            attr: spec.check(kind, key, data.get(key, spec.default))
            for attr, spec in cls.SPECS.items()
            for key in (spec.key or attr,)
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TicketEvent:
        return cls(**cls._fields(data), extra=_extra(data, cls))  # type: ignore[call-arg]


def _extra(data: Mapping[str, Any], cls: type[TicketEvent]) -> dict[str, Any]:
    known = cls._DATA_KEYS  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k not in known}


_TYPES: dict[str, type[TicketEvent]] = {}


def _declare(cls: type[TicketEvent]) -> type[TicketEvent]:
    cls._DATA_KEYS = frozenset(  # type: ignore[attr-defined]
        spec.key or attr for attr, spec in cls.SPECS.items()
    )
    _TYPES[cls.KIND.value] = cls
    return cls


def _event(kind: EventKind, doc: str, /, **specs: Spec) -> type[TicketEvent]:
    """The frozen dataclass of ``kind``: one field per spec, then ``extra`` (the stored keys
    no spec names, kept so a newer writer's additions survive a round trip)."""
    name = "".join(w.title() for w in kind.value.split("_"))
    cls = make_dataclass(
        name,
        [(attr, spec.type) for attr, spec in specs.items()]
        + [("extra", Mapping[str, Any], field(default_factory=dict))],
        bases=(TicketEvent,),
        namespace={"KIND": kind, "SPECS": specs, "__doc__": doc},
        frozen=True,
        slots=True,
    )
    cls.__module__ = __name__
    return _declare(cls)


_STATUS = _choice(_STATUSES, "status")
_PRIORITY = _choice(_PRIORITIES, "priority")
_LINE = _choice(_LINES, "line")

Created = _event(
    EventKind.CREATED,
    "A ticket was opened.",
    customer_id=Spec(str, _name),
    title=Spec(str, _text),
    priority=Spec(str, _PRIORITY),
    origin=Spec(str, _name),
    line=Spec(str | None, _or_none(_LINE)),
    status=Spec(str, _STATUS, default="new"),
    kind=Spec(str, _name, default="incident"),
    assignee=Spec(str | None, _or_none(_name), omit_none=True),
    parent_id=Spec(int | None, _opt_id),
    related_id=Spec(int | None, _opt_id),
)
Assigned = _event(
    EventKind.ASSIGNED,
    "The ticket was given to someone.",
    assignee=Spec(str, _name),
    from_=Spec(str | None, _opt_text, key="from"),
)
StatusChanged = _event(
    EventKind.STATUS_CHANGED,
    "The ticket moved from one status to another, by a person or a named rule.",
    from_=Spec(str, _STATUS, key="from"),
    to=Spec(str, _STATUS),
    rule=Spec(str | None, _opt_text, omit_none=True),
    close_reason=Spec(str | None, _opt_text, omit_none=True),
    close_deadline=Spec(str | None, _instant, omit_none=True),
)
PriorityChanged = _event(
    EventKind.PRIORITY_CHANGED,
    "The ticket's priority changed.",
    from_=Spec(str | None, _or_none(_PRIORITY), key="from"),
    to=Spec(str, _PRIORITY),
)
Commented = _event(EventKind.COMMENTED, "Someone commented.", text=Spec(str, _text))
Escalated = _event(
    EventKind.ESCALATED,
    "The ticket moved to another support line.",
    from_=Spec(str, _LINE, key="from"),
    to=Spec(str, _LINE),
)
Retitled = _event(
    EventKind.RETITLED,
    "The ticket's title changed.",
    from_=Spec(str | None, _opt_text, key="from"),
    to=Spec(str, _name),
)

_ABSENT: Any = object()


@_declare
@dataclass(frozen=True, slots=True)
class Linked(TicketEvent):
    """``parent_id``/``related_id``: absent = unchanged; null = unlinked."""

    KIND: ClassVar[EventKind] = EventKind.LINKED
    SPECS: ClassVar[Mapping[str, Spec]] = {
        "parent_id": Spec(int | None, _opt_id),
        "related_id": Spec(int | None, _opt_id),
    }
    parent_id: int | None = _ABSENT
    related_id: int | None = _ABSENT
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("parent_id", "related_id")}
        return {**{k: v for k, v in out.items() if v is not _ABSENT}, **self.extra}

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "linked"
        if "parent_id" not in data and "related_id" not in data:
            raise EventInvalid(k, "parent_id", "a link needs parent_id or related_id")
        return {
            name: _opt_id(k, name, data[name]) if name in data else _ABSENT
            for name in ("parent_id", "related_id")
        }


# The three alert kinds share their shape: which source and alert, plus free detail.
_ALERT = {"source": Spec(str, _name), "identity": Spec(str, _text)}
AlertAttached = _event(
    EventKind.ALERT_ATTACHED, "An alert fired again or joined the ticket.", **_ALERT
)
Recovery = _event(EventKind.RECOVERY, "The monitoring reports the alert recovered.", **_ALERT)
AlertAcknowledged = _event(
    EventKind.ALERT_ACKNOWLEDGED, "The source acknowledged the alert.", **_ALERT
)

# The two SLA kinds: which clock, and how far it had run against its target.
_SLA = {
    "clock": Spec(str, _choice(_CLOCKS, "clock")),
    "elapsed_seconds": Spec(int, _count),
    "target_seconds": Spec(int, _count),
}
SlaWarning = _event(EventKind.SLA_WARNING, "A clock passed the customer's warning share.", **_SLA)
SlaBreach = _event(EventKind.SLA_BREACH, "A clock passed its target.", **_SLA)

assert set(_TYPES) == KINDS, "every event kind has its type"


def parse(kind: str, data: Mapping[str, Any]) -> TicketEvent:
    """The typed event for ``kind`` and its stored ``data``; EventInvalid names what is wrong."""
    return _type(kind, data).from_data(data)


def validate(kind: str, data: Mapping[str, Any]) -> None:
    """Refuse (EventInvalid) an event that must not be written; the write path calls this for
    every event, so it checks the fields without building the event."""
    _type(kind, data)._fields(data)


def _type(kind: str, data: Mapping[str, Any]) -> type[TicketEvent]:
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(KINDS))
        raise EventInvalid(str(kind), None, f"unknown event kind {kind!r} (known: {known})")
    if not isinstance(data, Mapping):
        raise EventInvalid(kind, None, f"data must be an object, not {type(data).__name__}")
    return cls
