"""Errors raised by the probes package.

Every error names the host (and the OID where one is involved) in its message and is
raised ``from`` the library error that caused it, so the cause survives in ``__cause__``.
"""

from __future__ import annotations


class ProbeError(Exception):
    """Base class of every error the probes package raises."""

    def __init__(self, message: str, *, host: str | None = None) -> None:
        super().__init__(message)
        self.host = host


class IcmpError(ProbeError):
    """An ICMP sweep could not be carried out."""


class IcmpPermissionError(IcmpError):
    """Neither a raw socket (CAP_NET_RAW) nor an unprivileged ping socket is usable."""


class IcmpAddressError(IcmpError):
    """A target is not an IP address literal (the sweep does no DNS look-ups)."""


class SnmpError(ProbeError):
    """An SNMP request failed."""


class SnmpTimeout(SnmpError):
    """The agent did not answer within timeout x (retries + 1): unreachable, or wrong community."""


class SnmpAuthError(SnmpError):
    """The agent rejected the SNMPv3 credentials (unknown user, wrong digest, decryption error)."""


class SnmpNoSuchObject(SnmpError):
    """The agent answered, but has no value for the requested OID."""


class SnmpConfigError(SnmpError):
    """The SNMP settings of a device cannot be used (unknown protocol name, missing key, ...)."""
