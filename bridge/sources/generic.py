"""slabridge's own generic alert JSON (documented in docs/generic-alerts.md).

For senders with no format of their own (scripts, cron jobs, small tools). Because we own the
schema it is strict: unknown keys are errors, so a typo such as `"stauts": "resolved"` is a 400
the sender sees, not a ticket that silently never closes.

Body: one alert object, or `{"alerts": [ ... ]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.alert import Alert, AlertStatus, ParseError
from bridge.sources._common import (
    EMPTY_STRING,
    FIELD_REQUIRED,
    expect_array,
    expect_object,
    join,
    one_of,
    opt_str,
    opt_timestamp,
    req_str,
    str_map,
)

SOURCE = "generic"
FIELDS = frozenset(
    {
        "id",
        "identity",
        "status",
        "title",
        "severity",
        "description",
        "labels",
        "annotations",
        "starts_at",
        "ends_at",
    }
)
MAX_IDENTITY = 255


def _identity(obj: Mapping[str, Any], path: str) -> str:
    """`identity`, or its short alias `id`; integers are accepted and turned into strings."""
    if obj.get("id") is not None and obj.get("identity") is not None:
        raise ParseError(join(path, "id"), "give either id or identity, not both")
    key = "identity" if obj.get("identity") is not None else "id"
    value = obj.get(key)
    where = join(path, key)
    if value is None:
        raise ParseError(join(path, "identity"), FIELD_REQUIRED)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ParseError(where, "expected a string or an integer")
    if not value.strip():
        raise ParseError(where, EMPTY_STRING)
    if len(value) > MAX_IDENTITY:
        raise ParseError(where, f"longer than {MAX_IDENTITY} characters")
    return value


def _parse_alert(value: object, path: str) -> Alert:
    obj = expect_object(value, path)
    for key in obj:
        if key not in FIELDS:
            raise ParseError(join(path, str(key)), "unknown field")
    identity = _identity(obj, path)
    status_text = (
        "firing"
        if obj.get("status") is None
        else one_of(obj, "status", path, ("firing", "resolved"))
    )
    title = req_str(obj, "title", path)
    severity = opt_str(obj, "severity", path)
    description = opt_str(obj, "description", path) or ""
    labels = str_map(obj, "labels", path)
    annotations = str_map(obj, "annotations", path)
    starts_at = opt_timestamp(obj, "starts_at", path)
    ends_at = opt_timestamp(obj, "ends_at", path)
    if starts_at and ends_at and ends_at < starts_at:
        raise ParseError(join(path, "ends_at"), "before starts_at")
    status = AlertStatus.RESOLVED if status_text == "resolved" else AlertStatus.FIRING
    return Alert(
        source=SOURCE,
        identity=identity,
        status=status,
        title=title,
        severity=severity or None,
        description=description,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        # An end time on a firing alert is a forecast, not a resolution.
        ends_at=ends_at if status is AlertStatus.RESOLVED else None,
        raw=dict(obj),
    )


def parse(payload: object) -> list[Alert]:
    """Alerts from one object or an `{"alerts": [...]}` batch; ParseError on the first bad field."""
    obj = expect_object(payload, "")
    if "alerts" not in obj:
        return [_parse_alert(obj, "")]
    for key in obj:
        if key != "alerts":
            raise ParseError(str(key), "unknown field")
    items = expect_array(obj["alerts"], "alerts")
    return [_parse_alert(item, join("alerts", index)) for index, item in enumerate(items)]
