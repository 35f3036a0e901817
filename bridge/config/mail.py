"""Customer mail: SMTP out through the outbox, IMAP in."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from bridge.config.fields import Duration, EmailAddress, Strict, _duration_seconds


class SmtpConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password: str | None = None
    timeout: Duration = 30


class ImapConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 143
    security: Literal["none", "starttls", "tls"] = "none"
    user: str
    password: str
    folder: str = "INBOX"
    poll_interval: Duration = 60
    idle: bool = True


def _base_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
        raise ValueError(f"'{value}' is not the desk's address such as https://desk.example.com")
    return value.rstrip("/")


class MailConfig(Strict):
    """Customer notices out (SMTP, through the outbox) and mail in (IMAP)."""

    smtp: SmtpConfig = SmtpConfig()
    from_address: EmailAddress
    from_name: str = "Service Desk"
    # replies come back to local+TOKEN@domain, so a reply names its ticket by itself
    reply_address: EmailAddress
    signing_key: Annotated[str, Field(min_length=16)]
    base_url: Annotated[str, AfterValidator(_base_url)] = "http://127.0.0.1:8080"
    imap: list[ImapConfig] = Field(default_factory=list)
    # a proactive notice waits this long, so a flood that becomes a major incident meanwhile
    # sends the customer the major incident's notice instead of one per alert
    hold: Annotated[float, BeforeValidator(lambda v: _duration_seconds(v) if v else 0.0)] = 30.0
    retry_initial: Duration = 30
    retry_max: Duration = 3600
    send_interval: Duration = 2
