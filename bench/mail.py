"""Customer mail under load, against real Postfix and Dovecot on loopback. Prints figures;
not a test. Needs root (the mail servers of tests/peers/mail.py).

    .venv/bin/python bench/mail.py [--tickets 1000] [--mails 1000]

1. Out: N tickets resolved in one burst (one contact: N verification notices). slabridge's
   sender (expand, claim, render text+HTML in the contact's language, sign the links, send
   over one SMTP connection per pass, settle) against a bare aiosmtplib loop sending the
   same N already-built messages to the same Postfix in the same run. Target: >= 0.5x.
   Checked: every outbox row sent once, N distinct Message-IDs in the mailbox.
2. In: N mails from a contact waiting in the desk's INBOX (Dovecot), turned into tickets by
   the IMAP reader (one UID FETCH per 100 mails, parse off the event loop, the chunk
   committed in one writer call, then one UID STORE \\Seen for it; the next chunk is
   fetched while one commits), against a bare aioimaplib fetch of the same N mails.
   Target: >= 0.3x. `--only in` / `--only out` runs one direction.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge import tickets as tk  # noqa: E402
from bridge.app import StoreOptions, open_store  # noqa: E402
from bridge.clock import SystemClock  # noqa: E402
from bridge.config import parse_config  # noqa: E402
from bridge.lifecycle import Origin, Priority, Status  # noqa: E402
from bridge.notices import imap, outbox  # noqa: E402
from bridge.notices.imap import Receiver  # noqa: E402
from bridge.notices.sender import Sender, compose  # noqa: E402
from bridge.service import Services  # noqa: E402
from bridge.store import Writer  # noqa: E402
from bridge.store.schema import outbox as outbox_table  # noqa: E402
from tests.peers.mail import SUPPORT, MailServers  # noqa: E402

ALICE = "alice@example.test"
DAVE = "dave@example.test"


def config(servers: MailServers) -> Any:
    doc = copy.deepcopy(yaml.safe_load((REPO / "config/example.yaml").read_text()))
    doc["mail"] = {
        "smtp": {"host": "127.0.0.1", "port": servers.smtp_port},
        "from_address": SUPPORT, "reply_address": SUPPORT,
        "signing_key": "bench-signing-key-0123456789",
        "imap": [{"port": servers.imap_port, "user": SUPPORT, "password": "secret"}],
    }  # fmt: skip
    acme = next(c for c in doc["customers"] if c["id"] == "acme")
    acme["contacts"] = [
        {"name": "Alice", "email": ALICE},
        {"name": "Dave", "email": DAVE, "notices": []},
    ]
    return parse_config(yaml.safe_dump(doc), "bench.yaml", env={})


def resolve_burst(conn: sa.Connection, cfg: Any, n: int, now: Any) -> None:
    for i in range(n):
        row = tk.create(conn, cfg, customer_id="acme", title=f"Bench ticket {i}",
                        origin=Origin.CUSTOMER, priority=Priority.P3, at=now, actor="bench",
                        now=now)  # fmt: skip
        row = tk.assign(conn, row, "bob", at=now, actor="bench", now=now)
        tk.transition(conn, row, Status.RESOLVED, cfg=cfg, at=now, actor="bench", now=now)


async def bare_send(servers: MailServers, messages: list[EmailMessage]) -> float:
    t0 = time.perf_counter()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=servers.smtp_port, start_tls=False) as s:
        for msg in messages:
            await s.send_message(msg)
    return time.perf_counter() - t0


async def outbound(services: Services, servers: MailServers, n: int) -> None:
    cfg, mail = services.cfg, services.cfg.mail
    now = services.now()
    await services.write(lambda c: resolve_burst(c, cfg, n, now))

    # the bare loop's messages: the same ones, built once beforehand from the outbox rows
    def peek(conn: sa.Connection) -> list[dict]:
        while outbox.expand(conn, cfg, mail, services.now()):
            pass
        return outbox.claim(conn, services.now(), limit=n)

    claimed = await services.write(peek)
    assert len(claimed) == n, len(claimed)
    bare_msgs = []
    for m in claimed:
        msg = compose(cfg, mail, services.keys, m)
        msg.replace_header("Message-ID", m["message_id"].replace("<notice.", "<bare."))
        bare_msgs.append(msg)
    await services.write(lambda c: c.execute(outbox_table.update().values(lease_until=None)))
    bare = await bare_send(servers, bare_msgs)
    sender = Sender(services, mail)
    t0 = time.perf_counter()
    sent = 0
    while sent < n:
        results = await sender.run_once()
        assert results and all(r.outcome == "sent" for r in results), results[:3]
        sent += len(results)
    ours = time.perf_counter() - t0
    assert await sender.run_once() == []
    counts = await services.read(outbox.counts)
    assert counts == {"sent": n}, counts
    inbox = servers.wait_for(ALICE, 2 * n, timeout=600)
    ids = [m["Message-ID"] for m in inbox]
    bare_ids = sum(str(i).startswith("<bare.") for i in ids)
    assert len(set(ids)) == len(ids) == 2 * n, (len(ids), len(set(ids)), bare_ids)
    print(f"out: {n} verification notices; bare aiosmtplib {n / bare:,.0f} msg/s "
          f"({bare:.2f} s); slabridge sender {n / ours:,.0f} msg/s ({ours:.2f} s); "
          f"ratio {bare / ours:.2f}x (target >= 0.5x); duplicates 0")  # fmt: skip


async def bare_fetch(box: Any) -> tuple[float, int]:
    t0 = time.perf_counter()
    client = await imap.connect(box)
    uids = await imap.unseen(client)
    got = 0
    for i in range(0, len(uids), imap.CHUNK):
        got += len(await imap.fetch(client, uids[i : i + imap.CHUNK]))
    await client.logout()
    return time.perf_counter() - t0, got


async def inbound(services: Services, servers: MailServers, n: int) -> None:
    for i in range(n):
        msg = EmailMessage()
        msg["From"] = DAVE
        msg["To"] = SUPPORT
        msg["Subject"] = f"Printer {i} shows E-203"
        msg["Message-ID"] = f"<bench.{i}@example.test>"
        msg.set_content(f"Printer {i} jams.\n")
        servers.deliver(msg.as_bytes(), SUPPORT, DAVE)
    bare, got = await bare_fetch(services.cfg.mail.imap[0])
    assert got == n, got
    receiver = Receiver(services, services.cfg.mail, services.cfg.mail.imap[0])
    t0 = time.perf_counter()
    client = await imap.connect(receiver.box)
    outcomes = await receiver.run_once(client)
    await client.logout()
    ours = time.perf_counter() - t0
    assert outcomes == ["ticket"] * n, outcomes[:5]
    print(f"in: {n} mails; bare aioimaplib fetch {n / bare:,.0f} mail/s ({bare:.2f} s); "
          f"slabridge reader {n / ours:,.0f} mail/s ({ours:.2f} s); "
          f"ratio {bare / ours:.2f}x (target >= 0.3x)")  # fmt: skip


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tickets", type=int, default=1000)
    p.add_argument("--mails", type=int, default=1000)
    p.add_argument("--only", choices=["in", "out"], help="run one direction only")
    args = p.parse_args()
    with MailServers() as servers, tempfile.TemporaryDirectory() as tmp:
        cfg = config(servers)
        engines = open_store(StoreOptions(f"sqlite:///{tmp}/bench.db"))
        writer = Writer(engines.write)
        writer.start()
        services = Services(cfg=cfg, clock=SystemClock(), engines=engines, writer=writer)
        try:
            if args.only != "in":
                await outbound(services, servers, args.tickets)
            if args.only != "out":
                await inbound(services, servers, args.mails)
        finally:
            writer.stop()
            engines.dispose()


if __name__ == "__main__":
    asyncio.run(main())
