"""Evaluation of a model on labelled data: per-label ranking, threshold, calibration and span
quality. Used by ``moderation evaluate`` and at the end of training (one code path)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.identity import SUBGROUPS, mentions
from moderation.labelled import Example
from moderation.labels import HOSTILITY, PROPAGANDA
from moderation.metrics import (
    average_precision,
    char_set,
    expected_calibration_error,
    precision_recall_f1,
    roc_auc,
    span_f1,
    wilson_interval,
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
    span_f1: float | None = None  # character F1 of the evidence where the label shows (see evaluate)
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
    probs = _probabilities(scorer, raw)
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
            rows_gold = span_gold(scorer, examples, label.name)
            if rows_gold:
                span_score = span_f1([gold for _, gold in rows_gold],
                                     [evidence(examples[k].text, raw[k], i, label.span_threshold)
                                      for k, _ in rows_gold])
                span_n = len(rows_gold)
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


def _probabilities(scorer: Scorer, raw: Sequence[RawOutput]) -> np.ndarray:
    """Calibrated scores, one row per text (texts x labels)."""
    if not raw:
        return np.zeros((0, len(scorer.info.labels)))
    return np.stack([scorer.calibrate(r.logits) for r in raw])


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


def span_gold(scorer: Scorer, examples: Sequence[Example], label: str) -> list[tuple[int, set[int]]]:
    """The texts a label's evidence is measured on, each with its gold characters: those whose
    spans for the label were annotated, less its known negatives. Given a text that shows the
    label, where (SemEval-2021 Task 5's premise: systems are given the toxic posts). Whether the
    label fires at all is what recall and precision measure, so evidence is taken flagged or not.
    """
    return [(k, char_set((s.start, s.end) for s in ex.spans if _span_counts(s.label, label, scorer)))
            for k, ex in enumerate(examples)
            if label in ex.span_labels and ex.labels.get(label, 1.0) >= 0.5]


def evidence(text: str, raw: RawOutput, index: int, threshold: float) -> set[int]:
    """The characters the label at ``index`` highlights in ``text`` at a token threshold."""
    from moderation.scorer import token_spans

    found = token_spans(text, raw.offsets, raw.token_probs[:, index], "", threshold)
    return char_set((s.start, s.end) for s in found)


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


@dataclass(frozen=True)
class DecisionRates:
    """What a moderator would see from one source at the model's review thresholds.

    ``calm``: texts known not hostile, with no hostility label positive (not even incivility)
    and not propaganda; ``review`` is the share of them with
    any label flagged, ``propaganda_flagged`` the share with a propaganda label flagged.
    ``hostile``: texts known hostile; ``caught`` the share with any label flagged.
    ``propaganda`` / ``propaganda_caught``: texts known to use a technique, and the share with a
    propaganda label flagged; ``plain`` / ``plain_flagged``: texts known to use none (whatever
    their hostility), and the share with a propaganda label flagged anyway.
    """

    source: str
    calm: int = 0
    review: float | None = None
    propaganda_flagged: float | None = None
    hostile: int = 0
    caught: float | None = None
    propaganda: int = 0
    propaganda_caught: float | None = None
    plain: int = 0
    plain_flagged: float | None = None


def calm_texts(examples: Sequence[Example], groups: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Which examples are calm: known not hostile, with no hostility label positive and no
    technique known. A comment annotated uncivil (or any other hostility label) without being
    hostile is not calm: flagging it is right."""
    members = groups.get(HOSTILITY, [])
    return np.array([ex.labels.get(HOSTILITY, 1.0) < 0.5 and ex.labels.get(PROPAGANDA, 0.0) < 0.5
                     and not any(ex.labels.get(m, 0.0) >= 0.5 for m in members)
                     for ex in examples], dtype=bool)


@dataclass(frozen=True)
class _Decided:
    """What ``decision_rates`` and ``review_budgets`` read: per text, the probabilities and the
    flags at the model's thresholds, the known hostility and propaganda (NaN where unknown),
    whether it is calm, and its source; per label, whether it is a propaganda label."""

    probs: np.ndarray
    flagged: np.ndarray
    in_propaganda: np.ndarray
    hostility: np.ndarray
    propaganda: np.ndarray
    calm: np.ndarray
    source_of: np.ndarray


def _decided(scorer: Scorer, examples: Sequence[Example], raw: Sequence[RawOutput] | None) -> _Decided:
    if raw is None:
        raw = scorer.raw_batch([ex.text for ex in examples])
    probs = _probabilities(scorer, raw)
    return _Decided(
        probs, probs >= np.array([label.threshold for label in scorer.info.labels]),
        np.array([label.group == PROPAGANDA for label in scorer.info.labels]),
        np.array([ex.labels.get(HOSTILITY, np.nan) for ex in examples], dtype=float),
        np.array([ex.labels.get(PROPAGANDA, np.nan) for ex in examples], dtype=float),
        calm_texts(examples, scorer.info.groups), np.array([ex.source for ex in examples], dtype=object))


def decision_rates(scorer: Scorer, examples: Sequence[Example],
                   raw: Sequence[RawOutput] | None = None) -> list[DecisionRates]:
    """Per source, review and catch rates at the model's thresholds (see ``DecisionRates``)."""
    d = _decided(scorer, examples, raw)
    # Per row (``any`` over an axis is typed as possibly a scalar; of a 2-D array it never is).
    any_flag = np.asarray(d.flagged.any(axis=1))
    technique_flag = np.asarray(d.flagged[:, d.in_propaganda].any(axis=1))

    def share(mask: np.ndarray, hits: np.ndarray) -> float | None:
        return float(hits[mask].mean()) if mask.any() else None

    rows = []
    for source in sorted(set(d.source_of)):
        mine: np.ndarray = d.source_of == source  # elementwise over an object array
        calm = mine & d.calm
        hostile = mine & (d.hostility >= 0.5)
        techniques = mine & (d.propaganda >= 0.5)
        plain = mine & (d.propaganda < 0.5)
        rows.append(DecisionRates(
            source, int(calm.sum()), share(calm, any_flag), share(calm, technique_flag),
            int(hostile.sum()), share(hostile, any_flag), int(techniques.sum()),
            share(techniques, technique_flag), int(plain.sum()), share(plain, technique_flag)))
    return rows


def format_decisions(rows: Sequence[DecisionRates]) -> str:
    """A plain-text table of ``decision_rates``."""
    def pct(value: float | None) -> str:
        return "    -" if value is None else f"{100 * value:4.1f}%"

    lines = ["decisions at the model's review thresholds, per source",
             f"{'source':<26} {'calm':>5} {'review':>6} {'prop':>6} {'hostile':>7} {'caught':>6} "
             f"{'tech':>5} {'caught':>6} {'none':>5} {'flag':>6}"]
    for r in rows:
        lines.append(f"{r.source:<26} {r.calm:>5} {pct(r.review):>6} {pct(r.propaganda_flagged):>6} "
                     f"{r.hostile:>7} {pct(r.caught):>6} {r.propaganda:>5} {pct(r.propaganda_caught):>6} "
                     f"{r.plain:>5} {pct(r.plain_flagged):>6}")
    lines.append("calm: no hostility label, no technique (review: any label flagged; prop: a propaganda "
                 "label flagged); hostile: caught by any label; tech: uses a technique, caught by "
                 "a propaganda label; none: uses no technique, flag: a propaganda label flagged")
    return "\n".join(lines)


# The shares of a source's calm texts a site might agree to read, for ``review_budgets``.
REVIEW_BUDGETS = (0.05, 0.10, 0.20)
MIN_BUDGET_TEXTS = 20  # calm texts a source needs before a budget on them means anything


@dataclass(frozen=True)
class BudgetRow:
    """What moving one headline's threshold could buy on one source, at a review budget.

    The headline's threshold (``threshold``) is the lowest that sends no more than ``budget`` of
    the source's negatives to review, the other labels keeping theirs; ``caught`` is the share of
    its positives then flagged, with a 95% Wilson interval (``caught_low``, ``caught_high``).
    For hostility the negatives are the calm texts and a flag is any label's (as ``review`` in
    ``DecisionRates``); for propaganda they are the texts with no technique, and a flag is a
    propaganda label's. ``threshold`` and ``caught`` are None where the other labels alone
    flag more than the budget. No threshold on the headline catches more at that budget, so
    this bounds what a site reaches by moving it (``moderation calibrate``) rather than by a
    model that ranks its texts better.
    """

    source: str
    group: str
    negatives: int
    positives: int
    budget: float
    threshold: float | None
    caught: float | None
    caught_low: float | None
    caught_high: float | None


def review_budgets(scorer: Scorer, examples: Sequence[Example], raw: Sequence[RawOutput] | None = None,
                   budgets: Sequence[float] = REVIEW_BUDGETS) -> list[BudgetRow]:
    """Per source with both kinds of text (``MIN_BUDGET_TEXTS`` negatives, one positive), and per
    headline and budget, a ``BudgetRow``."""
    d = _decided(scorer, examples, raw)
    probs, flagged, names = d.probs, d.flagged, scorer.info.label_names
    # headline, its negatives and positives, and the labels whose flags count
    views = [(HOSTILITY, d.calm, d.hostility >= 0.5, np.ones(len(names), dtype=bool)),
             (PROPAGANDA, d.propaganda < 0.5, d.propaganda >= 0.5, d.in_propaganda)]
    rows = []
    for source in sorted(set(d.source_of)):
        mine: np.ndarray = d.source_of == source  # elementwise over an object array
        for headline, negative, positive, counted in views:
            if headline not in names:
                continue
            knob = names.index(headline)
            others = counted.copy()
            others[knob] = False
            other_flag = np.asarray(flagged[:, others].any(axis=1))
            neg, pos = mine & negative, mine & positive
            if neg.sum() < MIN_BUDGET_TEXTS or not pos.any():
                continue
            for budget in budgets:
                threshold = _budget_threshold(probs[neg, knob], other_flag[neg], budget)
                if threshold is None:
                    rows.append(BudgetRow(source, headline, int(neg.sum()), int(pos.sum()), budget,
                                          None, None, None, None))
                    continue
                hits = other_flag[pos] | (probs[pos, knob] >= threshold)
                low, high = wilson_interval(int(hits.sum()), int(pos.sum()))
                rows.append(BudgetRow(source, headline, int(neg.sum()), int(pos.sum()), budget,
                                      threshold, float(hits.mean()), low, high))
    return rows


def _budget_threshold(scores: np.ndarray, other_flag: np.ndarray, budget: float) -> float | None:
    """The lowest threshold on ``scores`` that keeps the negatives flagged (by it or by
    ``other_flag``) within ``budget`` of them; None where ``other_flag`` alone passes it."""
    room = math.floor(budget * len(scores) + 1e-9) - int(other_flag.sum())
    if room < 0:
        return None
    free = np.sort(scores[~other_flag])[::-1]
    if room >= len(free):
        return 0.0
    # Just above the first negative that would not fit (and every tie of it), in the six
    # decimals scores are written with, so that the written scores give the same flags.
    return round(float(free[room]), 6) + 1e-6


def format_budgets(rows: Sequence[BudgetRow]) -> str:
    """A plain-text table of ``review_budgets``."""
    lines = ["what a threshold could buy: positives caught when a headline's threshold sends at most "
             "the budget of a source's negatives to review (other labels as they are; 95% interval)",
             f"{'source':<26} {'headline':<10} {'neg':>5} {'pos':>5} {'budget':>6} {'threshold':>9} "
             f"{'caught':>6} {'interval':>13}"]
    for r in rows:
        if r.caught is None or r.threshold is None:
            cells = f"{'-':>9} {'-':>6} {'other labels alone flag more':>13}"
        else:
            cells = (f"{r.threshold:>9.3f} {100 * r.caught:5.1f}% "
                     f"{f'{100 * (r.caught_low or 0):.0f}-{100 * (r.caught_high or 0):.0f}%':>13}")
        lines.append(f"{r.source:<26} {r.group:<10} {r.negatives:>5} {r.positives:>5} "
                     f"{100 * r.budget:5.0f}% {cells}")
    return "\n".join(lines)


@dataclass(frozen=True)
class BiasRow:
    """Borkan et al. (2019) for one identity subgroup and label: ``subgroup_auc`` ranks within
    texts naming the group; ``bpsn`` (background positive, subgroup negative) falls when calm
    texts naming the group score above hostile ones that do not; ``bnsp`` falls when hostile
    texts naming the group score below calm ones that do not."""

    subgroup: str
    label: str
    texts: int
    positives: int
    subgroup_auc: float
    bpsn: float
    bnsp: float


BIAS_MIN_CLASS = 10  # positives and negatives a subgroup needs to be measured


def identity_bias(scorer: Scorer, examples: Sequence[Example], raw: Sequence[RawOutput] | None = None,
                  labels: Sequence[str] = ("hostility", "identity_attack")) -> list[BiasRow]:
    """Per identity subgroup named in ``examples`` (``moderation.identity``), the three bias
    AUCs for each of ``labels``; subgroups with fewer than ``BIAS_MIN_CLASS`` positives or
    negatives are left out."""
    if raw is None:
        raw = scorer.raw_batch([ex.text for ex in examples])
    probs = _probabilities(scorer, raw)
    names = scorer.info.label_names
    named = [mentions(ex.text) for ex in examples]
    rows = []
    for label in labels:
        if label not in names:
            continue
        i = names.index(label)
        known = [k for k, ex in enumerate(examples) if label in ex.labels]
        y = np.array([examples[k].labels[label] >= 0.5 for k in known], dtype=bool)
        p = probs[known, i]
        for subgroup in SUBGROUPS:
            inside = np.array([subgroup in named[k] for k in known], dtype=bool)
            positives = int((y & inside).sum())
            if min(positives, int((~y & inside).sum())) < BIAS_MIN_CLASS:
                continue
            bpsn = (~inside & y) | (inside & ~y)
            bnsp = (~inside & ~y) | (inside & y)
            rows.append(BiasRow(subgroup, label, int(inside.sum()), positives,
                                roc_auc(y[inside], p[inside]), roc_auc(y[bpsn], p[bpsn]),
                                roc_auc(y[bnsp], p[bnsp])))
    return rows


def format_bias(rows: Sequence[BiasRow]) -> str:
    lines = ["identity bias (Borkan et al. 2019) on validation",
             f"{'label':<16} {'subgroup':<15} {'texts':>5} {'pos':>5} {'subgroup':>8} {'BPSN':>6} {'BNSP':>6}"]
    for r in rows:
        lines.append(f"{r.label:<16} {r.subgroup:<15} {r.texts:>5} {r.positives:>5} "
                     f"{_fmt(r.subgroup_auc):>8} {_fmt(r.bpsn):>6} {_fmt(r.bnsp):>6}")
    return "\n".join(lines)
