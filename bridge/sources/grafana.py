"""Grafana unified-alerting webhook contact point (payload `version: "1"`).

The body is Alertmanager's template data plus Grafana extras (grafana/alerting
`templates/template_data.go`, `ExtendedAlert`), so per-alert handling is shared with the
Alertmanager adapter. Grafana 12's custom payload templates can replace the body entirely;
such bodies fail the version/shape checks with a path instead of being half-understood.

`valueString` (the evaluated query values as text) goes into annotations so it reaches the
ticket; the numeric `values` map stays in `raw` (it is validated, numbers only).
"""

from __future__ import annotations

from bridge.alert import Alert, ParseError
from bridge.sources._common import (
    EXPECTED_NUMBER,
    check_version,
    expect_array,
    expect_object,
    join,
    opt_str,
    parse_am_alert,
    required,
    truncated_count,
)

SOURCE = "grafana"
VERSION = "1"


def parse(payload: object) -> list[Alert]:
    """One Alert per `alerts[]` entry; raises ParseError naming the first bad field."""
    obj = expect_object(payload, "")
    check_version(obj, VERSION)
    truncated_count(obj)
    items = expect_array(required(obj, "alerts", ""), "alerts")
    alerts: list[Alert] = []
    for index, item in enumerate(items):
        path = join("alerts", index)
        kwargs, raw = parse_am_alert(item, path, SOURCE)
        values = raw.get("values")
        if values is not None:
            where = join(path, "values")
            for name, number in expect_object(values, where).items():
                if isinstance(number, bool) or not isinstance(number, int | float):
                    raise ParseError(join(where, str(name)), EXPECTED_NUMBER)
        value_string = opt_str(raw, "valueString", path)
        annotations = dict(kwargs["annotations"])
        if value_string:
            annotations.setdefault("valueString", value_string)
        kwargs["annotations"] = annotations
        alerts.append(Alert(raw=raw, **kwargs))
    return alerts
