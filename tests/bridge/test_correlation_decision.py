"""Where a new ticket belongs (`incidents.decide`), as pure logic over the facts either path
reads: the long path asks the store per dimension, the batched path answers from one lookup."""

from __future__ import annotations

from bridge.config.service import MajorIncidentConfig
from bridge.incidents import OpenMajor, decide, dimensions

RULES = MajorIncidentConfig(threshold=3, window=600, group_by=["alertname", "parent"])
ROW = {"alertname": "LinkDown", "parent_device": "core-1", "customer_id": "acme"}


def _facts(known: dict[tuple[str, str], tuple[int | None, int]]):
    asked: list[tuple[str, str]] = []

    def facts(dim: str, value: str) -> tuple[int | None, int]:
        asked.append((dim, value))
        return known.get((dim, value), (None, 0))

    return facts, asked


def test_an_open_major_incident_is_joined():
    facts, _ = _facts({("alertname", "LinkDown"): (41, 0)})
    assert decide(RULES, ROW, facts) == 41


def test_reaching_the_threshold_opens_a_major_incident_on_that_dimension():
    facts, _ = _facts({("parent", "core-1"): (None, 2)})
    assert decide(RULES, ROW, facts) == OpenMajor("parent", "core-1")


def test_below_the_threshold_the_ticket_stays_loose():
    facts, asked = _facts({("alertname", "LinkDown"): (None, 1), ("parent", "core-1"): (None, 1)})
    assert decide(RULES, ROW, facts) is None
    assert asked == [("alertname", "LinkDown"), ("parent", "core-1")]


def test_dimensions_are_decided_in_group_by_order_and_stop_at_the_first_answer():
    facts, asked = _facts({("alertname", "LinkDown"): (None, 2), ("parent", "core-1"): (7, 0)})
    assert decide(RULES, ROW, facts) == OpenMajor("alertname", "LinkDown")
    assert asked == [("alertname", "LinkDown")]
    by_parent = MajorIncidentConfig(threshold=3, window=600, group_by=["parent", "alertname"])
    facts, _ = _facts({("alertname", "LinkDown"): (None, 2), ("parent", "core-1"): (7, 0)})
    assert decide(by_parent, ROW, facts) == 7


def test_a_ticket_without_the_dimension_values_is_not_correlated():
    bare = {"alertname": None, "parent_device": "", "customer_id": "acme"}
    assert dimensions(RULES, bare) == []
    facts, asked = _facts({})
    assert decide(RULES, bare, facts) is None and asked == []
    only_alertname = MajorIncidentConfig(threshold=3, window=600, group_by=["alertname"])
    assert dimensions(only_alertname, ROW) == [("alertname", "LinkDown")]
