"""The mail section and customer contacts: defaults on loopback, secrets from the environment,
and a bad value named with its place in the file."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.config import ConfigError, parse_config

MAIL = {
    "smtp": {"host": "127.0.0.1", "port": 2525, "user": "desk", "password": "${MAIL_PASS}"},
    "from_address": "support@helpdesk.test",
    "reply_address": "support@helpdesk.test",
    "signing_key": "${MAIL_KEY}",
    "imap": [{"user": "support@helpdesk.test", "password": "${MAIL_PASS}", "port": 1143}],
}
ENV = {"MAIL_PASS": "pw", "MAIL_KEY": "k" * 32}


def test_mail_section_reads_secrets_from_the_environment(config_variant) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["mail"] = MAIL
        doc["customers"][0]["contacts"] = [
            {"name": "Ola", "email": "ola@example.test", "language": "pl", "notices": ["resolved"]}
        ]

    cfg = parse_config(config_variant(edit), "c.yaml", env=ENV)
    assert cfg.mail is not None
    assert cfg.mail.smtp.password == "pw" and cfg.mail.signing_key == "k" * 32
    assert cfg.mail.smtp.security == "none" and cfg.mail.imap[0].folder == "INBOX"
    contact = cfg.customers[0].contacts[0]
    assert (contact.language, contact.notices) == ("pl", ["resolved"])


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("from_address",), "nobody", "mail.from_address"),
        (("signing_key",), "short", "mail.signing_key"),
        (("smtp", "security"), "ssl", "mail.smtp.security"),
        (("base_url",), "desk.example.com", "mail.base_url"),
        (("smtp", "colour"), "blue", "mail.smtp.colour"),
    ],
)
def test_bad_mail_values_are_named(config_variant, path, value, expected) -> None:
    def edit(doc: dict[str, Any]) -> None:
        mail = {k: (dict(v) if isinstance(v, dict) else v) for k, v in MAIL.items()}
        target = mail
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        doc["mail"] = mail

    with pytest.raises(ConfigError) as info:
        parse_config(config_variant(edit), "c.yaml", env=ENV)
    assert len(info.value.lines()) == 1
    assert info.value.lines()[0].startswith(f"c.yaml: {expected} (line ")


def test_a_contact_with_an_unknown_language_or_notice_is_refused(config_variant) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["customers"][0]["contacts"] = [
            {"name": "A", "email": "a@example.test", "language": "de", "notices": ["gossip"]}
        ]

    with pytest.raises(ConfigError) as info:
        parse_config(config_variant(edit), "c.yaml", env=ENV)
    lines = info.value.lines()
    assert lines[0].startswith("c.yaml: customers[0].contacts[0].language (line ")
    assert lines[0].endswith("Input should be 'en', 'pl', 'cs', 'it' or 'ru'")
    assert lines[1].startswith("c.yaml: customers[0].contacts[0].notices[0] (line ")
