"""Evaluation of a model on labelled data: per-label ranking, threshold, calibration and span
quality. Used by ``moderation evaluate`` and at the end of training (one code path)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.labelled import Example
from moderation.metrics import (
    average_precision,
    char_set,
    expected_calibration_error,
    precision_recall_f1,
    roc_auc,
    span_f1,
)

if TYPE_CHECKING:
    from moderation.scorer import RawOutput, Scorer


@dataclass(frozen=True)
class LabelMetrics:
    label: str
    known: int  # examples where the label is annotated
    support: int  # positives among them
    roc_auc: float
    average_precision: float
    threshold: float
    precision: float
    recall: float
    f1: float
    ece: float
    span_f1: float | None = None  # character F1 where gold spans exist
    span_examples: int = 0


@dataclass
class EvalReport:
    model: str
    examples: int
    labels: list[LabelMetrics] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            return None if isinstance(value, float) and math.isnan(value) else value

        return {
            "model": self.model,
            "examples": self.examples,
            "labels": {m.label: {k: clean(v) for k, v in asdict(m).items() if k != "label"}
                       for m in self.labels},
        }

    def by_label(self) -> dict[str, LabelMetrics]:
        return {m.label: m for m in self.labels}


def evaluate(scorer: Scorer, examples: Sequence[Example],
             raw: Sequence[RawOutput] | None = None) -> EvalReport:
    """Score ``examples`` once and measure every label of the model they annotate.

    ``raw`` is the model output for ``examples`` when the caller already has it (training
    computes it once for calibration and reuses it here).
    """
    if raw is None:
        raw = scorer.raw_batch([ex.text for ex in examples])
    probs = np.stack([scorer.calibrate(r.logits) for r in raw]) if raw else np.zeros((0, 0))
    report = EvalReport(model=scorer.info.name, examples=len(examples))
    for i, label in enumerate(scorer.info.labels):
        rows = [k for k, ex in enumerate(examples) if label.name in ex.labels]
        if not rows:
            continue
        y = np.array([examples[k].labels[label.name] >= 0.5 for k in rows])
        p = probs[rows, i]
        precision, recall, f1 = precision_recall_f1(y, p, label.threshold)
        span_score, span_n = None, 0
        if label.spans:
            span_rows = [k for k in range(len(examples)) if label.name in examples[k].span_labels]
            if span_rows:
                from moderation.scorer import token_spans

                gold, predicted = [], []
                for k in span_rows:
                    ex = examples[k]
                    gold.append(char_set((s.start, s.end) for s in ex.spans if _span_counts(s.label, label.name, scorer)))
                    found = []
                    if probs[k, i] >= label.threshold:
                        found = token_spans(ex.text, raw[k].offsets, raw[k].token_probs[:, i], label.name)
                    predicted.append(char_set((s.start, s.end) for s in found))
                span_score, span_n = span_f1(gold, predicted), len(span_rows)
        report.labels.append(
            LabelMetrics(
                label=label.name,
                known=len(rows),
                support=int(y.sum()),
                roc_auc=roc_auc(y, p),
                average_precision=average_precision(y, p),
                threshold=label.threshold,
                precision=precision,
                recall=recall,
                f1=f1,
                ece=expected_calibration_error(y, p),
                span_f1=span_score,
                span_examples=span_n,
            )
        )
    return report


def evaluate_by_source(scorer: Scorer, examples: Sequence[Example],
                       raw: Sequence[RawOutput] | None = None) -> dict[str, EvalReport]:
    """One report per ``Example.source`` (dataset), scoring every example once."""
    if raw is None:
        raw = scorer.raw_batch([ex.text for ex in examples])
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(ex.source, []).append(i)
    return {
        source: evaluate(scorer, [examples[i] for i in rows], [raw[i] for i in rows])
        for source, rows in sorted(groups.items())
    }


def _span_counts(span_label: str, label: str, scorer: Scorer) -> bool:
    """A gold span counts for ``label`` if it is that label or a member of ``label``'s group."""
    if span_label == label:
        return True
    return label in scorer.info.groups and span_label in scorer.info.groups[label]


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "    -"
    return f"{value:5.3f}"


HEADER = ("label", "known", "pos", "ROC-AUC", "AP", "thr", "P", "R", "F1", "ECE", "spanF1")


def format_table(report: EvalReport, other: EvalReport | None = None) -> str:
    """A plain-text table; with ``other``, two models side by side (ROC-AUC, AP, F1, span F1)."""
    if other is None:
        lines = [f"model {report.model} on {report.examples} examples",
                 "{:<27} {:>6} {:>5} {:>7} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}".format(*HEADER)]
        for m in report.labels:
            lines.append(
                f"{m.label:<27} {m.known:>6} {m.support:>5} {_fmt(m.roc_auc):>7} "
                f"{_fmt(m.average_precision)} {_fmt(m.threshold)} {_fmt(m.precision)} "
                f"{_fmt(m.recall)} {_fmt(m.f1)} {_fmt(m.ece)} {_fmt(m.span_f1):>6}"
            )
        return "\n".join(lines)
    theirs = other.by_label()
    lines = [f"A = {report.model}, B = {other.model}, on {report.examples} examples",
             f"{'label':<27} {'pos':>5} {'AUC A':>6} {'AUC B':>6} {'AP A':>5} {'AP B':>5} "
             f"{'F1 A':>5} {'F1 B':>5} {'spF1 A':>6} {'spF1 B':>6}"]
    for m in report.labels:
        o = theirs.get(m.label)
        lines.append(
            f"{m.label:<27} {m.support:>5} {_fmt(m.roc_auc):>6} {_fmt(o.roc_auc if o else None):>6} "
            f"{_fmt(m.average_precision)} {_fmt(o.average_precision if o else None)} "
            f"{_fmt(m.f1)} {_fmt(o.f1 if o else None)} {_fmt(m.span_f1):>6} "
            f"{_fmt(o.span_f1 if o else None):>6}"
        )
    return "\n".join(lines)
