"""Typed configuration: one YAML file, validated once at start, unknown keys rejected."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bridge.lifecycle import Line, Origin, Priority, Status


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")


def _duration_seconds(value: Any) -> float:
    """Durations are written as 90, "90s", "15m", "4h", "1d" or "1h30m"; stored as seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 4h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and (m := _DURATION.match(value)):
        d, h, mi, s = m.groups()
        if not any((d, h, mi, s)):
            raise ValueError(f"'{value}' is not a duration such as 30s, 15m, 4h or 1d")
        seconds = int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    else:
        raise ValueError(f"'{value}' is not a duration such as 30s, 15m, 4h or 1d")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(_duration_seconds)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone '{value}'") from err
    return value


ZoneName = Annotated[str, AfterValidator(_zone)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_range(text: str) -> tuple[time, time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not m:
        raise ValueError(f"'{text}' is not a time range such as 08:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"'{text}' has an impossible time")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"'{text}' ends before it starts")
    return start, end


def _expand_days(key: str) -> list[int]:
    key = key.strip().lower()
    if "-" in key:
        first, _, last = key.partition("-")
        if first not in WEEKDAYS or last not in WEEKDAYS:
            raise ValueError(f"'{key}' is not a day range such as mon-fri")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
        if b < a:
            raise ValueError(f"'{key}' runs backwards")
        return list(range(a, b + 1))
    if key not in WEEKDAYS:
        raise ValueError(f"'{key}' is not a weekday (mon, tue, … sun or a range like mon-fri)")
    return [WEEKDAYS.index(key)]


class HolidaysConfig(Strict):
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known_country(self) -> HolidaysConfig:
        import holidays

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision, years=2026)
        except NotImplementedError as err:
            raise ValueError(f"the holidays package knows no country '{self.country}'") from err
        except Exception as err:  # holidays raises its own error types for a bad subdivision
            raise ValueError(str(err)) from err
        return self


class OpenDay(Strict):
    date: date
    hours: list[str]

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        for item in value:
            _parse_range(item)
        return value


class CalendarConfig(Strict):
    """24×7, or weekly business hours in a zone with public holidays and exceptions."""

    type: Literal["24x7", "business"] = "business"
    timezone: ZoneName = "UTC"
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: HolidaysConfig | None = None
    closed_days: list[date] = Field(default_factory=list)
    open_days: list[OpenDay] = Field(default_factory=list)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, ranges in value.items():
            _expand_days(key)
            for item in ranges:
                _parse_range(item)
        return value

    @model_validator(mode="after")
    def _business_needs_hours(self) -> CalendarConfig:
        if self.type == "business" and not self.hours:
            raise ValueError("a business calendar needs hours, e.g. {mon-fri: ['08:00-17:00']}")
        return self

    def weekly(self) -> dict[int, list[tuple[time, time]]]:
        out: dict[int, list[tuple[time, time]]] = {}
        for key, ranges in self.hours.items():
            for day in _expand_days(key):
                out.setdefault(day, []).extend(_parse_range(r) for r in ranges)
        return out


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


_EMAIL = re.compile(r"[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError(f"'{value}' is not an e-mail address such as support@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]
#: The notices a customer may hear (bridge.notices decides which event causes which).
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


class IcmpProbeConfig(Strict):
    interval: Duration = 30
    count: Annotated[int, Field(ge=1, le=20)] = 3
    timeout: Duration = 1
    degraded_loss: Annotated[float, Field(gt=0, le=1)] | None = None
    degraded_rtt_ms: Annotated[float, Field(gt=0)] | None = None


class SnmpThreshold(Strict):
    name: Identifier
    oid: Annotated[str, Field(pattern=r"^\.?\d+(\.\d+)+$")]
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> SnmpThreshold:
        if self.above is None and self.below is None:
            raise ValueError("a threshold needs 'above' or 'below'")
        return self


class SnmpProbeConfig(Strict):
    version: Literal["v2c", "v3"] = "v2c"
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    community: str | None = None
    user: str | None = None
    auth_key: str | None = None
    priv_key: str | None = None
    auth_protocol: Literal["SHA", "SHA256", "MD5"] = "SHA"
    priv_protocol: Literal["AES", "AES256", "DES"] = "AES"
    interval: Duration = 60
    timeout: Duration = 2
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    interfaces: list[str | int] = Field(default_factory=list)
    thresholds: list[SnmpThreshold] = Field(default_factory=list)

    @model_validator(mode="after")
    def _credentials(self) -> SnmpProbeConfig:
        if self.version == "v2c" and not self.community:
            raise ValueError("SNMP v2c needs a community")
        if self.version == "v3" and not (self.user and self.auth_key and self.priv_key):
            raise ValueError("SNMP v3 (authPriv) needs user, auth_key and priv_key")
        return self


class ProbeConfig(Strict):
    icmp: IcmpProbeConfig | None = None
    snmp: SnmpProbeConfig | None = None
    #: the sites whose nodes probe this device; None: every site that has nodes
    sites: list[Identifier] | None = None


class DeviceConfig(Strict):
    id: Identifier
    customer: Identifier
    ip: str
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    depends_on: Identifier | None = None
    probe: ProbeConfig | None = None

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError as err:
            raise ValueError(f"'{value}' is not an IP address") from err


class AuthConfig(Strict):
    type: Literal["none", "bearer", "basic", "hmac"] = "none"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    secret: str | None = None
    timestamp_header: str | None = None
    max_age: Duration | None = None

    @model_validator(mode="after")
    def _fields(self) -> AuthConfig:
        need = {"bearer": ("token",), "basic": ("username", "password"), "hmac": ("secret",)}
        missing = [f for f in need.get(self.type, ()) if not getattr(self, f)]
        if missing:
            raise ValueError(f"{self.type} auth needs {' and '.join(missing)}")
        if self.max_age is not None and self.max_age < 1:
            raise ValueError("max_age must be at least 1s")
        return self


class RouteRule(Strict):
    """Maps one label (or payload field exposed as a label) to a customer or a device."""

    label: str
    to: Literal["customer", "contract", "device", "ip"]
    map: dict[str, str] | None = None


DEFAULT_ROUTING = (
    RouteRule(label="device", to="device"),
    RouteRule(label="instance", to="ip"),
    RouteRule(label="host_ip", to="ip"),
    RouteRule(label="customer", to="customer"),
    RouteRule(label="contract", to="contract"),
)


def _oid(value: str) -> str:
    if not re.fullmatch(r"\.?\d+(\.\d+)+", value):
        raise ValueError(f"'{value}' is not a numeric OID such as 1.3.6.1.4.1.318.0.5")
    return value.lstrip(".")


def _engine_id(value: Any) -> str:
    if isinstance(value, int):
        raise ValueError("quote engine ids, e.g. '0x80001f8880' (YAML reads 0x… as a number)")
    if not isinstance(value, str) or not re.fullmatch(r"(0x)?([0-9A-Fa-f]{2}){5,32}", value):
        raise ValueError(f"'{value}' is not an engine id: 5 to 32 bytes in hex, e.g. 0x80001f8880")
    return value


Oid = Annotated[str, AfterValidator(_oid)]
EngineId = Annotated[str, BeforeValidator(_engine_id)]


class TrapUserConfig(Strict):
    """An SNMPv3 user (authPriv); `engine_ids` are the senders' engine ids, needed for traps."""

    name: Annotated[str, Field(min_length=1, max_length=32)]
    auth_protocol: Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512"] = "SHA"
    auth_key: Annotated[str, Field(min_length=8)]
    priv_protocol: Literal["AES", "AES256"] = "AES"
    priv_key: Annotated[str, Field(min_length=8)]
    engine_ids: list[EngineId] = Field(default_factory=list)


class TrapRuleConfig(Strict):
    """An enterprise trap: `match` (OID prefix) opens, `clears` resolves the same identity."""

    name: Identifier
    match: Oid
    title: Annotated[str, Field(min_length=1)]
    severity: str | None = None
    severity_varbind: Oid | None = None
    severity_map: dict[str, str] = Field(default_factory=dict)
    identity: list[Oid] = Field(default_factory=list)
    clears: Oid | None = None


def _listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        ok = bool(sep) and 0 <= int(port) <= 65535
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"'{value}' is not address:port such as 127.0.0.1:1162")
    return value


#: fields only an snmptrap source takes
TRAP_FIELDS = (
    "listen",
    "communities",
    "users",
    "engine_id",
    "auth_failure_alerts",
    "address_varbind",
    "traps",
)


class SourceConfig(Strict):
    name: Identifier
    type: str
    auth: AuthConfig = AuthConfig()
    routing: list[RouteRule] = Field(default_factory=lambda: list(DEFAULT_ROUTING))
    # type snmptrap only: where to listen, who may send, and how enterprise traps read
    listen: Annotated[str, AfterValidator(_listen)] = "127.0.0.1:1162"
    communities: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    users: list[TrapUserConfig] = Field(default_factory=list)
    engine_id: EngineId | None = None
    auth_failure_alerts: bool = True
    address_varbind: Oid | None = None
    traps: list[TrapRuleConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _trap_fields(self) -> SourceConfig:
        if self.type != "snmptrap":
            stray = [f for f in TRAP_FIELDS if f in self.model_fields_set]
            if stray:
                raise ValueError(f"{', '.join(stray)}: only for sources of type snmptrap")
            return self
        if "auth" in self.model_fields_set:
            raise ValueError("snmptrap sources authenticate with communities and users, not auth")
        if not self.communities and not self.users:
            raise ValueError("an snmptrap source needs communities (v1/v2c) or users (v3)")
        return self


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


class ProbeSiteConfig(Strict):
    """One probing site: where its ICMP comes from and how its nodes know they are healthy."""

    #: the local address the site's nodes send ICMP from (their vantage point)
    source: ipaddress.IPv4Address | None = None
    #: addresses the site's nodes must reach; none answering marks the site *probe impaired*
    references: list[ipaddress.IPv4Address] = Field(default_factory=list)
    #: more than this share of a node's targets failing in one cycle while other sites see
    #: them up also marks the site impaired
    impaired_share: Annotated[float, Field(gt=0, le=1)] = 0.5


class ProbingConfig(Strict):
    """Debounce and flapping rules shared by every probed device."""

    down_after: Annotated[int, Field(ge=1)] = 3
    up_after: Annotated[int, Field(ge=1)] = 2
    flap_changes: Annotated[int, Field(ge=0)] = 5
    flap_window: Duration = 600
    batch_size: Annotated[int, Field(ge=1)] = 500
    jitter: Duration = 2.0
    #: a node holds each probe target it probes by a lease this long, renewed every third of
    #: it; a dead node's targets are taken over within lease_ttl plus one probe interval
    lease_ttl: Duration = 30
    #: a node holds at most (targets of its site / live nodes of its site) * (1 + this)
    lease_margin: Annotated[float, Field(ge=0, le=1)] = 0.05
    #: how many sites must see a device down for it to be down (capped at its sites)
    quorum: Annotated[int, Field(ge=1)] = 1
    #: per site: the ICMP source address and the reference targets that tell probe health
    sites: dict[Identifier, ProbeSiteConfig] = Field(default_factory=dict)
    #: a file each node appends what it probed to (one JSON line per sweep; "{node}" in it
    #: becomes the node's name); for tests and the benchmark
    probe_log: str | None = None


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


class SmtpConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password: str | None = None
    timeout: Duration = 30


class ImapConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 143
    security: Literal["none", "starttls", "tls"] = "none"
    user: str
    password: str
    folder: str = "INBOX"
    poll_interval: Duration = 60
    idle: bool = True


def _base_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
        raise ValueError(f"'{value}' is not the desk's address such as https://desk.example.com")
    return value.rstrip("/")


class MailConfig(Strict):
    """Customer notices out (SMTP, through the outbox) and mail in (IMAP)."""

    smtp: SmtpConfig = SmtpConfig()
    from_address: EmailAddress
    from_name: str = "Service Desk"
    # replies come back to local+TOKEN@domain, so a reply names its ticket by itself
    reply_address: EmailAddress
    signing_key: Annotated[str, Field(min_length=16)]
    base_url: Annotated[str, AfterValidator(_base_url)] = "http://127.0.0.1:8080"
    imap: list[ImapConfig] = Field(default_factory=list)
    # a proactive notice waits this long, so a flood that becomes a major incident meanwhile
    # sends the customer the major incident's notice instead of one per alert
    hold: Annotated[float, BeforeValidator(lambda v: _duration_seconds(v) if v else 0.0)] = 30.0
    retry_initial: Duration = 30
    retry_max: Duration = 3600
    send_interval: Duration = 2


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
    "Config",
    "CustomerConfig",
    "DeviceConfig",
    "Origin",
    "Role",
    "SourceConfig",
    "TokenConfig",
]
