"""SNMP notifications (v1, v2c, v3 traps and informs) as alerts; pure, no I/O.

The receiver (`bridge.traps`) decodes a datagram into a plain JSON document, a *decoded trap*:

    {"version": "v2c", "pdu": "trap" | "inform", "source": "127.0.0.1",
     "varbinds": [["1.3.6.1.2.1.1.3.0", 123456], ["1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1..."], ...]}

v1 traps arrive already translated to the v2 form (RFC 3584: sysUpTime.0, snmpTrapOID.0 and
snmpTrapAddress.0 holding the v1 agent-addr), so one parser serves every version. The sender is
the device: the `host_ip` label is a configured varbind, else the v1 agent-addr, else the
datagram's source address, and the source's routing rules route on it like any other alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.alert import Alert, AlertStatus, ParseError

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
COLD_START, WARM_START = "1.3.6.1.6.3.1.1.5.1", "1.3.6.1.6.3.1.1.5.2"
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
AUTH_FAILURE = "1.3.6.1.6.3.1.1.5.5"
IF_INDEX, IF_DESCR, IF_NAME = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.31.1.1.1.1"

#: Readable names without MIB files (Debian ships none): SNMPv2-MIB, IF-MIB and Net-SNMP's own.
OID_NAMES: Mapping[str, str] = {
    "1.3.6.1.2.1.1.1": "sysDescr",
    "1.3.6.1.2.1.1.2": "sysObjectID",
    "1.3.6.1.2.1.1.3": "sysUpTime",
    "1.3.6.1.2.1.1.4": "sysContact",
    "1.3.6.1.2.1.1.5": "sysName",
    "1.3.6.1.2.1.1.6": "sysLocation",
    "1.3.6.1.6.3.1.1.4.1": "snmpTrapOID",
    "1.3.6.1.6.3.1.1.4.3": "snmpTrapEnterprise",
    "1.3.6.1.6.3.18.1.3": "snmpTrapAddress",
    "1.3.6.1.6.3.18.1.4": "snmpTrapCommunity",
    COLD_START: "coldStart",
    WARM_START: "warmStart",
    LINK_DOWN: "linkDown",
    LINK_UP: "linkUp",
    AUTH_FAILURE: "authenticationFailure",
    "1.3.6.1.6.3.1.1.5.6": "egpNeighborLoss",
    IF_INDEX: "ifIndex",
    IF_DESCR: "ifDescr",
    "1.3.6.1.2.1.2.2.1.3": "ifType",
    "1.3.6.1.2.1.2.2.1.7": "ifAdminStatus",
    "1.3.6.1.2.1.2.2.1.8": "ifOperStatus",
    IF_NAME: "ifName",
    "1.3.6.1.2.1.31.1.1.1.18": "ifAlias",
    "1.3.6.1.4.1.8072.4.0.1": "nsNotifyStart",
    "1.3.6.1.4.1.8072.4.0.2": "nsNotifyShutdown",
    "1.3.6.1.4.1.8072.4.0.3": "nsNotifyRestart",
}
_MAX_VARBINDS = 200


@dataclass(frozen=True, slots=True)
class TrapRule:
    """An enterprise trap by configuration: `match` opens, `clears` resolves the same identity.

    OIDs are dotted without a leading dot; `identity` lists varbind OID prefixes whose values
    tell one alarm from another (e.g. a table column: the row's value is the instance).
    """

    name: str
    match: str
    title: str
    severity: str | None = None
    severity_varbind: str | None = None
    severity_map: Mapping[str, str] = field(default_factory=dict)
    identity: tuple[str, ...] = ()
    clears: str | None = None


@dataclass(frozen=True, slots=True)
class TrapMapping:
    rules: tuple[TrapRule, ...] = ()
    auth_failure_alerts: bool = True
    address_varbind: str | None = None


DEFAULT_MAPPING = TrapMapping()


def oid_name(oid: str) -> str:
    """`ifOperStatus.2` for 1.3.6.1.2.1.2.2.1.8.2; the dotted OID when nothing is known."""
    parts = oid.split(".")
    for cut in range(len(parts), 1, -1):
        name = OID_NAMES.get(".".join(parts[:cut]))
        if name is not None:
            rest = parts[cut:]
            return name + ("." + ".".join(rest) if rest else "")
    return oid


def _under(oid: str, prefix: str) -> bool:
    return oid == prefix or oid.startswith(prefix + ".")


def _text(value: object) -> str:
    return str(value)


@dataclass(frozen=True, slots=True)
class _Trap:
    version: str
    pdu: str
    source: str
    trap_oid: str
    varbinds: tuple[tuple[str, Any], ...]

    def first(self, prefix: str) -> tuple[str, Any] | None:
        return next(((o, v) for o, v in self.varbinds if _under(o, prefix)), None)

    def value(self, prefix: str) -> Any:
        found = self.first(prefix)
        return None if found is None else found[1]


def _oid(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise ParseError(path, "expected a dotted OID string")
    oid = value.strip().lstrip(".")
    parts = oid.split(".")
    if len(parts) < 2 or not all(p.isdigit() and len(p) < 11 for p in parts):
        raise ParseError(path, f"'{value[:40]}' is not a dotted OID")
    return oid


def _decode(payload: object) -> _Trap:
    if not isinstance(payload, dict):
        raise ParseError("", "expected a decoded SNMP notification (a JSON object)")
    version = payload.get("version")
    if version not in ("v1", "v2c", "v3"):
        raise ParseError("version", "expected v1, v2c or v3")
    pdu = payload.get("pdu", "trap")
    if pdu not in ("trap", "inform"):
        raise ParseError("pdu", "expected trap or inform")
    source = payload.get("source")
    if not isinstance(source, str) or not source:
        raise ParseError("source", "expected the sender's address")
    raw = payload.get("varbinds")
    if not isinstance(raw, list):
        raise ParseError("varbinds", "expected a list of [oid, value] pairs")
    if len(raw) > _MAX_VARBINDS:
        raise ParseError("varbinds", f"more than {_MAX_VARBINDS} varbinds")
    varbinds: list[tuple[str, Any]] = []
    for i, item in enumerate(raw):
        if not (isinstance(item, list) and len(item) == 2):
            raise ParseError(f"varbinds[{i}]", "expected an [oid, value] pair")
        value = item[1]
        if isinstance(value, bool) or not isinstance(value, int | str | None):
            raise ParseError(f"varbinds[{i}][1]", "expected an integer, a string or null")
        varbinds.append((_oid(item[0], f"varbinds[{i}][0]"), value))
    trap_oid = next((v for o, v in varbinds if o == SNMP_TRAP_OID), None)
    if trap_oid is None:
        raise ParseError("varbinds", "no snmpTrapOID.0 varbind")
    where = f"varbinds[{[o for o, _ in varbinds].index(SNMP_TRAP_OID)}][1]"
    return _Trap(version, pdu, source, _oid(trap_oid, where), tuple(varbinds))


def _device(trap: _Trap, mapping: TrapMapping) -> str:
    if mapping.address_varbind:
        configured = trap.value(mapping.address_varbind)
        if configured not in (None, ""):
            return str(configured)
    agent = trap.value(SNMP_TRAP_ADDRESS)
    if isinstance(agent, str) and agent and agent != "0.0.0.0":
        return agent
    return trap.source


def _described(trap: _Trap) -> str:
    return "\n".join(f"{oid_name(o)} = {_text(v)}" for o, v in trap.varbinds)


def _interface(trap: _Trap) -> tuple[str, str]:
    """(ifIndex, readable name): the index from ifIndex or any IF-MIB column's instance."""
    index = trap.value(IF_INDEX)
    if index is None:
        for o, _ in trap.varbinds:
            if _under(o, "1.3.6.1.2.1.2.2.1") or _under(o, "1.3.6.1.2.1.31.1.1.1"):
                index = o.rsplit(".", 1)[1]
                break
    index_text = "" if index is None else str(index)
    name = trap.value(IF_NAME) or trap.value(IF_DESCR)
    readable = str(name) if name not in (None, "") else f"ifIndex {index_text or '?'}"
    if name not in (None, "") and index_text:
        readable = f"{name} (ifIndex {index_text})"
    return index_text, readable


def _alert(
    trap: _Trap,
    device: str,
    identity: str,
    status: AlertStatus,
    title: str,
    severity: str | None,
    extra: Mapping[str, str] | None = None,
) -> Alert:
    labels = {
        "host_ip": device,
        "source_address": trap.source,
        "trap_oid": trap.trap_oid,
        "trap_name": oid_name(trap.trap_oid),
        "snmp_version": trap.version,
        **(extra or {}),
    }
    raw = {
        "version": trap.version,
        "pdu": trap.pdu,
        "source": trap.source,
        "varbinds": [[o, v] for o, v in trap.varbinds],
    }
    return Alert(
        source="snmptrap",
        identity=identity,
        status=status,
        title=title,
        severity=severity,
        description=_described(trap),
        labels=labels,
        raw=raw,
    )


def _by_rule(trap: _Trap, device: str, rule: TrapRule, status: AlertStatus) -> Alert:
    parts = [str(trap.value(p)) for p in rule.identity if trap.value(p) is not None]
    identity = ":".join(["rule", rule.name, device, *parts])
    severity = rule.severity
    if rule.severity_varbind is not None:
        carried = trap.value(rule.severity_varbind)
        if carried is not None:
            severity = rule.severity_map.get(str(carried), str(carried))
    title = rule.title if status is AlertStatus.FIRING else f"{rule.title} (cleared)"
    return _alert(trap, device, identity, status, title, severity, {"rule": rule.name})


def parse(payload: object, mapping: TrapMapping = DEFAULT_MAPPING) -> list[Alert]:
    """The alerts one decoded notification means; an ignored one (switched off) gives []."""
    trap = _decode(payload)
    device = _device(trap, mapping)
    oid = trap.trap_oid
    for rule in mapping.rules:
        if _under(oid, rule.match):
            return [_by_rule(trap, device, rule, AlertStatus.FIRING)]
        if rule.clears is not None and _under(oid, rule.clears):
            return [_by_rule(trap, device, rule, AlertStatus.RESOLVED)]
    if oid in (LINK_DOWN, LINK_UP):
        index, readable = _interface(trap)
        status = AlertStatus.FIRING if oid == LINK_DOWN else AlertStatus.RESOLVED
        word = "down" if oid == LINK_DOWN else "up"
        extra = {"if_index": index, "interface": readable}
        return [
            _alert(
                trap,
                device,
                f"link:{device}:{index or '?'}",
                status,
                f"Link {word}: {readable} on {device}",
                "major",
                extra,
            )
        ]
    if oid in (COLD_START, WARM_START):
        kind = oid_name(oid)
        title = f"Device restarted ({kind}): {device}"
        identity = f"reboot:{device}"
        return [
            _alert(trap, device, identity, AlertStatus.FIRING, title, "warning"),
            _alert(trap, device, identity, AlertStatus.RESOLVED, title, "warning"),
        ]
    if oid == AUTH_FAILURE:
        if not mapping.auth_failure_alerts:
            return []
        title = f"SNMP authentication failure reported by {device}"
        return [_alert(trap, device, f"authfail:{device}", AlertStatus.FIRING, title, "warning")]
    title = f"SNMP trap {oid_name(oid)} from {device}"
    return [_alert(trap, device, f"trap:{device}:{oid}", AlertStatus.FIRING, title, "warning")]


def refuse_webhook(payload: object) -> list[Alert]:
    """The registry's parser: a trap source has no HTTP credentials, so nothing is taken by POST."""
    raise ParseError("", "an snmptrap source receives SNMP notifications over UDP, not webhooks")


__all__ = [
    "DEFAULT_MAPPING",
    "OID_NAMES",
    "TrapMapping",
    "TrapRule",
    "oid_name",
    "parse",
    "refuse_webhook",
]
