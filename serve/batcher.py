"""Micro-batching: texts from concurrent requests share one model call, in a fair order.

Each request puts its texts on the queue as one entry and awaits a future per text. A single
worker task builds each model call from what is queued, taking one text from each waiting
request in turn (round robin), up to ``max_batch`` texts or ``max_batch_chars`` characters (a
lone text over that still goes, alone). So a one-comment request that arrives while a 4,000-comment
upload is being scored goes into the next call rather than behind the upload's texts: it waits
for at most the call in progress. The worker waits at most ``max_wait`` seconds for more texts
when the call is not full, and runs the model in a thread of its own so the event loop never
blocks on it (always the same thread: one set of thread-local allocator arenas and torch
state). While a model call runs, new texts pile up and go together into the next one, so under
load calls fill by themselves and the wait only matters for the first text after a quiet spell.

A model failure on a batch is retried text by text, so one text the model cannot take fails
alone and the others in its batch are still scored.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from serve.errors import log_fault

R = TypeVar("R")


class QueueFull(Exception):
    """More texts are waiting than the queue holds; the caller should retry later."""


class TooManyTexts(Exception):
    """The request alone holds more texts than the queue ever holds; retrying cannot help."""


class BatcherClosed(Exception):
    """The service is shutting down."""


class ScoringFailed(Exception):
    """The model raised on this text."""


@dataclass(eq=False)
class _Entry(Generic[R]):
    """One request's texts on the queue; ``next`` is the first not yet handed to the model."""

    texts: Sequence[str]
    futures: list[asyncio.Future[R]]
    next: int = field(default=0)

    @property
    def left(self) -> int:
        return len(self.texts) - self.next


class Batcher(Generic[R]):
    def __init__(
        self,
        score_batch: Callable[[list[str]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_batch_chars: int = 8192,
        max_wait: float = 0.002,
        max_queue: int = 16384,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._score_batch = score_batch
        self.max_batch = max_batch
        self.max_batch_chars = max_batch_chars
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._entries: collections.deque[_Entry[R]] = collections.deque()
        self._queued = 0
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def queued(self) -> int:
        """Texts waiting for the model."""
        return self._queued

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="moderation-model")
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="moderation-batcher")

    async def close(self) -> None:
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        while self._entries:
            entry = self._entries.popleft()
            for future in entry.futures[entry.next :]:
                if not future.done():
                    future.set_exception(BatcherClosed("the service is shutting down"))
        self._queued = 0

    async def score(self, texts: Sequence[str]) -> list[R | ScoringFailed]:
        """One result per text, in order: the model's, or ScoringFailed for a text it raised on."""
        if self._closed or not self.running or self._wakeup is None:
            raise BatcherClosed("the service is not running")
        if len(texts) > self.max_queue:
            raise TooManyTexts(f"{len(texts)} texts in one request; the queue holds {self.max_queue}")
        if self._queued + len(texts) > self.max_queue:
            raise QueueFull(f"{self._queued} texts are already waiting for the model")
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        entry = _Entry(texts, [loop.create_future() for _ in texts])
        self._entries.append(entry)
        self._queued += len(texts)
        self._wakeup.set()
        try:
            results = await asyncio.gather(*entry.futures, return_exceptions=True)
        finally:
            # A caller that went away (client disconnected) leaves nothing for the model to do.
            for future in entry.futures:
                future.cancel()
            if entry.left and entry in self._entries:
                self._entries.remove(entry)
                self._queued -= entry.left
        out: list[R | ScoringFailed] = []
        for result in results:
            if isinstance(result, BatcherClosed):
                raise result
            if isinstance(result, BaseException) and not isinstance(result, ScoringFailed):
                raise result
            out.append(result)
        return out

    async def _next_batch(self) -> list[tuple[str, asyncio.Future[R]]]:
        assert self._wakeup is not None  # noqa: S101 - set by start(), which runs the worker
        loop = asyncio.get_running_loop()
        while not self._queued:
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = loop.time() + self.max_wait
        while self._queued < self.max_batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        return self._take()

    def _take(self) -> list[tuple[str, asyncio.Future[R]]]:
        """The next call's texts: one from each waiting request in turn."""
        batch: list[tuple[str, asyncio.Future[R]]] = []
        chars = 0
        while self._entries and len(batch) < self.max_batch:
            entry = self._entries[0]
            text, future = entry.texts[entry.next], entry.futures[entry.next]
            if batch and chars + len(text) > self.max_batch_chars:
                break
            self._entries.popleft()
            entry.next += 1
            self._queued -= 1
            if not future.done():
                batch.append((text, future))
                chars += len(text)
            if entry.left:
                self._entries.append(entry)
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            if batch:
                await self._run_batch(batch)

    async def _run_batch(self, batch: list[tuple[str, asyncio.Future[R]]]) -> None:
        texts = [text for text, _ in batch]
        start = time.perf_counter()
        try:
            loop = asyncio.get_running_loop()
            results: Sequence[R] | None = await loop.run_in_executor(self._executor, self._score_batch, texts)
        except Exception as exc:  # noqa: BLE001 - the texts are retried one by one below
            _log_failure(exc, len(texts))
            results = None
        if self._on_batch is not None:
            self._on_batch(len(texts), time.perf_counter() - start)
        if results is not None and len(results) == len(batch):
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            return
        if len(batch) == 1:
            _, future = batch[0]
            if not future.done():
                future.set_exception(ScoringFailed("the model could not score this text"))
            return
        # Find the text(s) the model cannot take; the rest of the batch is still scored.
        for item in batch:
            await self._run_batch([item])


def _log_failure(exc: Exception, size: int) -> None:
    log_fault(f"model call on {size} text(s) failed", exc)
