"""Probed devices and the probing rules: what is probed, how, from where, how results debounce."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bridge.config.fields import Duration, Identifier, Strict


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
