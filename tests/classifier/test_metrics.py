"""Metrics, calibration and threshold tuning against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moderation.metrics import (
    average_precision,
    best_threshold,
    expected_calibration_error,
    fit_platt,
    precision_recall_f1,
    roc_auc,
    sigmoid,
    span_f1,
    wilson_interval,
)


def test_roc_auc_counts_pairs_and_ties() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_average_precision_and_f1() -> None:
    y = np.array([1, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.7, 0.1])
    assert math.isclose(average_precision(y, score), (1 + 2 / 3) / 2)
    assert precision_recall_f1(y, score, 0.75) == (0.5, 0.5, 0.5)


def test_best_threshold_separates_when_possible() -> None:
    y = np.array([0, 0, 0, 1, 1])
    prob = np.array([0.1, 0.2, 0.3, 0.6, 0.9])
    threshold = best_threshold(y, prob)
    assert 0.3 < threshold < 0.6
    assert precision_recall_f1(y, prob, threshold)[2] == 1.0


def test_platt_scaling_makes_scores_honest() -> None:
    rng = np.random.default_rng(0)
    true_prob = rng.uniform(0, 1, 20000)
    y = rng.uniform(0, 1, 20000) < true_prob
    overconfident = 4.0 * np.log(true_prob / (1 - true_prob))  # logits four times too large
    before = expected_calibration_error(y, sigmoid(overconfident))
    scale, bias = fit_platt(y, overconfident)
    after = expected_calibration_error(y, sigmoid(scale * overconfident + bias))
    assert abs(scale - 0.25) < 0.03 and abs(bias) < 0.1
    assert after < 0.02 < before


def test_platt_without_both_classes_is_identity() -> None:
    assert fit_platt(np.array([1, 1, 1]), np.array([0.2, 1.0, 3.0])) == (1.0, 0.0)


def test_span_f1_is_the_semeval_character_measure() -> None:
    gold = [set(range(0, 10)), set(), set(), set(range(5, 9))]
    pred = [set(range(5, 15)), set(), {1}, set()]
    # 0.5 overlap both ways -> 0.5; both empty -> 1; false positive -> 0; miss -> 0
    assert span_f1(gold, pred) == (0.5 + 1 + 0 + 0) / 4


def test_stream_prevalence_raises_the_threshold_where_positives_are_rarer() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(500), np.zeros(500)]
    prob = np.clip(np.r_[rng.normal(0.7, 0.15, 500), rng.normal(0.3, 0.15, 500)], 0, 1)
    pooled = best_threshold(y, prob)
    stream = best_threshold(y, prob, prevalence=0.05)
    assert stream > pooled + 0.1
    # At 5% positives, the stream threshold flags far fewer of the negatives.
    assert (prob[y == 0] >= stream).mean() < (prob[y == 0] >= pooled).mean() / 3
    assert best_threshold(y, prob, prevalence=0.5) == pooled  # the data's own mix: unchanged


def test_a_weak_label_flags_only_where_it_is_precise_on_the_stream() -> None:
    from training.thresholds import MIN_WEAK_PRECISION, NEVER, precise_threshold

    rng = np.random.default_rng(1)
    y = np.r_[np.ones(200), np.zeros(800)] >= 0.5
    prob = np.clip(np.r_[rng.normal(0.6, 0.2, 200), rng.normal(0.4, 0.2, 800)], 0, 1)
    start = best_threshold(y, prob, prevalence=0.08)
    threshold = precise_threshold(y, prob, start, 0.08)
    assert threshold >= start
    if threshold != NEVER:
        flagged = prob >= threshold
        tp, fp = (flagged & y).sum() * 0.08 / 0.2, (flagged & ~y).sum() * 0.92 / 0.8
        assert tp / (tp + fp) >= MIN_WEAK_PRECISION
    noise = rng.random(1000)  # a label that ranks at random is never precise: never flagged
    assert precise_threshold(y, noise, 0.0, 0.08) == NEVER


def test_a_member_label_flags_at_most_its_budget_of_calm_comments() -> None:
    from training.thresholds import CALM_BUDGET, NEVER, calm_threshold

    rng = np.random.default_rng(2)
    calm = rng.beta(2, 8, 5000)  # calm comments' probabilities, a long tail towards 1
    low = 0.3
    assert (calm >= low).mean() > CALM_BUDGET  # the F1 optimum alone would flag too many
    threshold = calm_threshold(calm, low)
    assert threshold > low
    assert (calm >= threshold).mean() <= CALM_BUDGET
    assert (calm >= threshold - 0.01).mean() > 0.9 * CALM_BUDGET  # and no higher than needed
    assert calm_threshold(calm, 0.99) == 0.99  # a threshold already within budget stays
    assert calm_threshold(calm, NEVER) == NEVER
    assert calm_threshold(np.array([]), low) == low  # no calm comments to judge by


def test_wilson_interval_is_wide_on_a_handful_and_stays_in_range() -> None:
    # 4 of 10: the textbook interval, 17% to 69%
    low, high = wilson_interval(4, 10)
    assert low == pytest.approx(0.168, abs=1e-3) and high == pytest.approx(0.687, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and 0.25 < wilson_interval(0, 10)[1] < 0.3
    assert wilson_interval(10, 10)[1] == 1.0 and 0.7 < wilson_interval(10, 10)[0] < 0.75
    # a thousand times the sample, the same share: a tight interval around it
    low, high = wilson_interval(4000, 10000)
    assert high - low < 0.02 and low < 0.4 < high
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
