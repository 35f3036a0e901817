"""Parsing mail that real servers and clients wrote: machine-made mail is recognised (vacation,
reject, bounces, delay warnings, success reports), a person's reply keeps only its new text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.notices.inbound import parse, strip_quotes

FIXTURES = Path(__file__).parent / "fixtures"
AUTOMATIC = [
    "vacation-en.imap.eml", "vacation-pl.imap.eml", "vacation-default-subject.imap.eml",
    "sieve-reject.imap.eml", "postfix-bounce-unknown-user.imap.eml",
    "postfix-delay-warning.imap.eml", "postfix-dsn-delivered.imap.eml",
]  # fmt: skip


@pytest.mark.parametrize("name", AUTOMATIC)
def test_machine_made_mail_is_recognised(name: str) -> None:
    assert parse((FIXTURES / name).read_bytes()).automatic.startswith("Auto-Submitted: auto-")


@pytest.mark.parametrize(
    "name", ["delivered-lmtp.sent.eml", "human-reply.imap.eml", "human-reply-html.imap.eml"]
)
def test_a_persons_mail_is_not_automatic(name: str) -> None:
    assert parse((FIXTURES / name).read_bytes()).automatic == ""


@pytest.mark.parametrize("name", ["human-reply.imap.eml", "human-reply-html.imap.eml"])
def test_a_reply_keeps_its_new_text_and_names_what_it_answers(name: str) -> None:
    m = parse((FIXTURES / name).read_bytes())
    assert m.text.startswith("Dzień dobry,\n\nNadal nie działa.")
    assert "napisał" not in m.text and ">" not in m.text
    assert "napisał" in m.full_text  # the original is kept
    assert m.refs[0] == "<179623128738.6241.13323828699260276452@helpdesk.test>"
    assert m.sender == "dave@example.test"
    assert m.subject.startswith("Re: [INC-000123]")


def test_a_mail_without_message_id_is_keyed_by_its_bytes() -> None:
    raw = b"From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse(raw).key == parse(raw).key and parse(raw).key.startswith("sha256:")
    assert parse(raw).key != parse(raw + b"more\r\n").key


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Fine now.\n\nOn Mon, Desk wrote:\n> old\n", "Fine now."),
        ("Fine now.\n> old\n>\n", "Fine now."),
        ("> only a quote\n", "> only a quote"),  # nothing new: keep everything
        ("I wrote: > is the prompt\nmore", "I wrote: > is the prompt\nmore"),
        ("Answer\n-----Original Message-----\nFrom: x", "Answer"),
    ],
)
def test_quotes_are_stripped_conservatively(text: str, kept: str) -> None:
    assert strip_quotes(text) == kept
