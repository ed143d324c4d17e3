"""The micro-batcher: concurrent texts share model calls, bounded in size; the loop never blocks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from serve.batcher import Batcher, BatcherClosed, QueueFull, ScoringFailed, TooManyTexts


class Model:
    def __init__(self, delay: float = 0.0, gate: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.threads: set[int] = set()
        self.delay = delay
        self.gate = gate

    def __call__(self, texts: Sequence[str]) -> list[str]:
        self.calls.append(list(texts))
        self.threads.add(threading.get_ident())
        if self.gate is not None:
            self.gate.wait(10)  # held until the test has queued what must come next
        if self.delay:
            time.sleep(self.delay)  # blocking, like a model call
        if any("bad" in t for t in texts):
            raise ValueError("cannot")
        return [t.upper() for t in texts]


async def _started(model: Model, **kwargs: float) -> Batcher[str]:
    batcher: Batcher[str] = Batcher(model, **kwargs)  # type: ignore[arg-type]
    batcher.start()
    return batcher


def test_concurrent_requests_share_one_model_call() -> None:
    async def main() -> None:
        model = Model()
        batcher = await _started(model, max_batch=32, max_wait=0.05)
        results = await asyncio.gather(*(batcher.score([f"t{i}"]) for i in range(10)))
        await batcher.close()
        assert results == [[f"T{i}"] for i in range(10)]
        assert [len(call) for call in model.calls] == [10]

    asyncio.run(main())


def test_batches_are_bounded_and_keep_order() -> None:
    async def main() -> None:
        model = Model()
        batcher = await _started(model, max_batch=16, max_wait=0.05)
        texts = [f"t{i}" for i in range(40)]
        assert await batcher.score(texts) == [t.upper() for t in texts]
        await batcher.close()
        assert [len(call) for call in model.calls] == [16, 16, 8]

    asyncio.run(main())


def test_a_lone_request_waits_no_longer_than_max_wait() -> None:
    async def main() -> None:
        batcher = await _started(Model(), max_batch=32, max_wait=0.01)
        start = time.perf_counter()
        await batcher.score(["alone"])
        elapsed = time.perf_counter() - start
        await batcher.close()
        assert elapsed < 0.5

    asyncio.run(main())


def test_the_model_runs_off_the_event_loop() -> None:
    async def main() -> None:
        model = Model(delay=0.3)
        batcher = await _started(model, max_wait=0.0)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await batcher.score(["slow"])
        ticker.cancel()
        await batcher.close()
        assert ticks >= 10  # the loop kept running during the 0.3 s model call
        assert threading.get_ident() not in model.threads

    asyncio.run(main())


def test_a_text_the_model_fails_on_fails_alone() -> None:
    async def main() -> None:
        batcher = await _started(Model(), max_batch=8, max_wait=0.05)
        results = await batcher.score(["a", "bad one", "c"])
        await batcher.close()
        assert results[0] == "A" and results[2] == "C"
        assert isinstance(results[1], ScoringFailed)

    asyncio.run(main())


def test_full_queue_and_closed_batcher_refuse_work() -> None:
    async def main() -> None:
        batcher = await _started(Model(delay=0.2), max_batch=1, max_wait=0.0, max_queue=3)
        with pytest.raises(TooManyTexts):  # can never fit: not worth a retry
            await batcher.score(["a", "b", "c", "d"])
        first = asyncio.create_task(batcher.score(["a", "b", "c"]))
        await asyncio.sleep(0.05)  # "a" is in the model, "b" and "c" wait
        assert batcher.queued == 2
        with pytest.raises(QueueFull):  # would fit later
            await batcher.score(["d", "e"])
        assert await batcher.score(["d"]) == ["D"]
        assert await first == ["A", "B", "C"]
        await batcher.close()
        with pytest.raises(BatcherClosed):
            await batcher.score(["a"])

    asyncio.run(main())


def test_requests_take_turns_so_a_small_one_does_not_wait_behind_a_big_one() -> None:
    async def main() -> None:
        gate = threading.Event()
        model = Model(delay=0.02, gate=gate)
        batcher = await _started(model, max_batch=8, max_wait=0.0)
        big = asyncio.create_task(batcher.score([f"big{i}" for i in range(200)]))
        while not model.calls:  # the upload's first call is running (and held at the gate)
            await asyncio.sleep(0.001)
        small = asyncio.create_task(batcher.score(["small"]))
        await asyncio.sleep(0.01)  # the small request is queued behind it
        gate.set()
        assert await small == ["SMALL"]
        calls_so_far = len(model.calls)
        assert [len(call) for call in model.calls[:2]] == [8, 8]
        assert "small" in model.calls[1]  # the very next call, not the 26th
        assert calls_so_far <= 3 and not big.done()
        assert await big == [f"BIG{i}" for i in range(200)]  # the big one keeps its order
        await batcher.close()

    asyncio.run(main())


def test_a_call_is_bounded_in_characters_and_a_long_text_goes_alone() -> None:
    async def main() -> None:
        model = Model()
        batcher = await _started(model, max_batch=32, max_batch_chars=250, max_wait=0.05)
        texts = ["a" * 100] * 5 + ["b" * 400] + ["c" * 100]
        assert await batcher.score(texts) == [t.upper() for t in texts]
        await batcher.close()
        assert [[len(t) for t in call] for call in model.calls] == [[100, 100], [100, 100], [100], [400], [100]]

    asyncio.run(main())


def test_a_cancelled_request_is_not_scored() -> None:
    async def main() -> None:
        model = Model(delay=0.2)
        batcher = await _started(model, max_batch=1, max_wait=0.0)
        first = asyncio.create_task(batcher.score(["first"]))
        await asyncio.sleep(0.05)  # "first" is in the model now
        gone = asyncio.create_task(batcher.score(["gone"]))
        await asyncio.sleep(0.01)
        gone.cancel()
        assert await first == ["FIRST"]
        await asyncio.sleep(0.05)
        await batcher.close()
        assert model.calls == [["first"]]

    asyncio.run(main())
