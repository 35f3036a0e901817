"""Raw datagrams through a running receiver: the captured ones decode to the parser's fixtures,
and hostile ones (truncated, mutated BER, noise) never stop it; each gets exactly one verdict."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.alert import Alert
from bridge.config.models import SourceConfig
from bridge.sources import snmptrap
from bridge.traps.receiver import TrapListenError, TrapReceiver
from tests.bridge.sources._support import check_contract
from tests.traps.conftest import trap_source

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "payloads" / "snmptrap"
BINS = sorted(CAPTURED.glob("*.bin"))
VALID = (CAPTURED / "linkdown-trap.bin").read_bytes()


class Hosted:
    """A receiver on its own event loop in a thread, so hypothesis can drive it synchronously."""

    def __init__(self) -> None:
        # the captures were sent with community "public" and engine 0x8000000001020304
        source = SourceConfig.model_validate(trap_source(communities=["public"]))
        self.alerts: list[Alert] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def sink(batch: list[Alert]) -> None:
            self.alerts.extend(batch)

        async def make() -> TrapReceiver:
            receiver = TrapReceiver(source, sink)
            await receiver.start()
            return receiver

        self.receiver = self.call(make())
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def send(self, *datagrams: bytes) -> None:
        """Send and wait until every datagram has its verdict and its alerts are handed on."""
        target = self.call(self._received())
        for d in datagrams:
            self.sock.sendto(d, self.receiver.address)
        self.call(self._settle(target + len(datagrams)))

    async def _received(self) -> int:
        return self.receiver.received

    async def _settle(self, count: int) -> None:
        await self.receiver.judged(count)
        await self.receiver.drained()

    def close(self) -> None:
        self.call(self.receiver.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
        self.sock.close()


@pytest.fixture(scope="module")
def hosted() -> Iterator[Hosted]:
    h = Hosted()
    try:
        yield h
    finally:
        h.close()


@pytest.mark.parametrize("capture", BINS, ids=[p.stem for p in BINS])
def test_each_captured_datagram_decodes_to_its_parser_fixture(
    hosted: Hosted, capture: Path
) -> None:
    hosted.alerts.clear()
    hosted.send(capture.read_bytes())
    decoded = json.loads(capture.with_suffix(".json").read_text(encoding="utf-8"))
    assert hosted.alerts == snmptrap.parse(decoded)


truncated = st.sampled_from([p.read_bytes() for p in BINS]).flatmap(
    lambda b: st.integers(min_value=0, max_value=len(b) - 1).map(lambda n: b[:n])
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([p.read_bytes() for p in BINS])))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "set":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif len(data) > 1:
            del data[at]
    return bytes(data)


length_bombs = st.sampled_from(
    [b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x80\x02\x01\x01", b"\x30\x03\x02\x01\x01",
     b"\x30\x06\x02\x01\x03\x30\x81\xff", b"\x30\x0b\x02\x01\x01\x04\x06public"]
)  # fmt: skip
hostile = st.one_of(truncated, mutated(), length_bombs, st.binary(max_size=300))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(hostile, min_size=1, max_size=8))
def test_hostile_datagrams_never_stop_the_receiver_and_all_are_counted(
    hosted: Hosted, batch: list[bytes]
) -> None:
    hosted.alerts.clear()
    hosted.send(*batch, VALID)
    r = hosted.receiver
    assert sum(r.outcomes.values()) == r.received
    assert hosted.alerts[-1].identity == "link:127.0.0.1:2"  # the good one after the noise
    for alert in hosted.alerts:
        check_contract(lambda _payload, a=alert: [a], None)


async def test_a_busy_address_is_named_at_start() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        source = SourceConfig.model_validate(trap_source(listen=f"127.0.0.1:{port}"))
        receiver = TrapReceiver(source, lambda batch: asyncio.sleep(0))
        with pytest.raises(TrapListenError) as caught:
            await receiver.start()
    assert str(caught.value) == (
        f"snmptrap source 'traps' cannot listen on 127.0.0.1:{port}: Address already in use"
    )
