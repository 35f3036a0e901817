"""Which ICMP sockets this process may open: detected once at start-up, logged in one line.

* ``raw`` (``SOCK_RAW``): needs root or ``CAP_NET_RAW``.
* ``dgram`` (unprivileged ping socket): needs the process's group inside
  ``net.ipv4.ping_group_range`` (the kernel default ``1 0`` allows nobody).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Literal

__all__ = ["IcmpCapability", "IcmpMode", "detect_icmp_capability"]

IcmpMode = Literal["raw", "dgram"]

_PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"


@dataclass(frozen=True, slots=True)
class IcmpCapability:
    """Which ICMP sockets this process may open; detect once with detect_icmp_capability()."""

    raw_v4: bool
    raw_v6: bool
    dgram_v4: bool
    dgram_v6: bool
    ping_group_range: tuple[int, int] | None
    gid: int

    @property
    def mode(self) -> IcmpMode | None:
        """The socket kind a Pinger will use: raw if allowed, else ping sockets, else None."""
        if self.raw_v4:
            return "raw"
        if self.dgram_v4:
            return "dgram"
        return None

    def describe(self) -> str:
        """One line for logs and the start-up banner."""
        rng = self.ping_group_range
        return (
            f"icmp mode={self.mode or 'none'} raw_v4={self.raw_v4} raw_v6={self.raw_v6} "
            f"dgram_v4={self.dgram_v4} dgram_v6={self.dgram_v6} "
            f"ping_group_range={f'{rng[0]} {rng[1]}' if rng else 'unknown'} gid={self.gid}"
        )


def _can_open(family: int, kind: int, proto: int) -> bool:
    try:
        sock = socket.socket(family, kind, proto)
    except OSError:
        return False
    sock.close()
    return True


def _read_ping_group_range(path: str = _PING_GROUP_RANGE) -> tuple[int, int] | None:
    try:
        with open(path, encoding="ascii") as fh:
            low, high = fh.read().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def detect_icmp_capability() -> IcmpCapability:
    """Try each socket kind once (opening and closing it); call once at start-up."""
    return IcmpCapability(
        raw_v4=_can_open(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
        raw_v6=_can_open(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
        dgram_v4=_can_open(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
        dgram_v6=_can_open(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6),
        ping_group_range=_read_ping_group_range(),
        gid=os.getgid(),
    )
