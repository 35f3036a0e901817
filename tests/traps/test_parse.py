"""The snmptrap parser over decoded notifications captured from real Net-SNMP senders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.alert import AlertStatus, ParseError
from bridge.sources import snmptrap
from bridge.sources.snmptrap import TrapMapping, TrapRule
from tests.bridge.sources._support import (
    PROPERTY_SETTINGS,
    check_contract,
    good_payloads,
    json_values,
    load,
    mutated,
)

PARSE_BROKEN = {
    "broken-webhook-body.json": "version: expected v1, v2c or v3",
    "broken-no-trap-oid.json": "varbinds: no snmpTrapOID.0 varbind",
    "broken-bad-oid.json": "varbinds[0][1]: 'linkDown' is not a dotted OID",
}
#: what the webhook registry's entry answers: trap sources take nothing by POST
BROKEN = {
    name: "an snmptrap source receives SNMP notifications over UDP, not webhooks"
    for name in PARSE_BROKEN
}
SYS_UPTIME = ["1.3.6.1.2.1.1.3.0", 100]


def parse(name: str, mapping: TrapMapping = snmptrap.DEFAULT_MAPPING) -> list:
    return snmptrap.parse(load("snmptrap", name), mapping)


def trap(oid: str, *varbinds: list, source: str = "127.0.0.5") -> dict:
    return {
        "version": "v2c",
        "pdu": "trap",
        "source": source,
        "varbinds": [SYS_UPTIME, ["1.3.6.1.6.3.1.1.4.1.0", oid], *varbinds],
    }


@pytest.mark.parametrize(
    "name",
    [
        "linkdown-trap.json",
        "linkdown-trap-v1.json",
        "linkdown-trap-v3-authpriv.json",
        "linkdown-inform-v2c.json",
    ],
)
def test_a_link_down_in_every_version_opens_one_alert_per_interface(name: str) -> None:
    (alert,) = parse(name)
    assert alert.status is AlertStatus.FIRING
    assert alert.identity == "link:127.0.0.1:2"
    assert alert.title == "Link down: ifIndex 2 on 127.0.0.1"
    assert alert.labels["host_ip"] == "127.0.0.1"
    assert alert.labels["if_index"] == "2"
    assert alert.labels["trap_name"] == "linkDown"
    assert "ifOperStatus.2 = 2" in alert.description


def test_the_link_up_resolves_the_same_identity() -> None:
    (down,) = parse("linkdown-trap.json")
    (up,) = parse("linkup-trap-v2c.json")
    assert up.status is AlertStatus.RESOLVED
    assert up.identity == down.identity


def test_the_interface_name_comes_from_ifname_or_ifdescr() -> None:
    (by_descr,) = snmptrap.parse(
        trap(snmptrap.LINK_DOWN, ["1.3.6.1.2.1.2.2.1.2.7", "GigabitEthernet0/7"])
    )
    assert by_descr.identity == "link:127.0.0.5:7"
    assert by_descr.title == "Link down: GigabitEthernet0/7 (ifIndex 7) on 127.0.0.5"
    (by_name,) = snmptrap.parse(
        trap(
            snmptrap.LINK_UP,
            ["1.3.6.1.2.1.2.2.1.1.7", 7],
            ["1.3.6.1.2.1.2.2.1.2.7", "GigabitEthernet0/7"],
            ["1.3.6.1.2.1.31.1.1.1.1.7", "Gi0/7"],
        )
    )
    assert by_name.identity == "link:127.0.0.5:7"
    assert by_name.labels["interface"] == "Gi0/7 (ifIndex 7)"


def test_snmpd_own_cold_start_is_a_reboot_that_resolves_itself() -> None:
    opened, resolved = parse("snmpd-coldstart-trap.json")
    assert (opened.status, resolved.status) == (AlertStatus.FIRING, AlertStatus.RESOLVED)
    assert opened.identity == resolved.identity == "reboot:127.0.0.1"
    assert opened.title == "Device restarted (coldStart): 127.0.0.1"


def test_an_authentication_failure_is_a_security_alert_unless_switched_off() -> None:
    (alert,) = parse("snmpd-authfail-trap.json")
    assert alert.status is AlertStatus.FIRING
    assert alert.identity == "authfail:127.0.0.1"
    assert parse("snmpd-authfail-trap.json", TrapMapping(auth_failure_alerts=False)) == []


def test_an_unknown_trap_is_kept_with_a_readable_name() -> None:
    (alert,) = parse("snmpd-shutdown-trap.json")
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "SNMP trap nsNotifyShutdown from 127.0.0.1"
    assert alert.identity == "trap:127.0.0.1:1.3.6.1.4.1.8072.4.0.2"


def test_the_v1_agent_address_names_the_device_not_the_relay() -> None:
    payload = load("snmptrap", "linkdown-trap-v1.json")
    payload["source"] = "127.0.0.200"
    (alert,) = snmptrap.parse(payload)
    assert alert.labels["host_ip"] == "127.0.0.1"
    assert alert.labels["source_address"] == "127.0.0.200"


def test_a_configured_varbind_names_the_device() -> None:
    mapping = TrapMapping(address_varbind="1.3.6.1.4.1.99.1.1")
    (alert,) = snmptrap.parse(
        trap(snmptrap.AUTH_FAILURE, ["1.3.6.1.4.1.99.1.1.0", "127.0.0.77"]), mapping
    )
    assert alert.labels["host_ip"] == "127.0.0.77"


UPS = TrapRule(
    name="ups-battery",
    match="1.3.6.1.4.1.318.0.5",
    clears="1.3.6.1.4.1.318.0.9",
    title="UPS on battery",
    severity="critical",
)
ALARM = TrapRule(
    name="vendor-alarm",
    match="1.3.6.1.4.1.99.0.1",
    clears="1.3.6.1.4.1.99.0.2",
    title="Vendor alarm",
    severity_varbind="1.3.6.1.4.1.99.2.2",
    severity_map={"1": "critical", "3": "info"},
    identity=("1.3.6.1.4.1.99.2.1",),
)


def test_an_enterprise_rule_opens_and_its_clearing_trap_resolves() -> None:
    mapping = TrapMapping(rules=(UPS,))
    (on,) = snmptrap.parse(trap("1.3.6.1.4.1.318.0.5"), mapping)
    (off,) = snmptrap.parse(trap("1.3.6.1.4.1.318.0.9"), mapping)
    assert (on.status, on.severity, on.title) == (AlertStatus.FIRING, "critical", "UPS on battery")
    assert off.status is AlertStatus.RESOLVED
    assert on.identity == off.identity == "rule:ups-battery:127.0.0.5"


def test_identity_and_severity_varbinds_tell_alarms_apart() -> None:
    mapping = TrapMapping(rules=(ALARM,))
    (fan,) = snmptrap.parse(
        trap("1.3.6.1.4.1.99.0.1", ["1.3.6.1.4.1.99.2.1.0", "fan2"], ["1.3.6.1.4.1.99.2.2.0", 1]),
        mapping,
    )
    (psu,) = snmptrap.parse(
        trap("1.3.6.1.4.1.99.0.1", ["1.3.6.1.4.1.99.2.1.0", "psu1"], ["1.3.6.1.4.1.99.2.2.0", 3]),
        mapping,
    )
    (cleared,) = snmptrap.parse(
        trap("1.3.6.1.4.1.99.0.2", ["1.3.6.1.4.1.99.2.1.0", "fan2"]), mapping
    )
    assert (fan.severity, psu.severity) == ("critical", "info")
    assert fan.identity != psu.identity
    assert cleared.identity == fan.identity and cleared.status is AlertStatus.RESOLVED


def test_oid_names_keep_the_instance() -> None:
    assert snmptrap.oid_name("1.3.6.1.2.1.2.2.1.8.2") == "ifOperStatus.2"
    assert snmptrap.oid_name("1.3.6.1.6.3.1.1.5.3") == "linkDown"
    assert snmptrap.oid_name("1.3.6.1.4.1.4242.1") == "1.3.6.1.4.1.4242.1"


@pytest.mark.parametrize("name", sorted(PARSE_BROKEN))
def test_broken_notifications_are_refused_with_their_place(name: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(name)
    assert str(caught.value) == PARSE_BROKEN[name]


@PROPERTY_SETTINGS
@given(payload=json_values)
def test_arbitrary_json_parses_or_raises_parse_error(payload: object) -> None:
    check_contract(snmptrap.parse, payload)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_decoded_traps_parse_or_raise_parse_error(data: st.DataObject) -> None:
    check_contract(snmptrap.parse, data.draw(mutated(good_payloads("snmptrap"))))
