"""Typed configuration: one YAML file, validated once at start, unknown keys rejected.

The root `Config` lives here; each section lives in a module of its own (calendars, customers,
devices, sources, service, mail) and is importable from here as before.
"""

from __future__ import annotations

from pydantic import Field

from bridge.config.calendars import WEEKDAYS, CalendarConfig, HolidaysConfig, OpenDay
from bridge.config.customers import (
    NOTICE_KINDS,
    URGENCIES,
    URGENCY_DEFAULTS,
    ContactConfig,
    CustomerConfig,
    Language,
    PriorityTargets,
    SlaPolicyConfig,
    Urgency,
)
from bridge.config.devices import (
    DeviceConfig,
    IcmpProbeConfig,
    ProbeConfig,
    ProbeSiteConfig,
    ProbingConfig,
    SnmpProbeConfig,
    SnmpThreshold,
)
from bridge.config.fields import Duration, EmailAddress, Identifier, Strict, ZoneName
from bridge.config.mail import ImapConfig, MailConfig, SmtpConfig
from bridge.config.service import (
    MaintenanceConfig,
    MajorIncidentConfig,
    NodesConfig,
    Role,
    ServiceConfig,
    TokenConfig,
)
from bridge.config.sources import (
    DEFAULT_ROUTING,
    TRAP_FIELDS,
    AuthConfig,
    EngineId,
    Oid,
    RouteRule,
    SourceConfig,
    TrapRuleConfig,
    TrapUserConfig,
)
from bridge.lifecycle import Origin


class Config(Strict):
    service: ServiceConfig = ServiceConfig()
    calendars: dict[Identifier, CalendarConfig]
    sla_policies: dict[Identifier, SlaPolicyConfig]
    customers: list[CustomerConfig]
    devices: list[DeviceConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    api_tokens: list[TokenConfig] = Field(default_factory=list)
    major_incidents: MajorIncidentConfig = MajorIncidentConfig()
    probing: ProbingConfig = ProbingConfig()
    mail: MailConfig | None = None
    nodes: NodesConfig = NodesConfig()

    def customer(self, customer_id: str) -> CustomerConfig | None:
        return next((c for c in self.customers if c.id == customer_id), None)

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)


__all__ = [
    "DEFAULT_ROUTING",
    "NOTICE_KINDS",
    "TRAP_FIELDS",
    "URGENCIES",
    "URGENCY_DEFAULTS",
    "WEEKDAYS",
    "AuthConfig",
    "CalendarConfig",
    "Config",
    "ContactConfig",
    "CustomerConfig",
    "DeviceConfig",
    "Duration",
    "EmailAddress",
    "EngineId",
    "HolidaysConfig",
    "IcmpProbeConfig",
    "Identifier",
    "ImapConfig",
    "Language",
    "MailConfig",
    "MaintenanceConfig",
    "MajorIncidentConfig",
    "NodesConfig",
    "Oid",
    "OpenDay",
    "Origin",
    "PriorityTargets",
    "ProbeConfig",
    "ProbeSiteConfig",
    "ProbingConfig",
    "Role",
    "RouteRule",
    "ServiceConfig",
    "SlaPolicyConfig",
    "SmtpConfig",
    "SnmpProbeConfig",
    "SnmpThreshold",
    "SourceConfig",
    "Strict",
    "TokenConfig",
    "TrapRuleConfig",
    "TrapUserConfig",
    "Urgency",
    "ZoneName",
]
