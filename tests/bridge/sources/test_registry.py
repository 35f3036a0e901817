"""bridge.sources: the literal registry of webhook source types."""

from __future__ import annotations

import pytest

from bridge.sources import SOURCE_TYPES, alertmanager, get_parser, get_source_type, grafana


def test_it_lists_every_source_type() -> None:
    assert sorted(SOURCE_TYPES) == [
        "alertmanager",
        "generic",
        "grafana",
        "pagerduty",
        "snmptrap",
        "zabbix",
    ]
    assert all(entry.name == name for name, entry in SOURCE_TYPES.items())


def test_it_returns_the_module_parse_functions() -> None:
    assert get_parser("alertmanager") is alertmanager.parse
    assert get_source_type("alertmanager").truncated_count is alertmanager.truncated_count
    assert get_source_type("grafana").truncated_count is grafana.truncated_count
    assert get_source_type("pagerduty").truncated_count is None


def test_an_unknown_type_raises_lookup_error_naming_the_known_ones() -> None:
    with pytest.raises(LookupError) as caught:
        get_parser("prometheus")
    assert str(caught.value) == (
        'no webhook source type "prometheus"; '
        "known: alertmanager, generic, grafana, pagerduty, snmptrap, zabbix"
    )


def test_the_registry_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        SOURCE_TYPES["x"] = SOURCE_TYPES["generic"]  # type: ignore[index]
