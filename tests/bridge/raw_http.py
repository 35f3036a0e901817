"""A raw HTTP/1.1 client over a real socket, for what aiohttp's own client never sends: bodies in
several writes with pauses, hand-made chunked framing, half-sent headers and stalled bodies.

Pauses are real socket timing (so the server sees separate segments); tests assert what the
server answered, never how long it took.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

PAUSE = 0.02


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def address(api: Any) -> tuple[str, int]:
    """Where the conftest ``Api``'s test server listens (a real socket on loopback)."""
    return api.client.server.host, api.client.server.port


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    fields = [f"{k}: {v}" for k, v in headers.items()]
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def pieces(body: bytes, n: int) -> list[bytes]:
    """`body` cut into `n` nearly equal parts (fewer when the body is shorter)."""
    size = max(1, -(-len(body) // n))
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


def chunked(parts: list[bytes]) -> list[bytes]:
    """Each part as one chunk of the chunked transfer coding, the last one closing the body."""
    out = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts if p]
    out.append(b"0\r\n\r\n")
    return out


async def read_reply(reader: asyncio.StreamReader) -> RawReply:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection without answering")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().title()] = value.strip()
    if "Content-Length" in headers:
        body = await reader.readexactly(int(headers["Content-Length"]))
    elif headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readline()).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = await reader.read()
    return RawReply(status, headers, body)


async def exchange(
    host: str, port: int, writes: list[bytes], *, pause: float = PAUSE
) -> RawReply:
    """Send `writes` one by one with a pause between them, then read one reply."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for i, data in enumerate(writes):
            if i:
                await asyncio.sleep(pause)
            writer.write(data)
            await writer.drain()
        return await read_reply(reader)
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """True when the server closes the connection (EOF) before `within` seconds pass.

    `within` is a generous guard against hanging the suite, not a measurement."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True
