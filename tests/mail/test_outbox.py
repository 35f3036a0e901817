"""Customer notices go out through the outbox to a real Postfix and land in Dovecot: one per
recipient, in the recipient's language, exactly once, retried while the server is away, and
failed for good (visible on the ticket and on /metrics) when the server refuses."""

from __future__ import annotations

import io
from datetime import timedelta
from unittest import mock

import pytest

from bridge import cli
from bridge.accounts import users
from tests.conftest import EXAMPLE_CONFIG
from tests.mail.conftest import device_down, fire, notices, outbox, rows, send_pass
from tests.peers.mail import MailServers

pytestmark = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


async def test_a_monitoring_ticket_tells_every_contact_once_in_their_language(
    mail_servers: MailServers, mail_config, start_api, engines
) -> None:
    api = await start_api(mail_config(mail_servers))
    await fire(api, device_down())
    [notice] = rows(engines, notices)
    assert (notice["kind"], notice["state"]) == ("proactive", "pending")
    results = await send_pass(api)
    assert [r.outcome for r in results] == ["sent", "sent"]
    assert await send_pass(api) == []
    [en] = mail_servers.wait_for("alice@example.test", 1)
    [pl] = mail_servers.wait_for("ola@example.test", 1)
    assert en["Subject"].startswith("[INC-000001] We noticed a problem: ")
    assert pl["Subject"].startswith("[INC-000001] Zauważyliśmy problem: ")
    assert en["Auto-Submitted"] == "auto-generated"
    sent = {r["recipient"]: r for r in rows(engines, outbox)}
    assert en["Message-ID"] == sent["alice@example.test"]["message_id"]
    assert en["Reply-To"] == f"support+{sent['alice@example.test']['token']}@helpdesk.test"
    assert "acme-edge" in en.get_body(("plain",)).get_content()
    assert {r["status"] for r in sent.values()} == {"sent"}


async def test_a_server_away_for_30_s_during_a_burst_delivers_each_notice_once(
    mail_servers: MailServers, mail_config, start_api, engines, clock
) -> None:
    api = await start_api(mail_config(mail_servers))
    mail_servers.stop_smtp()
    for n in range(5):
        await fire(api, device_down(f"f{n}", alertname=f"Check{n}"))
    results = await send_pass(api)
    assert len(results) == 10 and {r.outcome for r in results} == {"retry"}
    assert await send_pass(api) == []  # backing off: nothing due yet
    clock.advance(timedelta(seconds=11))  # 10 s, then 20 s: the server is away for 30 s
    assert {r.outcome for r in await send_pass(api)} == {"retry"}
    clock.advance(timedelta(seconds=19))
    mail_servers.start_smtp()
    assert await send_pass(api) == []
    clock.advance(timedelta(seconds=2))
    results = await send_pass(api)
    assert [r.outcome for r in results] == ["sent"] * 10
    clock.advance(timedelta(minutes=10))
    assert await send_pass(api) == []
    inbox = mail_servers.wait_for("alice@example.test", 5)
    assert sorted(m["Subject"][:12] for m in inbox) == [f"[INC-00000{n}]" for n in range(1, 6)]
    assert len({m["Message-ID"] for m in inbox}) == 5
    assert {r["attempts"] for r in rows(engines, outbox)} == {3}


async def test_a_refused_recipient_fails_for_good_visibly(
    mail_servers: MailServers, mail_config, start_api, engines
) -> None:
    contacts = [{"name": "Nobody", "email": "nobody@reject.test"}]
    api = await start_api(mail_config(mail_servers, contacts=contacts))
    await fire(api, device_down())
    [result] = await send_pass(api)
    assert result.outcome == "failed" and result.error.startswith("550 ")
    [row] = rows(engines, outbox)
    assert row["status"] == "failed"
    ticket = await api.get("INC-000001")
    notes = [e for e in ticket["history"] if e["kind"] == "commented"]
    assert "nobody@reject.test could not be delivered: 550" in notes[-1]["data"]["text"]
    [message] = await api.ok("GET", "/api/v1/tickets/INC-000001/mail")
    assert (message["kind"], message["status"], message["recipient"]) == (
        "proactive", "failed", "nobody@reject.test"
    )
    assert message["last_error"].startswith("550 ")
    customer = await api.call("GET", "/api/v1/tickets/INC-000001/mail", as_="acme-portal")
    assert customer.status == 403
    resp = await api.client.get("/metrics")
    assert 'slabridge_mail_messages{status="failed"} 1.0' in await resp.text()


async def test_customer_users_with_an_address_hear_their_customer_s_notices(
    mail_servers: MailServers, mail_config, start_api, engines, clock
) -> None:
    contacts = [
        {"name": "Alice Admin", "email": "alice@example.test"},
        {"name": "Ola Nowak", "email": "ola@example.test", "language": "pl",
         "notices": ["resolved"]},
    ]  # fmt: skip
    cfg = mail_config(mail_servers, contacts=contacts)
    accounts = [  # name, customer, email, disabled
        ("carol", "acme", "carol@example.test", False),
        ("bob", "acme", "bob@example.test", True),  # disabled: hears nothing
        ("acme-noaddr", "acme", None, False),
        ("dave", "brno-bank", "dave@example.test", False),  # another customer
        ("ola-login", "acme", "OLA@example.test", False),  # a contact who declined it
    ]
    with engines.write.begin() as conn:
        for name, customer, email, disabled in accounts:
            users.add(conn, cfg, name=name, role="customer", password="customer pw 1",
                      now=clock.now(), customer=customer, email=email)  # fmt: skip
            if disabled:
                users.set_disabled(conn, name)
    api = await start_api(cfg)
    await fire(api, device_down())
    results = await send_pass(api)
    assert [r.outcome for r in results] == ["sent", "sent"]
    sent = {r["recipient"]: (r["name"], r["language"]) for r in rows(engines, outbox)}
    assert sent == {
        "alice@example.test": ("Alice Admin", "en"),
        "carol@example.test": ("carol", "en"),
    }
    [mail] = mail_servers.wait_for("carol@example.test", 1)
    assert mail["Subject"].startswith("[INC-000001] We noticed a problem: ")


def test_a_user_s_address_is_set_from_the_command_line(store_url, tmp_path, capsys) -> None:
    store = (
        ["--data-dir", str(tmp_path)]
        if store_url.startswith("sqlite")
        else ["--database-url", store_url]
    )

    def user(*argv: str) -> tuple[int, str, str]:
        code = cli.main(
            ["user", *argv, "--config", str(EXAMPLE_CONFIG), *store, "--password-stdin"]
        )
        out = capsys.readouterr()
        return code, out.out, out.err

    with mock.patch("sys.stdin", io.StringIO("customer pw 1\n")):
        assert user("add", "carol", "--role", "customer", "--customer", "acme",
                    "--email", "carol@example.test")[0] == 0  # fmt: skip
    assert user("list")[1].splitlines() == ["carol\tcustomer\tacme\tactive\tcarol@example.test"]
    assert user("email", "carol", "c.ops@example.test") == (
        0, "user carol: e-mail c.ops@example.test\n", ""
    )
    code, out, err = user("email", "carol", "not an address")
    assert (code, out) == (2, "")
    assert err == (
        "slabridge user email: 'not an address' is not an e-mail address such as "
        "support@example.com\n"
    )
    assert user("email", "carol")[1] == "user carol: no e-mail\n"
    assert user("list")[1].splitlines() == ["carol\tcustomer\tacme\tactive"]
