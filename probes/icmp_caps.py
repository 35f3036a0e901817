"""Which ICMP sockets this process may open (detected once at start-up, logged in one
line), and opening them set up for sweeps.

* ``raw`` (``SOCK_RAW``): needs root or ``CAP_NET_RAW``.
* ``dgram`` (unprivileged ping socket): needs the process's group inside
  ``net.ipv4.ping_group_range`` (the kernel default ``1 0`` allows nobody).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from dataclasses import dataclass
from typing import Literal

from probes.errors import IcmpPermissionError
from probes.icmp_wire import ICMP6_ECHO_REPLY, ICMP_ECHO_REPLY

__all__ = [
    "IcmpCapability",
    "IcmpMode",
    "buffer_half_full",
    "detect_icmp_capability",
    "open_icmp_socket",
]

IcmpMode = Literal["raw", "dgram"]

_PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"
_SOL_RAW = 255
_ICMP_FILTER = 1  # linux/icmp.h: bitmask of ICMP types to *block* on a raw IPv4 socket
_ICMP6_FILTER = 1  # linux/icmpv6.h: 256-bit mask, bit set = block
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
_SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)
_MEMINFO_HEAD = struct.Struct("=II")  # sk_meminfo: bytes queued for reading, receive buffer
#: receive-buffer bytes one queued reply may take (about 830 on loopback; a NIC's driver
#: may charge a page or more): how many requests go out between two looks at the buffer
_WORST_BYTES_PER_REPLY = 4096


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


def open_icmp_socket(
    mode: IcmpMode, family: int, *, source: str | None, rcvbuf: int
) -> tuple[socket.socket, bool, int]:
    """A non-blocking ICMP socket for sweeps: (socket, stamped, step).

    ``stamped``: replies carry the kernel's arrival time (``SO_TIMESTAMPNS``) and the
    buffer's fill can be read (``SO_MEMINFO``), so replies may wait unread while a sweep
    sends. ``step``: requests that may go out between two looks at the buffer, so that at
    most a quarter of it fills in between, even at a page a reply. Raises
    IcmpPermissionError when the socket cannot be opened or bound to ``source``.
    """
    v6 = family == socket.AF_INET6
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    kind = socket.SOCK_RAW if mode == "raw" else socket.SOCK_DGRAM
    try:
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        fam = "IPv6" if v6 else "IPv4"
        raise IcmpPermissionError(f"cannot open {mode} ICMP {fam} socket: {err}") from err
    sock.setblocking(False)
    if source is not None and not v6:
        try:
            sock.bind((source, 0))
        except OSError as err:
            sock.close()
            raise IcmpPermissionError(
                f"cannot send ICMP from {source}: {err} (is it a local address?)"
            ) from err
    # Privileged: *FORCE ignores net.core.rmem_max; otherwise SO_RCVBUF up to rmem_max.
    for force, plain, size in (
        (_SO_RCVBUFFORCE, socket.SO_RCVBUF, rcvbuf),
        (_SO_SNDBUFFORCE, socket.SO_SNDBUF, 1024 * 1024),
    ):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, plain, size)
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, _MEMINFO_HEAD.size)
        stamped = True
    except OSError:  # a reply's time is when it is read, or the fill cannot be seen
        stamped = False
    size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    step = max(1, min(size // (4 * _WORST_BYTES_PER_REPLY), 64 * 1024))
    if mode == "raw":
        # Only echo replies reach us; without this a raw socket also gets our own
        # requests on loopback and every other ICMP packet of the host.
        if v6:
            mask = bytearray(b"\xff" * 32)
            mask[ICMP6_ECHO_REPLY >> 3] &= ~(1 << (ICMP6_ECHO_REPLY & 7)) & 0xFF
            # icmp6_filter is __u32[8] in host order: build it word by word.
            words = struct.unpack("<8I", bytes(mask))
            sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("=8I", *words))
        else:
            sock.setsockopt(
                _SOL_RAW, _ICMP_FILTER, struct.pack("=I", ~(1 << ICMP_ECHO_REPLY) & 0xFFFFFFFF)
            )
    return sock, stamped, step


def buffer_half_full(sock: socket.socket) -> bool:
    """Whether the socket's receive buffer is half full, as the kernel counts it (what a
    queued reply takes depends on the network card's driver); True when it cannot tell."""
    try:
        queued, size = _MEMINFO_HEAD.unpack(
            sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, _MEMINFO_HEAD.size)
        )
    except OSError:
        return True
    return queued * 2 >= size
