"""ICMP echo sweeps: one socket per address family for a whole sweep, thousands of hosts.

A sweep sends echo requests to every target from one loop, matches replies by identifier,
sequence and an 8-byte per-sweep nonce echoed back in the payload, and waits once, for one
shared deadline, for the silent hosts. Nothing is created per host but a few array slots.

Two kinds of socket (:mod:`probes.icmp_caps` says which this process may open): a ``raw``
socket receives a copy of every ICMP packet on the host, so the kernel filter
(``ICMP_FILTER``) passes echo replies only, matched on the sweep's identifier and nonce; on
an unprivileged ``dgram`` ping socket the kernel sets the identifier and delivers only this
socket's replies.

Where a sweep's time goes, and why it is spent this way (measured on loopback, 10,000
hosts): the silent hosts' timeout counts from the last request sent, so sending is the part
that lengthens every sweep, and it is one tight loop: a packet is a precomputed template
patched by one ``struct.pack`` (:mod:`probes.icmp_wire`), no coroutine, no wait per
packet. Replies are *not* read while a sweep sends: they wait in the kernel's receive
buffer, each stamped with its arrival time (``SO_TIMESTAMPNS``), and are read once sending
ends, inside the timeout everyone waits anyway; so the buffer is made large
(``SO_RCVBUFFORCE`` when privileged), and sending stops to read it when the kernel says
it is half full (``SO_MEMINFO``, looked at every ``chunk`` packets or sooner): a full
buffer drops replies, and a dropped reply is a live host reported lost. The event loop
gets a turn every ``chunk`` packets. A reply counts if the kernel received it before the
sweep's deadline, however late it is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import struct
import time
from collections.abc import Callable, Sequence

from probes.errors import IcmpError, IcmpPermissionError
from probes.icmp_book import PingResult, SweepBook, parse_targets
from probes.icmp_caps import (
    IcmpCapability,
    IcmpMode,
    buffer_half_full,
    detect_icmp_capability,
    open_icmp_socket,
)
from probes.icmp_wire import (
    ICMP6_ECHO_REPLY,
    ICMP6_ECHO_REQUEST,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    NONCE_LEN,
    EchoTemplate,
)
from probes.icmp_wire import parse_reply as _parse_reply

__all__ = [
    "IcmpCapability",
    "PingResult",
    "Pinger",
    "detect_icmp_capability",
    "sweep",
]

log = logging.getLogger(__name__)

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")


class Pinger:
    """Owns the ICMP sockets; run any number of (concurrent) sweeps through them.

    Use as ``async with Pinger(capability) as pinger: await pinger.sweep(...)``. The
    capability comes from :func:`detect_icmp_capability`, called once by the caller.
    ``chunk``: packets sent between two turns of the event loop.
    """

    def __init__(
        self,
        capability: IcmpCapability,
        *,
        rcvbuf: int = 16 * 1024 * 1024,
        chunk: int = 1024,
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
        #: requests sent between two looks at a socket's receive buffer while sending
        self._step: dict[int, int] = {}
        #: sockets whose replies carry the kernel's arrival time and may wait unread
        self._stamped: dict[int, bool] = {}
        self._sweeps: dict[bytes, SweepBook] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending = 0  # sweeps sending now; the readers are paused while it is > 0

    async def __aenter__(self) -> Pinger:
        self._loop = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the sockets; sweeps still running finish with what they have."""
        for family, sock in self._socks.items():
            if self._loop is not None and not self._sending:
                self._loop.remove_reader(sock.fileno())
            sock.close()
            log.debug("closed ICMP socket family=%s", family)
        self._socks.clear()
        for sw in self._sweeps.values():
            sw.all_sent = True
            if sw.done is not None and not sw.done.done():
                sw.done.set_result(None)

    # -- sockets ---------------------------------------------------------------------------

    def _socket(self, family: int) -> socket.socket:
        sock = self._socks.get(family)
        if sock is not None:
            return sock
        sock, self._stamped[family], self._step[family] = open_icmp_socket(
            self.mode, family, source=self.source, rcvbuf=self._rcvbuf
        )
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        if not self._sending:
            loop.add_reader(sock.fileno(), self._drain, sock, family == socket.AF_INET6)
        self._socks[family] = sock
        return sock

    def _pause_readers(self) -> None:
        """While a sweep sends, replies stay queued in the kernel (with their timestamps)."""
        if not self._sending and self._loop is not None:
            for sock in self._socks.values():
                self._loop.remove_reader(sock.fileno())
        self._sending += 1

    def _resume_readers(self) -> None:
        self._sending -= 1
        if not self._sending and self._loop is not None:
            for family, sock in self._socks.items():
                self._loop.add_reader(sock.fileno(), self._drain, sock, family == socket.AF_INET6)

    def _must_read(self) -> bool:
        """Whether sending must stop to read replies: a receive buffer is half full, or
        replies carry no kernel timestamp."""
        return any(
            not self._stamped.get(family, False) or buffer_half_full(sock)
            for family, sock in self._socks.items()
        )

    def _drain_all(self) -> None:
        for family, sock in list(self._socks.items()):
            self._drain(sock, family == socket.AF_INET6)

    def _drain(self, sock: socket.socket, v6: bool) -> None:
        """Read every queued datagram, hand replies to their sweeps (the reader callback)."""
        strip_ip = self.mode == "raw" and not v6
        reply_type = ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY
        check_ident = self.mode == "raw"
        sweeps = self._sweeps
        recvmsg = sock.recvmsg
        stamp = _TIMESPEC.unpack_from
        parse = _parse_reply
        while True:
            try:
                data, anc, _flags, _addr = recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. ECONNREFUSED queued on a ping socket
                if err.errno == errno.EBADF:
                    return
                log.debug("ICMP recvmsg: %s", err)
                continue
            if anc and anc[0][1] == _SO_TIMESTAMPNS and anc[0][0] == socket.SOL_SOCKET:
                sec, nsec = stamp(anc[0][2])
                recv_ns = sec * 1_000_000_000 + nsec
            else:
                recv_ns = time.time_ns()
            fields = parse(data, (data[0] & 0x0F) * 4 if strip_ip else 0)
            if fields is None:
                continue
            kind, ident, seq, nonce, index = fields
            if kind != reply_type:
                continue
            sw = sweeps.get(nonce)
            if sw is None or (check_ident and ident != sw.ident) or seq != index & 0xFFFF:
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

        The timeout counts from the last request sent: the sweep ends when every request
        is answered or then, whichever comes first (fping's ``-t``, with no retries).
        Returns one PingResult per distinct target, keyed as given. Raises
        IcmpAddressError for a target that is not an IP literal (nothing is sent then),
        IcmpPermissionError if a socket cannot be opened. A host whose sendto fails
        (e.g. EPERM from a local firewall) is reported lost, with ``error`` set.
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        unique, families, sockaddrs = parse_targets(targets)
        if not unique:
            return {}
        loop = self._loop = asyncio.get_running_loop()
        socks = {fam: self._socket(fam) for fam in set(families)}
        nonce = os.urandom(NONCE_LEN)
        ident = int.from_bytes(nonce[:2], "big")
        done: asyncio.Future[None] = loop.create_future()
        sw = SweepBook(nonce, ident, unique, count, done)
        self._sweeps[nonce] = sw
        try:
            await self._send_all(sw, socks, families, sockaddrs, interval)
            deadline = loop.time() + timeout
            sw.deadline_ns = time.time_ns() + round(timeout * 1e9)
            sw.all_sent = True
            # Everything below runs inside the timeout the silent hosts get anyway.
            self._drain_all()
            sw.check_done()
            if not done.done():
                sw.settle()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(done), deadline - loop.time())
                self._drain_all()  # received in time, not read yet
        finally:
            del self._sweeps[nonce]
        return sw.results()

    async def _send_all(
        self,
        sw: SweepBook,
        socks: dict[int, socket.socket],
        families: list[int],
        sockaddrs: list[tuple],
        interval: float,
    ) -> None:
        """Send every request: one tight loop, the event loop's turn every ``chunk``."""
        loop = asyncio.get_running_loop()
        n_targets = len(sw.targets)
        makers: dict[int, Callable[[int], bytes]] = {
            fam: EchoTemplate(
                ICMP6_ECHO_REQUEST if fam == socket.AF_INET6 else ICMP_ECHO_REQUEST,
                sw.ident,
                sw.nonce,
            ).packet
            for fam in socks
        }
        if len(socks) == 1:
            (fam,) = socks
            packet_of = [makers[fam]] * n_targets
            send_to = [socks[fam].sendto] * n_targets
        else:
            packet_of = [makers[fam] for fam in families]
            send_to = [socks[fam].sendto for fam in families]
        step = min(self._chunk, *(self._step[fam] for fam in socks))
        for rnd in range(sw.count):
            round_start = loop.time()
            self._pause_readers()
            try:
                await self._send_round(sw, rnd * n_targets, packet_of, send_to, sockaddrs, step)
            finally:
                self._resume_readers()
            if rnd + 1 < sw.count:
                await asyncio.sleep(max(0.0, round_start + interval - loop.time()))

    async def _send_round(
        self,
        sw: SweepBook,
        first: int,
        packet_of: list[Callable[[int], bytes]],
        send_to: list[Callable[[bytes, tuple], int]],
        sockaddrs: list[tuple],
        step: int,
    ) -> None:
        """One request to every target, packet numbers from ``first``: the hot loop of a
        sweep, keep it lean. Every ``step`` packets it looks at the receive buffers (which
        concurrent sweeps share) and reads them if they could fill up."""
        send_ns, errors, now, chunk = sw.send_ns, sw.errors, time.time_ns, self._chunk
        left, unyielded, expected = step, 0, 0
        for i in range(len(send_to)):
            if errors and i in errors:
                continue
            n = first + i
            packet = packet_of[i](n)
            send_ns[n] = now()
            try:
                send_to[i](packet, sockaddrs[i])
            except OSError as err:
                if not await self._send_again(err, send_to[i], packet, sockaddrs[i], sw, n, i):
                    continue
            expected += 1
            left -= 1
            if not left:
                left = step
                unyielded += step
                if self._must_read():
                    self._drain_all()
                if unyielded >= chunk:
                    unyielded = 0
                    await asyncio.sleep(0)
        sw.expected += expected

    async def _send_again(
        self,
        err: OSError,
        send_to: Callable[[bytes, tuple], int],
        packet: bytes,
        addr: tuple,
        sw: SweepBook,
        n: int,
        i: int,
    ) -> bool:
        """A sendto failed: retry while the send buffer is full, else record the error."""
        for attempt in range(50):
            if not isinstance(err, BlockingIOError | InterruptedError) and (
                err.errno != errno.ENOBUFS
            ):
                sw.send_ns[n] = 0
                sw.errors[i] = f"sendto {addr[0]} failed: {err.strerror or err}"
                log.debug("ICMP sendto %s: %s", addr[0], err)
                return False
            await asyncio.sleep(0.001 * (attempt + 1))  # send buffer full: give it a moment
            sw.send_ns[n] = time.time_ns()
            try:
                send_to(packet, addr)
                return True
            except OSError as again:
                err = again
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
