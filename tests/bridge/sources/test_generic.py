"""bridge.sources.generic: slabridge's own documented alert JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.alert import AlertStatus, ParseError
from bridge.sources import generic

from ._support import (
    fixture_names,
    load,
)

F, R = AlertStatus.FIRING, AlertStatus.RESOLVED
EXPECTED: dict[str, list[tuple[str, AlertStatus]]] = {
    "single-firing.json": [("acme-fw-01/ping", F)],
    "single-resolved.json": [("acme-fw-01/ping", R)],
    "batch.json": [("backup/db-02/nightly", F), ("4711", R)],
    "minimal.json": [("cron-check-1", F)],
}
BROKEN = {
    "broken-missing-title.json": "title: field required",
    "broken-typo-status.json": "stauts: unknown field",
    "broken-naive-time.json": "starts_at: not an RFC 3339 timestamp",
    "broken-batch-bad-label.json": "alerts[1].labels.customer: expected a string",
    "broken-status.json": "status: unsupported status 'ok', expected 'firing' or 'resolved'",
    "broken-no-identity.json": "identity: field required",
}


def test_every_fixture_file_has_an_expectation() -> None:
    assert set(fixture_names("generic")) == set(EXPECTED) | set(BROKEN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_documented_examples(name: str) -> None:
    alerts = generic.parse(load("generic", name))
    assert [(a.identity, a.status) for a in alerts] == EXPECTED[name]
    assert all(a.source == "generic" for a in alerts)


def test_fields_map_onto_the_alert_and_times_become_utc() -> None:
    payload = load("generic", "single-resolved.json")
    (alert,) = generic.parse(payload)
    assert alert.title == "acme-fw-01 not answering ping"
    assert alert.severity == "critical"
    assert alert.description == "5/5 probes lost from probe-fra1-a"
    assert alert.labels == {"customer": "acme", "device_ip": "127.0.20.5"}
    assert alert.starts_at == datetime(2026, 3, 3, 8, 14, 5, tzinfo=UTC)
    assert alert.ends_at == datetime(2026, 3, 3, 8, 31, 40, tzinfo=UTC)
    assert alert.raw == payload


def test_minimal_alert_defaults() -> None:
    (alert,) = generic.parse(load("generic", "minimal.json"))
    assert alert.status is F
    assert alert.severity is None and alert.description == ""
    assert alert.labels == {} and alert.starts_at is None and alert.ends_at is None


def test_an_end_time_on_a_firing_alert_is_ignored() -> None:
    (alert,) = generic.parse({"id": "a", "title": "t", "ends_at": "2026-03-03T08:00:00Z"})
    assert alert.ends_at is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("alert", "expected an object"),
        ({"id": "a", "identity": "b", "title": "t"}, "id: give either id or identity, not both"),
        ({"id": True, "title": "t"}, "id: expected a string or an integer"),
        ({"identity": " ", "title": "t"}, "identity: must not be empty"),
        ({"id": "x" * 256, "title": "t"}, "id: longer than 255 characters"),
        ({"id": "a", "title": 5}, "title: expected a string"),
        ({"id": "a", "title": "t", "severity": 1}, "severity: expected a string"),
        ({"id": "a", "title": "t", "labels": []}, "labels: expected an object"),
        (
            {
                "id": "a",
                "title": "t",
                "starts_at": "2026-03-03T08:00:00Z",
                "ends_at": "2026-03-03T07:00:00Z",
                "status": "resolved",
            },
            "ends_at: before starts_at",
        ),
        ({"alerts": {}}, "alerts: expected an array"),
        ({"alerts": [], "source": "x"}, "source: unknown field"),
        ({"alerts": [{"id": "a"}]}, "alerts[0].title: field required"),
    ],
)
def test_it_names_the_first_bad_field(payload: object, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        generic.parse(payload)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-03T09:14:05+01:00", datetime(2026, 3, 3, 8, 14, 5, tzinfo=UTC)),
        ("2026-03-03t08:14:05z", datetime(2026, 3, 3, 8, 14, 5, tzinfo=UTC)),
        ("2026-03-03 08:14:05.123456789Z", datetime(2026, 3, 3, 8, 14, 5, 123456, tzinfo=UTC)),
        ("2026-03-29T03:30:00+02:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # CEST start
        ("2026-03-03T08:14:05", None),  # naive
        ("2026-03-03T08:14:05+0100", None),  # basic offset: PagerDuty only
        ("2026-03-03", None),
        ("2026-02-29T00:00:00Z", None),
        ("2026-03-03T08:14:61Z", None),
        ("２０２６-03-03T08:14:05Z", None),  # fullwidth digits
        ("9999-12-31T23:59:59-23:59", None),  # leaves datetime's range in UTC
    ],
)
def test_timestamps_must_be_rfc_3339_with_an_offset(text: str, expected: datetime | None) -> None:
    payload = {"id": "a", "title": "t", "starts_at": text}
    if expected is None:
        with pytest.raises(ParseError, match="^starts_at: not an RFC 3339 timestamp$"):
            generic.parse(payload)
    else:
        assert generic.parse(payload)[0].starts_at == expected
