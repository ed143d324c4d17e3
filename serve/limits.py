"""Request body size limits and deadlines, the per-key rate limit (in texts) and the limit on
wrong API keys per client address."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve.errors import ApiError, error_response


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLate(ApiError):
    def __init__(self, timeout: float) -> None:
        # The rest of the body may still be on its way: the connection cannot serve another request.
        super().__init__(408, f"the request body did not arrive within {timeout:g} s",
                         headers={"Connection": "close"})


class BodyLimitMiddleware:
    """Answers 413 for a body over the limit of its path: at once when Content-Length says so,
    otherwise as soon as the bytes read pass it (chunked uploads never get further). Answers 408,
    and closes the connection, when the body has not all arrived ``timeout`` seconds after the
    app started reading it (not after the request came: an upload may wait its turn unread)."""

    def __init__(self, app: ASGIApp, default: int, per_path: dict[str, int], timeout: float) -> None:
        self.app = app
        self.default = default
        self.per_path = per_path
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            error = BodyTooLarge(limit)
            await error_response(413, error.message)(scope, receive, send)
            return
        seen = 0
        deadline: float | None = None
        complete = False

        async def counted() -> Message:
            nonlocal seen, deadline, complete
            if complete:  # later calls wait for the client to disconnect: no deadline
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.timeout
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                # HTTPExceptions: FastAPI passes them on from body reading, and the app's
                # handler turns them into JSON.
                raise BodyLate(self.timeout) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per caller: ``rate`` tokens a second, up to ``burst`` at once.

    A caller may go ahead while its bucket holds a token; what it then costs is taken whole, and
    may leave the bucket in debt (a request of 256 texts when 20 are left), which the caller pays
    off by waiting. So the rate holds on average whatever the size of each request.
    """

    MAX_CALLERS = 10_000

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, caller: str, cost: float = 1.0) -> float:
        """0 when the caller may go ahead (``cost`` is taken), else the seconds until it may."""
        wait = self.wait(caller)
        if wait == 0:
            self.charge(caller, cost)
        return wait

    def wait(self, caller: str) -> float:
        """0 when the caller's bucket holds a token, else the seconds until it will."""
        if self.rate <= 0:
            return 0.0
        bucket = self._bucket(caller)
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate

    def charge(self, caller: str, cost: float) -> None:
        """Take ``cost`` tokens, into debt if need be."""
        if self.rate > 0 and cost > 0:
            self._bucket(caller).tokens -= cost

    def _bucket(self, caller: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self.MAX_CALLERS:
                self._forget_idle(now)
            bucket = self._buckets[caller] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        return bucket

    def _forget_idle(self, now: float) -> None:
        # A bucket that would be full again holds no state worth keeping. If every one is
        # busy, the oldest go: memory stays bounded whatever number of callers there are.
        for caller in [c for c, b in self._buckets.items()
                       if b.tokens + (now - b.stamp) * self.rate >= self.burst]:
            del self._buckets[caller]
        while len(self._buckets) >= self.MAX_CALLERS:
            del self._buckets[next(iter(self._buckets))]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
