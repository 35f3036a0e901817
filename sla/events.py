"""The ticket event log's vocabulary, its typed events, and the one fold over it.

``ticket_events`` is the source of every SLA figure, so a misspelt status must be refused when
it is written, not counted as working time when it is replayed. This module holds:

* the vocabulary: :class:`Status`, :class:`Priority`, :class:`Line`, :class:`EventKind`, the
  kinds that move a clock and the statuses that stop one (bridge re-exports the enums);
* one frozen dataclass per kind, built by :func:`parse`, which refuses an unknown kind or a bad
  field with :class:`EventInvalid` naming both; fields a kind does not declare are kept in
  ``extra`` so a newer writer's additions survive a round trip;
* :func:`validate`, which the write path calls on every event before storing it.

The one transition and the fold over a log are in :mod:`sla.fold`. Reading stays lenient;
writing is strict. Pure: no I/O, no project imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

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


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Line(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"

    @property
    def level(self) -> int:
        return int(self.value[1])


class EventKind(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    COMMENTED = "commented"
    ESCALATED = "escalated"
    LINKED = "linked"
    RETITLED = "retitled"
    ALERT_ATTACHED = "alert_attached"
    RECOVERY = "recovery"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"


#: Event kinds that move an SLA clock; every other kind is ignored by the clocks.
CLOCK_KINDS = frozenset(
    k.value
    for k in (
        EventKind.CREATED,
        EventKind.ASSIGNED,
        EventKind.STATUS_CHANGED,
        EventKind.PRIORITY_CHANGED,
    )
)
#: Statuses in which the resolution clock is stopped (not paused).
STOP_STATUSES = frozenset({Status.RESOLVED.value, Status.CLOSED.value})

#: Every kind a ticket's log may hold, as plain strings.
KINDS = frozenset(k.value for k in EventKind)
_STATUSES = frozenset(s.value for s in Status)
_PRIORITIES = frozenset(p.value for p in Priority)
_LINES = frozenset(x.value for x in Line)
_CLOCKS = frozenset({"reaction", "resolution"})


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
class TicketEvent:
    """Base of the typed events: ``to_data()`` gives back the stored ``data`` dict."""

    KIND: ClassVar[EventKind]
    #: stored key -> attribute, where they differ ("from" is a keyword)
    _RENAMED: ClassVar[Mapping[str, str]] = {"from": "from_"}

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        back = {v: k for k, v in self._RENAMED.items()}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.name in self._OPTIONAL_ABSENT:
                continue
            out[back.get(f.name, f.name)] = value
        out.update(self.extra)  # type: ignore[attr-defined]
        return out

    _OPTIONAL_ABSENT: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The declared fields' values out of ``data``, checked (EventInvalid otherwise)."""
        raise NotImplementedError

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TicketEvent:
        return cls(**cls._fields(data), extra=_extra(data, cls))  # type: ignore[call-arg]


def _extra(data: Mapping[str, Any], cls: type[TicketEvent]) -> dict[str, Any]:
    known = cls._DATA_KEYS  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k not in known}


def _declare(cls: type[TicketEvent]) -> type[TicketEvent]:
    renamed = {v: k for k, v in cls._RENAMED.items()}
    cls._DATA_KEYS = frozenset(  # type: ignore[attr-defined]
        renamed.get(f.name, f.name) for f in fields(cls) if f.name != "extra"
    )
    _TYPES[cls.KIND.value] = cls
    return cls


_TYPES: dict[str, type[TicketEvent]] = {}


