"""`moderation calibrate`: thresholds for a target precision or review rate from a labelled
sample, bootstrap intervals, the trust warnings, and the policy file that `score` then applies.
The threshold rules on numbers first, then the command with the toy model."""

from __future__ import annotations

import json
import random
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from moderation.calibrate import (
    MIN_FLAGGED_TO_CHOOSE,
    PrecisionTarget,
    ReviewRateTarget,
    calibrate,
    format_report,
    precision_threshold,
    rate_threshold,
)
from moderation.cli import main
from moderation.modeldir import LabelInfo, ModelInfo, read_model_info
from moderation.policy import load_policy, model_policy, policy_from_dict
from tests.tiny_model import toy_rows

INFO = ModelInfo(path=Path("models/x"), name="x", version="1", base_name="b", base_sha256="0",
                 labels=(LabelInfo("hostility", "hostility", threshold=0.5),
                         LabelInfo("insult", "hostility", threshold=0.4),
                         LabelInfo("threat", "hostility", threshold=0.3)))


def test_precision_threshold_measures_every_cut_and_takes_the_lowest_that_holds() -> None:
    # Scores high to low; precision by the count flagged: 1, 1, 1, 1, .8, .67, .71, .75, .67, .6
    scores = np.linspace(0.95, 0.05, 10)
    positive = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    # 0.75 holds from 8 flagged up to 4 (half as many): dips to .67 at 6 and recovers, so the
    # lowest cut that holds over its band is 5 flagged (.8, band 3 to 5)
    assert precision_threshold(positive, scores, 0.75) == pytest.approx((scores[4] + scores[5]) / 2)
    # 0.7: 8 flagged (.75) holds over 4 to 8 (.8, .67 ...)? .67 < .7 at 6: no; 7 (.71): no; 5 yes
    assert precision_threshold(positive, scores, 0.7) == pytest.approx((scores[4] + scores[5]) / 2)
    # 0.6: every cut from 1 to 10 reaches it: the lowest threshold flags everything
    assert precision_threshold(positive, scores, 0.6) == pytest.approx(scores[-1])
    # unreachable, and no positive at all
    assert precision_threshold(np.zeros(10, dtype=bool), scores, 0.1) is None
    # A threshold must flag a few comments: one top positive is no evidence
    lone = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    assert MIN_FLAGGED_TO_CHOOSE > 1 and precision_threshold(lone, scores, 0.9) is None


