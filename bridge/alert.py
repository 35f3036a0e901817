"""The one normalized alert every source produces, webhooks and probes alike.

Parsers build these from a payload without any I/O; the engine routes, deduplicates and
stores them without knowing which wire format they came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    # PagerDuty "acknowledge" and Zabbix problem updates: news about an alert, not a new one.
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as the sender saw it.

    `identity` is the sender's stable key (Alertmanager fingerprint, PagerDuty dedup_key, Zabbix
    problem event id, `device:check` for probes); together with the configured source name it is
    what deduplication keys on.
    """

    source: str  # sender type, e.g. "alertmanager", "probe.icmp"
    identity: str
    status: AlertStatus
    title: str
    severity: str | None = None
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")


class ParseError(ValueError):
    """A payload the parser cannot accept; `path` is the JSON path of the offending field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem
