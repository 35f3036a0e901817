"""The book-keeping of one ICMP sweep, and the results it turns into; no sockets here.

A sweep's state is two flat arrays indexed by packet number (send time, RTT), so nothing is
created per host while packets fly. Building the results is the costly part left (one
frozen dataclass per host), so a sweep that waits for silent hosts builds the results of
the hosts that already answered while it waits (:meth:`SweepBook.settle`), and only the
rest once the deadline has passed; :meth:`SweepBook.results` is the same either way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from probes.errors import IcmpAddressError

__all__ = ["PingResult", "SweepBook", "make_result", "parse_targets"]

#: a reply is compared with this until sending ends and the real deadline is known
NO_DEADLINE = 1 << 62


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


def _result_maker() -> Callable[..., PingResult]:
    """A PingResult constructor taking the fields in order, about twice as fast as the
    frozen dataclass's own ``__init__`` (which goes through ``object.__setattr__`` for
    each field): it sets the slots directly. Same object, no checks skipped (there are
    none); tests hold it equal to ``PingResult(...)``."""
    setters = [getattr(PingResult, f.name).__set__ for f in dataclasses.fields(PingResult)]
    if len(setters) != 8:  # pragma: no cover - a field was added: update the maker
        raise RuntimeError("PingResult fields changed: update _result_maker")
    s0, s1, s2, s3, s4, s5, s6, s7 = setters
    new = object.__new__

    def make(
        address: str,
        sent: int,
        received: int,
        loss: float,
        rtt_min_ms: float | None,
        rtt_avg_ms: float | None,
        rtt_max_ms: float | None,
        error: str | None,
    ) -> PingResult:
        r = new(PingResult)
        s0(r, address)
        s1(r, sent)
        s2(r, received)
        s3(r, loss)
        s4(r, rtt_min_ms)
        s5(r, rtt_avg_ms)
        s6(r, rtt_max_ms)
        s7(r, error)
        return r

    return make


make_result = _result_maker()


def parse_targets(targets: Sequence[str]) -> tuple[list[str], list[int], list[tuple]]:
    """Distinct targets in order, their address families and socket addresses.

    IPv4 literals take ``inet_pton`` (a tenth of ``ipaddress``'s cost; both accept exactly
    the dotted quads without leading zeros); anything else goes through ``ipaddress``.
    Raises IcmpAddressError for the first target that is not an IP address literal.
    """
    unique = list(dict.fromkeys(targets))
    families: list[int] = []
    sockaddrs: list[tuple] = []
    pton, af_inet, af_inet6 = socket.inet_pton, socket.AF_INET, socket.AF_INET6
    for host in unique:
        try:
            pton(af_inet, host)
        except (OSError, TypeError, ValueError):
            pass
        else:
            families.append(af_inet)
            sockaddrs.append((host, 0))
            continue
        try:
            ip = ipaddress.ip_address(host)
        except ValueError as err:
            raise IcmpAddressError(f"ICMP target {host!r} is not an IP address", host=host) from err
        if ip.version == 6:
            families.append(af_inet6)
            sockaddrs.append((str(ip), 0, 0, 0))
        else:
            families.append(af_inet)
            sockaddrs.append((str(ip), 0))
    return unique, families, sockaddrs


class SweepBook:
    """Book-keeping of one sweep: flat arrays indexed by packet number
    (``round * len(targets) + target index``)."""

    __slots__ = (
        "nonce",
        "ident",
        "targets",
        "count",
        "size",
        "send_ns",
        "rtt_ns",
        "errors",
        "expected",
        "answered",
        "all_sent",
        "deadline_ns",
        "done",
        "settled",
    )

    def __init__(
        self,
        nonce: bytes,
        ident: int,
        targets: list[str],
        count: int,
        done: asyncio.Future[None] | None = None,
    ) -> None:
        n = len(targets) * count
        self.nonce = nonce
        self.ident = ident
        self.targets = targets
        self.count = count
        self.size = n
        self.send_ns = array("q", bytes(8 * n))
        self.rtt_ns = array("q", [-1]) * n
        self.errors: dict[int, str] = {}  # target index -> first send error
        self.expected = 0  # packets actually handed to the kernel
        self.answered = 0
        self.all_sent = False
        #: replies the kernel received after this (wall clock, ns) do not count
        self.deadline_ns = NO_DEADLINE
        #: set once every packet sent is answered (or the Pinger closes)
        self.done = done
        #: target index -> its result, built early because it can no longer change
        self.settled: dict[int, PingResult] = {}

    def on_reply(self, index: int, recv_ns: int) -> None:
        if (
            index >= self.size
            or self.rtt_ns[index] >= 0
            or not self.send_ns[index]
            or recv_ns > self.deadline_ns
        ):
            return  # duplicate, not ours, or too late
        self.rtt_ns[index] = max(0, recv_ns - self.send_ns[index])
        self.answered += 1
        if self.all_sent and self.answered >= self.expected:
            self.check_done()

    def check_done(self) -> None:
        done = self.done
        if self.all_sent and self.answered >= self.expected and done and not done.done():
            done.set_result(None)

    def settle(self) -> int:
        """Build now the results of targets whose every packet is answered (nothing can
        change them any more); returns how many are settled. Call once sending is over."""
        rtt, n_targets, count, settled = self.rtt_ns, len(self.targets), self.count, self.settled
        one = self._one
        for i in range(n_targets):
            if i in settled:
                continue
            for r in range(count):
                if rtt[r * n_targets + i] < 0:
                    break
            else:
                settled[i] = one(i)
        return len(settled)

    def results(self) -> dict[str, PingResult]:
        """One PingResult per target, keyed by the target as given."""
        settled, one = self.settled, self._one
        out: dict[str, PingResult] = {}
        for i, address in enumerate(self.targets):
            r = settled.get(i)
            out[address] = r if r is not None else one(i)
        return out

    def _one(self, i: int) -> PingResult:
        address, count, rtt_ns = self.targets[i], self.count, self.rtt_ns
        error = self.errors.get(i) if self.errors else None
        if count == 1:  # the usual cycle: what the general branch gives, without the lists
            rtt = rtt_ns[i]
            if rtt >= 0:
                ms = rtt / 1e6
                return make_result(address, 1, 1, 0.0, ms, ms, ms, error)
            return make_result(address, 1, 0, 1.0, None, None, None, error)
        n_targets = len(self.targets)
        rtts = [
            rtt_ns[r * n_targets + i] / 1e6 for r in range(count) if rtt_ns[r * n_targets + i] >= 0
        ]
        received = len(rtts)
        return make_result(
            address,
            count,
            received,
            (count - received) / count,
            min(rtts) if rtts else None,
            sum(rtts) / received if rtts else None,
            max(rtts) if rtts else None,
            error,
        )
