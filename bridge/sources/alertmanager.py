"""Prometheus Alertmanager webhook notifications (payload `version: "4"`).

A notification is a *group*; each `alerts[]` entry becomes one `Alert` keyed by its
`fingerprint` (a hash of the label set, stable across fire/resolve/re-fire). The top-level
`status` is ignored on purpose: a "firing" notification carries alerts resolved since the last
one (captured in shared/payloads/alertmanager/prom-grouped-partial-resolve.json).

Alertmanager drops a resolved alert from the group once delivered, and `max_alerts` cuts the
list (`truncatedAlerts` counts the rest): an alert missing from a notification says nothing
about its state, so nothing here or downstream may infer resolution from absence.
"""

from __future__ import annotations

from bridge.alert import Alert
from bridge.sources._common import (
    check_version,
    expect_array,
    expect_object,
    join,
    parse_am_alert,
    required,
    truncated_count,
)

SOURCE = "alertmanager"
VERSION = "4"


def parse(payload: object) -> list[Alert]:
    """One Alert per `alerts[]` entry; raises ParseError naming the first bad field."""
    obj = expect_object(payload, "")
    check_version(obj, VERSION)
    truncated_count(obj)
    items = expect_array(required(obj, "alerts", ""), "alerts")
    alerts: list[Alert] = []
    for index, item in enumerate(items):
        kwargs, raw = parse_am_alert(item, join("alerts", index), SOURCE)
        alerts.append(Alert(raw=raw, **kwargs))
    return alerts
