"""ICMP echo sweeps: one socket per address family for a whole sweep, thousands of hosts.

A sweep sends echo requests to every target from one loop, matches replies by identifier,
sequence and an 8-byte per-sweep nonce echoed back in the payload, and waits once, for one
shared deadline, for the silent hosts. Nothing is created per host but a few array slots.

Two kinds of socket, detected once at start-up by :func:`detect_icmp_capability`:

* ``raw`` (``SOCK_RAW``): needs root or ``CAP_NET_RAW``. A raw socket receives a copy of
  every ICMP packet on the host, so the kernel filter (``ICMP_FILTER``) passes echo
  replies only, and replies are matched on the sweep's identifier and nonce.
* ``dgram`` (unprivileged ping socket): needs the process's group inside
  ``net.ipv4.ping_group_range`` (the kernel default ``1 0`` allows nobody). The kernel
  sets the identifier and delivers only this socket's replies.

Costs and traps measured on loopback: the default receive buffer holds about 256 replies,
so it is enlarged (``SO_RCVBUFFORCE`` when privileged); sending pauses every ``chunk``
packets to let the reader drain; reply times come from the kernel (``SO_TIMESTAMPNS``) so
that a busy event loop does not inflate RTTs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import struct
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from probes.errors import IcmpAddressError, IcmpError, IcmpPermissionError

__all__ = [
    "IcmpCapability",
    "PingResult",
    "Pinger",
    "detect_icmp_capability",
    "sweep",
]

log = logging.getLogger(__name__)

IcmpMode = Literal["raw", "dgram"]

_ICMP_ECHO_REPLY = 0
_ICMP_ECHO_REQUEST = 8
_ICMP6_ECHO_REQUEST = 128
_ICMP6_ECHO_REPLY = 129
_SOL_RAW = 255
_ICMP_FILTER = 1  # linux/icmp.h: bitmask of ICMP types to *block* on a raw IPv4 socket
_ICMP6_FILTER = 1  # linux/icmpv6.h: 256-bit mask, bit set = block
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)

_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_INDEX = struct.Struct("!I")
_TIMESPEC = struct.Struct("@qq")
_NONCE_LEN = 8
_PAD = b"slabridge-probe!" * 2  # payload: nonce(8) + packet index(4) + pad(32) = 44 bytes
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


@dataclass(frozen=True, slots=True)
class PingResult:
    """The outcome of one sweep for one address. RTTs are None when nothing answered."""

    address: str
    sent: int
    received: int
    loss: float  # 0.0 .. 1.0
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    error: str | None = None  # e.g. sendto failed: EPERM from a local firewall

    @property
    def is_alive(self) -> bool:
        return self.received > 0


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


def _checksum(data: bytes) -> int:
    """RFC 1071 checksum, summed in native byte order (store the result with '=H')."""
    if len(data) % 2:
        data += b"\0"
    total = sum(array("H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class _Sweep:
    """Book-keeping of one sweep: flat arrays indexed by packet number."""

    __slots__ = (
        "nonce",
        "ident",
        "targets",
        "count",
        "send_ns",
        "rtt_ns",
        "errors",
        "expected",
        "answered",
        "all_sent",
        "done",
    )

    def __init__(self, nonce: bytes, ident: int, targets: list[str], count: int) -> None:
        n = len(targets) * count
        self.nonce = nonce
        self.ident = ident
        self.targets = targets
        self.count = count
        self.send_ns = array("q", bytes(8 * n))
        self.rtt_ns = array("q", [-1]) * n
        self.errors: dict[int, str] = {}  # target index -> first send error
        self.expected = 0  # packets actually handed to the kernel
        self.answered = 0
        self.all_sent = False
        self.done = asyncio.get_running_loop().create_future()

    def on_reply(self, index: int, recv_ns: int) -> None:
        if index >= len(self.rtt_ns) or self.rtt_ns[index] >= 0 or not self.send_ns[index]:
            return  # duplicate, or not ours
        self.rtt_ns[index] = max(0, recv_ns - self.send_ns[index])
        self.answered += 1
        self.check_done()

    def check_done(self) -> None:
        if self.all_sent and self.answered >= self.expected and not self.done.done():
            self.done.set_result(None)

    def results(self) -> dict[str, PingResult]:
        out: dict[str, PingResult] = {}
        n_targets = len(self.targets)
        for i, address in enumerate(self.targets):
            rtts = [
                self.rtt_ns[r * n_targets + i] / 1e6
                for r in range(self.count)
                if self.rtt_ns[r * n_targets + i] >= 0
            ]
            received = len(rtts)
            out[address] = PingResult(
                address=address,
                sent=self.count,
                received=received,
                loss=(self.count - received) / self.count,
                rtt_min_ms=min(rtts) if rtts else None,
                rtt_avg_ms=sum(rtts) / received if rtts else None,
                rtt_max_ms=max(rtts) if rtts else None,
                error=self.errors.get(i),
            )
        return out


class Pinger:
    """Owns the ICMP sockets; run any number of (concurrent) sweeps through them.

    Use as ``async with Pinger(capability) as pinger: await pinger.sweep(...)``. The
    capability comes from :func:`detect_icmp_capability`, called once by the caller.
    """

    def __init__(
        self,
        capability: IcmpCapability,
        *,
        rcvbuf: int = 8 * 1024 * 1024,
        chunk: int = 256,
        source: str | None = None,
    ) -> None:
        mode = capability.mode
        if mode is None:
            raise IcmpPermissionError(
                "ICMP unavailable: no raw socket (needs root or CAP_NET_RAW) and no "
                f"unprivileged ping socket (gid {capability.gid} outside "
                f"net.ipv4.ping_group_range {capability.ping_group_range})"
            )
        self.capability = capability
        self.mode: IcmpMode = mode
        self._rcvbuf = rcvbuf
        self._chunk = max(1, chunk)
        #: the local IPv4 address echo requests leave from (a site's vantage point); a raw
        #: socket bound to it also only hears the replies sent back to it
        self.source = source
        self._socks: dict[int, socket.socket] = {}
        self._sweeps: dict[bytes, _Sweep] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> Pinger:
        self._loop = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the sockets; sweeps still running finish with what they have."""
        for family, sock in self._socks.items():
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
            log.debug("closed ICMP socket family=%s", family)
        self._socks.clear()
        for sw in self._sweeps.values():
            sw.all_sent = True
            if not sw.done.done():
                sw.done.set_result(None)

    # -- sockets ---------------------------------------------------------------------------

    def _socket(self, family: int) -> socket.socket:
        sock = self._socks.get(family)
        if sock is not None:
            return sock
        v6 = family == socket.AF_INET6
        proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
        kind = socket.SOCK_RAW if self.mode == "raw" else socket.SOCK_DGRAM
        try:
            sock = socket.socket(family, kind, proto)
        except OSError as err:
            fam = "IPv6" if v6 else "IPv4"
            raise IcmpPermissionError(f"cannot open {self.mode} ICMP {fam} socket: {err}") from err
        sock.setblocking(False)
        if self.source is not None and not v6:
            try:
                sock.bind((self.source, 0))
            except OSError as err:
                sock.close()
                raise IcmpPermissionError(
                    f"cannot send ICMP from {self.source}: {err} (is it a local address?)"
                ) from err
        # Privileged: *FORCE ignores net.core.rmem_max; otherwise SO_RCVBUF up to rmem_max.
        for force, plain, size in (
            (_SO_RCVBUFFORCE, socket.SO_RCVBUF, self._rcvbuf),
            (_SO_SNDBUFFORCE, socket.SO_SNDBUF, 1024 * 1024),
        ):
            try:
                sock.setsockopt(socket.SOL_SOCKET, force, size)
            except OSError:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, plain, size)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        if self.mode == "raw":
            # Only echo replies reach us; without this a raw socket also gets our own
            # requests on loopback and every other ICMP packet of the host.
            if v6:
                mask = bytearray(b"\xff" * 32)
                mask[_ICMP6_ECHO_REPLY >> 3] &= ~(1 << (_ICMP6_ECHO_REPLY & 7)) & 0xFF
                # icmp6_filter is __u32[8] in host order: build it word by word.
                words = struct.unpack("<8I", bytes(mask))
                sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("=8I", *words))
            else:
                sock.setsockopt(
                    _SOL_RAW, _ICMP_FILTER, struct.pack("=I", ~(1 << _ICMP_ECHO_REPLY) & 0xFFFFFFFF)
                )
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        loop.add_reader(sock.fileno(), self._drain, sock, v6)
        self._socks[family] = sock
        return sock

    def _drain(self, sock: socket.socket, v6: bool) -> None:
        """Reader callback: read every queued datagram, hand replies to their sweeps."""
        strip_ip = self.mode == "raw" and not v6
        reply_type = _ICMP6_ECHO_REPLY if v6 else _ICMP_ECHO_REPLY
        check_ident = self.mode == "raw"
        sweeps = self._sweeps
        while True:
            try:
                data, anc, _flags, _addr = sock.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. ECONNREFUSED queued on a ping socket
                log.debug("ICMP recvmsg: %s", err)
                continue
            recv_ns = 0
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack_from(payload)
                    recv_ns = sec * 1_000_000_000 + nsec
            if not recv_ns:
                recv_ns = time.time_ns()
            off = (data[0] & 0x0F) * 4 if strip_ip else 0
            if len(data) < off + 8 + _NONCE_LEN + 4 or data[off] != reply_type:
                continue
            sw = sweeps.get(data[off + 8 : off + 8 + _NONCE_LEN])
            if sw is None:
                continue
            _t, _c, _ck, ident, seq = _HEADER.unpack_from(data, off)
            if check_ident and ident != sw.ident:
                continue
            (index,) = _INDEX.unpack_from(data, off + 8 + _NONCE_LEN)
            if seq != index & 0xFFFF:
                continue
            sw.on_reply(index, recv_ns)

    # -- sweeping --------------------------------------------------------------------------

    async def sweep(
        self,
        targets: Sequence[str],
        count: int = 1,
        interval: float = 1.0,
        timeout: float = 1.0,  # noqa: ASYNC109 - how long silent hosts get, not a cancel
    ) -> dict[str, PingResult]:
        """Ping every target ``count`` times, ``interval`` s apart; one shared ``timeout``.

        Returns one PingResult per distinct target, keyed as given. Raises
        IcmpAddressError for a target that is not an IP literal (nothing is sent then),
        IcmpPermissionError if a socket cannot be opened. A host whose sendto fails
        (e.g. EPERM from a local firewall) is reported lost, with ``error`` set.
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        unique = list(dict.fromkeys(targets))
        sockaddrs: list[tuple] = []
        families: list[int] = []
        for host in unique:
            try:
                ip = ipaddress.ip_address(host)
            except ValueError as err:
                raise IcmpAddressError(
                    f"ICMP target {host!r} is not an IP address", host=host
                ) from err
            if ip.version == 6:
                families.append(socket.AF_INET6)
                sockaddrs.append((str(ip), 0, 0, 0))
            else:
                families.append(socket.AF_INET)
                sockaddrs.append((str(ip), 0))
        if not unique:
            return {}
        loop = asyncio.get_running_loop()
        self._loop = loop
        socks = {fam: self._socket(fam) for fam in set(families)}
        nonce = os.urandom(_NONCE_LEN)
        ident = int.from_bytes(nonce[:2], "big")
        sw = _Sweep(nonce, ident, unique, count)
        self._sweeps[nonce] = sw
        try:
            await self._send_all(sw, socks, families, sockaddrs, interval)
            sw.all_sent = True
            sw.check_done()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(sw.done), timeout)
        finally:
            del self._sweeps[nonce]
        return sw.results()

    async def _send_all(
        self,
        sw: _Sweep,
        socks: dict[int, socket.socket],
        families: list[int],
        sockaddrs: list[tuple],
        interval: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        n_targets = len(sw.targets)
        chunk = self._chunk
        head4 = bytearray(_HEADER.size + _NONCE_LEN + _INDEX.size + len(_PAD))
        head4[_HEADER.size : _HEADER.size + _NONCE_LEN] = sw.nonce
        head4[_HEADER.size + _NONCE_LEN + _INDEX.size :] = _PAD
        for rnd in range(sw.count):
            round_start = loop.time()
            for i in range(n_targets):
                n = rnd * n_targets + i
                if i in sw.errors:
                    continue
                fam = families[i]
                v6 = fam == socket.AF_INET6
                _HEADER.pack_into(
                    head4,
                    0,
                    _ICMP6_ECHO_REQUEST if v6 else _ICMP_ECHO_REQUEST,
                    0,
                    0,
                    sw.ident,
                    n & 0xFFFF,
                )
                _INDEX.pack_into(head4, _HEADER.size + _NONCE_LEN, n)
                if not v6:  # the kernel computes ICMPv6 checksums itself
                    struct.pack_into("=H", head4, 2, _checksum(bytes(head4)))
                if await self._send_one(socks[fam], head4, sockaddrs[i], sw, n, i):
                    sw.expected += 1
                if (i + 1) % chunk == 0:
                    await asyncio.sleep(0)  # let the reader drain the receive buffer
            if rnd + 1 < sw.count:
                await asyncio.sleep(max(0.0, round_start + interval - loop.time()))

    async def _send_one(
        self, sock: socket.socket, packet: bytearray, addr: tuple, sw: _Sweep, n: int, i: int
    ) -> bool:
        for attempt in range(50):
            sw.send_ns[n] = time.time_ns()
            try:
                sock.sendto(packet, addr)
                return True
            except (BlockingIOError, InterruptedError):
                pass  # send buffer full: give the kernel a moment
            except OSError as err:
                if err.errno == errno.ENOBUFS:
                    pass
                else:
                    sw.send_ns[n] = 0
                    sw.errors[i] = f"sendto {addr[0]} failed: {err.strerror or err}"
                    log.debug("ICMP sendto %s: %s", addr[0], err)
                    return False
            await asyncio.sleep(0.001 * (attempt + 1))
        sw.send_ns[n] = 0
        sw.errors[i] = f"sendto {addr[0]} failed: send buffer stayed full"
        return False


async def sweep(
    targets: Sequence[str],
    count: int = 1,
    interval: float = 1.0,
    timeout: float = 1.0,  # noqa: ASYNC109 - how long silent hosts get, not a cancel
    *,
    capability: IcmpCapability | None = None,
) -> dict[str, PingResult]:
    """One-shot sweep with a Pinger of its own; long-running callers keep a Pinger instead."""
    cap = capability if capability is not None else detect_icmp_capability()
    try:
        async with Pinger(cap) as pinger:
            return await pinger.sweep(targets, count=count, interval=interval, timeout=timeout)
    except OSError as err:  # pragma: no cover - unexpected socket failure
        raise IcmpError(f"ICMP sweep failed: {err}") from err
