"""Device specifications the probes work from: small frozen value objects.

The bridge's configuration layer builds these from YAML; the probes package never reads
configuration itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ThresholdOp = Literal[">", ">=", "<", "<="]


@dataclass(frozen=True, slots=True)
class IcmpSettings:
    """How one device is pinged each cycle, and when it counts as degraded."""

    interval: float = 60.0  # seconds between cycles
    count: int = 3  # echo requests per cycle
    spacing: float = 0.2  # seconds between two echo requests to the same host in a cycle
    timeout: float = 1.0  # seconds to wait for replies after the last request
    degraded_loss: float | None = None  # loss ratio (0..1) at or above which: degraded
    degraded_rtt_ms: float | None = None  # average RTT (ms) at or above which: degraded


@dataclass(frozen=True, slots=True)
class ThresholdSpec:
    """One numeric OID compared with a limit each cycle, e.g. a temperature above 70."""

    name: str
    oid: str
    op: ThresholdOp
    value: float


@dataclass(frozen=True, slots=True)
class SnmpSettings:
    """How one device is polled over SNMP (v2c or v3 authPriv/authNoPriv)."""

    version: Literal["1", "2c", "3"] = "2c"
    port: int = 161
    community: str | None = None  # v1/v2c
    user: str | None = None  # v3
    auth_protocol: str = "sha"  # md5, sha, sha224, sha256, sha384, sha512
    auth_key: str | None = None
    priv_protocol: str | None = "aes"  # des, aes (=aes128), aes192, aes256, or None (authNoPriv)
    priv_key: str | None = None
    timeout: float = 1.0  # seconds per try
    retries: int = 1  # tries after the first
    interval: float = 60.0
    interfaces: tuple[int | str, ...] = ()  # ifIndex numbers or ifDescr names
    thresholds: tuple[ThresholdSpec, ...] = ()

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return (
            f"SnmpSettings(version={self.version!r}, port={self.port}, user={self.user!r}, "
            f"interfaces={self.interfaces!r}, thresholds={len(self.thresholds)})"
        )


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One monitored device: an IP address literal, an optional parent, and its checks."""

    id: str
    address: str
    parent: str | None = None
    icmp: IcmpSettings | None = None
    snmp: SnmpSettings | None = None
    tags: tuple[str, ...] = field(default=())
