"""A mail read from the desk's mailbox, parsed: who sent it, what it answers, whether a
machine wrote it, and the new text without the quoted original. Pure: no store, no network.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?( reply| response)?:|out of (the )?office|autoreply|"
    r"undeliverable|delivery status notification|returned mail|"
    r"nieobecno|odpověď v nepřítomnosti|risposta automatica|автоответ)",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^\s*(on\s.+\swrote:|w dniu\s.+\snapisał(\(a\))?:|.+\snapisał(\(a\))?:|dne\s.+\snapsal\S*:"
    r"|il giorno\s.+\sha scritto:|.+\sнаписал\S*:|-{2,}\s*original message\s*-{2,})\s*$",
    re.IGNORECASE,
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# a header that is one bare address (no name, comment, quote or list): parses to itself
_BARE_ADDRESS = re.compile(r"\s*([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+)\s*")


@dataclass(frozen=True, slots=True)
class Inbound:
    key: str  # Message-ID, or a hash of the bytes when there is none
    sender: str
    subject: str
    recipients: list[str]
    refs: list[str]  # In-Reply-To first, then References newest first
    text: str  # the new text, quotes stripped
    full_text: str
    automatic: str  # why it is automatic, "" when a person wrote it
    raw: bytes = field(repr=False)


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii() and "=?" not in value:
        return " ".join(value.split())  # no encoded word: what decoding would give, cheaper
    try:
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except (LookupError, ValueError, UnicodeDecodeError):
        return " ".join(str(value).split())


def automatic(msg: Message) -> str:
    """Why a mail is machine-made (RFC 3834 and the common vendor markers), else ""."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if msg.get(header):
            return f"{header}: {_header(msg, header)}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "auto_reply", "list", "junk"):
        return f"Precedence: {precedence}"
    if msg.get_content_type() == "multipart/report":
        return "a delivery or disposition report"
    if _header(msg, "Return-Path") == "<>":
        return "Return-Path: <> (sent by a mail system)"
    subject = _header(msg, "Subject")
    if _AUTO_SUBJECT.match(subject):
        return f"subject '{subject}'"
    return ""


def strip_quotes(text: str) -> str:
    """The text above the first attribution line or the trailing quoted block. Conservative:
    when that leaves nothing, the whole text is kept."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if _ATTRIBUTION.match(line):
            cut = i
            break
    else:
        i = len(lines)
        while i > 0 and (lines[i - 1].startswith(">") or not lines[i - 1].strip()):
            i -= 1
        if any(line.startswith(">") for line in lines[i:]):
            cut = i
    kept = "\n".join(lines[:cut]).strip()
    return kept or text.strip()


def _text_part(msg: Message, subtype: str) -> Message | None:
    for part in msg.walk():
        if part.get_content_maintype() == "multipart" or part.get_content_type() != subtype:
            continue
        if part.get_content_disposition() == "attachment":
            continue
        return part
    return None


def _body(msg: Message) -> str:
    """The plain text (else the HTML made plain) of the first part a reader would see.
    Parsed with the compat32 policy and decoded here: EmailMessage's header objects cost
    about five times as much per mail (bench/mail.py)."""
    part = _text_part(msg, "text/plain") or _text_part(msg, "text/html")
    if part is None:
        return ""
    payload = part.get_payload(decode=True) or b""
    try:
        content = payload.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:
        content = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        content = re.sub(r"(?is)<div class=\"gmail_quote\".*", "", content)
        content = re.sub(r"(?is)<blockquote.*?</blockquote>", "", content)
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
        content = html.unescape(re.sub(r"<[^>]+>", "", content))
    return content


def _address(value: str) -> str:
    if bare := _BARE_ADDRESS.fullmatch(value):
        return bare.group(1).lower()
    return parseaddr(value)[1].lower()


def _addresses(values: list[str]) -> list[str]:
    """The addresses of these headers, lower-case; the plain ones without the full parser
    (it is a third of a simple mail's parse time)."""
    bare = [_BARE_ADDRESS.fullmatch(v) for v in values]
    if all(bare):
        return [b.group(1).lower() for b in bare if b]
    return [a.lower() for _n, a in getaddresses(values) if a]


def parse(raw: bytes) -> Inbound:
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    mid = _MESSAGE_ID.search(str(msg.get("Message-ID", "")))
    key = mid.group(0) if mid else "sha256:" + hashlib.sha256(raw).hexdigest()
    sender = _address(_header(msg, "From"))
    rcpt_headers = [str(v) for h in ("Delivered-To", "To", "Cc") for v in msg.get_all(h, [])]
    recipients = _addresses(rcpt_headers)
    refs = _MESSAGE_ID.findall(str(msg.get("In-Reply-To", "")))
    refs += list(reversed(_MESSAGE_ID.findall(str(msg.get("References", "")))))
    full = _body(msg)
    return Inbound(
        key=key[:512],
        sender=sender,
        subject=_header(msg, "Subject"),
        recipients=recipients,
        refs=refs,
        text=strip_quotes(full),
        full_text=full,
        automatic=automatic(msg),
        raw=raw,
    )
