"""A raw HTTP/1.1 client on a plain socket, for clients no library would be: slow,
oversized, with too many headers. Every step is bounded in time."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Answer:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection (after answering, if it did)
    elapsed: float  # from connecting to the answer or the close


def exchange(port: int, pieces: Sequence[bytes], *, gap: float = 0.0, wait: float = 10.0) -> Answer:
    """Sends ``pieces`` ``gap`` seconds apart, stopping early if the server answers or
    closes; then reads one response for at most ``wait`` seconds."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        data = bytearray()
        closed = False
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:
                break
            if gap:
                sock.settimeout(gap)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                data += chunk
                break
        if not closed:
            closed = _read(sock, data, started + wait)
        elapsed = time.monotonic() - started
        if not data:
            return Answer(None, {}, b"", closed, elapsed)
        head, _, body = bytes(data).partition(b"\r\n\r\n")
        headers = _headers(head)
        if not closed and headers.get("connection") == "close":
            closed = _read(sock, bytearray(), time.monotonic() + 2.0)
        return Answer(int(head.split(b" ")[1]), headers, body, closed, elapsed)


def _read(sock: socket.socket, data: bytearray, deadline: float) -> bool:
    """Reads one response into ``data``; True if the server closed the connection."""
    while (left := deadline - time.monotonic()) > 0:
        head, sep, body = bytes(data).partition(b"\r\n\r\n")
        if sep and len(body) >= int(_headers(head).get("content-length", "-1")) >= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return False
        except OSError:
            return True
        if not chunk:
            return True
        data += chunk
    return False


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}


def request(
    method: str, path: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
