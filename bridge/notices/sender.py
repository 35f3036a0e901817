"""The sender job: expand due notices, claim messages, deliver them with aiosmtplib, settle.

SMTP 4xx answers and connection failures are retried with exponential backoff
(`retry_initial` doubling up to `retry_max`); a 5xx answer fails the message for good, which
shows on its ticket (an internal comment) and on /metrics.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any

import aiosmtplib

from bridge import tickets as tk
from bridge.config import Config
from bridge.config.models import MailConfig
from bridge.notices import links, outbox
from bridge.notices.render import local_time, message, render
from bridge.service import Services

log = logging.getLogger(__name__)
MAIL_ACTOR = "mail"


def reply_address(mail: MailConfig, token: str) -> str:
    local, _, domain = mail.reply_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def _device(device: Any) -> str:
    """Customers know a device by its address: name it with its id and IP."""
    label = f"{device.id}, {device.ip}"
    return f"{device.name} ({label})" if device.name else label


def compose(cfg: Config, mail: MailConfig, keys: tk.TicketKey, m: dict[str, Any]) -> Message:
    """The message for one claimed outbox row, in its recipient's language."""
    customer = cfg.customer(m["customer_id"])
    zone = customer.timezone if customer else "UTC"
    lang = m["language"]
    device = cfg.device(m["device_id"]) if m["device_id"] else None
    data = m["data"] or {}
    ctx: dict[str, Any] = {
        "key": keys.format(m["ticket_id"]),
        "title": m["title"],
        "name": m["name"],
        "device": _device(device) if device else (m["device_id"] or "-"),
        "time": local_time(m["at"], zone, lang),
        "desk": mail.from_name,
        "language": lang,
        "text": data.get("text", ""),
        "phase": data.get("phase", ""),
        "close_reason": data.get("close_reason") or "",
        "deadline": "",
        "works_url": "",
        "broken_url": "",
    }
    if m["kind"] == "resolved" and data.get("close_deadline"):
        expires = datetime.fromisoformat(data["close_deadline"])
        ctx["deadline"] = f"{local_time(expires, zone, lang)} ({zone})"
        for answer in ("works", "broken"):
            v = links.Verification(m["ticket_id"], m["seq"], m["recipient"], answer, expires)
            ctx[f"{answer}_url"] = f"{mail.base_url}/verify/{links.sign(mail.signing_key, v)}"
    return message(
        render(m["kind"], lang, ctx),
        sender=(mail.from_name, mail.from_address),
        recipient=(m["name"], m["recipient"]),
        reply_to=reply_address(mail, m["token"]),
        message_id=m["message_id"],
        date=m["at"],
    )


def _smtp(mail: MailConfig) -> aiosmtplib.SMTP:
    s = mail.smtp
    return aiosmtplib.SMTP(
        hostname=s.host,
        port=s.port,
        use_tls=s.security == "tls",
        start_tls=True if s.security == "starttls" else False,
        timeout=s.timeout,
        username=s.user,
        password=s.password,
    )


def _refused(err: aiosmtplib.SMTPRecipientsRefused) -> tuple[int, str]:
    first = err.recipients[0]
    return first.code, f"{first.code} {first.message}"


async def deliver(mail: MailConfig, batch: list[tuple[int, Message]]) -> list[outbox.Result]:
    """Send over one SMTP connection; a lost connection leaves the rest for a later try."""
    results: list[outbox.Result] = []
    smtp = _smtp(mail)
    try:
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError) as err:
        return [outbox.Result(i, "retry", f"connect: {err}") for i, _ in batch]
    try:
        for n, (oid, msg) in enumerate(batch):
            try:
                await smtp.send_message(msg)
                results.append(outbox.Result(oid, "sent"))
            except aiosmtplib.SMTPRecipientsRefused as err:
                code, text = _refused(err)
                results.append(outbox.Result(oid, "failed" if code >= 500 else "retry", text))
            except aiosmtplib.SMTPResponseException as err:
                text = f"{err.code} {err.message}"
                results.append(outbox.Result(oid, "failed" if err.code >= 500 else "retry", text))
                if err.code == 421:
                    raise aiosmtplib.SMTPServerDisconnected(text) from err
            except (aiosmtplib.SMTPException, OSError) as err:
                results.append(outbox.Result(oid, "retry", str(err)))
                results += [outbox.Result(i, "retry", str(err)) for i, _ in batch[n + 1 :]]
                return results
    except aiosmtplib.SMTPServerDisconnected as err:
        done = {r.outbox_id for r in results}
        results += [outbox.Result(i, "retry", str(err)) for i, _ in batch if i not in done]
        return results
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        pass
    return results


@dataclass
class Sender:
    services: Services
    mail: MailConfig
    sent: int = 0
    failed: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run_once(self) -> list[outbox.Result]:
        """One pass: expand, claim, deliver, settle. Returns what happened to each message."""
        cfg, mail, now = self.services.cfg, self.mail, self.services.now()

        def take(conn: Any) -> list[dict[str, Any]]:
            outbox.expand(conn, cfg, mail, now)
            return outbox.claim(conn, now)

        claimed = await self.services.write(take)
        if not claimed:
            return []
        batch = [(m["id"], compose(cfg, mail, self.services.keys, m)) for m in claimed]
        results = await deliver(mail, batch)
        settled_at = self.services.now()

        def settle(conn: Any) -> None:
            for f in outbox.settle(conn, mail, results, settled_at):
                row = tk.load(conn, f["ticket_id"])
                text = f"Notice to {f['recipient']} could not be delivered: {f['error']}"
                data = {"text": text, "visibility": "internal"}
                tk.record(conn, row, "commented", settled_at, MAIL_ACTOR, data, now=settled_at)

        await self.services.write(settle)
        self.sent += sum(r.outcome == "sent" for r in results)
        self.failed += sum(r.outcome == "failed" for r in results)
        return results

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                results = await self.run_once()
            except Exception:  # a store hiccup must not end the job; the next pass retries
                log.exception("mail sender pass failed")
                results = []
            if results and all(r.outcome == "sent" for r in results):
                continue  # more may be waiting
            try:
                await asyncio.wait_for(self._wake.wait(), self.mail.send_interval)
            except TimeoutError:
                pass
            self._wake.clear()
