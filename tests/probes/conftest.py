"""Fixtures with real peers for the probe tests; the helpers live in probe_peers.py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from probe_peers import SilentRange, require_binary, require_root


@pytest.fixture
def silent_range(request: pytest.FixtureRequest) -> Iterator[SilentRange]:
    """127.77.<n>.0/24 answers no ping; the test's own nft table, always removed."""
    require_root("the nftables fixture")
    nft = require_binary("nft", "nftables")
    n = abs(hash(request.node.nodeid)) % 250
    rng = SilentRange(nft, f"slabridge_test_{os.getpid()}_{n}", f"127.77.{n}.0/24")
    try:
        rng.add()
    except subprocess.CalledProcessError as err:
        pytest.fail(f"nft could not add table {rng.table}: {err.stderr}", pytrace=False)
    try:
        yield rng
    finally:
        rng.remove()
