"""SNMP polling with pysnmp 7's asyncio API: v1/v2c through the light v1arch dispatcher,
v3 (USM authNoPriv/authPriv) through a v3arch SnmpEngine.

One dispatcher (one UDP socket) and one engine serve every device of the process; both are
built once by :meth:`SnmpPoller.create`, the engine in an executor because it loads MIB
modules from disk. Requests carry numeric OIDs and skip MIB look-ups (``lookupMib=False``).
A semaphore bounds the requests in flight.

Teardown (:meth:`SnmpPoller.aclose`, or ``async with``) first stops reading the sockets, then
lets the replies already read reach pysnmp, and only then unregisters the transports: pysnmp
hands a received datagram on with ``loop.call_soon``, and one still queued when its transport
is unregistered (a late duplicate reply to a retried request, typically on a cold agent) raises
``CarrierError: Unregistered transport`` in the event loop's exception handler.

Errors: no answer after ``retries`` -> :class:`SnmpTimeout` (for v2c a wrong community
looks the same: the agent drops the request silently; for v3 a wrong privacy key too);
a v3 report PDU about the user or the digest -> :class:`SnmpAuthError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.error import CarrierError
from pysnmp.hlapi.v1arch import asyncio as v1
from pysnmp.hlapi.v3arch import asyncio as v3
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto.rfc1902 import ObjectName
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from probes.errors import (
    SnmpAuthError,
    SnmpConfigError,
    SnmpError,
    SnmpNoSuchObject,
    SnmpTimeout,
)
from probes.spec import SnmpSettings

__all__ = [
    "OID_IF_DESCR",
    "OID_IF_OPER_STATUS",
    "OID_SYS_UPTIME",
    "SnmpPollResult",
    "SnmpPoller",
]

log = logging.getLogger(__name__)

OID_SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
OID_IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
OID_IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"

_AUTH_PROTOCOLS = {
    "md5": v3.usmHMACMD5AuthProtocol,
    "sha": v3.usmHMACSHAAuthProtocol,
    "sha1": v3.usmHMACSHAAuthProtocol,
    "sha224": v3.usmHMAC128SHA224AuthProtocol,
    "sha256": v3.usmHMAC192SHA256AuthProtocol,
    "sha384": v3.usmHMAC256SHA384AuthProtocol,
    "sha512": v3.usmHMAC384SHA512AuthProtocol,
}
_PRIV_PROTOCOLS = {
    "des": v3.usmDESPrivProtocol,
    "aes": v3.usmAesCfb128Protocol,
    "aes128": v3.usmAesCfb128Protocol,
    "aes192": v3.usmAesCfb192Protocol,
    "aes256": v3.usmAesCfb256Protocol,
}
# Report PDUs (RFC 3414 usmStats*) that mean "your credentials are wrong".
_AUTH_INDICATIONS = (
    errind.WrongDigest,
    errind.UnknownUserName,
    errind.DecryptionError,
    errind.UnsupportedSecurityLevel,
    errind.AuthenticationFailure,
)
_MISSING = (NoSuchObject, NoSuchInstance, EndOfMibView)


@dataclass(frozen=True, slots=True)
class SnmpPollResult:
    """One device's poll. Interfaces are keyed as configured (str of ifIndex, or name)."""

    address: str
    uptime_ticks: int  # sysUpTime.0, hundredths of a second
    interfaces: Mapping[str, int | None]  # ifOperStatus; None: no such interface
    thresholds: Mapping[str, float | None]  # value; None: OID missing or not numeric
    rtt_ms: float


