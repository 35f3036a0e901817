"""Signed verification links: `/verify/{token}`.

A token names the ticket, the resolve event (its seq), the recipient, the answer it gives and
when it expires (the end of the verification window), signed with HMAC (itsdangerous) under
the mail section's key. Nothing is stored per link: the signature is the proof, and the resolve
seq makes a link for an earlier resolution inert once the ticket has moved on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer

Answer = Literal["works", "broken"]
_SALT = "slabridge.verify.v1"


class BadLink(Exception):
    """Tampered, malformed or expired; the page says which, nothing changes."""


@dataclass(frozen=True, slots=True)
class Verification:
    ticket_id: int
    seq: int
    recipient: str
    answer: Answer
    expires: datetime


def _serializer(key: str) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=_SALT)


def sign(key: str, v: Verification) -> str:
    payload = [v.ticket_id, v.seq, v.recipient, v.answer, int(v.expires.timestamp())]
    return _serializer(key).dumps(payload)


def check(key: str, token: str, now: datetime) -> Verification:
    """The verification a token carries; BadLink when it is not ours or has expired."""
    try:
        ticket_id, seq, recipient, answer, expires = _serializer(key).loads(token)
    except (BadSignature, ValueError, TypeError) as err:
        raise BadLink("This link is not valid: it was changed or cut short.") from err
    if answer not in ("works", "broken") or not isinstance(ticket_id, int):
        raise BadLink("This link is not valid: it was changed or cut short.")
    until = datetime.fromtimestamp(expires, UTC)
    if now >= until:
        raise BadLink("This link has expired: the verification window has ended.")
    return Verification(ticket_id, seq, recipient, answer, until)
