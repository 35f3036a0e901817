"""bridge.sources.alertmanager against real Alertmanager 0.25 notifications."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.alert import AlertStatus, ParseError
from bridge.sources import alertmanager

from ._support import (
    fixture_names,
    load,
)

F, R = AlertStatus.FIRING, AlertStatus.RESOLVED
# file -> ([(fingerprint, status), ...], truncatedAlerts)
EXPECTED: dict[str, tuple[list[tuple[str, AlertStatus]], int]] = {
    "prom-firing-single.json": ([("f87477458c57ecec", F)], 0),
    "prom-resolved-single.json": ([("f87477458c57ecec", R)], 0),
    "prom-grouped-firing-3.json": (
        [("f87477458c57ecec", F), ("70d66b5e79ae05ff", F), ("b270d75e45d4ee96", F)],
        0,
    ),
    # top-level status "firing", yet r2 inside is resolved
    "prom-grouped-partial-resolve.json": (
        [("f87477458c57ecec", F), ("70d66b5e79ae05ff", R), ("b270d75e45d4ee96", F)],
        0,
    ),
    "prom-grouped-resolved.json": ([("f87477458c57ecec", R), ("b270d75e45d4ee96", R)], 0),
    "prom-targetdown-firing.json": ([("576c408dae76c149", F)], 0),
    "prom-targetdown-resolved.json": ([("576c408dae76c149", R)], 0),
    "api-grouped-firing-4.json": (
        [
            ("cad72d15e6be4d8c", F),
            ("3a0485de2da8a44b", F),
            ("58effc04fe41637e", F),
            ("22d7df421abf6edd", F),
        ],
        0,
    ),
    "api-grouped-resolved-4.json": (
        [
            ("cad72d15e6be4d8c", R),
            ("3a0485de2da8a44b", R),
            ("58effc04fe41637e", R),
            ("22d7df421abf6edd", R),
        ],
        0,
    ),
    "amtool-firing.json": ([("534dc610d3e82262", F)], 0),
    "amtool-resolved.json": ([("534dc610d3e82262", R)], 0),
    "api-truncated-max2.json": ([("d6bbc8f2364e6aaf", F), ("52d2f4085b527c60", F)], 3),
    "api-truncated-max2-resolved.json": ([("d6bbc8f2364e6aaf", R), ("52d2f4085b527c60", R)], 3),
    "retry500-first-attempt.json": ([("11611d5b228d23cd", F)], 0),
}
BROKEN: dict[str, str] = {
    "broken-version-3.json": "version: unsupported version '3', expected '4'",
    "broken-missing-fingerprint.json": "alerts[2].fingerprint: field required",
    "broken-naive-startsat.json": "alerts[1].startsAt: not an RFC 3339 timestamp",
    "broken-resolved-zero-endsat.json": "alerts[1].endsAt: resolved alert without an end time",
    "broken-label-not-string.json": "alerts[0].labels.device: expected a string",
    "broken-truncated-negative.json": "truncatedAlerts: must not be negative",
}


def test_every_fixture_file_has_an_expectation() -> None:
    assert set(fixture_names("alertmanager")) == set(EXPECTED) | set(BROKEN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_recorded_notifications(name: str) -> None:
    payload = load("alertmanager", name)
    alerts = alertmanager.parse(payload)
    identities, truncated = EXPECTED[name]
    assert [(a.identity, a.status) for a in alerts] == identities
    assert alertmanager.truncated_count(payload) == truncated
    for alert, item in zip(alerts, payload["alerts"], strict=True):
        assert alert.source == "alertmanager"
        assert alert.raw == item
        assert alert.labels == item["labels"]
        assert alert.starts_at is not None and alert.starts_at.tzinfo is UTC
        assert (alert.ends_at is not None) == (alert.status is R)


def test_it_maps_title_severity_description_and_times_of_a_partial_resolve() -> None:
    payload = load("alertmanager", "prom-grouped-partial-resolve.json")
    firing, resolved, _ = alertmanager.parse(payload)
    assert firing.title == "Device r1 of acme is down"
    assert firing.severity == "critical"
    assert firing.description == "device_down is 1 on 127.0.0.1:19100"
    assert firing.annotations["summary"] == "Device r1 of acme is down"
    assert firing.starts_at == datetime(2026, 11, 22, 18, 15, 9, 424000, tzinfo=UTC)
    # The Go zero time on a firing alert is "no end", never year 1.
    assert firing.ends_at is None
    assert resolved.ends_at == datetime(2026, 11, 22, 18, 15, 13, 424000, tzinfo=UTC)


def _one(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load("alertmanager", "prom-firing-single.json"))
    alert = payload["alerts"][0]
    for key, value in changes.items():
        if value is _DROP:
            del alert[key]
        else:
            alert[key] = value
    return payload


_DROP = object()


def test_title_falls_back_to_alertname_then_fingerprint() -> None:
    (alert,) = alertmanager.parse(_one(annotations={}))
    assert alert.title == "DeviceDown"
    assert alert.description == ""
    (alert,) = alertmanager.parse(_one(annotations=_DROP, labels={"job": "x"}))
    assert alert.title == "alert f87477458c57ecec"
    assert alert.severity is None


def test_it_reads_nanosecond_and_offset_timestamps_as_utc() -> None:
    (alert,) = alertmanager.parse(
        _one(
            status="resolved",
            startsAt="2026-11-22T19:15:02.123456789+01:00",
            endsAt="2026-11-22T18:16:00.5Z",
        )
    )
    assert alert.starts_at == datetime(2026, 11, 22, 18, 15, 2, 123456, tzinfo=UTC)
    assert alert.ends_at == datetime(2026, 11, 22, 18, 16, 0, 500000, tzinfo=UTC)


def test_a_firing_alert_never_carries_an_end_time() -> None:
    (alert,) = alertmanager.parse(_one(endsAt="2026-11-22T19:00:00Z"))
    assert alert.status is F
    assert alert.ends_at is None


def test_truncated_count_is_zero_when_absent() -> None:
    payload = load("alertmanager", "prom-firing-single.json")
    del payload["truncatedAlerts"]
    assert alertmanager.truncated_count(payload) == 0
    assert len(alertmanager.parse(payload)) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected an object"),
        ({"alerts": []}, "version: field required"),
        ({"version": 4, "alerts": []}, "version: expected a string"),
        ({"version": "4"}, "alerts: field required"),
        ({"version": "4", "alerts": {}}, "alerts: expected an array"),
        (
            {"version": "4", "alerts": [], "truncatedAlerts": "3"},
            "truncatedAlerts: expected an integer",
        ),
        (
            {"version": "4", "alerts": [], "truncatedAlerts": True},
            "truncatedAlerts: expected an integer",
        ),
        ({"version": "4", "alerts": [None]}, "alerts[0]: expected an object"),
        (
            _one(status="pending"),
            "alerts[0].status: unsupported status 'pending', expected 'firing' or 'resolved'",
        ),
        (_one(status=_DROP), "alerts[0].status: field required"),
        (_one(labels=_DROP), "alerts[0].labels: field required"),
        (_one(labels=["a"]), "alerts[0].labels: expected an object"),
        (_one(annotations={"summary": None}), "alerts[0].annotations.summary: expected a string"),
        (_one(startsAt=_DROP), "alerts[0].startsAt: field required"),
        (_one(startsAt=1732299302), "alerts[0].startsAt: not an RFC 3339 timestamp"),
        (_one(startsAt="2026-02-30T00:00:00Z"), "alerts[0].startsAt: not an RFC 3339 timestamp"),
        (_one(endsAt="yesterday"), "alerts[0].endsAt: not an RFC 3339 timestamp"),
        (_one(fingerprint=""), "alerts[0].fingerprint: must not be empty"),
        (_one(fingerprint=12), "alerts[0].fingerprint: expected a string"),
    ],
)
def test_it_names_the_first_bad_field(payload: object, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        alertmanager.parse(payload)
    assert str(caught.value) == message
