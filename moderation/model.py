"""The Python API: load a model, score texts or parsed threads into records.

    import moderation

    model = moderation.load("default")  # or "fast", or a model directory
    for record in model.score(["What a clown.", "Thanks for the clear article."]):
        print(record.decision, record.flags, record.scores["hostility"])

Records are :class:`~moderation.record.ScoredRecord` s, the same as ``moderation score``
writes, with the same scores, flags, decision and spans: scoring runs through the same code
(:func:`moderation.batch.score_events`, in chunks of the same size). One difference: a text or
comment with nothing to score (empty, or only whitespace) is not left out, as ``moderation
score`` leaves it out, but answered with a record in the error state (``record.failed``, code
422), so the records match the inputs one for one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from moderation.batch import (
    Event,
    Item,
    Scored,
    ScoredEvent,
    Skipped,
    ThreadRef,
    ThreadStart,
    error_record,
    score_events,
    scorer_batch,
    thread_events,
)
from moderation.errors import ConfigError, ModelLoadError
from moderation.modeldir import ModelInfo, read_model_info, shipped_model_dir
from moderation.policy import Policy, load_policy, model_policy
from moderation.record import ScoredRecord
from moderation.scorer import Scorer
from moderation.scoring_config import DEFAULT_CHUNK
from moderation.thread import Comment, Thread

SHIPPED = ("default", "fast")
EMPTY = (422, "the text is empty")  # as the service answers an empty text

log = logging.getLogger("moderation")


def load(
    model: str | os.PathLike[str] = "default",
    *,
    policy: str | os.PathLike[str] | None = None,
    community: str | None = None,
    backend: str | None = None,
    precision: str = "int8",
    threads: int | None = None,
    batch_size: int | None = None,
    base: str | None = None,
) -> Model:
    """Load a model to score with.

    ``model`` is ``"default"`` or ``"fast"`` (the models shipped with the package; fast is the
    distilled one, about twice as fast) or a model directory (a ``Path``, or a string naming
    any other directory). ``policy`` is a policy file (TOML review/reject thresholds per label;
    without one, labels are flagged at the model's own thresholds and nothing is rejected) and
    ``community`` one of its communities. ``backend`` (``"onnx"``, the default where ONNX
    Runtime is installed, or ``"torch"``), ``precision`` (``"int8"`` or ``"fp32"``, onnx only),
    ``threads``, ``batch_size`` and ``base`` are ``moderation score``'s options of those names.

    Raises :class:`~moderation.errors.ModelLoadError` for a missing or broken model and
    :class:`~moderation.errors.ConfigError` for a bad policy.
    """
    directory = _model_dir(model)
    info = read_model_info(directory)  # a bad policy is reported before the model loads
    if community is not None and policy is None:
        raise ConfigError(f"community {community!r} needs a policy file that defines it (policy=...)")
    chosen = load_policy(policy, info, community) if policy is not None else model_policy(info)
    scorer = Scorer(directory, base=base, batch_size=batch_size, threads=threads,
                    backend=backend, precision=precision, log=log.info)
    return Model(scorer, chosen)


def _model_dir(model: str | os.PathLike[str]) -> Path:
    if isinstance(model, str) and model in SHIPPED:
        directory = shipped_model_dir(model)
        if not (directory / "config.json").is_file():
            raise ModelLoadError(f"the {model!r} model is not installed at {directory}; "
                                 "load a model directory instead")
        return directory
    directory = Path(model)
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: no such model directory; load 'default', 'fast' or "
                             "the directory of a trained model")
    return directory


class Model:
    """A loaded model and the policy that decides on its scores (see :func:`load`).

    :meth:`score` scores texts, :meth:`score_thread` and :meth:`score_threads` the comments of
    parsed threads (:func:`moderation.parsers.parse_file`); each returns one
    :class:`~moderation.record.ScoredRecord` per text or comment, in order.
    """

    def __init__(self, scorer: Scorer, policy: Policy, *, chunk: int = DEFAULT_CHUNK) -> None:
        self.scorer = scorer
        self.policy = policy
        self.chunk = chunk

    @property
    def info(self) -> ModelInfo:
        """What the model directory says about itself: name, version, labels, thresholds."""
        return self.scorer.info

    @property
    def labels(self) -> list[str]:
        """The model's labels, in the order of every record's ``scores``."""
        return self.scorer.labels

    def __repr__(self) -> str:
        return (f"<moderation.Model {self.info.name} {self.info.version}, policy "
                f"{self.policy.name!r}, backend {self.scorer.backend.name}>")

    def score(self, texts: Sequence[str], *, source: str = "<texts>") -> list[ScoredRecord]:
        """Score ``texts``: one record per text, in order.

        Each text is a comment of one untitled thread from ``source``, with ``id`` its
        position counted from 1 (as ``moderation score`` numbers the lines of a comment list
        without ids). An empty text gets a record in the error state.
        """
        if isinstance(texts, str):
            raise TypeError("score() takes a list of texts; for one text, score([text])")
        comments = []
        for number, text in enumerate(texts, 1):
            if not isinstance(text, str):
                raise TypeError(f"texts[{number - 1}]: expected a string, got {type(text).__name__}")
            comments.append(Comment(id=str(number), text=text))
        return self.score_threads([Thread(source=source, format="texts", comments=tuple(comments))])

    def score_thread(self, thread: Thread) -> list[ScoredRecord]:
        """Score the comments of ``thread``: one record per comment, in order (pingbacks and
        the article body are not scored). An empty comment gets a record in the error state."""
        return self.score_threads([thread])

    def score_threads(self, threads: Iterable[Thread]) -> list[ScoredRecord]:
        """Score the comments of every thread (an export's), in order, as ``moderation score``
        does for a file that holds them: comments of all the threads share model calls."""
        threads = list(threads)
        comments = [comment for thread in threads for comment in thread.comments]
        events: list[Event] = [event for n, thread in enumerate(threads)
                               for event in thread_events(thread, str(n))]
        return self._records(comments, events)

    def _records(self, comments: Sequence[Comment], events: list[Event]) -> list[ScoredRecord]:
        """The records of ``comments`` from ``events`` (a ThreadStart, then an Item or a Skipped
        per comment, in the same order)."""
        records: list[ScoredRecord] = []
        scored: Iterator[ScoredEvent] = (event for chunk in score_events(
            events, scorer_batch(self.scorer), self.policy, chunk=self.chunk) for event in chunk)
        owner: ThreadRef | None = None
        position = 0
        for event in scored:
            if isinstance(event, ThreadStart):
                owner = event.thread
            elif isinstance(event, Scored):
                records.append(event.record)
                position += 1
            elif isinstance(event, Skipped):
                assert owner is not None  # noqa: S101 - a ThreadStart comes first
                records.append(error_record(Item(owner, comments[position]), *EMPTY))
                position += 1
        if len(records) != len(comments):  # a broken promise of thread_events, never the input
            raise RuntimeError(f"{len(comments)} comments gave {len(records)} records")
        return records

