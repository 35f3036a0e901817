"""The outbox: notices expanded into one message per recipient, claimed, and settled.

A message row is written (with its Message-ID and reply token fixed) before any attempt, so
a crash before the SMTP server's answer sends the same message again (same Message-ID: the
receiving side can tell) and a crash after the commit never repeats it. Every function here
runs inside the writer's transaction; `bridge.notices.sender` does the network part.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from bridge.config import Config, Role
from bridge.config.models import MailConfig
from bridge.notices.decide import EXPANDED, PENDING
from bridge.store.schema import notices, outbox, tickets, users

SENT = "sent"
FAILED = "failed"
#: a notice decided while no `mail:` section is configured: nobody will send it
SKIPPED = "skipped"
LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str
    language: str


#: the language of a customer user's notices (users carry no language; contacts do)
USER_LANGUAGE = "en"


def recipients(
    cfg: Config, customer_id: str, kind: str, accounts: Iterable[tuple[str, str]] = ()
) -> list[Recipient]:
    """Who hears a notice of `kind`: the customer's contacts that asked for it, then the
    customer's users with an address (`accounts`: (name, email) of enabled customer users),
    who hear every kind. An address that is also a contact's follows the contact's choice
    of notices, so a person is never told twice nor told what they declined."""
    customer = cfg.customer(customer_id)
    if customer is None:
        return []
    contacts = {c.email.lower() for c in customer.contacts}
    seen: dict[str, Recipient] = {}
    for c in customer.contacts:
        if kind in c.notices and c.email.lower() not in seen:
            seen[c.email.lower()] = Recipient(c.email, c.name, c.language)
    for name, email in accounts:
        key = email.lower()
        if key not in contacts and key not in seen:
            seen[key] = Recipient(email, name, USER_LANGUAGE)
    return list(seen.values())


def customer_accounts(
    conn: sa.Connection, customer_ids: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """(name, email) of every enabled customer user with an address, per customer."""
    wanted = sorted(set(customer_ids))
    out: dict[str, list[tuple[str, str]]] = {c: [] for c in wanted}
    if not wanted:
        return out
    found = conn.execute(
        sa.select(users.c.customer_id, users.c.name, users.c.email)
        .where(
            users.c.role == Role.CUSTOMER.value,
            users.c.customer_id.in_(wanted),
            users.c.disabled.is_(False),
            users.c.email.is_not(None),
            users.c.email != "",
        )
        .order_by(users.c.name)
    )
    for customer_id, name, email in found:
        out[customer_id].append((name, email))
    return out


def skip_pending(conn: sa.Connection) -> int:
    """Without a `mail:` section no notice is ever sent: settle the pending ones as skipped so
    they do not pile up (and are not all sent at once, weeks late, when mail is configured).
    Recording them stays where the ticket events are written, which sees no config."""
    return conn.execute(
        notices.update().where(notices.c.state == PENDING).values(state=SKIPPED)
    ).rowcount


def _message_id(mail: MailConfig, notice_id: int, recipient: str) -> str:
    domain = mail.from_address.rpartition("@")[2]
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:12]
    return f"<notice.{notice_id}.{digest}@{domain}>"


def expand(conn: sa.Connection, cfg: Config, mail: MailConfig, now: datetime) -> int:
    """Turn due notices into outbox messages; returns how many messages were written.

    A proactive notice waits `mail.hold` so that a major incident opened meanwhile can
    withdraw it (bridge.notices.decide)."""
    held_until = now - timedelta(seconds=mail.hold)
    due = conn.execute(
        sa.select(notices.c.id, notices.c.ticket_id, notices.c.kind, tickets.c.customer_id)
        .join(tickets, tickets.c.id == notices.c.ticket_id)
        .where(
            notices.c.state == PENDING,
            sa.or_(notices.c.kind != "proactive", notices.c.created_at <= held_until),
        )
        .order_by(notices.c.id)
        .limit(500)
        # several nodes: notices another node is expanding now are its own (PostgreSQL)
        .with_for_update(of=notices, skip_locked=True)
    ).all()
    rows = []
    accounts = customer_accounts(conn, (d[3] for d in due))
    for notice_id, ticket_id, kind, customer_id in due:
        for r in recipients(cfg, customer_id, kind, accounts.get(customer_id, ())):
            rows.append(
                {
                    "notice_id": notice_id,
                    "ticket_id": ticket_id,
                    "recipient": r.email,
                    "name": r.name,
                    "language": r.language,
                    "message_id": _message_id(mail, notice_id, r.email),
                    "token": secrets.token_hex(8),
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt": now,
                    "created_at": now,
                }
            )
    if due:
        conn.execute(
            notices.update()
            .where(notices.c.id.in_([d[0] for d in due]), notices.c.state == PENDING)
            .values(state=EXPANDED)
        )
    if rows:
        conn.execute(outbox.insert(), rows)
    return len(rows)


_CLAIM_COLUMNS = (
    outbox.c.id,
    outbox.c.recipient,
    outbox.c.name,
    outbox.c.language,
    outbox.c.message_id,
    outbox.c.token,
    outbox.c.attempts,
    notices.c.kind,
    notices.c.seq,
    notices.c.data,
    notices.c.at,
    tickets.c.id.label("ticket_id"),
    tickets.c.customer_id,
    tickets.c.title,
    tickets.c.device_id,
    tickets.c.status,
    tickets.c.close_deadline,
)


def claim(conn: sa.Connection, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Due messages, leased to this sender so another node's sender leaves them alone."""
    found = conn.execute(
        sa.select(*_CLAIM_COLUMNS)
        .join(notices, notices.c.id == outbox.c.notice_id)
        .join(tickets, tickets.c.id == outbox.c.ticket_id)
        .where(
            outbox.c.status == PENDING,
            outbox.c.next_attempt <= now,
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        .order_by(outbox.c.id)
        .limit(limit)
        # several nodes: messages another node is claiming now are its own (PostgreSQL)
        .with_for_update(of=outbox, skip_locked=True)
    ).mappings()
    rows = [dict(r) for r in found]
    if not rows:
        return []
    lease = now + LEASE
    conn.execute(
        outbox.update()
        .where(
            outbox.c.id.in_([r["id"] for r in rows]),
            outbox.c.status == PENDING,
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        .values(lease_until=lease)
    )
    # the rows this lease took (another node's claim in between keeps its own)
    mine = {
        i
        for (i,) in conn.execute(
            sa.select(outbox.c.id).where(
                outbox.c.id.in_([r["id"] for r in rows]), outbox.c.lease_until == lease
            )
        )
    }
    claimed = [r for r in rows if r["id"] in mine]
    return claimed


Outcome = Literal["sent", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class Result:
    outbox_id: int
    outcome: Outcome
    error: str = ""


def backoff(mail: MailConfig, attempts: int) -> timedelta:
    return timedelta(seconds=min(mail.retry_initial * 2 ** max(attempts - 1, 0), mail.retry_max))


def settle(
    conn: sa.Connection, mail: MailConfig, results: list[Result], now: datetime
) -> list[dict[str, Any]]:
    """Record what the SMTP server answered; returns the messages that failed for good."""
    failed = []
    known = {
        i: (ticket_id, recipient, attempts)
        for i, ticket_id, recipient, attempts in conn.execute(
            sa.select(outbox.c.id, outbox.c.ticket_id, outbox.c.recipient, outbox.c.attempts).where(
                outbox.c.id.in_([r.outbox_id for r in results])
            )
        )
    }
    sent = [r.outbox_id for r in results if r.outcome == "sent"]
    if sent:
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(sent), outbox.c.status == PENDING)
            .values(status=SENT, sent_at=now, lease_until=None, attempts=outbox.c.attempts + 1)
        )
    for r in results:
        if r.outcome == "sent":
            continue
        ticket_id, recipient, attempts = known[r.outbox_id]
        values: dict[str, Any] = {"attempts": attempts + 1, "lease_until": None}
        if r.outcome == "failed":
            values.update(status=FAILED, last_error=r.error)
            failed.append({"ticket_id": ticket_id, "recipient": recipient, "error": r.error})
        else:
            values.update(next_attempt=now + backoff(mail, attempts + 1), last_error=r.error)
        conn.execute(
            outbox.update()
            .where(outbox.c.id == r.outbox_id, outbox.c.status == PENDING)
            .values(**values)
        )
    return failed


def for_ticket(conn: sa.Connection, ticket_id: int) -> list[dict[str, Any]]:
    """The ticket's messages and how each fared (for the ticket's page and the API)."""
    rows = conn.execute(
        sa.select(
            outbox.c.id,
            outbox.c.recipient,
            outbox.c.status,
            outbox.c.attempts,
            outbox.c.last_error,
            outbox.c.sent_at,
            outbox.c.message_id,
            notices.c.kind,
        )
        .join(notices, notices.c.id == outbox.c.notice_id)
        .where(outbox.c.ticket_id == ticket_id)
        .order_by(outbox.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def counts(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return {status: n for status, n in rows}
