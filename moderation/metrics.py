"""Metrics, calibration and threshold tuning on numpy arrays (no torch, no sklearn)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))
    return out


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half). NaN without both classes."""
    y = np.asarray(y) >= 0.5
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return math.nan
    order = np.argsort(score, kind="mergesort")
    sorted_scores = np.asarray(score)[order]
    ranks = np.empty(len(score), dtype=np.float64)
    # average ranks over ties
    i = 0
    while i < len(sorted_scores):
        j = i
        while j + 1 < len(sorted_scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(y) >= 0.5
    if not y.any():
        return math.nan
    order = np.argsort(-np.asarray(score), kind="mergesort")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def precision_recall_f1(y: np.ndarray, score: np.ndarray, threshold: float) -> tuple[float, float, float]:
    y = np.asarray(y) >= 0.5
    pred = np.asarray(score) >= threshold
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    y = (np.asarray(y) >= 0.5).astype(np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    if len(y) == 0:
        return math.nan
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(prob[members].mean() - y[members].mean())
    return float(error)


def stream_weights(y: np.ndarray, prevalence: float | None) -> tuple[float, float]:
    """Weights of a positive and a negative example that turn ``y``'s mix into a stream where
    ``prevalence`` of the texts are positive (1 and 1 when ``prevalence`` is None)."""
    if prevalence is None:
        return 1.0, 1.0
    share = float(np.mean(np.asarray(y) >= 0.5))
    return prevalence / share, (1 - prevalence) / (1 - share)


def best_threshold(y: np.ndarray, prob: np.ndarray, default: float = 0.5,
                   prevalence: float | None = None) -> float:
    """The threshold that maximises F1 (midway between neighbouring scores, for stability).

    With ``prevalence``, F1 is that of a stream where that share of texts is positive: each
    class is re-weighted from its share in ``y`` to its share in the stream. Validation pooled
    from toxic-heavy datasets has far more positives than a comment stream, and the F1 optimum
    there flags a large part of a calm stream.
    """
    y = np.asarray(y) >= 0.5
    if not y.any() or y.all():
        return default
    order = np.argsort(-prob, kind="mergesort")
    sorted_prob = np.asarray(prob)[order]
    hits = y[order]
    w_pos, w_neg = stream_weights(y, prevalence)
    tp = np.cumsum(hits) * w_pos
    fp = np.cumsum(~hits) * w_neg
    f1 = 2 * tp / (tp + fp + hits.sum() * w_pos)
    # only cut between distinct scores
    distinct = np.r_[sorted_prob[1:] != sorted_prob[:-1], True]
    f1 = np.where(distinct, f1, -1.0)
    k = int(np.argmax(f1))
    if k + 1 < len(sorted_prob):
        return float((sorted_prob[k] + sorted_prob[k + 1]) / 2.0)
    return float(sorted_prob[k])


def fit_platt(y: np.ndarray, logits: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Fit p = sigmoid(scale * z + bias) by Newton's method on the log loss.

    Uses Platt's smoothed targets so a perfectly separated validation set does not drive the
    scale to infinity. Returns (1, 0) when a class is missing.
    """
    y = np.asarray(y, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    pos = float((y >= 0.5).sum())
    neg = float(len(y) - pos)
    if pos == 0 or neg == 0:
        return 1.0, 0.0
    t = np.where(y >= 0.5, (pos + 1) / (pos + 2), 1 / (neg + 2))

    def loss(a: float, b: float) -> float:
        u = a * z + b  # log loss written stably: log(1 + e^u) - t * u
        return float((np.logaddexp(0.0, u) - t * u).sum())

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iterations):
        p = sigmoid(a * z + b)
        g = np.array([((p - t) * z).sum(), (p - t).sum()])
        w = p * (1 - p) + 1e-12
        h = np.array([[(w * z * z).sum(), (w * z).sum()], [(w * z).sum(), w.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        # Backtracking: a full Newton step overshoots when the logits are far off scale.
        factor = 1.0
        while factor > 1e-6:
            trial = loss(a - factor * step[0], b - factor * step[1])
            if trial <= current:
                break
            factor /= 2
        else:
            break
        a, b = a - factor * step[0], b - factor * step[1]
        improved = current - trial
        current = trial
        if improved < 1e-10 * max(1.0, abs(current)):
            break
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return 1.0, 0.0  # a calibration that reverses the ranking is worse than none
    return float(a), float(b)


def char_set(spans: Iterable[tuple[int, int]]) -> set[int]:
    chars: set[int] = set()
    for start, end in spans:
        chars.update(range(start, end))
    return chars


def span_f1(gold: Sequence[set[int]], predicted: Sequence[set[int]]) -> float:
    """SemEval-2021 Task 5 character F1: per text, averaged; two empty sets score 1."""
    scores = []
    for g, p in zip(gold, predicted, strict=True):
        if not g and not p:
            scores.append(1.0)
        elif not g or not p:
            scores.append(0.0)
        else:
            overlap = len(g & p)
            precision, recall = overlap / len(p), overlap / len(g)
            scores.append(2 * precision * recall / (precision + recall) if overlap else 0.0)
    return float(np.mean(scores)) if scores else math.nan


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a share of ``hits`` in ``n`` (NaN ends when ``n`` is 0).

    A share of a handful of texts (ten hostile comments of a source) is mostly noise; unlike the
    plain ``p ± z·se``, this interval stays inside [0, 1] and is honest at 0 and ``n`` hits."""
    if n == 0:
        return math.nan, math.nan
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
