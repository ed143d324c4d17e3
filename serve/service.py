"""The scoring service behind the routes: the loaded model, its micro-batcher and the policies
that decide (:mod:`moderation.policy`), the feedback store (:mod:`moderation.feedback`), plus the
checks every route applies to its input."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import tomllib
from collections.abc import Sequence
from typing import Any, Protocol

from moderation.errors import ConfigError
from moderation.feedback import StoreError, Verdict, append, check_store
from moderation.labels import did_you_mean
from moderation.modeldir import ModelInfo
from moderation.policy import Policy, load_policy, model_policy
from moderation.scorer import Scores
from serve.batcher import Batcher, BatcherClosed, QueueFull, ScoringFailed, TooManyTexts
from serve.errors import SURROGATE, ApiError
from serve.feedback import OFF as FEEDBACK_OFF
from serve.metrics import Metrics
from serve.schemas import NOT_BLANK, ModelRef
from serve.settings import ENV_PREFIX, Settings

log = logging.getLogger("moderation.serve")

PROBE_TEXT = "A short comment that checks the model answers."
_NOT_BLANK = re.compile(NOT_BLANK)  # the schema's rule


class BackendLike(Protocol):
    @property
    def name(self) -> str: ...


class ScorerLike(Protocol):
    """What the service needs of a scorer: :class:`moderation.scorer.Scorer` is one."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def backend(self) -> BackendLike: ...

    def score_batch(self, texts: Sequence[str]) -> list[Scores]: ...


