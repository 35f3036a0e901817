"""Shared helpers for the adapter tests: fixture loading and hypothesis strategies.

The property tests assert the adapters' one contract: for any decoded JSON, `parse` returns a
list of well-formed Alerts or raises ParseError — never KeyError, TypeError, AttributeError
or a validation library's own exception.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bridge.alert import Alert, AlertStatus, ParseError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"

# Modest counts: eleven property tests must stay well under the suite's 40 s budget.
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def fixture_names(source: str) -> list[str]:
    return sorted(p.name for p in (FIXTURES / source).glob("*.json"))


def load(source: str, name: str) -> Any:
    return json.loads((FIXTURES / source / name).read_text(encoding="utf-8"))


def good_payloads(source: str) -> list[Any]:
    return [load(source, n) for n in fixture_names(source) if not n.startswith("broken-")]


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)
# Strings shaped like what parsers look for, so mutations hit the interesting branches.
tricky_strings = st.sampled_from(
    [
        "",
        " ",
        "firing",
        "resolved",
        "trigger",
        "resolve",
        "acknowledge",
        "4",
        "1",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2026-02-30T00:00:00Z",
        "2026-03-03T08:14:05.123456789Z",
        "2026-03-03T24:00:00Z",
        "{EVENT.ID}",
        "184412",
    ]
)
garbage = json_values | tricky_strings | st.sampled_from([0, 1, 5, -1, True, [], {}])


def _nodes(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a decoded JSON document."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                found.append((current, key))
                stack.append(item)
        elif isinstance(current, list):
            for index, item in enumerate(current):
                found.append((current, index))
                stack.append(item)
    return found


@st.composite
def mutated(draw: st.DrawFn, payloads: list[Any]) -> Any:
    """A real payload with one to three edits: drop a key, change a value's type, add garbage."""
    doc = copy.deepcopy(draw(st.sampled_from(payloads)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        nodes = _nodes(doc)
        if not nodes:
            return doc
        container, key = draw(st.sampled_from(nodes))
        operation = draw(st.sampled_from(["drop", "replace", "insert"]))
        if operation == "drop":
            del container[key]
        elif operation == "replace":
            container[key] = draw(garbage)
        elif isinstance(container, dict):
            container[draw(st.text(max_size=12) | st.sampled_from(["id", "alerts"]))] = draw(
                garbage
            )
        else:
            container.insert(key, draw(garbage))
    return doc


def check_contract(parse: Callable[[object], list[Alert]], payload: object) -> None:
    """parse returns well-formed Alerts or raises ParseError; anything else fails the test."""
    try:
        alerts = parse(payload)
    except ParseError as err:
        assert isinstance(err.path, str)
        assert err.problem and isinstance(err.problem, str)
        assert len(str(err)) < 400
        return
    assert isinstance(alerts, list)
    for alert in alerts:
        assert isinstance(alert, Alert)
        assert isinstance(alert.identity, str) and alert.identity
        assert isinstance(alert.status, AlertStatus)
        assert isinstance(alert.title, str) and alert.title
        assert alert.severity is None or isinstance(alert.severity, str)
        assert isinstance(alert.description, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.labels.items())
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.annotations.items())
        for moment in (alert.starts_at, alert.ends_at):
            assert moment is None or moment.utcoffset() is not None
        assert isinstance(alert.raw, dict)
        json.dumps(alert.raw)  # still plain JSON
