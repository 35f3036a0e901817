"""The test mail servers behave like a desk's: Postfix takes mail on loopback and Dovecot
holds it for IMAP; a refused domain answers 5xx; a stopped Postfix refuses connections."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.peers.mail import MailServers


def _msg(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "support@helpdesk.test"
    msg["To"] = to
    msg["Subject"] = "hello"
    msg.set_content("body")
    return msg


def test_postfix_delivers_into_dovecot_and_refuses_what_it_should(
    mail_servers: MailServers,
) -> None:
    mail_servers.send(_msg("alice@example.test"))
    got = mail_servers.wait_for("alice@example.test", 1)
    assert [m["Subject"] for m in got] == ["hello"]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail_servers.send(_msg("x@reject.test"))
    assert refused.value.recipients["x@reject.test"][0] == 550
    mail_servers.stop_smtp()
    with pytest.raises(ConnectionRefusedError):
        mail_servers.send(_msg("alice@example.test"))
    mail_servers.start_smtp()
    mail_servers.send(_msg("alice@example.test"))
    assert len(mail_servers.wait_for("alice@example.test", 2)) == 2
