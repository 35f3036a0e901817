"""The service itself: limits, maintenance windows, API tokens and roles, major incidents, nodes."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bridge.config.fields import Duration, Identifier, Strict
from bridge.lifecycle import Line


class MaintenanceConfig(Strict):
    device: Identifier | None = None
    customer: Identifier | None = None
    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _window(self) -> MaintenanceConfig:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a UTC offset, e.g. 2026-10-03T22:00:00+02:00")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.device is None) == (self.customer is None):
            raise ValueError("name exactly one of device or customer")
        return self


class Role(StrEnum):
    ADMIN = "admin"
    ENGINEER = "engineer"
    ACCOUNT_MANAGER = "account_manager"
    CUSTOMER = "customer"


class TokenConfig(Strict):
    name: Identifier
    token: Annotated[str, Field(min_length=8)]
    role: Role
    customer: Identifier | None = None

    @model_validator(mode="after")
    def _binding(self) -> TokenConfig:
        if self.role == Role.CUSTOMER and not self.customer:
            raise ValueError("a customer token must name its customer")
        if self.role != Role.CUSTOMER and self.customer:
            raise ValueError("only a customer token is bound to a customer")
        return self


class MajorIncidentConfig(Strict):
    threshold: Annotated[int, Field(ge=2)] = 5
    window: Duration = 600
    group_by: list[Literal["alertname", "parent"]] = Field(
        default_factory=lambda: ["alertname", "parent"]
    )


class ServiceConfig(Strict):
    body_limit: Annotated[int, Field(ge=1024)] = 1024 * 1024
    #: a request's headers, and then its body, must arrive within this time
    request_timeout: Duration = 30
    autoclose_interval: Duration = 60
    sla_check_interval: Duration = 30
    default_line: Line = Line.L1
    ticket_prefix: Annotated[str, Field(pattern=r"^[A-Z]{2,6}$")] = "INC"
    report_day: Annotated[int, Field(ge=1, le=28)] = 1
    report_hour: Annotated[int, Field(ge=0, le=23)] = 6
    #: reverse proxies whose X-Forwarded-Proto/-For are believed (login cookies, throttling)
    trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(
        default_factory=list
    )


class NodesConfig(Strict):
    """Several `serve` processes on one PostgreSQL (bridge.nodes): how often each says it is
    alive, and how long after its last heartbeat the others count it as down."""

    heartbeat_interval: Duration = 5
    down_after: Duration = 20
    #: how long a node's claim on a unit of timed work (a customer's month report) holds
    #: before another node may take it over
    claim_lease: Duration = 600

    @model_validator(mode="after")
    def _down_after_beats(self) -> NodesConfig:
        if self.down_after <= self.heartbeat_interval:
            raise ValueError("nodes.down_after must be longer than nodes.heartbeat_interval")
        return self
