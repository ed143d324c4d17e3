"""Calibration and review thresholds, fitted on validation through the saved model.

Each label gets a Platt scale and bias, then the review threshold that maximises F1 on a
comment stream where the label has its ``stream_prevalence`` (``moderation.labels``): the
validation texts re-weighted from their own mix to that share. Labels the project does not
define keep the plain F1 optimum on validation. A weak label (``WEAK_AUC``) or one with few
validation positives (``FEW_POSITIVES``) must also be precise where it flags
(``precise_threshold``), and a member label (not a group's headline) may flag at most
``CALM_BUDGET`` of validation's calm comments on its own (``calm_threshold``). A label with
evidence spans also gets the token probability that makes a token evidence: the one whose
highlights best match validation's (``span_threshold``).

``python -m training.thresholds MODEL_DIR`` does it again for a trained model on its recipe's
validation split (after a change to the stream shares), and rewrites its metrics and card.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moderation.labelled import Example, infer_labels
from moderation.labels import BY_NAME
from moderation.metrics import stream_weights
from moderation.modeldir import LabelInfo, ModelInfo, read_model_info, write_json, write_model_info

if TYPE_CHECKING:
    from moderation.scorer import RawOutput, Scorer

MIN_TO_TUNE = 5  # positives and negatives needed on validation to calibrate a label
Log = Callable[[str], None]


def tune_thresholds(model_dir: Path, val_ex: Sequence[Example], batch_size: int, log: Log,
                    start: ModelInfo | None = None, refit: frozenset[str] | None = None) -> None:
    """Calibrate and set thresholds on ``val_ex``, then evaluate: ``metrics.json``, and the
    decision rates per source and the identity-bias metrics (``decisions.json``).

    With ``start``, the model this one was adapted from, each label keeps its threshold there:
    only its calibration is fitted again, so that a score means what it meant (a site's few
    hundred examples are too few to move a threshold tuned on thousands). A label validation
    cannot calibrate keeps its calibration there as well, and so does one outside ``refit``
    (when given: the labels the site annotates): the start's scores were taught on it, so its
    score already means what it meant, and a replay sample's few validation texts of it would
    only move its calibration at random."""
    from moderation.evaluate import (
        calm_texts,
        decision_rates,
        evaluate,
        format_bias,
        format_budgets,
        format_decisions,
        format_table,
        identity_bias,
        review_budgets,
    )
    from moderation.metrics import best_threshold, fit_platt, roc_auc, sigmoid
    from moderation.scorer import Scorer

    info = read_model_info(model_dir)
    val_ex = [infer_labels(ex, info.groups, judging=True) for ex in val_ex]
    scorer = Scorer(model_dir, batch_size=batch_size, backend="torch")
    raw = scorer.raw_batch([ex.text for ex in val_ex])
    logits = np.stack([r.logits for r in raw])
    calm = calm_texts(val_ex, info.groups)
    tuned = []
    for i, label in enumerate(info.labels):
        rows = [k for k, ex in enumerate(val_ex) if label.name in ex.labels]
        y = np.array([val_ex[k].labels[label.name] >= 0.5 for k in rows])
        positives = int(y.sum())
        kept = start.label(label.name) if start is not None else None
        if kept is not None and refit is not None and label.name not in refit:
            tuned.append(replace(label, scale=kept.scale, bias=kept.bias, threshold=kept.threshold))
            continue
        if min(positives, len(y) - positives) < MIN_TO_TUNE:
            # Too few positives (or negatives) to tune on: a threshold fitted to one positive
            # flags everything. Keep the start's calibration (adapting), or the uncalibrated
            # score from one half.
            if kept is not None:
                tuned.append(replace(label, scale=kept.scale, bias=kept.bias, threshold=kept.threshold))
                continue
            scale, bias, threshold = 1.0, 0.0, 0.5
        else:
            scale, bias = fit_platt(y, logits[rows, i])
            if kept is not None:
                tuned.append(replace(label, scale=scale, bias=bias, threshold=kept.threshold))
                continue
            known = BY_NAME.get(label.name)
            prevalence = known.stream_prevalence if known else None
            probs = sigmoid(scale * logits[rows, i] + bias)
            threshold = best_threshold(y, probs, prevalence=prevalence)
            if roc_auc(y, probs) < WEAK_AUC or positives < FEW_POSITIVES:
                threshold = precise_threshold(y, probs, threshold, prevalence)
        # A member label (the headline carries the group's recall) keeps to the calm budget,
        # calibrated or not: uncalibrated, a technique with a handful of validation positives
        # (reductio ad hitlerum) would flag wherever its raw score passes one half.
        if label.name != label.group:
            threshold = calm_threshold(sigmoid(scale * logits[calm, i] + bias), threshold)
        tuned.append(replace(label, scale=scale, bias=bias, threshold=round(threshold, 4)))
    tuned = [replace(label, span_threshold=span_threshold(scorer, val_ex, raw, i, label, start, refit))
             if label.spans else label for i, label in enumerate(tuned)]
    info = replace(info, labels=tuple(tuned))
    write_model_info(info)
    scorer = Scorer(model_dir, batch_size=batch_size, backend="torch")
    report = evaluate(scorer, val_ex, raw)
    write_json(model_dir / "metrics.json", report.to_dict())
    log(format_table(report))
    decisions = decision_rates(scorer, val_ex, raw)
    budgets = review_budgets(scorer, val_ex, raw)
    bias_rows = identity_bias(scorer, val_ex, raw)
    write_json(model_dir / DECISIONS_FILE, {"backend": "torch",
                                           "rows": [vars(row) for row in decisions],
                                           "budgets": [vars(row) for row in budgets],
                                           "bias": [vars(row) for row in bias_rows]})
    log(format_decisions(decisions))
    log(format_budgets(budgets))
    log(format_bias(bias_rows))


# The token thresholds tried for a label's evidence, and the validation texts with its gold
# spans needed to choose one. The token heads of rare labels are trained on few positive tokens
# and seldom reach one half: on 0.3.1 at 0.5, identity_attack's evidence had a character F1 of
# 0.005 on the toxic posts annotated for it, and name_calling's 0.20 on PTC's sentences. Lower
# than 0.2, the technique heads highlight half of a long reader comment: more F1 on PTC's short
# sentences, no evidence to a moderator.
SPAN_GRID = (0.2, 0.25, 0.3, 0.4, 0.5)
MIN_SPAN_TEXTS = 20


def span_threshold(scorer: Scorer, val_ex: Sequence[Example], raw: Sequence[RawOutput], index: int,
                   label: LabelInfo, start: ModelInfo | None, refit: frozenset[str] | None) -> float:
    """The token threshold in ``SPAN_GRID`` whose evidence has the best character F1 on the
    validation texts that show ``label`` with gold spans, among those that highlight no more
    characters than the annotators did (the higher on a tie: fewer highlights). Adapting, a
    label outside ``refit`` keeps the start's, and so does one with fewer than
    ``MIN_SPAN_TEXTS`` such texts (or it keeps its own)."""
    from moderation.evaluate import evidence, span_gold
    from moderation.metrics import span_f1

    kept = start.label(label.name).span_threshold if start is not None else label.span_threshold
    if start is not None and refit is not None and label.name not in refit:
        return kept
    rows_gold = span_gold(scorer, val_ex, label.name)
    if len(rows_gold) < MIN_SPAN_TEXTS:
        return kept
    gold = [g for _, g in rows_gold]
    best, best_f1 = max(SPAN_GRID), -1.0
    for threshold in sorted(SPAN_GRID, reverse=True):
        found = [evidence(val_ex[k].text, raw[k], index, threshold) for k, _ in rows_gold]
        if sum(map(len, found)) > sum(map(len, gold)):
            break  # lower thresholds only highlight more
        f1 = span_f1(gold, found)
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best


DECISIONS_FILE = "decisions.json"
# A label ranking its validation texts worse than this (ROC-AUC) is too weak for its F1 optimum,
# which flags many texts to catch a few: it flags only where at least MIN_WEAK_PRECISION of what
# it flags on the stream shows it. Measured on 0.2.0: incivility (0.67) at its F1 optimum sent
# 17% of Unhealthy Conversations' calm comments to review on its own.
WEAK_AUC = 0.75
# So is a label whose threshold would rest on this few validation positives: on 0.2.0,
# thought_terminating_cliche (8) and slogans (13) had F1 optima at 0.014 and 0.049, flagging
# 1.4% of calm reader comments at a precision of 2% and 16%.
FEW_POSITIVES = 20
MIN_WEAK_PRECISION = 0.5
NEVER = 1.0  # the threshold of a label that cannot reach that precision: scored, never flagged


# A member label (an insult, a technique: not a group's headline) sends comments to review on
# its own, so its F1 optimum on the stream can add several points to the calm comments a
# moderator reads while the headline already catches most of what it finds: on a distillation
# of 0.3.1, name_calling alone flagged 11% of OLID's calm posts and loaded_language 8%. No member
# label flags more than this share of validation's calm comments (all sources together).
CALM_BUDGET = 0.01


def calm_threshold(calm_probs: np.ndarray, start: float) -> float:
    """``start``, or the lowest threshold above it that flags at most ``CALM_BUDGET`` of the
    calm texts' probabilities ``calm_probs``."""
    allowed = int(CALM_BUDGET * len(calm_probs))
    if len(calm_probs) <= allowed:
        return start
    ranked = np.sort(calm_probs)[::-1]
    # Just above the first calm text over the budget, rounded up so the stored threshold
    # (four decimals) keeps it out.
    above = float(np.ceil(np.nextafter(ranked[allowed], np.inf) * 1e4) / 1e4)
    return max(start, min(above, NEVER))


