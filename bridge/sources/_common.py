"""Small validation helpers shared by the webhook adapters.

Hand-written rather than pydantic models because every failure must become a `ParseError`
carrying the JSON path of the *first* bad field and a short message that tests assert word for
word; mapping pydantic's error list onto that is more code than these checks, and a leaked
`ValidationError` (or `KeyError` on a missing key) is exactly the alerta bug we avoid.

Conventions: JSON `null` counts as absent for optional fields; a required field that is absent
or null is "field required"; messages never embed more than a short repr of the bad value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bridge.alert import AlertStatus, ParseError

FIELD_REQUIRED = "field required"
EXPECTED_OBJECT = "expected an object"
EXPECTED_ARRAY = "expected an array"
EXPECTED_STRING = "expected a string"
EXPECTED_NUMBER = "expected a number"
EXPECTED_INTEGER = "expected an integer"
EMPTY_STRING = "must not be empty"
BAD_TIMESTAMP = "not an RFC 3339 timestamp"

# RFC 3339 section 5.6 date-time; the offset is mandatory, so naive times never get in.
# `compact_offset` additionally admits "+0000" (ISO 8601 basic), which PagerDuty's own docs use.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,  # \d must not match other scripts' digits
)
_RFC3339_COMPACT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})\Z",
    re.ASCII,
)
# Go's zero time.Time: Alertmanager and Grafana send it as endsAt of every firing alert.
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def join(path: str, key: str | int) -> str:
    """Build `alerts[2].fingerprint`-style paths; the root path is the empty string."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def short(value: object) -> str:
    """A bounded repr for error messages: senders can post megabytes in one field."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def expect_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(path, EXPECTED_OBJECT)
    return value


def expect_array(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(path, EXPECTED_ARRAY)
    return value


def required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise ParseError(join(path, key), FIELD_REQUIRED)
    return value


def req_str(obj: Mapping[str, Any], key: str, path: str, *, allow_empty: bool = False) -> str:
    value = required(obj, key, path)
    if not isinstance(value, str):
        raise ParseError(join(path, key), EXPECTED_STRING)
    if not allow_empty and not value.strip():
        raise ParseError(join(path, key), EMPTY_STRING)
    return value


def opt_str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(join(path, key), EXPECTED_STRING)
    return value


def opt_int(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    # bool is an int subclass in Python; JSON true is not a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(join(path, key), EXPECTED_INTEGER)
    return value


def str_map(obj: Mapping[str, Any], key: str, path: str, *, needed: bool = False) -> dict[str, str]:
    """A JSON object of strings (labels, annotations); absent means empty unless `needed`."""
    value = required(obj, key, path) if needed else obj.get(key)
    if value is None:
        return {}
    where = join(path, key)
    mapping = expect_object(value, where)
    out: dict[str, str] = {}
    for name, item in mapping.items():
        if not isinstance(item, str):
            raise ParseError(join(where, str(name)), EXPECTED_STRING)
        out[str(name)] = item
    return out


def parse_timestamp(value: object, path: str, *, compact_offset: bool = False) -> datetime:
    """RFC 3339 with a mandatory offset, normalised to UTC.

    Python's `fromisoformat` alone would also take naive times, week dates and basic format,
    so the shape is checked first. Go emits up to nine fractional digits; Python keeps six,
    so the rest is truncated (sub-microsecond precision is meaningless for SLA clocks).
    """
    if not isinstance(value, str):
        raise ParseError(path, BAD_TIMESTAMP)
    match = (_RFC3339_COMPACT if compact_offset else _RFC3339).match(value)
    if match is None:
        raise ParseError(path, BAD_TIMESTAMP)
    date, time, fraction, offset = match.groups()
    if offset in ("Z", "z"):
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    text = f"{date}T{time}{'.' + (fraction[:6].ljust(6, '0')) if fraction else ''}{offset}"
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        # Month 13, second 61, offset +25:00, or a date that leaves datetime's range in UTC.
        raise ParseError(path, BAD_TIMESTAMP) from None


def opt_timestamp(
    obj: Mapping[str, Any], key: str, path: str, *, compact_offset: bool = False
) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    return parse_timestamp(value, join(path, key), compact_offset=compact_offset)


def one_of(obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str:
    """A required enumerated string, with the allowed values spelled out in the message."""
    value = req_str(obj, key, path, allow_empty=True)
    if value not in allowed:
        quoted = [f"'{a}'" for a in allowed]
        expected = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise ParseError(join(path, key), f"unsupported {key} {short(value)}, expected {expected}")
    return value


def check_version(obj: Mapping[str, Any], expected: str) -> None:
    """Refuse other payload versions loudly: a silent best-effort parse hides format drift."""
    value = required(obj, "version", "")
    if not isinstance(value, str):
        raise ParseError("version", EXPECTED_STRING)
    if value != expected:
        raise ParseError("version", f"unsupported version {short(value)}, expected '{expected}'")


def parse_am_alert(alert: object, path: str, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields common to Alertmanager v4 and Grafana v1 alerts (Grafana reuses AM's template data).

    Returns the keyword arguments for `Alert` plus the validated alert object (its raw slice).
    A resolved alert must carry a real `endsAt`; a firing one's `endsAt` is Go's zero time, or a
    predicted end that Alertmanager keeps to itself, so it never becomes `ends_at`.
    """
    obj = expect_object(alert, path)
    status_text = one_of(obj, "status", path, ("firing", "resolved"))
    labels = str_map(obj, "labels", path, needed=True)
    annotations = str_map(obj, "annotations", path)
    starts_at = parse_timestamp(required(obj, "startsAt", path), join(path, "startsAt"))
    ends_at = opt_timestamp(obj, "endsAt", path)
    if ends_at == GO_ZERO_TIME:
        ends_at = None
    fingerprint = req_str(obj, "fingerprint", path)
    if status_text == "resolved":
        if ends_at is None:
            raise ParseError(join(path, "endsAt"), "resolved alert without an end time")
        status = AlertStatus.RESOLVED
    else:
        status = AlertStatus.FIRING
        ends_at = None
    title = annotations.get("summary") or labels.get("alertname") or f"alert {fingerprint}"
    kwargs: dict[str, Any] = {
        "source": source,
        "identity": fingerprint,
        "status": status,
        "title": title,
        "severity": labels.get("severity") or None,
        "description": annotations.get("description", ""),
        "labels": labels,
        "annotations": annotations,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    return kwargs, dict(obj)


def truncated_count(payload: object) -> int:
    """Alerts the sender left out (Alertmanager `max_alerts`, Grafana `maxAlerts`): 0 when the
    key is absent; ParseError when the payload is not an object or the count is negative."""
    obj = expect_object(payload, "")
    count = opt_int(obj, "truncatedAlerts", "")
    if count is None:
        return 0
    if count < 0:
        raise ParseError("truncatedAlerts", "must not be negative")
    return count
