"""`cluster(nodes=3, edit=None) -> Cluster`: started serve processes on the test's PostgreSQL
database (the suite's temporary cluster), stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.nodes.cluster import Cluster


@pytest.fixture
def cluster(pg_url: str) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def start(nodes: int = 3, edit: Callable[[dict[str, Any]], None] | None = None) -> Cluster:
        c = Cluster(pg_url, nodes, edit=edit)
        made.append(c)
        c.start()
        return c

    try:
        yield start
    finally:
        for c in made:
            c.cleanup()


@pytest.fixture
def db(pg_url: str) -> Iterator[sa.Engine]:
    """A plain engine on the nodes' database, to count what they wrote."""
    engine = sa.create_engine(pg_url)
    try:
        yield engine
    finally:
        engine.dispose()
