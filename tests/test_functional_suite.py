"""The functional suite (bench/functional.py) is well formed, kept apart from the training
data, and decides by the rules it states."""

from __future__ import annotations

from pathlib import Path

from bench.functional import CATEGORIES, correct, run
from moderation.labels import DEFAULT_LABELS, default_groups


def test_categories_are_many_distinct_and_expect_known_outcomes() -> None:
    assert len(CATEGORIES) >= 20
    texts = [text for category in CATEGORIES for text in category.cases]
    assert len(texts) == len(set(texts))
    groups = default_groups(DEFAULT_LABELS)
    for category in CATEGORIES:
        assert len(category.cases) >= 6, category.name
        assert category.expect == "allow" or category.expect in groups or category.expect in DEFAULT_LABELS


def test_no_case_is_in_the_training_data_we_write() -> None:
    from training.augment import augment
    from training.recipes import written

    trained = written.load()
    made, _ = augment(trained, swaps=2000, obfuscated=2000, seed=13)
    seen = {ex.text.lower() for ex in trained + made}
    assert not [t for c in CATEGORIES for t in c.cases if t.lower() in seen]


def test_a_decision_is_correct_by_the_category_rule() -> None:
    groups = default_groups(DEFAULT_LABELS)
    assert correct("allow", [], groups) and not correct("allow", ["slogans"], groups)
    assert correct("hostility", ["profanity"], groups) and not correct("hostility", ["doubt"], groups)
    assert correct("threat", ["hostility", "threat"], groups) and not correct("threat", ["hostility"], groups)


def test_runs_on_a_model_and_reports_each_category(toy_model: Path) -> None:
    from moderation.scorer import Scorer

    scorer = Scorer(toy_model, backend="torch")
    results = run(scorer)
    assert [r.name for r in results] == [c.name for c in CATEGORIES]
    flags = [scorer.flags(s) for s in scorer.score_batch(list(CATEGORIES[0].cases))]
    assert results[0].correct == sum(not f for f in flags)
    assert all(len(r.failures) == r.cases - r.correct for r in results)