@_declare
@dataclass(frozen=True, slots=True)
class Created(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.CREATED
    _OPTIONAL_ABSENT: ClassVar[frozenset[str]] = frozenset({"assignee"})
    customer_id: str
    title: str
    priority: str
    origin: str
    line: str | None
    status: str
    kind: str
    assignee: str | None
    parent_id: int | None
    related_id: int | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "created"
        line = data.get("line")
        assignee = data.get("assignee")
        return dict(
            customer_id=_name(k, "customer_id", data.get("customer_id")),
            title=_text(k, "title", data.get("title")),
            priority=_one_of(k, "priority", data.get("priority"), _PRIORITIES, "priority"),
            origin=_name(k, "origin", data.get("origin")),
            line=None if line is None else _one_of(k, "line", line, _LINES, "line"),
            status=_one_of(k, "status", data.get("status", "new"), _STATUSES, "status"),
            kind=_name(k, "kind", data.get("kind", "incident")),
            assignee=None if assignee is None else _name(k, "assignee", assignee),
            parent_id=_opt_id(k, "parent_id", data.get("parent_id")),
            related_id=_opt_id(k, "related_id", data.get("related_id")),
        )


@_declare
@dataclass(frozen=True, slots=True)
class Assigned(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.ASSIGNED
    assignee: str
    from_: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "assigned"
        return dict(
            assignee=_name(k, "assignee", data.get("assignee")),
            from_=_opt_text(k, "from", data.get("from")),
        )


@_declare
@dataclass(frozen=True, slots=True)
class StatusChanged(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.STATUS_CHANGED
    _OPTIONAL_ABSENT: ClassVar[frozenset[str]] = frozenset(
        {"rule", "close_reason", "close_deadline"}
    )
    from_: str
    to: str
    rule: str | None
    close_reason: str | None
    close_deadline: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "status_changed"
        return dict(
            from_=_one_of(k, "from", data.get("from"), _STATUSES, "status"),
            to=_one_of(k, "to", data.get("to"), _STATUSES, "status"),
            rule=_opt_text(k, "rule", data.get("rule")),
            close_reason=_opt_text(k, "close_reason", data.get("close_reason")),
            close_deadline=_instant(k, "close_deadline", data.get("close_deadline")),
        )


@_declare
@dataclass(frozen=True, slots=True)
class PriorityChanged(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.PRIORITY_CHANGED
    from_: str | None
    to: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "priority_changed"
        frm = data.get("from")
        return dict(
            from_=None if frm is None else _one_of(k, "from", frm, _PRIORITIES, "priority"),
            to=_one_of(k, "to", data.get("to"), _PRIORITIES, "priority"),
        )


@_declare
@dataclass(frozen=True, slots=True)
class Commented(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.COMMENTED
    text: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"text": _text("commented", "text", data.get("text"))}


@_declare
@dataclass(frozen=True, slots=True)
class Escalated(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.ESCALATED
    from_: str
    to: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "escalated"
        return dict(
            from_=_one_of(k, "from", data.get("from"), _LINES, "line"),
            to=_one_of(k, "to", data.get("to"), _LINES, "line"),
        )


_ABSENT: Any = object()


@_declare
@dataclass(frozen=True, slots=True)
class Linked(TicketEvent):
    """``parent_id``/``related_id``: absent = unchanged; null = unlinked."""

    KIND: ClassVar[EventKind] = EventKind.LINKED
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
        return dict(
            parent_id=_opt_id(k, "parent_id", data["parent_id"])
            if "parent_id" in data
            else _ABSENT,
            related_id=_opt_id(k, "related_id", data["related_id"])
            if "related_id" in data
            else _ABSENT,
        )


@_declare
@dataclass(frozen=True, slots=True)
class Retitled(TicketEvent):
    KIND: ClassVar[EventKind] = EventKind.RETITLED
    from_: str | None
    to: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        k = "retitled"
        return dict(
            from_=_opt_text(k, "from", data.get("from")),
            to=_name(k, "to", data.get("to")),
        )


def _alert(kind: EventKind, doc: str) -> type[TicketEvent]:
    """The three alert kinds share their shape: which source and alert, plus free detail."""

    @dataclass(frozen=True, slots=True)
    class AlertEvent(TicketEvent):
        KIND: ClassVar[EventKind] = kind
        source: str
        identity: str
        extra: Mapping[str, Any] = field(default_factory=dict)

        @classmethod
        def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
            k = kind.value
            return dict(
                source=_name(k, "source", data.get("source")),
                identity=_text(k, "identity", data.get("identity")),
            )

    AlertEvent.__name__ = AlertEvent.__qualname__ = "".join(
        w.title() for w in kind.value.split("_")
    )
    AlertEvent.__doc__ = doc
    return _declare(AlertEvent)


AlertAttached = _alert(EventKind.ALERT_ATTACHED, "An alert fired again or joined the ticket.")
Recovery = _alert(EventKind.RECOVERY, "The monitoring reports the alert recovered.")
AlertAcknowledged = _alert(EventKind.ALERT_ACKNOWLEDGED, "The source acknowledged the alert.")


def _sla(kind: EventKind, doc: str) -> type[TicketEvent]:
    @dataclass(frozen=True, slots=True)
    class SlaEvent(TicketEvent):
        KIND: ClassVar[EventKind] = kind
        clock: str
        elapsed_seconds: int
        target_seconds: int
        extra: Mapping[str, Any] = field(default_factory=dict)

        @classmethod
        def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
            k = kind.value
            return dict(
                clock=_one_of(k, "clock", data.get("clock"), _CLOCKS, "clock"),
                elapsed_seconds=_count(k, "elapsed_seconds", data.get("elapsed_seconds")),
                target_seconds=_count(k, "target_seconds", data.get("target_seconds")),
            )

    SlaEvent.__name__ = SlaEvent.__qualname__ = "".join(w.title() for w in kind.value.split("_"))
    SlaEvent.__doc__ = doc
    return _declare(SlaEvent)


SlaWarning = _sla(EventKind.SLA_WARNING, "A clock passed the customer's warning share.")
SlaBreach = _sla(EventKind.SLA_BREACH, "A clock passed its target.")

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
