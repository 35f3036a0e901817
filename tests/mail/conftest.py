"""Mail test helpers: the example config with a `mail:` section pointing at the test mail
servers, contacts for acme (alice in English, ola in Polish), and a started API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.config import Config
from bridge.notices.wiring import SENDER
from bridge.store import Engines
from bridge.store.schema import notices, outbox
from tests.bridge.ingest_fixtures import AM_TOKEN, am_alert, am_payload
from tests.peers.mail import SUPPORT, MailServers

KEY = "test-signing-key-0123456789"
CONTACTS = [
    {"name": "Alice Admin", "email": "alice@example.test", "language": "en"},
    {"name": "Ola Nowak", "email": "ola@example.test", "language": "pl"},
]


def mail_section(servers: MailServers | None, **extra: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "smtp": {"host": "127.0.0.1", "port": servers.smtp_port if servers else 1},
        "from_address": SUPPORT,
        "reply_address": SUPPORT,
        "signing_key": KEY,
        "retry_initial": "10s",
        "retry_max": "5m",
        "hold": 0,  # proactive notices at once (the default waits 30 s for a major incident)
    }
    if servers is not None:
        section["imap"] = [
            {"port": servers.imap_port, "user": SUPPORT, "password": "secret", "poll_interval": 1}
        ]
    section.update(extra)
    return section


@pytest.fixture
def mail_config(make_config: Callable[..., Config]) -> Callable[..., Config]:
    """``mail_config(servers, contacts=CONTACTS, **mail_overrides) -> Config``."""

    def build(
        servers: MailServers | None, contacts: list[dict] | None = None, **extra: Any
    ) -> Config:
        def edit(doc: dict[str, Any]) -> None:
            doc["mail"] = mail_section(servers, **extra)
            acme = next(c for c in doc["customers"] if c["id"] == "acme")
            acme["contacts"] = CONTACTS if contacts is None else contacts

        return make_config(edit)

    return build


async def fire(api: Any, *alerts: dict[str, Any]) -> Any:
    return await api.ok(
        "POST", "/api/v1/alerts/prometheus", as_=None,
        headers={"Authorization": f"Bearer {AM_TOKEN}"}, json=am_payload(*alerts),
    )  # fmt: skip


def device_down(fingerprint: str = "f1", device: str = "acme-edge", **kw: Any) -> dict:
    return am_alert(fingerprint, {"device": device}, **kw)


def send_pass(api: Any) -> Awaitable[list]:
    return api.app[SENDER].run_once()


def rows(engines: Engines, table: sa.Table) -> list[dict[str, Any]]:
    with engines.read.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


__all__ = ["notices", "outbox"]
