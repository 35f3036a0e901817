"""One snmptrap source: an SNMP engine on a loopback (or configured) UDP address.

Every datagram gets exactly one verdict: "accepted" (handed to the intake), or a drop reason
taken from the engine's own RFC 3412/3414 statistics (wrong community, wrong digest, unknown
engine, not BER, ...) or ours ("not-a-notification"; "malformed" when the decoder raised
instead of counting it). The verdict is read around the synchronous dispatch of that one
datagram, so no counter is shared between datagrams.

Alerts are queued and handed to the intake in batches: whatever arrived while the previous
batch was being written is one batch (a storm becomes one write of many repeats).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config as snmp_config
from pysnmp.entity import engine as snmp_engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

from bridge.alert import Alert, ParseError
from bridge.config.models import SourceConfig
from bridge.sources import snmptrap

log = logging.getLogger(__name__)

Sink = Callable[[list[Alert]], Awaitable[object]]

AUTH = {
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "SHA256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "SHA384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "SHA512": snmp_config.USM_AUTH_HMAC384_SHA512,
}
PRIV = {
    "AES": snmp_config.USM_PRIV_CFB128_AES,
    "AES256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES256C": snmp_config.USM_PRIV_CFB256_AES,
}
#: engine statistics (MIB module, symbol) -> drop reason
ENGINE_REASONS = {
    ("__SNMPv2-MIB", "snmpInASNParseErrs"): "not-ber",
    ("__SNMPv2-MIB", "snmpInBadVersions"): "bad-version",
    ("__SNMPv2-MIB", "snmpInBadCommunityNames"): "wrong-community",
    ("__SNMPv2-MIB", "snmpInBadCommunityUses"): "wrong-community",
    ("__SNMP-MPD-MIB", "snmpUnknownSecurityModels"): "unknown-security-model",
    ("__SNMP-MPD-MIB", "snmpInvalidMsgs"): "invalid-message",
    ("__SNMP-MPD-MIB", "snmpUnknownPDUHandlers"): "unexpected-pdu",
    ("__SNMPv2-MIB", "snmpSilentDrops"): "silent-drop",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnsupportedSecLevels"): "unsupported-security-level",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows"): "not-in-time-window",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"): "unknown-user",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"): "unknown-engine",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"): "wrong-digest",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"): "decryption-error",
}
DROP_REASONS = (
    *sorted(set(ENGINE_REASONS.values())),
    "not-a-notification",
    "ignored",
    "malformed",  # the decoder raised instead of counting it (hostile BER)
    "store-failed",
)
_VERSIONS = {0: "v1", 1: "v2c", 3: "v3"}
#: snmpTrapCommunity.0, added to v1 traps by the RFC 3584 translation: a secret, never stored
_COMMUNITY = "1.3.6.1.6.3.18.1.4.0"


class TrapListenError(RuntimeError):
    """A trap source's address cannot be bound (in use, or port 162 without the capability)."""


def mapping_of(source: SourceConfig) -> snmptrap.TrapMapping:
    """The parser's view of a source's configured rules."""
    rules = tuple(
        snmptrap.TrapRule(
            name=r.name,
            match=r.match,
            title=r.title,
            severity=r.severity,
            severity_varbind=r.severity_varbind,
            severity_map=dict(r.severity_map),
            identity=tuple(r.identity),
            clears=r.clears,
        )
        for r in source.traps
    )
    return snmptrap.TrapMapping(rules, source.auth_failure_alerts, source.address_varbind)


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def bind(source: SourceConfig) -> socket.socket:
    """The source's UDP socket, bound; TrapListenError (one line, for the operator) if not."""
    host, port = split_listen(source.listen)
    v6 = ipaddress.ip_address(host).version == 6
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        reason = err.strerror or str(err)
        raise TrapListenError(
            f"snmptrap source '{source.name}' cannot listen on {source.listen}: {reason}"
        ) from err
    return sock


def check_listen(sources: list[SourceConfig]) -> None:
    """Bind and release every source's address: `serve` calls this before it opens the store,
    so a busy trap port fails the start with one line, like a busy HTTP port."""
    for source in sources:
        if source.type == "snmptrap":
            bind(source).close()


def plain(value: Any) -> int | str | None:
    """A varbind value as JSON: numbers as int, addresses and OIDs dotted, text as text."""
    if value.tagSet == rfc1902.IpAddress.tagSet:  # v1's rfc1155 type has the same tag
        return ".".join(str(b) for b in bytes(value))
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        raw = bytes(value)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + raw.hex()
        return text if text.isprintable() else "0x" + raw.hex()
    return None


def build_engine(source: SourceConfig) -> snmp_engine.SnmpEngine:
    """Engine, communities and v3 users; slow (MIB loading, key localisation): run it off-loop."""
    engine_id = None
    if source.engine_id:
        engine_id = v2c.OctetString(hexValue=source.engine_id.removeprefix("0x"))
    eng = snmp_engine.SnmpEngine(snmpEngineID=engine_id)
    for i, community in enumerate(source.communities):
        snmp_config.add_v1_system(eng, f"c{i}", community)
    for user in source.users:
        # informs: our engine is authoritative; traps: the sender's engine id localises the keys
        for sender in [None, *user.engine_ids]:
            extra: dict[str, Any] = {}
            if sender is not None:
                extra["securityEngineId"] = v2c.OctetString(hexValue=sender.removeprefix("0x"))
            snmp_config.add_v3_user(
                eng,
                user.name,
                AUTH[user.auth_protocol],
                user.auth_key,
                PRIV[user.priv_protocol],
                user.priv_key,
                **extra,
            )
    return eng


