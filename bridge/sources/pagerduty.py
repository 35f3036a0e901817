"""PagerDuty Events API v2 events, accepted as an inbound format (many tools can emit it).

One event per request, as PagerDuty's `/v2/enqueue` takes it; a JSON array of events is also
accepted (paths are then `[i].field`) so a sender can batch.

Identity is `"<routing_key>:<dedup_key>"`, not the bare dedup_key: PagerDuty scopes dedup keys
to the routing key and drops follow-ups sent on another one, so two customers that both use
`dedup_key: "host-down"` must never acknowledge or resolve each other's alerts.

A trigger without `dedup_key` gets a *derived* one, `"derived-"` + the first 32 hex digits of
SHA-256 over the JSON array `[routing_key, payload.source, payload.summary]`. PagerDuty itself
would mint a random UUID (every such trigger a new alert), but our senders retry: a stable key
makes a retried trigger a duplicate instead of a second ticket. A sender that wants to resolve
must send an explicit dedup_key anyway, since the derived one is not echoed back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bridge.alert import Alert, AlertStatus, ParseError
from bridge.sources._common import (
    EMPTY_STRING,
    EXPECTED_STRING,
    FIELD_REQUIRED,
    expect_object,
    join,
    one_of,
    opt_str,
    opt_timestamp,
    req_str,
    required,
)

SOURCE = "pagerduty"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
_STATUS = {
    "trigger": AlertStatus.FIRING,
    "acknowledge": AlertStatus.ACKNOWLEDGED,
    "resolve": AlertStatus.RESOLVED,
}


def derive_dedup_key(routing_key: str, source: str, summary: str) -> str:
    """The stable key for a trigger sent without one (see the module docstring)."""
    material = json.dumps([routing_key, source, summary], ensure_ascii=False)
    return "derived-" + hashlib.sha256(material.encode()).hexdigest()[:32]


def _dedup_key(event: Mapping[str, Any], path: str) -> str | None:
    value = event.get("dedup_key")
    if value is None:
        return None
    where = join(path, "dedup_key")
    if not isinstance(value, str):
        raise ParseError(where, EXPECTED_STRING)
    if not value.strip():
        raise ParseError(where, EMPTY_STRING)
    if len(value) > MAX_DEDUP_KEY:
        raise ParseError(where, f"longer than {MAX_DEDUP_KEY} characters")
    return value


def _parse_event(value: object, path: str) -> Alert:
    event = expect_object(value, path)
    routing_key = req_str(event, "routing_key", path)
    action = one_of(event, "event_action", path, ACTIONS)
    dedup_key = _dedup_key(event, path)
    labels = {"routing_key": routing_key}
    annotations: dict[str, str] = {}
    for key in ("client", "client_url"):
        text = opt_str(event, key, path)
        if text:
            annotations[key] = text

    if action != "trigger":
        # Follow-ups carry only routing_key + dedup_key; a payload, if any, is ignored as
        # PagerDuty ignores it.
        if dedup_key is None:
            raise ParseError(join(path, "dedup_key"), FIELD_REQUIRED)
        return Alert(
            source=SOURCE,
            identity=f"{routing_key}:{dedup_key}",
            status=_STATUS[action],
            title=dedup_key,
            labels=labels,
            annotations=annotations,
            raw=dict(event),
        )

    ppath = join(path, "payload")
    body = expect_object(required(event, "payload", path), ppath)
    summary = req_str(body, "summary", ppath)
    if len(summary) > MAX_SUMMARY:
        raise ParseError(join(ppath, "summary"), f"longer than {MAX_SUMMARY} characters")
    source = req_str(body, "source", ppath)
    severity = one_of(body, "severity", ppath, SEVERITIES)
    starts_at = opt_timestamp(body, "timestamp", ppath, compact_offset=True)
    labels["source"] = source
    for key in ("component", "group", "class"):
        text = opt_str(body, key, ppath)
        if text:
            labels[key] = text
    details = body.get("custom_details")
    if details is None:
        description = ""
    elif isinstance(details, str):
        description = details
    else:
        # Any JSON is allowed here; render it once so the ticket shows what the sender saw.
        description = json.dumps(details, sort_keys=True, ensure_ascii=False)
    if dedup_key is None:
        dedup_key = derive_dedup_key(routing_key, source, summary)
    return Alert(
        source=SOURCE,
        identity=f"{routing_key}:{dedup_key}",
        status=AlertStatus.FIRING,
        title=summary,
        severity=severity,
        description=description,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        raw=dict(event),
    )


def parse(payload: object) -> list[Alert]:
    """One Alert per event (an object, or an array of them); ParseError on the first bad field."""
    if isinstance(payload, list):
        return [_parse_event(item, join("", index)) for index, item in enumerate(payload)]
    return [_parse_event(payload, "")]
