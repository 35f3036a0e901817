"""Reading the desk's mailboxes (aioimaplib): IDLE while the server offers it, timed polling
otherwise. A mail is flagged \\Seen only after its transaction committed, so a crash between
the two fetches it again, and the unique message key makes that second pass change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

import aioimaplib

from bridge.config.models import ImapConfig, MailConfig
from bridge.notices import receive
from bridge.notices.inbound import Inbound, parse
from bridge.service import Services

log = logging.getLogger(__name__)


async def connect(box: ImapConfig) -> aioimaplib.IMAP4:
    if box.security == "tls":
        client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
            host=box.host, port=box.port, ssl_context=ssl.create_default_context()
        )
    else:
        client = aioimaplib.IMAP4(host=box.host, port=box.port)
    await client.wait_hello_from_server()
    if box.security == "starttls":
        await client.starttls(ssl.create_default_context())
    resp = await client.login(box.user, box.password)
    if resp.result != "OK":
        raise ConnectionError(f"IMAP login to {box.host}:{box.port} as {box.user} refused")
    resp = await client.select(box.folder)
    if resp.result != "OK":
        raise ConnectionError(f"IMAP folder {box.folder!r} cannot be selected")
    return client


async def unseen(client: aioimaplib.IMAP4) -> list[str]:
    resp = await client.uid_search("UNSEEN")
    if resp.result != "OK" or not resp.lines:
        return []
    return [u.decode() for u in resp.lines[0].split()]


_UID = re.compile(rb"\(.*?UID (\d+)", re.IGNORECASE)
CHUNK = 100


async def fetch(client: aioimaplib.IMAP4, uids: list[str]) -> list[tuple[str, bytes]]:
    """(uid, raw message) for these uids, with one UID FETCH."""
    resp = await client.uid("fetch", ",".join(uids), "(UID BODY.PEEK[])")
    if resp.result != "OK":
        return []
    out = []
    # aioimaplib hands each message literal over as a bytearray after its FETCH line
    for before, line in zip(resp.lines, resp.lines[1:], strict=False):
        if isinstance(line, bytearray) and (m := _UID.search(bytes(before))):
            out.append((m.group(1).decode(), bytes(line)))
    return out


@dataclass
class Receiver:
    services: Services
    mail: MailConfig
    box: ImapConfig
    handled: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.box.user}@{self.box.host}:{self.box.port}/{self.box.folder}"

    async def run_once(self, client: aioimaplib.IMAP4) -> list[str]:
        """Handle every unseen mail, in arrival order, a chunk at a time: one UID FETCH per
        chunk, parsed off the event loop, the whole chunk handed to the writer in one call
        (one transaction), and only after its commit one UID STORE flags the chunk \\Seen.
        While the store works on a chunk, the one before is flagged and the next one fetched
        and parsed. Returns the outcomes."""
        outcomes: list[str] = []
        uids = await unseen(client)
        chunks = [uids[i : i + CHUNK] for i in range(0, len(uids), CHUNK)]
        if not chunks:
            return outcomes
        fetched, mails = await self._fetch_parsed(client, chunks[0])
        committed: list[str] = []  # uids whose transaction committed, not flagged yet
        for n in range(len(chunks)):
            applied = asyncio.ensure_future(self._apply(mails))
            try:
                await self._flag(client, committed)
                committed = []
                last = n + 1 == len(chunks)
                ahead = ([], []) if last else await self._fetch_parsed(client, chunks[n + 1])
            finally:
                done = await applied
            for (uid, _raw), outcome in zip(fetched, done, strict=True):
                log.info("IMAP %s: uid %s: %s", self.name, uid, outcome)
                self.handled[outcome] = self.handled.get(outcome, 0) + 1
                outcomes.append(outcome)
                committed.append(uid)
            fetched, mails = ahead
        await self._flag(client, committed)
        return outcomes

    @staticmethod
    async def _fetch_parsed(
        client: aioimaplib.IMAP4, uids: list[str]
    ) -> tuple[list[tuple[str, bytes]], list[Inbound]]:
        fetched = await fetch(client, uids)
        return fetched, await asyncio.to_thread(lambda: [parse(raw) for _uid, raw in fetched])

    @staticmethod
    async def _flag(client: aioimaplib.IMAP4, uids: list[str]) -> None:
        """\\Seen on these (committed) mails, with one UID STORE."""
        if uids:
            await client.uid("store", ",".join(uids), "+FLAGS.SILENT", r"(\Seen)")

    async def _apply(self, mails: list[Inbound]) -> list[str]:
        """These mails' outcomes, committed in one writer call."""
        if not mails:
            return []
        svc = self.services
        at = svc.now()

        def apply(conn: Any) -> list[str]:
            return receive.handle_batch(
                conn, svc.cfg, self.mail, svc.keys, mails, mailbox=self.name, at=at
            )

        return await svc.write(apply)

    async def run_forever(self) -> None:
        while True:
            client = None
            try:
                client = await connect(self.box)
                log.info("IMAP %s: connected", self.name)
                while True:
                    await self.run_once(client)
                    await self._wait(client)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a lost server: try again after the poll interval
                log.warning("IMAP %s: %s", self.name, err)
                await asyncio.sleep(self.box.poll_interval)
            finally:
                if client is not None:
                    try:
                        await asyncio.wait_for(client.logout(), 2)
                    except Exception:
                        pass

    async def _wait(self, client: aioimaplib.IMAP4) -> None:
        if not (self.box.idle and client.has_capability("IDLE")):
            await asyncio.sleep(self.box.poll_interval)
            return
        idle = await client.idle_start(timeout=self.box.poll_interval)
        try:
            await client.wait_server_push(timeout=self.box.poll_interval)
        except TimeoutError:
            pass
        client.idle_done()
        await asyncio.wait_for(idle, 5)
