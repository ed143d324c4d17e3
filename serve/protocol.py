"""uvicorn's HTTP protocol (httptools) with a deadline and a size limit on request headers.

uvicorn closes a connection that stays idle between requests (``timeout_keep_alive``), but once
a byte arrives it waits as long as the headers take: a client that opens a connection and sends
its headers a line at a time holds the connection for ever (3,000 such were tested), and
httptools puts no bound on their size. Here the headers of each request must be complete within
``MODERATION_HEADER_TIMEOUT_S`` of the connection opening or of the previous answer, else the
connection is closed; and headers (request line included) over ``h11_max_incomplete_event_size``
bytes (``MODERATION_MAX_HEADER_BYTES``) get 431 and the connection is closed. The body has its
own deadline in the app (:class:`serve.limits.BodyLimitMiddleware`).

``moderation serve`` passes this class to uvicorn as its ``http`` protocol.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serve.settings import load_settings


@functools.cache
def header_timeout_s() -> float:
    # Each worker reads the settings once, from the environment that moderation serve set.
    return load_settings().header_timeout_s


class HeadersTooLarge(Exception):
    pass


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout_s()
        self.max_header_bytes = self.config.h11_max_incomplete_event_size or 16 * 1024
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._headers_too_large = False

    # As uvicorn's own: asyncio declares a BaseTransport, and the server hands it a Transport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn armed its keep-alive timer: no pipelined request is waiting, so the next
        # request's headers are due from now.
        if self.timeout_keep_alive_task is not None:
            self._arm()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a parser error; the parser stopped at our HeadersTooLarge.
        if not self._headers_too_large:
            super().send_400_response(msg)
            return
        text = f"request headers over {self.max_header_bytes} bytes"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + f"content-length: {len(text)}\r\nconnection: close\r\n\r\n{text}".encode("ascii"))
        self.transport.close()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._headers_too_large = True
            raise HeadersTooLarge  # stops the parser; uvicorn then calls send_400_response

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
