"""Readiness tells a caller without a token only that the store is unavailable; the detail
(host, port, SQL) goes to the log. Runs on SQLite and PostgreSQL with a real store failure."""

from __future__ import annotations

import logging

import sqlalchemy as sa


async def test_readyz_hides_the_store_error_and_logs_it(api, caplog) -> None:
    assert (await api.call("GET", "/readyz", as_=None)).status == 200
    with api.engines.write.begin() as conn:
        conn.execute(sa.text("ALTER TABLE tickets RENAME TO tickets_elsewhere"))
    try:
        with caplog.at_level(logging.WARNING, logger="bridge.api.health"):
            reply = await api.call("GET", "/readyz", as_=None)
    finally:
        with api.engines.write.begin() as conn:
            conn.execute(sa.text("ALTER TABLE tickets_elsewhere RENAME TO tickets"))
    assert reply.status == 503, reply
    assert reply.body == {"status": "unavailable", "error": "store unavailable"}
    assert "tickets" in caplog.text  # the operator's log names what failed