def precise_threshold(y: np.ndarray, probs: np.ndarray, start: float,
                      prevalence: float | None) -> float:
    """The lowest threshold from ``start`` up whose precision, on a stream where positives have
    ``prevalence`` (else as in ``y``), reaches ``MIN_WEAK_PRECISION`` while it still flags at
    least ``MIN_TO_TUNE`` positives; ``NEVER`` if none does."""
    w_pos, w_neg = stream_weights(y, prevalence)
    for threshold in np.unique(np.r_[start, probs[probs >= start]]):
        flagged = probs >= threshold
        hits = int((flagged & y).sum())
        if hits < MIN_TO_TUNE:  # a precision measured on a handful of texts is luck
            break
        tp, fp = hits * w_pos, (flagged & ~y).sum() * w_neg
        if tp / (tp + fp) >= MIN_WEAK_PRECISION:
            return float(threshold)
    return NEVER


def main(argv: list[str] | None = None) -> int:
    from training.card import write_model_card
    from training.recipes import validation_split

    parser = argparse.ArgumentParser(prog="python -m training.thresholds", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a model directory trained from a recipe")
    parser.add_argument("--data-dir", help="where the recipe's datasets are (default: as trained)")
    args = parser.parse_args(argv)
    settings = json.loads((args.model / "training_config.json").read_text())
    def log(message: str) -> None:
        print(message, file=sys.stderr)

    val = validation_split(args.model, settings["recipe"], args.data_dir, log)
    groups = read_model_info(args.model).groups
    tune_thresholds(args.model, [infer_labels(ex, groups) for ex in val], settings["batch_size"], log)
    write_model_card(args.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