class _Transport:
    """Mixin: each datagram dispatched inside the receiver's verdict accounting."""

    verdict: Callable[[Any, bytes, Callable[[], object]], None]

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        cb = self._callback_function  # type: ignore[attr-defined]
        self.verdict(address, datagram, lambda: cb(self, address, datagram))


class _Udp(_Transport, udp.UdpAsyncioTransport):
    pass


class _Udp6(_Transport, udp6.Udp6AsyncioTransport):
    pass


class TrapReceiver:
    def __init__(self, source: SourceConfig, sink: Sink) -> None:
        self.source = source
        self.mapping = mapping_of(source)
        self.outcomes: Counter[str] = Counter()
        self.received = 0
        self.address: tuple[str, int] | None = None
        self._sink = sink
        self._engine: snmp_engine.SnmpEngine | None = None
        self._stats: list[tuple[str, Any]] = []
        self._accepted_now: list[Alert] | None = None
        self._from: Any = None
        self._queue: asyncio.Queue[list[Alert]] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._judged = asyncio.Event()

    async def start(self) -> None:
        """Bind (TrapListenError if the address is taken or needs privilege), then receive."""
        loop = asyncio.get_running_loop()
        sock = bind(self.source)
        v6 = sock.family == socket.AF_INET6
        sock.setblocking(False)
        self.address = sock.getsockname()[:2]
        eng = await loop.run_in_executor(None, build_engine, self.source)
        transport = (_Udp6 if v6 else _Udp)(loop=loop)
        transport.verdict = self._dispatch
        domain = udp6.DOMAIN_NAME if v6 else udp.DOMAIN_NAME
        snmp_config.add_transport(eng, domain, transport.open_server_mode(sock=sock))
        builder = eng.get_mib_builder()
        self._stats = [
            (reason, builder.import_symbols(module, name)[0])
            for (module, name), reason in ENGINE_REASONS.items()
        ]
        ntfrcv.NotificationReceiver(eng, self._notification)
        self._engine = eng
        await transport._lport  # the endpoint exists once this returns
        self._consumer = asyncio.create_task(self._consume(), name=f"traps:{self.source.name}")

    async def stop(self) -> None:
        if self._engine is not None:
            self._engine.transport_dispatcher.close_dispatcher()
            self._engine = None
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None

    async def drained(self) -> None:
        """Every alert received so far has been handed to the intake (for tests and shutdown)."""
        while not (self._queue.empty() and self._idle.is_set()):
            await self._queue.join()

    async def judged(self, count: int) -> None:
        """Return once `count` datagrams in all have had their verdict."""
        while self.received < count:
            self._judged.clear()
            await self._judged.wait()

    def _snapshot(self) -> list[int]:
        return [int(obj.syntax) for _, obj in self._stats]

    def _dispatch(self, address: Any, datagram: bytes, dispatch: Callable[[], object]) -> None:
        try:
            self._judge(address, dispatch)
        finally:
            self.received += 1
            self._judged.set()

    def _judge(self, address: Any, dispatch: Callable[[], object]) -> None:
        before = self._snapshot()
        self._accepted_now, self._from = None, address
        try:
            dispatch()
        except Exception as err:  # pysnmp/pyasn1 may raise anything on hostile input
            log.debug("snmptrap %s: datagram from %s: %r", self.source.name, address, err)
            self.outcomes["malformed"] += 1
            return
        alerts, self._accepted_now = self._accepted_now, None
        if alerts is not None:
            self.outcomes["accepted" if alerts else "ignored"] += 1
            if alerts:
                self._queue.put_nowait(alerts)
            return
        after = self._snapshot()
        changed = [r for (r, _), a, b in zip(self._stats, before, after, strict=True) if a != b]
        self.outcomes[changed[0] if changed else "not-a-notification"] += 1

    def _notification(
        self, eng: Any, state: Any, _engine_id: Any, _context: Any, varbinds: Any, _ctx: Any
    ) -> None:
        request = eng.observer.get_execution_context("rfc3412.receiveMessage:request")
        pdu = request["pdu"]
        decoded = {
            "version": _VERSIONS.get(int(request["messageProcessingModel"]), "v2c"),
            "pdu": "inform" if pdu.tagSet == v2c.InformRequestPDU.tagSet else "trap",
            "source": str(self._from[0]) if self._from else "",
            "varbinds": [
                [str(oid), plain(value)] for oid, value in varbinds if str(oid) != _COMMUNITY
            ],
        }
        try:
            self._accepted_now = snmptrap.parse(decoded, self.mapping)
        except ParseError as err:
            log.info("snmptrap %s: %s from %s: %s", self.source.name, "dropped", self._from, err)

    async def _consume(self) -> None:
        while True:
            batch = await self._queue.get()
            self._idle.clear()
            done = 1
            while not self._queue.empty():
                batch.extend(self._queue.get_nowait())
                done += 1
            try:
                await self._sink(batch)
            except Exception:
                log.exception("snmptrap %s: %d alerts not stored", self.source.name, len(batch))
                self.outcomes["store-failed"] += done
            finally:
                self._idle.set()
                for _ in range(done):
                    self._queue.task_done()
