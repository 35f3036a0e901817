"""The JSON our own Zabbix webhook media type posts (config/zabbix/slabridge.js, format "1").

Zabbix has no wire format of its own: a media type's JavaScript builds the request from macro
parameters. Ours normalises in the script (integers for enumerations, RFC 3339 UTC times built
from `{EVENT.*TIMESTAMP}` because `{EVENT.DATE}`/`{EVENT.TIME}` are server-local with no
offset, tags as an array) so this parser can be strict. config/zabbix/README.md documents it.

Identity is the *problem* event id: recovery and update operations expand `{EVENT.ID}` to the
original problem's id, so all three messages of one problem share it.
Status: `event_value` 0 → resolved; otherwise `event_update_status` 1 → acknowledged (an
update: acknowledgement, comment, severity change; `update_action` says which); else firing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bridge.alert import Alert, AlertStatus, ParseError
from bridge.sources._common import (
    EXPECTED_STRING,
    FIELD_REQUIRED,
    check_version,
    expect_array,
    expect_object,
    join,
    opt_int,
    opt_str,
    opt_timestamp,
    parse_timestamp,
    req_str,
    required,
)

SOURCE = "zabbix"
VERSION = "1"
# {EVENT.NSEVERITY} 0..5, named as Zabbix names them.
SEVERITIES = ("not_classified", "information", "warning", "average", "high", "disaster")
# 0 = trigger events, 3 = internal events; discovery (1) and autoregistration (2) have no
# problem/recovery pair to track.
EVENT_SOURCES = (0, 3)
_ID = re.compile(r"[0-9]{1,20}\Z")


def _numeric_id(obj: Mapping[str, Any], key: str) -> str | None:
    """Zabbix ids are uint64: strings, because JavaScript numbers lose precision above 2**53."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(key, EXPECTED_STRING)
    if not _ID.match(value):
        raise ParseError(key, "expected a numeric id")
    return value


def _required_id(obj: Mapping[str, Any], key: str) -> str:
    value = _numeric_id(obj, key)
    if value is None:
        raise ParseError(key, FIELD_REQUIRED)
    return value


def _choice(obj: Mapping[str, Any], key: str, allowed: tuple[int, ...], default: int | None) -> int:
    value = opt_int(obj, key, "")
    if value is None:
        if default is None:
            raise ParseError(key, FIELD_REQUIRED)
        return default
    if value not in allowed:
        expected = ", ".join(str(a) for a in allowed)
        raise ParseError(key, f"unsupported {key} {value}, expected one of {expected}")
    return value


def _tags(obj: Mapping[str, Any]) -> dict[str, str]:
    """`{EVENT.TAGSJSON}` entries → labels; a tag repeated with several values keeps them all."""
    value = obj.get("tags")
    if value is None:
        return {}
    labels: dict[str, list[str]] = {}
    for index, item in enumerate(expect_array(value, "tags")):
        path = join("tags", index)
        entry = expect_object(item, path)
        name = req_str(entry, "tag", path)
        text = opt_str(entry, "value", path) or ""
        values = labels.setdefault(name, [])
        if text not in values:
            values.append(text)
    return {name: ",".join(values) for name, values in labels.items()}


def parse(payload: object) -> list[Alert]:
    """Exactly one Alert per message; raises ParseError naming the first bad field."""
    obj = expect_object(payload, "")
    check_version(obj, VERSION)
    event_id = _required_id(obj, "event_id")
    event_value = _choice(obj, "event_value", (0, 1), None)
    update_status = _choice(obj, "event_update_status", (0, 1), 0)
    event_source = _choice(obj, "event_source", EVENT_SOURCES, 0)
    severity = _choice(obj, "severity", tuple(range(len(SEVERITIES))), None)
    # Internal events (not-supported items) have no trigger; trigger events always do.
    trigger_id = (
        _required_id(obj, "trigger_id") if event_source == 0 else _numeric_id(obj, "trigger_id")
    )
    trigger_name = req_str(obj, "trigger_name", "")
    event_name = opt_str(obj, "event_name", "")
    host_name = req_str(obj, "host_name", "")
    host_ip = opt_str(obj, "host_ip", "")
    starts_at = parse_timestamp(required(obj, "event_time", ""), "event_time")
    ends_at = None
    if event_value == 0:
        ends_at = parse_timestamp(required(obj, "recovery_time", ""), "recovery_time")
        _numeric_id(obj, "recovery_event_id")
    update_time = opt_timestamp(obj, "update_time", "")
    ack = obj.get("event_ack")
    if ack is not None and not isinstance(ack, bool):
        raise ParseError("event_ack", "expected true or false")

    labels = _tags(obj)
    # Built-in keys win over same-named tags: routing relies on them meaning one thing.
    labels["host"] = host_name
    if host_ip:
        labels["host_ip"] = host_ip
    if trigger_id:
        labels["trigger_id"] = trigger_id

    annotations: dict[str, str] = {}
    for key in ("event_opdata", "update_action", "update_message", "update_user", "zabbix_url"):
        text = opt_str(obj, key, "")
        if text:
            annotations[key] = text
    if ack is not None:
        annotations["event_ack"] = "yes" if ack else "no"
    if update_time is not None:
        annotations["update_time"] = update_time.isoformat()

    if event_value == 0:
        status = AlertStatus.RESOLVED
    elif update_status == 1:
        status = AlertStatus.ACKNOWLEDGED
    else:
        status = AlertStatus.FIRING
    return [
        Alert(
            source=SOURCE,
            identity=event_id,
            status=status,
            title=event_name.strip() if event_name and event_name.strip() else trigger_name,
            severity=SEVERITIES[severity],
            description=opt_str(obj, "trigger_description", "") or "",
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            ends_at=ends_at,
            raw=dict(obj),
        )
    ]
