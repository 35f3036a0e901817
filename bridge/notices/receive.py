"""What a mail from the desk's mailbox does to the store, in one transaction, once.
A fetched batch of mails is applied in one call (`handle_batch`): one look-up of the keys
already seen, the ticket events and kept mails written together; a batch of one is the
same path, and each mail's outcome is what handling them one after the other gives.

Matching a reply: the `+token` of the reply address first (it names one outbox message),
then In-Reply-To/References against recorded Message-IDs, then the subject tag. A reply is a
customer comment (and reopens a resolved ticket); a known contact's new mail opens a ticket;
automatic mail changes no ticket's state; an unknown sender's mail is kept as unrouted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bridge import tickets as tk
from bridge.config import Config
from bridge.config.models import MailConfig
from bridge.lifecycle import Origin, Priority, Status
from bridge.notices.inbound import Inbound
from bridge.store.schema import inbound_mail, outbox

MAIL_ACTOR = "mail"
_SEEN_ANY = sa.select(inbound_mail.c.message_key).where(
    inbound_mail.c.message_key.in_(sa.bindparam("b_keys", expanding=True))
)
_KEEP = inbound_mail.insert()
_BY_TOKEN = sa.select(outbox.c.ticket_id).where(outbox.c.token == sa.bindparam("b_token"))


def contact_customer(cfg: Config, address: str) -> str | None:
    return contacts(cfg).get(address)


def contacts(cfg: Config) -> dict[str, str]:
    """Each contact address (lower-case) → its customer (the first one listing it)."""
    found: dict[str, str] = {}
    for customer in cfg.customers:
        for c in customer.contacts:
            found.setdefault(c.email.lower(), customer.id)
    return found


def _token(mail: MailConfig, recipients: list[str]) -> str | None:
    local, _, domain = mail.reply_address.lower().rpartition("@")
    pattern = re.compile(re.escape(local) + r"\+([0-9a-f]{16})@" + re.escape(domain))
    for r in recipients:
        if m := pattern.fullmatch(r):
            return m.group(1)
    return None


def match_ticket(
    conn: sa.Connection, mail: MailConfig, keys: tk.TicketKey, m: Inbound, customer: str | None
) -> int | None:
    token = _token(mail, m.recipients)
    if token is not None:
        if (tid := conn.execute(_BY_TOKEN, {"b_token": token}).scalar()) is not None:
            return tid
    if m.refs:
        sent = dict(
            conn.execute(
                sa.select(outbox.c.message_id, outbox.c.ticket_id).where(
                    outbox.c.message_id.in_(m.refs)
                )
            ).all()
        )
        # a thread may reach several tickets' mails: the mail answered (In-Reply-To) decides
        for ref in m.refs:
            if ref in sent:
                return sent[ref]
    tag = re.search(r"\[(" + re.escape(keys.prefix) + r"-\d{6,})\]", m.subject)
    if tag and customer is not None:
        try:
            row = tk.load(conn, keys.parse(tag.group(1)))
        except tk.NotFound:
            return None
        if row["customer_id"] == customer:  # a tag alone never reaches another customer
            return row["id"]
    return None


def _device(cfg: Config, customer: str, text: str) -> str | None:
    for d in cfg.devices:
        if d.customer == customer and (
            re.search(rf"(?<![\w.-]){re.escape(d.id)}(?![\w-])", text)
            or re.search(rf"(?<![\d.]){re.escape(d.ip)}(?![\d.])", text)
        ):
            return d.id
    return None


def handle(
    conn: sa.Connection,
    cfg: Config,
    mail: MailConfig,
    keys: tk.TicketKey,
    m: Inbound,
    *,
    mailbox: str,
    at: datetime,
) -> str:
    """Apply one mail; returns its outcome ('duplicate' when it was handled before)."""
    return handle_batch(conn, cfg, mail, keys, [m], mailbox=mailbox, at=at)[0]


def handle_batch(
    conn: sa.Connection,
    cfg: Config,
    mail: MailConfig,
    keys: tk.TicketKey,
    mails: Sequence[Inbound],
    *,
    mailbox: str,
    at: datetime,
) -> list[str]:
    """Apply these mails in order, in the caller's transaction; returns each one's outcome.

    Written together in a savepoint; when another node kept one of these keys meanwhile
    (unique violation), the savepoint is undone and the mails run again one savepoint each,
    the one that lost becoming a 'duplicate'."""
    try:
        with conn.begin_nested():
            return _apply(conn, cfg, mail, keys, mails, mailbox=mailbox, at=at)
    except IntegrityError:
        if len(mails) == 1:
            return ["duplicate"]
    outcomes = []
    for m in mails:
        try:
            with conn.begin_nested():
                outcomes += _apply(conn, cfg, mail, keys, [m], mailbox=mailbox, at=at)
        except IntegrityError:
            outcomes.append("duplicate")
    return outcomes


def _apply(
    conn: sa.Connection,
    cfg: Config,
    mail: MailConfig,
    keys: tk.TicketKey,
    mails: Sequence[Inbound],
    *,
    mailbox: str,
    at: datetime,
) -> list[str]:
    found = conn.execute(_SEEN_ANY, {"b_keys": sorted({m.key for m in mails})}).scalars()
    seen = set(found)
    events: list[dict[str, Any]] = []
    touched: set[int] = set()
    kept: list[dict[str, Any]] = []
    outcomes = []
    known = contacts(cfg)  # once per batch: the configuration may be reloaded between them
    for m in mails:
        if m.key in seen:
            outcomes.append("duplicate")
            continue
        seen.add(m.key)
        customer = known.get(m.sender)
        ticket_id = match_ticket(conn, mail, keys, m, customer)
        if ticket_id in touched:  # its notices are decided on the row as it was, as one by one
            tk.insert_events(conn, events)
            events.clear()
            touched.clear()
        outcome, record = _one(conn, cfg, m, ticket_id, customer, at=at, events=events)
        if record["ticket_id"] is not None:
            touched.add(record["ticket_id"])
        kept.append({
            "message_key": m.key, "mailbox": mailbox, "received_at": at,
            "sender": m.sender[:254], "subject": m.subject, "outcome": outcome, "raw": m.raw,
            "routed_at": None, "routed_by": None, **record,
        })  # fmt: skip
        outcomes.append(outcome)
    tk.insert_events(conn, events)
    if kept:
        conn.execute(_KEEP, kept if len(kept) > 1 else kept[0])
    return outcomes


def _one(
    conn: sa.Connection,
    cfg: Config,
    m: Inbound,
    ticket_id: int | None,
    customer: str | None,
    *,
    at: datetime,
    events: list[dict[str, Any]],
) -> tuple[str, dict[str, Any]]:
    """One mail's change to its ticket (events held back in `events`) and its outcome."""
    record: dict[str, Any] = {"ticket_id": ticket_id, "customer_id": customer}
    actor = f"customer:{m.sender}"[:128]
    if m.automatic:
        outcome = "automatic"
        if ticket_id is not None:
            row = tk.load(conn, ticket_id)
            text = f"Automatic mail from {m.sender} ({m.automatic}): {m.subject}"
            data = {"text": text, "visibility": "internal"}
            tk.record(conn, row, "commented", at, MAIL_ACTOR, data, now=at, events=events)
    elif ticket_id is not None:
        row = tk.load(conn, ticket_id)
        outcome = "comment"
        if row["status"] == Status.RESOLVED:
            row = tk.transition(
                conn, row, Status.IN_PROGRESS, cfg=cfg, at=at, actor=actor, now=at,
                reason="reopened by the customer's reply", events=events,
            )  # fmt: skip
            outcome = "reopened"
        data = {"text": m.text, "visibility": "customer", "by_customer": True, "mail": m.key}
        tk.record(conn, row, "commented", at, actor, data, now=at, events=events)
        record["customer_id"] = row["customer_id"]
    elif customer is not None:
        row = tk.create(
            conn, cfg, customer_id=customer, title=(m.subject or "(no subject)")[:512],
            origin=Origin.EMAIL, priority=Priority.P3, at=at, actor=actor, now=at,
            device_id=_device(cfg, customer, f"{m.subject}\n{m.full_text}"),
            description=m.full_text, events=events,
        )  # fmt: skip
        record["ticket_id"] = row["id"]
        outcome = "ticket"
    else:
        outcome = "unrouted"
    return outcome, record
