"""Customers, their contacts, and the SLA policies their contracts name."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from bridge.config.fields import Duration, EmailAddress, Identifier, Strict, ZoneName
from bridge.lifecycle import Priority, Status


class PriorityTargets(Strict):
    reaction: Duration
    resolution: Duration
    calendar: Identifier


#: How urgent a customer says their ticket is, lowest first (bridge.customer_view).
Urgency = Literal["low", "normal", "high", "critical"]
URGENCIES: tuple[str, ...] = ("low", "normal", "high", "critical")
URGENCY_DEFAULTS: dict[str, Priority] = {
    "low": Priority.P4,
    "normal": Priority.P3,
    "high": Priority.P2,
    "critical": Priority.P2,
}


class SlaPolicyConfig(Strict):
    priorities: dict[Priority, PriorityTargets]
    pause_statuses: list[Status] = Field(default_factory=lambda: [Status.WAITING])
    availability_target: Annotated[float, Field(gt=0, le=100)] = 99.9
    unknown_time: Literal["excluded", "up", "down"] = "excluded"
    parent_outage: Literal["child", "parent"] = "child"
    # failed probes never confirmed as an outage (a blip shorter than down_after)
    unconfirmed_failures: Literal["excluded", "up", "down"] = "up"
    #: which sites' observations make a device down for availability: as many as
    #: probing.quorum, any one site, or all of its sites
    availability_from: Literal["quorum", "any", "all"] = "quorum"
    warning_share: Annotated[float, Field(gt=0, lt=1)] = 0.8
    severity_map: dict[str, Priority] = Field(
        default_factory=lambda: {
            "critical": Priority.P1,
            "page": Priority.P1,
            "outage": Priority.P1,
            "high": Priority.P2,
            "error": Priority.P2,
            "major": Priority.P2,
            "warning": Priority.P3,
            "average": Priority.P3,
            "minor": Priority.P3,
            "info": Priority.P4,
            "information": Priority.P4,
            "low": Priority.P4,
        }
    )
    default_priority: Priority = Priority.P3
    # what a customer's urgency (portal form, customer API token) becomes; a customer reaches
    # P1 only when the policy maps an urgency to it. Urgencies left out keep their default.
    urgency_map: dict[Urgency, Priority] = Field(default_factory=lambda: dict(URGENCY_DEFAULTS))

    @field_validator("urgency_map")
    @classmethod
    def _every_urgency(cls, value: dict[str, Priority]) -> dict[str, Priority]:
        return {**URGENCY_DEFAULTS, **value}

    @field_validator("priorities")
    @classmethod
    def _all_priorities(cls, value: dict[Priority, PriorityTargets]) -> dict:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"targets missing for {', '.join(missing)}")
        return value

    @field_validator("severity_map")
    @classmethod
    def _lower(cls, value: dict[str, Priority]) -> dict[str, Priority]:
        return {k.lower(): v for k, v in value.items()}


NOTICE_KINDS = ("proactive", "question", "update", "resolved", "closed", "major")
Language = Literal["en", "pl", "cs", "it", "ru"]


class ContactConfig(Strict):
    """Someone at the customer who is told about tickets by mail but has no account."""

    name: str
    email: EmailAddress
    language: Language = "en"
    notices: list[Literal["proactive", "question", "update", "resolved", "closed", "major"]] = (
        Field(default_factory=lambda: list(NOTICE_KINDS))
    )


class CustomerConfig(Strict):
    id: Identifier
    name: str
    contract: Annotated[str, Field(min_length=1)]
    timezone: ZoneName = "UTC"
    sla_policy: Identifier
    verification_window: Duration = 24 * 3600
    recovery: Literal["leave", "resolve"] = "leave"
    internal: bool = False
    contacts: list[ContactConfig] = Field(default_factory=list)
