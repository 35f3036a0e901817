"""Free loopback ports. Everything binds to 127.0.0.1, never another address."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_tcp_port(host: str = LOOPBACK) -> int:
    """A TCP port on ``host`` that was free a moment ago (the kernel's pick)."""
    _require_loopback(host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port(host: str = LOOPBACK) -> int:
    """A UDP port on ``host`` that was free a moment ago (the kernel's pick)."""
    _require_loopback(host)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_tcp_udp_port(host: str = LOOPBACK) -> int:
    """A port free for both TCP and UDP on ``host`` (e.g. for snmpd listening on both)."""
    _require_loopback(host)
    for _ in range(50):
        port = free_tcp_port(host)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free for both TCP and UDP on " + host)


def port_is_listening(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    _require_loopback(host)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_loopback(host: str) -> None:
    if not host.startswith("127."):
        raise ValueError(f"tests use loopback only, got {host!r}")
