"""Scoring texts with a model directory.

One batch method, :meth:`Scorer.score_batch`; single texts and streams are built on it. Labels,
thresholds and calibration come from the model directory only.

Long texts are not truncated: each is cut into overlapping windows of the model's
``max_length`` tokens (``stride`` tokens of overlap), every window is scored, and a text takes
the maximum over its windows per label. Token evidence is mapped back to character offsets in
the original text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.metrics import sigmoid
from moderation.modeldir import SPAN_THRESHOLD, ModelInfo, default_model_dir, read_model_info
from moderation.policy import model_policy
from moderation.record import Span
from moderation.windows import Window


@dataclass(frozen=True)
class EvidenceSpan:
    start: int
    end: int
    label: str
    score: float

    def written(self) -> Span:
        """The span as records and answers give it (its score to 4 places)."""
        return Span(self.start, self.end, self.label, round(self.score, 4))

    def to_dict(self) -> dict[str, object]:
        return self.written().to_json()


@dataclass(frozen=True)
class Scores:
    """Calibrated probability per label (in the model's label order) and evidence spans."""

    scores: dict[str, float]
    spans: tuple[EvidenceSpan, ...] = ()


@dataclass(frozen=True)
class RawOutput:
    """Uncalibrated model output for one text: max logit per label over its windows, and per
    token (character offsets) the max token-head probability per label."""

    logits: np.ndarray  # (num_labels,)
    offsets: np.ndarray  # (num_tokens, 2)
    token_probs: np.ndarray  # (num_tokens, num_labels)


class Scorer:
    """Scores texts with a model directory.

    ``backend`` is where the network runs (see :mod:`moderation.backends`): ``onnx`` (ONNX
    Runtime; ``precision`` ``int8`` or ``fp32``; the default when installed) or ``torch`` (the
    reference). ``batch_size`` is windows per forward pass (default: what measured fastest for
    the backend).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        base: str | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        backend: str | None = None,
        precision: str = "int8",
        log: Callable[[str], None] | None = None,
    ) -> None:
        from moderation.backends import DEFAULT_BATCH, default_backend, open_backend
        from moderation.modeldir import resolve_base
        from moderation.windows import WindowTokenizer

        self.info: ModelInfo = read_model_info(Path(model_dir) if model_dir else default_model_dir())
        backend = backend or default_backend()
        self.batch_size = batch_size or DEFAULT_BATCH.get(backend, 32)
        self.tokenizer = WindowTokenizer(resolve_base(base or self.info.base_name),
                                         self.info.max_length, self.info.stride)
        self.backend = open_backend(self.info, backend, base=base, threads=threads,
                                    precision=precision, log=log)
        self._scale = np.array([label.scale for label in self.info.labels])
        self._bias = np.array([label.bias for label in self.info.labels])
        self._thresholds = np.array([label.threshold for label in self.info.labels])
        self._span_index = [i for i, label in enumerate(self.info.labels) if label.spans]
        self._policy = model_policy(self.info)

    @property
    def labels(self) -> list[str]:
        return self.info.label_names

    @property
    def thresholds(self) -> dict[str, float]:
        return self.info.thresholds

    def flags(self, result: Scores) -> list[str]:
        """The labels the model's own policy flags for ``result`` (see ``moderation.policy``)."""
        return self._policy.flags(result.scores)

    def score(self, text: str) -> Scores:
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[str]) -> list[Scores]:
        return [self._to_scores(text, raw) for text, raw in zip(texts, self.raw_batch(texts), strict=True)]

    def score_stream(self, texts: Iterable[str], chunk: int = 256) -> Iterator[Scores]:
        buffer: list[str] = []
        for text in texts:
            buffer.append(text)
            if len(buffer) >= chunk:
                yield from self.score_batch(buffer)
                buffer = []
        if buffer:
            yield from self.score_batch(buffer)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(self._scale * logits + self._bias)

    def raw_batch(self, texts: Sequence[str]) -> list[RawOutput]:
        """Model output for each text. Windows of all texts are sorted by length and batched,
        so a batch carries little padding."""
        if not texts:
            return []
        windows = self.tokenizer.windows(texts)
        n_labels = len(self.info.labels)
        logits = np.full((len(texts), n_labels), -np.inf, dtype=np.float32)
        pieces: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in texts]
        order = sorted(range(len(windows)), key=lambda w: len(windows[w].ids))
        calls = plan_calls([len(windows[w].ids) for w in order], self.batch_size, self.backend.lanes)
        batches = [[windows[w] for w in order[start:end]] for start, end in calls]
        outputs = self.backend.run_all([self._pad(batch) for batch in batches])
        for batch, (seq, tok) in zip(batches, outputs, strict=True):
            for row, window in enumerate(batch):
                np.maximum(logits[window.owner], seq[row], out=logits[window.owner])
                real = window.offsets[:, 1] > window.offsets[:, 0]  # not special tokens
                pieces[window.owner].append((window.offsets[real], sigmoid(tok[row, : len(window.ids)][real])))
        return [RawOutput(logits[i], *_merge_windows(pieces[i], n_labels)) for i in range(len(texts))]

    def _pad(self, batch: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(w.ids) for w in batch)
        input_ids = np.full((len(batch), width), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, window in enumerate(batch):
            input_ids[row, : len(window.ids)] = window.ids
            mask[row, : len(window.ids)] = 1
        return input_ids, mask

    def _to_scores(self, text: str, raw: RawOutput) -> Scores:
        probs = self.calibrate(raw.logits)
        scores = {name: round(float(p), 6) for name, p in zip(self.labels, probs, strict=True)}
        spans: list[EvidenceSpan] = []
        for i in self._span_index:
            if probs[i] >= self._thresholds[i]:
                spans.extend(token_spans(text, raw.offsets, raw.token_probs[:, i], self.labels[i],
                                         self.info.labels[i].span_threshold))
        spans.sort(key=lambda s: (s.start, s.label))
        return Scores(scores, tuple(spans))


def plan_calls(lengths: Sequence[int], size: int, lanes: int) -> list[tuple[int, int]]:
    """Model calls over windows sorted by length (ascending), as ``[start, end)`` ranges.

    More windows than one call of ``size`` per lane: calls of ``size``, which the lanes take as
    they free up. Fewer (a service's micro-batch): at most one call per lane, cut where the
    slowest call, which decides when all are done, pads the fewest tokens (windows × longest).
    Equal counts would give one lane every long window: on batches of 8 of the load test's
    comments (bench/load_test.py) the slower call then padded 2.8 times the tokens of the other
    (median), and 210 tokens on average where this cut's slower call pads 145.
    """
    n = len(lengths)
    if not n:
        return []
    if lanes < 2 or n > size * lanes:
        return [(start, min(n, start + size)) for start in range(0, n, size)]

    def cut(limit: int) -> list[tuple[int, int]]:
        # From the longest end, each call takes as many windows as fit under the limit.
        calls, end = [], n
        while end > 0:
            start = end - 1
            while start > 0 and end - start < size and (end - start + 1) * lengths[end - 1] <= limit:
                start -= 1
            calls.append((start, end))
            end = start
        return calls[::-1]

    low, high = lengths[-1], size * lengths[-1]
    while low < high:  # the smallest limit that needs no more calls than lanes
        middle = (low + high) // 2
        if len(cut(middle)) <= lanes:
            high = middle
        else:
            low = middle + 1
    return cut(low)


def _merge_windows(pieces: list[tuple[np.ndarray, np.ndarray]], n_labels: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One row per distinct token position, in text order; where windows overlap, a token takes
    the maximum of its probabilities."""
    if not pieces:
        return np.zeros((0, 2), dtype=np.int64), np.zeros((0, n_labels), dtype=np.float32)
    if len(pieces) == 1:
        return pieces[0]
    offsets = np.concatenate([p[0] for p in pieces])
    probs = np.concatenate([p[1] for p in pieces])
    unique, inverse = np.unique(offsets, axis=0, return_inverse=True)
    merged = np.zeros((len(unique), n_labels), dtype=probs.dtype)
    np.maximum.at(merged, inverse.reshape(-1), probs)
    return unique, merged


def token_spans(
    text: str, offsets: np.ndarray, probs: np.ndarray, label: str, threshold: float = SPAN_THRESHOLD
) -> list[EvidenceSpan]:
    """Character spans from per-token probabilities.

    Neighbouring evidence tokens separated only by spaces merge into one span, and a span that
    starts or ends inside a word grows to the whole word, so a highlight never cuts a word.
    """
    spans: list[EvidenceSpan] = []
    current: list[float] | None = None  # [start, end, max score]
    hits = np.flatnonzero(probs >= threshold)  # usually a few of many tokens
    for (start, end), p in zip(offsets[hits].tolist(), probs[hits].tolist(), strict=True):
        if current is not None and not text[int(current[1]) : start].strip():
            current[1] = end
            current[2] = max(current[2], p)
            continue
        if current is not None:
            spans.append(_word_span(text, current, label))
        current = [start, end, p]
    if current is not None:
        spans.append(_word_span(text, current, label))
    return spans


def _word_span(text: str, span: list[float], label: str) -> EvidenceSpan:
    start, end = int(span[0]), int(span[1])
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return EvidenceSpan(start, end, label, float(span[2]))