def _to_python(value: Any) -> Any:
    if isinstance(value, _MISSING):
        return None
    if isinstance(
        value,
        (
            rfc1902.Integer32,
            rfc1902.Integer,
            rfc1902.Unsigned32,
            rfc1902.Counter32,
            rfc1902.Counter64,
            rfc1902.Gauge32,
            rfc1902.TimeTicks,
        ),
    ):
        return int(value)
    if isinstance(value, rfc1902.OctetString):
        return value.asOctets().decode("utf-8", "replace")
    if isinstance(value, rfc1902.ObjectIdentifier):
        return str(value)
    return value.prettyPrint() if hasattr(value, "prettyPrint") else value


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class SnmpPoller:
    """Shared SNMP machinery of a process; create with ``await SnmpPoller.create()``."""

    def __init__(
        self, dispatcher: v1.SnmpDispatcher, engine: v3.SnmpEngine, max_concurrency: int
    ) -> None:
        self._dispatcher = dispatcher
        self._engine = engine
        self._sem = asyncio.Semaphore(max_concurrency)
        self._targets: dict[tuple, Any] = {}
        self._auth: dict[SnmpSettings, Any] = {}
        self._if_index: dict[tuple[str, int], dict[str, int]] = {}
        self._last_uptime: dict[tuple[str, int], int] = {}

    @classmethod
    async def create(cls, *, max_concurrency: int = 256) -> SnmpPoller:
        """Build the v1arch dispatcher and, in an executor, the v3 engine and its MIBs."""
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(None, v3.SnmpEngine)
        dispatcher = v1.SnmpDispatcher()
        return cls(dispatcher, engine, max_concurrency)

    async def aclose(self) -> None:
        """Stop reading, deliver what was read, then tear the transports down."""
        for dispatcher in (
            self._dispatcher.transport_dispatcher,
            self._engine.transport_dispatcher,
        ):
            for domain in (udp.DOMAIN_NAME, udp6.DOMAIN_NAME):
                try:
                    carrier = dispatcher.get_transport(domain) if dispatcher else None
                except CarrierError:
                    continue  # this domain was never used
                if carrier is not None and carrier.transport is not None:
                    carrier.transport.close()
        await asyncio.sleep(0)  # the datagrams' call_soon callbacks run while registered
        self._dispatcher.close()
        self._engine.close_dispatcher()

    async def __aenter__(self) -> SnmpPoller:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing --------------------------------------------------------------------------

    def _auth_data(self, settings: SnmpSettings) -> Any:
        auth = self._auth.get(settings)
        if auth is not None:
            return auth
        if settings.version in ("1", "2c"):
            if not settings.community:
                raise SnmpConfigError(f"SNMP v{settings.version} needs a community")
            auth = v1.CommunityData(settings.community, mpModel=0 if settings.version == "1" else 1)
        elif settings.version == "3":
            if not settings.user:
                raise SnmpConfigError("SNMPv3 needs a user")
            auth_proto = _AUTH_PROTOCOLS.get(settings.auth_protocol.lower())
            if auth_proto is None:
                raise SnmpConfigError(
                    f"unknown SNMPv3 auth protocol {settings.auth_protocol!r} "
                    f"(use one of {', '.join(sorted(_AUTH_PROTOCOLS))})"
                )
            priv_proto = v3.usmNoPrivProtocol
            if settings.priv_protocol:
                priv_proto = _PRIV_PROTOCOLS.get(settings.priv_protocol.lower())
                if priv_proto is None:
                    raise SnmpConfigError(
                        f"unknown SNMPv3 privacy protocol {settings.priv_protocol!r} "
                        f"(use one of {', '.join(sorted(_PRIV_PROTOCOLS))})"
                    )
            if not settings.auth_key or (settings.priv_protocol and not settings.priv_key):
                raise SnmpConfigError(f"SNMPv3 user {settings.user!r} needs its keys")
            auth = v3.UsmUserData(
                settings.user,
                authKey=settings.auth_key,
                privKey=settings.priv_key if settings.priv_protocol else None,
                authProtocol=auth_proto,
                privProtocol=priv_proto,
            )
        else:
            raise SnmpConfigError(f"unknown SNMP version {settings.version!r}")
        self._auth[settings] = auth
        return auth

    async def _target(self, address: str, settings: SnmpSettings) -> Any:
        v6 = ":" in address
        arch = v1 if settings.version in ("1", "2c") else v3
        key = (arch.__name__, address, settings.port, settings.timeout, settings.retries)
        target = self._targets.get(key)
        if target is None:
            cls = arch.Udp6TransportTarget if v6 else arch.UdpTransportTarget
            try:
                target = await cls.create(
                    (address, settings.port), timeout=settings.timeout, retries=settings.retries
                )
            except Exception as err:
                raise SnmpError(f"{address}: bad SNMP target: {err}", host=address) from err
            self._targets[key] = target
        return target

    def _raise_for(
        self,
        address: str,
        settings: SnmpSettings,
        indication: Any,
        status: Any,
        index: Any,
        var_binds: Sequence[Any],
        oids: Sequence[str],
    ) -> None:
        where = f"{address}:{settings.port}"
        if indication:
            if isinstance(indication, errind.RequestTimedOut):
                tries = settings.retries + 1
                hint = (
                    "host down, agent not running, or wrong community"
                    if settings.version != "3"
                    else "host down, agent not running, or wrong privacy key"
                )
                raise SnmpTimeout(
                    f"{where}: no SNMP response after {tries} tries of {settings.timeout:g}s "
                    f"({hint})",
                    host=address,
                )
            if isinstance(indication, _AUTH_INDICATIONS):
                raise SnmpAuthError(
                    f"{where}: SNMPv3 credentials rejected for user {settings.user!r}: "
                    f"{indication}",
                    host=address,
                )
            raise SnmpError(f"{where}: SNMP error: {indication}", host=address)
        if status:
            pos = int(index) - 1 if index else -1
            oid = oids[pos] if 0 <= pos < len(oids) else "?"
            raise SnmpError(
                f"{where}: agent answered {status.prettyPrint()} for {oid}", host=address
            )

    # -- requests --------------------------------------------------------------------------

    async def get(
        self, address: str, settings: SnmpSettings, oids: Sequence[str]
    ) -> dict[str, Any]:
        """GET numeric OIDs; returns {oid: python value, None when the agent has none}."""
        auth = self._auth_data(settings)
        target = await self._target(address, settings)
        var_binds = [(ObjectName(oid), rfc1905.unSpecified) for oid in oids]
        async with self._sem:
            try:
                if settings.version == "3":
                    res = await v3.get_cmd(
                        self._engine,
                        auth,
                        target,
                        v3.ContextData(),
                        *var_binds,
                        lookupMib=False,
                    )
                else:
                    res = await v1.get_cmd(
                        self._dispatcher, auth, target, *var_binds, lookupMib=False
                    )
            except Exception as err:
                raise SnmpError(
                    f"{address}:{settings.port}: SNMP GET {', '.join(oids)} failed: {err}",
                    host=address,
                ) from err
        indication, status, index, out = res
        self._raise_for(address, settings, indication, status, index, out, oids)
        return {str(name): _to_python(value) for name, value in out}

    async def walk(
        self, address: str, settings: SnmpSettings, oid: str, *, max_rows: int = 10_000
    ) -> dict[str, Any]:
        """GETNEXT through one subtree; returns {oid: value} in agent order."""
        prefix = tuple(int(x) for x in oid.strip(".").split("."))
        auth = self._auth_data(settings)
        target = await self._target(address, settings)
        rows: dict[str, Any] = {}
        current = oid
        while len(rows) < max_rows:
            var_bind = (ObjectName(current), rfc1905.unSpecified)
            async with self._sem:
                try:
                    if settings.version == "3":
                        res = await v3.next_cmd(
                            self._engine,
                            auth,
                            target,
                            v3.ContextData(),
                            var_bind,
                            lookupMib=False,
                        )
                    else:
                        res = await v1.next_cmd(
                            self._dispatcher, auth, target, var_bind, lookupMib=False
                        )
                except Exception as err:
                    raise SnmpError(
                        f"{address}:{settings.port}: SNMP walk of {oid} failed: {err}",
                        host=address,
                    ) from err
            indication, status, index, out = res
            if status and status.prettyPrint() == "noSuchName":  # v1 end of MIB
                break
            self._raise_for(address, settings, indication, status, index, out, [current])
            if not out:
                break
            name, value = out[0]
            if isinstance(value, _MISSING) or tuple(name)[: len(prefix)] != prefix:
                break
            if str(name) == current:
                break  # agent does not advance: stop rather than loop
            current = str(name)
            rows[current] = _to_python(value)
        return rows

    async def interface_indexes(
        self, address: str, settings: SnmpSettings, *, refresh: bool = False
    ) -> dict[str, int]:
        """ifDescr -> ifIndex, walked once per device and cached (refreshed after reboot)."""
        key = (address, settings.port)
        if not refresh and key in self._if_index:
            return self._if_index[key]
        rows = await self.walk(address, settings, OID_IF_DESCR)
        mapping = {str(v): int(k.rsplit(".", 1)[1]) for k, v in rows.items()}
        self._if_index[key] = mapping
        return mapping

    async def poll(self, address: str, settings: SnmpSettings) -> SnmpPollResult:
        """sysUpTime, configured interfaces' ifOperStatus and threshold OIDs in one GET."""
        key = (address, settings.port)
        names: dict[str, int] = {}
        by_name = [i for i in settings.interfaces if isinstance(i, str) and not i.isdigit()]
        if by_name:
            mapping = await self.interface_indexes(address, settings)
            if any(n not in mapping for n in by_name):
                mapping = await self.interface_indexes(address, settings, refresh=True)
            names = {n: mapping[n] for n in by_name if n in mapping}
        if_oids: dict[str, str | None] = {}
        for iface in settings.interfaces:
            label = str(iface)
            idx = int(iface) if isinstance(iface, int) or iface.isdigit() else names.get(iface)
            if_oids[label] = f"{OID_IF_OPER_STATUS}.{idx}" if idx is not None else None
        th_oids = {t.name: t.oid.strip(".") for t in settings.thresholds}
        oids = [OID_SYS_UPTIME, *(o for o in if_oids.values() if o), *th_oids.values()]
        oids = list(dict.fromkeys(oids))
        started = time.perf_counter()
        values = await self.get(address, settings, oids)
        rtt_ms = (time.perf_counter() - started) * 1000
        uptime = values.get(OID_SYS_UPTIME)
        if uptime is None:
            raise SnmpNoSuchObject(
                f"{address}:{settings.port}: no sysUpTime ({OID_SYS_UPTIME})", host=address
            )
        previous = self._last_uptime.get(key)
        self._last_uptime[key] = uptime
        if by_name and previous is not None and uptime < previous:
            self._if_index.pop(key, None)  # rebooted: ifIndex numbering may have changed
        interfaces = {label: (values.get(oid) if oid else None) for label, oid in if_oids.items()}
        thresholds = {name: _as_float(values.get(oid)) for name, oid in th_oids.items()}
        return SnmpPollResult(
            address=address,
            uptime_ticks=int(uptime),
            interfaces=MappingProxyType(interfaces),
            thresholds=MappingProxyType(thresholds),
            rtt_ms=rtt_ms,
        )
