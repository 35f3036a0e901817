"""bridge.sources.grafana against recorded-style Grafana unified-alerting notifications."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bridge.alert import AlertStatus, ParseError
from bridge.sources import grafana

from ._support import (
    fixture_names,
    load,
)

F, R = AlertStatus.FIRING, AlertStatus.RESOLVED
EXPECTED: dict[str, tuple[list[tuple[str, AlertStatus]], int]] = {
    "v1-firing-single.json": ([("c6eadffa33fcdf37", F)], 0),
    "v1-resolved-single.json": ([("c6eadffa33fcdf37", R)], 0),
    "v1-firing-with-resolved.json": ([("5e0cbb1a7a2d9c41", F), ("c6eadffa33fcdf37", R)], 0),
    "v1-nodata-values-null.json": ([("9f0c2d51b7e4a8a3", F)], 0),
    "v1-truncated.json": ([("c6eadffa33fcdf37", F)], 2),
}
BROKEN = {
    # an Alertmanager body posted to a Grafana endpoint
    "broken-version-4.json": "version: unsupported version '4', expected '1'",
    # Grafana 12 custom payload template replacing the body
    "broken-custom-template.json": "version: field required",
    "broken-values-string.json": "alerts[0].values.B: expected a number",
    "broken-missing-fingerprint.json": "alerts[1].fingerprint: field required",
}


def test_every_fixture_file_has_an_expectation() -> None:
    assert set(fixture_names("grafana")) == set(EXPECTED) | set(BROKEN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_recorded_notifications(name: str) -> None:
    payload = load("grafana", name)
    alerts = grafana.parse(payload)
    identities, truncated = EXPECTED[name]
    assert [(a.identity, a.status) for a in alerts] == identities
    assert grafana.truncated_count(payload) == truncated
    for alert, item in zip(alerts, payload["alerts"], strict=True):
        assert alert.source == "grafana"
        assert alert.raw == item
        assert alert.labels == item["labels"]


def test_it_keeps_value_string_in_annotations_and_values_in_raw() -> None:
    (alert,) = grafana.parse(load("grafana", "v1-resolved-single.json"))
    assert alert.title == "Uplink Gi1/0/24 down on sw-core-01"
    assert alert.severity == "critical"
    assert alert.annotations["valueString"].startswith("[ var='B' labels={ifName=Gi1/0/24}")
    assert alert.raw["values"] == {"B": 1, "C": 0}
    assert alert.starts_at == datetime(2026, 3, 3, 8, 20, tzinfo=UTC)
    assert alert.ends_at == datetime(2026, 3, 3, 8, 27, 30, tzinfo=UTC)


def test_no_data_alert_without_summary_is_titled_by_alertname() -> None:
    (alert,) = grafana.parse(load("grafana", "v1-nodata-values-null.json"))
    assert alert.title == "DatasourceNoData"
    assert "valueString" not in alert.annotations
    assert alert.severity is None


def _firing() -> dict:
    return copy.deepcopy(load("grafana", "v1-firing-single.json"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["alerts"][0].update(values=[2, 1]), "alerts[0].values: expected an object"),
        (
            lambda p: p["alerts"][0]["values"].update(C=True),
            "alerts[0].values.C: expected a number",
        ),
        (
            lambda p: p["alerts"][0].update(valueString=3),
            "alerts[0].valueString: expected a string",
        ),
        (
            lambda p: p["alerts"][0].update(status="alerting"),
            "alerts[0].status: unsupported status 'alerting', expected 'firing' or 'resolved'",
        ),
        (
            lambda p: p["alerts"][0].update(startsAt="2026-03-03T08:20:00"),
            "alerts[0].startsAt: not an RFC 3339 timestamp",
        ),
        (lambda p: p.update(truncatedAlerts=-2), "truncatedAlerts: must not be negative"),
    ],
)
def test_it_names_the_first_bad_field(edit: Callable[[dict], object], message: str) -> None:
    payload = _firing()
    edit(payload)
    with pytest.raises(ParseError) as caught:
        grafana.parse(payload)
    assert str(caught.value) == message
