"""bridge.sources.pagerduty: Events API v2 events as an inbound format."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from bridge.alert import AlertStatus, ParseError
from bridge.sources import pagerduty

from ._support import (
    fixture_names,
    load,
)

ACME = "R0UT1NGKEYFORACMECUSTOMER0000000"
GLOBEX = "R0UT1NGKEYFORGLOBEXCUSTOMER00000"
DERIVED = pagerduty.derive_dedup_key(GLOBEX, "db-02", "Disk /var 95% full on db-02")
EXPECTED: dict[str, list[tuple[str, AlertStatus]]] = {
    "v2-trigger.json": [(f"{ACME}:acme/fra1/127.0.20.5/icmp", AlertStatus.FIRING)],
    "v2-acknowledge.json": [(f"{ACME}:acme/fra1/127.0.20.5/icmp", AlertStatus.ACKNOWLEDGED)],
    "v2-resolve.json": [(f"{ACME}:acme/fra1/127.0.20.5/icmp", AlertStatus.RESOLVED)],
    "v2-trigger-no-dedup-key.json": [(f"{GLOBEX}:{DERIVED}", AlertStatus.FIRING)],
    "v2-batch-array.json": [
        (f"{ACME}:acme/fra1/127.0.20.5/icmp", AlertStatus.FIRING),
        (f"{ACME}:acme/fra1/127.0.20.6/icmp", AlertStatus.RESOLVED),
    ],
}
BROKEN = {
    "broken-unknown-action.json": "event_action: unsupported event_action 'escalate', "
    "expected 'trigger', 'acknowledge' or 'resolve'",
    "broken-resolve-without-dedup-key.json": "dedup_key: field required",
    "broken-severity.json": "payload.severity: unsupported severity 'high', "
    "expected 'critical', 'error', 'warning' or 'info'",
    "broken-missing-source.json": "payload.source: field required",
    "broken-timestamp.json": "payload.timestamp: not an RFC 3339 timestamp",
    "broken-missing-routing-key.json": "routing_key: field required",
}


def test_every_fixture_file_has_an_expectation() -> None:
    assert set(fixture_names("pagerduty")) == set(EXPECTED) | set(BROKEN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_parses_recorded_events(name: str) -> None:
    alerts = pagerduty.parse(load("pagerduty", name))
    assert [(a.identity, a.status) for a in alerts] == EXPECTED[name]
    assert all(a.source == "pagerduty" and a.labels["routing_key"] for a in alerts)


def test_a_trigger_maps_payload_fields() -> None:
    payload = load("pagerduty", "v2-trigger.json")
    (alert,) = pagerduty.parse(payload)
    assert alert.title == "127.0.20.5 ICMP loss 100% (5/5)"
    assert alert.severity == "critical"
    assert alert.labels == {
        "routing_key": ACME,
        "source": "127.0.20.5",
        "component": "icmp",
        "group": "acme-fra1",
        "class": "ping failure",
    }
    assert alert.annotations == {
        "client": "probe-fra1-a",
        "client_url": "http://127.0.0.1:8080/hosts/127.0.20.5",
    }
    assert alert.description == '{"loss_pct": 100, "probe": "probe-fra1-a", "rtt_avg_ms": null}'
    assert alert.starts_at == datetime(2026, 3, 3, 8, 14, 5, 123000, tzinfo=UTC)
    assert alert.raw == payload


def test_a_derived_dedup_key_is_stable_and_accepts_basic_offsets() -> None:
    payload = load("pagerduty", "v2-trigger-no-dedup-key.json")
    (first,) = pagerduty.parse(payload)
    (again,) = pagerduty.parse(copy.deepcopy(payload))
    assert first.identity == again.identity
    assert DERIVED.startswith("derived-") and len(DERIVED) == len("derived-") + 32
    assert first.starts_at == datetime(2026, 3, 3, 10, 2, tzinfo=UTC)  # "+0000" offset
    assert first.description == "free: 2.1 GiB"
    # Field boundaries are unambiguous: moving a character between fields changes the key.
    assert pagerduty.derive_dedup_key("a", "bc", "d") != pagerduty.derive_dedup_key("a", "b", "cd")


def test_the_same_dedup_key_on_two_routing_keys_stays_two_alerts() -> None:
    event = load("pagerduty", "v2-resolve.json")
    other = dict(event, routing_key=GLOBEX)
    assert pagerduty.parse(event)[0].identity != pagerduty.parse(other)[0].identity


def test_follow_ups_ignore_a_payload_and_are_titled_by_dedup_key() -> None:
    event = dict(load("pagerduty", "v2-acknowledge.json"), payload={"summary": 3})
    (alert,) = pagerduty.parse(event)
    assert alert.title == "acme/fra1/127.0.20.5/icmp"
    assert alert.severity is None and alert.starts_at is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("trigger", "expected an object"),
        ([{}], "[0].routing_key: field required"),
        ([load("pagerduty", "v2-resolve.json"), 5], "[1]: expected an object"),
        (
            dict(load("pagerduty", "v2-trigger.json"), dedup_key="x" * 256),
            "dedup_key: longer than 255 characters",
        ),
        (dict(load("pagerduty", "v2-trigger.json"), dedup_key=""), "dedup_key: must not be empty"),
        (dict(load("pagerduty", "v2-trigger.json"), payload=None), "payload: field required"),
        (dict(load("pagerduty", "v2-trigger.json"), payload="x"), "payload: expected an object"),
        (dict(load("pagerduty", "v2-trigger.json"), client=1), "client: expected a string"),
    ],
)
def test_it_names_the_first_bad_field(payload: object, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        pagerduty.parse(payload)
    assert str(caught.value) == message


def test_summary_longer_than_pagerduty_allows_is_rejected() -> None:
    event = load("pagerduty", "v2-trigger.json")
    event["payload"]["summary"] = "s" * 1025
    with pytest.raises(ParseError, match=r"^payload\.summary: longer than 1024 characters$"):
        pagerduty.parse(event)