def test_thresholds_never_split_tied_scores() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.2, 0.1])
    positive = np.array([1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    t = precision_threshold(positive, scores, 0.8)
    assert t is not None and (scores >= t).sum() == 6  # the ties go together
    assert (scores >= rate_threshold(scores, 0.3)).sum() in (1, 6)  # 2.4 wanted: 1 or 6 possible


def _sample(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores that rank positives higher, with noise; threat never annotated."""
    rng = np.random.default_rng(seed)
    positive = rng.random((n, 3)) < np.array([0.2, 0.1, 0.05])
    scores = np.clip(0.35 * positive + rng.random((n, 3)) * 0.65, 0, 1)
    known = np.ones((n, 3), dtype=bool)
    known[:, 2] = False
    known[rng.random(n) < 0.3, 1] = False  # insult unknown on some comments
    return scores, known, positive


def test_precision_target_is_met_on_the_sample_and_unannotated_labels_keep_theirs() -> None:
    scores, known, positive = _sample()
    result = calibrate(scores, known, positive, model_policy(INFO), PrecisionTarget(0.8))
    by = {c.label: c for c in result.labels}
    for j, name in enumerate(("hostility", "insult")):
        c = by[name]
        assert c.calibrated
        mine = known[:, j]
        flagged = scores[mine, j] >= c.threshold
        assert positive[mine, j][flagged].mean() >= 0.8
        assert c.precision == pytest.approx(positive[mine, j][flagged].mean())
        assert c.precision_ci.low <= c.precision <= c.precision_ci.high
        assert c.review_rate == pytest.approx((scores[:, j] >= c.threshold).mean())
    assert not by["threat"].calibrated and by["threat"].threshold == 0.3
    assert "no known values" in by["threat"].note and result.thresholds.keys() == {"hostility", "insult"}
    # the bootstrap has a fixed seed: the same sample gives the same intervals
    again = calibrate(scores, known, positive, model_policy(INFO), PrecisionTarget(0.8))
    assert format_report(again, "s") == format_report(result, "s")  # (NaN, for threat, is not NaN)


def test_review_rate_is_the_share_with_any_label_flagged_or_per_label() -> None:
    scores, known, positive = _sample(500, 1)
    # threat, not annotated, keeps its threshold: one that flags nothing here
    strict = policy_from_dict({"labels": {"threat": {"review": 0.99}}}, INFO)
    for rate in (0.05, 0.2, 0.4):
        result = calibrate(scores, known, positive, strict, ReviewRateTarget(rate))
        rules = {c.label: c.threshold for c in result.labels}
        flagged = np.column_stack([scores[:, j] >= rules[n] for j, n in enumerate(rules)]).any(axis=1)
        assert abs(flagged.mean() - rate) <= 2 / len(scores)
        assert result.review_rate == pytest.approx(flagged.mean())
        per_label = calibrate(scores, known, positive, strict, ReviewRateTarget(rate, per_label=True))
        for c in per_label.labels[:2]:
            assert abs(c.review_rate - rate) <= 1 / len(scores)
    # labels kept at thresholds that already flag more than the target: said so
    result = calibrate(scores, known, positive, model_policy(INFO), ReviewRateTarget(0.01))
    assert any("already send" in note for note in result.notes)


# The command, with the toy model -----------------------------------------------------------------

def _write_sample(path: Path, n: int, seed: int, flip: float = 0.12) -> Path:
    """Toy comments labelled as a site's moderators might: some verdicts disagree with the words."""
    rng = random.Random(seed)
    rows = []
    for row in toy_rows(n, seed):
        hostility = row["hostility"] if rng.random() > flip else 1 - row["hostility"]
        rows.append({"text": row["text"], "hostility": hostility, "insult": row["insult"]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _calibrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["calibrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _policy_decisions(toy_model: Path, sample: Path, policy: Path, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str], community: str | None = None) -> list[dict]:
    out = tmp_path / "scored.jsonl"
    args = [str(sample), "--model", str(toy_model), "-o", str(out), "--policy", str(policy), "-q"]
    assert main(["score", *args, *(["--community", community] if community else [])]) == 0
    capsys.readouterr()
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_calibrate_meets_the_precision_target_and_score_applies_the_policy(
        toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = _write_sample(tmp_path / "sample.jsonl", 300, 21)
    policy = tmp_path / "policy.toml"
    code, out, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(sample),
                                "--precision", "0.85", "-o", str(policy))
    assert code == 0, err
    # threat: the calm comments (hostility 0) are known not to threaten, and none does
    calm = sum(json.loads(line)["hostility"] == 0 for line in sample.read_text().splitlines())
    assert re.search(rf"^threat +{calm} +0 ", out, re.M) and "kept: no positive in the sample" in out
    assert "1000 resamples, seed 0" in out and "wrote 2 review threshold(s)" in err
    rules = tomllib.loads(policy.read_text())["labels"]
    assert set(rules) == {"hostility", "insult"}
    loaded = load_policy(policy, read_model_info(toy_model))
    assert loaded.rules["hostility"].review == rules["hostility"]["review"]
    # score --policy decides with it, and on the sample itself the precision target holds
    records = _policy_decisions(toy_model, sample, policy, tmp_path, capsys)
    truth = [json.loads(line) for line in sample.read_text().splitlines()]
    for label in ("hostility", "insult"):
        flagged = [t[label] for r, t in zip(records, truth, strict=True) if label in r["flags"]]
        assert all((label in r["flags"]) == (r["scores"][label] >= rules[label]["review"]) for r in records)
        assert flagged and sum(flagged) / len(flagged) >= 0.85


def test_calibrate_hits_a_review_rate_and_writes_a_community_keeping_the_rest(
        toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = _write_sample(tmp_path / "sample.jsonl", 300, 22)
    policy = tmp_path / "policy.toml"
    policy.write_text("[labels]\nhostility = { review = 0.7, reject = 0.99 }\n\n"
                      "[communities.kids.labels]\nthreat = { review = 0.95 }\n"
                      "hostility = { reject = 1.0 }\n")
    code, out, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(sample),
                                "--review-rate", "0.3", "--community", "kids", "-o", str(policy))
    assert code == 0, err
    data = tomllib.loads(policy.read_text())
    assert data["labels"] == {"hostility": {"review": 0.7, "reject": 0.99}}  # the defaults untouched
    kids = data["communities"]["kids"]["labels"]
    assert kids["threat"] == {"review": 0.95} and kids["hostility"]["reject"] == 1.0
    assert {"hostility", "insult"} <= set(kids) and "review" in kids["hostility"]
    records = _policy_decisions(toy_model, sample, policy, tmp_path, capsys, community="kids")
    share = sum(r["decision"] != "allow" for r in records) / len(records)
    assert abs(share - 0.3) <= 0.02, share
    assert f"{100 * share:.1f}%" in out.split("review rate of the sample")[1]


def test_a_small_sample_is_flagged_not_to_be_trusted(toy_model: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    sample = _write_sample(tmp_path / "small.jsonl", 40, 23, flip=0.0)
    code, out, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(sample),
                                "--precision", "0.8", "-o", str(tmp_path / "p.toml"))
    assert code == 0, err
    assert "warning: not to be trusted: only" in out and "positive(s), fewer than 20" in out


@pytest.mark.parametrize(("args", "words"), [
    (["--precision", "1.5"], "argument --precision: must be between 0 and 1 (exclusive), got 1.5"),
    (["--precision", "0"], "must be between 0 and 1 (exclusive), got 0"),
    (["--review-rate", "high"], "argument --review-rate: expected a number between 0 and 1"),
    (["--precision", "0.8", "--review-rate", "0.1"], "not allowed with argument"),
    ([], "one of the arguments --precision --review-rate is required"),
])
def test_bad_targets_are_refused_with_exit_2(toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             args: list[str], words: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["calibrate", "--model", str(toy_model), "--data", str(tmp_path / "x.jsonl"),
              "-o", str(tmp_path / "p.toml"), *args])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and words in err and "Traceback" not in err


def test_bad_files_are_clear_errors_and_leave_the_policy_as_it_was(
        toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.toml"
    code, _, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(tmp_path / "missing.jsonl"),
                              "--precision", "0.8", "-o", str(policy))
    assert code == 2 and "missing.jsonl" in err and "Traceback" not in err and not policy.exists()
    sample = _write_sample(tmp_path / "sample.jsonl", 50, 24)
    policy.write_text("[labels]\nsarcasm = { review = 0.5 }\n")
    code, _, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(sample),
                              "--precision", "0.8", "-o", str(policy))
    assert code == 2 and "sarcasm: not a label of model" in err
    assert policy.read_text() == "[labels]\nsarcasm = { review = 0.5 }\n"
    code, _, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(sample),
                              "--per-label", "--precision", "0.8", "-o", str(tmp_path / "q.toml"))
    assert code == 2 and "--per-label goes with --review-rate" in err
    policy.write_text("[labels]\nhostility = { reject = 0.001 }\n")  # below any threshold chosen
    code, _, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(sample),
                              "--review-rate", "0.2", "-o", str(policy))
    assert code == 2 and "is above the policy file's reject threshold 0.001 (labels)" in err
    assert policy.read_text() == "[labels]\nhostility = { reject = 0.001 }\n"
    # A sample whose label column is misspelt annotates nothing: an error, not an empty policy.
    typo = tmp_path / "typo.jsonl"
    typo.write_text("".join(json.dumps({"text": f"comment {i}", "hostilty": i % 2}) + "\n" for i in range(30)))
    code, _, err = _calibrate(capsys, "--model", str(toy_model), "--data", str(typo),
                              "--precision", "0.8", "-o", str(policy))
    assert code == 2 and "typo.jsonl: no row annotates any of the model's labels" in err
    assert "hostilty (did you mean hostility?)" in err and "Traceback" not in err
    assert policy.read_text() == "[labels]\nhostility = { reject = 0.001 }\n"
