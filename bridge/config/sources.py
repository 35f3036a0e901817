"""Alert sources: webhook authentication, routing rules, and the SNMP trap receiver's settings."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from bridge.config.fields import Duration, Identifier, Strict


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
