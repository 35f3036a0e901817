"""ICMP echo packets on the wire: building requests and reading replies, without sockets.

Every request of a sweep is the same 52 bytes but for the checksum, the sequence number and
the packet index, so a sweep builds one :class:`EchoTemplate` and patches those three fields
per packet; the checksum is updated from the template's precomputed sum instead of summing
the whole packet again (RFC 1624). :func:`build_echo` is the plain version, a full RFC 1071
checksum over the built packet, kept to hold the fast one to it in the tests.

Layout of a request (and of the reply, which echoes it)::

    type(1) code(1) checksum(2) identifier(2) sequence(2) | nonce(8) index(4) pad(32)

The nonce is random per sweep, the index is the packet's number within the sweep (the
sequence is its low 16 bits); together with the identifier they let one socket serve many
sweeps at once and tell our replies from other programs' on a raw socket.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable

__all__ = [
    "ICMP6_ECHO_REPLY",
    "ICMP6_ECHO_REQUEST",
    "ICMP_ECHO_REPLY",
    "ICMP_ECHO_REQUEST",
    "NONCE_LEN",
    "REPLY_MIN_LEN",
    "EchoTemplate",
    "build_echo",
    "checksum",
    "parse_reply",
]

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
NONCE_LEN = 8
PAD = b"slabridge-probe!" * 2

#: the whole request: type, code, checksum, identifier, sequence, nonce, index, pad
_PACKET = struct.Struct(f"!BBHHH{NONCE_LEN}sI{len(PAD)}s")
#: what a reply parser needs: type, (code, checksum skipped), identifier, sequence, nonce, index
_REPLY = struct.Struct(f"!B3xHH{NONCE_LEN}sI")
REPLY_MIN_LEN = _REPLY.size


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum of ``data``, as a big-endian 16-bit value ('!H')."""
    if len(data) % 2:
        data += b"\0"
    words = array("H", data)
    if words.itemsize != 2:  # pragma: no cover - every platform we run on has 16-bit 'H'
        raise RuntimeError("array('H') is not 16-bit here")
    if array("H", b"\x01\x00")[0] == 1:  # little-endian host: sum network-order words
        words.byteswap()
    total = sum(words)
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def build_echo(icmp_type: int, ident: int, nonce: bytes, index: int) -> bytes:
    """One echo request, checksum computed over the whole packet (the simple path).

    An ICMPv6 request's checksum stays 0: it covers an IPv6 pseudo-header, and the kernel
    computes it on every raw ICMPv6 and ping socket."""
    seq = index & 0xFFFF
    raw = _PACKET.pack(icmp_type, 0, 0, ident, seq, nonce, index, PAD)
    if icmp_type == ICMP6_ECHO_REQUEST:
        return raw
    return _PACKET.pack(icmp_type, 0, checksum(raw), ident, seq, nonce, index, PAD)


class EchoTemplate:
    """The requests of one sweep: ``template.packet(index)`` is ``build_echo(...)`` for that
    index, at the cost of one struct.pack and a few integer additions (the fast path)."""

    __slots__ = ("base", "icmp_type", "ident", "nonce", "packet")

    def __init__(self, icmp_type: int, ident: int, nonce: bytes) -> None:
        if len(nonce) != NONCE_LEN:
            raise ValueError(f"nonce must be {NONCE_LEN} bytes, got {len(nonce)}")
        self.icmp_type = icmp_type
        self.ident = ident & 0xFFFF
        self.nonce = nonce
        # One's-complement sum of the packet with checksum, sequence and index all zero;
        # each packet adds its own sequence and index words and folds once at the end.
        zero = _PACKET.pack(icmp_type, 0, 0, self.ident, 0, nonce, 0, PAD)
        self.base = (~checksum(zero)) & 0xFFFF
        self.packet: Callable[[int], bytes] = self._maker()

    def _maker(self) -> Callable[[int], bytes]:
        pack = _PACKET.pack
        base, icmp_type, ident, nonce = self.base, self.icmp_type, self.ident, self.nonce
        if icmp_type == ICMP6_ECHO_REQUEST:  # the kernel computes ICMPv6 checksums

            def packet6(index: int) -> bytes:
                return pack(icmp_type, 0, 0, ident, index & 0xFFFF, nonce, index, PAD)

            return packet6

        def packet(index: int) -> bytes:
            seq = index & 0xFFFF
            # sequence word + the index's two words; at most 4 * 0xFFFF, so two folds do
            total = base + seq + (index >> 16) + seq
            total = (total >> 16) + (total & 0xFFFF)
            total = (total >> 16) + (total & 0xFFFF)
            return pack(icmp_type, 0, ~total & 0xFFFF, ident, seq, nonce, index, PAD)

        return packet


def parse_reply(data: bytes, offset: int = 0) -> tuple[int, int, int, bytes, int] | None:
    """(type, identifier, sequence, nonce, index) of an echo reply starting at ``offset``, or
    None when the datagram is too short to be one of ours."""
    if len(data) < offset + REPLY_MIN_LEN:
        return None
    return _REPLY.unpack_from(data, offset)
