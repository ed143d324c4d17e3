"""Batch scoring: comments from many inputs, streamed through one model, in input order.

:func:`read_inputs` turns paths into a stream of events: a thread starts (with its pingbacks),
a comment to score, a comment skipped (empty), an input that failed. Inputs are anything
``moderation parse`` reads, or flat comment lists (JSONL or CSV/TSV with a text field and
optional ``id``, ``author``, ``thread``, ``posted_at``, ``parent_id``, ``status``).

:func:`score_events` scores the comments in chunks of a fixed number of comments, counted
across file boundaries (the scorer orders each chunk's windows by token length), and yields the
events back in input order with a record attached to each comment. Only one chunk is held at a
time, so memory stays flat however many comments stream through.

Chunks are aligned to multiples of the chunk size from the first comment. A resumed run
replays the records already written (read back from the output) and starts scoring at such a
boundary, so every comment is scored in the same company as in an uninterrupted run: batched
inference is not bit-for-bit independent of what else shares a batch, and this keeps a resumed
output identical to an uninterrupted one.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from moderation.errors import ModerationError, ParseError
from moderation.parsers import SNIFF_BYTES, expand_paths, failure_reason, parse_stream, utf8_stream
from moderation.parsers.flat import flat_kind, flat_rows
from moderation.policy import Policy
from moderation.record import RecordThread, ScoredRecord, Span
from moderation.rows import Kind
from moderation.scoring_config import DEFAULT_CHUNK, InputOptions
from moderation.thread import Comment, Pingback, Thread


@dataclass(frozen=True)
class ThreadRef:
    """The thread a comment belongs to. ``key`` tells threads apart that share a source and
    title (several untitled threads in one export)."""

    source: str
    title: str | None
    key: str
    url: str | None = None

    def record_thread(self) -> RecordThread:
        """How a record names this thread."""
        return RecordThread(self.source, self.title)


@dataclass(frozen=True)
class ThreadStart:
    thread: ThreadRef
    pingbacks: tuple[Pingback, ...] = ()


@dataclass(frozen=True)
class Item:
    """One text to score: a comment, or the article body with ``--include-article``."""

    thread: ThreadRef
    comment: Comment
    kind: Literal["comment", "article"] = "comment"


@dataclass(frozen=True)
class Skipped:
    """A comment that is not scored, and why (its text is empty, or its row is malformed)."""

    thread: ThreadRef
    id: str
    reason: str


@dataclass(frozen=True)
class Failure:
    """An input that could not be read (wholly or from some point on)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Scored:
    """A scored item and its output record; ``fresh`` is False for a record replayed from the
    output of an earlier, interrupted run."""

    item: Item
    record: ScoredRecord
    fresh: bool = True


Event = ThreadStart | Item | Skipped | Failure
ScoredEvent = ThreadStart | Scored | Skipped | Failure


def read_inputs(
    paths: Iterable[str], options: InputOptions = InputOptions(), skipped_paths: list[str] | None = None
) -> Iterator[Event]:
    """Events from every input in order. A failing input yields a :class:`Failure` (after the
    events it produced before failing), whatever it raised, and the next input is read."""
    for number, path in enumerate(expand_paths(paths, skipped_paths)):
        try:
            stream, source = _open(path)
        except ParseError as exc:
            yield Failure(path, exc.why)
            continue
        with stream:
            try:
                text, _ = utf8_stream(stream)  # UTF-16/32 comment lists too
                flat = None if options.input_format else _flat_kind(path, text, options.text_field)
                if flat is not None:
                    yield from _flat_events(text, source, flat, options.text_field, f"{number}:")
                else:
                    threads = parse_stream(text, source, options.input_format, options.text_field)
                    for ordinal, thread in enumerate(threads):
                        yield from thread_events(thread, f"{number}:{ordinal}", options.include_article)
            except Exception as exc:  # noqa: BLE001 - whatever one input raises stays with it
                yield Failure(path, failure_reason(exc))


def input_files(paths: Iterable[str], exclude: Iterable[str] = (),
                skipped: list[str] | None = None) -> list[str]:
    """``paths`` expanded to files (see :func:`~moderation.parsers.expand_paths`), without this
    run's own output files: a directory being scored may hold them, and reading an output
    while appending to it would never end."""
    own = [os.path.abspath(p) for p in exclude if p and p != "-"]
    files = []
    for path in expand_paths(paths, skipped):
        if path != "-" and os.path.abspath(path) in own:
            continue
        files.append(path)
    return files


def thread_events(thread: Thread, key: str, include_article: bool = False) -> Iterator[Event]:
    article = thread.article
    ref = ThreadRef(thread.source, article.title if article else None, key, article.url if article else None)
    yield ThreadStart(ref, thread.pingbacks)
    if include_article and article is not None:
        body = Comment(id="article", text=article.text, author=article.author,
                       posted_at=article.published_at, url=article.url)
        yield Item(ref, body, "article") if body.text.strip() else Skipped(ref, "article", "empty")
    for comment in thread.comments:
        yield Item(ref, comment) if comment.text.strip() else Skipped(ref, comment.id, "empty")


