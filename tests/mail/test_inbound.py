"""Mail into the desk's mailbox (real Dovecot, read over IMAP): a contact's mail opens a
ticket, a reply becomes a comment (and reopens a resolved ticket), automatic mail changes
nothing, an unknown sender's mail is kept unrouted, and every mail is handled once."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from bridge.notices import imap, receive
from bridge.notices.inbound import parse
from bridge.notices.wiring import RECEIVERS
from bridge.store.schema import inbound_mail
from tests.mail.conftest import CONTACTS, device_down, fire, rows, send_pass
from tests.peers.mail import SUPPORT, MailServers

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
CONTACTS_WITH_DAVE = [*CONTACTS, {"name": "Dave", "email": "dave@example.test"}]
FIXTURES = Path(__file__).parent / "fixtures"
DAVE = "dave@example.test"


def _mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = headers.pop("to", SUPPORT)
    msg["Subject"] = subject
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return msg


async def _read(api) -> list[str]:
    [receiver] = api.app[RECEIVERS]
    client = await imap.connect(receiver.box)
    try:
        return await receiver.run_once(client)
    finally:
        await client.logout()


async def test_a_contacts_mail_opens_a_ticket_on_the_device_it_names(
    mail_servers: MailServers, mail_config, start_api
) -> None:
    api = await start_api(mail_config(mail_servers, contacts=CONTACTS_WITH_DAVE))
    mail_servers.send(_mail("dave@example.test", "acme-edge drops packets", "Since 9:00."))
    mail_servers.wait_for(SUPPORT, 1)
    assert await _read(api) == ["ticket"]
    ticket = await api.get("INC-000001")
    assert (ticket["origin"], ticket["customer"], ticket["device"]) == (
        "email",
        "acme",
        "acme-edge",
    )
    assert await _read(api) == []  # flagged \\Seen after the commit


async def test_a_reply_is_a_comment_and_reopens_a_resolved_ticket(
    mail_servers: MailServers, mail_config, start_api
) -> None:
    api = await start_api(mail_config(mail_servers))
    [key] = (await fire(api, device_down()))["tickets"]
    await send_pass(api)
    [notice] = mail_servers.wait_for("alice@example.test", 1)
    await api.assign(key, "bob")
    await api.move(key, "resolved")
    reply = _mail(
        "alice@example.test", f"Re: {notice['Subject']}",
        "Still down here.\n\nOn Mon, 5 Oct 2026, Service Desk wrote:\n> Hello Alice\n",
        to=str(notice["Reply-To"]), In_Reply_To=notice["Message-ID"],
    )  # fmt: skip
    mail_servers.send(reply)
    mail_servers.wait_for(SUPPORT, 1)
    assert await _read(api) == ["reopened"]
    ticket = await api.get(key)
    assert ticket["status"] == "in_progress" and ticket["assignee"] == "bob"
    last = ticket["history"][-1]
    assert (last["data"]["text"], last["data"]["visibility"]) == ("Still down here.", "customer")


async def test_a_reply_in_a_thread_of_two_tickets_goes_to_the_one_it_answers(
    mail_servers: MailServers, mail_config, start_api
) -> None:
    api = await start_api(mail_config(mail_servers))
    [first] = (await fire(api, device_down("f1", alertname="DiskFull")))["tickets"]
    [second] = (await fire(api, device_down("f2")))["tickets"]
    await send_pass(api)
    notices = {n["Subject"].split("[")[1].split("]")[0]: n for n in mail_servers.wait_for(
        "alice@example.test", 2
    )}  # fmt: skip
    answered, other = notices[second], notices[first]
    for n, (in_reply_to, key) in enumerate(((answered, second), (other, first)), start=1):
        mail_servers.send(
            _mail(
                "alice@example.test", "Re: both of them", f"About {key}.",
                In_Reply_To=in_reply_to["Message-ID"],
                References=f"{other['Message-ID']} {answered['Message-ID']}",
            )
        )  # fmt: skip
        mail_servers.wait_for(SUPPORT, n)
        assert await _read(api) == ["comment"]
        last = (await api.get(key))["history"][-1]
        assert last["data"]["text"] == f"About {key}.", key


async def test_out_of_office_changes_nothing_and_strangers_are_kept_unrouted(
    mail_servers: MailServers, mail_config, start_api, engines
) -> None:
    api = await start_api(mail_config(mail_servers))
    [key] = (await fire(api, device_down()))["tickets"]
    before = await api.get(key)
    vacation = (FIXTURES / "vacation-en.imap.eml").read_bytes()
    mail_servers.deliver(vacation.replace(b"[INC-000123]", b"[INC-000001]"), SUPPORT)
    mail_servers.send(_mail("stranger@example.test", "Hello?", "Who are you?"))
    mail_servers.wait_for(SUPPORT, 2)
    assert sorted(await _read(api)) == ["automatic", "unrouted"]
    after = await api.get(key)
    assert after["status"] == before["status"] == "new"
    kept = {r["outcome"]: r for r in rows(engines, inbound_mail)}
    assert kept["unrouted"]["sender"] == "stranger@example.test"
    assert b"Who are you?" in kept["unrouted"]["raw"]
    [listed] = await api.ok("GET", "/api/v1/mail/unrouted")
    assert (listed["sender"], listed["subject"]) == ("stranger@example.test", "Hello?")
    path = f"/api/v1/mail/unrouted/{listed['id']}/route"
    refused = await api.call("POST", path, json={"customer": "acme"})  # an engineer
    assert refused.status == 403
    bad = await api.call("POST", path, as_="admin", json={"customer": "nobody"})
    assert bad.status == 400 and "unknown customer" in str(bad.body)
    routed = await api.ok("POST", path, 201, as_="admin", json={"customer": "acme"})
    ticket = await api.get(routed["ticket"])
    assert (ticket["origin"], ticket["customer"]) == ("email", "acme")
    assert ticket["entered_at"] == kept["unrouted"]["received_at"].isoformat()
    assert await api.ok("GET", "/api/v1/mail/unrouted") == []


async def test_each_mail_is_handled_once_even_after_a_crash_before_the_flag(
    mail_servers: MailServers, mail_config, start_api
) -> None:
    api = await start_api(mail_config(mail_servers, contacts=CONTACTS_WITH_DAVE))
    raw = (FIXTURES / "delivered-lmtp.sent.eml").read_bytes()
    mail_servers.deliver(raw, SUPPORT, DAVE)
    mail_servers.deliver(raw, SUPPORT, DAVE)  # the same mail twice (same Message-ID)
    mail_servers.wait_for(SUPPORT, 2)
    assert await _read(api) == ["ticket", "duplicate"]
    # a crash after the commit and before the \\Seen flag: the next read finds it unseen
    other = _mail("dave@example.test", "Second printer", "Also E-203.", Message_ID="<m2@x.test>")
    svc = api.services
    [receiver] = api.app[RECEIVERS]
    await svc.write(lambda conn: receive.handle(
        conn, svc.cfg, svc.cfg.mail, svc.keys, parse(other.as_bytes()),
        mailbox=receiver.name, at=svc.now()))  # fmt: skip
    mail_servers.deliver(other.as_bytes(), SUPPORT, DAVE)
    mail_servers.wait_for(SUPPORT, 3)
    assert await _read(api) == ["duplicate"]
    assert len(await api.list()) == 2


@pytest.mark.parametrize("chunk", [1, 100])
async def test_a_fetched_batch_is_handled_as_one_mail_after_another(
    mail_servers: MailServers, mail_config, start_api, engines, monkeypatch, chunk: int
) -> None:
    monkeypatch.setattr(imap, "CHUNK", chunk)  # 100: all six mails in one fetch and commit
    api = await start_api(mail_config(mail_servers, contacts=CONTACTS_WITH_DAVE))
    [key] = (await fire(api, device_down()))["tickets"]
    await send_pass(api)
    [notice] = mail_servers.wait_for("alice@example.test", 1)
    await api.assign(key, "bob")
    await api.move(key, "resolved")
    new = _mail(DAVE, "Printer shows E-203", "It jams.", Message_ID="<new@x.test>")
    vacation = (FIXTURES / "vacation-en.imap.eml").read_bytes()
    reply = {"to": str(notice["Reply-To"]), "In_Reply_To": notice["Message-ID"]}
    r1 = _mail("alice@example.test", "Re: it", "Still down.", Message_ID="<r1@x.test>", **reply)
    r2 = _mail("alice@example.test", "Re: it", "And now?", Message_ID="<r2@x.test>", **reply)
    mails = [  # (raw, envelope sender); None: as the vacation responder sends it
        (new.as_bytes(), DAVE),
        (new.as_bytes(), DAVE),  # the same Message-ID again
        (vacation.replace(b"[INC-000123]", b"[INC-000001]"), None),
        (_mail("stranger@example.test", "Hello?", "Who?").as_bytes(), "stranger@example.test"),
        (r1.as_bytes(), "alice@example.test"),
        (r2.as_bytes(), "alice@example.test"),
    ]
    for raw, envelope in mails:
        if envelope is None:
            mail_servers.deliver(raw, SUPPORT)
        else:
            mail_servers.deliver(raw, SUPPORT, envelope)
    mail_servers.wait_for(SUPPORT, len(mails))
    assert await _read(api) == [
        "ticket", "duplicate", "automatic", "unrouted", "reopened", "comment"
    ]  # fmt: skip
    assert await _read(api) == []  # every one flagged after its commit
    ticket = await api.get(key)
    assert ticket["status"] == "in_progress"
    history = [(h["kind"], h["data"].get("text")) for h in ticket["history"][-3:]]
    assert history == [
        ("status_changed", None), ("commented", "Still down."), ("commented", "And now?")
    ]  # fmt: skip
    assert len(await api.list()) == 2
    kept = sorted(r["outcome"] for r in rows(engines, inbound_mail))
    assert kept == sorted(["ticket", "automatic", "unrouted", "reopened", "comment"])