class Service:
    def __init__(self, scorer: ScorerLike, settings: Settings, metrics: Metrics) -> None:
        self.info = scorer.info
        self.backend = scorer.backend.name
        self.settings = settings
        self.model = ModelRef(name=self.info.name, version=self.info.version)
        self.policy, self.communities = load_policies(self.info, settings)
        self.feedback_file = settings.feedback_file
        if self.feedback_file is not None:
            check_store(self.feedback_file)
        self.batcher: Batcher[Scores] = Batcher(
            lambda texts: scorer.score_batch(texts),
            max_batch=settings.max_batch,
            max_batch_chars=settings.max_batch_chars,
            max_wait=settings.max_wait_ms / 1000,
            max_queue=settings.max_queue,
            on_batch=metrics.observe_batch,
        )
        metrics.queue.set_function(lambda: self.batcher.queued)
        # Uploads read and parsed at once (see Settings.max_uploads).
        self.uploads = asyncio.Semaphore(settings.max_uploads)
        # The last readiness probe: when it ended, and its time in ms or the error it raised.
        self._last_probe: tuple[float, float | ApiError] | None = None
        self._probing: asyncio.Future[float] | None = None

    async def start(self) -> float:
        """Start batching and check the model answers; the probe's time in milliseconds."""
        self.batcher.start()
        return await self.probe()

    async def close(self) -> None:
        await self.batcher.close()

    async def ready(self) -> tuple[float, float]:
        """The readiness probe's time in ms and its age in seconds; an ApiError if it failed.

        Probes are shared: one that ended less than ``ready_cache_s`` ago answers for it, and
        callers that come while one runs wait for that one. An open route that ran the model on
        every call let 3,200 calls in 13 s slow keyed requests from 11 ms to 1.4 s.
        """
        now = time.monotonic()
        if self._last_probe is None or now - self._last_probe[0] >= self.settings.ready_cache_s:
            if self._probing is None:
                self._probing = asyncio.ensure_future(self._probe_once())
            with contextlib.suppress(ApiError):  # the outcome is read from _last_probe below
                await asyncio.shield(self._probing)
            now = time.monotonic()
        assert self._last_probe is not None  # noqa: S101 - the probe above has set it
        ended, outcome = self._last_probe
        if isinstance(outcome, ApiError):
            raise ApiError(outcome.status_code, outcome.message, headers=dict(outcome.headers or {}))
        return outcome, now - ended

    async def _probe_once(self) -> float:
        try:
            ms = await self.probe()
        except ApiError as exc:
            self._last_probe = (time.monotonic(), exc)
            raise
        finally:
            self._probing = None
        self._last_probe = (time.monotonic(), ms)
        return ms

    async def probe(self) -> float:
        start = time.perf_counter()
        try:
            [result] = await asyncio.wait_for(self.batcher.score([PROBE_TEXT]), self.settings.probe_timeout_s)
        except TimeoutError:
            raise ApiError(503, f"the model did not answer a probe within {self.settings.probe_timeout_s} s",
                           headers={"Retry-After": "5"}) from None
        except BatcherClosed:
            raise ApiError(503, "the service is not running", headers={"Retry-After": "5"}) from None
        except QueueFull:
            raise ApiError(503, "too busy: the model's queue is full", headers={"Retry-After": "1"}) from None
        if isinstance(result, ScoringFailed) or set(result.scores) != set(self.info.label_names):
            raise ApiError(503, "the model failed its probe")
        return (time.perf_counter() - start) * 1000

    # Input checks ---------------------------------------------------------------------------

    def select_labels(self, labels: list[str] | None, field: str = "labels") -> list[str]:
        names = self.info.label_names
        if labels is None:
            return names
        unknown = [name for name in labels if name not in names]
        if unknown:
            shown = ", ".join(f"{name!r}{did_you_mean(name, names)}" for name in unknown)
            raise ApiError(422, f"{field}: unknown label(s) {shown}; this model has: {', '.join(names)}")
        if not labels:
            raise ApiError(422, f"{field}: empty; leave it out for all labels")
        return [name for name in names if name in labels]

    def policy_for(self, community: str | None, field: str = "community") -> Policy:
        if community is None:
            return self.policy
        if community not in self.communities:
            known = ", ".join(self.communities) or "none (no policy file with communities)"
            raise ApiError(422, f"{field}: unknown community {community!r}; communities: {known}")
        return self.communities[community]

    def text_problem(self, text: str) -> tuple[int, str] | None:
        """Why ``text`` cannot be scored, as an HTTP status and a message, or None."""
        if SURROGATE.search(text):
            return 422, "the text holds an unpaired UTF-16 surrogate (e.g. \\ud800); send valid Unicode"
        if len(text) > self.settings.max_text_chars:
            return 413, (f"the text is {len(text)} characters; the limit is {self.settings.max_text_chars} "
                         f"({ENV_PREFIX}MAX_TEXT_CHARS)")
        if not _NOT_BLANK.search(text):
            return 422, "the text is empty"
        return None

    def check_text(self, text: str, field: str = "text", code: int | None = None) -> None:
        """Raise the text's problem, if any; ``code`` replaces its status (Perspective's 400)."""
        problem = self.text_problem(text)
        if problem is not None:
            raise ApiError(code or problem[0], f"{field}: {problem[1]}")

    # Feedback -------------------------------------------------------------------------------

    async def store(self, verdict: Verdict) -> None:
        """Append ``verdict`` to the feedback store; once this returns, it is on disk."""
        if self.feedback_file is None:
            raise ApiError(404, FEEDBACK_OFF)
        try:
            # Off the event loop: the lock may wait for another writer, and fsync for the disk.
            await asyncio.to_thread(append, self.feedback_file, verdict)
        except StoreError as exc:
            log.error("feedback store %s: %s", self.feedback_file, exc)  # the why, never the text
            raise ApiError(503, f"the verdict could not be stored ({exc}); retry later",
                           headers={"Retry-After": "5"}) from None

    # Scoring --------------------------------------------------------------------------------

    async def score(self, texts: Sequence[str]) -> list[Scores | ScoringFailed]:
        if not texts:
            return []
        try:
            return await self.batcher.score(texts)
        except TooManyTexts as exc:
            raise ApiError(413, f"{exc}: split the request") from None
        except QueueFull as exc:
            raise ApiError(503, f"too busy: {exc}; retry shortly", headers={"Retry-After": "1"}) from None
        except BatcherClosed as exc:
            raise ApiError(503, str(exc), headers={"Retry-After": "5"}) from None

    def fields(self, scores: Scores, labels: list[str], policy: Policy) -> dict[str, Any]:
        """The result fields of one scored text, showing ``labels`` only; the decision always
        weighs every label."""
        shown = set(labels)
        flags, decision = policy.decide(scores.scores)
        return {
            "scores": {name: p for name, p in scores.scores.items() if name in shown},
            "flags": [name for name in flags if name in shown],
            "decision": decision,
            "spans": [span.to_dict() for span in scores.spans if span.label in shown],
        }


def load_policies(info: ModelInfo, settings: Settings) -> tuple[Policy, dict[str, Policy]]:
    """The default policy and one per community of the policy file (ConfigError if it is bad)."""
    if settings.policy is None:
        return model_policy(info, reject_headlines_at=settings.reject_at), {}
    if settings.reject_at is not None:
        raise ConfigError("reject_at applies only without a policy file; put reject thresholds in the file")
    default = load_policy(settings.policy, info)  # reads and checks the whole file
    with open(settings.policy, "rb") as handle:
        names = sorted(tomllib.load(handle).get("communities", {}))
    return default, {name: load_policy(settings.policy, info, name) for name in names}