def count_items(paths: Sequence[str], options: InputOptions = InputOptions()) -> int:
    """How many texts :func:`read_inputs` will give (for a progress bar's ETA)."""
    return sum(1 for event in read_inputs([p for p in paths if p != "-"], options)
               if isinstance(event, Item))


def _open(path: str) -> tuple[BinaryIO, str]:
    if path == "-":
        # Read whole, as `moderation parse` does: sniffing needs to look ahead.
        return io.BytesIO(sys.stdin.buffer.read()), "<stdin>"
    try:
        return open(path, "rb"), path
    except OSError as exc:
        raise ParseError(path, f"cannot open: {exc.strerror or exc}") from None


def _flat_kind(path: str, stream: BinaryIO, text_field: str) -> Kind | None:
    """The kind of table a flat comment list is, else None (see
    :func:`~moderation.parsers.flat.flat_kind`)."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    return flat_kind(path, head, text_field)


def _flat_events(
    stream: BinaryIO, source: str, kind: Kind, text_field: str, key: str
) -> Iterator[Event]:
    """Comments from a flat list; consecutive rows with the same ``thread`` form one thread."""
    current: ThreadRef | None = None
    for row in flat_rows(stream, source, kind, text_field):
        if current is None or current.title != row.thread:
            current = ThreadRef(source, row.thread, key + json.dumps(row.thread))
            yield ThreadStart(current)
        if row.comment is None:
            yield Skipped(current, row.skip_id, row.why)
        elif row.comment.text.strip():
            yield Item(current, row.comment)
        else:
            yield Skipped(current, row.comment.id, "empty")


def make_record(item: Item, scores: dict[str, float], spans: Sequence[Span],
                policy: Policy) -> ScoredRecord:
    """The output record of one scored text: the policy decides its flags and decision."""
    flags, decision = policy.decide(scores)
    return ScoredRecord.scored(item.thread.record_thread(), item.kind, item.comment, scores,
                               flags, decision, spans)


def error_record(item: Item, code: int, message: str, text: str | None = None) -> ScoredRecord:
    """The record of an item that was not scored (see :meth:`ScoredRecord.unscored`)."""
    return ScoredRecord.unscored(item.thread.record_thread(), item.kind, item.comment, code,
                                 message, text)


ScoreBatch = Callable[[list[str]], list[tuple[dict[str, float], tuple[Span, ...]]]]


def scorer_batch(scorer: Any) -> ScoreBatch:
    """Adapt a :class:`~moderation.scorer.Scorer` to ``texts -> [(scores, spans)]``, the spans
    as records write them."""
    def score(texts: list[str]) -> list[tuple[dict[str, float], tuple[Span, ...]]]:
        return [(s.scores, tuple(span.written() for span in s.spans)) for s in scorer.score_batch(texts)]
    return score


def score_events(
    events: Iterable[Event],
    score: ScoreBatch,
    policy: Policy,
    *,
    chunk: int = DEFAULT_CHUNK,
    replay: Iterator[ScoredRecord] | None = None,
    replay_count: int = 0,
) -> Iterator[list[ScoredEvent]]:
    """Score the items of ``events``; yield the events in order, one chunk's worth at a time.

    The first ``replay_count`` items are not scored: their records come from ``replay`` (the
    output of an interrupted run) and are checked against the input. ``replay_count`` must be
    a multiple of ``chunk`` for the output to match an uninterrupted run exactly.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    pending: list[Event] = []
    items = 0
    for event in events:
        if isinstance(event, Item) and items < replay_count:
            record = _check_replay(next(replay, None) if replay is not None else None, event, items)
            items += 1
            yield [*_flush(pending, score, policy), Scored(event, record, fresh=False)]
            pending = []
            continue
        pending.append(event)
        if isinstance(event, Item):
            items += 1
            if items % chunk == 0:
                yield _flush(pending, score, policy)
                pending = []
    if items < replay_count:
        raise ModerationError(
            f"the output holds {replay_count} records but the inputs give only {items}: "
            "it was written from other inputs; run without --resume")
    if pending:
        yield _flush(pending, score, policy)


def _flush(pending: list[Event], score: ScoreBatch, policy: Policy) -> list[ScoredEvent]:
    items = [e for e in pending if isinstance(e, Item)]
    results = iter(score([item.comment.text for item in items]) if items else [])
    out: list[ScoredEvent] = []
    for event in pending:
        if isinstance(event, Item):
            scores, spans = next(results)
            out.append(Scored(event, make_record(event, scores, spans, policy)))
        else:
            out.append(event)
    return out


def _check_replay(record: ScoredRecord | None, item: Item, index: int) -> ScoredRecord:
    """The replayed record of ``item``, if it is that item's."""
    if record is None:
        raise ModerationError(f"the output ended before record {index + 1}; run without --resume")
    if record.id != item.comment.id or record.thread.source != item.thread.source:
        raise ModerationError(
            f"record {index + 1} of the output is comment {record.id!r} of "
            f"{record.thread.source!r}, but the inputs give comment "
            f"{item.comment.id!r} of {item.thread.source!r} there: the output was written from "
            "other inputs; run without --resume")
    return record
