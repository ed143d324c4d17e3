"""Micro-batching: texts from concurrent requests share one model call.

Requests put their texts on one queue and await a future per text. A single worker task takes
what is queued (up to ``max_batch`` texts), waits at most ``max_wait`` seconds for more when the
batch is not full, and runs the model in a thread of its own so the event loop never blocks on
it (always the same thread: one set of thread-local allocator arenas and torch state). While a
model call runs, new texts pile up and go together into the next one, so under load batches fill
by themselves and the wait only matters for the first text after a quiet spell.

A model failure on a batch is retried text by text, so one text the model cannot take fails
alone and the others in its batch are still scored.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from serve.errors import log_fault

R = TypeVar("R")


class QueueFull(Exception):
    """More texts are waiting than the queue holds; the caller should retry later."""


class BatcherClosed(Exception):
    """The service is shutting down."""


class ScoringFailed(Exception):
    """The model raised on this text."""


class Batcher(Generic[R]):
    def __init__(
        self,
        score_batch: Callable[[list[str]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_wait: float = 0.002,
        max_queue: int = 4096,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._score_batch = score_batch
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._pending: collections.deque[tuple[str, asyncio.Future[R]]] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def queued(self) -> int:
        return len(self._pending)

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
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        while self._pending:
            _, future = self._pending.popleft()
            if not future.done():
                future.set_exception(BatcherClosed("the service is shutting down"))

    async def score(self, texts: Sequence[str]) -> list[R | ScoringFailed]:
        """One result per text, in order: the model's, or ScoringFailed for a text it raised on."""
        if self._closed or not self.running or self._wakeup is None:
            raise BatcherClosed("the service is not running")
        if len(self._pending) + len(texts) > self.max_queue:
            raise QueueFull(f"{len(self._pending)} texts are already waiting for the model")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[R]] = [loop.create_future() for _ in texts]
        self._pending.extend(zip(texts, futures, strict=True))
        self._wakeup.set()
        try:
            results = await asyncio.gather(*futures, return_exceptions=True)
        finally:
            # A caller that went away (client disconnected) leaves nothing for the model to do.
            for future in futures:
                future.cancel()
        out: list[R | ScoringFailed] = []
        for result in results:
            if isinstance(result, BatcherClosed):
                raise result
            if isinstance(result, BaseException) and not isinstance(result, ScoringFailed):
                raise result
            out.append(result)
        return out

    async def _next_batch(self) -> list[tuple[str, asyncio.Future[R]]]:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while not self._pending:
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = loop.time() + self.max_wait
        while len(self._pending) < self.max_batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        batch: list[tuple[str, asyncio.Future[R]]] = []
        while self._pending and len(batch) < self.max_batch:
            text, future = self._pending.popleft()
            if not future.done():
                batch.append((text, future))
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
        except Exception as exc:
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
