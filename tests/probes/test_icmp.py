"""Real ICMP on loopback: 127.0.0.0/8 answers; a silent range is made with nftables."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import IcmpAddressError, IcmpPermissionError
from probes.icmp import IcmpCapability, Pinger, PingResult, detect_icmp_capability, sweep
from probes.icmp_book import SweepBook, make_result, parse_targets
from probes.icmp_wire import (
    ICMP6_ECHO_REQUEST,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    EchoTemplate,
    build_echo,
    checksum,
    parse_reply,
)


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
    results = await sweep(dead + live, count=2, interval=0.05, timeout=0.5, capability=capability)
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
    cap = IcmpCapability(
        raw_v4=False,
        raw_v6=False,
        dgram_v4=False,
        dgram_v6=False,
        ping_group_range=(1, 0),
        gid=1000,
    )
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
    dgram_only = IcmpCapability(
        raw_v4=False,
        raw_v6=False,
        dgram_v4=True,
        dgram_v6=cap.dgram_v6,
        ping_group_range=cap.ping_group_range,
        gid=cap.gid,
    )
    async with Pinger(dgram_only) as pinger:
        assert pinger.mode == "dgram"
        results = await pinger.sweep(["127.0.0.1", "127.30.0.1"], count=2, interval=0.01)
    assert all(r.received == 2 for r in results.values()), results


async def test_a_small_receive_buffer_is_read_while_sending_and_nothing_is_lost(capability):
    """Replies wait unread while a sweep sends; with room for a few dozen of them the sweep
    must stop to read, or the kernel drops the rest and live hosts look lost."""
    targets = [f"127.40.{i // 250}.{i % 250 + 1}" for i in range(1500)]
    async with Pinger(capability, rcvbuf=16 * 1024, chunk=4096) as pinger:
        results = await pinger.sweep(targets, count=2, interval=0.01, timeout=2.0)
    lost = [a for a, r in results.items() if r.received != 2]
    assert not lost, f"{len(lost)} hosts lost replies, e.g. {lost[:3]}"


# -- the fast paths, held to the simple ones -----------------------------------------------

nonces = st.binary(min_size=8, max_size=8)
indexes = st.integers(min_value=0, max_value=2**32 - 1)
idents = st.integers(min_value=0, max_value=0xFFFF)


@given(st.sampled_from([ICMP_ECHO_REQUEST, ICMP6_ECHO_REQUEST]), idents, nonces, indexes)
def test_template_packets_equal_packets_built_with_a_full_checksum(kind, ident, nonce, index):
    packet = EchoTemplate(kind, ident, nonce).packet(index)
    assert packet == build_echo(kind, ident, nonce, index)
    if kind == ICMP_ECHO_REQUEST:
        assert checksum(packet) == 0  # a valid packet sums to all ones
    else:
        assert packet[2:4] == b"\0\0"  # left to the kernel (IPv6 pseudo-header)
    assert parse_reply(packet) == (kind, ident, index & 0xFFFF, nonce, index)


def test_a_datagram_too_short_is_not_parsed():
    assert parse_reply(build_echo(ICMP_ECHO_REPLY, 1, b"n" * 8, 5)[:19]) is None


def reference_results(targets, count, rtt_ns, errors):
    """The plain computation (min/avg/max over the answered rounds) every path must equal."""
    out = {}
    n = len(targets)
    for i, address in enumerate(targets):
        rtts = [rtt_ns[r * n + i] / 1e6 for r in range(count) if rtt_ns[r * n + i] >= 0]
        out[address] = PingResult(
            address=address,
            sent=count,
            received=len(rtts),
            loss=(count - len(rtts)) / count,
            rtt_min_ms=min(rtts) if rtts else None,
            rtt_avg_ms=sum(rtts) / len(rtts) if rtts else None,
            rtt_max_ms=max(rtts) if rtts else None,
            error=errors.get(i),
        )
    return out


@st.composite
def sweep_books(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    count = draw(st.integers(min_value=1, max_value=3))
    rtts = draw(
        st.lists(
            st.one_of(st.just(-1), st.integers(min_value=0, max_value=10**10)),
            min_size=n * count,
            max_size=n * count,
        )
    )
    errors = draw(st.dictionaries(st.integers(0, n - 1), st.text(max_size=5), max_size=2))
    book = SweepBook(b"12345678", 7, [f"127.0.0.{i + 1}" for i in range(n)], count)
    book.rtt_ns = array("q", rtts)
    book.errors = errors
    settle_first = draw(st.booleans())
    return book, settle_first


@given(sweep_books())
def test_results_are_the_same_whether_settled_early_or_not(drawn):
    """Results of hosts that answered are built while the sweep waits (settle); the count-1
    branch skips the lists: both must give what the plain computation gives."""
    book, settle_first = drawn
    if settle_first:
        book.settle()
    expected = reference_results(book.targets, book.count, book.rtt_ns, book.errors)
    assert book.results() == expected
    for address, result in book.results().items():  # same types, not just equal values
        assert type(result.loss) is type(expected[address].loss)


@given(
    st.text(max_size=20),
    st.integers(0, 5),
    st.integers(0, 5),
    st.floats(0, 1),
    st.one_of(st.none(), st.floats(allow_nan=False)),
    st.one_of(st.none(), st.text(max_size=5)),
)
def test_the_fast_result_constructor_builds_the_dataclass(address, sent, got, loss, rtt, err):
    fast = make_result(address, sent, got, loss, rtt, rtt, rtt, err)
    assert fast == PingResult(address, sent, got, loss, rtt, rtt, rtt, err)
    assert hash(fast) == hash(PingResult(address, sent, got, loss, rtt, rtt, rtt, err))
    with pytest.raises(AttributeError):
        fast.received = 9  # still frozen


ipv4ish = st.lists(
    st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "", " 1", "x"])),
    min_size=3,
    max_size=5,
).map(".".join)


@given(st.one_of(ipv4ish, st.text(max_size=15), st.sampled_from(["::1", "fe80::1", "1.2.3.4"])))
def test_targets_are_accepted_exactly_when_ipaddress_accepts_them(host):
    """IPv4 literals take a faster check than ipaddress: it must accept the same strings."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        with pytest.raises(IcmpAddressError):
            parse_targets([host])
        return
    unique, families, sockaddrs = parse_targets([host, host])
    assert unique == [host]
    assert sockaddrs[0][0] == str(ip)
    assert len(sockaddrs[0]) == (4 if ip.version == 6 else 2)


def test_a_reply_received_after_the_deadline_does_not_count():
    """Replies are read late (after sending); what counts is when the kernel received them."""
    book = SweepBook(b"12345678", 7, ["127.0.0.1", "127.0.0.2"], 1)
    book.send_ns[0] = book.send_ns[1] = 1_000
    book.deadline_ns = 5_000
    book.on_reply(0, 5_000)  # just in time
    book.on_reply(1, 5_001)  # too late
    book.on_reply(0, 4_000)  # a duplicate changes nothing
    results = book.results()
    assert results["127.0.0.1"].received == 1 and results["127.0.0.1"].rtt_avg_ms == 0.004
    assert results["127.0.0.2"].received == 0 and results["127.0.0.2"].loss == 1.0
