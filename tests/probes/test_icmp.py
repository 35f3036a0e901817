"""Real ICMP on loopback: 127.0.0.0/8 answers; a silent range is made with nftables."""

from __future__ import annotations

import asyncio
import time

import pytest

from probes.errors import IcmpAddressError, IcmpPermissionError
from probes.icmp import IcmpCapability, Pinger, PingResult, detect_icmp_capability, sweep


@pytest.fixture(scope="module")
def capability() -> IcmpCapability:
    cap = detect_icmp_capability()
    if cap.mode is None:
        pytest.fail(f"no ICMP socket usable here: {cap.describe()}", pytrace=False)
    return cap


def test_capability_is_detected_as_root(capability: IcmpCapability):
    assert capability.raw_v4, "tests run as root: raw sockets must be available"
    assert capability.mode == "raw"
    assert "ping_group_range=" in capability.describe()


async def test_live_hosts_answer_with_rtts(capability):
    targets = ["127.0.0.1", "127.0.3.4", "127.200.1.1", "::1"]
    results = await sweep(targets, count=3, interval=0.02, timeout=1.0, capability=capability)
    assert set(results) == set(targets)
    for r in results.values():
        assert isinstance(r, PingResult)
        assert (r.sent, r.received, r.loss) == (3, 3, 0.0), r
        assert r.rtt_min_ms is not None and r.rtt_avg_ms is not None and r.rtt_max_ms is not None
        assert 0 <= r.rtt_min_ms <= r.rtt_avg_ms <= r.rtt_max_ms < 1000
        assert r.is_alive and r.error is None


async def test_silent_range_is_lost_and_live_hosts_are_not(capability, silent_range):
    dead = [silent_range.address(n) for n in (1, 2, 200)]
    live = ["127.0.0.1", "127.9.9.9"]
    started = time.monotonic()
    results = await sweep(dead + live, count=2, interval=0.05, timeout=0.5,
                          capability=capability)
    elapsed = time.monotonic() - started
    for addr in dead:
        assert results[addr].loss == 1.0
        assert results[addr].received == 0 and results[addr].sent == 2
        assert results[addr].rtt_avg_ms is None
    for addr in live:
        assert results[addr].loss == 0.0 and results[addr].rtt_avg_ms is not None
    # One shared deadline after the last request, not a timeout per host.
    assert elapsed < 0.05 + 0.5 + 0.5


async def test_all_answering_sweep_returns_before_the_timeout(capability):
    started = time.monotonic()
    await sweep(["127.0.0.1", "127.0.0.2"], count=1, timeout=5.0, capability=capability)
    assert time.monotonic() - started < 1.0


async def test_a_cycle_over_1000_addresses_finishes_quickly(capability, silent_range):
    live = [f"127.10.{i // 250}.{i % 250 + 1}" for i in range(900)]
    dead = [silent_range.address(i) for i in range(1, 101)]
    started = time.monotonic()
    async with Pinger(capability) as pinger:
        results = await pinger.sweep(live + dead, count=1, timeout=1.0)
    elapsed = time.monotonic() - started
    assert len(results) == 1000
    assert sum(r.received for r in results.values()) == 900
    assert all(results[a].loss == 1.0 for a in dead)
    assert elapsed < 3.0, f"1,000-host sweep took {elapsed:.2f}s"


async def test_concurrent_sweeps_on_one_pinger_do_not_steal_replies(capability):
    async with Pinger(capability) as pinger:
        a, b = await asyncio.gather(
            pinger.sweep([f"127.20.0.{i}" for i in range(1, 101)], count=2, interval=0.01),
            pinger.sweep([f"127.20.0.{i}" for i in range(1, 101)], count=2, interval=0.01),
        )
    assert all(r.received == 2 for r in a.values())
    assert all(r.received == 2 for r in b.values())


async def test_two_pingers_see_only_their_own_replies(capability):
    """Raw sockets see every ICMP packet of the host: the nonce keeps sweeps apart."""
    async with Pinger(capability) as p1, Pinger(capability) as p2:
        a, b = await asyncio.gather(
            p1.sweep(["127.0.0.1"], count=3, interval=0.01),
            p2.sweep(["127.0.0.1"], count=1),
        )
    assert a["127.0.0.1"].received == 3 and a["127.0.0.1"].sent == 3
    assert b["127.0.0.1"].received == 1 and b["127.0.0.1"].sent == 1


async def test_hostnames_are_rejected_with_the_host_in_the_message(capability):
    with pytest.raises(IcmpAddressError, match="'router.example' is not an IP address") as exc:
        await sweep(["127.0.0.1", "router.example"], capability=capability)
    assert exc.value.host == "router.example"
    assert isinstance(exc.value.__cause__, ValueError)


def test_no_usable_socket_is_a_clear_error():
    cap = IcmpCapability(raw_v4=False, raw_v6=False, dgram_v4=False, dgram_v6=False,
                         ping_group_range=(1, 0), gid=1000)
    with pytest.raises(IcmpPermissionError, match="CAP_NET_RAW.*ping_group_range"):
        Pinger(cap)


@pytest.fixture
def wide_ping_group_range():
    """Let every group open ping sockets for one test; the old sysctl value is restored."""
    path = "/proc/sys/net/ipv4/ping_group_range"
    with open(path) as fh:
        saved = fh.read().strip()
    with open(path, "w") as fh:
        fh.write("0 2147483647")
    try:
        yield
    finally:
        with open(path, "w") as fh:
            fh.write(saved)


async def test_unprivileged_ping_sockets_when_the_sysctl_allows_them(wide_ping_group_range):
    cap = detect_icmp_capability()
    assert cap.dgram_v4 and cap.ping_group_range == (0, 2147483647)
    dgram_only = IcmpCapability(raw_v4=False, raw_v6=False, dgram_v4=True,
                                dgram_v6=cap.dgram_v6, ping_group_range=cap.ping_group_range,
                                gid=cap.gid)
    async with Pinger(dgram_only) as pinger:
        assert pinger.mode == "dgram"
        results = await pinger.sweep(["127.0.0.1", "127.30.0.1"], count=2, interval=0.01)
    assert all(r.received == 2 for r in results.values()), results
