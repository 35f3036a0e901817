"""Notice messages: Jinja2 templates (text and HTML) in the recipient's language.

Catalogues are gettext `.po` files under `locale/` read with Babel at first use (no compiled
files in the tree); a string without a translation stays English, as gettext does.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import datetime
from email import charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime as babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

HERE = Path(__file__).parent
LANGUAGES = ("en", "pl", "cs", "it", "ru")
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP


@functools.cache
def translations(language: str) -> NullTranslations:
    po = HERE / "locale" / f"{language}.po"
    if language == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


@functools.cache
def _env(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def local_time(at: datetime, zone: str, language: str) -> str:
    return babel_datetime(at.astimezone(ZoneInfo(zone)), "medium", locale=language)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: str, language: str, ctx: dict[str, Any]) -> Rendered:
    """Subject and bodies of one notice; `ctx` holds the ticket key, title and the rest."""
    env = _env(language)
    values = {"kind": kind, **ctx}
    subject = env.get_template("subject.txt").render(values).strip()
    return Rendered(
        subject=f"[{ctx['key']}] {subject}",
        text=env.get_template("notice.txt").render(values),
        html=env.get_template("notice.html").render(values),
    )


def message(
    rendered: Rendered,
    *,
    sender: tuple[str, str],
    recipient: tuple[str, str],
    reply_to: str,
    message_id: str,
    date: datetime,
) -> Message:
    """The MIME message (text and HTML alternatives, quoted-printable UTF-8). Built with the
    `email.mime` classes: EmailMessage's content manager costs about three times as much,
    which a burst of a thousand notices feels (bench/mail.py)."""
    msg = MIMEMultipart("alternative")
    msg["From"] = formataddr(sender, charset="utf-8")
    msg["To"] = formataddr(recipient, charset="utf-8")
    msg["Reply-To"] = reply_to
    msg["Subject"] = Header(rendered.subject, "utf-8")
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(date)
    # RFC 3834: responders (vacation, out-of-office) must not answer this
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.attach(MIMEText(rendered.text, "plain", _UTF8_QP))
    msg.attach(MIMEText(rendered.html, "html", _UTF8_QP))
    return msg
