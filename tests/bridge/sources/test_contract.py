"""The contract every webhook adapter keeps, checked once for all registered source types:
broken recorded payloads are refused with their exact message, and any JSON, generated or a
real payload mutated, either parses into well-formed Alerts or raises ParseError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.alert import ParseError
from bridge.sources import SOURCE_TYPES
from tests.bridge.sources import (
    test_alertmanager,
    test_generic,
    test_grafana,
    test_pagerduty,
    test_zabbix,
)
from tests.bridge.sources._support import (
    PROPERTY_SETTINGS,
    check_contract,
    good_payloads,
    json_values,
    load,
    mutated,
)
from tests.traps import test_parse as test_snmptrap

BROKEN = {
    "alertmanager": test_alertmanager.BROKEN,
    "generic": test_generic.BROKEN,
    "grafana": test_grafana.BROKEN,
    "pagerduty": test_pagerduty.BROKEN,
    "snmptrap": test_snmptrap.BROKEN,
    "zabbix": test_zabbix.BROKEN,
}
CASES = [(source, name) for source, broken in sorted(BROKEN.items()) for name in sorted(broken)]


def test_every_registered_source_is_checked_here() -> None:
    assert set(BROKEN) == set(SOURCE_TYPES)


@pytest.mark.parametrize(("source", "name"), CASES)
def test_it_rejects_broken_recorded_payloads(source: str, name: str) -> None:
    with pytest.raises(ParseError) as caught:
        SOURCE_TYPES[source].parse(load(source, name))
    expected = BROKEN[source][name]
    assert str(caught.value) == expected
    if caught.value.path:
        assert expected.startswith(caught.value.path + ": ")


@pytest.mark.parametrize("source", sorted(SOURCE_TYPES))
@PROPERTY_SETTINGS
@given(payload=json_values)
def test_arbitrary_json_parses_or_raises_parse_error(source: str, payload: object) -> None:
    check_contract(SOURCE_TYPES[source].parse, payload)


@pytest.mark.parametrize("source", sorted(SOURCE_TYPES))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_real_payloads_parse_or_raise_parse_error(source: str, data: st.DataObject) -> None:
    kind = SOURCE_TYPES[source]
    payload = data.draw(mutated(good_payloads(source)))
    check_contract(kind.parse, payload)
    if kind.truncated_count is not None:
        try:
            assert kind.truncated_count(payload) >= 0
        except ParseError:
            pass
