"""What the intake answers for a notification, and what it needs to decide."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bridge import tickets as tk
from bridge.config import Config
from bridge.routing import Router

MONITORING = "monitoring"


@dataclass
class IngestResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    tickets: list[int] = field(default_factory=list)
    opened: int = 0

    def as_json(self, keys: tk.TicketKey) -> dict[str, Any]:
        return {
            "accepted": self.outcomes["accepted"],
            "duplicate": self.outcomes["duplicate"],
            "unrouted": self.outcomes["unrouted"],
            "tickets": [keys.format(t) for t in dict.fromkeys(self.tickets)],
        }


@dataclass(frozen=True, slots=True)
class Context:
    cfg: Config
    router: Router
