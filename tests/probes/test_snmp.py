"""SNMP against a real snmpd on 127.0.0.1:<free port>, v2c and v3 authPriv (SHA/AES)."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from probe_peers import (
    IF_OPER,
    TEMPERATURE_OID,
    V2C_COMMUNITY,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    free_udp_port,
)
from pyasn1.codec.ber import encoder
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.proto import api

from probes.errors import SnmpAuthError, SnmpConfigError, SnmpTimeout
from probes.snmp import OID_SYS_UPTIME, SnmpPoller
from probes.spec import SnmpSettings, ThresholdSpec
from probes.state import StateEngine


def v2c(port: int, **kw) -> SnmpSettings:
    return SnmpSettings(version="2c", port=port, community=V2C_COMMUNITY, **kw)


def v3(port: int, auth: str = V3_AUTH, priv: str = V3_PRIV, **kw) -> SnmpSettings:
    return SnmpSettings(version="3", port=port, user=V3_USER, auth_protocol="sha",
                        auth_key=auth, priv_protocol="aes", priv_key=priv, **kw)


@pytest.fixture
async def poller():
    p = await SnmpPoller.create(max_concurrency=16)
    try:
        yield p
    finally:
        await p.aclose()


@pytest.mark.parametrize("version", ["2c", "3"])
async def test_it_reads_sysuptime(snmpd, poller, version):
    settings = v2c(snmpd.port) if version == "2c" else v3(snmpd.port)
    values = await poller.get("127.0.0.1", settings, [OID_SYS_UPTIME])
    assert isinstance(values[OID_SYS_UPTIME], int)
    assert 0 <= values[OID_SYS_UPTIME] < 60 * 100


async def test_reboot_is_detected_after_snmpd_restarts(snmpd, poller):
    settings = v2c(snmpd.port)
    engine = StateEngine()
    t0 = datetime(2024, 10, 27, 1, 0, tzinfo=UTC)
    deadline = time.monotonic() + 10
    first = await poller.poll("127.0.0.1", settings)
    while first.uptime_ticks < 150 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        first = await poller.poll("127.0.0.1", settings)
    assert engine.observe_uptime("sw1", first.uptime_ticks, t0) == []
    snmpd.restart()
    second = await poller.poll("127.0.0.1", settings)
    changes = engine.observe_uptime("sw1", second.uptime_ticks, t0 + timedelta(seconds=5))
    assert [c.rule for c in changes] == ["reboot"]
    assert changes[0].detail["uptime_before"] == first.uptime_ticks
    assert changes[0].detail["uptime_after"] == second.uptime_ticks < first.uptime_ticks


@pytest.mark.parametrize("version", ["2c", "3"])
async def test_interface_status_by_index_and_by_name(snmpd, poller, version):
    kw = {"interfaces": (1001, "fake1", "absent0")}
    settings = v2c(snmpd.port, **kw) if version == "2c" else v3(snmpd.port, **kw)
    result = await poller.poll("127.0.0.1", settings)
    assert dict(result.interfaces) == {"1001": 1, "fake1": 1, "absent0": None}
    snmpd.set(f"{IF_OPER}.1002", "integer", 2)  # fake1 goes down
    result = await poller.poll("127.0.0.1", settings)
    assert dict(result.interfaces) == {"1001": 1, "fake1": 2, "absent0": None}


async def test_threshold_oid_is_read_as_a_number(snmpd, poller):
    settings = v2c(snmpd.port, thresholds=(ThresholdSpec("temp", TEMPERATURE_OID, ">", 70),
                                           ThresholdSpec("nothing", "1.3.6.1.4.1.99999.9.0",
                                                         ">", 1)))
    result = await poller.poll("127.0.0.1", settings)
    assert dict(result.thresholds) == {"temp": 40.0, "nothing": None}
    snmpd.set(TEMPERATURE_OID, "gauge", 85)
    result = await poller.poll("127.0.0.1", settings)
    assert result.thresholds["temp"] == 85.0


async def test_wrong_v3_password_is_an_auth_error(snmpd, poller):
    settings = v3(snmpd.port, auth="not-the-password", timeout=0.5, retries=0)
    with pytest.raises(SnmpAuthError) as exc:
        await poller.get("127.0.0.1", settings, [OID_SYS_UPTIME])
    msg = str(exc.value)
    assert f"127.0.0.1:{snmpd.port}" in msg and "credentials rejected" in msg
    assert V3_USER in msg and "digest" in msg.lower()
    assert exc.value.host == "127.0.0.1"


async def test_unknown_v3_user_is_an_auth_error(snmpd, poller):
    settings = SnmpSettings(version="3", port=snmpd.port, user="mallory", auth_key=V3_AUTH,
                            priv_key=V3_PRIV, timeout=0.5, retries=0)
    with pytest.raises(SnmpAuthError, match="Unknown USM user"):
        await poller.get("127.0.0.1", settings, [OID_SYS_UPTIME])


async def test_wrong_community_times_out_with_a_hint(snmpd, poller):
    settings = SnmpSettings(version="2c", port=snmpd.port, community="wrong",
                            timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(SnmpTimeout, match="wrong community"):
        await poller.get("127.0.0.1", settings, [OID_SYS_UPTIME])
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("version", ["2c", "3"])
async def test_silent_agent_is_a_quick_timeout_not_a_hang(poller, version):
    port = free_udp_port()  # nothing listens there
    kw = {"timeout": 0.2, "retries": 1}
    settings = v2c(port, **kw) if version == "2c" else v3(port, **kw)
    started = time.monotonic()
    with pytest.raises(SnmpTimeout) as exc:
        await poller.poll("127.0.0.1", settings)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"timeout took {elapsed:.2f}s"
    assert f"127.0.0.1:{port}: no SNMP response after 2 tries of 0.2s" in str(exc.value)


def test_bad_settings_are_config_errors():
    poller = SnmpPoller.__new__(SnmpPoller)
    poller._auth = {}
    with pytest.raises(SnmpConfigError, match="unknown SNMPv3 auth protocol 'sha3'"):
        poller._auth_data(SnmpSettings(version="3", user="u", auth_protocol="sha3",
                                       auth_key="k" * 8, priv_key="p" * 8))
    with pytest.raises(SnmpConfigError, match="needs a community"):
        poller._auth_data(SnmpSettings(version="2c"))


def test_settings_repr_hides_secrets():
    text = repr(v3(161))
    assert V3_AUTH not in text and V3_PRIV not in text


def snmpd_reply(port: int) -> bytes:
    """A genuine snmpd answer (v2c GET sysUpTime.0), as it would arrive late on a socket."""
    pmod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = pmod.GetRequestPDU()
    pmod.apiPDU.set_defaults(pdu)
    pmod.apiPDU.set_varbinds(pdu, [(OID_SYS_UPTIME, pmod.Null(""))])
    msg = pmod.Message()
    pmod.apiMessage.set_defaults(msg)
    pmod.apiMessage.set_community(msg, V2C_COMMUNITY)
    pmod.apiMessage.set_pdu(msg, pdu)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(encoder.encode(msg), ("127.0.0.1", port))
        return s.recv(65535)


@pytest.mark.parametrize("version", ["2c", "3"])
async def test_a_reply_read_just_before_teardown_is_absorbed_not_raised(snmpd, version):
    """pysnmp hands a datagram on with call_soon; one read in the loop iteration that tears
    the poller down (a late duplicate reply to a retried request) must not reach the loop's
    exception handler as ``CarrierError: Unregistered transport``."""
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        poller = await SnmpPoller.create()
        settings = v2c(snmpd.port) if version == "2c" else v3(snmpd.port)
        await poller.poll("127.0.0.1", settings)
        late = snmpd_reply(snmpd.port)
        owner = poller._dispatcher.transport_dispatcher if version == "2c" else (
            poller._engine.transport_dispatcher
        )
        carrier = owner.get_transport(udp.DOMAIN_NAME)
        carrier.datagram_received(late, ("127.0.0.1", snmpd.port))  # read, not yet handed on
        await poller.aclose()
        await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(None)
    assert [str(e.get("exception") or e.get("message")) for e in errors] == []
