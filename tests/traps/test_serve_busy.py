"""`slabridge serve` whose trap source's address is taken: one line on stderr, no traceback,
the same exit status as a busy HTTP port, and the store untouched."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.bridge.test_serve_lifecycle import (
    START_GUARD,
    free_port,
    serve,
    store_args,
    store_untouched,
)
from tests.traps.conftest import trap_source


@pytest.fixture
def busy_udp_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_start_with_a_busy_trap_address_fails_in_one_line_before_touching_the_store(
    busy_udp_port, store_url, tmp_path, config_variant
):
    listen = f"127.0.0.1:{busy_udp_port}"
    config = tmp_path / "slabridge.yaml"
    config.write_text(
        config_variant(lambda doc: doc["sources"].append(trap_source(listen=listen))),
        encoding="utf-8",
    )
    proc = serve(config, free_port(), store_args(store_url, tmp_path))
    _, err = proc.communicate(timeout=START_GUARD)
    assert proc.returncode == 1, err
    assert err.strip().splitlines() == [
        f"slabridge: snmptrap source 'traps' cannot listen on {listen}: Address already in use"
    ]
    assert store_untouched(store_url, tmp_path)
